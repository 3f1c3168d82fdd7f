"""Monitoring credentials profiles (SNMP and SSH), encrypted at rest."""

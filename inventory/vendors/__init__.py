"""Vendors (suppliers, AMC vendors, service providers) and their AMC contracts."""

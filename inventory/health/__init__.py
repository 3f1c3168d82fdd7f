"""Health: scheduled SNMP sweeps, the latest state of every device, history and events."""

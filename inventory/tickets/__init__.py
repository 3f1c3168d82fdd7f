"""Maintenance tickets: faults reported by staff, by a QR scan at the site, or by the system."""

"""Asset labels: QR codes for the public asset address, and printable PDF label sheets."""

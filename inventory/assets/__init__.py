"""The asset register."""

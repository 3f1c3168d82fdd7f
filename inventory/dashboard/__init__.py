"""The district overview page."""

"""The catalogue: asset categories, manufacturers and their models."""

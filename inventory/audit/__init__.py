"""Change history: every write to an audited model becomes a ChangeLog row."""

"""Preventive maintenance: plans that open tickets ahead of due dates or counter thresholds."""

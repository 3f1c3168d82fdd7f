"""Inspection visits (for example the DSP's surprise inspections of CSCs) and the weekly quota."""

"""Procurement requests: indent, multi-level approval, order, receipt, budget view."""

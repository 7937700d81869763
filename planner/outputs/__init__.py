"""Outputs: exported tables, maps and reports."""

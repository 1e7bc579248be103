"""Colours shared by the charts (line plot, Cp chart, curves over time): importable without
matplotlib, so deciding whether a chart is offered costs nothing at start-up (#13)."""

REFERENCE_COLOR = "#1f4e79"  # the solver's curves
SURROGATE_COLOR = "#d95f02"  # a surrogate's curves and bands

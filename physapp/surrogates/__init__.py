"""Surrogate models (torch is imported lazily, only here)."""

"""Moved to :mod:`physapp.geometry.morph` (mesh morphing is geometry); importable here as before."""

from physapp.geometry.morph import (  # noqa: F401
    Morpher,
    MorphQuality,
    morph_mesh,
    valid_range,
)

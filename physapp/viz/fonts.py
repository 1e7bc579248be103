"""A font with Greek letters and symbols for VTK text (#13): VTK's built-in Arial has no
glyph for σ, θ or τ, so "Hoop stress σθ" came out as "Hoop stress". DejaVu Sans (shipped with
matplotlib, found without importing it, or the system's) has them; without it VTK's own font
is kept."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

_SYSTEM = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
           "/usr/share/fonts/dejavu/DejaVuSans.ttf")


@functools.lru_cache(maxsize=1)
def unicode_font_file() -> str | None:
    """The path of a TrueType font with Greek letters, or None."""
    spec = importlib.util.find_spec("matplotlib")
    candidates = list(_SYSTEM)
    if spec is not None and spec.origin:
        candidates.insert(0, str(Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf"
                                 / "DejaVuSans.ttf"))
    return next((c for c in candidates if Path(c).is_file()), None)


def use_unicode_font(*props) -> None:
    """Draw the given vtkTextProperty objects with :func:`unicode_font_file` (idempotent)."""
    path = unicode_font_file()
    if path is None:
        return
    from vtkmodules.vtkCommonCore import VTK_FONT_FILE

    for prop in props:
        if prop is not None and prop.GetFontFile() != path:
            prop.SetFontFamily(VTK_FONT_FILE)
            prop.SetFontFile(path)

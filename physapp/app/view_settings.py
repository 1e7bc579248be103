"""A snapshot of what the viewport shows besides the data: shared by the main viewport, the
split (compare) view, figure export and the session file.

Plain Python (no Qt, no VTK) so that sessions and headless exports can read and write it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from physapp.core.colormaps import COLORMAPS

__all__ = ["CAMERA_KEYS", "COLORMAPS", "ViewSettings"]

#: keys of ``ViewSettings.camera``: three xyz vectors and the parallel-projection half height
CAMERA_KEYS = ("position", "focal_point", "view_up", "parallel_scale")


def _vec3(value: Any, key: str) -> tuple[float, float, float]:
    v = tuple(float(x) for x in value)
    if len(v) != 3:
        raise ValueError(f"{key} needs 3 numbers")
    return v


@dataclass
class ViewSettings:
    """Display options of a viewport (and of every pane of the split view)."""

    field: str = ""  # name of the shown field ('' = the study's default)
    colormap: str = "turbo"
    show_edges: bool = False
    warp_scale: float = 0.0  # 0 = undeformed; else displacement is multiplied by this
    #: clip plane as (origin xyz, normal xyz) in model coordinates, or None for no clip. The
    #: half-space the normal points INTO is kept, (x - origin) . normal >= 0 (VTK's mapper
    #: clipping-plane convention; with pyvista that is ``grid.clip(normal, origin, invert=False)``)
    clip: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
    clim: tuple[float, float] | None = None  # locked colour range (display units), None = auto
    split: bool = False  # surrogate | reference | difference
    relative_difference: bool = False  # difference pane: |a-b| / max|b| instead of a-b
    streamlines: bool = False  # flow results: streamlines (seeded automatically or on a line)
    glyphs: bool = False  # flow results: velocity arrows
    #: camera as position, focal_point, view_up (xyz each) and parallel_scale; None = fitted
    camera: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        """Normalise sequences to tuples of floats (lists from JSON compare equal afterwards)."""
        if self.clip is not None:
            o, n = self.clip
            self.clip = (_vec3(o, "clip origin"), _vec3(n, "clip normal"))
        if self.clim is not None:
            lo, hi = self.clim
            self.clim = (float(lo), float(hi))
        if self.camera is not None:
            cam = dict(self.camera)
            missing = [k for k in CAMERA_KEYS if k not in cam]
            if missing:
                raise ValueError(f"camera lacks {', '.join(missing)}")
            self.camera = {**{k: _vec3(cam[k], f"camera {k}") for k in CAMERA_KEYS[:3]},
                           "parallel_scale": float(cam["parallel_scale"])}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (lists, floats, bools, strings, None)."""
        d = asdict(self)
        if self.clip is not None:
            d["clip"] = [list(self.clip[0]), list(self.clip[1])]
        if self.clim is not None:
            d["clim"] = list(self.clim)
        if self.camera is not None:
            d["camera"] = {k: (list(v) if isinstance(v, tuple) else v)
                           for k, v in self.camera.items()}
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ViewSettings:
        """Build from :meth:`to_dict` output; unknown keys are ignored, wrong types raise
        ``ValueError`` with the key's name."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        try:
            if kw.get("clip") is not None:
                o, n = kw["clip"]
                kw["clip"] = (tuple(float(x) for x in o), tuple(float(x) for x in n))
            if kw.get("clim") is not None:
                lo, hi = kw["clim"]
                kw["clim"] = (float(lo), float(hi))
            if "warp_scale" in kw:
                kw["warp_scale"] = float(kw["warp_scale"])
            for key in ("show_edges", "split", "relative_difference", "streamlines", "glyphs"):
                if key in kw and not isinstance(kw[key], bool):
                    raise ValueError(key)
            if "colormap" in kw and kw["colormap"] not in COLORMAPS:
                raise ValueError("colormap")
            if "field" in kw and not isinstance(kw["field"], str):
                raise ValueError("field")
            if kw.get("warp_scale", 0.0) < 0:
                raise ValueError("warp_scale must be >= 0")
            if kw.get("camera") is not None and not isinstance(kw["camera"], dict):
                raise ValueError("camera")
            return cls(**kw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"invalid view setting: {exc}") from None

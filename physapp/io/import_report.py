"""What a reader understood of a file (:class:`ImportReport`, printed by ``physapp info``), the
error it raises (:class:`ImportError_`) and the units and file kinds it knows. Re-exported by
:mod:`physapp.io.readers`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from physapp.core.errors import PhysappError
from physapp.core.regions import CORNERS, FACETS  # noqa: F401 - re-exported

UNIT_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2, "um": 1e-6, "in": 0.0254, "ft": 0.3048}


CAD = {".step", ".stp", ".iges", ".igs", ".brep"}


SURFACES = {".stl", ".obj", ".ply"}


LINEAR = {"triangle6": "triangle", "quad8": "quad", "quad9": "quad", "tetra10": "tetra",
          "hexahedron20": "hexahedron", "hexahedron27": "hexahedron", "wedge15": "wedge",
          "pyramid13": "pyramid", "line3": "line"}


class ImportError_(PhysappError):  # noqa: N801 - "ImportError" is a builtin
    """A file could not be turned into a mesh; the message says why and what to do (one line:
    line breaks of a library's message are folded, and it is cut at 600 characters)."""

    def __init__(self, message: str = "") -> None:
        text = " ".join(str(message).split())
        super().__init__(text if len(text) <= 600 else text[:597] + "...")


@dataclass
class ImportReport:
    """What the reader understood of a file (printed by ``physapp info``)."""

    path: str
    format: str
    n_points: int = 0
    cells: dict[str, int] = field(default_factory=dict)
    dimension: int = 0
    boundaries: dict[str, int] = field(default_factory=dict)
    subdomains: dict[str, int] = field(default_factory=dict)
    bounding_box: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    length_unit: str = "m"
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lo, hi = self.bounding_box
        lines = [f"{self.path}: {self.format}, {self.dimension}D, {self.n_points} nodes",
                 "cells: " + ", ".join(f"{n} {t}" for t, n in self.cells.items()),
                 f"bounding box (m): {tuple(round(v, 9) for v in lo)} .. "
                 f"{tuple(round(v, 9) for v in hi)}  (file unit: {self.length_unit})"]
        if self.boundaries:
            lines.append("boundary regions: " + ", ".join(
                f"{k} ({v} facets)" for k, v in self.boundaries.items()))
        if self.subdomains:
            lines.append("subdomains: " + ", ".join(
                f"{k} ({v} cells)" for k, v in self.subdomains.items()))
        lines += [f"repaired: {r}" for r in self.repairs] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

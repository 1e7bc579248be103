"""A rectangular plate with 1-4 circular holes of one diameter (gmsh OCC): the topology changes
with the number of holes.

The plate spans ``[-length/2, length/2] x [-width/2, width/2]`` and is meshed whole (the holes
break every symmetry). Regions:

``left``, ``right``, ``top``, ``bottom``  the plate edges        ``holes``  every hole's edge
``corner_ll``, ``corner_lr``             the two lower corners (point sets, to hold the plate)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import gmsh

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.geometry.gmsh_session import (
    background_field,
    generate_triangles,
    gmsh_model,
    threshold_field,
)
from physapp.geometry.plate_with_hole import classify_edges

#: refuse meshes larger than this (element count estimated from area / size^2)
MAX_ELEMENTS = 2_000_000
#: the hole edges are meshed at most this fraction of the radius (steep stress gradients there)
HOLE_SIZE_FRACTION = 0.125
#: minimum ligament between two holes and between a hole and an edge: this fraction of the
#: diameter, and at least MIN_LIGAMENT_ABS (metres)
MIN_LIGAMENT = 0.25
MIN_LIGAMENT_ABS = 0.001


def _mm(x: float) -> str:
    return f"{x * 1e3:.3g} mm"


def ligament(diameter: float) -> float:
    """The smallest material width allowed between two holes or a hole and an edge."""
    return max(MIN_LIGAMENT * diameter, MIN_LIGAMENT_ABS)


def check_perforated_plate(length: float, width: float, diameter: float,
                           centres: Sequence[tuple[float, float]], size: float) -> None:
    """Raise :class:`GeometryError` naming the offending hole(s) when the plate cannot be built:
    a hole through or too near an edge, two holes overlapping or too close, too fine a mesh."""
    r = diameter / 2.0
    gap = ligament(diameter)
    hx, hy = length / 2.0, width / 2.0
    for k, (x, y) in enumerate(centres, start=1):
        room = min(hx - abs(x), hy - abs(y)) - r
        if room < gap:
            edge = (f"x = {_mm(math.copysign(hx, x))}" if hx - abs(x) <= hy - abs(y)
                    else f"y = {_mm(math.copysign(hy, y))}")
            what = "cuts through" if room < 0 else "is too close to"
            raise GeometryError(
                f"Hole {k} (centre {_mm(x)}, {_mm(y)}, diameter {_mm(diameter)}) {what} the plate "
                f"edge {edge}: at least {_mm(gap)} of material must remain between a hole and "
                f"an edge. Move the hole inwards or reduce the diameter.")
    for a in range(len(centres)):
        for b in range(a + 1, len(centres)):
            dist = math.dist(centres[a], centres[b])
            if dist < diameter + gap:
                what = "overlap" if dist < diameter else "are too close"
                raise GeometryError(
                    f"Holes {a + 1} and {b + 1} {what}: their centres are {_mm(dist)} apart, "
                    f"at least {_mm(diameter + gap)} is needed (diameter {_mm(diameter)} plus a "
                    f"ligament of {_mm(gap)}). Move them apart or reduce the diameter.")
    n_est = 2.3 * length * width / size**2
    if n_est > MAX_ELEMENTS:
        min_size = math.sqrt(2.3 * length * width / MAX_ELEMENTS)
        raise GeometryError(
            f"Element size {_mm(size)} would create about {n_est:,.0f} elements (limit "
            f"{MAX_ELEMENTS:,}). Use an element size of at least {_mm(min_size)}.")


def mesh_perforated_plate(
    length: float,
    width: float,
    diameter: float,
    centres: Sequence[tuple[float, float]],
    size: float,
    *,
    hole_size: float | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> MeshData:
    """Mesh the plate with linear triangles, refined towards the holes."""
    centres = [(float(x), float(y)) for x, y in centres]
    if not centres:
        raise GeometryError("The plate needs at least one hole.")
    check_perforated_plate(length, width, diameter, centres, size)
    cancel.check()
    progress(0.0, "Building geometry")
    r = diameter / 2.0
    hx, hy = length / 2.0, width / 2.0
    h_hole = hole_size if hole_size is not None else min(size, HOLE_SIZE_FRACTION * r)
    with gmsh_model("perforated_plate"):
        occ = gmsh.model.occ
        rect = occ.addRectangle(-hx, -hy, 0.0, length, width)
        disks = [(2, occ.addDisk(x, y, 0.0, r, r)) for x, y in centres]
        out, _ = occ.cut([(2, rect)], disks)
        occ.synchronize()
        if len(out) != 1:
            raise GeometryError("The holes split the plate; move them apart.")
        surf = out[0][1]
        groups = classify_edges(surf, {"left": (0, -hx), "right": (0, hx), "bottom": (1, -hy),
                                        "top": (1, hy)}, "holes", max(hx, hy))
        for name, curves in groups.items():
            gmsh.model.addPhysicalGroup(1, curves, name=name)
        gmsh.model.addPhysicalGroup(2, [surf], name="plate")
        for name, (cx, cy) in (("corner_ll", (-hx, -hy)), ("corner_lr", (hx, -hy))):
            gmsh.model.addPhysicalGroup(0, [_vertex_at(surf, cx, cy, hx, hy)], name=name)
        # element size h_hole on the hole(s), growing to size at three radii from them
        background_field([threshold_field(groups["holes"], min(h_hole, size), size, 0.0,
                                          3.0 * r, sampling=200)])
        return generate_triangles(progress, cancel)


def _vertex_at(surf: int, x: float, y: float, hx: float, hy: float) -> int:
    tol = 1e-6 * max(hx, hy)
    for _, tag in gmsh.model.getBoundary([(2, surf)], oriented=False, recursive=True):
        px, py, _ = gmsh.model.getValue(0, tag, [])
        if abs(px - x) < tol and abs(py - y) < tol:
            return tag
    raise GeometryError(f"No plate corner at ({_mm(x)}, {_mm(y)}).")

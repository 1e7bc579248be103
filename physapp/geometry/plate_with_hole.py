"""Quarter model of a rectangular plate with a central circular hole (gmsh OCC).

The full plate spans ``length`` in x and ``width`` in y with a hole of ``radius`` at its centre and
is pulled by a uniform traction on the two short edges. By symmetry only the quarter
``x >= 0, y >= 0`` is meshed; the regions are:

``symmetry_x``  the cut x = 0 (u_x = 0)        ``symmetry_y``  the cut y = 0 (u_y = 0)
``loaded``      the edge x = length/2          ``free``        the edge y = width/2
``hole``        the quarter arc of the hole
"""

from __future__ import annotations

import math

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

#: refuse meshes larger than this (element count estimated from area / size^2)
MAX_ELEMENTS = 2_000_000
#: the hole edge is meshed at most this fraction of the radius (stress gradients are steep there)
HOLE_SIZE_FRACTION = 0.125
#: minimum ligament between hole and plate edge, as a fraction of the half-width
MIN_LIGAMENT = 0.1


def check_plate(length: float, width: float, radius: float, size: float) -> None:
    """Raise :class:`GeometryError` with advice when the plate cannot be built or meshed."""
    max_r = (1.0 - MIN_LIGAMENT) * min(width, length) / 2.0
    if radius >= max_r:
        raise GeometryError(
            f"The hole (radius {radius * 1e3:.3g} mm) does not fit in a plate "
            f"{length * 1e3:.3g} x {width * 1e3:.3g} mm: the radius must be below "
            f"{max_r * 1e3:.3g} mm. Reduce the radius or enlarge the plate."
        )
    n_est = 2.3 * (length * width / 4.0) / size**2
    if n_est > MAX_ELEMENTS:
        min_size = math.sqrt(2.3 * length * width / 4.0 / MAX_ELEMENTS)
        raise GeometryError(
            f"Element size {size * 1e3:.3g} mm would create about {n_est:,.0f} elements "
            f"(limit {MAX_ELEMENTS:,}). Use an element size of at least {min_size * 1e3:.2g} mm."
        )
    if size > max(length, width):
        raise GeometryError(
            f"Element size {size * 1e3:.3g} mm is larger than the plate; use at most "
            f"{min(length, width) * 1e3 / 2:.3g} mm."
        )


def mesh_plate_with_hole(
    length: float,
    width: float,
    radius: float,
    size: float,
    *,
    hole_size: float | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> MeshData:
    """Mesh the quarter plate with linear triangles; refine towards the hole."""
    check_plate(length, width, radius, size)
    cancel.check()
    progress(0.0, "Building geometry")
    hx, hy = length / 2.0, width / 2.0
    h_hole = hole_size if hole_size is not None else min(size, HOLE_SIZE_FRACTION * radius)
    with gmsh_model("plate_with_hole"):
        occ = gmsh.model.occ
        rect = occ.addRectangle(0.0, 0.0, 0.0, hx, hy)
        disk = occ.addDisk(0.0, 0.0, 0.0, radius, radius)
        out, _ = occ.cut([(2, rect)], [(2, disk)])
        occ.synchronize()
        if len(out) != 1:
            raise GeometryError("The hole splits the plate; reduce the radius.")
        surf = out[0][1]
        groups = classify_edges(surf, {"symmetry_x": (0, 0.0), "symmetry_y": (1, 0.0),
                                        "loaded": (0, hx), "free": (1, hy)}, "hole", max(hx, hy))
        for name, curves in groups.items():
            gmsh.model.addPhysicalGroup(1, curves, name=name)
        gmsh.model.addPhysicalGroup(2, [surf], name="plate")
        # element size h_hole on the hole(s), growing to size at three radii from them
        background_field([threshold_field(groups["hole"], min(h_hole, size), size, 0.0,
                                          3.0 * radius, sampling=200)])
        return generate_triangles(progress, cancel)


def classify_edges(surf: int, sides: dict[str, tuple[int, float]], rest: str,
                   scale: float) -> dict[str, list[int]]:
    """Name the boundary curves of a plate: a curve whose centre has coordinate ``axis`` equal to
    ``value`` (``sides``: name -> (axis, value), the first match wins) gets that name, every
    other curve (the holes) ``rest``. Every name must get a curve."""
    groups: dict[str, list[int]] = {k: [] for k in (*sides, rest)}
    tol = 1e-6 * scale
    for _, curve in gmsh.model.getBoundary([(2, surf)], oriented=False):
        centre = gmsh.model.occ.getCenterOfMass(1, curve)
        name = next((k for k, (axis, value) in sides.items()
                     if abs(centre[axis] - value) < tol), rest)
        groups[name].append(curve)
    missing = [k for k, v in groups.items() if not v]
    if missing:
        raise GeometryError(f"Could not identify the plate edges {missing}; check the dimensions.")
    return groups

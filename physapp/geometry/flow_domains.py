"""Flow domains meshed with gmsh: a channel with a cylinder (DFG 2D-1), a rectangular cavity, and
a body (NACA 4-digit section or circular cylinder) in a circular far field.

All meshes are linear triangles (the flow solver adds the P2 midside nodes) with named boundary
regions. Refinement: a distance field around the body (and a band in the wake of the channel
cylinder) grades the elements from the body size to the far-field size.
"""

from __future__ import annotations

import math

import gmsh
import numpy as np

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.geometry.gmsh_session import (
    background_field,
    generate_triangles,
    gmsh_model,
    threshold_field,
)

#: points per airfoil surface (cosine spacing, clustered at the leading and trailing edges)
AIRFOIL_POINTS = 81


# ------------------------------------------------------------------------------------------------
# channel with a cylinder


def check_channel(length: float, height: float, xc: float, yc: float, diameter: float,
                  size: float) -> None:
    r = diameter / 2.0
    if not (length > 0 and height > 0 and diameter > 0 and size > 0):
        raise GeometryError("The channel, the cylinder and the element size must be positive.")
    gap = min(yc - r, height - yc - r)
    if gap < 0.1 * diameter:
        raise GeometryError(
            f"The cylinder (diameter {diameter:g} m at y = {yc:g} m) leaves a gap of {gap:g} m to "
            f"a wall of the {height:g} m channel; keep at least {0.1 * diameter:g} m.")
    if xc - r < 0.5 * diameter or xc + r > length - 2 * diameter:
        raise GeometryError("The cylinder must sit at least half a diameter from the inlet and two "
                            "from the outlet.")


def mesh_channel_cylinder(length: float, height: float, xc: float, yc: float, diameter: float,
                          size: float, *, cylinder_size: float | None = None,
                          progress: ProgressFn = no_progress,
                          cancel: CancelToken = NEVER) -> MeshData:
    """Channel [0, length] x [0, height] minus a disk; regions ``inlet`` (x = 0), ``outlet``,
    ``walls`` (y = 0 and y = height) and ``cylinder``. Elements of ``cylinder_size`` (default
    size / 5) on the cylinder grow to ``size`` away from it; the near wake is refined too."""
    check_channel(length, height, xc, yc, diameter, size)
    r = diameter / 2.0
    hc = cylinder_size if cylinder_size is not None else size / 5.0
    progress(0.0, "Building geometry")
    with gmsh_model("channel_cylinder"):
        occ = gmsh.model.occ
        rect = occ.addRectangle(0.0, 0.0, 0.0, length, height)
        disk = occ.addDisk(xc, yc, 0.0, r, r)
        out, _ = occ.cut([(2, rect)], [(2, disk)])
        occ.synchronize()
        surf = out[0][1]
        groups: dict[str, list[int]] = {"inlet": [], "outlet": [], "walls": [], "cylinder": []}
        tol = 1e-7 * length
        for _, curve in gmsh.model.getBoundary([(2, surf)], oriented=False):
            cx, cy, _ = occ.getCenterOfMass(1, curve)
            if abs(cx) < tol:
                groups["inlet"].append(curve)
            elif abs(cx - length) < tol:
                groups["outlet"].append(curve)
            elif abs(cy) < tol or abs(cy - height) < tol:
                groups["walls"].append(curve)
            else:
                groups["cylinder"].append(curve)
        for name, curves in groups.items():
            gmsh.model.addPhysicalGroup(1, curves, name=name)
        gmsh.model.addPhysicalGroup(2, [surf], name="fluid")
        near = threshold_field(groups["cylinder"], hc, size, 0.0, 2.5 * diameter)
        box = gmsh.model.mesh.field.add("Box")
        for k, v in {"VIn": min(2.0 * hc, size), "VOut": size, "XMin": xc,
                     "XMax": min(xc + 8 * diameter, length), "YMin": yc - 1.2 * diameter,
                     "YMax": yc + 1.2 * diameter, "Thickness": 2 * diameter}.items():
            gmsh.model.mesh.field.setNumber(box, k, v)
        background_field([near, box])
        return generate_triangles(progress, cancel)


# ------------------------------------------------------------------------------------------------
# cavity


def mesh_cavity(width: float, height: float, size: float, *, corner_size: float | None = None,
                progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> MeshData:
    """Rectangle [0, width] x [0, height]; regions ``lid`` (top) and ``walls``; elements of
    ``corner_size`` (default size / 3) along the walls grow to ``size`` inside."""
    if not (width > 0 and height > 0 and size > 0):
        raise GeometryError("The cavity and the element size must be positive.")
    if size > 0.25 * min(width, height):
        raise GeometryError(f"Element size {size:g} m is too coarse for a {width:g} x {height:g} m "
                            "cavity; use at most a quarter of its smaller side.")
    hw = corner_size if corner_size is not None else size / 3.0
    progress(0.0, "Building geometry")
    with gmsh_model("cavity"):
        occ = gmsh.model.occ
        surf = occ.addRectangle(0.0, 0.0, 0.0, width, height)
        occ.synchronize()
        lid, walls = [], []
        for _, curve in gmsh.model.getBoundary([(2, surf)], oriented=False):
            _, cy, _ = occ.getCenterOfMass(1, curve)
            (lid if abs(cy - height) < 1e-9 * height else walls).append(curve)
        gmsh.model.addPhysicalGroup(1, lid, name="lid")
        gmsh.model.addPhysicalGroup(1, walls, name="walls")
        gmsh.model.addPhysicalGroup(2, [surf], name="fluid")
        background_field([threshold_field(lid + walls, hw, size, 0.0, 0.25 * min(width, height))])
        return generate_triangles(progress, cancel)


# ------------------------------------------------------------------------------------------------
# NACA 4-digit sections


def naca4(camber: float, position: float, thickness: float, n: int = AIRFOIL_POINTS
          ) -> tuple[np.ndarray, np.ndarray]:
    """Upper and lower surface points (each (n, 2), leading edge to trailing edge) of a NACA
    4-digit section of unit chord with a closed trailing edge. ``camber`` and ``thickness`` are
    fractions of the chord, ``position`` the chordwise position of the maximum camber."""
    beta = np.linspace(0.0, math.pi, n)
    x = 0.5 * (1.0 - np.cos(beta))
    yt = 5.0 * thickness * (0.2969 * np.sqrt(x) - 0.1260 * x - 0.3516 * x**2 + 0.2843 * x**3
                            - 0.1036 * x**4)
    if camber > 0.0:
        p = position
        fore = x < p
        yc = np.where(fore, camber / p**2 * (2 * p * x - x**2),
                      camber / (1 - p) ** 2 * (1 - 2 * p + 2 * p * x - x**2))
        dyc = np.where(fore, 2 * camber / p**2 * (p - x), 2 * camber / (1 - p) ** 2 * (p - x))
    else:
        yc, dyc = np.zeros_like(x), np.zeros_like(x)
    th = np.arctan(dyc)
    upper = np.column_stack([x - yt * np.sin(th), yc + yt * np.cos(th)])
    lower = np.column_stack([x + yt * np.sin(th), yc - yt * np.cos(th)])
    upper[-1] = lower[-1] = (1.0, 0.0)
    upper[0] = lower[0] = (0.0, 0.0)
    return upper, lower


def _segments_cross(a: np.ndarray, b: np.ndarray) -> bool:
    """True when any two non-adjacent segments of the closed polygon a -> b cross."""
    p, q = a[:, None, :], b[:, None, :]
    r, s = a[None, :, :], b[None, :, :]

    def orient(u, v, w):
        return np.sign((v[..., 0] - u[..., 0]) * (w[..., 1] - u[..., 1])
                       - (v[..., 1] - u[..., 1]) * (w[..., 0] - u[..., 0]))

    o1, o2 = orient(p, q, r), orient(p, q, s)
    o3, o4 = orient(r, s, p), orient(r, s, q)
    cross = (o1 * o2 < 0) & (o3 * o4 < 0)
    n = len(a)
    i, j = np.indices((n, n))
    adjacent = (np.abs(i - j) <= 1) | (np.abs(i - j) == n - 1)
    return bool(np.any(cross & ~adjacent))


def check_naca(camber: float, position: float, thickness: float) -> None:
    """Refuse sections that are not simple closed curves (the upper and lower surfaces, offset
    from a strongly curved camber line, cross near the leading edge)."""
    if not (0.0 <= camber and 0.0 < position < 1.0 and thickness > 0.0):
        raise GeometryError("NACA section: camber >= 0, 0 < camber position < 1, thickness > 0.")
    upper, lower = naca4(camber, position, thickness)
    poly = np.concatenate([upper, lower[::-1][1:-1]])
    if _segments_cross(poly, np.roll(poly, -1, axis=0)):
        raise GeometryError(
            f"The NACA section (camber {camber:g}, position {position:g}, thickness {thickness:g})"
            " intersects itself; reduce the camber or move its position aft, or thicken it.")


def _far_field_mesh(body_curves: list[int], body_loop: int, centre: tuple[float, float],
                    radius: float, body_size: float, size: float, refine: list[tuple[float,
                    float, float]], progress, cancel) -> MeshData:
    occ = gmsh.model.occ
    outer = occ.addCircle(centre[0], centre[1], 0.0, radius)
    outer_loop = occ.addCurveLoop([outer])
    surf = occ.addPlaneSurface([outer_loop, body_loop])
    occ.synchronize()
    gmsh.model.addPhysicalGroup(1, body_curves, name="body")
    gmsh.model.addPhysicalGroup(1, [outer], name="far_field")
    gmsh.model.addPhysicalGroup(2, [surf], name="fluid")
    far = min(size, 2 * math.pi * radius / 48)
    fields = [threshold_field(body_curves, body_size, far, 0.0, 0.5 * radius)]
    mid = threshold_field(body_curves, 4 * body_size, far, 0.0, 0.08 * radius)
    fields.append(mid)
    for x, y, h in refine:  # finer spots (leading and trailing edges)
        pt = occ.addPoint(x, y, 0.0)
        occ.synchronize()
        dist = gmsh.model.mesh.field.add("Distance")
        gmsh.model.mesh.field.setNumbers(dist, "PointsList", [pt])
        thr = gmsh.model.mesh.field.add("Threshold")
        for k, v in {"InField": dist, "SizeMin": h, "SizeMax": far, "DistMin": 2 * h,
                     "DistMax": 60 * h}.items():
            gmsh.model.mesh.field.setNumber(thr, k, v)
        fields.append(thr)
    background_field(fields)
    return generate_triangles(progress, cancel)


def mesh_airfoil(camber: float, position: float, thickness: float, size: float, *,
                 radius: float = 15.0, progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER) -> MeshData:
    """A unit-chord NACA 4-digit section (leading edge at the origin, chord along +x) in a
    circular far field of ``radius`` chords centred at mid-chord; regions ``body`` and
    ``far_field``. ``size`` is the element size on the section (finer at both edges)."""
    check_naca(camber, position, thickness)
    upper, lower = naca4(camber, position, thickness)
    progress(0.0, "Building geometry")
    with gmsh_model("airfoil"):
        occ = gmsh.model.occ
        le = occ.addPoint(0.0, 0.0, 0.0)
        te = occ.addPoint(1.0, 0.0, 0.0)
        up = [occ.addPoint(x, y, 0.0) for x, y in upper[1:-1]]
        lo = [occ.addPoint(x, y, 0.0) for x, y in lower[1:-1]]
        c_up = occ.addSpline([le, *up, te])
        c_lo = occ.addSpline([te, *lo[::-1], le])
        loop = occ.addCurveLoop([c_up, c_lo])
        h_edge = size / 4.0
        return _far_field_mesh([c_up, c_lo], loop, (0.5, 0.0), radius, size, radius / 8,
                               [(0.0, 0.0, h_edge), (1.0, 0.0, h_edge)], progress, cancel)


def mesh_cylinder_far_field(radius_body: float, radius: float, size: float, *,
                            progress: ProgressFn = no_progress,
                            cancel: CancelToken = NEVER) -> MeshData:
    """A circular cylinder of ``radius_body`` at the origin in a circular far field of ``radius``;
    regions ``body`` and ``far_field``; ``size`` on the cylinder."""
    with gmsh_model("cylinder_far_field"):
        occ = gmsh.model.occ
        c = occ.addCircle(0.0, 0.0, 0.0, radius_body)
        loop = occ.addCurveLoop([c])
        return _far_field_mesh([c], loop, (0.0, 0.0), radius, size, radius / 8, [], progress,
                               cancel)

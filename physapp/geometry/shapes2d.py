"""Simple 2D shapes meshed with gmsh OCC: rectangles, annulus sectors and the NAFEMS LE1 membrane.

Every function returns linear-triangle MeshData whose boundary regions are named after their
position, so studies and benchmark tests can put loads and supports on them.
"""

from __future__ import annotations

import gmsh

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData
from physapp.geometry.gmsh_session import extract_mesh, gmsh_model


def _name_curves(surf: int, classify) -> None:
    groups: dict[str, list[int]] = {}
    for _, curve in gmsh.model.getBoundary([(2, surf)], oriented=False):
        cx, cy, _ = gmsh.model.occ.getCenterOfMass(1, curve)
        groups.setdefault(classify(cx, cy), []).append(curve)
    for name, curves in groups.items():
        gmsh.model.addPhysicalGroup(1, curves, name=name)
    gmsh.model.addPhysicalGroup(2, [surf], name="domain")


def _mesh(size: float, size_points: dict[tuple[float, float], float] | None = None) -> MeshData:
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    if size_points:
        for (x, y), h in size_points.items():
            for dim, tag in gmsh.model.getEntitiesInBoundingBox(x - 1e-9, y - 1e-9, -1, x + 1e-9,
                                                                y + 1e-9, 1, 0):
                gmsh.model.mesh.setSize([(dim, tag)], h)
    gmsh.model.mesh.generate(2)
    return extract_mesh(2)


def mesh_rectangle(x0: float, y0: float, x1: float, y1: float, size: float) -> MeshData:
    """Rectangle with regions ``left``, ``right``, ``bottom``, ``top``."""
    if not (x1 > x0 and y1 > y0 and size > 0):
        raise GeometryError("The rectangle needs x1 > x0, y1 > y0 and a positive element size.")
    tol = 1e-9 * max(x1 - x0, y1 - y0)
    with gmsh_model("rectangle"):
        surf = gmsh.model.occ.addRectangle(x0, y0, 0, x1 - x0, y1 - y0)
        gmsh.model.occ.synchronize()
        _name_curves(surf, lambda cx, cy: "left" if abs(cx - x0) < tol else "right" if abs(
            cx - x1) < tol else "bottom" if abs(cy - y0) < tol else "top")
        return _mesh(size)


def mesh_annulus_sector(inner: float, outer: float, size: float, *, x0: float = 0.0) -> MeshData:
    """Quarter annulus (first quadrant) with regions ``inner``, ``outer``, ``x_axis`` (y = 0) and
    ``y_axis`` (x = 0). With ``x0 > 0`` it is instead the rectangle [inner, outer] x [0, x0] of an
    axisymmetric tube wall, regions ``inner``, ``outer``, ``bottom``, ``top``."""
    if not 0 < inner < outer:
        raise GeometryError("The annulus needs 0 < inner radius < outer radius.")
    tol = 1e-9 * outer
    with gmsh_model("annulus"):
        occ = gmsh.model.occ
        if x0 > 0:
            surf = occ.addRectangle(inner, 0, 0, outer - inner, x0)
            occ.synchronize()
            _name_curves(surf, lambda cx, cy: "inner" if abs(cx - inner) < tol else "outer" if abs(
                cx - outer) < tol else "bottom" if abs(cy) < tol else "top")
            return _mesh(size)
        big = occ.addDisk(0, 0, 0, outer, outer)
        small = occ.addDisk(0, 0, 0, inner, inner)
        box = occ.addRectangle(0, 0, 0, 2 * outer, 2 * outer)
        ring, _ = occ.cut([(2, big)], [(2, small)])
        out, _ = occ.intersect(ring, [(2, box)])
        occ.synchronize()

        def classify(cx, cy):
            if abs(cy) < tol:
                return "x_axis"
            if abs(cx) < tol:
                return "y_axis"
            return "inner" if cx * cx + cy * cy < (0.5 * (inner + outer)) ** 2 else "outer"

        _name_curves(out[0][1], classify)
        return _mesh(size)


def mesh_le1_membrane(size: float, size_at_d: float | None = None) -> MeshData:
    """NAFEMS LE1 elliptic membrane, quarter model, in metres.

    Inner ellipse (x/2)^2 + y^2 = 1, outer ellipse (x/3.25)^2 + (y/2.75)^2 = 1. Regions:
    ``inner``, ``outer``, ``x_axis`` (y = 0, from D = (2, 0) to (3.25, 0)), ``y_axis`` (x = 0).
    """
    with gmsh_model("le1"):
        occ = gmsh.model.occ
        outer = occ.addDisk(0, 0, 0, 3.25, 2.75)
        inner = occ.addDisk(0, 0, 0, 2.0, 1.0)
        box = occ.addRectangle(0, 0, 0, 4, 4)
        ring, _ = occ.cut([(2, outer)], [(2, inner)])
        out, _ = occ.intersect(ring, [(2, box)])
        occ.synchronize()

        def classify(cx, cy):
            if abs(cy) < 1e-9:
                return "x_axis"
            if abs(cx) < 1e-9:
                return "y_axis"
            return "inner" if (cx / 2.6) ** 2 + (cy / 1.9) ** 2 < 1 else "outer"

        _name_curves(out[0][1], classify)
        return _mesh(size, {(2.0, 0.0): size_at_d} if size_at_d else None)

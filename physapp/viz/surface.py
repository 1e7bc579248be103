"""The surface the viewport draws of a mesh, found once per mesh (#18).

A solid's outer surface is the set of cell faces that belong to one cell only; each quadratic
face (of a ``tetra10``) is split into four triangles through its mid-side nodes, as the 2D
``triangle6`` cells are (:mod:`physapp.viz.grids`), so every nodal value the solver computed is
on screen. :func:`shared_surface` wraps those triangles as a PolyData on the display grid's own
VTK points and arrays: a frame written into the grid is what the PolyData shows, and a polygon
mapper draws it without extracting anything (VTK's mapper of an unstructured grid extracts the
surface again at every change: ~12 ms for a 23k-node solid).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from physapp.core.display_mesh import known, outer_triangles
from physapp.core.mesh import MeshData
from physapp.viz.grids import display_triangles


def display_surface(mesh: MeshData) -> np.ndarray:
    """The triangles the viewport draws of ``mesh``, ``(m, 3)`` node ids: a 2D mesh's display
    triangles (:func:`~physapp.viz.grids.display_triangles`); a solid's outer faces turned
    outward (:func:`~physapp.core.display_mesh.outer_triangles`), taken from the arrays its
    reading process found when they were handed over (:func:`~physapp.core.display_mesh.known`):
    the GUI thread then does no array work (#16)."""
    if mesh.dim < 3:
        return display_triangles(mesh)
    ready = known(mesh)
    return ready.triangles if ready is not None else outer_triangles(mesh)


def shared_surface(grid: pv.UnstructuredGrid, triangles: np.ndarray) -> pv.PolyData:
    """A PolyData of ``triangles`` on the **same** VTK points and point arrays as ``grid`` (no
    copy): values written into the grid's arrays are what the PolyData shows. Interior nodes
    stay in the points, unused by any triangle."""
    poly = pv.PolyData()
    poly.SetPoints(grid.GetPoints())
    poly.SetPolys(pv.CellArray.from_regular_cells(np.asarray(triangles, dtype=np.int64)))
    src, dst = grid.GetPointData(), poly.GetPointData()
    for i in range(src.GetNumberOfArrays()):
        dst.AddArray(src.GetArray(i))
    return poly

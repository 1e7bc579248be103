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

from physapp.core.mesh import MeshData
from physapp.viz.grids import _TRI6_SPLIT, display_triangles

#: faces of the volume cells, outward, by local node index: triangles as 3 corners or (quadratic)
#: 3 corners and the mid-side nodes of edges (0-1), (1-2), (2-0); quads as 4 corners. Node
#: orders are meshio's (= VTK's): tetra10 mid-sides 4 (0-1), 5 (1-2), 6 (2-0), 7 (0-3), 8 (1-3),
#: 9 (2-3).
_FACES: dict[str, tuple[tuple[int, ...], ...]] = {
    "tetra": ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)),
    "tetra10": ((0, 2, 1, 6, 5, 4), (0, 1, 3, 4, 8, 7), (1, 2, 3, 5, 9, 8), (0, 3, 2, 7, 9, 6)),
    "hexahedron": ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6),
                   (3, 0, 4, 7)),
    "wedge": ((0, 2, 1), (3, 4, 5), (0, 1, 4, 3), (1, 2, 5, 4), (2, 0, 3, 5)),
    "pyramid": ((0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)),
}

_CORNERS = {"tetra": 4, "tetra10": 4, "hexahedron": 8, "wedge": 6, "pyramid": 5}


def display_surface(mesh: MeshData) -> np.ndarray:
    """The triangles the viewport draws of ``mesh``, ``(m, 3)`` node ids: a 2D mesh's display
    triangles (:func:`~physapp.viz.grids.display_triangles`); a solid's outer faces turned
    outward (anticlockwise seen from outside), quadratic triangles split in four through their
    mid-side nodes, quads in two."""
    if mesh.dim < 3:
        return display_triangles(mesh)
    from physapp.core.facets import seen_once, sorted_columns

    # a face's identity is its sorted corners; a face seen once is on the outside (a tetra10's
    # face meets a tetra's never: one mesh has one order). Only the outer faces are gathered.
    groups: dict[int, list[tuple[np.ndarray, tuple[int, ...], int]]] = {}  # nodes per face
    for block in mesh.cells:
        if block.type not in _FACES:
            raise ValueError(f"cannot display cells of type {block.type!r}")
        conn = np.asarray(block.connectivity, dtype=np.int64)
        for face in _FACES[block.type]:
            groups.setdefault(len(face), []).append((conn, face, _CORNERS[block.type]))
    tris = []
    for n_nodes, parts in groups.items():
        corners = 4 if n_nodes == 4 else 3
        keys = [sorted_columns([conn[:, j] for j in face[:corners]]) for conn, face, _ in parts]
        once = seen_once(keys, mesh.n_points)
        starts = np.cumsum([0] + [len(conn) for conn, _, _ in parts])
        part = np.searchsorted(starts, once, side="right") - 1
        faces = np.empty((len(once), n_nodes), dtype=np.int64)
        centres = np.empty((len(once), 3))
        for i in np.unique(part):
            sel = np.flatnonzero(part == i)
            conn, face, n_corners = parts[i]
            cell = conn[once[sel] - starts[i]]
            faces[sel] = cell[:, list(face)]
            centres[sel] = mesh.points[cell[:, :n_corners]].mean(axis=1)  # of each cell
        outer = _outward(mesh.points, faces, centres, corners)
        if n_nodes == 6:
            tris.append(outer[:, _TRI6_SPLIT].reshape(-1, 3))
        elif n_nodes == 4:
            tris += [outer[:, [0, 1, 2]], outer[:, [0, 2, 3]]]
        else:
            tris.append(outer)
    return np.concatenate(tris) if tris else np.zeros((0, 3), dtype=np.int64)


def _outward(points: np.ndarray, faces: np.ndarray, cell_centres: np.ndarray,
             corners: int) -> np.ndarray:
    """``faces`` turned where needed so their corners run anticlockwise seen from outside their
    cell (a mesh whose cells are numbered the other way round still shows its outer side: the
    viewport culls the faces turned away from the camera)."""
    p = points[faces[:, :corners]]
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    inward = np.einsum("ij,ij->i", normal, p.mean(axis=1) - cell_centres) < 0
    if not inward.any():
        return faces
    flip = {3: [0, 2, 1], 6: [0, 2, 1, 5, 4, 3], 4: [0, 3, 2, 1]}[faces.shape[1]]
    faces = faces.copy()
    faces[inward] = faces[inward][:, flip]
    return faces


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

"""The arrays the viewport draws of a solid, found off the GUI thread (#16).

A solid's outer surface is the set of cell faces that belong to one cell only; each quadratic
face (of a ``tetra10``) is split into four triangles through its mid-side nodes, so every nodal
value the solver computed is on screen. For a million tetrahedra this takes about a second of
array work, so a part's reading process finds it (:func:`display_arrays`) and hands plain arrays
to the GUI thread, which only registers them (:func:`remember`) and wraps them in VTK objects.
Plain numpy (no VTK): it runs in the reading process.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from physapp.core.mesh import MeshData

#: faces of the volume cells, outward, by local node index: triangles as 3 corners or (quadratic)
#: 3 corners and the mid-side nodes of edges (0-1), (1-2), (2-0); quads as 4 corners. Node
#: orders are meshio's (= VTK's): tetra10 mid-sides 4 (0-1), 5 (1-2), 6 (2-0), 7 (0-3), 8 (1-3),
#: 9 (2-3).
FACES: dict[str, tuple[tuple[int, ...], ...]] = {
    "tetra": ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)),
    "tetra10": ((0, 2, 1, 6, 5, 4), (0, 1, 3, 4, 8, 7), (1, 2, 3, 5, 9, 8), (0, 3, 2, 7, 9, 6)),
    "hexahedron": ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6),
                   (3, 0, 4, 7)),
    "wedge": ((0, 2, 1), (3, 4, 5), (0, 1, 4, 3), (1, 2, 5, 4), (2, 0, 3, 5)),
    "pyramid": ((0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)),
}
_CORNERS = {"tetra": 4, "tetra10": 4, "hexahedron": 8, "wedge": 6, "pyramid": 5}
#: VTK cell type ids of the volume cells (vtkCellType.h)
VTK_TYPES = {"tetra": 10, "tetra10": 24, "hexahedron": 12, "wedge": 13, "pyramid": 14}
#: a quadratic triangle (corners 0-2, mid-sides 3 (0-1), 4 (1-2), 5 (2-0)) as four triangles
TRI6_SPLIT = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2], [3, 4, 5]])


@dataclass(frozen=True)
class DisplayArrays:
    """What the viewport needs of a solid, as plain arrays: the outer-surface triangles
    (``(m, 3)`` node ids) and the display grid's VTK cell arrays: ``offsets`` (``n_cells + 1``),
    ``types`` (VTK ids) and ``connectivity`` (all cells' nodes in a row; None for a mesh of one
    cell block, whose own connectivity is used as it is, so it is not sent twice)."""

    triangles: np.ndarray
    offsets: np.ndarray
    types: np.ndarray
    connectivity: np.ndarray | None = None

    def cell_nodes(self, mesh: MeshData) -> np.ndarray:
        """All cells' nodes in a row (a view of ``mesh``'s one cell block: no copy)."""
        if self.connectivity is not None:
            return self.connectivity
        return mesh.cells[0].connectivity.reshape(-1)


def outer_triangles(mesh: MeshData) -> np.ndarray:
    """A solid's outer faces as triangles turned outward (anticlockwise seen from outside),
    quadratic triangles split in four through their mid-side nodes, quads in two."""
    from physapp.core.facets import seen_once, sorted_columns

    # a face's identity is its sorted corners; a face seen once is on the outside (a tetra10's
    # face meets a tetra's never: one mesh has one order). Only the outer faces are gathered.
    groups: dict[int, list[tuple[np.ndarray, tuple[int, ...], int]]] = {}  # nodes per face
    for block in mesh.cells:
        if block.type not in FACES:
            raise ValueError(f"cannot display cells of type {block.type!r}")
        conn = np.asarray(block.connectivity, dtype=np.int64)
        for face in FACES[block.type]:
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
            tris.append(outer[:, TRI6_SPLIT].reshape(-1, 3))
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


def volume_cells(mesh: MeshData) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """VTK ``(offsets, types, connectivity)`` of a solid's cells as they are (connectivity None
    for one cell block: its own array is the connectivity)."""
    counts, types = [], []
    for block in mesh.cells:
        if block.type not in VTK_TYPES:
            raise ValueError(f"cannot display cells of type {block.type!r}")
        conn = block.connectivity
        counts.append(np.full(len(conn), conn.shape[1], dtype=np.int64))
        types.append(np.full(len(conn), VTK_TYPES[block.type], dtype=np.uint8))
    offsets = np.zeros(sum(len(c) for c in counts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=offsets[1:])
    conn = None if len(mesh.cells) == 1 else np.concatenate(
        [b.connectivity.reshape(-1) for b in mesh.cells])
    return offsets, np.concatenate(types), conn


def display_arrays(mesh: MeshData) -> DisplayArrays | None:
    """The viewport's arrays of a solid (None for a 2D mesh, whose display is cheap)."""
    if mesh.dim < 3:
        return None
    offsets, types, conn = volume_cells(mesh)
    return DisplayArrays(outer_triangles(mesh), offsets, types, conn)


# -- arrays found elsewhere, by the cells they belong to ------------------------------------------
#: id of the first cell block's connectivity -> (weak references to all blocks' connectivity,
#: the arrays); meshes sharing their cell blocks (a part with one more region) share them
_KNOWN: dict[int, tuple[tuple[weakref.ref, ...], DisplayArrays]] = {}


def remember(mesh: MeshData, arrays: DisplayArrays | None) -> None:
    """Keep ``arrays`` for ``mesh``'s cells (until those cells are freed)."""
    if arrays is None:
        return
    for key in [k for k, (refs, _) in _KNOWN.items() if any(r() is None for r in refs)]:
        del _KNOWN[key]
    refs = tuple(weakref.ref(b.connectivity) for b in mesh.cells)
    _KNOWN[id(mesh.cells[0].connectivity)] = (refs, arrays)


def known(mesh: MeshData) -> DisplayArrays | None:
    """The arrays remembered for ``mesh``'s cells (None when none were)."""
    entry = _KNOWN.get(id(mesh.cells[0].connectivity))
    if entry is None:
        return None
    refs, arrays = entry
    if len(refs) != len(mesh.cells) or any(
            r() is not b.connectivity for r, b in zip(refs, mesh.cells, strict=True)):
        return None
    return arrays

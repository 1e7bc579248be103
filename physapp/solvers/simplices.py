"""Meshes of quads, hexahedra, wedges and pyramids are solved on a conforming simplex split.

The solvers work on triangles and tetrahedra (P1/P2). A file that brings other cells is split:
a quad into two triangles along its shorter diagonal (both triangles stay inside the quad, so the
split is conforming); every quadrilateral face of a 3D cell gets a node at its centre (shared with
the neighbouring cell, so faces match) and every 3D cell a node at its centroid, and the cell is
cut into tetrahedra joining the centroid to the triangles of its faces (hexahedron: 24 tets,
wedge: 14, pyramid: 8). Higher-order cells use their corner nodes (straight-sided). Boundary
regions are split the same way and subdomains map to the new cells. Every original node keeps
its index; new nodes are appended.
"""

from __future__ import annotations

import numpy as np

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData

#: faces of 3D cells in meshio/VTK node order
FACES = {
    "hexahedron": ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6),
                   (3, 0, 4, 7)),
    "wedge": ((0, 2, 1), (3, 4, 5), (0, 1, 4, 3), (1, 2, 5, 4), (2, 0, 3, 5)),
    "pyramid": ((0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)),
}
CORNERS = {"triangle": 3, "triangle6": 3, "quad": 4, "quad8": 4, "quad9": 4, "tetra": 4,
           "tetra10": 4, "hexahedron": 8, "hexahedron20": 8, "hexahedron27": 8, "wedge": 6,
           "wedge15": 6, "pyramid": 5, "pyramid13": 5}
SIMPLEX = {"triangle", "triangle6", "tetra", "tetra10"}


def needs_split(mesh: MeshData) -> bool:
    return any(b.type not in SIMPLEX for b in mesh.cells)


def split_to_simplices(mesh: MeshData) -> MeshData:
    """A conforming triangle/tetrahedron mesh of the same domain (see the module docstring)."""
    unknown = sorted({b.type for b in mesh.cells} - set(CORNERS))
    if unknown:
        raise SolverError(f"Cells of type {', '.join(unknown)} are not supported by the solver.")
    points = [np.asarray(mesh.points, dtype=float)]
    n_points = [len(points[0])]
    centres: dict[tuple[int, ...], int] = {}

    def new_point(nodes) -> int:
        points.append(mesh.points[list(nodes)].mean(axis=0, keepdims=True))
        n_points[0] += 1
        return n_points[0] - 1

    def face_centre(face: np.ndarray) -> int:
        key = tuple(sorted(int(i) for i in face))
        if key not in centres:
            centres[key] = new_point(key)
        return centres[key]

    def face_triangles(face: np.ndarray) -> list[tuple[int, int, int]]:
        if len(face) == 3:
            return [tuple(int(i) for i in face)]
        c = face_centre(face)
        return [(int(face[k]), int(face[(k + 1) % 4]), c) for k in range(4)]

    cell_map: list[list[int]] = []  # original cell -> new cell indices
    count = 0
    out_type = "triangle" if mesh.dim == 2 else "tetra"
    cells_out: list[list[int]] = []
    for block in mesh.cells:
        corners = np.asarray(block.connectivity)[:, : CORNERS[block.type]]
        if block.type in SIMPLEX:
            cells_out.extend(corners.tolist())
            cell_map.extend([[count + i] for i in range(len(corners))])
            count += len(corners)
            continue
        if block.type.startswith("quad"):
            p = mesh.points
            d02 = np.linalg.norm(p[corners[:, 0]] - p[corners[:, 2]], axis=1)
            d13 = np.linalg.norm(p[corners[:, 1]] - p[corners[:, 3]], axis=1)
            for q, short02 in zip(corners, d02 <= d13, strict=True):
                tris = ([q[0], q[1], q[2]], [q[0], q[2], q[3]]) if short02 else (
                    [q[0], q[1], q[3]], [q[1], q[2], q[3]])
                cells_out.extend([list(map(int, t)) for t in tris])
                cell_map.append([count, count + 1])
                count += 2
            continue
        faces = FACES[block.type.rstrip("0123456789")]
        for cell in corners:
            tris = [t for f in faces for t in face_triangles(cell[list(f)])]
            centroid = new_point(cell)
            cells_out.extend([[a, b, c, centroid] for a, b, c in tris])
            cell_map.append(list(range(count, count + len(tris))))
            count += len(tris)
    boundaries = {}
    for name, facets in mesh.boundaries.items():
        facets = np.asarray(facets)
        if mesh.dim == 2:
            boundaries[name] = facets[:, :2]
            continue
        k = 4 if facets.shape[1] in (4, 8, 9) else 3
        tris = [t for f in facets[:, :k] for t in face_triangles(f)]
        boundaries[name] = np.asarray(tris, dtype=np.int64).reshape(-1, 3)
    subdomains = {name: np.asarray([j for i in idx for j in cell_map[int(i)]], dtype=np.int64)
                  for name, idx in mesh.subdomains.items()}
    pts = np.concatenate(points)
    cells = (CellBlock(out_type, np.asarray(cells_out, dtype=np.int64).reshape(-1, mesh.dim + 1)),)
    return MeshData(pts, cells, boundaries, subdomains, mesh.dim, mesh.length_unit)

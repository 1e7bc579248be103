"""Meshes of quads, hexahedra, wedges and pyramids are solved on a conforming simplex split.

The solvers work on triangles and tetrahedra (P1/P2). A file that brings other cells is split:
a quad into two triangles along its shorter diagonal (both triangles stay inside the quad, so the
split is conforming); every quadrilateral face of a 3D cell gets a node at its centre (shared with
the neighbouring cell, so faces match) and every 3D cell a node at its centroid, and the cell is
cut into tetrahedra joining the centroid to the triangles of its faces (hexahedron: 24 tets,
wedge: 14, pyramid: 8). Boundary regions are split the same way and subdomains map to the new
cells. Every original node keeps its index; new nodes are appended.

Quadratic cells (quad8, quad9, hexahedron20, hexahedron27, wedge15, pyramid13, mixed with
triangle6 / tetra10) become quadratic simplices (triangle6 / tetra10) that keep the curved
geometry: edges of the original cells keep their mid-side nodes, a new node on a quadrilateral
face is placed by the face's own quadratic map (serendipity quad8 or biquadratic quad9), so the
boundary is exactly the input's; new nodes inside a cell lie on straight lines between their
(curved) ends. Linear and quadratic cells in one mesh are refused (their shared edges disagree).
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
QUADRATIC = {"triangle6", "quad8", "quad9", "tetra10", "hexahedron20", "hexahedron27", "wedge15",
             "pyramid13"}
_HEX_MIDS = ((0, 1, 8), (1, 2, 9), (2, 3, 10), (3, 0, 11), (4, 5, 12), (5, 6, 13), (6, 7, 14),
             (7, 4, 15), (0, 4, 16), (1, 5, 17), (2, 6, 18), (3, 7, 19))
#: (corner a, corner b, column of the mid-side node) of each quadratic cell (meshio / VTK order)
EDGE_MIDS = {
    "triangle6": ((0, 1, 3), (1, 2, 4), (2, 0, 5)),
    "quad8": ((0, 1, 4), (1, 2, 5), (2, 3, 6), (3, 0, 7)),
    "quad9": ((0, 1, 4), (1, 2, 5), (2, 3, 6), (3, 0, 7)),
    "tetra10": ((0, 1, 4), (1, 2, 5), (0, 2, 6), (0, 3, 7), (1, 3, 8), (2, 3, 9)),
    "hexahedron20": _HEX_MIDS,
    "hexahedron27": _HEX_MIDS,
    "wedge15": ((0, 1, 6), (1, 2, 7), (2, 0, 8), (3, 4, 9), (4, 5, 10), (5, 3, 11), (0, 3, 12),
                (1, 4, 13), (2, 5, 14)),
    "pyramid13": ((0, 1, 5), (1, 2, 6), (2, 3, 7), (3, 0, 8), (0, 4, 9), (1, 4, 10), (2, 4, 11),
                  (3, 4, 12)),
}
#: reference corners of a quadrilateral face, in its cyclic node order
_QREF = np.array([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def needs_split(mesh: MeshData) -> bool:
    return any(b.type not in SIMPLEX for b in mesh.cells)


def _lagrange3(t: float) -> np.ndarray:
    """1D quadratic Lagrange functions on the nodes -1, 0, 1 at ``t``."""
    return np.array([0.5 * t * (t - 1.0), 1.0 - t * t, 0.5 * t * (t + 1.0)])


def quad_map(corners: np.ndarray, mids: np.ndarray, centre: np.ndarray | None, xi: float,
             eta: float) -> np.ndarray:
    """Point of a quadratic quadrilateral (4 corners, 4 edge mids in cyclic order, and its centre
    node or None for serendipity) at reference coordinates ``(xi, eta)`` in [-1, 1]^2."""
    if centre is None:  # the serendipity (quad8) map's value at the centre
        centre = -0.25 * corners.sum(axis=0) + 0.5 * mids.sum(axis=0)
    grid = np.empty((3, 3, corners.shape[1]))  # grid[i, j]: node at (xi_i, eta_j), i, j in -1, 0, 1
    for k, (a, b) in enumerate(_QREF.astype(int) + 1):
        grid[a, b] = corners[k]
    for k in range(4):
        a, b = ((_QREF[k] + _QREF[(k + 1) % 4]) / 2).astype(int) + 1
        grid[a, b] = mids[k]
    grid[1, 1] = centre
    return np.einsum("i,j,ijx->x", _lagrange3(xi), _lagrange3(eta), grid)


def split_to_simplices(mesh: MeshData) -> MeshData:
    """A conforming triangle/tetrahedron mesh of the same domain (see the module docstring)."""
    unknown = sorted({b.type for b in mesh.cells} - set(CORNERS))
    if unknown:
        raise SolverError(
            f"Cells of type {', '.join(unknown)} are not supported by the solver (it takes "
            f"{', '.join(sorted(CORNERS))}).")
    types = {b.type for b in mesh.cells}
    if types & QUADRATIC:
        if types - QUADRATIC:
            raise SolverError(
                "The mesh mixes linear cells (" + ", ".join(sorted(types - QUADRATIC)) + ") and "
                "quadratic cells (" + ", ".join(sorted(types & QUADRATIC)) + "), whose shared "
                "edges do not match: export it with one element order.")
        return _split_quadratic(mesh)
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
    return MeshData(pts, cells, boundaries, subdomains, mesh.dim, mesh.length_unit, mesh.edges,
                    mesh.point_sets)


def _split_quadratic(mesh: MeshData) -> MeshData:
    """Quadratic cells -> triangle6 / tetra10 keeping the curved geometry (module docstring)."""
    pts: list[np.ndarray] = [np.asarray(mesh.points, dtype=float)]
    n = [len(pts[0])]
    mid_of: dict[tuple[int, int], int] = {}
    centres: dict[tuple[int, ...], int] = {}

    def add(x: np.ndarray) -> int:
        pts.append(np.asarray(x, dtype=float).reshape(1, 3))
        n[0] += 1
        return n[0] - 1

    def coord(i: int) -> np.ndarray:
        return pts[0][i] if i < len(pts[0]) else pts[i - len(pts[0]) + 1][0]

    def mid(i: int, j: int, where=None) -> int:
        key = (min(i, j), max(i, j))
        if key not in mid_of:
            mid_of[key] = add(where() if where is not None else 0.5 * (coord(i) + coord(j)))
        return mid_of[key]

    # the mid-side nodes of the input's edges
    for block in mesh.cells:
        conn = np.asarray(block.connectivity)
        for a, b, m in EDGE_MIDS[block.type]:
            for i, j, k in zip(conn[:, a], conn[:, b], conn[:, m], strict=True):
                mid_of.setdefault((min(int(i), int(j)), max(int(i), int(j))), int(k))

    def quad_face(cell: np.ndarray, face: tuple[int, ...], centre_node: int | None):
        """Centre node of a quadrilateral face and a function placing points on it."""
        g = [int(cell[k]) for k in face]
        corners = np.array([coord(i) for i in g])
        mids = np.array([coord(mid_of[(min(g[k], g[(k + 1) % 4]), max(g[k], g[(k + 1) % 4]))])
                         for k in range(4)])
        key = tuple(sorted(g))
        if key not in centres:
            centres[key] = centre_node if centre_node is not None else add(
                quad_map(corners, mids, None, 0.0, 0.0))
        c = centres[key]
        cx = coord(c)

        def at(k: int):
            return lambda: quad_map(corners, mids, cx, *(_QREF[k] / 2))

        return g, c, at

    def tri6(a: int, b: int, c: int, diag=None) -> list[int]:
        return [a, b, c, mid(a, b, diag), mid(b, c), mid(c, a)]

    cells_out: list[list[int]] = []
    cell_map: list[list[int]] = []
    count = 0
    for block in mesh.cells:
        conn = np.asarray(block.connectivity)
        if block.type in ("triangle6", "tetra10"):
            for cell in conn:
                cells_out.append([int(v) for v in cell])
                cell_map.append([count])
                count += 1
            continue
        if mesh.dim == 2:  # quad8 / quad9: two triangle6 along the diagonal 0-2
            for cell in conn:
                centre = int(cell[8]) if block.type == "quad9" else None
                g, c, _ = quad_face(cell, (0, 1, 2, 3), centre)
                x = [coord(i) for i in g]
                if np.linalg.norm(x[0] - x[2]) > np.linalg.norm(x[1] - x[3]):
                    g = g[1:] + g[:1]  # cut along the shorter diagonal
                mid_of.setdefault((min(g[0], g[2]), max(g[0], g[2])), c)
                cells_out += [tri6(g[0], g[1], g[2]), tri6(g[0], g[2], g[3])]
                cell_map.append([count, count + 1])
                count += 2
            continue
        base = block.type.rstrip("0123456789")
        for cell in conn:
            corners = cell[: CORNERS[block.type]]
            tris: list[tuple[int, int, int]] = []
            for face in FACES[base]:
                if len(face) == 3:
                    tris.append(tuple(int(cell[k]) for k in face))
                    continue
                centre = None
                if block.type == "hexahedron27":  # the face-centre node nearest the quad8 estimate
                    g0 = [int(cell[k]) for k in face]
                    cor = np.array([coord(i) for i in g0])
                    mids = np.array([coord(mid_of[(min(g0[k], g0[(k + 1) % 4]),
                                                   max(g0[k], g0[(k + 1) % 4]))]) for k in range(4)])
                    est = quad_map(cor, mids, None, 0.0, 0.0)
                    cand = cell[20:26]
                    centre = int(cand[np.argmin(np.linalg.norm(mesh.points[cand] - est, axis=1))])
                g, c, at = quad_face(cell, face, centre)
                for k in range(4):
                    mid(g[k], c, at(k))
                    tris.append((g[k], g[(k + 1) % 4], c))
            if block.type == "hexahedron27":
                o = int(cell[26])
            elif block.type == "hexahedron20":
                o = add(-0.25 * mesh.points[corners].sum(axis=0)
                        + 0.25 * mesh.points[cell[8:20]].sum(axis=0))
            else:
                o = add(mesh.points[corners].mean(axis=0))
            for a, b, c in tris:
                # tetra10 order: edges (0,1), (1,2), (0,2), (0,3), (1,3), (2,3)
                cells_out.append([a, b, c, o, mid(a, b), mid(b, c), mid(a, c), mid(a, o),
                                  mid(b, o), mid(c, o)])
            cell_map.append(list(range(count, count + len(tris))))
            count += len(tris)
    boundaries = {}
    for name, facets in mesh.boundaries.items():
        facets = np.asarray(facets)
        if mesh.dim == 2:
            boundaries[name] = facets[:, :2]
            continue
        out = []
        for f in facets:
            if len(f) == 3:
                out.append([int(v) for v in f])
                continue
            key = tuple(sorted(int(v) for v in f[:4]))
            c = centres.get(key)
            if c is None:
                raise SolverError(f"Region '{name}' has a quadrilateral that is no cell's face.")
            out += [[int(f[k]), int(f[(k + 1) % 4]), c] for k in range(4)]
        boundaries[name] = np.asarray(out, dtype=np.int64).reshape(-1, 3)
    subdomains = {name: np.asarray([j for i in idx for j in cell_map[int(i)]], dtype=np.int64)
                  for name, idx in mesh.subdomains.items()}
    out_type = "triangle6" if mesh.dim == 2 else "tetra10"
    conn = np.asarray(cells_out, dtype=np.int64).reshape(-1, 6 if mesh.dim == 2 else 10)
    return MeshData(np.concatenate(pts), (CellBlock(out_type, conn),), boundaries, subdomains,
                    mesh.dim, mesh.length_unit, mesh.edges, mesh.point_sets)


def linear_simplices(mesh: MeshData) -> MeshData:
    """A straight linear triangle / tetrahedron mesh of ``mesh``: other cells split, mid-side
    nodes dropped, nodes renumbered compactly; every region kept. Used where one fixed linear
    topology is needed (sweeps of imported parts: the data set stores P2 nodes at edge
    midpoints)."""
    if needs_split(mesh):
        mesh = split_to_simplices(mesh)
    nc = mesh.dim + 1
    conn = np.concatenate([np.asarray(b.connectivity)[:, :nc] for b in mesh.cells])
    used = np.unique(conn)
    vmap = np.full(mesh.n_points, -1, dtype=np.int64)
    vmap[used] = np.arange(len(used))

    def keep(regions, cols=None):
        out = {}
        for name, arr in regions.items():
            a = np.asarray(arr)
            a = vmap[a[:, :cols] if cols else a]
            if a.size and np.all(a >= 0):
                out[name] = a
        return out

    out_type = "triangle" if mesh.dim == 2 else "tetra"
    return MeshData(mesh.points[used], (CellBlock(out_type, vmap[conn]),),
                    keep(mesh.boundaries, mesh.dim), dict(mesh.subdomains), mesh.dim,
                    mesh.length_unit, keep(mesh.edges, 2), keep(mesh.point_sets))

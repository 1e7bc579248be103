"""Mesh clean-up after reading: coincident and unused nodes (repaired with a notice), boundary
facets of the cells, the boundary split into faces at sharp edges (``face_1``, ...), and cell
checks (inverted or degenerate cells are refused). Used by :mod:`physapp.io.readers`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from physapp.core.facets import boundary_facet_groups
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.regions import CORNERS, FACETS  # noqa: F401 - re-exported
from physapp.io.import_report import LINEAR, ImportError_


def _corners(cell_type: str, data: np.ndarray) -> np.ndarray:
    base = LINEAR.get(cell_type, cell_type)
    return np.asarray(data)[:, : CORNERS.get(base, data.shape[1])]


def _facet_array(facets: list[np.ndarray]) -> np.ndarray:
    by_len: dict[int, list[np.ndarray]] = {}
    for f in facets:
        by_len.setdefault(len(f), []).append(f)
    return _stack([np.asarray(v) for v in by_len.values()])


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    parts = [np.asarray(p).reshape(len(p), -1) for p in parts if len(p)]
    if not parts:
        return np.zeros((0, 3), dtype=np.int64)
    widths = {p.shape[1] for p in parts}
    if len(widths) == 1:
        return np.concatenate(parts)
    # a region mixing triangles and quads: split quads into two triangles each
    out = []
    for p in parts:
        out.append(p if p.shape[1] == 3 else np.concatenate([p[:, [0, 1, 2]], p[:, [0, 2, 3]]]))
    return np.concatenate(out)


def _repair_nodes(pts, cells, boundaries, report):
    scale = max(np.ptp(pts, axis=0).max(), 1e-300)
    key = np.round(pts / scale * 1e10).astype(np.int64)
    s = key[np.lexsort(key.T[::-1])]  # a cheap look for coincident nodes first: most have none
    if len(s) > 1 and np.any(np.all(s[1:] == s[:-1], axis=1)):
        _, first, remap = np.unique(key, axis=0, return_index=True, return_inverse=True)
        remap = remap.ravel()
        report.repairs.append(f"merged {len(pts) - len(first)} coincident node(s)")
        pts = pts[first]
        cells = [CellBlock(c.type, remap[c.connectivity]) for c in cells]
        boundaries = {k: [remap[p] for p in v] for k, v in boundaries.items()}
    used = np.zeros(len(pts), dtype=bool)
    for c in cells:
        used[c.connectivity.ravel()] = True
    if not used.all():
        report.repairs.append(f"dropped {int((~used).sum())} node(s) used by no cell")
        new = np.cumsum(used) - 1
        pts = pts[used]
        cells = [CellBlock(c.type, new[c.connectivity]) for c in cells]
        boundaries = {k: [new[p] for p in v if used[p].all()] for k, v in boundaries.items()}
        boundaries = {k: v for k, v in boundaries.items() if v}
    return pts, cells, boundaries


def _boundary_groups(cells) -> list[tuple[np.ndarray, np.ndarray]]:
    """Facets (corner nodes) that belong to exactly one domain cell, one array per corner count
    with each facet's position in the scan of the cells (:mod:`physapp.core.facets`)."""
    return boundary_facet_groups(((c.type, c.connectivity) for c in cells), FACETS, CORNERS)


def _feature_faces(pts, facets, dim, angle) -> dict[str, np.ndarray]:
    """Split boundary facets into faces: grow over neighbours whose normals differ < angle.

    Neighbours share a node (2D) or an edge (3D). A face is a connected set of the graph whose
    links join neighbours with normals closer than ``angle`` (the same sets a flood fill from
    each facet in turn finds), numbered by their first facet."""
    if not facets:
        return {}
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    width = np.array([len(f) for f in facets])
    F = np.asarray([f if len(f) in (2, 3) else f[[0, 1, 2]] for f in facets])
    if dim == 2:
        t = pts[F[:, 1], :2] - pts[F[:, 0], :2]
        n = np.column_stack([-t[:, 1], t[:, 0], np.zeros(len(t))])
    else:
        n = np.cross(pts[F[:, 1]] - pts[F[:, 0]], pts[F[:, 2]] - pts[F[:, 0]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
    keys, owner = [], []
    top = len(pts)  # facet nodes are node indices
    for w in np.unique(width):
        ids = np.flatnonzero(width == w)
        rows = np.asarray([facets[i] for i in ids], dtype=np.int64)
        for k in range(w):
            if dim == 2:
                keys.append(rows[:, k])
            else:
                a, b = rows[:, k], rows[:, (k + 1) % w]
                keys.append(np.minimum(a, b) * top + np.maximum(a, b))
            owner.append(ids)
    key, fid = np.concatenate(keys), np.concatenate(owner)
    order = np.argsort(key, kind="stable")
    key, fid = key[order], fid[order]
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    size = np.diff(np.r_[start, len(key)])
    pairs_i, pairs_j = [], []
    for s in np.unique(size[size > 1]):  # usually 2 facets a shared edge (3D)
        first = start[size == s]
        for a in range(s):
            for b in range(a + 1, s):
                pairs_i.append(fid[first + a])
                pairs_j.append(fid[first + b])
    cos = np.cos(np.radians(angle))
    i = np.concatenate(pairs_i) if pairs_i else np.zeros(0, dtype=np.int64)
    j = np.concatenate(pairs_j) if pairs_j else np.zeros(0, dtype=np.int64)
    dot = np.einsum("ij,ij->i", n[i], n[j])
    link = (np.abs(dot) >= cos) & (dot > 0) & (i != j)
    m = len(facets)
    graph = coo_matrix((np.ones(int(link.sum())), (i[link], j[link])), shape=(m, m))
    _, label = connected_components(graph, directed=False)
    _, seed = np.unique(label, return_index=True)
    rank = np.empty(len(seed), dtype=np.int64)
    rank[np.argsort(seed)] = np.arange(len(seed))  # faces numbered by their first facet
    label = rank[label]
    order = np.argsort(label, kind="stable")
    bounds = np.r_[0, np.cumsum(np.bincount(label, minlength=len(seed)))]
    same = bool(np.all(width == width[0]))
    whole = np.asarray(facets) if same else None
    out = {}
    for k in range(len(seed)):
        idx = order[bounds[k]:bounds[k + 1]]
        out[f"face_{k + 1}"] = whole[idx] if same else _facet_array([facets[q] for q in idx])
    return out


def _triple(p, i0, i1, i2, i3) -> np.ndarray:
    """(p1 - p0) . ((p2 - p0) x (p3 - p0)) per cell, on coordinate rows (about twice as fast as
    ``einsum`` and ``cross`` on (n, 3) arrays for a million cells)."""
    q = np.ascontiguousarray(p.T)
    x0 = q[:, i0]
    a, b, e = q[:, i1] - x0, q[:, i2] - x0, q[:, i3] - x0
    return (a[0] * (b[1] * e[2] - b[2] * e[1]) + a[1] * (b[2] * e[0] - b[0] * e[2])
            + a[2] * (b[0] * e[1] - b[1] * e[0]))


def _check_cells(mesh: MeshData, path: Path) -> int:
    """Refuse degenerate cells (zero size); count inverted simplices (the solvers reorder them)."""
    inverted = 0
    for block in mesh.cells:
        base = LINEAR.get(block.type, block.type)
        c = block.connectivity[:, : CORNERS[base]]
        p = mesh.points
        if base in ("triangle", "quad"):
            a = np.cross(p[c[:, 1]] - p[c[:, 0]], p[c[:, 2]] - p[c[:, 0]])
            size = np.linalg.norm(a, axis=1)
            signed = a[:, 2]
        else:
            signed = _triple(p, c[:, 0], c[:, 1], c[:, 2], c[:, -1])
            size = np.abs(signed)
        if base in ("triangle", "tetra"):
            inverted += int(np.sum(signed < 0))
        scale = np.ptp(p, axis=0).max() ** (2 if base in ("triangle", "quad") else 3)
        bad = int(np.sum(size <= 1e-14 * scale)) if base in ("triangle", "tetra") else 0
        if bad:
            raise ImportError_(
                f"'{path.name}' has {bad} degenerate {block.type} cell(s) (zero area/volume); "
                "remesh the part or repair it in your pre-processor."
            )
    return inverted

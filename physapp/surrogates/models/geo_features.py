"""Geometric node features of mesh-agnostic models: where a node sits relative to the boundary.

Stress and flow fields concentrate at boundary features (a hole, a fillet, a re-entrant corner),
and how they decay away from them is set by the nearest boundary's direction and curvature: the
Kirsch field around a circular hole of radius ``a`` under uniaxial load is a polynomial in
``a / r`` and the harmonics ``cos 2theta``, ``sin 2theta`` of the angle ``theta`` between the load
and the radial direction. Coordinates alone make a network rediscover this for every hole
position and size; these features hand it over for any mesh (no study code, so imported data
sets get them too):

* ``g``: the inward normal of the boundary at the nearest boundary point (interpolated along the
  boundary edge from its nodes' normals): near a smooth boundary, the gradient of the distance;
* in 2D the harmonics ``g_x^2 - g_y^2`` and ``2 g_x g_y`` (``cos 2theta``, ``sin 2theta``);
* ``s = 1 / (1 + kappa d)`` and ``s^2``, with ``d`` the distance to the boundary and ``kappa``
  the signed curvature of the boundary at the nearest point (positive where the boundary curves
  away from the domain, as around a hole; 0 on a straight edge): for a circular hole ``s`` is
  exactly ``a / r``. In 3D ``kappa`` is taken as 0 (``s = 1``).

Computed in 2D from the oriented boundary edges (exact projection onto the nearest of the
candidate edges), in 3D from the boundary sample points. Mesh-size independent up to the chord
error of the boundary, so zero-shot super-resolution keeps working. No torch here.
"""

from __future__ import annotations

import numpy as np

from physapp.core.mesh import MeshData

#: candidate boundary edges per node for the exact nearest-point projection (2D)
CANDIDATES = 8


def n_features(dim: int) -> int:
    """Number of columns :func:`boundary_features` returns in ``dim`` dimensions."""
    return dim + (2 if dim == 2 else 0) + 2


def oriented_edges(mesh: MeshData) -> np.ndarray:
    """(m, 2) boundary edges of a 2D mesh, each oriented with the domain on its left (from
    counter-clockwise cells: the inward normal is the left normal)."""
    pts = np.asarray(mesh.points, np.float64)[:, :2]
    edges = []
    for block in mesh.cells:
        base = block.type.rstrip("0123456789")
        k = {"triangle": 3, "quad": 4}.get(base)
        if k is None:
            continue
        c = np.asarray(block.connectivity[:, :k], np.int64)
        p = pts[c]
        area = 0.5 * np.sum(p[:, :, 0] * np.roll(p[:, :, 1], -1, 1)
                            - np.roll(p[:, :, 0], -1, 1) * p[:, :, 1], axis=1)
        c = np.where((area < 0)[:, None], c[:, ::-1], c)
        edges.append(np.stack([c, np.roll(c, -1, 1)], -1).reshape(-1, 2))
    if not edges:
        return np.zeros((0, 2), np.int64)
    e = np.concatenate(edges)
    _, first, counts = np.unique(np.sort(e, 1), axis=0, return_index=True, return_counts=True)
    return e[first[counts == 1]]


def _node_curvature(pts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Signed curvature at the boundary nodes (0 elsewhere): the turn of the inward normal
    between the edge ending at a node and the edge starting there, over the distance between
    their midpoints (positive around a hole)."""
    a, b = pts[edges[:, 0]], pts[edges[:, 1]]
    t = b - a
    length = np.linalg.norm(t, axis=1)
    t = t / np.maximum(length, 1e-300)[:, None]
    nrm = np.column_stack([-t[:, 1], t[:, 0]])
    mid = 0.5 * (a + b)
    n = len(pts)
    into = np.full(n, -1)
    out = np.full(n, -1)
    into[edges[:, 1]] = np.arange(len(edges))  # the edge ending at the node
    out[edges[:, 0]] = np.arange(len(edges))  # the edge starting there
    kappa = np.zeros(n)
    ok = (into >= 0) & (out >= 0)
    ia, ib = into[ok], out[ok]
    step = mid[ib] - mid[ia]
    dist = np.linalg.norm(step, axis=1)
    tang = step / np.maximum(dist, 1e-300)[:, None]
    kappa[ok] = np.sum((nrm[ib] - nrm[ia]) * tang, axis=1) / np.maximum(dist, 1e-300)
    return kappa


def boundary_features(mesh: MeshData, dim: int, points: np.ndarray | None = None,
                      boundary: np.ndarray | None = None) -> np.ndarray:
    """(n, :func:`n_features`) features of ``points`` (default: the mesh's nodes) relative to the
    mesh's boundary; see the module docstring. ``boundary``: points on the boundary (3D)."""
    from scipy.spatial import cKDTree

    pts = np.asarray(mesh.points, np.float64)[:, :dim]
    q = pts if points is None else np.asarray(points, np.float64)[:, :dim]
    edges = oriented_edges(mesh) if dim == 2 else np.zeros((0, 2), np.int64)
    if dim != 2 or not len(edges):
        bpts = pts if boundary is None else np.asarray(boundary, np.float64)
        dist, idx = cKDTree(bpts).query(q, k=1)
        g = q - bpts[idx]
        g = g / np.maximum(dist, 1e-300)[:, None]
        g[dist <= 1e-12] = 0.0
        extra = []
        if dim == 2:
            extra = [g[:, 0] ** 2 - g[:, 1] ** 2, 2 * g[:, 0] * g[:, 1]]
        ones = np.ones(len(q))
        return np.column_stack([g, *extra, ones, ones]).astype(np.float32)
    a, b = pts[edges[:, 0]], pts[edges[:, 1]]
    seg = b - a
    seg_len2 = np.maximum(np.sum(seg**2, 1), 1e-300)
    k = min(CANDIDATES, len(edges))
    _, cand = cKDTree(0.5 * (a + b)).query(q, k=k)
    cand = cand.reshape(len(q), k)
    rel = q[:, None, :] - a[cand]  # (n, k, 2)
    t = np.clip(np.sum(rel * seg[cand], -1) / seg_len2[cand], 0.0, 1.0)
    foot = a[cand] + t[..., None] * seg[cand]
    d2 = np.sum((q[:, None, :] - foot) ** 2, -1)
    j = np.argmin(d2, 1)
    rows = np.arange(len(q))
    best, tb = cand[rows, j], t[rows, j]
    d = np.sqrt(d2[rows, j])
    # the inward normal interpolated along the nearest edge from its end nodes' normals (mean
    # of their two edges'): smooth along the boundary, so a chord's kink does not show
    unit = seg / np.sqrt(seg_len2)[:, None]
    normal = np.column_stack([-unit[:, 1], unit[:, 0]])
    node_n = np.zeros_like(pts)
    np.add.at(node_n, edges[:, 0], normal)
    np.add.at(node_n, edges[:, 1], normal)
    g = ((1 - tb)[:, None] * node_n[edges[best, 0]] + tb[:, None] * node_n[edges[best, 1]])
    g = g / np.maximum(np.linalg.norm(g, axis=1), 1e-300)[:, None]
    kn = _node_curvature(pts, edges)
    kappa = (1 - tb) * kn[edges[best, 0]] + tb * kn[edges[best, 1]]
    s = 1.0 / (1.0 + np.clip(kappa * d, -0.5, 50.0))
    return np.column_stack([g, g[:, 0] ** 2 - g[:, 1] ** 2, 2 * g[:, 0] * g[:, 1],
                            s, s**2]).astype(np.float32)

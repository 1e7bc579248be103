"""Structured meshes for verification problems: a strip along a curve (beams, columns, arches)
and a box of tetrahedra (patch tests). No gmsh: the node layout is exact and reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from physapp.core.mesh import CellBlock, MeshData


def strip_mesh(curve: Callable[[np.ndarray], np.ndarray], thickness: float, n_along: int,
               n_through: int) -> MeshData:
    """Triangles filling a strip of ``thickness`` centred on ``curve(s)`` (s in [0, 1] -> (2, n)
    points), offset along the curve's left normal. Regions: ``start`` and ``end`` (the end
    faces), ``lower`` / ``upper`` (the sides), point sets ``start_mid`` / ``end_mid`` / ``mid``
    (the node at the middle of each end face and at mid-length; odd ``n_through`` puts no node
    there, so use an even one)."""
    s = np.linspace(0.0, 1.0, n_along + 1)
    c = np.asarray(curve(s), dtype=float)
    ds = 1e-6
    tan = (np.asarray(curve(np.clip(s + ds, 0, 1))) - np.asarray(curve(np.clip(s - ds, 0, 1))))
    tan /= np.linalg.norm(tan, axis=0)
    nrm = np.stack([-tan[1], tan[0]])
    eta = np.linspace(-0.5, 0.5, n_through + 1) * thickness
    pts = (c[:, :, None] + nrm[:, :, None] * eta[None, None, :])  # (2, ns, nt)
    pts = pts.reshape(2, -1).T
    idx = np.arange((n_along + 1) * (n_through + 1)).reshape(n_along + 1, n_through + 1)
    a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    cc, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    # alternate the diagonal so the mesh has no preferred direction
    alt = (np.add.outer(np.arange(n_along), np.arange(n_through)) % 2 == 0).ravel()
    t1 = np.where(alt[:, None], np.stack([a, b, cc], 1), np.stack([a, b, d], 1))
    t2 = np.where(alt[:, None], np.stack([a, cc, d], 1), np.stack([b, cc, d], 1))
    tris = np.concatenate([t1, t2])
    seg = lambda nodes: np.stack([nodes[:-1], nodes[1:]], axis=1)  # noqa: E731
    boundaries = {"start": seg(idx[0]), "end": seg(idx[-1]), "lower": seg(idx[:, 0]),
                  "upper": seg(idx[:, -1])}
    mid_t = n_through // 2
    point_sets = {"start_mid": [idx[0, mid_t]], "end_mid": [idx[-1, mid_t]],
                  "mid": [idx[n_along // 2, mid_t]]}
    return MeshData(pts, (CellBlock("triangle", tris),), boundaries, {}, 2,
                    point_sets=point_sets)


def box_mesh(lo, hi, n: int) -> MeshData:
    """Tetrahedra (6 per cube) filling the box ``lo`` .. ``hi`` with ``n`` cells a side; regions
    ``xmin``, ``xmax``, ``ymin``, ``ymax``, ``zmin``, ``zmax``."""
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    g = [np.linspace(lo[i], hi[i], n + 1) for i in range(3)]
    X, Y, Z = np.meshgrid(*g, indexing="ij")
    pts = np.column_stack([X.ravel(), Y.ravel(), Z.ravel()])
    idx = np.arange((n + 1) ** 3).reshape(n + 1, n + 1, n + 1)
    v = [idx[i:n + i, j:n + j, k:n + k].ravel() for i in (0, 1) for j in (0, 1) for k in (0, 1)]
    # cube corners v[ijk]: Kuhn split into 6 tetrahedra along the 000-111 diagonal
    c = {(i, j, k): v[4 * i + 2 * j + k] for i in (0, 1) for j in (0, 1) for k in (0, 1)}
    paths = [((1, 0, 0), (1, 1, 0)), ((1, 0, 0), (1, 0, 1)), ((0, 1, 0), (1, 1, 0)),
             ((0, 1, 0), (0, 1, 1)), ((0, 0, 1), (1, 0, 1)), ((0, 0, 1), (0, 1, 1))]
    tets = np.concatenate([np.stack([c[0, 0, 0], c[p], c[q], c[1, 1, 1]], 1) for p, q in paths])
    faces = []
    for t in tets:
        for f in ((0, 1, 2), (0, 1, 3), (0, 2, 3), (1, 2, 3)):
            faces.append(t[list(f)])
    faces = np.sort(np.array(faces), axis=1)
    uniq, counts = np.unique(faces, axis=0, return_counts=True)
    bnd = uniq[counts == 1]
    P = pts[bnd]
    boundaries = {}
    for i, ax in enumerate("xyz"):
        boundaries[f"{ax}min"] = bnd[np.all(np.isclose(P[:, :, i], lo[i]), axis=1)]
        boundaries[f"{ax}max"] = bnd[np.all(np.isclose(P[:, :, i], hi[i]), axis=1)]
    return MeshData(pts, (CellBlock("tetra", tets),), boundaries, {}, 3)

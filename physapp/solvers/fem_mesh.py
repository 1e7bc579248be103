"""MeshData <-> scikit-fem meshes, and boundary-region lookup (shared by the FE solvers)."""

from __future__ import annotations

import numpy as np
import skfem

from physapp.core.errors import SolverError
from physapp.core.mesh import MeshData

#: linear cell type -> (skfem mesh class, P1 element, P2 element, number of corner nodes)
_KINDS = {
    "triangle": (skfem.MeshTri, skfem.ElementTriP1, skfem.ElementTriP2, 3),
    "tetra": (skfem.MeshTet, skfem.ElementTetP1, skfem.ElementTetP2, 4),
}
_LINEAR = {"triangle6": "triangle", "tetra10": "tetra"}


def fe_kind(mesh: MeshData) -> str:
    types = {_LINEAR.get(b.type, b.type) for b in mesh.cells}
    if len(types) != 1 or not types <= set(_KINDS):
        raise SolverError(
            f"The solver needs a mesh of triangles or tetrahedra only (got {', '.join(sorted(types))})."
        )
    return types.pop()


def scalar_element(mesh: MeshData, order: int) -> skfem.Element:
    if order not in (1, 2):
        raise SolverError(f"Element order must be 1 or 2 (got {order}).")
    kind = _KINDS[fe_kind(mesh)]
    return kind[1]() if order == 1 else kind[2]()


def to_skfem(mesh: MeshData) -> skfem.Mesh:
    """Linear cells of ``mesh`` as a scikit-fem mesh with positive orientation.

    Raises SolverError for degenerate cells; cells with negative orientation are reordered.
    """
    kind = fe_kind(mesh)
    cls, _, _, nc = _KINDS[kind]
    t = np.concatenate([np.asarray(b.connectivity)[:, :nc] for b in mesh.cells]).copy()
    dim = nc - 1
    p = mesh.points[:, :dim]
    edges = np.stack([p[t[:, k]] - p[t[:, 0]] for k in range(1, nc)], axis=1)  # (n, dim, dim)
    vol = np.linalg.det(edges)
    scale = np.ptp(p, axis=0).max() ** dim
    bad = np.abs(vol) <= 1e-13 * scale
    if np.any(bad):
        raise SolverError(
            f"The mesh has {int(bad.sum())} degenerate (zero-{'area' if dim == 2 else 'volume'}) "
            "cells; remesh or repair the file."
        )
    flip = vol < 0
    t[flip, 1], t[flip, 2] = t[flip, 2], t[flip, 1].copy()
    return cls(np.ascontiguousarray(p.T), np.ascontiguousarray(t.T))


def region_facets(m: skfem.Mesh, mesh: MeshData, region: str) -> np.ndarray:
    """Indices of skfem facets matching the facets of a named boundary region."""
    if region not in mesh.boundaries:
        known = ", ".join(mesh.boundaries) or "none"
        raise SolverError(f"No boundary region named '{region}' (regions: {known}).")
    k = m.facets.shape[0]
    facets = np.sort(m.facets, axis=0).T
    query = np.sort(np.asarray(mesh.boundaries[region])[:, :k], axis=1)
    _, ids = np.unique(np.concatenate([facets, query]), axis=0, return_inverse=True)
    ids = ids.ravel()
    where = np.full(ids.max() + 1, -1, dtype=np.int64)
    where[ids[: len(facets)]] = np.arange(len(facets))
    found = where[ids[len(facets):]]
    if np.any(found < 0):
        raise SolverError(f"Region '{region}' has facets that are not on the mesh boundary.")
    return found


def symmetry_component(points: np.ndarray, facets: np.ndarray, region: str) -> int:
    """The axis (0, 1, 2) normal to the flat boundary region ``facets`` (segments or triangles).

    Raises SolverError when the region is not a plane normal to a coordinate axis.
    """
    facets = np.asarray(facets)
    p = np.asarray(points, dtype=float)
    if facets.shape[1] == 2:
        t = p[facets[:, 1], :2] - p[facets[:, 0], :2]
        n = np.column_stack([-t[:, 1], t[:, 0]])
    else:
        p3 = np.zeros((len(p), 3))
        p3[:, : p.shape[1]] = p
        n = np.cross(p3[facets[:, 1]] - p3[facets[:, 0]], p3[facets[:, 2]] - p3[facets[:, 0]])
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
    axis = int(np.argmax(np.abs(n).sum(axis=0)))
    if len(n) == 0 or np.min(np.abs(n[:, axis])) < 1.0 - 1e-6:
        raise SolverError(
            f"Symmetry region '{region}' is not a plane normal to the x, y or z axis; use a "
            "fixed or per-component support instead."
        )
    return axis

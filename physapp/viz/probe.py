"""Point location and barycentric interpolation on a mesh (numpy/scipy only: no Qt, no VTK).

Every cell is cut into linear simplices whose corners are nodes of the mesh, so interpolating with
barycentric weights uses the nodal values as they are: triangle6 -> 4 triangles through the
mid-side nodes (as the viewport draws them), quads -> 2 triangles, tetra10 -> 8 tetrahedra through
the mid-edge nodes, hexahedra -> 6, wedges -> 3, pyramids -> 2 tetrahedra (their higher-order
variants by their corners). A field that is linear in space is therefore reproduced exactly.

2D meshes are located in their x-y plane (z is ignored); 3D meshes in space. Points outside the
part get NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult

# meshio node order of triangle6: corners 0 1 2, mid-sides 3 (0-1), 4 (1-2), 5 (2-0)
_TRI6 = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2], [3, 4, 5]])
# tetra10 (meshio/VTK): corners 0-3, mid-edges 4 (0-1), 5 (1-2), 6 (0-2), 7 (0-3), 8 (1-3), 9 (2-3)
_TET10 = np.array([[0, 4, 6, 7], [4, 1, 5, 8], [6, 5, 2, 9], [7, 8, 9, 3],
                   [4, 5, 6, 8], [4, 6, 7, 8], [6, 5, 9, 8], [6, 9, 7, 8]])
_QUAD = np.array([[0, 1, 2], [0, 2, 3]])
_HEX = np.array([[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6],
                 [0, 5, 1, 6]])
_WEDGE = np.array([[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]])
_PYRAMID = np.array([[0, 1, 2, 4], [0, 2, 3, 4]])

_SPLITS: dict[str, np.ndarray | None] = {
    "triangle": None, "triangle6": _TRI6, "quad": _QUAD, "quad8": _QUAD, "quad9": _QUAD,
    "tetra": None, "tetra10": _TET10, "hexahedron": _HEX, "hexahedron20": _HEX,
    "hexahedron27": _HEX, "wedge": _WEDGE, "wedge15": _WEDGE, "pyramid": _PYRAMID,
    "pyramid13": _PYRAMID,
}

#: a point counts as inside a simplex when no barycentric weight is below -TOL
TOL = 1e-9


def simplices(mesh: MeshData) -> np.ndarray:
    """The mesh's cells as linear simplices ``(m, dim + 1)`` of node indices."""
    parts = []
    for block in mesh.cells:
        conn = block.connectivity
        split = _SPLITS.get(block.type, False)
        if split is False:
            raise ValueError(f"cannot interpolate in cells of type {block.type!r}")
        if split is None:
            parts.append(conn[:, : mesh.dim + 1])
        else:
            parts.append(conn[:, split].reshape(-1, split.shape[1]))
    return np.concatenate(parts).astype(np.int64)


@dataclass(frozen=True)
class Location:
    """Where points lie: ``simplex`` index per point (-1 outside), ``nodes`` ``(m, d+1)`` and
    barycentric ``weights`` ``(m, d+1)`` (zero rows outside)."""

    simplex: np.ndarray
    nodes: np.ndarray
    weights: np.ndarray

    @property
    def inside(self) -> np.ndarray:
        return self.simplex >= 0

    def interpolate(self, values: np.ndarray) -> np.ndarray:
        """Nodal ``values`` ``(n,)`` or ``(n, k)`` at the located points; NaN outside."""
        v = np.asarray(values, dtype=np.float64)
        w = self.weights if v.ndim == 1 else self.weights[:, :, None]
        out = np.sum(v[self.nodes] * w, axis=1)
        out[~self.inside] = np.nan
        return out

    def scalar(self, result: FieldResult, name: str) -> np.ndarray:
        """Field ``name`` of ``result`` read as :meth:`FieldResult.scalar` reads it (a vector by
        its magnitude at the nodes, ``name[i]`` a component), interpolated at the located points.
        Reads only the nodes of the located simplices: cheap enough for every frame."""
        base, _, idx = name.partition("[")
        arr = result.point_data[name if name in result.point_data else base]
        at = np.asarray(arr[self.nodes], dtype=np.float64)  # (m, d+1) or (m, d+1, k)
        if name not in result.point_data:
            at = at[..., int(idx.rstrip("]"))]
        elif at.ndim == 3:
            at = np.sqrt((at**2).sum(-1))
        out = np.sum(at * self.weights, axis=1)
        out[~self.inside] = np.nan
        return out


class Locator:
    """Finds the simplex holding a point: a k-d tree of simplex centroids proposes candidates,
    barycentric coordinates decide. ``points`` overrides the node coordinates (e.g. a deformed
    shape with the same connectivity)."""

    def __init__(self, mesh: MeshData, points: np.ndarray | None = None) -> None:
        self.dim = 2 if mesh.dim < 3 else 3
        pts = np.asarray(mesh.points if points is None else points, dtype=np.float64)
        self.points = pts[:, : self.dim]
        self.simplices = simplices(mesh)
        corners = self.points[self.simplices]  # (m, d+1, d)
        self.centroids = corners.mean(axis=1)
        self.radius = float(np.sqrt(((corners - self.centroids[:, None]) ** 2).sum(-1)).max())
        # x = x0 + J lambda' -> lambda' = J^-1 (x - x0); degenerate simplices are never chosen
        jac = np.swapaxes(corners[:, 1:] - corners[:, :1], 1, 2)  # (m, d, d)
        det = np.linalg.det(jac)
        ok = np.abs(det) > 1e-300
        self._inv = np.zeros_like(jac)
        self._inv[ok] = np.linalg.inv(jac[ok])
        self._origin = corners[:, 0]
        self._ok = ok
        from scipy.spatial import cKDTree  # here: ~0.3 s that start-up need not pay (#13)

        self._tree = cKDTree(self.centroids)
        self.lo, self.hi = self.points.min(axis=0), self.points.max(axis=0)

    def _bary(self, idx: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Barycentric coordinates ``(..., d+1)`` of points ``x`` in simplices ``idx``."""
        lam = np.einsum("...ij,...j->...i", self._inv[idx], x - self._origin[idx])
        bary = np.concatenate([1.0 - lam.sum(-1, keepdims=True), lam], axis=-1)
        bary[~self._ok[idx]] = -np.inf
        return bary

    def locate(self, points: np.ndarray, *, nearest: bool = False) -> Location:
        """Locate ``points`` ``(m, 3)`` (or ``(m, dim)``). With ``nearest`` a point just outside
        (e.g. a pick on the surface, off by round-off) goes to the closest simplex instead."""
        x = np.atleast_2d(np.asarray(points, dtype=np.float64))[:, : self.dim]
        m = len(x)
        simplex = np.full(m, -1, dtype=np.int64)
        weights = np.zeros((m, self.dim + 1))
        best = np.full(m, -np.inf)
        span = float(np.max(self.hi - self.lo)) or 1.0
        tol = TOL * 1e3 if nearest else TOL
        near = np.all((x >= self.lo - 1e-9 * span) & (x <= self.hi + 1e-9 * span), axis=1)
        todo = np.flatnonzero(near & np.all(np.isfinite(x), axis=1))
        if len(todo):  # a few nearest centroids settle almost every point
            k = min(8, len(self.centroids))
            _, cand = self._tree.query(x[todo], k=k)
            cand = cand.reshape(len(todo), k)
            bary = self._bary(cand, x[todo][:, None, :])
            score = bary.min(-1)
            j = score.argmax(1)
            rows = np.arange(len(todo))
            s = score[rows, j]
            simplex[todo], weights[todo], best[todo] = cand[rows, j], bary[rows, j], s
            todo = todo[s < -tol]
        for i in todo:  # the rest: every simplex whose centroid is close enough to hold x
            cand = np.asarray(self._tree.query_ball_point(x[i], self.radius * (1 + 1e-9)))
            if len(cand) == 0:
                continue
            bary = self._bary(cand, x[i][None, :])
            score = bary.min(-1)
            j = int(score.argmax())
            if score[j] > best[i]:
                simplex[i], weights[i], best[i] = cand[j], bary[j], score[j]
        outside = best < -tol
        if nearest:  # snap: clip the weights onto the simplex
            w = np.clip(weights, 0.0, None)
            total = w.sum(1, keepdims=True)
            weights = np.where(total > 0, w / np.where(total > 0, total, 1.0), weights)
            outside = ~np.isfinite(best) | (best < -0.05)
        simplex[outside] = -1
        weights[outside] = 0.0
        nodes = self.simplices[np.maximum(simplex, 0)]
        return Location(simplex, nodes, weights)


def interpolate(mesh: MeshData, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Nodal ``values`` of ``mesh`` interpolated at ``points``; NaN outside the mesh."""
    return Locator(mesh).locate(points).interpolate(values)


@dataclass(frozen=True)
class LineSamples:
    """Points along a segment: ``distance`` from the start ``(m,)``, ``points`` ``(m, 3)`` and
    the sampled ``values`` by field name (NaN outside the part)."""

    distance: np.ndarray
    points: np.ndarray
    values: Mapping[str, np.ndarray]


def line_points(start, end, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` equally spaced points from ``start`` to ``end`` (both included) and their distance
    from ``start``."""
    a = np.zeros(3)
    b = np.zeros(3)
    a[: len(start)] = start
    b[: len(end)] = end
    t = np.linspace(0.0, 1.0, max(int(n), 2))
    return a + t[:, None] * (b - a), t * float(np.linalg.norm(b - a))


def sample_line(result: FieldResult, names, start, end, n: int = 200,
                locator: Locator | None = None) -> LineSamples:
    """Scalar fields ``names`` (as :meth:`FieldResult.scalar` reads them, SI units) of ``result``
    at ``n`` points from ``start`` to ``end`` (model coordinates)."""
    pts, dist = line_points(start, end, n)
    loc = (locator or Locator(result.mesh)).locate(pts)
    values = {name: loc.interpolate(result.scalar(name)) for name in names}
    return LineSamples(dist, pts, values)


def probe(result: FieldResult, names, point, locator: Locator | None = None,
          *, nearest: bool = True) -> dict[str, float]:
    """Scalar fields ``names`` of ``result`` at one ``point`` (NaN when outside the part)."""
    loc = (locator or Locator(result.mesh)).locate(np.asarray(point, dtype=float)[None],
                                                  nearest=nearest)
    return {name: float(loc.scalar(result, name)[0]) for name in names}

"""Finite-element interpolation of nodal fields from one mesh to the points of another.

Used by the compare view: a surrogate predicts on *its* mesh (a morph of the reference mesh it was
trained on) while the reference solver meshes each design afresh, so the two results have
different nodes. To compare them node by node, the surrogate's fields are evaluated at the nodes of
the solver's mesh with the surrogate mesh's own shape functions (see :func:`field_difference`).

How a point is evaluated
------------------------
1. *Locate.* Every source cell is a simplex (triangle or tetrahedron; quads are split into two
   triangles and hexahedra into six tetrahedra through their corner nodes, which makes their
   interpolation piecewise linear). A ``scipy.spatial.cKDTree`` on the cell centroids gives each
   target point its ``k`` nearest cells as candidates; the barycentric coordinates
   ``lambda = T^-1 (x - v0)`` of the point in all candidates are computed at once (``T^-1`` is
   precomputed per cell), and the first candidate with every ``lambda >= -tol`` holds the point.
   Points not found among 8 candidates are searched again among 32; the few left (next to thin
   cells) walk from their best candidate through the cell facets (neighbour table) towards the
   point. A walk that ends at the boundary means the point is outside, usually just beyond the
   facet it stopped at; only when it is farther than a quarter of that cell's size (a concave
   boundary may have stopped the walk) are all cells whose centroid can reach it tested.
2. *Outside.* A point in no cell (a curved boundary discretised differently, or a predicted
   geometry that differs slightly from the solved one) is evaluated at the closest point of the
   nearest candidate cell (exact projection onto that cell's vertices, edges and faces; its
   barycentric coordinates are then all >= 0): constant extrapolation from the boundary.
   Points within ``snap`` (default 1e-6 of the mesh size: rounding, float32 coordinates) are on
   the boundary; farther ones are counted in :attr:`Location.n_outside`, and
   :attr:`Location.distance` says how far each was.
3. *Evaluate.* P1 cells (``triangle``, ``tetra``): ``sum_i lambda_i u_i``. P2 cells
   (``triangle6``, ``tetra10``, meshio node order; every P2 node carries a nodal value in
   :class:`~physapp.core.results.FieldResult`): vertex functions ``lambda_i (2 lambda_i - 1)``
   and edge functions ``4 lambda_a lambda_b``. This is exact for straight-sided P2 cells (mid-side
   nodes at edge midpoints, as the solver writes them); a mesh mixing P1 and P2 blocks is
   evaluated with its corner nodes only.

Vectorised with numpy and worked in chunks of points; 100k target points in a 130k-cell mesh take
about a second (plus ~0.3 s once for the neighbour table when walks are needed). Pure numpy/scipy: no VTK, no Qt (callable from any thread).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult

#: local vertex pairs of the edge nodes (meshio / VTK order)
_TRI6_EDGES = np.array([[0, 1], [1, 2], [2, 0]])
_TET10_EDGES = np.array([[0, 1], [1, 2], [2, 0], [0, 3], [1, 3], [2, 3]])
#: corner-node splits of non-simplex cells into simplices
_QUAD_SPLIT = np.array([[0, 1, 2], [0, 2, 3]])
_HEX_SPLIT = np.array([[0, 1, 2, 6], [0, 2, 3, 6], [0, 3, 7, 6], [0, 7, 4, 6], [0, 4, 5, 6],
                       [0, 5, 1, 6]])
_SIMPLEX_P1 = {"triangle": 3, "tetra": 4}
_SIMPLEX_P2 = {"triangle6": ("triangle", _TRI6_EDGES), "tetra10": ("tetra", _TET10_EDGES)}
_SPLIT = {"quad": _QUAD_SPLIT, "quad8": _QUAD_SPLIT, "quad9": _QUAD_SPLIT,
          "hexahedron": _HEX_SPLIT, "hexahedron20": _HEX_SPLIT, "hexahedron27": _HEX_SPLIT}
#: candidate cells tried per point, in rounds (only points still unfound go to the next round)
_ROUNDS = (8, 32)
_CHUNK = 16_384


@dataclass(frozen=True)
class Location:
    """Where target points lie in a source mesh.

    ``cells``: index of the (simplex) cell used per point; ``bary``: its ``(m, dim + 1)``
    barycentric coordinates (clamped to the cell for points outside); ``outside``: points found
    in no cell and farther than ``snap`` from the mesh; ``distance``: distance from each point
    to where it was evaluated (0 inside).
    """

    cells: np.ndarray
    bary: np.ndarray
    outside: np.ndarray
    distance: np.ndarray

    @property
    def n_points(self) -> int:
        return int(self.cells.shape[0])

    @property
    def n_outside(self) -> int:
        return int(np.count_nonzero(self.outside))

    @property
    def max_distance(self) -> float:
        return float(self.distance.max()) if self.distance.size else 0.0


class MeshInterpolator:
    """Evaluates nodal fields of ``mesh`` at arbitrary points (see the module docstring).

    ``tol``: how far below zero a barycentric coordinate may be for a point to count as inside
    (relative to the cell, so points on shared faces are found in either neighbour). ``snap``:
    points outside the cells by less than this fraction of the mesh's bounding-box diagonal are
    on the boundary (evaluated there and not counted as outside).
    """

    def __init__(self, mesh: MeshData, tol: float = 1e-9, snap: float = 1e-6) -> None:
        self.mesh = mesh
        self.dim = int(mesh.dim)
        if self.dim not in (2, 3):
            raise ValueError(f"cannot interpolate on a mesh of dimension {self.dim}")
        self.tol = float(tol)
        corners, nodes, orders = [], [], set()
        for block in mesh.cells:
            conn = block.connectivity
            if block.type in _SIMPLEX_P1:
                corners.append(conn)
                nodes.append(conn)
                orders.add(1)
            elif block.type in _SIMPLEX_P2:
                _, edges = _SIMPLEX_P2[block.type]
                corners.append(conn[:, : self.dim + 1])
                nodes.append(conn)
                orders.add(2)
            elif block.type in _SPLIT:
                split = conn[:, _SPLIT[block.type]].reshape(-1, _SPLIT[block.type].shape[1])
                corners.append(split)
                nodes.append(split)
                orders.add(1)
            else:
                raise ValueError(f"cannot interpolate on cells of type {block.type!r}")
        self.corners = np.concatenate(corners).astype(np.int64)
        if self.corners.shape[1] != self.dim + 1:
            raise ValueError("cells do not match the mesh dimension")
        #: 2 when every cell is P2 (values at vertices and edge midpoints), else 1
        self.order = 2 if orders == {2} else 1
        self.nodes = np.concatenate(nodes).astype(np.int64) if self.order == 2 else self.corners
        self._edges = _TRI6_EDGES if self.dim == 2 else _TET10_EDGES
        pts = np.asarray(mesh.points, dtype=np.float64)[:, : self.dim]
        verts = pts[self.corners]  # (n, d+1, d)
        self._v0 = verts[:, 0, :]
        t = np.transpose(verts[:, 1:, :] - verts[:, :1, :], (0, 2, 1))  # columns v_i - v0
        det = np.linalg.det(t)
        scale = np.max(np.abs(t), axis=(1, 2)) ** self.dim
        good = np.abs(det) > 1e-12 * np.maximum(scale, 1e-300)
        tinv = np.zeros_like(t)
        tinv[good] = np.linalg.inv(t[good])
        self._tinv = tinv
        self._nbr: np.ndarray | None = None  # cell neighbours, built on first need
        self._degenerate = ~good
        centroids = verts.mean(axis=1)
        self._tree = cKDTree(centroids)
        #: centroid-to-vertex distance per cell, and the largest: no cell reaches farther
        self._cell_reach = np.linalg.norm(verts - centroids[:, None, :], axis=2).max(axis=1)
        self._reach = float(self._cell_reach.max())
        #: points this close to the mesh count as on its boundary, not outside (rounding, float32
        #: coordinates of predicted geometries)
        self.snap = float(snap) * float(np.linalg.norm(np.ptp(pts, axis=0)))

    @property
    def n_cells(self) -> int:
        return int(self.corners.shape[0])

    # -- locating -------------------------------------------------------------------------------
    def locate(self, points: np.ndarray) -> Location:
        """Find the cell and barycentric coordinates of each of ``points`` (``(m, 2 or 3)``)."""
        x = np.asarray(points, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] < self.dim:
            raise ValueError(f"points must be (m, >= {self.dim})")
        x = np.ascontiguousarray(x[:, : self.dim])
        m = x.shape[0]
        cells = np.full(m, -1, dtype=np.int64)
        bary = np.zeros((m, self.dim + 1))
        outside = np.zeros(m, dtype=bool)
        distance = np.zeros(m)
        for start in range(0, m, _CHUNK):
            sl = slice(start, min(start + _CHUNK, m))
            c, b, o, d = self._locate_chunk(x[sl])
            cells[sl], bary[sl], outside[sl], distance[sl] = c, b, o, d
        return Location(cells, bary, outside, distance)

    def _bary(self, x: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """Barycentric coordinates ``(m, k, d+1)`` of points ``x`` (m, d) in cells ``cand``."""
        rel = x[:, None, :] - self._v0[cand]
        lam = np.einsum("mkij,mkj->mki", self._tinv[cand], rel)
        lam0 = 1.0 - lam.sum(axis=2, keepdims=True)
        out = np.concatenate([lam0, lam], axis=2)
        out[self._degenerate[cand]] = -np.inf  # never "inside"; clamped to a vertex below
        return out

    def _neighbours(self) -> np.ndarray:
        """``(n_cells, d+1)``: the cell across the facet opposite each vertex (-1: boundary)."""
        if self._nbr is None:
            n, nv = self.corners.shape
            facets = np.stack([np.delete(self.corners, j, axis=1) for j in range(nv)], axis=1)
            keys = np.sort(facets.reshape(-1, nv - 1), axis=1)
            if self.mesh.n_points < 2**21:  # one int64 per facet: a 1D unique is much faster
                keys = sum(keys[:, i] << (21 * (nv - 2 - i)) for i in range(nv - 1))
            _, inv, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
            inv = inv.ravel()
            order = np.argsort(inv, kind="stable")
            nbr = np.full(n * nv, -1, dtype=np.int64)
            shared = counts[inv[order]] == 2
            first = order[shared][0::2]
            second = order[shared][1::2]
            nbr[first], nbr[second] = second // nv, first // nv
            self._nbr = nbr.reshape(n, nv)
        return self._nbr

    def _walk(self, x: np.ndarray, start: np.ndarray, steps: int = 64):
        """Walk from ``start`` cells towards ``x`` across the facet of the most negative
        barycentric coordinate. Returns (cell, lam, found) per point."""
        nbr = self._neighbours()
        cur = start.copy()
        lam = self._bary(x, cur[:, None])[:, 0]
        found = lam.min(axis=1) >= -self.tol
        active = ~found
        for _ in range(steps):
            if not active.any():
                break
            idx = np.flatnonzero(active)
            nxt = nbr[cur[idx], np.argmin(lam[idx], axis=1)]
            stuck = nxt < 0  # left the mesh here: outside, or a concave boundary in the way
            active[idx[stuck]] = False
            idx, nxt = idx[~stuck], nxt[~stuck]
            cur[idx] = nxt
            lam[idx] = self._bary(x[idx], nxt[:, None])[:, 0]
            hit = lam[idx].min(axis=1) >= -self.tol
            found[idx[hit]] = True
            active[idx[hit]] = False
        return cur, lam, found

    def _locate_chunk(self, x: np.ndarray):
        m = x.shape[0]
        cells = np.full(m, -1, dtype=np.int64)
        bary = np.zeros((m, self.dim + 1))
        todo = np.arange(m)
        n_cells = self.n_cells
        last_cand = last_lam = None
        for k in _ROUNDS:
            k = min(k, n_cells)
            _, cand = self._tree.query(x[todo], k=k)
            cand = cand.reshape(len(todo), k)
            lam = self._bary(x[todo], cand)
            inside = lam.min(axis=2) >= -self.tol
            found = inside.any(axis=1)
            first = np.argmax(inside, axis=1)
            idx = todo[found]
            cells[idx] = cand[found, first[found]]
            bary[idx] = lam[found, first[found]]
            last_cand, last_lam = cand[~found], lam[~found]
            todo = todo[~found]
            if todo.size == 0 or k == n_cells:
                break
        outside = np.zeros(m, dtype=bool)
        distance = np.zeros(m)
        if todo.size and n_cells > _ROUNDS[-1]:
            # thin cells (slivers) can hold a point whose nearest centroids are all elsewhere:
            # walk there from the best candidate, through the facets
            rows = np.arange(todo.size)
            start = last_cand[rows, np.argmax(last_lam.min(axis=2), axis=1)]
            cur, lam, found = self._walk(x[todo], start)
            cells[todo[found]], bary[todo[found]] = cur[found], lam[found]
            todo = todo[~found]
            # the walk ended at the boundary: the point is outside, usually just beyond the
            # facet it stopped at; the closest point of that cell and of the nearest ones
            near = np.column_stack([cur[~found], last_cand[~found][:, :3]])
            last_cand = near
        if todo.size:
            lam, dist = self._closest(x[todo], last_cand)
            rows = np.arange(todo.size)
            best = np.argmin(dist, axis=1)
            cell, d = last_cand[rows, best], dist[rows, best]
            cells[todo], bary[todo], distance[todo] = cell, lam[rows, best], d
            outside[todo] = d > self.snap  # within snap: on the boundary, counted inside
            if n_cells > _ROUNDS[-1]:
                # far beyond that boundary: a concave boundary may have stopped the walk while
                # the point is inside elsewhere; every cell whose centroid is close enough to
                # reach it is a candidate (rare: re-entrant corners, points far outside)
                far = todo[d > 0.25 * self._cell_reach[cell]]
                for i, cand in zip(far, self._tree.query_ball_point(x[far], self._reach),
                                   strict=True):
                    cand = np.asarray(cand, dtype=np.int64)
                    lam_i = self._bary(x[i][None, :], cand[None, :])[0]
                    inside = np.flatnonzero(lam_i.min(axis=1) >= -self.tol)
                    if inside.size:
                        cells[i], bary[i] = cand[inside[0]], lam_i[inside[0]]
                        outside[i], distance[i] = False, 0.0
        return cells, bary, outside, distance

    def _closest(self, x: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Closest point of each candidate cell to ``x``: its barycentric coordinates
        ``(m, k, d+1)`` (all >= 0) and distance ``(m, k)``. Exact: the point is the orthogonal
        projection onto the vertex, edge, face or cell whose projection lies inside it (every
        sub-simplex is tried; the nearest valid one wins)."""
        pts = self.mesh.points[:, : self.dim]
        verts = pts[self.corners[cand]]  # (m, k, d+1, d)
        m, k, nv, _ = verts.shape
        best_lam = np.zeros((m, k, nv))
        best_d = np.full((m, k), np.inf)
        for size in range(1, nv + 1):
            for subset in itertools.combinations(range(nv), size):
                p0 = verts[:, :, subset[0], :]
                rel = x[:, None, :] - p0
                lam = np.zeros((m, k, nv))
                if size == 1:
                    lam[..., subset[0]] = 1.0
                    dist, ok = np.linalg.norm(rel, axis=2), np.ones((m, k), dtype=bool)
                else:
                    e = verts[:, :, list(subset[1:]), :] - p0[:, :, None, :]  # (m,k,s-1,d)
                    gram = np.einsum("mkid,mkjd->mkij", e, e)
                    det = np.linalg.det(gram)
                    ok = np.abs(det) > 1e-24 * np.einsum("mkii->mk", gram) ** (size - 1)
                    gram[~ok] = np.eye(size - 1)
                    mu = np.linalg.solve(gram, np.einsum("mkid,mkd->mki", e, rel)[..., None])[..., 0]
                    lam[..., subset[0]] = 1.0 - mu.sum(axis=2)
                    lam[..., list(subset[1:])] = mu
                    ok &= (lam[..., list(subset)] >= -1e-12).all(axis=2)
                    foot = p0 + np.einsum("mki,mkid->mkd", mu, e)
                    dist = np.linalg.norm(x[:, None, :] - foot, axis=2)
                better = ok & (dist < best_d)
                best_d = np.where(better, dist, best_d)
                best_lam[better] = lam[better]
        best_lam = np.clip(best_lam, 0.0, None)
        best_lam /= best_lam.sum(axis=2, keepdims=True)
        return best_lam, best_d

    # -- evaluating -----------------------------------------------------------------------------
    def shape_values(self, loc: Location) -> np.ndarray:
        """Shape-function values ``(m, nodes per cell)`` at located points (P1 or P2)."""
        lam = loc.bary
        if self.order == 1:
            return lam
        a, b = self._edges[:, 0], self._edges[:, 1]
        return np.concatenate([lam * (2.0 * lam - 1.0), 4.0 * lam[:, a] * lam[:, b]], axis=1)

    def evaluate(self, values: np.ndarray, where: Location | np.ndarray) -> np.ndarray:
        """Field ``values`` (nodal, ``(n,)`` or ``(n, k)``) at ``where`` (points or a
        :class:`Location`); float64."""
        loc = where if isinstance(where, Location) else self.locate(where)
        vals = np.asarray(values, dtype=np.float64)
        if vals.shape[0] != self.mesh.n_points:
            raise ValueError(f"{vals.shape[0]} values for {self.mesh.n_points} nodes")
        n = self.shape_values(loc)
        local = vals[self.nodes[loc.cells]]  # (m, nodes[, k])
        if vals.ndim == 1:
            return np.einsum("mj,mj->m", n, local)
        return np.einsum("mj,mjk->mk", n, local)


def interpolate_result(source: FieldResult, target: MeshData,
                       names: Iterable[str] | None = None,
                       interpolator: MeshInterpolator | None = None
                       ) -> tuple[FieldResult, Location]:
    """``source``'s fields (all, or ``names``) evaluated at the nodes of ``target``: a
    FieldResult on ``target`` (same units and meta, source ``"<source> interpolated"``) and the
    :class:`Location` of the target nodes (``n_outside`` points were outside ``source``'s mesh).
    """
    interp = interpolator or MeshInterpolator(source.mesh)
    loc = interp.locate(target.points)
    keep = list(source.point_data) if names is None else list(names)
    data = {n: interp.evaluate(source.point_data[n], loc) for n in keep}
    meta = dict(source.meta, interpolated_from=source.source, n_outside=loc.n_outside)
    return (FieldResult(target, data, f"{source.source} interpolated", meta,
                        {n: source.units.get(n, "") for n in keep}), loc)


def same_mesh(a: MeshData, b: MeshData, rtol: float = 1e-9) -> bool:
    """True when two meshes have the same nodes (to ``rtol`` of the size) and cells: their
    nodal values can be compared without interpolation."""
    if a is b:
        return True
    if a.n_points != b.n_points or len(a.cells) != len(b.cells):
        return False
    if any(x.type != y.type or x.connectivity.shape != y.connectivity.shape
           or not np.array_equal(x.connectivity, y.connectivity)
           for x, y in zip(a.cells, b.cells, strict=True)):
        return False
    size = float(np.ptp(b.points, axis=0).max()) or 1.0
    return bool(np.abs(a.points - b.points).max() <= rtol * size)


@dataclass(frozen=True)
class Difference:
    """A surrogate-minus-reference comparison on the reference mesh (see
    :func:`field_difference`)."""

    surrogate: np.ndarray  # S at the reference nodes (the scalar shown)
    reference: np.ndarray  # R at the reference nodes
    values: np.ndarray  # S - R, or |S - R| / max|R| when relative
    relative: bool
    n_outside: int  # reference nodes outside the surrogate's mesh (evaluated at its boundary)
    interpolated: bool  # False when both results share the mesh (no interpolation needed)


def field_difference(surrogate: FieldResult, reference: FieldResult, name: str, *,
                     relative: bool = False,
                     on_reference: FieldResult | None = None) -> Difference:
    """Surrogate minus reference of field ``name`` (``"von_mises"``, ``"displacement"`` as
    magnitude, ``"displacement[1]"``), **on the reference mesh**.

    The two results live on different meshes (the surrogate on a morph of its training mesh, the
    solver on a fresh mesh of this design). The comparison is made at the reference solver's
    nodes, because the reference is the truth being compared against and its nodes are where its
    values are exact: the surrogate's fields (all components of the base field) are
    interpolated to those nodes with the shape functions of the surrogate's own cells
    (:class:`MeshInterpolator`: P1 or P2), the scalar shown is formed from them (the magnitude
    of an interpolated vector, not an interpolated magnitude), and ``S - R`` is taken node by
    node. So the difference pane shows ``S - R`` on the reference geometry and a peak of the
    difference sits where the reference has a node. With ``relative``, the values are
    ``|S - R| / max|R|`` (dimensionless; times 100 for per cent), which stays meaningful where
    ``R`` itself passes through zero. Reference nodes outside the surrogate's (predicted)
    geometry are evaluated at the nearest point of its boundary; ``n_outside`` counts them.
    When both meshes are the same (same cells and nodes) no interpolation is done.
    ``on_reference``: the surrogate already interpolated to the reference mesh (from
    :func:`interpolate_result`), to reuse one location for several fields.
    """
    base = name.partition("[")[0]
    if on_reference is None:
        if same_mesh(surrogate.mesh, reference.mesh):
            on_reference, n_out, interpolated = surrogate, 0, False
        else:
            on_reference, loc = interpolate_result(surrogate, reference.mesh, [base])
            n_out, interpolated = loc.n_outside, True
    else:
        n_out = int(on_reference.meta.get("n_outside", 0))
        interpolated = on_reference is not surrogate
    s = scalar_values(on_reference, name)
    r = scalar_values(reference, name)
    if relative:
        scale = float(np.abs(r).max())
        values = np.abs(s - r) / (scale if scale > 0 else 1.0)
    else:
        values = s - r
    return Difference(s, r, values, relative, n_out, interpolated)


def scalar_values(result: FieldResult, name: str) -> np.ndarray:
    """The scalar of ``name`` in float64 (components as ``name[i]``, vectors as magnitude)."""
    base, _, idx = name.partition("[")
    arr = np.asarray(result.point_data[base], dtype=np.float64)
    if idx:
        return arr[:, int(idx.rstrip("]"))]
    return arr if arr.ndim == 1 else np.linalg.norm(arr, axis=1)

"""What a mesh-agnostic surrogate reads of a mesh, without torch: boundary facets and nodes,
points on the boundary, the lumped nodal measure, the inside test and signed distance of
:class:`MeshGeometry`, and the probe grid of the geometry encoding (see
:mod:`physapp.surrogates.models.mesh_agnostic`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from physapp.core.mesh import MeshData
from physapp.core.regions import CORNERS, FACETS, _cells_geometry


def boundary_facets(mesh: MeshData) -> list[np.ndarray]:
    """Corner-node facets that belong to exactly one domain cell (vectorised), one array per
    facet size."""
    groups: dict[int, list[np.ndarray]] = {}
    for block in mesh.cells:
        base = block.type.rstrip("0123456789")
        conn = block.connectivity[:, : CORNERS[base]]
        for face in FACETS[base]:
            groups.setdefault(len(face), []).append(conn[:, list(face)])
    out = []
    for faces in groups.values():
        f = np.concatenate(faces)
        _, first, counts = np.unique(np.sort(f, axis=1), axis=0, return_index=True,
                                     return_counts=True)
        out.append(f[first[counts == 1]])
    return out


def boundary_node_ids(mesh: MeshData) -> np.ndarray:
    """Corner nodes of the boundary facets (every node when there are none)."""
    ids = [f.ravel() for f in boundary_facets(mesh)]
    out = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    return out if len(out) else np.arange(mesh.n_points)


def boundary_samples(mesh: MeshData, dim: int) -> np.ndarray:
    """Points on the boundary: the corner nodes and, on every facet, points between them (so
    distances to the boundary depend little on the element size)."""
    pts = np.asarray(mesh.points, np.float64)[:, :dim]
    out = [pts[boundary_node_ids(mesh)]]
    for f in boundary_facets(mesh):
        p = pts[f]  # (m, k, dim)
        if f.shape[1] == 2:
            for t in (0.25, 0.5, 0.75):
                out.append((1 - t) * p[:, 0] + t * p[:, 1])
        else:
            out.append(p.mean(1))
            for a in range(f.shape[1]):
                out.append(0.5 * (p[:, a] + p[:, (a + 1) % f.shape[1]]))
    return np.concatenate(out)


def nodal_measure(mesh: MeshData) -> np.ndarray:
    """Lumped nodal area/volume: each cell's measure shared equally by its nodes."""
    vols, _ = _cells_geometry(mesh)
    out = np.zeros(mesh.n_points)
    start = 0
    for block in mesh.cells:
        conn = block.connectivity
        v = vols[start:start + len(conn)]
        start += len(conn)
        np.add.at(out, conn.ravel(), np.repeat(v / conn.shape[1], conn.shape[1]))
    return out


@dataclass
class MeshGeometry:
    """What the networks read of one mesh: coordinates, nodal measure, boundary."""

    points: np.ndarray  #: (n, d) float64
    measure: np.ndarray  #: (n,) lumped nodal measure, mean 1
    boundary: np.ndarray  #: (b, d) points on the boundary (see boundary_samples)
    centroids: np.ndarray  #: (c, d) cell centroids (inside test of the signed distance)
    boundary_ids: np.ndarray  #: (b,) node ids of ``boundary``

    @classmethod
    def of(cls, mesh: MeshData, dim: int, boundary_ids: np.ndarray | None = None
           ) -> MeshGeometry:
        pts = np.asarray(mesh.points, np.float64)[:, :dim]
        m = nodal_measure(mesh)
        m = m / max(float(m.mean()), 1e-300)
        ids = boundary_node_ids(mesh) if boundary_ids is None else boundary_ids
        _, cents = _cells_geometry(mesh)
        g = cls(pts, m, boundary_samples(mesh, dim), cents[:, :dim], ids)
        g.simplices = (_simplices(mesh, dim), pts)
        g.mesh = mesh
        return g

    def boundary_features(self) -> np.ndarray:
        """Geometric node features (:mod:`~physapp.surrogates.models.geo_features`), cached."""
        out = self.__dict__.get("_bfeat")
        if out is None:
            from physapp.surrogates.models.geo_features import boundary_features

            out = self._bfeat = boundary_features(self.mesh, self.points.shape[1],
                                                  points=self.points, boundary=self.boundary)
        return out

    def wall_distance(self, points: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        if not hasattr(self, "_btree"):
            self._btree = cKDTree(self.boundary)
        return self._btree.query(points, k=1)[0]

    def signed_distance(self, probes: np.ndarray) -> np.ndarray:
        """Distance to the boundary, negative inside the domain."""
        d_b = self.wall_distance(probes)
        return np.where(self.inside(probes), -d_b, d_b)

    def inside(self, probes: np.ndarray) -> np.ndarray:
        """True for probes in a cell (exact for simplices and quads split in two; other cells
        count a probe inside when their centroid is nearer than the boundary)."""
        from scipy.spatial import cKDTree

        simplices, verts = self.simplices
        if simplices is None:
            if not hasattr(self, "_ctree"):
                self._ctree = cKDTree(self.centroids)
            return self._ctree.query(probes, k=1)[0] < self.wall_distance(probes)
        if not hasattr(self, "_stree"):
            self._stree = cKDTree(verts[simplices].mean(1))
        k = min(8, len(simplices))
        _, cand = self._stree.query(probes, k=k)
        cand = cand.reshape(len(probes), k)
        v = verts[simplices[cand]]  # (m, k, d+1, d)
        T = np.swapaxes(v[..., 1:, :] - v[..., :1, :], -1, -2)  # (m, k, d, d)
        rhs = probes[:, None, :] - v[..., 0, :]
        det = np.linalg.det(T)
        ok = np.abs(det) > 1e-300
        lam = np.zeros_like(rhs)
        lam[ok] = np.linalg.solve(T[ok], rhs[ok][..., None])[..., 0]
        bary = np.concatenate([1.0 - lam.sum(-1, keepdims=True), lam], -1)
        return ((bary >= -1e-9).all(-1) & ok).any(-1)

    simplices: Any = (None, None)  #: (simplex corner ids, points) of the cells, or None
    mesh: Any = None  #: the mesh itself (geometric features)


#: corner sets splitting a cell into simplices
_SPLIT = {"triangle": ((0, 1, 2),), "quad": ((0, 1, 2), (0, 2, 3)), "tetra": ((0, 1, 2, 3),)}


def _simplices(mesh: MeshData, dim: int) -> np.ndarray | None:
    """Every cell as simplices of dimension ``dim`` (None when a cell type cannot be split)."""
    out = []
    for block in mesh.cells:
        split = _SPLIT.get(block.type.rstrip("0123456789"))
        if split is None or len(split[0]) != dim + 1:
            return None
        out.extend(block.connectivity[:, list(s)] for s in split)
    return np.concatenate(out)


def probe_grid(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Fixed probe points over the (5 % enlarged) box: 16 per axis in 2D, 8 in 3D."""
    d = len(lo)
    n = 16 if d <= 2 else 8
    pad = 0.05 * (hi - lo)
    axes = [np.linspace(a - p, b + p, n) for a, b, p in zip(lo, hi, pad, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)


def shared_geometries(meshes: Sequence[MeshData], dim: int) -> list[MeshGeometry]:
    """Geometry of each mesh; meshes with the same points and cells share one."""
    out: list[MeshGeometry] = []
    seen: dict[tuple, MeshGeometry] = {}
    bids: dict[int, np.ndarray] = {}
    for m in meshes:
        key = (m.n_points, id(m.cells), hash(np.asarray(m.points, np.float32).tobytes()))
        if key not in seen:
            ids = bids.get(id(m.cells))
            if ids is None:
                ids = bids[id(m.cells)] = boundary_node_ids(m)
            seen[key] = MeshGeometry.of(m, dim, ids)
        out.append(seen[key])
    return out

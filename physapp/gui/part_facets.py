"""Face picking on arrays (Qt-free, unit-tested on plain meshes): the boundary facets of a part,
their outward normals and neighbours, the facet under a point, and a selection grown over
neighbours (sharing an edge in 3D, a node in 2D) whose normals differ by less than a feature
angle; a selection becomes a named boundary region (:func:`with_region`)."""

from __future__ import annotations

import math

import numpy as np

from physapp.core.facets import seen_once, sorted_columns
from physapp.core.mesh import MeshData
from physapp.io.readers import CORNERS, FACETS, LINEAR


#: suffixes the File > Open dialog lists (meshio formats physapp reads, CAD, closed surfaces)
class BoundaryFacets:
    """The boundary facets of a mesh with outward unit normals and facet-to-facet adjacency.

    ``facets[i]`` holds the corner nodes of facet ``i`` (``-1`` padded: triangles in a quad mesh);
    neighbours share an edge (3D) or a node (2D meshes, whose facets are edges).
    """

    def __init__(self, mesh: MeshData) -> None:
        self.mesh = mesh
        pts = mesh.points
        rows: dict[int, list[np.ndarray]] = {}
        centres: dict[int, list[np.ndarray]] = {}
        for block in mesh.cells:
            base = LINEAR.get(block.type, block.type)
            conn = block.connectivity[:, : CORNERS[base]]
            centre = pts[conn].mean(axis=1)
            for f in FACETS[base]:
                rows.setdefault(len(f), []).append(conn[:, list(f)])
                centres.setdefault(len(f), []).append(centre)
        facets, owners = [], []
        for width, parts in rows.items():
            # a facet is on the boundary when one cell has it: counted on its sorted corners
            # packed into one integer (core.facets: a 1D sort; np.unique(axis=0) over rows took
            # 35 s for a million tets, #16)
            keys = [sorted_columns([part[:, j] for j in range(width)]) for part in parts]
            once = seen_once(keys, mesh.n_points)
            padded = np.full((len(once), 4), -1, dtype=np.int64)
            padded[:, :width] = np.concatenate(parts)[once]
            facets.append(padded)
            owners.append(np.concatenate(centres[width])[once])
        self.facets = np.concatenate(facets) if facets else np.zeros((0, 4), np.int64)
        self.width = (self.facets >= 0).sum(axis=1)
        owner = np.concatenate(owners) if owners else np.zeros((0, 3))
        self.normals = self._normals(owner)
        safe = np.where(self.facets >= 0, self.facets, self.facets[:, :1])
        mask = (self.facets >= 0)[:, :, None]
        self.centres = (self.mesh.points[safe] * mask).sum(axis=1) / np.maximum(
            self.width, 1)[:, None]
        self._adjacency = self._build_adjacency()
        self._index: dict[tuple, int] | None = None  # built at the first index_of

    def __len__(self) -> int:
        return len(self.facets)

    def _normals(self, owner: np.ndarray) -> np.ndarray:
        pts, f = self.mesh.points, self.facets
        if len(f) == 0:
            return np.zeros((0, 3))
        if self.mesh.dim == 2:
            t = pts[f[:, 1]] - pts[f[:, 0]]
            n = np.column_stack([-t[:, 1], t[:, 0], np.zeros(len(t))])
        else:
            quad = self.width == 4
            d1 = np.where(quad[:, None], pts[f[:, 2]] - pts[f[:, 0]], pts[f[:, 1]] - pts[f[:, 0]])
            last = np.where(quad, f[:, 3], f[:, 2])
            d2 = np.where(quad[:, None], pts[last] - pts[f[:, 1]], pts[f[:, 2]] - pts[f[:, 0]])
            n = np.cross(d1, d2)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        mid = pts[f[:, 0]]
        flip = np.einsum("ij,ij->i", n, mid - owner) < 0  # point away from the owning cell
        n[flip] *= -1
        return n

    def _build_adjacency(self):
        from scipy.sparse import coo_matrix

        n = len(self.facets)
        keys, ids = [], []
        for w in np.unique(self.width):
            sel = np.flatnonzero(self.width == w)
            f = self.facets[sel, :w]
            if self.mesh.dim == 2:
                for k in range(w):
                    keys.append(np.column_stack([f[:, k], f[:, k]]))
                    ids.append(sel)
            else:
                for k in range(w):
                    keys.append(np.sort(np.column_stack([f[:, k], f[:, (k + 1) % w]]), axis=1))
                    ids.append(sel)
        if not keys:
            return coo_matrix((n, n)).tocsr()
        key = np.concatenate(keys)
        fid = np.concatenate(ids)
        packed = key[:, 0].astype(np.int64) * max(self.mesh.n_points, 1) + key[:, 1]
        order = np.argsort(packed, kind="stable")
        ks, fs = packed[order], fid[order]
        starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
        counts = np.diff(np.r_[starts, len(ks)])
        pair = starts[counts == 2]  # usually two facets per edge: no Python loop over them
        rows, cols = [fs[pair], fs[pair + 1]], [fs[pair + 1], fs[pair]]
        for s in starts[counts > 2]:  # a non-manifold edge (or a 2D node shared by more)
            group = fs[s:s + counts[np.searchsorted(starts, s)]]
            a, b = np.meshgrid(group, group)
            mask = a != b
            rows.append(a[mask])
            cols.append(b[mask])
        r, c = np.concatenate(rows), np.concatenate(cols)
        keep = r != c  # a facet does not neighbour itself
        r, c = r[keep], c[keep]
        return coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()

    def neighbours(self, i: int) -> np.ndarray:
        a = self._adjacency
        return a.indices[a.indptr[i]:a.indptr[i + 1]]

    def grow(self, seed: int, feature_angle: float = 30.0) -> np.ndarray:
        """Facet indices reached from ``seed`` over neighbours whose normals differ by less
        than ``feature_angle`` degrees (sorted)."""
        return grow_selection(self.normals, self._adjacency, seed, feature_angle)

    def facet_at(self, point) -> int:
        """The boundary facet under a picked point (on or next to the surface); -1 if none."""
        p = np.asarray(point, dtype=float)
        if len(self.facets) == 0:
            return -1
        pts = self.mesh.points
        if self.mesh.dim == 2:
            a, b = pts[self.facets[:, 0]], pts[self.facets[:, 1]]
            t = b - a
            s = np.clip(np.einsum("ij,ij->i", p - a, t) / np.maximum(
                np.einsum("ij,ij->i", t, t), 1e-300), 0.0, 1.0)
            d = np.linalg.norm(a + s[:, None] * t - p, axis=1)
            return int(np.argmin(d))
        # triangles (quads as two) with their facet index; distance from p to each triangle
        tri, owner = [self.facets[:, :3]], [np.arange(len(self.facets))]
        quad = np.flatnonzero(self.width == 4)
        if len(quad):
            tri.append(self.facets[quad][:, [0, 2, 3]])
            owner.append(quad)
        tri, owner = np.concatenate(tri), np.concatenate(owner)
        d = _point_triangle_distance(p, pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]])
        return int(owner[np.argmin(d)])

    def index_of(self, facets: np.ndarray) -> np.ndarray:
        """Indices of given facets (node rows, any order); -1 for rows that are not boundary
        facets of this mesh."""
        if self._index is None:
            self._index = {tuple(sorted(f[:w])): i for i, (f, w) in enumerate(
                zip(self.facets.tolist(), self.width.tolist(), strict=True))}
        out = np.full(len(facets), -1, dtype=np.int64)
        for k, row in enumerate(np.asarray(facets, dtype=np.int64).tolist()):
            out[k] = self._index.get(tuple(sorted(v for v in row if v >= 0)), -1)
        return out

    def region_array(self, selection: np.ndarray) -> np.ndarray:
        """The selected facets as a region array for MeshData (quads split into triangles
        when the selection mixes triangles and quads)."""
        sel = np.asarray(selection, dtype=np.int64)
        f, w = self.facets[sel], self.width[sel]
        widths = set(w.tolist())
        if len(widths) == 1:
            return f[:, : widths.pop()].copy()
        tris = [f[w == 3, :3], f[w == 4][:, [0, 1, 2]], f[w == 4][:, [0, 2, 3]]]
        return np.concatenate(tris)


def grow_selection(normals: np.ndarray, adjacency, seed: int, feature_angle: float) -> np.ndarray:
    """Flood fill over ``adjacency`` (a CSR matrix) from ``seed``, crossing only between facets
    whose unit normals make an angle below ``feature_angle`` degrees."""
    cos = math.cos(math.radians(float(feature_angle)))
    seen = np.zeros(len(normals), dtype=bool)
    seen[seed] = True
    frontier = np.array([seed])
    indptr, indices = adjacency.indptr, adjacency.indices
    while len(frontier):
        nxt = []
        for i in frontier:
            nb = indices[indptr[i]:indptr[i + 1]]
            nb = nb[~seen[nb]]
            ok = nb[normals[nb] @ normals[i] >= cos - 1e-12]
            seen[ok] = True
            nxt.append(ok)
        frontier = np.concatenate(nxt) if nxt else np.array([], dtype=np.int64)
    return np.flatnonzero(seen)


def _point_triangle_distance(p, a, b, c) -> np.ndarray:
    """Distance from point ``p`` to each triangle (a, b, c) (rows), vectorised."""
    ab, ac, ap = b - a, c - a, p - a
    n = np.cross(ab, ac)
    nn = np.maximum(np.einsum("ij,ij->i", n, n), 1e-300)
    # barycentric coordinates of the projection of p
    v = np.einsum("ij,ij->i", np.cross(ap, ac), n) / nn
    w = np.einsum("ij,ij->i", np.cross(ab, ap), n) / nn
    u = 1 - v - w
    inside = (u >= -1e-9) & (v >= -1e-9) & (w >= -1e-9)
    d_plane = np.abs(np.einsum("ij,ij->i", ap, n)) / np.sqrt(nn)

    def seg(x, y):
        t = y - x
        s = np.clip(np.einsum("ij,ij->i", p - x, t) / np.maximum(np.einsum("ij,ij->i", t, t),
                                                                 1e-300), 0, 1)
        return np.linalg.norm(x + s[:, None] * t - p, axis=1)

    d_edge = np.minimum(np.minimum(seg(a, b), seg(b, c)), seg(c, a))
    return np.where(inside, d_plane, d_edge)


def with_region(mesh: MeshData, name: str, facets: np.ndarray) -> MeshData:
    """A copy of ``mesh`` with one more boundary region."""
    return MeshData(mesh.points, mesh.cells, {**mesh.boundaries, name: np.asarray(facets)},
                    mesh.subdomains, mesh.dim, mesh.length_unit)

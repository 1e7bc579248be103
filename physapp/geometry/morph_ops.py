"""Array operations of the mesh morph (:mod:`physapp.geometry.morph`): simplices and their
signed volumes and shape quality, boundary facets and their normals, plane levels and curved
patches of named regions, the pseudo-solid (linear elasticity that carries a boundary
displacement into the interior), and the target surface that nodes are projected onto (closest
points on facets, circle fits in 2D, Phong normals in 3D). numpy/scipy only."""

from __future__ import annotations

import math

import numpy as np

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData

#: adjacent facet normals further apart than this (degrees) make a feature edge or corner
FEATURE_ANGLE = 40.0


#: a node projects only onto target facets whose normal is within this angle (degrees) of its own
COMPATIBLE_ANGLE = 60.0


#: regions whose bounding-box diagonal is below this fraction of the domain's follow their own box
TRUST_FRACTION = 0.5


#: pseudo-solid per dimension: (Poisson ratio, stiffening exponent: Young's modulus ~
#: (mean element volume / element volume) ** exponent). Tuned on the built-in studies: in 2D an
#: auxetic solid lets elements scale rather than shear around a growing or shrinking hole; in 3D
#: stiffer small elements keep fillets and holes intact while arms change length and thickness.
PSEUDO_SOLID = {2: (-0.5, 1.0), 3: (0.0, 2.0)}


#: facets within a class spreading more than this (degrees) from its mean make a curved boundary
CURVED_ANGLE = 5.0


#: elements within this many rings of a curved boundary node are stiffer in the first stage
FEATURE_RINGS = 0


FEATURE_STIFFNESS = 1.0


#: candidates (nearest facet centroids) examined per projected node before a full search
N_CANDIDATES = 24


_COS_FEATURE = math.cos(math.radians(FEATURE_ANGLE))


_COS_COMPAT = math.cos(math.radians(COMPATIBLE_ANGLE))


_TRI_FACETS = np.array([[1, 2], [2, 0], [0, 1]])  # opposite vertex 0, 1, 2


_TET_FACETS = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])


def _simplices(mesh: MeshData) -> np.ndarray:
    want = {2: "triangle", 3: "tetra"}.get(mesh.dim)
    types = {b.type for b in mesh.cells}
    if want is None or types != {want}:
        raise GeometryError(
            "Morphing needs a linear mesh of triangles or tetrahedra "
            f"(got {', '.join(sorted(types))})."
        )
    return np.concatenate([b.connectivity for b in mesh.cells])


def _signed_volumes(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed volumes and the edge matrices J (rows: vertex k - vertex 0) of simplices."""
    d = x.shape[1]
    jac = x[t[:, 1:]] - x[t[:, :1]]
    if d == 2:  # closed form (np.linalg.det factorises every 2 x 2 matrix)
        return 0.5 * (jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]), jac
    return np.linalg.det(jac) / math.factorial(d), jac


def _shape_quality(x: np.ndarray, t: np.ndarray, vol: np.ndarray) -> np.ndarray:
    """Mean-ratio shape quality: 1 for equilateral simplices, 0 for flat ones."""
    d = x.shape[1]
    nv = d + 1
    s = np.zeros(len(t))
    for a in range(nv):
        for b in range(a + 1, nv):
            s += np.sum((x[t[:, a]] - x[t[:, b]]) ** 2, axis=1)
    v = np.abs(vol)
    if d == 2:
        return 4.0 * math.sqrt(3.0) * v / np.maximum(s, 1e-300)
    return 12.0 * (3.0 * v) ** (2.0 / 3.0) / np.maximum(s, 1e-300)


def _boundary_facets(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Boundary facets (faces of one cell only), ordered so that the raw normal points outward."""
    d = x.shape[1]
    local = _TRI_FACETS if d == 2 else _TET_FACETS
    faces = t[:, local].reshape(-1, d)
    opposite = t.reshape(-1)  # face i of a cell is opposite its vertex i
    key = np.sort(faces, axis=1)
    _, inv, cnt = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    once = cnt[inv.ravel()] == 1
    faces, opposite = faces[once].copy(), opposite[once]
    normal = _raw_normals(x, faces)
    inward = np.einsum("ij,ij->i", normal, x[opposite] - x[faces[:, 0]]) > 0
    faces[inward, 0], faces[inward, 1] = faces[inward, 1], faces[inward, 0].copy()
    return faces


def _raw_normals(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Facet normals scaled by the facet size (length in 2D, twice the area in 3D)."""
    if x.shape[1] == 2:
        e = x[f[:, 1]] - x[f[:, 0]]
        return np.column_stack([e[:, 1], -e[:, 0]])
    return np.cross(x[f[:, 1]] - x[f[:, 0]], x[f[:, 2]] - x[f[:, 0]])


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.where(n > 0, n, 1.0)


def _facet_regions(faces: np.ndarray, mesh: MeshData, names: list[str]) -> np.ndarray:
    """Region index (into ``names``) of each facet; -1 for facets in no named region."""
    reg = np.full(len(faces), -1, dtype=np.int64)
    if not names:
        return reg
    key = np.sort(faces, axis=1)
    q = [np.sort(np.asarray(mesh.boundaries[n])[:, : faces.shape[1]], axis=1) for n in names]
    allq = np.concatenate([key] + q)
    _, inv = np.unique(allq, axis=0, return_inverse=True)
    inv = inv.ravel()
    where = np.full(inv.max() + 1, -1, dtype=np.int64)
    where[inv[: len(key)]] = np.arange(len(key))
    start = len(key)
    for r, arr in enumerate(q):
        hit = where[inv[start:start + len(arr)]]
        reg[hit[hit >= 0]] = r
        start += len(arr)
    return reg


def _incidence_pairs(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (facet f, corner j, facet g) with g sharing the vertex faces[f, j] (g == f included)."""
    nf, k = faces.shape
    inc_v = faces.ravel()
    inc_f = np.repeat(np.arange(nf), k)
    inc_j = np.tile(np.arange(k), nf)
    order = np.argsort(inc_v, kind="stable")
    v_sorted = inc_v[order]
    _, start, count = np.unique(v_sorted, return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(start)), count)  # group of each sorted incidence
    c_of = count[group]
    rep = np.repeat(np.arange(len(order)), c_of)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(c_of) - c_of, c_of)
    partner = start[group[rep]] + offs
    return inc_f[order][rep], inc_j[order][rep], inc_f[order][partner]


def _plane_levels(x: np.ndarray, faces: np.ndarray, region: np.ndarray,
                  tol: float) -> dict[tuple[int, int, int], tuple[np.ndarray, list[np.ndarray]]]:
    """Axis-aligned flat parts of the boundary: (region, axis, sign of the outward normal) ->
    (sorted distinct plane coordinates, nodes on each plane)."""
    unit = _unit(_raw_normals(x, faces))
    out = {}
    for k in range(x.shape[1]):
        for sign in (-1, 1):
            on = np.flatnonzero(sign * unit[:, k] > 1.0 - 1e-9)
            for r in np.unique(region[on]):
                fs = on[region[on] == r]
                coord = x[faces[fs], k].mean(axis=1)
                order = np.argsort(coord)
                cut = np.flatnonzero(np.diff(coord[order]) > tol) + 1
                groups = np.split(order, cut)
                levels = np.array([coord[g].mean() for g in groups])
                out[(int(r), k, sign)] = (levels, [np.unique(faces[fs[g]]) for g in groups])
    return out


def _curved_patches(x: np.ndarray, faces: np.ndarray, region: np.ndarray,
                    skip: set[int]) -> list[tuple[int, np.ndarray]]:
    """Connected pieces of the boundary that are not axis-aligned planes (fillets, bosses,
    chamfers), per region (regions in ``skip`` excepted): a list of (region, nodes)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    unit = _unit(_raw_normals(x, faces))
    curved = np.abs(unit).max(axis=1) < 1.0 - 1e-9
    curved &= ~np.isin(region, sorted(skip))
    ids = np.flatnonzero(curved)
    if len(ids) == 0:
        return []
    k = faces.shape[1]
    inc = csr_matrix((np.ones(len(ids) * k), (np.repeat(np.arange(len(ids)), k),
                                              faces[ids].ravel())), shape=(len(ids), len(x)))
    adj = inc @ inc.T
    rows, cols = adj.nonzero()
    same = region[ids[rows]] == region[ids[cols]]
    adj = csr_matrix((np.ones(int(same.sum())), (rows[same], cols[same])), shape=adj.shape)
    n, label = connected_components(adj, directed=False)
    return [(int(region[ids[label == c][0]]), np.unique(faces[ids[label == c]]))
            for c in range(n)]


def _p1_gradients(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vol, jac = _signed_volumes(x, t)
    if x.shape[1] == 2:  # the 2 x 2 inverse in closed form
        det = (2.0 * vol)[:, None, None]
        jinv = np.stack([np.stack([jac[:, 1, 1], -jac[:, 0, 1]], axis=1),
                         np.stack([-jac[:, 1, 0], jac[:, 0, 0]], axis=1)], axis=1) / det
    else:
        jinv = np.linalg.inv(jac)  # gradient of barycentric k+1 = column k
    g = np.empty((len(t), x.shape[1] + 1, x.shape[1]))
    g[:, 1:, :] = np.transpose(jinv, (0, 2, 1))
    g[:, 0, :] = -g[:, 1:, :].sum(axis=1)
    return g, np.abs(vol)


def _element_stiffness(x: np.ndarray, t: np.ndarray, weight: np.ndarray,
                       nu: float) -> np.ndarray:
    """P1 elasticity element matrices (E, m, m), m = (dim + 1) * dim, DOF order node * dim + k
    (unit Young's modulus times ``weight``): B^T D B times the element size, B the strain
    (normal components, then engineering shears) of each DOF."""
    d = x.shape[1]
    g, vol = _p1_gradients(x, t)
    lam = nu / ((1 + nu) * (1 - 2 * nu))
    mu = 1.0 / (2 * (1 + nu))
    pairs = [(0, 1)] if d == 2 else [(0, 1), (1, 2), (0, 2)]
    ns, m = d + len(pairs), (d + 1) * d
    b = np.zeros((len(t), ns, d + 1, d))
    for k in range(d):
        b[:, k, :, k] = g[:, :, k]
    for r, (i, j) in enumerate(pairs):
        b[:, d + r, :, i] = g[:, :, j]
        b[:, d + r, :, j] = g[:, :, i]
    b = b.reshape(len(t), ns, m)
    dmat = np.diag([2 * mu] * d + [mu] * len(pairs))
    dmat[:d, :d] += lam
    return (b.transpose(0, 2, 1) * (weight * vol)[:, None, None]) @ (dmat @ b)


def _csr_pattern(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int):
    """CSR structure (indptr, indices) of the entries (rows, cols) and, per entry, the index of
    its slot in the CSR data (duplicates share a slot)."""
    key = rows.astype(np.int64) * n_cols + cols
    uniq, slot = np.unique(key, return_inverse=True)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(uniq // n_cols, minlength=n_rows))])
    return indptr, (uniq % n_cols).astype(np.int32), slot.ravel()


class _PseudoSolidPattern:
    """What the pseudo-solid's systems share on one topology with one set of fixed DOFs: the CSR
    structures of the free-free and free-fixed blocks and where each element-matrix entry goes,
    so each increment only computes element matrices and sums them into place (no COO -> CSR
    conversion, no sparse slicing)."""

    def __init__(self, t: np.ndarray, n_nodes: int, d: int, fixed: np.ndarray) -> None:
        m = t.shape[1] * d
        dofs = (t[:, :, None] * d + np.arange(d)).reshape(len(t), m)
        rows = np.repeat(dofs, m, axis=1).ravel()
        cols = np.tile(dofs, (1, m)).ravel()
        free = ~fixed
        index = np.where(free, np.cumsum(free) - 1, np.cumsum(fixed) - 1)
        self.n_free, self.n_fixed = int(free.sum()), int(fixed.sum())
        self.ff = np.flatnonzero(free[rows] & free[cols])
        self.fc = np.flatnonzero(free[rows] & fixed[cols])
        self.ff_csr = _csr_pattern(index[rows[self.ff]], index[cols[self.ff]], self.n_free,
                                   self.n_free)
        self.fc_csr = _csr_pattern(index[rows[self.fc]], index[cols[self.fc]], self.n_free,
                                   self.n_fixed)
        indptr, indices, _ = self.ff_csr
        row_of = np.repeat(np.arange(self.n_free), np.diff(indptr))
        self.diag = np.flatnonzero(indices == row_of)
        self.ordering: tuple | None = None  # (perm, permuted indptr, indices, data map)

    def solve(self, kff, rhs: np.ndarray) -> np.ndarray:
        """``kff^-1 rhs`` by SuperLU in symmetric mode (an SPD matrix: minimum-degree ordering
        of A + A^T, diagonal pivots). The ordering of the first factorisation is kept: later
        matrices are permuted by gathering their values into the permuted pattern and factorised
        in that natural order (the same factors without ordering again)."""
        import scipy.sparse as sp
        from scipy.sparse.linalg import splu

        opts = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}
        # kff is symmetric: its CSR arrays read as CSC are the same matrix
        a = sp.csc_matrix((kff.data, kff.indices, kff.indptr), shape=kff.shape)
        if self.ordering is None:
            lu = splu(a, permc_spec="MMD_AT_PLUS_A", **opts)
            perm = np.argsort(lu.perm_c)
            index = sp.csc_matrix((np.arange(a.nnz, dtype=np.float64), a.indices, a.indptr),
                                  shape=a.shape)[perm][:, perm].tocsc()
            index.sort_indices()
            self.ordering = (perm, index.indptr, index.indices, index.data.astype(np.int64))
            return lu.solve(rhs)
        perm, indptr, indices, dmap = self.ordering
        y = splu(sp.csc_matrix((a.data[dmap], indices, indptr), shape=a.shape),
                 permc_spec="NATURAL", **opts).solve(rhs[perm])
        x = np.empty_like(y)
        x[perm] = y
        return x

    def blocks(self, ke: np.ndarray):
        """(K_free_free with a tiny diagonal shift, K_free_fixed) from element matrices."""
        import scipy.sparse as sp

        flat = ke.reshape(-1)
        out = []
        for sel, (indptr, indices, slot), shape in (
                (self.ff, self.ff_csr, (self.n_free, self.n_free)),
                (self.fc, self.fc_csr, (self.n_free, self.n_fixed))):
            data = np.bincount(slot, flat[sel], minlength=len(indices))
            out.append(sp.csr_matrix((data, indices, indptr), shape=shape))
        kff = out[0]
        kff.data[self.diag] += 1e-10 * kff.data[self.diag].sum() / max(self.n_free, 1)
        return kff, out[1]


def _pseudo_solid(x: np.ndarray, t: np.ndarray, fixed: np.ndarray, goal: np.ndarray,
                  steps: int, poisson: float, stiffening: float,
                  cache: dict | None = None) -> np.ndarray:
    """Move the DOFs ``fixed`` (mask over ``node * dim + k``) of node positions ``x`` to ``goal``
    in ``steps`` increments; the other DOFs follow as a pseudo-solid (linear elasticity on the
    current configuration, each element stiffened as (mean size / its size) ** stiffening).
    ``cache`` (a dict kept by the caller for one topology ``t``) keeps the sparsity patterns per
    set of fixed DOFs between calls, and the ordering of their factorisation
    (:meth:`_PseudoSolidPattern.solve`)."""
    x = x.copy()
    d = x.shape[1]
    free = ~fixed
    flat = x.reshape(-1)
    key = fixed.tobytes()
    cache = {} if cache is None else cache
    for i in range(steps):
        inc = (goal - flat[fixed]) / (steps - i)
        if not np.any(inc):
            continue
        vol, _ = _signed_volumes(x, t)
        v = np.abs(vol)
        w = (v.mean() / np.maximum(v, 1e-300 * v.max())) ** stiffening
        du = np.zeros(len(flat))
        du[fixed] = inc
        if free.any():
            pattern = cache.get(key)
            if pattern is None:
                if len(cache) >= 4:
                    cache.clear()
                pattern = cache[key] = _PseudoSolidPattern(t, len(x), d, fixed)
            kff, kfc = pattern.blocks(_element_stiffness(x, t, w, poisson))
            du[free] = pattern.solve(kff, -(kfc @ inc))
        flat = flat + du
        x = flat.reshape(-1, d)
    return x


def _closest_on_segments(p, a, b):
    e = b - a
    ee = np.maximum(np.einsum("...i,...i->...", e, e), 1e-300)
    t = np.einsum("...i,...i->...", p - a, e) / ee
    t = np.clip(t, 0.0, 1.0)
    q = a + t[..., None] * e
    return q, np.stack([1 - t, t], axis=-1)


def _closest_on_triangles(p, a, b, c):
    """Closest points of p on triangles (a, b, c) (broadcast), with barycentric coordinates."""
    e0, e1 = b - a, c - a
    n = np.cross(e0, e1)
    nn = np.maximum(np.einsum("...i,...i->...", n, n), 1e-300)
    w = p - a
    # barycentric of the plane projection
    v = np.einsum("...i,...i->...", np.cross(w, e1), n) / nn
    s = np.einsum("...i,...i->...", np.cross(e0, w), n) / nn
    u = 1 - v - s
    inside = (u >= 0) & (v >= 0) & (s >= 0)
    proj = a + v[..., None] * e0 + s[..., None] * e1
    best_q = proj
    best_b = np.stack([u, v, s], axis=-1)
    best_d = np.where(inside, np.sum((p - proj) ** 2, axis=-1), np.inf)
    zero = np.zeros_like(u)
    for (x0, x1, i0, i1) in ((a, b, 0, 1), (b, c, 1, 2), (a, c, 0, 2)):
        q, bt = _closest_on_segments(p, x0, x1)
        dist = np.sum((p - q) ** 2, axis=-1)
        better = dist < best_d
        bary = [zero, zero, zero]
        bary[i0], bary[i1] = bt[..., 0], bt[..., 1]
        best_q = np.where(better[..., None], q, best_q)
        best_b = np.where(better[..., None], np.stack(bary, axis=-1), best_b)
        best_d = np.where(better, dist, best_d)
    return best_q, best_b


class _Surface:
    """The boundary of a target mesh, split by named region, with curvature information."""

    def __init__(self, mesh: MeshData, names: list[str]) -> None:
        from scipy.spatial import cKDTree

        self.dim = mesh.dim
        self.x = mesh.points[:, : self.dim]
        if {b.type for b in mesh.cells} == {"line"} and self.dim == 2:
            # the boundary alone (gmsh_session.extract_boundary): oriented, ordered facets
            self.faces = np.concatenate([b.connectivity for b in mesh.cells])
        else:
            self.faces = _boundary_facets(self.x, _simplices(mesh))
        self.region = _facet_regions(self.faces, mesh, names)
        raw = _raw_normals(self.x, self.faces)
        self.normal = _unit(raw)
        self.centroid = self.x[self.faces].mean(axis=1)
        self.trees: dict[int, tuple[np.ndarray, cKDTree]] = {}
        for r in np.unique(self.region):
            ids = np.flatnonzero(self.region == r)
            self.trees[int(r)] = (ids, cKDTree(self.centroid[ids]))
        f, j, g = _incidence_pairs(self.faces)
        keep = (self.region[f] == self.region[g]) & (
            np.einsum("ij,ij->i", self.normal[f], self.normal[g]) >= _COS_FEATURE)
        f, j, g = f[keep], j[keep], g[keep]
        if self.dim == 3:
            vn = np.zeros((len(self.faces), 3, 3))
            np.add.at(vn, (f, j), raw[g])
            self.vertex_normal = _unit(vn)
        else:
            self._fit_circles(f, g)

    def _fit_circles(self, f: np.ndarray, g: np.ndarray) -> None:
        """Per facet, the circle (or line: radius nan) through its nodes and smooth neighbours."""
        nf = len(self.faces)
        self.center = np.zeros((nf, 2))
        self.radius = np.full(nf, np.nan)
        nbr: list[set[int]] = [set() for _ in range(nf)]
        for a, b in zip(f.tolist(), g.tolist(), strict=True):
            if a != b:
                nbr[a].add(b)
        groups: dict[int, list[tuple[int, list[int]]]] = {}
        faces = self.faces.tolist()
        for k in range(nf):
            nodes = set(faces[k])
            for m in nbr[k]:
                nodes.update(faces[m])
            if len(nodes) >= 3:
                groups.setdefault(len(nodes), []).append((k, sorted(nodes)))
        for items in groups.values():  # one batched SVD per node count (the same LAPACK calls)
            ks = np.array([k for k, _ in items])
            pts = self.x[np.array([n for _, n in items])]  # (m, c, 2)
            seg = np.linalg.norm(self.x[self.faces[ks, 1]] - self.x[self.faces[ks, 0]], axis=1)
            c0 = pts.mean(axis=1)
            q = (pts - c0[:, None, :]) / seg[:, None, None]
            mat = np.concatenate([np.sum(q * q, axis=2)[..., None], q,
                                  np.ones(q.shape[:2] + (1,))], axis=2)
            coef = np.linalg.svd(mat)[2][:, -1, :]  # (m, 4)
            for j, k in enumerate(ks.tolist()):
                c = coef[j]
                if abs(c[0]) < 1e-9 * np.abs(c).max():
                    continue  # a line
                cen = -c[1:3] / (2 * c[0])
                rho2 = cen @ cen - c[3] / c[0]
                if rho2 <= 0 or rho2 > 1e8:
                    continue
                rho = math.sqrt(rho2)
                if np.abs(np.linalg.norm(q[j] - cen, axis=1) - rho).max() > 1e-6:
                    continue  # not an arc: keep the facet flat
                self.center[k] = c0[j] + seg[j] * cen
                self.radius[k] = seg[j] * rho

    def closest(self, region: int, p: np.ndarray, normal: np.ndarray):
        """Closest points of ``p`` on facets of ``region`` whose normal is compatible with
        ``normal``: returns (curved point, facet unit normal)."""
        if region not in self.trees:
            raise GeometryError("The target geometry lacks a boundary region of the reference.")
        ids, tree = self.trees[region]
        k = min(N_CANDIDATES, len(ids))
        _, cand = tree.query(p, k=k)
        cand = ids[np.asarray(cand).reshape(len(p), k)]
        q, bary, dist = self._candidates(p, normal, cand)
        rows = np.arange(len(p))
        best = np.argmin(dist, axis=1)
        qq, bb, ff = q[rows, best], bary[rows, best], cand[rows, best]
        lost = np.flatnonzero(~np.isfinite(dist[rows, best]))
        chunk = max(1, 200_000 // len(ids))
        for start in range(0, len(lost), chunk):  # no compatible facet nearby: search the region
            sel = lost[start:start + chunk]
            full = np.broadcast_to(ids, (len(sel), len(ids)))
            q2, b2, d2 = self._candidates(p[sel], normal[sel], full)
            none = ~np.isfinite(d2).any(axis=1)  # nothing compatible at all: plain nearest
            d2[none] = np.sum((q2[none] - p[sel][none][:, None, :]) ** 2, axis=-1)
            r2, best2 = np.arange(len(sel)), np.argmin(d2, axis=1)
            qq[sel], bb[sel], ff[sel] = q2[r2, best2], b2[r2, best2], full[r2, best2]
        return self._curved(qq, bb, ff), self.normal[ff]

    def _project(self, p, cand):
        v = self.x[self.faces[cand]]  # (m, k, dim, dim)
        pp = p[:, None, :]
        if self.dim == 2:
            return _closest_on_segments(pp, v[..., 0, :], v[..., 1, :])
        return _closest_on_triangles(pp, v[..., 0, :], v[..., 1, :], v[..., 2, :])

    def _candidates(self, p, normal, cand):
        q, bary = self._project(p, cand)
        dist = np.sum((q - p[:, None, :]) ** 2, axis=-1)
        ok = np.einsum("mkd,md->mk", self.normal[cand], normal) >= _COS_COMPAT
        return q, bary, np.where(ok, dist, np.inf)

    def _curved(self, q, bary, facet):
        if self.dim == 2:
            rad = self.radius[facet]
            arc = np.isfinite(rad)
            if np.any(arc):
                c = self.center[facet[arc]]
                q = q.copy()
                q[arc] = c + rad[arc, None] * _unit(q[arc] - c)
            return q
        # Phong interpolation (alpha = 1/2: second-order accurate on circles)
        v = self.x[self.faces[facet]]  # (m, 3, 3)
        m = self.vertex_normal[facet]  # (m, 3, 3)
        h = np.einsum("mjd,mjd->mj", q[:, None, :] - v, m)
        return q - 0.5 * np.einsum("mj,mj,mjd->md", bary, h, m)

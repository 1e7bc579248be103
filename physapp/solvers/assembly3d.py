"""Vectorised assembly for 3D linear elasticity on straight-sided P1 / P2 tetrahedra.

Everything is numpy: element matrices come from constant tensors contracted with the (constant)
barycentric gradients of each tetrahedron, and the global matrix is built once as a block (3 x 3)
sparse matrix with int32 indices. DOFs are interleaved per node: ``dof = 3 * node + component``.

P2 node numbering: the mesh vertices ``0..nv-1`` first, then one node per edge ``nv + edge``.
Local node order follows meshio / VTK ``tetra10``: vertices 0-3, then the edges
(0,1), (1,2), (0,2), (0,3), (1,3), (2,3).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from physapp.core.errors import SolverError

#: local vertex pairs of the six tetra10 edge nodes (meshio / VTK order)
TET_EDGES = np.array([[0, 1], [1, 2], [0, 2], [0, 3], [1, 3], [2, 3]])
#: local vertex pairs of the three triangle6 edge nodes (meshio / VTK order)
TRI_EDGES = np.array([[0, 1], [1, 2], [0, 2]])
#: faces of a tetrahedron, opposite to vertex 0, 1, 2, 3
TET_FACES = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])

# 4-point rule on the tetrahedron (barycentric coordinates, weights sum to 1), exact to degree 2
_A, _B = 0.5854101966249685, 0.1381966011250105
QUAD2 = (np.full((4, 4), _B) + np.eye(4) * (_A - _B), np.full(4, 0.25))


def grad_coefficients(order: int, lam: np.ndarray) -> np.ndarray:
    """``C[q, a, k]`` with grad phi_a(lam_q) = sum_k C[q, a, k] * grad lambda_k.

    ``lam`` is ``(nq, 4)`` barycentric coordinates; ``a`` runs over the 4 (P1) or 10 (P2) nodes.
    """
    nq = lam.shape[0]
    if order == 1:
        return np.broadcast_to(np.eye(4), (nq, 4, 4)).copy()
    C = np.zeros((nq, 10, 4))
    for a in range(4):
        C[:, a, a] = 4.0 * lam[:, a] - 1.0
    for e, (i, j) in enumerate(TET_EDGES):
        C[:, 4 + e, i] = 4.0 * lam[:, j]
        C[:, 4 + e, j] = 4.0 * lam[:, i]
    return C


def shape_values(order: int, lam: np.ndarray) -> np.ndarray:
    """``N[q, a]``: values of the P1/P2 shape functions at barycentric points ``lam`` (nq, 4)."""
    if order == 1:
        return lam.copy()
    N = np.empty((lam.shape[0], 10))
    N[:, :4] = lam * (2.0 * lam - 1.0)
    for e, (i, j) in enumerate(TET_EDGES):
        N[:, 4 + e] = 4.0 * lam[:, i] * lam[:, j]
    return N


def node_barycentric(order: int) -> np.ndarray:
    """Barycentric coordinates of the local nodes (4 or 10, tetra10 order)."""
    lam = np.eye(4)
    if order == 1:
        return lam
    mids = 0.5 * (lam[TET_EDGES[:, 0]] + lam[TET_EDGES[:, 1]])
    return np.vstack([lam, mids])


@dataclass
class TetSpace:
    """A P1/P2 space on a linear tetrahedral mesh, with its geometry factors."""

    order: int
    points: np.ndarray  # (nv, 3) vertex coordinates
    tets: np.ndarray  # (ne, 4) vertex indices, positively oriented
    volume: np.ndarray  # (ne,)
    grad_lam: np.ndarray  # (ne, 4, 3) gradients of the barycentric coordinates
    edges: np.ndarray  # (nedges, 2) sorted vertex pairs (P2 only; empty for P1)
    elem_nodes: np.ndarray  # (ne, 4 or 10) node indices in tetra10 order
    n_nodes: int
    flipped: int = 0

    @property
    def n_dofs(self) -> int:
        return 3 * self.n_nodes

    @property
    def nloc(self) -> int:
        return self.elem_nodes.shape[1]

    def node_coords(self) -> np.ndarray:
        """(n_nodes, 3) coordinates of all nodes (vertices, then edge midpoints)."""
        if self.order == 1:
            return self.points
        mid = 0.5 * (self.points[self.edges[:, 0]] + self.points[self.edges[:, 1]])
        return np.vstack([self.points, mid])

    def edge_index(self, pairs: np.ndarray) -> np.ndarray:
        """Edge numbers of vertex ``pairs`` (m, 2); SolverError when one is not a mesh edge."""
        nv = len(self.points)
        keys = self.edges[:, 0] * nv + self.edges[:, 1]
        s = np.sort(pairs, axis=1)
        q = s[:, 0] * nv + s[:, 1]
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        if not np.all(keys[pos] == q):
            raise SolverError("A boundary facet has an edge that is not an edge of the mesh.")
        return pos

    def facet_nodes(self, tris: np.ndarray) -> np.ndarray:
        """Nodes of boundary triangles (m, 3): the corners, plus the edge nodes for P2."""
        if self.order == 1:
            return tris
        nv = len(self.points)
        e = [self.edge_index(tris[:, p]) + nv for p in TRI_EDGES]
        return np.column_stack([tris, *e])


def build_space(points: np.ndarray, tets: np.ndarray, order: int) -> TetSpace:
    """Geometry and node numbering; re-orders negatively oriented tets, rejects degenerate ones."""
    tets = np.array(tets[:, :4], dtype=np.int64)
    p = np.asarray(points, dtype=np.float64)
    J = np.stack([p[tets[:, k]] - p[tets[:, 0]] for k in (1, 2, 3)], axis=2)  # columns
    det = np.linalg.det(J)
    scale = np.ptp(p, axis=0).max() ** 3 if len(p) else 1.0
    mean = np.mean(np.abs(det)) if len(det) else 0.0
    degenerate = np.abs(det) <= 1e-10 * max(mean, 1e-300) + 1e-15 * scale
    if np.any(degenerate):
        raise SolverError(
            f"The mesh has {int(degenerate.sum())} degenerate (flat or zero-volume) tetrahedra "
            f"out of {len(tets)}; remesh with better quality."
        )
    # A straight-sided tetrahedron with negative volume is only a node-ordering matter (scikit-fem's
    # own tensor meshes mix both orientations): swap two vertices and count it.
    neg = det < 0
    flipped = int(neg.sum())
    if flipped:
        tets[neg, 1], tets[neg, 2] = tets[neg, 2], tets[neg, 1].copy()
        J[neg] = J[neg][:, :, [1, 0, 2]]
        det = np.abs(det)
    Jinv = np.linalg.inv(J)  # rows: gradients of lambda_1..3
    G = np.empty((len(tets), 4, 3))
    G[:, 1:, :] = Jinv
    G[:, 0, :] = -Jinv.sum(axis=1)
    volume = det / 6.0
    nv = len(p)
    if order == 1:
        edges = np.zeros((0, 2), dtype=np.int64)
        elem_nodes = tets
        n_nodes = nv
    else:
        pairs = np.sort(tets[:, TET_EDGES], axis=2)  # (ne, 6, 2)
        keys = (pairs[..., 0] * nv + pairs[..., 1]).ravel()
        ukeys, inv = np.unique(keys, return_inverse=True)
        edges = np.column_stack([ukeys // nv, ukeys % nv])
        elem_nodes = np.hstack([tets, nv + inv.reshape(-1, 6)])
        n_nodes = nv + len(edges)
    return TetSpace(order, p, tets, volume, G, edges, elem_nodes, n_nodes, flipped)


def _stiffness_tensor(order: int) -> np.ndarray:
    """``M[a, b, k, l] = (1/|T|) int grad-coefficient products``: (nloc, nloc, 4, 4)."""
    lam, w = QUAD2 if order == 2 else (np.full((1, 4), 0.25), np.ones(1))
    C = grad_coefficients(order, lam)
    return np.einsum("q,qak,qbl->abkl", w, C, C)


def assemble_stiffness(space: TetSpace, lam, mu, *, chunk: int = 50000,
                       cancel=None) -> sp.bsr_matrix:
    """Global stiffness as a BSR matrix with 3 x 3 blocks (interleaved DOFs, int32 indices).

    Element blocks ``Ke[e, a, b] = vol * sum_kl M[a, b, k, l] T[e, k, l]`` where ``T`` holds the
    elasticity tensor contracted with the barycentric gradients; they are summed into the global
    matrix by one sparse product ``E^T X`` (E: element-node incidence with identity blocks, X: the
    element block rows), which scipy performs without sorting.
    ``lam`` and ``mu`` are numbers or per-element arrays (a material per region).
    """
    M = _stiffness_tensor(space.order)
    nloc = space.nloc
    Mm = M.reshape(nloc * nloc, 16)
    ne = len(space.tets)
    N = space.n_nodes
    if N * 3 >= 2**31 or ne * nloc * nloc >= 2**31:
        raise SolverError("The model is too large for 32-bit sparse indices.")
    blocks = np.empty((ne, nloc * nloc, 9))
    eye = np.eye(3).ravel()
    for s in range(0, ne, chunk):
        if cancel is not None:
            cancel.check()
        G = space.grad_lam[s:s + chunk]
        n = len(G)
        la = lam if np.ndim(lam) == 0 else np.asarray(lam)[s:s + n, None, None, None, None]
        mu_ = mu if np.ndim(mu) == 0 else np.asarray(mu)[s:s + n, None, None, None, None]
        GG = np.einsum("eki,elj->eklij", G, G)  # (n, 4, 4, 3, 3)
        dots = GG[..., 0, 0] + GG[..., 1, 1] + GG[..., 2, 2]
        T = la * GG + mu_ * GG.transpose(0, 1, 2, 4, 3)
        mu_d = mu if np.ndim(mu) == 0 else np.asarray(mu)[s:s + n, None, None]
        T = T.reshape(n, 16, 9) + mu_d * dots.reshape(n, 16, 1) * eye
        T *= space.volume[s:s + chunk, None, None]
        np.matmul(Mm, T, out=blocks[s:s + n])
    en = space.elem_nodes.astype(np.int32)
    nr = ne * nloc
    order = np.argsort(en.ravel(), kind="stable").astype(np.int32)
    indptr = np.zeros(N + 1, dtype=np.int32)
    np.cumsum(np.bincount(en.ravel(), minlength=N), out=indptr[1:])
    E_T = sp.bsr_matrix((np.broadcast_to(np.eye(3), (nr, 3, 3)), order, indptr),
                        shape=(3 * N, 3 * nr))
    X = sp.bsr_matrix((blocks.reshape(-1, 3, 3), np.repeat(en, nloc, axis=0).ravel(),
                       np.arange(0, nr * nloc + 1, nloc, dtype=np.int32)), shape=(3 * nr, 3 * N))
    del blocks
    if cancel is not None:
        cancel.check()
    K = (E_T @ X).tobsr(blocksize=(3, 3))
    K.sort_indices()
    return K


def tet_quadrature(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric points (nq, 4) and weights summing to 1 on the tetrahedron."""
    import skfem
    from skfem.quadrature import get_quadrature

    X, W = get_quadrature(skfem.refdom.RefTet, degree)
    lam = np.column_stack([1.0 - X.sum(axis=0), X.T])
    return lam, W / W.sum()


def physical_points(space: TetSpace, lam: np.ndarray) -> np.ndarray:
    """(ne, nq, 3) physical coordinates of barycentric points ``lam`` (nq, 4)."""
    return np.einsum("qk,ekx->eqx", lam, space.points[space.tets])


def volume_load(space: TetSpace, values: np.ndarray, N: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Load vector of a vector volume density sampled at quadrature points: values (ne, nq, 3)."""
    fe = np.einsum("q,qa,eqc,e->eac", w, N, values, space.volume)
    f = np.zeros((space.n_nodes, 3))
    for c in range(3):
        f[:, c] = np.bincount(space.elem_nodes.ravel(), fe[..., c].ravel(), minlength=space.n_nodes)
    return f.ravel()


def thermal_load(space: TetSpace, dT_q: np.ndarray, w: np.ndarray, lam_q: np.ndarray,
                 coef: float) -> np.ndarray:
    """Load of the thermal stress ``coef * dT * I``: f_a = int coef dT grad phi_a."""
    C = grad_coefficients(space.order, lam_q)  # (nq, a, k)
    # int dT grad phi_a = vol * sum_q w_q dT_q sum_k C[q,a,k] G_k
    S = np.einsum("q,eq,qak->eak", w, dT_q, C)
    c = coef if np.ndim(coef) == 0 else np.asarray(coef)[:, None, None]
    fe = c * np.einsum("eak,ekx,e->eax", S, space.grad_lam, space.volume)
    f = np.zeros((space.n_nodes, 3))
    for c in range(3):
        f[:, c] = np.bincount(space.elem_nodes.ravel(), fe[..., c].ravel(), minlength=space.n_nodes)
    return f.ravel()


def nodal_gradients(space: TetSpace, u: np.ndarray) -> np.ndarray:
    """Displacement gradients at each element's local nodes: (ne, nloc, 3 comp, 3 deriv)."""
    C = grad_coefficients(space.order, node_barycentric(space.order))  # (nloc, a, k)
    U = u.reshape(-1, 3)[space.elem_nodes]  # (ne, a, c)
    W = np.einsum("nak,eac->enkc", C, U)
    return np.einsum("enkc,ekx->encx", W, space.grad_lam)


def match_faces(space: TetSpace, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For boundary triangles (m, 3): the owning tetrahedron and its vertex opposite the face."""
    nv = len(space.points)
    if nv >= 2**21:
        raise SolverError("The mesh is too large for face matching (over 2 million vertices).")
    faces = np.sort(space.tets[:, TET_FACES], axis=2).reshape(-1, 3)
    keys = (faces[:, 0] * nv + faces[:, 1]) * nv + faces[:, 2]
    order = np.argsort(keys)
    skeys = keys[order]
    s = np.sort(tris, axis=1)
    q = (s[:, 0] * nv + s[:, 1]) * nv + s[:, 2]
    pos = np.minimum(np.searchsorted(skeys, q), len(skeys) - 1)
    if not np.all(skeys[pos] == q):
        raise SolverError(
            f"{int(np.sum(skeys[pos] != q))} boundary triangles are not faces of the mesh."
        )
    idx = order[pos]
    tet, local = idx // 4, idx % 4
    return tet, space.tets[tet, local]

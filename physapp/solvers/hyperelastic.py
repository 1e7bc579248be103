"""Large-deformation elasticity: total-Lagrangian compressible neo-Hookean solids (#22).

Kinematics and material
    ``F = I + Grad u`` (3 x 3 in every analysis: plane strain has ``F_zz = 1``, axisymmetric
    models (x = r, y = z) have the hoop stretch ``F_tt = 1 + u_r / R``). Strain energy
    ``W = mu/2 (tr C - 3) - mu ln J + lam/2 (ln J)^2``; first Piola-Kirchhoff stress
    ``P = mu (F - F^-T) + lam ln J F^-T``; Cauchy stress ``sigma = (mu (b - I) + lam ln J I) / J``.
    The consistent tangent ``A = dP/dF`` is
    ``A_iJkL = mu d_ik d_JL + (mu - lam ln J) Finv_Li Finv_Jk + lam Finv_Ji Finv_Lk``.

Discretisation
    P1 or P2 triangles / tetrahedra; scikit-fem supplies the shape functions, their gradients and
    the quadrature, and its vector-basis DOF numbering (so the supports of the linear solvers,
    :func:`physapp.solvers.elasticity2d.prescribed_dofs`, apply as they are); the residual and the
    tangent are assembled here, vectorised over elements and quadrature points. A follower
    pressure (plane analyses) adds its load stiffness, so the tangent stays consistent (then it is
    unsymmetric; the linear systems are solved by a sparse LU either way).

Path following
    ``lambda`` scales every prescribed displacement and load. Load control: Newton's method with a
    line search at each step (the first from the tangent predictor, later ones extrapolated from
    the last increment); a step that fails (no convergence, a negative Jacobian, or a jump to a
    distant equilibrium: its secant stiffness below a fifth of the last step's) is cut in half
    and retried, a step that converged quickly lets the next one grow; when the step cannot be
    cut further the solve stops and returns the steps so far (``complete = False``) with a
    message (a limit point -- the tangent stiffness along the path has fallen to about zero --
    says "try arc-length"). ``yield_stress > 0`` selects the elastic-plastic material of
    :mod:`physapp.solvers.plasticity` instead of the neo-Hookean one. Arc length: Crisfield's cylindrical constraint
    ``|du|^2 = dl^2`` with the root of the quadratic closest to the previous direction, which
    follows a path through limit points (snap-through).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem

from physapp.core.errors import Cancelled, SolverError
from physapp.core.history import FieldHistory
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.nonlinear import CONTROLS, HyperelasticSetup
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.solvers.elasticity2d import check_material, prescribed_dofs
from physapp.solvers.fem_mesh import oriented_cells, prepare, region_dofs, region_facets

ANALYSES = ("plane_strain", "axisymmetric", "3d")
#: reference coordinates of the element nodes (vertices, then edges in scikit-fem order)
_REF_NODES = {
    (2, 1): np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    (2, 2): np.array([[0.0, 1.0, 0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0, 0.5, 0.5]]),
    (3, 1): np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]),
    (3, 2): np.array([[0.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.5, 0.0],
                      [0.0, 0.0, 1.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.5],
                      [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5]]),
}
_CELL = {(2, 1): "triangle", (2, 2): "triangle6", (3, 1): "tetra", (3, 2): "tetra10"}
StepCallback = Callable[[float, dict, dict], None]


def neo_hookean_cauchy(F: np.ndarray, lam: float, mu: float) -> np.ndarray:
    """Cauchy stress of the compressible neo-Hookean solid for deformation gradients ``F``
    (..., 3, 3): ``(mu (F F^T - I) + lam ln J I) / J``."""
    F = np.asarray(F, dtype=float)
    J = np.linalg.det(F)
    b = F @ np.swapaxes(F, -1, -2)
    eye = np.eye(3)
    return (mu * (b - eye) + (lam * np.log(J))[..., None, None] * eye) / J[..., None, None]


def lame(E, nu):
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


class HyperelasticModel:
    """The discrete problem on one mesh: residual, tangent, reactions and nodal output."""

    def __init__(self, mesh: MeshData, setup: HyperelasticSetup, order: int = 2) -> None:
        if setup.analysis not in ANALYSES:
            raise SolverError(f"Unknown large-deformation analysis '{setup.analysis}' "
                              f"(use one of {ANALYSES}).")
        if order not in (1, 2):
            raise SolverError(f"Element order must be 1 or 2 (got {order}).")
        E, nu = setup.material.youngs_modulus, setup.material.poissons_ratio
        check_material(E, nu)
        self.setup, self.order = setup, order
        self.lam, self.mu = lame(E, nu)
        self.axisym = setup.analysis == "axisymmetric"
        fe = prepare(mesh, order)
        self.fe, self.m, self.mesh = fe, fe.m, fe.mesh
        self.dim = self.m.dim()
        if (self.dim == 3) != (setup.analysis == "3d"):
            raise SolverError(f"A '{setup.analysis}' analysis needs a "
                              f"{'3D' if setup.analysis == '3d' else '2D'} mesh.")
        if self.axisym and self.m.p[0].min() < -1e-12 * np.ptp(self.m.p[0]):
            raise SolverError("An axisymmetric model must lie in x = r >= 0.")
        kind = (skfem.ElementTriP1, skfem.ElementTriP2) if self.dim == 2 else \
            (skfem.ElementTetP1, skfem.ElementTetP2)
        self.scalar_elem = kind[order - 1]()
        intorder = 2 * (order - 1) + (2 if self.axisym else 0)
        self.basis = skfem.Basis(self.m, skfem.ElementVector(self.scalar_elem),
                                 intorder=max(intorder, 1))
        self.N = self.basis.N
        self.edofs = np.ascontiguousarray(self.basis.element_dofs.T)  # (ne, nloc)
        self.G, self.dV = self._operators(self.basis)
        ne, nq, nl = self.G.shape[:3]
        # the non-zero components of dF/du: 2D models keep the in-plane block and F_zz
        self._comp = np.array([0, 1, 3, 4, 8]) if self.dim == 2 else np.arange(9)
        # (ne, nq, nc, nloc) and the weighted (ne, nloc, nq * nc) for the products below
        self._Gc = np.ascontiguousarray(
            np.swapaxes(self.G.reshape(ne, nq, nl, 9)[..., self._comp], 2, 3))
        self._GW = np.ascontiguousarray(
            (self._Gc * self.dV[:, :, None, None]).transpose(0, 3, 1, 2).reshape(ne, nl, -1))
        ne, nloc = self.edofs.shape
        self._rows = np.repeat(self.edofs, nloc, axis=1).ravel()
        self._cols = np.tile(self.edofs, (1, nloc)).ravel()
        # supports: DOFs and their reference values (times lambda)
        self.fixed, self.fixed_ref = prescribed_dofs(self.m, self.mesh, self.basis, setup,
                                                     self.dim, fe.point_mids)
        if len(self.fixed) == 0:
            raise SolverError("The model has no supports: add a fixed support.")
        mask = np.ones(self.N, dtype=bool)
        mask[self.fixed] = False
        self.free = np.flatnonzero(mask)
        self.f_dead = self._dead_loads()
        self._followers = [self._follower_data(fp) for fp in setup.follower_pressures]
        self.reaction_dofs = None
        if setup.reaction is not None:
            region, comp = setup.reaction
            self.reaction_dofs = region_dofs(self.basis, self.m, self.mesh, region, int(comp),
                                             fe.point_mids)
        self.n_evals = 0
        self.plastic = None
        if setup.yield_stress > 0:
            from physapp.solvers.plasticity import HenckyJ2

            if setup.hardening < 0:
                raise SolverError("The hardening modulus must not be negative.")
            self.plastic = HenckyJ2(self.lam, self.mu, setup.yield_stress, setup.hardening,
                                    self.dV.shape)

    # -- operators -------------------------------------------------------------------------
    def _operators(self, basis):
        """G[e, q, a] = dF/du_a (3 x 3) of every local DOF, and the volume weights dV[e, q]."""
        nloc = len(basis.basis)
        ne, nq = basis.dx.shape
        G = np.zeros((ne, nq, nloc, 3, 3))
        d = self.dim
        r = np.asarray(basis.global_coordinates())[0] if self.axisym else None
        for a, (phi,) in enumerate(basis.basis):
            g = np.asarray(phi.grad)  # (d, d, ne, nq): d phi_i / d X_J
            G[:, :, a, :d, :d] = np.moveaxis(g, (0, 1), (2, 3))
            if self.axisym:
                G[:, :, a, 2, 2] = np.asarray(phi)[0] / r
        dV = np.asarray(basis.dx) * (r if self.axisym else self.setup.thickness if d == 2 else 1.0)
        return G, dV

    def deformation_gradient(self, x: np.ndarray, G: np.ndarray | None = None,
                             edofs: np.ndarray | None = None) -> np.ndarray:
        G = self.G if G is None else G
        edofs = self.edofs if edofs is None else edofs
        F = np.einsum("eqaij,ea->eqij", G, x[edofs])
        F += np.eye(3)
        return F

    def displacement_gradient(self, x: np.ndarray) -> np.ndarray:
        ne, nq = self.dV.shape
        Hc = (self._Gc @ x[self.edofs][:, None, :, None])[..., 0]  # (ne, nq, nc)
        H = np.zeros((ne, nq, 9))
        H[..., self._comp] = Hc
        return H.reshape(ne, nq, 3, 3)

    def internal(self, x: np.ndarray, tangent: bool = True):
        """(internal force vector, tangent matrix or None, min J) at displacement ``x``."""
        self.n_evals += 1
        # written in H = Grad u so that small strains lose no digits to cancellation:
        # J - 1 = I1(H) + I2(H) + det H, F - F^-T = F^-T (C - I), C - I = H + H^T + H^T H
        H = self.displacement_gradient(x)
        F = H + np.eye(3)
        trH = np.einsum("eqii->eq", H)
        HH = H @ H
        Jm1 = trH + 0.5 * (trH**2 - np.einsum("eqii->eq", HH)) + np.linalg.det(H)
        minJ = float(1.0 + Jm1.min())
        if not minJ > 0.0 or not np.isfinite(minJ):
            return None, None, minJ
        if self.plastic is not None:
            return self._internal_plastic(F, tangent, minJ)
        Finv = np.linalg.inv(F)
        FinvT = np.swapaxes(Finv, -1, -2)
        lnJ = np.log1p(Jm1)
        lam, mu = self.lam, self.mu
        HT = np.swapaxes(H, -1, -2)
        P = FinvT @ (mu * (H + HT + HT @ H)) + (lam * lnJ)[..., None, None] * FinvT
        ne, nq = self.dV.shape
        comp = self._comp
        Pc = P.reshape(ne, nq, 9)[..., comp].reshape(ne, -1)  # (ne, nq * nc)
        fe = (self._GW @ Pc[:, :, None])[..., 0]
        fint = np.bincount(self.edofs.ravel(), fe.ravel(), minlength=self.N)
        if not tangent:
            return fint, None, minJ
        G = self.G
        # A : G_b = mu G_b + (mu - lam ln J) (Finv G_b Finv)^T + lam tr(Finv G_b) Finv^T
        FG = Finv[:, :, None] @ G
        AG = (mu - lam * lnJ)[:, :, None, None, None] * np.swapaxes(
            FG @ Finv[:, :, None], -1, -2)
        AG += mu * G
        AG += (lam * np.einsum("eqbii->eqb", FG))[..., None, None] * FinvT[:, :, None]
        nl = G.shape[2]
        AGc = AG.reshape(ne, nq, nl, 9)[..., comp].reshape(ne, nq, nl, -1)
        AGc = AGc.transpose(0, 1, 3, 2).reshape(ne, -1, nl)  # (ne, nq * nc, nloc)
        Ke = self._GW @ AGc
        K = sp.coo_matrix((Ke.ravel(), (self._rows, self._cols)), shape=(self.N, self.N)).tocsr()
        return fint, K, minJ

    def _internal_plastic(self, F, tangent, minJ):
        """Internal forces and tangent of the elastic-plastic material (see solvers.plasticity)
        from the last committed state."""
        P, A = self.plastic.stress_and_tangent(F, tangent, components=self._comp)
        ne, nq = self.dV.shape
        comp = self._comp
        fe = (self._GW @ P.reshape(ne, nq, 9)[..., comp].reshape(ne, -1)[:, :, None])[..., 0]
        fint = np.bincount(self.edofs.ravel(), fe.ravel(), minlength=self.N)
        if not tangent:
            return fint, None, minJ
        nl = self.G.shape[2]
        Ac = A.reshape(ne, nq, 9, 9)[:, :, comp][:, :, :, comp]  # (ne, nq, nc, nc)
        AG = Ac @ self._Gc  # (ne, nq, nc, nloc)
        Ke = self._GW @ AG.reshape(ne, -1, nl)
        K = sp.coo_matrix((Ke.ravel(), (self._rows, self._cols)), shape=(self.N, self.N)).tocsr()
        return fint, K, minJ

    def commit(self) -> None:
        """Accept the material state of the last evaluation (called at each converged step)."""
        if self.plastic is not None:
            self.plastic.commit()

    def _element_average_to_nodes(self, values: np.ndarray) -> np.ndarray:
        """Quadrature-point values (ne, nq, ...) -> element means -> node means."""
        out, _, _, sdofs, _, _ = (self.output_mesh(), *self._out[1:])
        w = self.dV / self.dV.sum(axis=1, keepdims=True)
        elem = np.einsum("eq,eq...->e...", w, values)
        flat = sdofs  # (nnodes, ne)
        count = np.bincount(flat.ravel(), minlength=out.n_points)
        rep = np.broadcast_to(elem[None], (flat.shape[0], *elem.shape)).reshape(
            flat.size, *elem.shape[1:])
        res = np.zeros((out.n_points, *elem.shape[1:]))
        np.add.at(res, flat.ravel(), rep)
        return res / count.reshape(-1, *([1] * (elem.ndim - 1)))

    # -- loads -----------------------------------------------------------------------------
    def _dead_loads(self) -> np.ndarray:
        f = np.zeros(self.N)
        axisym = self.axisym
        for t in self.setup.tractions:
            facets = region_facets(self.m, self.mesh, t.region)
            fb = skfem.FacetBasis(self.m, self.basis.elem, facets=facets,
                                  intorder=2 * self.order + 1)
            vec = np.zeros(self.dim)
            vec[: min(len(t.vector), self.dim)] = np.asarray(t.vector, float)[: self.dim]

            @skfem.Functional
            def area(w):
                return w.x[0] if axisym else 1.0 + 0.0 * w.x[0]

            if t.total:
                vec = vec / float(area.assemble(fb))

            @skfem.LinearForm
            def surface(v, w, vec=vec):
                val = sum(vec[i] * v[i] for i in range(len(vec)))
                return val * w.x[0] if axisym else val

            f += surface.assemble(fb)
        return f

    def _follower_data(self, fp):
        """Per facet of a follower-pressure region: the DOFs of its nodes along the edge (two
        vertices, then the mid node at P2) ordered so that (t_y, -t_x) points outward."""
        if self.dim != 2 or self.axisym:
            raise SolverError("Follower pressures are available in plane analyses only.")
        facets = region_facets(self.m, self.mesh, fp.region)
        v = self.m.facets[:, facets].T.copy()  # (nf, 2)
        elem = self.m.f2t[0, facets]
        third = self.m.t[:, elem].T
        p = self.m.p
        centre = p[:, third].mean(axis=2).T  # centroid of the adjacent triangle
        t = p[:, v[:, 1]].T - p[:, v[:, 0]].T
        n = np.column_stack([t[:, 1], -t[:, 0]])
        mid = 0.5 * (p[:, v[:, 1]].T + p[:, v[:, 0]].T)
        flip = np.einsum("ij,ij->i", n, mid - centre) < 0
        v[flip] = v[flip][:, ::-1]
        nd = self.basis.nodal_dofs
        dofs = [np.stack([nd[0, v[:, k]], nd[1, v[:, k]]], axis=1) for k in range(2)]
        if self.order == 2:
            fd = self.basis.facet_dofs
            dofs.append(np.stack([fd[0, facets], fd[1, facets]], axis=1))
        dofs = np.stack(dofs, axis=1)  # (nf, nn, 2)
        X = self.basis.doflocs[:, dofs[:, :, 0]]  # (2, nf, nn)
        xi, wq = np.polynomial.legendre.leggauss(4)
        xi, wq = 0.5 * (xi + 1.0), 0.5 * wq
        if self.order == 2:
            Nf = np.stack([(1 - xi) * (1 - 2 * xi), xi * (2 * xi - 1), 4 * xi * (1 - xi)])
            dN = np.stack([4 * xi - 3, 4 * xi - 1, 4 - 8 * xi])
        else:
            Nf = np.stack([1 - xi, xi])
            dN = np.stack([-np.ones_like(xi), np.ones_like(xi)])
        Xq = np.einsum("dfn,nq->dfq", X, Nf)
        grad = np.asarray(fp.gradient, float)
        pq = fp.value + sum(grad[i] * Xq[i] for i in range(min(len(grad), 2)))
        return dofs, Nf, dN, wq, pq  # pq: (nf, nq) reference pressure at the quadrature points

    def follower(self, x: np.ndarray, tangent: bool = True):
        """Unit-load-factor follower force vector and d f / d u (or None) at ``x``."""
        f = np.zeros(self.N)
        if not self._followers:
            return f, None
        rows, cols, vals = [], [], []
        rot = np.array([[0.0, 1.0], [-1.0, 0.0]])  # (t_x, t_y) -> (t_y, -t_x)
        for dofs, Nf, dN, wq, pq in self._followers:
            xc = self.basis.doflocs[:, dofs[:, :, 0]] + np.stack([x[dofs[:, :, 0]],
                                                                  x[dofs[:, :, 1]]])
            t = np.einsum("dfn,nq->fqd", xc, dN)
            nds = t @ rot.T  # outward normal times the length element
            # f_a = -int p N_a n ds
            fa = -np.einsum("fq,aq,fqd,q->fad", pq, Nf, nds, wq)
            np.add.at(f, dofs.ravel(), fa.ravel())
            if tangent:
                # d f_{a,i} / d x_{b,k} = -int p N_a rot_ik dN_b
                kab = -np.einsum("fq,aq,bq,q->fab", pq, Nf, dN, wq)
                blk = kab[:, :, None, :, None] * rot[None, None, :, None, :]  # (f,a,i,b,k)
                nn = dofs.shape[1]
                di = dofs.reshape(len(dofs), nn * 2)
                rows.append(np.repeat(di, nn * 2, axis=1).ravel())
                cols.append(np.tile(di, (1, nn * 2)).ravel())
                vals.append(blk.reshape(len(dofs), -1).ravel())
        Kf = None
        if tangent:
            Kf = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(self.N, self.N)).tocsr()
        return f, Kf

    def external(self, x: np.ndarray, tangent: bool = True):
        """(unit-load-factor external force, its derivative w.r.t. u or None)."""
        ff, Kf = self.follower(x, tangent)
        return self.f_dead + ff, Kf

    # -- output ----------------------------------------------------------------------------
    def reaction(self, x: np.ndarray, lam: float) -> float:
        if self.reaction_dofs is None:
            return float("nan")
        fint = self.internal(x, tangent=False)[0]
        fext = self.external(x, tangent=False)[0]
        r = fint - lam * fext
        return float(r[self.reaction_dofs].sum()) * self.setup.reaction_scale

    def output_mesh(self) -> MeshData:
        if not hasattr(self, "_out"):
            scalar = skfem.Basis(self.m, self.scalar_elem)
            ref = _REF_NODES[(self.dim, self.order)]
            qb = skfem.Basis(self.m, self.basis.elem, quadrature=(ref, np.ones(ref.shape[1])))
            Gn, _ = self._operators_nodes(qb)
            dofs = scalar.element_dofs
            pts = scalar.doflocs.T
            if self.dim == 2:
                pts = np.column_stack([pts, np.zeros(len(pts))])
            cells = oriented_cells(pts, dofs.T) if self.dim == 2 else dofs.T
            out = MeshData(pts, (CellBlock(_CELL[(self.dim, self.order)], cells),),
                           self.mesh.boundaries, self.mesh.subdomains, self.dim,
                           self.mesh.length_unit, self.mesh.edges, self.mesh.point_sets)
            node_dofs = np.zeros((scalar.N, self.dim), dtype=np.int64)
            for c, idx in enumerate(self.basis.split_indices()):
                node_dofs[:, c] = idx
            self._out = (out, Gn, qb.element_dofs.T, dofs, node_dofs, qb)
        return self._out[0]

    def _operators_nodes(self, qb):
        """Like :meth:`_operators` at the element nodes; on the axis the hoop term u_r / R is
        replaced by its limit d u_r / d R."""
        nloc = len(qb.basis)
        ne, nq = qb.dx.shape
        G = np.zeros((ne, nq, nloc, 3, 3))
        d = self.dim
        if self.axisym:
            r = np.asarray(qb.global_coordinates())[0]
            on_axis = r <= 1e-12 * np.ptp(self.m.p[0])
        for a, (phi,) in enumerate(qb.basis):
            g = np.moveaxis(np.asarray(phi.grad), (0, 1), (2, 3))
            G[:, :, a, :d, :d] = g
            if self.axisym:
                G[:, :, a, 2, 2] = np.where(on_axis, g[..., 0, 0],
                                            np.asarray(phi)[0] / np.where(on_axis, 1.0, r))
        return G, None

    def nodal_fields(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Displacement and Cauchy stresses (averaged over the elements at each node)."""
        out, Gn, edofs_n, sdofs, node_dofs, _ = (self.output_mesh(), *self._out[1:])
        n = out.n_points
        extra = {}
        if self.plastic is not None:
            # Cauchy stress tau / J at the quadrature points of the state last evaluated at x
            F = self.deformation_gradient(x)
            self.internal(x, tangent=False)
            sq = self.plastic.kirchhoff() / np.linalg.det(F)[..., None, None]
            snode = self._element_average_to_nodes(sq)
            sig = {(i, j): snode[:, i, j] for i in range(3) for j in range(i, 3)}
            extra["plastic_strain"] = self._element_average_to_nodes(self.plastic._trial[1])
        else:
            F = self.deformation_gradient(x, Gn, edofs_n)
            s = neo_hookean_cauchy(F, self.lam, self.mu)  # (ne, nnodes, 3, 3)
            flat = sdofs.ravel()  # (nnodes, ne) -> node-major, matching s.T below
            count = np.bincount(flat, minlength=n)

            def avg(a):  # a: (ne, nnodes)
                return np.bincount(flat, np.asarray(a).T.ravel(), minlength=n) / count

            sig = {(i, j): avg(s[..., i, j]) for i in range(3) for j in range(i, 3)}
        vm = np.sqrt(0.5 * ((sig[0, 0] - sig[1, 1]) ** 2 + (sig[1, 1] - sig[2, 2]) ** 2
                            + (sig[2, 2] - sig[0, 0]) ** 2)
                     + 3.0 * (sig[0, 1] ** 2 + sig[1, 2] ** 2 + sig[0, 2] ** 2))
        u = np.zeros((n, 3))
        u[:, : self.dim] = x[node_dofs]
        fields = {"displacement": u}
        if self.axisym:
            fields.update(sigma_rr=sig[0, 0], sigma_zz=sig[1, 1], sigma_hoop=sig[2, 2],
                          tau_rz=sig[0, 1])
        elif self.dim == 2:
            fields.update(sigma_xx=sig[0, 0], sigma_yy=sig[1, 1], sigma_zz=sig[2, 2],
                          tau_xy=sig[0, 1])
        else:
            fields.update(sigma_xx=sig[0, 0], sigma_yy=sig[1, 1], sigma_zz=sig[2, 2],
                          tau_xy=sig[0, 1], tau_yz=sig[1, 2], tau_xz=sig[0, 2])
        fields["von_mises"] = vm
        fields.update(extra)
        return fields


# -- Newton ------------------------------------------------------------------------------------
@dataclass
class NewtonReport:
    converged: bool
    iterations: int
    residuals: list[float]
    reason: str = ""


@dataclass
class PathResult:
    """The converged states along a path: load factors, DOF vectors, reactions, iterations."""

    load_factors: list[float] = field(default_factory=list)
    states: list[np.ndarray] = field(default_factory=list)
    reactions: list[float] = field(default_factory=list)
    iterations: list[int] = field(default_factory=list)
    residual_histories: list[list[float]] = field(default_factory=list)
    complete: bool = True
    message: str = ""
    cuts: int = 0
    n_solves: int = 0


class _System:
    """Residual R(x, lam) = f_int(x) - lam f_ext(x) on the free DOFs, with x_fixed = lam * ref."""

    def __init__(self, model: HyperelasticModel, rtol: float, max_iter: int) -> None:
        self.model, self.rtol, self.max_iter = model, rtol, max_iter
        self.free, self.fixed = model.free, model.fixed
        self.n_solves = 0
        self.growth = 1e3

    def place(self, xf: np.ndarray, lam: float) -> np.ndarray:
        x = np.zeros(self.model.N)
        x[self.free] = xf
        x[self.fixed] = lam * self.model.fixed_ref
        return x

    def evaluate(self, xf, lam, tangent=True):
        """(R_free, K_ff or None, q, scale, minJ); q = -dR/dlam (the load direction)."""
        x = self.place(xf, lam)
        fint, K, minJ = self.model.internal(x, tangent)
        if fint is None:
            return None, None, None, None, minJ
        fext, Kf = self.model.external(x, tangent)
        R = fint - lam * fext
        scale = max(np.linalg.norm(fint), abs(lam) * np.linalg.norm(fext), 1e-300)
        Rf = R[self.free]
        if not tangent:
            return Rf, None, None, scale, minJ
        if Kf is not None:
            K = K - lam * Kf
        Kff = K[self.free][:, self.free].tocsc()
        q = fext[self.free] - K[self.free][:, self.fixed] @ self.model.fixed_ref
        return Rf, Kff, q, scale, minJ

    def factor(self, K):
        self.n_solves += 1
        try:
            return spla.splu(K, permc_spec="MMD_AT_PLUS_A")
        except RuntimeError as exc:  # exactly singular
            raise np.linalg.LinAlgError(str(exc)) from exc

    def converged(self, R, scale, res=()) -> bool:
        """|R| <= rtol |f|; or, within 100 rtol, a residual that stopped falling (the round-off
        floor of a large model: the relative residuals ``res`` so far tell)."""
        if np.linalg.norm(R) <= self.rtol * scale:
            return True
        return len(res) > 1 and res[-1] <= 100 * self.rtol and res[-1] > 0.3 * res[-2]

    def newton(self, xf, lam, cancel: CancelToken = NEVER):
        """Newton with a line search at fixed ``lam`` from ``xf``; returns (xf, report)."""
        res = []
        R, K, _, scale, minJ = self.evaluate(xf, lam)
        if R is None:
            return xf, NewtonReport(False, 0, res, f"inverted elements (J = {minJ:.3g})")
        for it in range(self.max_iter + 1):
            cancel.check()
            rn = float(np.linalg.norm(R))
            res.append(rn / scale)
            if self.converged(R, scale, res):
                return xf, NewtonReport(True, it, res)
            if it == self.max_iter or not np.isfinite(rn):
                break
            try:
                dx = -self.factor(K).solve(R)
            except np.linalg.LinAlgError:
                return xf, NewtonReport(False, it, res, "singular tangent")
            xf_new, ok = self._line_search(xf, dx, lam, R)
            if not ok:
                return xf, NewtonReport(False, it, res, "line search failed (inverted elements)")
            xf = xf_new
            R, K, _, scale, minJ = self.evaluate(xf, lam)
            if len(res) > 3 and res[-1] > 1e3 * res[0]:
                break
            # elastic-plastic: a step whose residual has not halved in 8 iterations is cut at
            # once (plastic flow computed at a wild iterate rarely recovers)
            if self.model.plastic is not None and len(res) > 8 and res[-1] > 0.5 * res[0]:
                break
            # any model: no sign of the quadratic range after 12 iterations -> cut the step
            if len(res) > 12 and res[-1] > 1e-2 * res[0]:
                break
        return xf, NewtonReport(False, len(res) - 1, res, "no convergence")

    def _line_search(self, xf, dx, lam, R0):
        """Backtracking: the full Newton step unless it inverts elements or multiplies the
        residual norm by more than ``growth``; then halve it (at most 6 times) and keep the
        trial with the smallest residual. (An energy-slope line search damps the large-rotation
        steps of slender structures too much: they converge faster undamped.)"""
        r0 = float(np.linalg.norm(R0))
        a, best = 1.0, None
        for _ in range(7):
            R, _, _, _, minJ = self.evaluate(xf + a * dx, lam, tangent=False)
            if R is not None:
                rn = float(np.linalg.norm(R))
                if np.isfinite(rn) and rn <= self.growth * r0:
                    return xf + a * dx, True
                if np.isfinite(rn) and (best is None or rn < best[1]):
                    best = (a, rn)
            a *= 0.5
        if best is None:
            return xf, False
        return xf + best[0] * dx, True


def _stiffness_parameter(path: PathResult) -> float:
    """Current stiffness d lam / |du| of the last increment relative to the first one."""
    if len(path.states) < 3:
        return 1.0

    def k(i):
        du = np.linalg.norm(path.states[i] - path.states[i - 1])
        return (path.load_factors[i] - path.load_factors[i - 1]) / max(du, 1e-300)

    return k(len(path.states) - 1) / k(1) if k(1) != 0 else 1.0


def follow_path(model: HyperelasticModel, *, control: str = "load", n_steps: int = 10,
                max_load_factor: float = 1.0, max_steps: int = 200, rtol: float = 1e-9,
                max_iter: int = 25, min_step: float = 1e-3, checkpoints=(),
                max_growth: float = 4.0,
                on_step: Callable[[float, np.ndarray, int], None] | None = None,
                stop: Callable[[np.ndarray, float], bool] | None = None,
                progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> PathResult:
    """Follow the equilibrium path from lambda = 0 to ``max_load_factor``.

    ``control``: ``"load"`` (steps in lambda with cutting; ``min_step`` is the smallest step as a
    fraction of the first one; steps land on the load factors ``checkpoints``) or
    ``"arc-length"``. ``on_step(lam, x, i)`` is called after each
    converged step; ``stop(x, lam)`` ends the path early (e.g. a displacement reached).
    """
    if control not in CONTROLS:
        raise SolverError(f"Unknown path control '{control}' (use one of {CONTROLS}).")
    if n_steps < 1 or not max_load_factor > 0:
        raise SolverError("The path needs at least one step and a positive final load factor.")
    system = _System(model, rtol, max_iter)
    path = PathResult()
    free = model.free

    def record(xf, lam, rep):
        x = system.place(xf, lam)
        model.commit()
        path.load_factors.append(float(lam))
        path.states.append(x)
        path.reactions.append(model.reaction(x, lam))
        path.iterations.append(rep.iterations if rep else 0)
        path.residual_histories.append(rep.residuals if rep else [])
        if on_step is not None:
            on_step(float(lam), x, len(path.states) - 1)
        progress(min(abs(lam) / max_load_factor, 1.0) * 0.95,
                 f"Step {len(path.states) - 1}: load factor {lam:.4g}")

    xf = np.zeros(len(free))
    record(xf, 0.0, None)
    d0 = max_load_factor / n_steps
    if control == "load":
        lam, dlam, prev_dx, prev_dlam, k_prev, jump = 0.0, d0, None, None, None, 0.2
        while lam < max_load_factor * (1 - 1e-12) and len(path.states) <= max_steps:
            cancel.check()
            dlam = min(dlam, max_load_factor - lam)
            ahead = [c - lam for c in checkpoints if c - lam > 1e-12 * max_load_factor]
            if ahead:
                dlam = min(dlam, min(ahead))
            if prev_dx is None:  # tangent predictor: the converged tangent, not the one at
                # "boundary moved, interior not" (which can be far in the plastic range)
                _, K0, q0, _, _ = system.evaluate(xf, lam)
                try:
                    guess = xf + dlam * system.factor(K0).solve(q0)
                except np.linalg.LinAlgError:
                    guess = xf
            else:
                guess = xf + prev_dx * (dlam / prev_dlam)
            x_new, rep = system.newton(guess, lam + dlam, cancel)
            if not rep.converged and prev_dx is not None and dlam < d0:  # retry from the last state
                x_new, rep = system.newton(xf, lam + dlam, cancel)
            if rep.converged:
                # a converged step whose secant stiffness dlam / |du| fell to a fraction of the
                # last one has jumped to a distant equilibrium (past a limit point): cut it
                du = float(np.linalg.norm(system.place(x_new, lam + dlam)
                                          - system.place(xf, lam)))
                k_step = dlam / max(du, 1e-300)
                if k_prev is not None and k_step < jump * k_prev:
                    rep = NewtonReport(False, rep.iterations, rep.residuals,
                                       "the step jumped to a distant equilibrium")
            if rep.converged:
                k_prev = k_step
                prev_dx, prev_dlam = x_new - xf, dlam
                xf, lam = x_new, lam + dlam
                record(xf, lam, rep)
                if stop is not None and stop(path.states[-1], lam):
                    break
                if rep.iterations <= 5:
                    dlam = min(1.5 * dlam, max_growth * d0)
                continue
            path.cuts += 1
            dlam *= 0.5
            if dlam < min_step * d0:
                kp = _stiffness_parameter(path)
                where = (f"at load factor {lam:.6g} (step {len(path.states) - 1})")
                why = (f"the step to {lam + 2 * dlam:.6g} did not converge even cut to "
                       f"{2 * dlam:.3g} ({rep.reason})")
                hint = ("limit point reached (the tangent stiffness along the path is "
                        f"{kp:.2g} of the initial one): try arc-length") if kp < 0.1 else \
                    "the path may bifurcate or snap here: try arc-length or smaller steps"
                path.complete, path.message = False, f"Stopped {where}: {why}; {hint}."
                break
        else:
            if len(path.states) > max_steps:
                path.complete = False
                path.message = f"Stopped after {max_steps} steps at load factor {lam:.6g}."
        path.n_solves = system.n_solves
        return path

    # arc length (Crisfield, cylindrical)
    lam, dl, prev = 0.0, None, None
    desired = 5
    while len(path.states) <= max_steps:
        cancel.check()
        R, K, q, scale, _ = system.evaluate(xf, lam)
        try:
            lu = system.factor(K)
        except np.linalg.LinAlgError:
            path.complete, path.message = False, f"Singular tangent at load factor {lam:.6g}."
            break
        dt = lu.solve(q)
        if dl is None:
            dl = d0 * float(np.linalg.norm(dt))
        sign = 1.0 if prev is None else math.copysign(1.0, float(prev @ dt) or 1.0)
        ok = False
        for _cut in range(12):
            dlam = sign * dl / max(float(np.linalg.norm(dt)), 1e-300)
            Dx, Dl = dlam * dt, dlam
            res = []
            for it in range(max_iter + 1):
                Rk, Kk, qk, sk, minJ = system.evaluate(xf + Dx, lam + Dl)
                if Rk is None:
                    break
                res.append(float(np.linalg.norm(Rk)) / sk)
                if system.converged(Rk, sk, res) and it > 0:
                    ok = True
                    break
                if it == max_iter:
                    break
                try:
                    luk = system.factor(Kk)
                except np.linalg.LinAlgError:
                    break
                dR, dT = -luk.solve(Rk), luk.solve(qk)
                a = float(dT @ dT)
                w = Dx + dR
                b = 2.0 * float(dT @ w)
                c = float(w @ w) - dl * dl
                disc = b * b - 4 * a * c
                if disc < 0:
                    break
                roots = [(-b + math.sqrt(disc)) / (2 * a), (-b - math.sqrt(disc)) / (2 * a)]
                ref = Dx if prev is None or np.linalg.norm(Dx) > 0 else prev
                cands = [(float((w + g * dT) @ ref), g) for g in roots]
                g = max(cands)[1]
                Dx, Dl = w + g * dT, Dl + g
            if ok:
                break
            path.cuts += 1
            dl *= 0.5
        if not ok:
            path.complete = False
            path.message = (f"Stopped at load factor {lam:.6g} (step {len(path.states) - 1}): "
                            "the arc-length corrector did not converge even with the arc cut "
                            "12 times.")
            break
        prev = Dx
        xf, lam = xf + Dx, lam + Dl
        record(xf, lam, NewtonReport(True, len(res) - 1, res))
        iters = max(len(res) - 1, 1)
        dl *= float(np.clip(math.sqrt(desired / iters), 0.5, 2.0))
        if lam >= max_load_factor or (stop is not None and stop(path.states[-1], lam)):
            break
    else:
        path.complete = False
        path.message = f"Stopped after {max_steps} steps at load factor {lam:.6g}."
    path.n_solves = system.n_solves
    return path


@dataclass
class NonlinearSolution:
    """The last converged state (``fields`` on ``out_mesh``) and the whole path (``history``)."""

    out_mesh: MeshData
    fields: dict[str, np.ndarray]
    history: FieldHistory
    path: PathResult
    stats: dict = field(default_factory=dict)


def solve_hyperelastic(mesh: MeshData, setup: HyperelasticSetup, *, order: int = 2,
                       progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                       on_step: StepCallback | None = None, rtol: float = 1e-9,
                       stop: Callable[[np.ndarray, float], bool] | None = None,
                       checkpoints=(), sink=None) -> NonlinearSolution:
    """Solve ``setup`` on ``mesh`` along its load path; every converged step's fields go to the
    history (and to ``on_step(t, fields, curves)`` as it comes, and to ``sink``, a
    :class:`~physapp.core.history_sink.HistorySink` such as ``io.history.HistoryWriter`` that
    streams them to a file, so a killed solve leaves its steps there).

    A path that stops early is returned (``history.complete`` False, ``history.meta["stopped"]``
    the reason) unless not even the first step converged (SolverError). Cancelling raises
    Cancelled."""
    t0 = time.perf_counter()
    progress(0.0, "Setting up the large-deformation model")
    model = HyperelasticModel(mesh, setup, order)
    out_mesh = model.output_mesh()
    steps: list[dict[str, np.ndarray]] = []
    ts: list[float] = []
    curve: list[float] = []
    units = {"displacement": "m", "von_mises": "Pa", "plastic_strain": "1"}
    curve_units = {"reaction_force": "N"} if setup.reaction is not None else {}
    if sink is not None:
        sink.begin(out_mesh, source="solver:hyperelastic", units=units,
                   curve_units=curve_units, time_label=setup.time_label,
                   time_unit=setup.time_unit)

    def each(lam: float, x: np.ndarray, i: int) -> None:
        fields = model.nodal_fields(x)
        steps.append({name: fields[name].astype(np.float32)
                      for name in ("displacement", "von_mises", "plastic_strain")
                      if name in fields})
        t = lam * setup.time_scale
        ts.append(t)
        curves = {}
        if setup.reaction is not None:
            curve.append(model.reaction(x, lam) + 0.0)  # no -0.0 at the start
            curves["reaction_force"] = curve[-1]
        if on_step is not None:
            on_step(t, fields, curves)
        if sink is not None:
            sink.append(t, steps[-1], curves)

    grid = ()
    if setup.uniform_steps:
        grid = tuple(setup.max_load_factor * k / setup.n_steps for k in range(1, setup.n_steps))
    try:
        path = follow_path(model, control=setup.control, n_steps=setup.n_steps,
                           max_load_factor=setup.max_load_factor, max_steps=setup.max_steps,
                           rtol=rtol, on_step=each, stop=stop, progress=progress, cancel=cancel,
                           checkpoints=tuple(checkpoints) + grid,
                           max_growth=setup.max_step_growth)
    except Cancelled:
        raise
    if len(path.states) < 2:
        raise SolverError(path.message or "The first load step did not converge.")
    fields = model.nodal_fields(path.states[-1])
    meta = {"n_dofs": int(model.N), "n_steps": len(path.states) - 1,
            "newton_iterations": int(sum(path.iterations)), "step_cuts": path.cuts,
            "factorisations": path.n_solves, "control": setup.control,
            "t_solve": time.perf_counter() - t0}
    if not path.complete:
        meta["stopped"] = path.message
    hist = FieldHistory(
        out_mesh, np.asarray(ts),
        {name: np.stack([s[name] for s in steps]) for name in steps[0]},
        "solver:hyperelastic", meta, units,
        curves={"reaction_force": np.asarray(curve)} if curve else {},
        curve_units=curve_units if curve else {},
        time_label=setup.time_label, time_unit=setup.time_unit, complete=path.complete)
    warnings = [path.message] if path.message else []
    if order == 1:
        warnings.append("Linear (P1) elements are too stiff in bending (thin walls, beams) and "
                        "near incompressibility: solve large deformations at order 2.")
    stats = dict(meta, history=hist, load_factors=list(path.load_factors),
                 warnings=warnings, method="Newton + sparse LU",
                 field_units={"displacement": "m"})
    if curve:
        t, f = np.asarray(ts), np.asarray(curve)
        i = int(np.argmax(f))
        k0 = float(f[1] / t[1]) if len(t) > 1 and t[1] != 0 else float("nan")
        names = setup.key_names
        stats["curves"] = {"reaction_force": [[float(a), float(b)] for a, b in zip(t, f,
                                                                                  strict=True)]}
        stats["key_quantities"] = {names[0]: float(f[i]), names[1]: float(t[i]), names[2]: k0}
        unit = setup.time_unit if setup.time_unit != "1" else ""
        stats["key_units"] = {names[0]: "N", names[1]: unit,
                              names[2]: f"N/{unit}" if unit else "N"}
    if sink is not None:
        sink.end(complete=path.complete, meta={k: v for k, v in stats.items()
                                               if k in ("key_quantities", "key_units",
                                                        "warnings", *meta)})
    progress(1.0, "Done" if path.complete else "Stopped early")
    return NonlinearSolution(out_mesh, fields, hist, path, stats)

"""The discrete large-deformation problem (#22): total-Lagrangian compressible neo-Hookean (or,
with ``yield_stress > 0``, elastic-plastic) solids on one mesh.

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

:class:`HyperelasticModel` gives the residual's parts, the tangent, reactions and nodal output;
:mod:`physapp.solvers.hyperelastic_path` follows its equilibrium path and
:mod:`physapp.solvers.hyperelastic` turns the path into a solution with a history.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import skfem

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.nonlinear import HyperelasticSetup
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

"""3D linear elasticity on curved (isoparametric) quadratic tetrahedra, assembled with scikit-fem.

:func:`physapp.solvers.elasticity3d.solve_solid` uses its own vectorised straight-sided assembly;
when a tetra10 mesh (from a file, a split hexahedron20 mesh or a second-order CAD mesh) has
mid-side nodes off the straight edges and the solve is P2, it comes here instead, so curved holes
and fillets keep their shape. Same loads, supports, outputs and statistics as the straight path.
"""

from __future__ import annotations

import time

import numpy as np
import skfem
from skfem.helpers import sym_grad, trace

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import ElasticSetup
from physapp.solvers.fem_mesh import FeMesh, nodal_force_vector, region_dofs, region_facets
from physapp.solvers.linear import rigid_body_modes, solve_spd
from physapp.solvers.wellposed import check_bodies_held

#: barycentric-free reference coordinates of the tetra10 nodes (vertices, then edges)
_REF = np.array([[0, 1, 0, 0, 0.5, 0.5, 0, 0, 0.5, 0], [0, 0, 1, 0, 0, 0.5, 0.5, 0, 0, 0.5],
                 [0, 0, 0, 1, 0, 0, 0, 0.5, 0.5, 0.5]], dtype=float)
STRESS_NAMES = ("sigma_xx", "sigma_yy", "sigma_zz", "tau_xy", "tau_yz", "tau_xz")


def solve_curved(fe: FeMesh, setup: ElasticSetup, lam: float, mu: float, *,
                 body_force=None, progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER, rtol: float = 1e-8):
    """Solve on the quadratic mesh ``fe.m`` (MeshTet2) with P2; returns a PlaneSolution."""
    from physapp.solvers.elasticity2d import PlaneSolution

    m, mesh = fe.m, fe.mesh
    t0 = time.perf_counter()
    progress(0.0, "Assembling stiffness (curved P2 tetrahedra)")
    elem = skfem.ElementVector(skfem.ElementTetP2())
    basis = skfem.Basis(m, elem, intorder=4)
    lam = np.broadcast_to(np.asarray(lam, dtype=float), (m.nelements,))
    mu = np.broadcast_to(np.asarray(mu, dtype=float), (m.nelements,))
    dg = skfem.Basis(m, skfem.ElementDG(skfem.ElementTetP0()), quadrature=basis.quadrature)

    K = stiffness_matrix(m, lam, mu, basis.N)
    cancel.check()
    f = np.zeros(basis.N)
    loads = []
    for t in setup.tractions:
        vec = np.zeros(3)
        vec[: len(t.vector)] = np.asarray(t.vector, dtype=float)[:3]
        if t.total:
            fb1 = skfem.FacetBasis(m, skfem.ElementTetP1(), facets=region_facets(m, mesh, t.region))
            area = float(skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).assemble(fb1))
            if area <= 0:
                raise SolverError(f"Region '{t.region}' has zero area; a force cannot be spread "
                                  "over it.")
            vec = vec / area
        loads.append((t.region, vec, 0.0))
    loads += [(p.region, np.zeros(3), float(p.value)) for p in setup.pressures]
    for region, vec, pressure in loads:
        fb = skfem.FacetBasis(m, elem, facets=region_facets(m, mesh, region), intorder=5)

        @skfem.LinearForm
        def surface(v, w, vec=vec, p=pressure):
            return sum((vec[i] - p * w.n[i]) * v[i] for i in range(3))

        f += surface.assemble(fb)
    const = np.zeros(3)
    const[: len(setup.body_force)] = np.asarray(setup.body_force, dtype=float)[:3]
    if body_force is not None or np.any(const != 0):

        @skfem.LinearForm
        def volume(v, w):
            b = list(const)
            if body_force is not None:
                extra = body_force(w.x[0], w.x[1], w.x[2])
                b = [b[i] + extra[i] for i in range(3)]
            return sum(b[i] * v[i] for i in range(3))

        f += volume.assemble(basis)
    dT_nodes = None
    if setup.thermal is not None:
        th = setup.thermal
        temp = np.asarray(th.temperature, dtype=float)
        sbasis = skfem.Basis(m, skfem.ElementTetP1(), quadrature=basis.quadrature)
        if temp.ndim == 0:
            dT_nodes = np.full(m.nvertices, float(temp) - th.t_ref)
        else:
            temp = temp.ravel()
            if len(temp) == len(fe.vmap):
                temp = temp[np.flatnonzero(fe.vmap >= 0)]
            if len(temp) < m.nvertices:
                raise SolverError(f"The temperature array has {len(temp)} values; the mesh has "
                                  f"{len(fe.vmap)} nodes.")
            dT_nodes = temp[: m.nvertices] - th.t_ref
        coef = (3 * lam + 2 * mu) * th.alpha

        @skfem.LinearForm
        def thermal(v, w):
            return w["coef"] * w["dt"] * trace(sym_grad(v))

        f += thermal.assemble(basis, dt=sbasis.interpolate(dT_nodes), coef=dg.interpolate(coef))
    cancel.check()
    t_asm = time.perf_counter() - t0
    from physapp.solvers.elasticity2d import prescribed_dofs

    for nf in setup.nodal_forces:
        f += nodal_force_vector(basis, m, mesh, nf.region, nf.vector, fe.point_mids)
    constrained, values = prescribed_dofs(m, mesh, basis, setup, 3, fe.point_mids)
    comp = np.empty(basis.N, dtype=np.int64)
    for c, idx in enumerate(basis.split_indices()):
        comp[idx] = c
    modes = rigid_body_modes(basis.doflocs, comp)
    check_bodies_held(basis.doflocs.T, basis.element_dofs.T, np.arange(basis.N), modes,
                      constrained, 3)
    x0 = np.zeros(basis.N)
    x0[constrained] = values
    A, b, x, free = skfem.condense(K, f, x=x0, D=constrained)
    progress(0.3, f"Solving {len(free)} unknowns")
    t1 = time.perf_counter()
    y, stats = solve_spd(A, b, modes[free], dim=3, rtol=rtol,
                         progress=scaled(progress, 0.3, 0.9), cancel=cancel)
    u = np.asarray(x, dtype=float).copy()
    u[free] = y
    t_solve = time.perf_counter() - t1
    progress(0.9, "Recovering stresses")
    r = K @ u - f
    reactions = {}
    for name in (*mesh.boundaries, *mesh.edges, *mesh.point_sets):
        try:
            reactions[name] = tuple(float(r[region_dofs(basis, m, mesh, name, c,
                                                        fe.point_mids)].sum())
                                    for c in range(3))
        except SolverError:  # e.g. an interface between bodies is not on the boundary
            continue
    out_mesh, fields = _nodal_fields(m, mesh, basis, u, lam, mu, setup, dT_nodes)
    stats.update(n_dofs=int(basis.N), n_elements=int(m.nelements), t_assembly=t_asm,
                 t_solve=t_solve, order=2, curved=True, reactions=reactions)
    progress(1.0, "Done")
    return PlaneSolution(basis, u, out_mesh, fields, stats)


def stiffness_matrix(m, lam: np.ndarray, mu: np.ndarray, n_dofs: int):
    """Isotropic stiffness of curved P2 tetrahedra (own vectorised assembly, 4-point rule as in
    CalculiX's C3D10; DOFs interleaved ``3 * node + component`` as scikit-fem numbers them).

    ``lam``/``mu`` per element. K_e[a i, b j] = sum_q W_q (lam G_ai G_bj + mu G_aj G_bi
    + mu delta_ij G_a . G_b), with G the physical shape-function gradients at the points.
    """
    import scipy.sparse as sp

    from physapp.solvers import assembly3d as a3

    nodes = skfem.Basis(m, skfem.ElementTetP2()).element_dofs.T  # (ne, 10), tetra10 order
    X = m.doflocs.T[nodes]  # (ne, 10, 3)
    bary, w = a3.tet_quadrature(2)
    C = a3.grad_coefficients(2, bary)  # (nq, 10, 4): d phi / d lambda_k
    dxi = C[:, :, 1:] - C[:, :, :1]  # (nq, 10, 3): d phi / d xi_j
    J = np.einsum("eai,qaj->eqij", X, dxi)  # (ne, nq, 3, 3)
    det = np.linalg.det(J)
    det = det * np.sign(det[:, :1])  # either orientation; a sign change inside is a fold
    if np.any(det <= 0):
        raise SolverError(f"{int(np.sum(np.any(det <= 0, axis=1)))} curved tetrahedra are "
                          "inverted or too distorted (a mid-side node folds the element); remesh "
                          "or check the node order of the file.")
    G = np.einsum("qaj,eqji->eqai", dxi, np.linalg.inv(J))  # (ne, nq, 10, 3)
    W = det * (w / 6.0)  # (ne, nq)
    GG = np.einsum("eq,eqai,eqbj->eaibj", W, G, G)  # (ne, 10, 3, 10, 3)
    lam_e = np.asarray(lam)[:, None, None, None, None]
    mu_e = np.asarray(mu)[:, None, None, None, None]
    dots = np.einsum("eaibi->eab", GG)
    Ke = lam_e * GG + mu_e * GG.transpose(0, 1, 4, 3, 2) \
        + (np.asarray(mu)[:, None, None] * dots)[:, :, None, :, None] * np.eye(3)[None, None, :,
                                                                                   None, :]
    dof = (3 * nodes[:, :, None] + np.arange(3)).reshape(len(nodes), 30)  # (ne, 30)
    rows = np.repeat(dof, 30, axis=1).ravel()
    cols = np.tile(dof, (1, 30)).ravel()
    K = sp.coo_matrix((Ke.reshape(len(nodes), 900).ravel(), (rows, cols)),
                      shape=(n_dofs, n_dofs)).tocsr()
    K.sum_duplicates()
    return K


def _nodal_fields(m, mesh, basis, u, lam, mu, setup, dT_nodes):
    scalar = skfem.Basis(m, skfem.ElementTetP2())
    qb = skfem.Basis(m, basis.elem, quadrature=(_REF, np.ones(_REF.shape[1])))
    grad = qb.interpolate(u).grad  # (3, 3, ne, 10)
    eps = 0.5 * (grad + grad.transpose(1, 0, 2, 3))
    tr = eps[0, 0] + eps[1, 1] + eps[2, 2]
    lam, mu = np.asarray(lam)[:, None], np.asarray(mu)[:, None]  # per element
    iso = lam * tr
    if dT_nodes is not None:
        sb = skfem.Basis(m, skfem.ElementTetP1(), quadrature=(_REF, np.ones(_REF.shape[1])))
        iso = iso - (3 * lam + 2 * mu) * setup.thermal.alpha * np.asarray(sb.interpolate(dT_nodes))
    dofs = scalar.element_dofs  # (10, ne), meshio tetra10 order
    n = scalar.N
    count = np.bincount(dofs.ravel(), minlength=n)

    def avg(local):
        return np.bincount(dofs.ravel(), np.asarray(local).T.ravel(), minlength=n) / count

    comps = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]
    sig = {name: avg(2 * mu * eps[i, j] + (iso if i == j else 0.0))
           for name, (i, j) in zip(STRESS_NAMES, comps, strict=True)}
    strain = np.column_stack([avg(eps[i, j]) for i, j in comps])
    S = np.empty((n, 3, 3))
    for name, (i, j) in zip(STRESS_NAMES, comps, strict=True):
        S[:, i, j] = S[:, j, i] = sig[name]
    ev = np.linalg.eigvalsh(S)
    sxx, syy, szz = sig["sigma_xx"], sig["sigma_yy"], sig["sigma_zz"]
    vm = np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2)
                 + 3.0 * (sig["tau_xy"] ** 2 + sig["tau_yz"] ** 2 + sig["tau_xz"] ** 2))
    disp = np.zeros((n, 3))
    for c, idx in enumerate(basis.split_indices()):
        disp[:, c] = u[idx]
    fields = {"displacement": disp, "strain": strain, **sig, "von_mises": vm,
              "sigma_1": ev[:, 2], "sigma_2": ev[:, 1], "sigma_3": ev[:, 0]}
    out = MeshData(scalar.doflocs.T, (CellBlock("tetra10", dofs.T),), mesh.boundaries,
                   mesh.subdomains, 3, mesh.length_unit)
    return out, fields

"""2D linear elasticity with P1 or P2 triangles (scikit-fem assembly).

Analyses: plane stress, plane strain and axisymmetric (x = r, y = z; integrals per radian).
Loads: tractions, pressures (along the surface normal), a body force and thermal strain.
The linear system is solved by :func:`physapp.solvers.linear.solve_spd` (pyamg SA + rigid-body
modes + CG). Stresses are recovered at the element nodes from the displacement gradient and
averaged over the elements that share a node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import skfem
from skfem.helpers import ddot, sym_grad, trace
from skfem.models.elasticity import lame_parameters

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import ElasticSetup
from physapp.solvers.fem_mesh import (
    nodal_force_vector,
    oriented_cells,
    p0_field,
    prepare,
    region_dofs,
    region_facets,
    symmetry_component,
)
from physapp.solvers.linear import rigid_body_modes, solve_spd
from physapp.solvers.wellposed import check_bodies_held

#: reference coordinates of the P2 triangle nodes: vertices, then edges (01), (12), (02)
_TRI_NODES = {
    1: np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    2: np.array([[0.0, 1.0, 0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0, 0.5, 0.5]]),
}
ANALYSES = ("plane_stress", "plane_strain", "axisymmetric")
BodyForce = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class PlaneSolution:
    """An elasticity solution: skfem objects for post-processing, and nodal output."""

    basis: skfem.CellBasis
    u: np.ndarray
    out_mesh: MeshData
    fields: dict[str, np.ndarray]
    stats: dict = field(default_factory=dict)


def check_material(E: float, nu: float) -> None:
    if not np.isfinite(E) or E <= 0:
        raise SolverError(f"Young's modulus must be positive (got {E:g} Pa).")
    if not np.isfinite(nu) or not -1.0 < nu < 0.5:
        raise SolverError(f"Poisson's ratio must lie in (-1, 0.5) (got {nu:g}).")


def _lame(setup: ElasticSetup) -> tuple[float, float]:
    E, nu = setup.material.youngs_modulus, setup.material.poissons_ratio
    check_material(E, nu)
    if setup.analysis not in ANALYSES:
        raise SolverError(f"Unknown 2D analysis type '{setup.analysis}' (use one of {ANALYSES}).")
    lam, mu = lame_parameters(E, nu)
    if setup.analysis == "plane_stress":
        lam = 2.0 * lam * mu / (lam + 2.0 * mu)
    return lam, mu


def element_materials(setup: ElasticSetup, mesh: MeshData, n_elements: int):
    """Young's modulus and Poisson's ratio per element: ``setup.material`` overridden on the
    subdomains of ``setup.region_materials``."""
    E = np.full(n_elements, float(setup.material.youngs_modulus))
    nu = np.full(n_elements, float(setup.material.poissons_ratio))
    for name, mat in setup.region_materials:
        if name not in mesh.subdomains:
            known = ", ".join(mesh.subdomains) or "none"
            raise SolverError(f"No subdomain named '{name}' for a material (subdomains: {known}).")
        check_material(mat.youngs_modulus, mat.poissons_ratio)
        idx = np.asarray(mesh.subdomains[name])
        E[idx], nu[idx] = mat.youngs_modulus, mat.poissons_ratio
    return E, nu


def _element_lame(setup: ElasticSetup, E: np.ndarray, nu: np.ndarray):
    """(lam, mu, thermal stress coefficient) per element for the 2D analysis."""
    lam = E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu))
    mu = E / (2.0 * (1.0 + nu))
    if setup.analysis == "plane_stress":
        lam = 2.0 * lam * mu / (lam + 2.0 * mu)
        coef = E / (1.0 - nu)
    else:
        coef = 3.0 * lam + 2.0 * mu
    return lam, mu, coef


def _strains(v, w, axisym: bool):
    """(in-plane strain tensor, hoop strain or 0) of a vector test/trial function."""
    eps = sym_grad(v)
    return eps, (v[0] / w.x[0] if axisym else 0.0)


def solve_plane(
    mesh: MeshData,
    setup: ElasticSetup,
    *,
    order: int = 2,
    body_force: BodyForce | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> PlaneSolution:
    """Assemble and solve; return the solution with nodal fields on the P``order`` node mesh."""
    if order not in (1, 2):
        raise SolverError(f"Element order must be 1 or 2 (got {order}).")
    _lame(setup)  # checks the material and the analysis
    axisym = setup.analysis == "axisymmetric"
    t0 = time.perf_counter()
    progress(0.0, "Assembling stiffness")
    fe = prepare(mesh, order)  # quadratic input at order 2: isoparametric (curved) geometry
    setup = vertex_temperature(setup, fe.vmap)
    m, mesh = fe.m, fe.mesh
    if axisym and m.p[0].min() < -1e-12 * np.ptp(m.p[0]):
        raise SolverError("An axisymmetric model must lie in x = r >= 0.")
    elem = skfem.ElementTriP1() if order == 1 else skfem.ElementTriP2()
    # axisymmetric integrands carry r and 1/r: integrate them more accurately
    intorder = 2 * (order - 1) + (2 if axisym else 0)
    basis = skfem.Basis(m, skfem.ElementVector(elem), intorder=intorder)
    E_e, nu_e = element_materials(setup, mesh, m.nelements)
    lam, mu, coef = _element_lame(setup, E_e, nu_e)  # per element

    @skfem.BilinearForm
    def stiffness(u, v, w):
        eu, hu = _strains(u, w, axisym)
        ev, hv = _strains(v, w, axisym)
        tr_u = trace(eu) + hu
        val = w["lam"] * tr_u * (trace(ev) + hv) + 2.0 * w["mu"] * (ddot(eu, ev) + hu * hv)
        return val * w.x[0] if axisym else val

    if axisym:
        K = stiffness.assemble(basis, lam=p0_field(m, basis, lam), mu=p0_field(m, basis, mu))
    else:  # the same bilinear form, all elements at once
        K = plane_stiffness(basis, lam, mu)
    cancel.check()
    f = _loads(m, mesh, basis, setup, body_force, order, lam, mu, fe.point_mids)
    cancel.check()
    t_asm = time.perf_counter() - t0
    constrained, values = prescribed_dofs(m, mesh, basis, setup, 2, fe.point_mids)
    comp = np.empty(basis.N, dtype=np.int64)
    for c, idx in enumerate(basis.split_indices()):
        comp[idx] = c
    modes = rigid_body_modes(basis.doflocs, comp)
    if axisym:  # only the axial translation is a rigid motion of an axisymmetric body
        modes = modes[:, [1]]
    check_bodies_held(basis.doflocs.T, basis.element_dofs.T, np.arange(basis.N), modes,
                      constrained, 2)
    x0 = np.zeros(basis.N)
    x0[constrained] = values
    A, b, x, free = skfem.condense(K, f, x=x0, D=constrained)
    progress(0.3, f"Solving {len(free)} unknowns")
    t1 = time.perf_counter()
    amg_modes = rigid_body_modes(basis.doflocs, comp)[free]
    y, stats = solve_spd(A, b, amg_modes, dim=2, physics="axisymmetric" if axisym else "elasticity",
                         progress=scaled(progress, 0.3, 0.9), cancel=cancel)
    x = np.asarray(x, dtype=float).copy()
    x[free] = y
    t_solve = time.perf_counter() - t1
    progress(0.9, "Recovering stresses")
    out_mesh, fields = _nodal_fields(m, mesh, basis, x, lam, mu, order, setup)
    stats.update(n_dofs=int(basis.N), t_assembly=t_asm, t_solve=t_solve, order=order,
                 curved=fe.curved,
                 reactions=_reactions(m, mesh, basis, K, f, x))
    progress(1.0, "Done")
    return PlaneSolution(basis, x, out_mesh, fields, stats)


#: the CSR structure of the last element-DOF table assembled: (element_dofs, N, indptr,
#: indices, slot of each element-matrix entry); a sweep's morphed designs share it
_PATTERN: list[tuple] = []


def plane_stiffness(basis: skfem.CellBasis, lam: np.ndarray, mu: np.ndarray) -> sp.csr_matrix:
    """Plane (stress or strain) stiffness: the integral of lam tr(eps_u) tr(eps_v) + 2 mu
    eps_u : eps_v over every element with per-element Lame parameters, the element matrices
    computed together from the basis gradients at the quadrature points (einsum) and summed into
    a CSR structure kept for the element-DOF table (built once per topology)."""
    grad = np.array([phi[0].grad for phi in basis.basis])  # (nloc, 2, 2, E, Q)
    eps = 0.5 * (grad + grad.transpose(0, 2, 1, 3, 4))
    nloc, n_el, n_q = grad.shape[0], grad.shape[3], grad.shape[4]
    tr = (eps[:, 0, 0] + eps[:, 1, 1]).transpose(1, 0, 2)  # (E, nloc, Q)
    ke = (tr * (lam[:, None] * basis.dx)[:, None, :]) @ tr.transpose(0, 2, 1)
    e4 = eps.reshape(nloc, 4, n_el, n_q).transpose(2, 0, 3, 1)  # (E, nloc, Q, 4)
    ew = (e4 * (2.0 * mu[:, None] * basis.dx)[:, None, :, None]).reshape(n_el, nloc, 4 * n_q)
    ke += ew @ e4.reshape(n_el, nloc, 4 * n_q).transpose(0, 2, 1)  # batched (nloc x nloc)
    dofs = basis.element_dofs  # (nloc, E)
    last = _PATTERN[0] if _PATTERN else None
    if last is None or last[1] != basis.N or last[0].shape != dofs.shape or not np.array_equal(
            last[0], dofs):
        nloc = dofs.shape[0]
        rows = np.repeat(dofs.T, nloc, axis=1).ravel()  # entry (e, i, j): row dofs[i, e]
        cols = np.tile(dofs.T, (1, nloc)).ravel()
        uniq, slot = np.unique(rows.astype(np.int64) * basis.N + cols, return_inverse=True)
        indptr = np.concatenate([[0], np.cumsum(np.bincount(uniq // basis.N,
                                                            minlength=basis.N))])
        last = (dofs.copy(), basis.N, indptr, (uniq % basis.N).astype(np.int32), slot.ravel())
        # kept up to ~4M element-matrix entries (~50 MB); a bigger mesh is not kept in memory
        _PATTERN[:] = [last] if len(rows) <= 4_000_000 else []
    _, n, indptr, indices, slot = last
    data = np.bincount(slot, ke.ravel(), minlength=len(indices))
    return sp.csr_matrix((data, indices, indptr), shape=(n, n))


def vertex_temperature(setup: ElasticSetup, vmap: np.ndarray) -> ElasticSetup:
    """The set-up with a per-node temperature array of the input mesh restricted to its corner
    nodes (the solver's vertices, see :func:`physapp.solvers.fem_mesh.prepare`)."""
    import dataclasses

    th = setup.thermal
    if th is None:
        return setup
    temp = np.asarray(th.temperature, dtype=float)
    if temp.ndim == 0 or temp.shape[0] != len(vmap) or np.all(vmap >= 0):
        return setup
    return dataclasses.replace(setup, thermal=dataclasses.replace(
        th, temperature=temp[np.flatnonzero(vmap >= 0)]))


def _delta_t(setup: ElasticSetup, m: skfem.MeshTri):
    """alpha * (T - t_ref) as a P1 field on the vertices (scalar input broadcast)."""
    th = setup.thermal
    temp = np.asarray(th.temperature, dtype=float)
    if temp.ndim == 0:
        temp = np.full(m.nvertices, float(temp))
    elif temp.shape[0] < m.nvertices:
        raise SolverError(f"Temperature field has {temp.shape[0]} values for {m.nvertices} nodes.")
    return th.alpha * (temp[: m.nvertices] - th.t_ref)


def _measure(m, mesh, region: str, axisym: bool) -> float:
    """Length of a boundary region (times r for axisymmetric models, i.e. area per radian)."""
    fb = skfem.FacetBasis(m, skfem.ElementTriP1(), facets=region_facets(m, mesh, region))

    @skfem.Functional
    def one(w):
        return w.x[0] if axisym else 1.0 + 0.0 * w.x[0]

    value = float(one.assemble(fb))
    if value <= 0.0:
        raise SolverError(f"Region '{region}' has zero length; a force cannot be spread over it.")
    return value


def _loads(m, mesh, basis, setup, body_force, order, lam, mu, mids=None) -> np.ndarray:
    axisym = setup.analysis == "axisymmetric"
    f = np.zeros(basis.N)
    surface_loads = []
    for t in setup.tractions:
        scale = 1.0 / _measure(m, mesh, t.region, axisym) if t.total else 1.0
        surface_loads.append((t.region, tuple(scale * float(v) for v in t.vector[:2]), 0.0))
    surface_loads += [(p.region, (0.0, 0.0), float(p.value)) for p in setup.pressures]
    for region, (tx, ty), pressure in surface_loads:
        fb = skfem.FacetBasis(m, basis.elem, facets=region_facets(m, mesh, region),
                              intorder=2 * order + 1)

        @skfem.LinearForm
        def surface(v, w, tx=tx, ty=ty, p=pressure):
            val = (tx - p * w.n[0]) * v[0] + (ty - p * w.n[1]) * v[1]
            return val * w.x[0] if axisym else val

        f += surface.assemble(fb)
    for nf in setup.nodal_forces:
        if axisym and nf.region in mesh.point_sets:
            raise SolverError("A point force in an axisymmetric model is a ring load: give it as "
                              "a force on an edge instead.")
        f += nodal_force_vector(basis, m, mesh, nf.region, nf.vector, mids)
    if body_force is None and not setup.body_force and setup.thermal is None:
        return f
    vol = skfem.Basis(m, basis.elem, intorder=2 * order + 2)
    if body_force is not None or setup.body_force:

        @skfem.LinearForm
        def volume(v, w):
            if body_force is not None:
                bx, by = body_force(w.x[0], w.x[1])
            else:
                bx, by = setup.body_force[0], setup.body_force[1]
            val = bx * v[0] + by * v[1]
            return val * w.x[0] if axisym else val

        f += volume.assemble(vol)
    if setup.thermal is not None:
        E_e, nu_e = element_materials(setup, mesh, m.nelements)
        coef = _element_lame(setup, E_e, nu_e)[2]
        dt_basis = skfem.Basis(m, skfem.ElementTriP1(), quadrature=vol.quadrature)
        dt = dt_basis.interpolate(_delta_t(setup, m))

        @skfem.LinearForm
        def thermal(v, w):
            ev, hv = _strains(v, w, axisym)
            val = w["coef"] * w["dt"] * (trace(ev) + hv)
            return val * w.x[0] if axisym else val

        f += thermal.assemble(vol, dt=dt, coef=p0_field(m, vol, coef))
    return f


def _constrained_dofs(m, mesh, basis, setup) -> np.ndarray:
    return prescribed_dofs(m, mesh, basis, setup, 2)[0]


def prescribed_dofs(m, mesh, basis, setup, dim: int,
                    mids: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Constrained DOFs of the supports (faces, edges or points) and their prescribed values."""
    dofs, vals = [], []
    for sup in setup.supports:
        comps, values = sup.components, sup.values or (0.0,) * len(sup.components)
        if sup.symmetry:
            if sup.region not in mesh.boundaries:
                raise SolverError(f"A symmetry support needs a flat {'face' if dim == 3 else 'edge'}"
                                  f"; '{sup.region}' is {'an edge' if sup.region in mesh.edges else 'a point'}"
                                  " region: fix the normal component instead.")
            comps = (symmetry_component(mesh.points, np.asarray(mesh.boundaries[sup.region])[:, :dim],
                                        sup.region),)
            values = (0.0,)
        for c, v in zip(comps, values, strict=True):
            if c not in range(dim):
                raise SolverError(f"Support on '{sup.region}': component {c} does not exist in "
                                  f"{dim}D.")
            d = region_dofs(basis, m, mesh, sup.region, c, mids)
            dofs.append(d)
            vals.append(np.full(len(d), float(v)))
    if not dofs:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    d, first = np.unique(np.concatenate(dofs), return_index=True)
    return d, np.concatenate(vals)[first]


def _reactions(m, mesh, basis, K, f, x) -> dict[str, tuple[float, float]]:
    """Support reaction per named region: the residual K u - f summed over its DOFs."""
    r = K @ x - f
    out = {}
    for name in mesh.boundaries:
        view = basis.get_dofs(region_facets(m, mesh, name))
        out[name] = tuple(float(r[view.all(f"u^{c + 1}")].sum()) for c in (0, 1))
    return out


def _nodal_fields(m, mesh, basis, x, lam, mu, order, setup):
    """Displacement and stresses at the P-order nodes (stresses averaged over adjacent elements)."""
    axisym = setup.analysis == "axisymmetric"
    scalar = skfem.Basis(m, skfem.ElementTriP1() if order == 1 else skfem.ElementTriP2())
    ref = _TRI_NODES[order]
    qb = skfem.Basis(m, basis.elem, quadrature=(ref, np.ones(ref.shape[1])))
    field_ = qb.interpolate(x)
    grad = field_.grad  # (2, 2, nelems, nloc)
    exx, eyy = grad[0, 0], grad[1, 1]
    exy = 0.5 * (grad[0, 1] + grad[1, 0])
    if axisym:  # hoop strain u_r / r, with its limit du_r/dr on the axis
        r = qb.global_coordinates()[0]
        on_axis = r <= 1e-12 * np.ptp(m.p[0])
        ehh = np.where(on_axis, exx, field_.value[0] / np.where(on_axis, 1.0, r))
    else:
        ehh = np.zeros_like(exx)
    tr = exx + eyy + ehh
    E_e, nu_e = element_materials(setup, mesh, m.nelements)
    lam, mu, coef = (a[:, None] for a in _element_lame(setup, E_e, nu_e))
    dt = alpha_dt = 0.0
    if setup.thermal is not None:
        dt_basis = skfem.Basis(m, skfem.ElementTriP1(), quadrature=(ref, np.ones(ref.shape[1])))
        alpha_dt = np.asarray(dt_basis.interpolate(_delta_t(setup, m)))
        dt = coef * alpha_dt
    local = [lam * tr + 2 * mu * exx - dt, lam * tr + 2 * mu * eyy - dt, 2 * mu * exy]
    if axisym:
        local.append(lam * tr + 2 * mu * ehh - dt)
    elif setup.analysis == "plane_strain":  # sigma_zz = nu (sxx + syy) - E alpha dT
        local.append(nu_e[:, None] * (local[0] + local[1]) - E_e[:, None] * alpha_dt)
    dofs = scalar.element_dofs  # (nloc, nelems) in the same local order as ``ref``
    n = scalar.N
    count = np.bincount(dofs.ravel(), minlength=n)
    sig = [np.bincount(dofs.ravel(), np.asarray(s).T.ravel(), minlength=n) / count for s in local]
    sxx, syy, txy = sig[:3]
    # total strain (xx, yy, xy tensor shear; axisymmetric: rr, zz, rz and the hoop strain)
    strain_parts = [exx, eyy, exy] + ([ehh] if axisym else [])
    strain = np.column_stack([np.bincount(dofs.ravel(), np.asarray(e).T.ravel(), minlength=n)
                              / count for e in strain_parts])
    if axisym:
        szz = sig[3]
    elif setup.analysis == "plane_strain":
        szz = sig[3]
    else:
        szz = np.zeros(n)
    u = np.zeros((n, 3))
    for c, idx in enumerate(basis.split_indices()):
        u[:, c] = x[idx]
    centre, radius = 0.5 * (sxx + syy), np.sqrt((0.5 * (sxx - syy)) ** 2 + txy**2)
    vm = np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2) + 3 * txy**2)
    if axisym:  # x = r, y = z; the out-of-plane stress is the hoop stress
        fields = {"displacement": u, "sigma_rr": sxx, "sigma_zz": syy, "sigma_hoop": szz,
                  "tau_rz": txy, "von_mises": vm}
    else:
        fields = {"displacement": u, "sigma_xx": sxx, "sigma_yy": syy, "tau_xy": txy,
                  "von_mises": vm}
        if setup.analysis == "plane_strain":
            fields["sigma_zz"] = szz
    fields["sigma_1"], fields["sigma_2"] = centre + radius, centre - radius  # in-plane principal
    fields["strain"] = strain
    cell = "triangle" if order == 1 else "triangle6"
    points = np.column_stack([scalar.doflocs.T, np.zeros(n)])
    out = MeshData(points, (CellBlock(cell, oriented_cells(points, dofs.T)),), mesh.boundaries,
                   mesh.subdomains, 2, mesh.length_unit, {}, mesh.point_sets)
    return out, fields

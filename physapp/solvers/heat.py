"""Steady heat conduction with P1/P2 triangles or tetrahedra (scikit-fem assembly, pyamg + CG).

Solves -div(k grad T) = Q with fixed temperature, heat flux and convection boundaries. Outputs the
temperature, the heat-flux vector -k grad T at the nodes, and the heat rate through every named
boundary region (positive out of the body).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import skfem
from skfem.helpers import dot, grad

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import HeatSetup
from physapp.solvers.fem_mesh import (
    fe_kind,
    oriented_cells,
    p0_field,
    prepare,
    region_dofs,
    region_facets,
    scalar_element,
)
from physapp.solvers.linear import solve_spd
from physapp.solvers.wellposed import check_bodies_determined

#: reference node coordinates (vertices, then edges in scikit-fem's order) per cell kind and order
_REF_NODES = {
    ("triangle", 1): [[0, 1, 0], [0, 0, 1]],
    ("triangle", 2): [[0, 1, 0, 0.5, 0.5, 0], [0, 0, 1, 0, 0.5, 0.5]],
    ("tetra", 1): [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]],
    ("tetra", 2): [[0, 1, 0, 0, 0.5, 0.5, 0, 0, 0.5, 0], [0, 0, 1, 0, 0, 0.5, 0.5, 0, 0, 0.5],
                   [0, 0, 0, 1, 0, 0, 0, 0.5, 0.5, 0.5]],
}
_OUT_CELL = {("triangle", 1): "triangle", ("triangle", 2): "triangle6",
             ("tetra", 1): "tetra", ("tetra", 2): "tetra10"}


@dataclass
class HeatSolution:
    basis: skfem.CellBasis
    T: np.ndarray
    out_mesh: MeshData
    fields: dict[str, np.ndarray]
    stats: dict = field(default_factory=dict)


def _conductivity(setup: HeatSetup, mesh: MeshData, m: skfem.Mesh) -> np.ndarray:
    """Per-element conductivity (checks that every value is positive)."""
    return element_values(setup.conductivity, mesh, m, "thermal conductivity")


@dataclass
class HeatSystem:
    """The assembled conduction problem: ``K T = sum(loads) `` with ``T[dof] = fixed[dof]``.

    ``loads`` keeps each load apart, keyed by what a transient solve may scale over time:
    ``"source"`` (uniform source), a subdomain name (its source), a boundary region (its flux,
    or ``h t_inf`` of its convection). ``fixed_region`` names the region of each fixed DOF.
    """

    fe: object
    m: skfem.Mesh
    mesh: MeshData
    elem: skfem.Element
    basis: skfem.CellBasis
    k_elem: np.ndarray
    K: object
    loads: list[tuple[str, np.ndarray]]
    fixed: dict[int, float]
    fixed_by_region: dict[str, list[int]]
    weight: object
    t_assembly: float = 0.0

    @property
    def f(self) -> np.ndarray:
        out = np.zeros(self.basis.N)
        for _, v in self.loads:
            out += v
        return out


def element_values(value, mesh: MeshData, m: skfem.Mesh, what: str) -> np.ndarray:
    """Per-element values of a scalar or subdomain name -> value property (must be positive)."""
    if isinstance(value, Mapping):
        per = np.full(m.nelements, np.nan)
        for name, v in value.items():
            if name not in mesh.subdomains:
                known = ", ".join(mesh.subdomains) or "none"
                raise SolverError(f"No subdomain named '{name}' for the {what} (subdomains: {known}).")
            per[mesh.subdomains[name]] = v
        if np.isnan(per).any():
            raise SolverError(f"{int(np.isnan(per).sum())} elements have no {what} assigned.")
    else:
        per = np.full(m.nelements, float(value))
    if not np.all(np.isfinite(per)) or per.min() <= 0:
        raise SolverError(f"The {what} must be positive everywhere.")
    return per


def assemble_heat(mesh: MeshData, setup: HeatSetup, order: int = 2,
                  cancel: CancelToken = NEVER) -> HeatSystem:
    """Assemble conduction (with convection), the loads and the fixed temperatures."""
    if setup.analysis not in ("planar", "axisymmetric", "3d"):
        raise SolverError(f"Unknown heat analysis '{setup.analysis}'.")
    t0 = time.perf_counter()
    fe = prepare(mesh, order)  # quadratic input at order 2: isoparametric (curved) geometry
    m, mesh = fe.m, fe.mesh
    elem = scalar_element(mesh, order)
    axisym = setup.analysis == "axisymmetric"
    basis = skfem.Basis(m, elem, intorder=2 * order + (1 if axisym else 0))
    k_elem = _conductivity(setup, mesh, m)
    kdx = p0_field(m, basis, k_elem)
    r = (lambda w: w.x[0]) if axisym else (lambda w: 1.0)

    @skfem.BilinearForm
    def conduction(u, v, w):
        return w["k"] * dot(grad(u), grad(v)) * r(w)

    K = conduction.assemble(basis, k=kdx)

    @skfem.LinearForm
    def source(v, w):
        return setup.source * v * r(w)

    loads: list[tuple[str, np.ndarray]] = []
    if setup.source:
        loads.append(("source", source.assemble(basis)))
    for name, value in setup.region_sources:
        if name not in mesh.subdomains:
            known = ", ".join(mesh.subdomains) or "none"
            raise SolverError(f"A heat source needs a subdomain; '{name}' is not one "
                              f"(subdomains: {known}).")
        part = skfem.Basis(m, elem, intorder=2 * order + (1 if axisym else 0),
                           elements=np.asarray(mesh.subdomains[name]))
        loads.append((name, skfem.LinearForm(lambda v, w, q=float(value): q * v * r(w)).assemble(part)))
    for bc in setup.fluxes:
        fb = skfem.FacetBasis(m, elem, facets=region_facets(m, mesh, bc.region), intorder=2 * order + 1)
        loads.append((bc.region, skfem.LinearForm(lambda v, w, q=bc.value: q * v * r(w)).assemble(fb)))
    for bc in setup.convections:
        if bc.h < 0:
            raise SolverError(f"Convection coefficient on '{bc.region}' must not be negative.")
        fb = skfem.FacetBasis(m, elem, facets=region_facets(m, mesh, bc.region), intorder=2 * order + 1)
        K = K + skfem.BilinearForm(lambda u, v, w, h=bc.h: h * u * v * r(w)).assemble(fb)
        loads.append((bc.region, skfem.LinearForm(
            lambda v, w, h=bc.h, t=bc.t_inf: h * t * v * r(w)).assemble(fb)))
    cancel.check()
    fixed: dict[int, float] = {}
    fixed_by_region: dict[str, list[int]] = {}
    for bc in setup.fixed:
        for dof in region_dofs(basis, m, mesh, bc.region, None, fe.point_mids):
            if dof not in fixed:  # a node shared by two regions belongs to the first
                fixed[dof] = bc.value
                fixed_by_region.setdefault(bc.region, []).append(dof)
    if not fixed and not setup.convections:
        raise SolverError(
            "The temperature is not determined: give at least one fixed temperature or a "
            "convection boundary."
        )
    D = np.array(sorted(fixed), dtype=np.int64)
    held = [D] + [basis.get_dofs(region_facets(m, mesh, bc.region)).all()
                  for bc in setup.convections]
    check_bodies_determined(basis.doflocs.T, basis.element_dofs.T, np.concatenate(held))
    return HeatSystem(fe, m, mesh, elem, basis, k_elem, K, loads, fixed, fixed_by_region, r,
                      time.perf_counter() - t0)


def solve_heat(
    mesh: MeshData,
    setup: HeatSetup,
    *,
    order: int = 2,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> HeatSolution:
    """Assemble and solve steady conduction; nodal fields on the P``order`` node mesh."""
    progress(0.0, "Assembling conduction matrix")
    s = assemble_heat(mesh, setup, order, cancel)
    m, mesh, basis, K, f, fixed = s.m, s.mesh, s.basis, s.K, s.f, s.fixed
    D = np.array(sorted(fixed), dtype=np.int64)
    x = np.zeros(basis.N)
    x[D] = [fixed[d] for d in D]
    A, b, x_full, free = skfem.condense(K, f, x=x, D=D)
    progress(0.3, f"Solving {len(free)} unknowns")
    t1 = time.perf_counter()
    y, stats = solve_spd(A, b, None, dim=m.dim(), physics="heat",
                         progress=scaled(progress, 0.3, 0.9), cancel=cancel)
    T = np.asarray(x_full, dtype=float).copy()
    T[free] = y
    progress(0.9, "Heat fluxes")
    out_mesh, fields = _nodal_fields(m, mesh, basis, T, order, s.k_elem)
    stats.update(n_dofs=int(basis.N), t_assembly=s.t_assembly, t_solve=time.perf_counter() - t1,
                 order=order, curved=s.fe.curved,
                 heat_rates=_heat_rates(m, mesh, basis, K, f, s.fixed_by_region, setup, T))
    progress(1.0, "Done")
    return HeatSolution(basis, T, out_mesh, fields, stats)


def _heat_rates(m, mesh, basis, K, f, fixed_by_region, setup, T) -> dict[str, float]:
    """Heat leaving the body through each named region (W per unit thickness, per radian or W).

    Fixed-temperature regions: minus the residual ``K T - f`` of their DOFs (the heat the condition
    supplies); convection: the integral of h (T - t_inf); flux: minus the integral of q; any other
    region is insulated (zero).
    """
    r_full = K @ T - f
    weight = (lambda w: w.x[0]) if setup.analysis == "axisymmetric" else (lambda w: 1.0)
    rates = {name: 0.0 for name in mesh.boundaries}
    for name, dofs in fixed_by_region.items():
        rates[name] += -float(r_full[dofs].sum())
    Tb = basis.elem
    for bc in setup.convections:
        fb = skfem.FacetBasis(m, Tb, facets=region_facets(m, mesh, bc.region))
        rates[bc.region] += float(skfem.Functional(
            lambda w, h=bc.h, t=bc.t_inf: h * (w["T"] - t) * weight(w)).assemble(fb, T=fb.interpolate(T)))
    for bc in setup.fluxes:
        fb = skfem.FacetBasis(m, Tb, facets=region_facets(m, mesh, bc.region))
        rates[bc.region] -= float(skfem.Functional(lambda w, q=bc.value: q * weight(w)).assemble(fb))
    return rates


def _nodal_fields(m, mesh, basis, T, order, k_elem):
    kind = fe_kind(mesh)
    ref = np.array(_REF_NODES[(kind, order)], dtype=float)
    qb = skfem.Basis(m, basis.elem, quadrature=(ref, np.ones(ref.shape[1])))
    g = qb.interpolate(T).grad  # (dim, nelems, nloc)
    dofs = basis.element_dofs
    n = basis.N
    count = np.bincount(dofs.ravel(), minlength=n)
    flux = np.zeros((n, 3))
    for d in range(m.dim()):
        q = -k_elem[:, None] * g[d]
        flux[:, d] = np.bincount(dofs.ravel(), q.T.ravel(), minlength=n) / count
    points = np.zeros((n, 3))
    points[:, : m.dim()] = basis.doflocs.T
    out = MeshData(points, (CellBlock(_OUT_CELL[(kind, order)], oriented_cells(points, dofs.T)),),
                   mesh.boundaries, mesh.subdomains, m.dim(), mesh.length_unit, mesh.edges,
                   mesh.point_sets)
    return out, {"temperature": T.copy(), "heat_flux": flux}

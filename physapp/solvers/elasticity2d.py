"""Plane-stress / plane-strain linear elasticity with P1 or P2 triangles (scikit-fem assembly).

The linear system is solved by :func:`physapp.solvers.linear.solve_spd` (pyamg SA + rigid-body
modes + CG). Stresses are recovered at the element nodes from the displacement gradient and
averaged over the elements that share a node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import skfem
from skfem.helpers import dot
from skfem.models.elasticity import lame_parameters, linear_elasticity

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import ElasticSetup
from physapp.solvers.linear import check_supported, rigid_body_modes, solve_spd

#: reference coordinates of the P2 triangle nodes: vertices, then edges (01), (12), (02)
_TRI_NODES = {
    1: np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
    2: np.array([[0.0, 1.0, 0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0, 0.5, 0.5]]),
}
BodyForce = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class PlaneSolution:
    """A plane elasticity solution: skfem objects for post-processing, and nodal output."""

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


def to_skfem(mesh: MeshData) -> skfem.MeshTri:
    """Linear triangles of ``mesh`` as a scikit-fem mesh (counter-clockwise orientation)."""
    tri = [b for b in mesh.cells if b.type in ("triangle", "triangle6")]
    if len(tri) != 1 or len(tri) != len(mesh.cells):
        raise SolverError("The 2D solver needs a mesh of triangles only.")
    t = np.array(tri[0].connectivity[:, :3])
    p = mesh.points[:, :2]
    d1, d2 = p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]]
    area2 = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    scale = np.ptp(p, axis=0).max() ** 2
    if np.any(np.abs(area2) <= 1e-14 * scale):
        raise SolverError(f"The mesh has {np.sum(np.abs(area2) <= 1e-14 * scale)} degenerate triangles.")
    flip = area2 < 0
    t[flip, 1], t[flip, 2] = t[flip, 2], t[flip, 1].copy()
    return skfem.MeshTri(np.ascontiguousarray(p.T), np.ascontiguousarray(t.T))


def region_facets(m: skfem.MeshTri, mesh: MeshData, region: str) -> np.ndarray:
    """Indices of skfem facets matching the edges of a named boundary region."""
    if region not in mesh.boundaries:
        known = ", ".join(mesh.boundaries) or "none"
        raise SolverError(f"No boundary region named '{region}' (regions: {known}).")
    n = m.nvertices
    keys = np.sort(m.facets, axis=0)
    fkeys = keys[0] * n + keys[1]
    order = np.argsort(fkeys)
    e = np.sort(mesh.boundaries[region][:, :2], axis=1)
    q = e[:, 0] * n + e[:, 1]
    pos = np.searchsorted(fkeys[order], q)
    pos = np.minimum(pos, len(order) - 1)
    found = fkeys[order][pos] == q
    if not np.all(found):
        raise SolverError(f"Region '{region}' has edges that are not on the mesh.")
    return order[pos]


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
    E, nu = setup.material.youngs_modulus, setup.material.poissons_ratio
    check_material(E, nu)
    t0 = time.perf_counter()
    progress(0.0, "Assembling stiffness")
    m = to_skfem(mesh)
    elem = skfem.ElementTriP1() if order == 1 else skfem.ElementTriP2()
    basis = skfem.Basis(m, skfem.ElementVector(elem), intorder=2 * (order - 1))
    lam, mu = lame_parameters(E, nu)
    if setup.analysis == "plane_stress":
        lam = 2.0 * lam * mu / (lam + 2.0 * mu)
    elif setup.analysis != "plane_strain":
        raise SolverError(f"Unknown 2D analysis type '{setup.analysis}'.")
    K = linear_elasticity(lam, mu).assemble(basis)
    cancel.check()
    f = _loads(m, mesh, basis, setup, body_force, order)
    cancel.check()
    t_asm = time.perf_counter() - t0
    constrained = _constrained_dofs(m, mesh, basis, setup)
    comp = np.empty(basis.N, dtype=np.int64)
    for c, idx in enumerate(basis.split_indices()):
        comp[idx] = c
    modes = rigid_body_modes(basis.doflocs, comp)
    check_supported(modes, constrained, 2)
    A, b, x, free = skfem.condense(K, f, D=constrained)
    progress(0.3, f"Solving {len(free)} unknowns")
    t1 = time.perf_counter()
    y, stats = solve_spd(A, b, modes[free], progress=scaled(progress, 0.3, 0.9), cancel=cancel)
    x = np.asarray(x, dtype=float).copy()
    x[free] = y
    t_solve = time.perf_counter() - t1
    progress(0.9, "Recovering stresses")
    out_mesh, fields = _nodal_fields(m, mesh, basis, x, lam, mu, order)
    stats.update(n_dofs=int(basis.N), t_assembly=t_asm, t_solve=t_solve, order=order)
    progress(1.0, "Done")
    return PlaneSolution(basis, x, out_mesh, fields, stats)


def _loads(m, mesh, basis, setup, body_force, order) -> np.ndarray:
    f = np.zeros(basis.N)
    for trac in setup.tractions:
        facets = region_facets(m, mesh, trac.region)
        fb = skfem.FacetBasis(m, basis.elem, facets=facets, intorder=2 * order)
        tx, ty = (float(v) for v in trac.vector[:2])

        @skfem.LinearForm
        def surface(v, w, tx=tx, ty=ty):
            return tx * v[0] + ty * v[1]

        f += surface.assemble(fb)
    if body_force is not None:

        @skfem.LinearForm
        def volume(v, w):
            bx, by = body_force(w.x[0], w.x[1])
            return bx * v[0] + by * v[1]

        f += volume.assemble(skfem.Basis(m, basis.elem, intorder=2 * order + 2))
    return f


def _constrained_dofs(m, mesh, basis, setup) -> np.ndarray:
    dofs = []
    for sup in setup.supports:
        view = basis.get_dofs(region_facets(m, mesh, sup.region))
        for c in sup.components:
            if c not in (0, 1):
                raise SolverError(f"Support on '{sup.region}': component {c} does not exist in 2D.")
            dofs.append(view.all(f"u^{c + 1}"))
    return np.unique(np.concatenate(dofs)) if dofs else np.zeros(0, dtype=np.int64)


def _nodal_fields(m, mesh, basis, x, lam, mu, order):
    """Displacement and stresses at the P-order nodes (stresses averaged over adjacent elements)."""
    scalar = skfem.Basis(m, skfem.ElementTriP1() if order == 1 else skfem.ElementTriP2())
    ref = _TRI_NODES[order]
    qb = skfem.Basis(m, basis.elem, quadrature=(ref, np.ones(ref.shape[1])))
    grad = qb.interpolate(x).grad  # (2, 2, nelems, nloc)
    exx, eyy = grad[0, 0], grad[1, 1]
    exy = 0.5 * (grad[0, 1] + grad[1, 0])
    tr = exx + eyy
    local = np.stack([lam * tr + 2 * mu * exx, lam * tr + 2 * mu * eyy, 2 * mu * exy])
    dofs = scalar.element_dofs  # (nloc, nelems) in the same local order as ``ref``
    n = scalar.N
    count = np.bincount(dofs.ravel(), minlength=n)
    sig = np.stack([np.bincount(dofs.ravel(), s.T.ravel(), minlength=n) for s in local]) / count
    sxx, syy, txy = sig
    u = np.zeros((n, 3))
    for c, idx in enumerate(basis.split_indices()):
        u[:, c] = x[idx]
    centre, radius = 0.5 * (sxx + syy), np.sqrt((0.5 * (sxx - syy)) ** 2 + txy**2)
    fields = {
        "displacement": u,
        "sigma_xx": sxx,
        "sigma_yy": syy,
        "tau_xy": txy,
        "von_mises": np.sqrt(sxx**2 - sxx * syy + syy**2 + 3 * txy**2),
        "sigma_1": centre + radius,
        "sigma_2": centre - radius,
    }
    cell = "triangle" if order == 1 else "triangle6"
    points = np.column_stack([scalar.doflocs.T, np.zeros(n)])
    out = MeshData(points, (CellBlock(cell, dofs.T),), mesh.boundaries, mesh.subdomains, 2,
                   mesh.length_unit)
    return out, fields

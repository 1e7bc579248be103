"""Transient heat conduction: rho c_p dT/dt = div(k grad T) + Q, streamed step by step (#18).

Space: the P1/P2 assembly of :mod:`physapp.solvers.heat` (conductivity, convection, loads, fixed
temperatures) plus the capacity matrix C (rho c_p, per subdomain). Time, with step dt:

- ``euler`` (backward Euler, order 1): (C + dt K) T+ = C T + dt f+
- ``crank-nicolson`` (order 2): (C + dt/2 K) T+ = (C - dt/2 K) T + dt/2 (f + f+)
- ``bdf2`` (order 2, L-stable, the default): (C + 2/3 dt K) T+ = 4/3 C T - 1/3 C T- + 2/3 dt f+,
  its first step backward Euler.

The system matrix does not change between steps: it is factorised once (SuperLU below the
direct-solve crossover of ``solvers.linear``) or gets one AMG hierarchy for warm-started CG. Each
saved step goes to a ``HistorySink`` (memory, or an HDF5 file flushed per step); a cancel ends
the history incomplete with every step done so far.

Implicit heat is unconditionally stable, so the checks are about accuracy: too few steps for the
time span, a step over which the temperature changes by much of its range (the transient is not
resolved), Crank-Nicolson's oscillations after a sudden change (a step much longer than the
element diffusion time h^2 / alpha), each a warning with a suggested step; a solution that is not
finite or grows far beyond its data stops the solve with a suggested step.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem

from physapp.core.errors import SolverError
from physapp.core.history import FieldHistory
from physapp.core.history_sink import HistorySink, MemoryHistorySink
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.transient import HEAT_SCHEMES, TransientHeatSetup, constant
from physapp.solvers.fem_mesh import fe_kind, region_facets
from physapp.solvers.heat import _REF_NODES, _nodal_fields, assemble_heat, element_values, p0_field
from physapp.solvers.linear import choose_method, sa_hierarchy

#: a step over which the temperature moves by more than this share of its range is too long
MAX_STEP_CHANGE = 0.25
#: fewer steps than this over the time span cannot follow a transient
MIN_STEPS = 10


class _Factor:
    """Solves with one matrix many times: SuperLU factor, or AMG-preconditioned CG."""

    def __init__(self, A: sp.csr_matrix, dim: int, precond=None) -> None:
        self.A = A.tocsr()
        n = A.shape[0]
        forced = os.environ.get("PHYSAPP_LINEAR_SOLVER", "auto").strip().lower()
        if precond is not None:
            self.method = "amg-cg"
        elif forced in ("direct", "amg-cg"):
            self.method = forced
        else:
            self.method = choose_method(n, A.nnz, dim, "heat")
        self.iterations = 0
        if self.method == "direct":
            self._lu = spla.splu(self.A.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                 options={"SymmetricMode": True})
        else:
            self.precond = precond if precond is not None else sa_hierarchy(self.A, None)

    def solve(self, b: np.ndarray, x0: np.ndarray) -> np.ndarray:
        if self.method == "direct":
            return self._lu.solve(b)
        count = [0]

        def cb(_x):
            count[0] += 1

        x, info = spla.cg(self.A, b, x0=x0, rtol=1e-10, atol=1e-14 * (np.linalg.norm(b) + 1e-300),
                          maxiter=2000, M=self.precond, callback=cb)
        self.iterations += count[0]
        if info != 0:
            raise SolverError("The conjugate-gradient solve of a time step did not converge; "
                              "try a smaller element size ratio or order 1.")
        return x


def _flux_operator(m, mesh, basis, order, k_elem) -> list[sp.csr_matrix]:
    """Matrices G_d with heat_flux[:, d] = G_d @ T: the element-node gradient -k dT/dx_d,
    averaged over the elements sharing a node (the same as ``heat._nodal_fields``)."""
    ref = np.array(_REF_NODES[(fe_kind(mesh), order)], dtype=float)
    qb = skfem.Basis(m, basis.elem, quadrature=(ref, np.ones(ref.shape[1])))
    dofs = basis.element_dofs  # (nloc, nelems)
    n = basis.N
    count = np.bincount(dofs.ravel(), minlength=n).astype(float)
    nloc, ne = dofs.shape
    rows = np.broadcast_to(dofs.T[:, None, :], (ne, nloc, nloc))   # [e, j, p] -> node p
    cols = np.broadcast_to(dofs.T[:, :, None], (ne, nloc, nloc))   # [e, j, p] -> dof j
    out = []
    for d in range(m.dim()):
        g = np.stack([qb.basis[j][0].grad[d] for j in range(nloc)], axis=1)  # (ne, nloc j, p)
        vals = -k_elem[:, None, None] * g / count[rows]
        out.append(sp.csr_matrix((vals.ravel(), (rows.ravel(), cols.ravel())), shape=(n, n)))
    return out


def _suggest(dt: float) -> str:
    """A step rounded to 2 significant digits."""
    return f"{float(f'{dt:.2g}'):g}"


def solve_heat_transient(
    mesh: MeshData,
    setup: TransientHeatSetup,
    *,
    order: int = 2,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
    sink: HistorySink | None = None,
) -> FieldHistory:
    """Integrate from ``setup.initial`` to ``setup.t_end``; the history of the saved steps
    (``complete=False`` and ``meta["stopped"] = "cancelled"`` after a cancel)."""
    t_start = time.perf_counter()
    scheme = setup.scheme.lower()
    if scheme not in HEAT_SCHEMES:
        raise SolverError(f"Unknown time scheme '{setup.scheme}': use one of "
                          f"{', '.join(HEAT_SCHEMES)}.")
    t_end, dt = float(setup.t_end), float(setup.dt)
    if not (math.isfinite(t_end) and t_end > 0):
        raise SolverError(f"The time span must be positive (got {t_end:g} s).")
    if not (math.isfinite(dt) and dt > 0):
        raise SolverError(f"The time step must be positive (got {dt:g} s).")
    n_steps = max(1, int(math.ceil(t_end / dt - 1e-9)))
    if n_steps > 1_000_000:
        raise SolverError(f"{n_steps:,} steps of {dt:g} s for {t_end:g} s is too many; use a "
                          f"step of at least {_suggest(t_end / 10000)} s.")
    dt = t_end / n_steps  # the span in whole steps
    sink = sink if sink is not None else MemoryHistorySink()
    progress(0.0, "Assembling conduction and capacity matrices")
    s = assemble_heat(mesh, setup.heat, order, cancel)
    m, basis, dim = s.m, s.basis, s.m.dim()
    rc = element_values(setup.density, s.mesh, m, "density") * \
        element_values(setup.specific_heat, s.mesh, m, "specific heat")

    @skfem.BilinearForm
    def capacity(u, v, w):
        return w["rc"] * u * v * s.weight(w)

    C = capacity.assemble(basis, rc=p0_field(m, basis, rc)).tocsr()
    K = s.K.tocsr()
    funcs: Mapping = setup.time_functions
    known = set(s.mesh.boundaries) | set(s.mesh.subdomains) | {"source"}
    unknown = sorted(set(funcs) - known)
    if unknown:
        raise SolverError(f"Time functions for unknown regions {', '.join(unknown)} (regions: "
                          f"{', '.join(sorted(known))}).")
    loads = [(np.asarray(v), funcs.get(k, constant)) for k, v in s.loads]
    D = np.array(sorted(s.fixed), dtype=np.int64)
    region_of = {d: r for r, ds in s.fixed_by_region.items() for d in ds}
    d_values = np.array([s.fixed[d] for d in D], dtype=float)
    d_groups = {}
    for i, d in enumerate(D):
        d_groups.setdefault(region_of[int(d)], []).append(i)
    d_groups = {r: (np.array(ix), funcs.get(r, constant)) for r, ix in d_groups.items()}
    free = np.setdiff1d(np.arange(basis.N), D)

    def load(t: float) -> np.ndarray:
        f = np.zeros(basis.N)
        for vec, fn in loads:
            f += float(fn(t)) * vec
        return f

    def boundary(t: float) -> np.ndarray:
        out = d_values.copy()
        for ix, fn in d_groups.values():
            out[ix] *= float(fn(t))
        return out

    cancel.check()
    t_asm = time.perf_counter() - t_start
    progress(0.03, f"Factorising {len(free):,} unknowns")
    t0 = time.perf_counter()
    theta = {"euler": 1.0, "crank-nicolson": 0.5, "bdf2": 2.0 / 3.0}[scheme]
    A = (C + theta * dt * K).tocsr()
    A_II, A_ID = A[free][:, free], A[free][:, D]
    factor = _Factor(A_II, dim)
    first = None
    if scheme == "bdf2":  # first step backward Euler (with the same preconditioner for CG)
        A1 = (C + dt * K).tocsr()
        first = (_Factor(A1[free][:, free], dim, None if factor.method == "direct" else
                         factor.precond), A1[free][:, D])
    t_factor = time.perf_counter() - t0

    # outputs: nodal fields, flux operator, probes, convection heat rates
    if callable(setup.initial):
        T = np.asarray(setup.initial(basis.doflocs), dtype=float).reshape(-1)
        if T.shape != (basis.N,) or not np.all(np.isfinite(T)):
            raise SolverError("The initial temperature function must give one finite value "
                              "per node.")
    else:
        T = np.full(basis.N, float(setup.initial))
    T[D] = boundary(0.0)
    out_mesh, _ = _nodal_fields(m, s.mesh, basis, T, order, s.k_elem)
    G = _flux_operator(m, s.mesh, basis, order, s.k_elem)
    probes = {}
    for name, point in setup.probes.items():
        x = np.zeros((dim, 1))
        x[:, 0] = np.asarray(point, dtype=float)[:dim]
        try:
            probes[name] = basis.probes(x)
        except (ValueError, IndexError):
            raise SolverError(f"The probe '{name}' at {tuple(point)} is outside the mesh.") from None
    rate_vec = {}
    for bc in setup.heat.convections:
        fb = skfem.FacetBasis(m, basis.elem, facets=region_facets(m, s.mesh, bc.region),
                              intorder=2 * order + 1)
        g = skfem.LinearForm(lambda v, w, h=bc.h: h * v * s.weight(w)).assemble(fb)
        rate_vec[f"heat_rate[{bc.region}]"] = (g, bc.t_inf, funcs.get(bc.region, constant))

    def curves(t: float, T: np.ndarray) -> dict[str, float]:
        out = {name: float((P @ T)[0]) for name, P in probes.items()}
        out["peak_temperature"] = float(T.max())
        out["min_temperature"] = float(T.min())
        for name, (g, t_inf, fn) in rate_vec.items():
            out[name] = float(g @ T - t_inf * float(fn(t)) * g.sum())
        return out

    def fields(T: np.ndarray) -> dict[str, np.ndarray]:
        flux = np.zeros((basis.N, 3))
        for d, Gd in enumerate(G):
            flux[:, d] = Gd @ T
        return {"temperature": T, "heat_flux": flux}

    curve_units = {**{k: "degC" for k in (*probes, "peak_temperature", "min_temperature")},
                   **{k: "W" for k in rate_vec}}
    head_meta = dict(scheme=scheme, dt=dt, t_end=t_end, n_steps_total=n_steps, order=order,
                     n_dofs=int(basis.N), physics="heat", analysis=setup.analysis)
    sink.begin(out_mesh, source="solver:heat-transient",
               units={"temperature": "degC", "heat_flux": "W/m^2"}, curve_units=curve_units,
               meta=head_meta)
    sink.append(0.0, fields(T), curves(0.0, T))

    # accuracy bookkeeping
    warnings: list[str] = []
    if n_steps < MIN_STEPS:
        warnings.append(f"Only {n_steps} time steps over {t_end:g} s: too few to follow the "
                        f"transient; try a step of {_suggest(t_end / 50)} s.")
    data = [float(T.min()), float(T.max()), *d_values, *(bc.t_inf for bc in setup.heat.convections)]
    bounded = not setup.heat.fluxes and not setup.heat.source and not setup.heat.region_sources
    lo, hi = min(data), max(data)
    worst_change, oscillating, prev_dT = 0.0, 0, None
    seen_lo, seen_hi = float(T.min()), float(T.max())
    T_prev = None
    save_every = max(1, int(setup.save_every))
    stopped = ""
    f_now = load(0.0)
    t_loop = time.perf_counter()
    step = 0
    for step in range(1, n_steps + 1):
        if cancel.cancelled:
            stopped = "cancelled"
            break
        t = step * dt
        f_next = load(t)
        TD = boundary(t)
        if scheme == "euler" or (scheme == "bdf2" and step == 1):
            fac, AID = (factor, A_ID) if first is None else first
            rhs = C @ T + dt * f_next
        elif scheme == "crank-nicolson":
            fac, AID = factor, A_ID
            rhs = C @ T - 0.5 * dt * (K @ T) + 0.5 * dt * (f_now + f_next)
        else:
            fac, AID = factor, A_ID
            rhs = (4.0 / 3.0) * (C @ T) - (1.0 / 3.0) * (C @ T_prev) + (2.0 / 3.0) * dt * f_next
        T_new = np.empty_like(T)
        T_new[D] = TD
        T_new[free] = fac.solve(rhs[free] - AID @ TD, T[free])
        if not np.all(np.isfinite(T_new)):
            raise SolverError(f"The temperature is not finite at t = {t:.4g} s: the step "
                              f"{dt:g} s is unstable for these inputs; try {_suggest(dt / 10)} s.")
        dT = T_new - T
        span = max(hi - lo, float(np.ptp(T_new)), 1e-12)
        if bounded and (T_new.max() > hi + 100 * span or T_new.min() < lo - 100 * span):
            raise SolverError(f"The temperature grows without bound at t = {t:.4g} s (step "
                              f"{step}); the step {dt:g} s is unstable; try {_suggest(dt / 10)} s.")
        seen_lo, seen_hi = min(seen_lo, float(T_new.min())), max(seen_hi, float(T_new.max()))
        if step > 2:  # the first steps after a sudden change move fast by nature
            worst_change = max(worst_change, float(np.abs(dT[free]).max()) if free.size else 0.0)
        if prev_dT is not None and scheme == "crank-nicolson":
            flips = (dT * prev_dT < 0) & (np.abs(dT) > 0.01 * span)
            oscillating = oscillating + 1 if flips.mean() > 0.01 else 0
        prev_dT = dT
        T_prev, T = T, T_new
        f_now = f_next
        if step % save_every == 0 or step == n_steps:
            sink.append(t, fields(T), curves(t, T))
        progress(0.05 + 0.95 * step / n_steps,
                 f"t = {t:.4g} of {t_end:.4g} s (step {step}/{n_steps})")
        if oscillating == 3:
            h = _min_edge(out_mesh)
            alpha = float(s.k_elem.max() / rc.min())
            warnings.append(
                f"Crank-Nicolson oscillates (from t = {t:.4g} s): the step {dt:g} s is much "
                f"longer than the element diffusion time h^2/alpha = {h * h / alpha:.3g} s; use "
                f"bdf2, or a step of {_suggest(max(h * h / alpha, dt / 10))} s.")
    worst_change /= max(seen_hi - seen_lo, 1e-12)  # of the whole history's range
    if worst_change > MAX_STEP_CHANGE:
        warnings.append(f"The temperature changes by up to {100 * worst_change:.0f} % of its "
                        f"range in one step of {dt:g} s: too coarse to resolve the transient; "
                        f"try {_suggest(dt * 0.1 / worst_change)} s.")
    done_steps = step if not stopped else step - 1
    t_steps = time.perf_counter() - t_loop
    final = curves(done_steps * dt, T)
    key_units = dict(curve_units)
    meta = dict(stopped=stopped, warnings=warnings, steps_done=done_steps, t_assembly=t_asm,
                t_factor=t_factor, t_steps=t_steps, t_total=time.perf_counter() - t_start,
                method=factor.method, cg_iterations=factor.iterations,
                key_quantities=final, key_units=key_units)
    progress(1.0, "Cancelled: kept the steps done" if stopped else "Done")
    return sink.end(complete=not stopped, meta=meta)


def _min_edge(mesh: MeshData) -> float:
    conn = mesh.cells[0].connectivity
    p = mesh.points
    corners = 3 if mesh.dim == 2 else 4
    lengths = [np.linalg.norm(p[conn[:, a]] - p[conn[:, b]], axis=1)
               for a in range(corners) for b in range(a + 1, corners)]
    return float(np.min(lengths))

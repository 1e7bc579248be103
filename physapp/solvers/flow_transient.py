"""Transient incompressible Navier-Stokes (Taylor-Hood P2/P1, BDF2, semi-implicit convection).

Equations as in :mod:`physapp.solvers.flow` plus the time derivative (kinematic pressure):
du/dt + (u . grad) u - nu lap u + grad p = 0, div u = 0, from rest (u = 0 at t = 0) with the
boundary velocities switched on at once (an impulsive start).

**Scheme.** Second-order backward differences (BDF2; the first step backward Euler) with the
convecting velocity extrapolated in time, w = 2 u^n - u^(n-1): every step is one *linear* Oseen
problem for (u^(n+1), p^(n+1)), solved monolithically (no splitting error in the pressure, so
drag and lift keep their accuracy),

    [3/(2 dt) M + nu A + N(w)] u^(n+1) - B^T p^(n+1) = M (4 u^n - u^(n-1)) / (2 dt),  B u = 0.

The matrix changes every step only through N(w). The convection matrix is assembled from
per-element tensors computed once (a few milliseconds a step instead of a scikit-fem assembly),
straight into the CSR data of the free unknowns in a fixed nested-dissection order
(:func:`physapp.solvers.flow.nested_dissection`). Each step's system is solved by GMRES
preconditioned with the SuperLU factorisation of an earlier step's matrix; while the flow changes
little between steps the same factorisation serves for many steps. It is renewed when the
iterations beyond those needed right after the last factorisation have cost as much time as a
factorisation takes (measured as the run goes), or when a step needs more than
:data:`REFACTOR_ITERATIONS` (the counts are in the statistics).

**Forces** per step use the volume-integral form of the steady solver, now with the discrete
time derivative in the residual: F . d = -[(du/dt, v_d) + nu (grad u, grad v_d)
+ ((w . grad) u, v_d) - (p, div v_d)]. The Strouhal number St = f L_ref / U_ref comes from the
upward zero crossings of the lift coefficient about its mean over the evaluation window.

**Stability.** The scheme is linearly implicit and stable at convective Courant numbers of a few,
but not for any step: a kinetic energy above :data:`ENERGY_LIMIT` times that of the peak
boundary speed filling the domain, a non-finite value, or a linear solve that fails stops the
run with the steps done and a message that suggests a step (from the largest Courant number).
A cancel also keeps the steps done (``complete=False``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import skfem
from scipy.sparse.linalg import splu
from skfem.helpers import dot

from physapp.core.errors import Cancelled, SolverError
from physapp.core.flow_setup import TransientFlowSetup
from physapp.core.history import FieldHistory
from physapp.core.history_sink import HistorySink, MemoryHistorySink
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.solvers import flow_post as post
from physapp.solvers.fem_mesh import region_facets
from physapp.solvers.flow import _Problem

#: GMRES iterations above which the preconditioner (an earlier step's factorisation) is renewed
REFACTOR_ITERATIONS = 15
#: GMRES iterations after which a step is solved with a fresh factorisation instead
MAX_GMRES = 30
#: relative accuracy of each step's linear solve
LINEAR_RTOL = 1e-6
#: kinetic energy above this multiple of (peak boundary speed filling the domain) = unstable
ENERGY_LIMIT = 25.0

SCHEME = "BDF2, semi-implicit (extrapolated) convection, Taylor-Hood P2/P1"
FIELD_UNITS = {"velocity": "m/s", "pressure": "Pa", "vorticity": "1/s"}
CURVE_UNITS = {"cd": "", "cl": "", "kinetic_energy": "m^4/s^2"}
KEY_UNITS = {"cd_max": "", "cl_max": "", "cd_mean": "", "cl_amplitude": "", "strouhal": "",
             "frequency": "Hz", "reynolds": ""}

StepCallback = Callable[[float, dict, dict], None]
VelocityFn = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
BoundaryFn = Callable[[np.ndarray, np.ndarray, float], tuple[np.ndarray, np.ndarray]]


@skfem.BilinearForm
def _mass(u, v, w):
    return dot(u, v)


class _Operators:
    """Fixed parts of the step matrix on the free unknowns (nested-dissection order) and the
    per-element tensors that assemble the convection matrix N(w) quickly."""

    def __init__(self, prob: _Problem) -> None:
        self.prob = prob
        ub, sb = prob.ub, prob.sb
        n = prob.nu_dofs + prob.np_dofs
        self.M = _mass.assemble(ub).tocsr()
        perm = self.perm = prob.free[prob.ordering()]
        newidx = np.full(n, -1, dtype=np.int64)
        newidx[perm] = np.arange(len(perm))
        self.newidx = newidx
        self.nf = len(perm)
        self.D = prob.D
        # scalar P2 tensors: values (6, E, q), gradients (6, 2, E, q), weights dx (E, q)
        self.phi = np.stack([np.asarray(sb.basis[i][0]) for i in range(6)])
        self.dphi = np.stack([np.asarray(sb.basis[i][0].grad) for i in range(6)])
        self.phi_dx = self.phi * np.asarray(sb.dx)[None]
        self.sdofs = sb.element_dofs  # (6, E)
        self.comp = ub.split_indices()[:2]  # vector dof of each scalar dof, per component
        # the pattern of the free system: fixed blocks plus every element pair of each component
        zero_p = sp.csr_matrix((prob.np_dofs, prob.np_dofs))
        Mfull = sp.bmat([[self.M, None], [None, zero_p]], format="csr")
        Rfull = sp.bmat([[prob.A, -prob.B.T], [-prob.B, None]], format="csr")
        self.Mfull, self.Rfull = Mfull, Rfull
        rows, cols = [], []
        self.valid = []
        for c in (0, 1):
            r = newidx[self.comp[c][np.repeat(self.sdofs, 6, axis=0)]]  # (36, E): i major
            cc = newidx[self.comp[c][np.tile(self.sdofs, (6, 1))]]
            ok = (r >= 0) & (cc >= 0)
            self.valid.append(ok.ravel())
            rows.append(r.ravel()[ok.ravel()])
            cols.append(cc.ravel()[ok.ravel()])
        Mff = Mfull[perm][:, perm].tocoo()
        Rff = Rfull[perm][:, perm].tocoo()
        keys_all = np.concatenate([Mff.row * self.nf + Mff.col, Rff.row * self.nf + Rff.col,
                                   *(r * self.nf + c for r, c in zip(rows, cols, strict=True))])
        keys = np.unique(keys_all)
        self.indices = (keys % self.nf).astype(np.int32)
        self.indptr = np.searchsorted(keys // self.nf, np.arange(self.nf + 1)).astype(np.int32)
        self.nnz = len(keys)
        self.m_data = np.bincount(np.searchsorted(keys, Mff.row * self.nf + Mff.col),
                                  Mff.data, minlength=self.nnz)
        r_data = np.bincount(np.searchsorted(keys, Rff.row * self.nf + Rff.col), Rff.data,
                             minlength=self.nnz)
        # A and B share Rff: split the viscous part out so nu can scale it
        Aff = sp.bmat([[prob.A, None], [None, zero_p]], format="csr")[perm][:, perm].tocoo()
        self.lap_data = np.bincount(np.searchsorted(keys, Aff.row * self.nf + Aff.col),
                                    Aff.data, minlength=self.nnz)
        self.b_data = r_data - self.lap_data
        self.n_pos = [np.searchsorted(keys, r * self.nf + c) for r, c in
                      zip(rows, cols, strict=True)]
        # coupling of the free rows to the prescribed values (fixed parts)
        Afull = sp.bmat([[prob.A, None], [None, zero_p]], format="csr")
        self.M_fD = Mfull[perm][:, self.D].tocsr()
        self.A_fD = Afull[perm][:, self.D].tocsr()
        self.B_fD = (Rfull - Afull)[perm][:, self.D].tocsr()

    def convection(self, w: np.ndarray) -> np.ndarray:
        """Element matrices (6, 6, E) of the scalar convection form (phi_i, (w . grad) phi_j)."""
        wx = w[self.comp[0]][self.sdofs]  # (6, E)
        wy = w[self.comp[1]][self.sdofs]
        wq = np.einsum("ke,keq->eq", wx, self.phi), np.einsum("ke,keq->eq", wy, self.phi)
        s = self.dphi[:, 0] * wq[0][None] + self.dphi[:, 1] * wq[1][None]  # (6, E, q)
        return np.einsum("ieq,jeq->ije", self.phi_dx, s)

    def matrix(self, a: float, nu: float, C: np.ndarray) -> sp.csr_matrix:
        data = a * self.m_data + nu * self.lap_data + self.b_data
        flat = C.reshape(36, -1).ravel()
        for c in (0, 1):
            data = data + np.bincount(self.n_pos[c], flat[self.valid[c]], minlength=self.nnz)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=(self.nf, self.nf))

    def apply_convection(self, C: np.ndarray, u: np.ndarray) -> np.ndarray:
        """N(w) u for a full velocity vector u (all velocity dofs)."""
        out = np.zeros(self.prob.nu_dofs)
        for c in (0, 1):
            ul = u[self.comp[c]][self.sdofs]  # (6, E)
            loc = np.einsum("ije,je->ie", C, ul)
            out += np.bincount(self.comp[c][self.sdofs].ravel(), loc.ravel(),
                               minlength=self.prob.nu_dofs)
        return out


def gmres_right(A, b: np.ndarray, x0: np.ndarray, precond: Callable, rtol: float,
                maxit: int) -> tuple[np.ndarray | None, int]:
    """Right-preconditioned GMRES (modified Gram-Schmidt, no restart): stops when the true
    residual |b - A x| is below ``rtol |b|`` (right preconditioning keeps the true residual in
    the Arnoldi recurrence; scipy's left-preconditioned gmres tests the preconditioned one).
    Returns (x, iterations), x None when ``maxit`` iterations did not reach the tolerance."""
    r = b - A @ x0
    beta = float(np.linalg.norm(r))
    target = rtol * float(np.linalg.norm(b))
    if beta <= target:
        return x0, 0
    V = [r / beta]
    Z: list[np.ndarray] = []
    H = np.zeros((maxit + 1, maxit))
    for k in range(maxit):
        z = precond(V[k])
        Z.append(z)
        w = A @ z
        for i in range(k + 1):
            H[i, k] = float(w @ V[i])
            w -= H[i, k] * V[i]
        H[k + 1, k] = float(np.linalg.norm(w))
        e1 = np.zeros(k + 2)
        e1[0] = beta
        y = np.linalg.lstsq(H[: k + 2, : k + 1], e1, rcond=None)[0]
        res = float(np.linalg.norm(H[: k + 2, : k + 1] @ y - e1))
        if not np.isfinite(res):
            return None, k + 1
        if res <= target or H[k + 1, k] <= 1e-14 * beta:
            return x0 + np.column_stack(Z) @ y, k + 1
        V.append(w / H[k + 1, k])
    return None, maxit


def _vorticity_matrix(prob: _Problem) -> sp.csr_matrix:
    """Sparse map [u_x; u_y] (scalar P2 coefficients) -> nodal vorticity dv/dx - du/dy at the P2
    nodes, averaged over the elements sharing a node (as post.nodal_gradient)."""
    m, sb = prob.m, prob.sb
    qb = skfem.Basis(m, skfem.ElementTriP2(), quadrature=(post.P2_NODES, np.ones(6)))
    dofs = sb.element_dofs  # (6, E)
    count = np.bincount(dofs.ravel(), minlength=sb.N).astype(float)
    rows, cols, vals = [], [], []
    for j in range(6):
        g = np.asarray(qb.basis[j][0].grad)  # (2, E, 6 nodes)
        for node in range(6):
            r = dofs[node]
            rows += [r, r]
            cols += [dofs[j] + sb.N, dofs[j]]  # d(uy)/dx, d(ux)/dy
            vals += [g[0, :, node] / count[r], -g[1, :, node] / count[r]]
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(sb.N, 2 * sb.N))


def _element_sizes(m: skfem.MeshTri) -> np.ndarray:
    """Shortest edge of each triangle."""
    p = m.p[:, m.t]
    edges = [np.linalg.norm(p[:, i] - p[:, (i + 1) % 3], axis=0) for i in range(3)]
    return np.min(edges, axis=0)


def periodic_stats(t: np.ndarray, cd: np.ndarray, cl: np.ndarray, l_ref: float, u_ref: float,
                   t_from: float, periods: int = 3) -> dict:
    """Drag and lift of a shedding flow over ``t >= t_from``: the Strouhal number from the mean
    of the last (up to 4) lift periods (upward zero crossings about the mid-range), the maxima
    of drag and lift over the last ``periods`` full periods and what follows them (refined by a
    parabola through the largest sample and its neighbours), the mean drag and the lift
    amplitude over the same span. ``periodic`` says the last two lift periods agree in
    amplitude to 2 %; ``periods`` is how many full lift periods the window holds."""
    sel = t >= t_from
    t, cd, cl = t[sel], cd[sel], cl[sel]
    out: dict = {"cd_max": math.nan, "cl_max": math.nan, "cd_mean": math.nan,
                 "cl_amplitude": math.nan, "strouhal": math.nan, "frequency": math.nan,
                 "periods": 0, "periodic": False}
    if len(t) < 5:
        return out
    s = cl - 0.5 * (cl.max() + cl.min())
    up = np.flatnonzero((s[:-1] < 0) & (s[1:] >= 0))
    crossings = t[up] - s[up] * (t[up + 1] - t[up]) / (s[up + 1] - s[up])
    if len(crossings) >= 2:
        f = 1.0 / float(np.mean(np.diff(crossings)[-4:]))
        out.update(frequency=f, strouhal=f * l_ref / u_ref, periods=len(crossings) - 1)
        if len(crossings) >= 3:
            a = [np.ptp(cl[(t >= crossings[k]) & (t <= crossings[k + 1])])
                 for k in (len(crossings) - 3, len(crossings) - 2)]
            out["periodic"] = bool(abs(a[1] - a[0]) <= 0.02 * max(abs(a[1]), 1e-300))
        if len(crossings) > periods:
            last = t >= crossings[-periods - 1]
            t, cd, cl = t[last], cd[last], cl[last]
    out.update(cd_max=_peak(cd), cl_max=_peak(cl), cd_mean=float(np.mean(cd)),
               cl_amplitude=0.5 * float(np.ptp(cl)))
    return out


def _peak(y: np.ndarray) -> float:
    if len(y) == 0:
        return math.nan
    k = int(np.argmax(y))
    if 0 < k < len(y) - 1:
        a, b, c = y[k - 1], y[k], y[k + 1]
        den = a - 2 * b + c
        if den < 0:
            return float(b - 0.125 * (c - a) ** 2 / den)
    return float(y[k])


def solve_transient_navier_stokes(mesh: MeshData, setup: TransientFlowSetup, *, order: int = 1,
                                  progress: ProgressFn = no_progress,
                                  cancel: CancelToken = NEVER,
                                  sink: HistorySink | None = None,
                                  on_step: StepCallback | None = None,
                                  initial: VelocityFn | None = None,
                                  boundary: BoundaryFn | None = None) -> FieldHistory:
    """Integrate the flow from rest to ``setup.t_end``; a :class:`FieldHistory` of velocity,
    pressure and vorticity (on the vertices with ``order=1``, the P2 nodes with ``order=2``)
    every ``setup.frame_interval`` seconds, with the curves ``cd``, ``cl`` and
    ``kinetic_energy`` at those frames; ``meta["key_quantities"]`` has the maxima and the
    Strouhal number from the forces at *every* step (see :func:`periodic_stats`).

    Frames go to ``sink`` (a :class:`~physapp.core.history_sink.HistorySink`, e.g. the streaming
    ``io.history.HistoryWriter``; default in memory), whose ``end`` gives the history.
    ``on_step(t, fields, curves)`` is called after every step with its curves (``fields`` is
    empty between stored frames). A cancel or an instability ends the history with the frames
    so far, ``complete=False`` and the reason in ``meta["stopped"]``.

    For exact-solution checks: ``initial(x, y) -> (u_x, u_y)`` replaces the state of rest, and
    ``boundary(x, y, t) -> (u_x, u_y)`` gives the prescribed velocity at every boundary node with
    one (the set-up still says which regions are prescribed)."""
    flow = setup.flow
    if not (np.isfinite(flow.nu) and flow.nu > 0):
        raise SolverError(f"The kinematic viscosity must be positive (got {flow.nu:g} m^2/s).")
    if mesh.dim != 2:
        raise SolverError("The Navier-Stokes solver handles 2D meshes only.")
    if not (np.isfinite(setup.dt) and setup.dt > 0 and np.isfinite(setup.t_end)
            and setup.t_end > 0):
        raise SolverError(f"The time step and the end time must be positive (got dt = "
                          f"{setup.dt:g} s, t_end = {setup.t_end:g} s).")
    n_steps = int(math.ceil(setup.t_end / setup.dt - 1e-9))
    dt = setup.t_end / n_steps
    t0 = time.perf_counter()
    progress(0.0, "Assembling")
    prob = _Problem(mesh, flow)
    ops = _Operators(prob)
    cancel.check()
    t_asm = time.perf_counter() - t0
    nu_dofs, nu = prob.nu_dofs, flow.nu
    m, sb, ub = prob.m, prob.sb, prob.ub
    ix, iy = ub.split_indices()[:2]
    vort_op = _vorticity_matrix(prob)
    # body dofs for the forces, its rotation pattern for the kick
    body_x = body_y = None
    rot = np.zeros(nu_dofs)
    if flow.body:
        view = ub.get_dofs(region_facets(m, prob.mesh, flow.body))
        body_x, body_y = view.all("u^1"), view.all("u^2")
        if setup.kick > 0 and setup.kick_time > 0:
            centre = ub.doflocs[:, body_x].mean(axis=1)
            rad = np.linalg.norm(ub.doflocs[:, body_x] - centre[:, None], axis=0).max()
            omega = setup.kick * flow.u_ref / max(rad, 1e-300)  # rigid rotation
            rot[body_x] = -omega * (ub.doflocs[1, body_x] - centre[1])
            rot[body_y] = omega * (ub.doflocs[0, body_y] - centre[0])
    d_dir = np.asarray(flow.drag_direction, dtype=float)
    d_dir = d_dir / np.linalg.norm(d_dir)
    l_dir = np.array([-d_dir[1], d_dir[0]])
    coef = 2.0 / (flow.u_ref**2 * flow.l_ref)
    area = float(np.sum(np.asarray(sb.dx)))
    h_el = _element_sizes(m)

    fixed_x = ix[prob.fixed_u[ix]]
    fixed_y = iy[prob.fixed_u[iy]]

    def bc_values(t: float) -> np.ndarray:
        vals = prob.u_bc.copy()
        if boundary is not None:
            vals[fixed_x] = boundary(*ub.doflocs[:, fixed_x], t)[0]
            vals[fixed_y] = boundary(*ub.doflocs[:, fixed_y], t)[1]
        if setup.kick > 0 and t < setup.kick_time:
            vals += math.sin(math.pi * t / setup.kick_time) * rot
        return vals

    n = nu_dofs + prob.np_dofs
    perm, D = ops.perm, ops.D
    u_prev = np.zeros(nu_dofs)  # u^(n-1)
    u_now = np.zeros(nu_dofs)   # u^n (rest)
    if initial is not None:
        u_now[ix] = initial(*ub.doflocs[:, ix])[0]
        u_now[iy] = initial(*ub.doflocs[:, iy])[1]
    speed_max = max(float(np.max(np.abs(bc_values(0.0)))), float(np.max(np.abs(u_now))),
                    setup.kick * flow.u_ref, 1e-300)
    e_limit = ENERGY_LIMIT * 0.5 * area * speed_max**2
    x = np.zeros(n)
    x[:nu_dofs] = u_now
    x_prev = x_prev2 = x
    lu = None
    base_its, excess, t_factor = None, 0.0, 0.0
    stats = {"factorisations": 0, "gmres_iterations": 0, "max_gmres": 0}
    frame_every = max(1, int(round(setup.frame_interval / dt))) if setup.frame_interval > 0 else 1
    sink = sink if sink is not None else MemoryHistorySink()
    series = {"time": [0.0], "cd": [0.0], "cl": [0.0]}
    out_mesh = None
    frame_t = [0.0]
    stopped = ""
    cfl_max = 0.0
    t_report = time.perf_counter()
    t1 = time.perf_counter()

    def output(u: np.ndarray, p: np.ndarray) -> dict:
        nonlocal out_mesh
        ux, uy = u[ix], u[iy]
        vort = vort_op @ np.concatenate([ux, uy])
        p2 = post.p1_to_p2(m, p)
        fields = {"velocity": np.column_stack([ux, uy, np.zeros_like(ux)]),
                  "pressure": flow.rho * p2, "vorticity": vort}
        om, fields = post.output(m, sb, prob.mesh, fields, order)
        if out_mesh is None:
            out_mesh = om
            sink.begin(om, source="solver:flow-transient", units=dict(FIELD_UNITS),
                       curve_units=dict(CURVE_UNITS),
                       meta={"scheme": SCHEME, "dt": float(dt), "t_end": float(setup.t_end)})
        return {k: v.astype(np.float32) for k, v in fields.items()}

    def store(t: float, u: np.ndarray, p: np.ndarray, cd: float, cl: float, ke: float) -> None:
        fields = output(u, p)
        frame_t.append(t)
        sink.append(t, fields, {"cd": cd, "cl": cl, "kinetic_energy": ke})
        return fields

    ke0 = 0.5 * float(u_now @ (ops.M @ u_now))
    fields0 = store(0.0, u_now, np.zeros(prob.np_dofs), 0.0, 0.0, ke0)
    if on_step is not None:
        on_step(0.0, fields0, {"cd": 0.0, "cl": 0.0, "kinetic_energy": ke0})
    step = 0
    try:
        for step in range(1, n_steps + 1):
            cancel.check()
            t = step * dt
            if step == 1:  # backward Euler from rest
                a, w, hist = 1.0 / dt, u_now, u_now / dt
            else:
                a, w = 1.5 / dt, 2.0 * u_now - u_prev
                hist = (4.0 * u_now - u_prev) / (2.0 * dt)
            C = ops.convection(w)
            K = ops.matrix(a, nu, C)
            xd = np.zeros(n)
            xd[:nu_dofs] = bc_values(t)
            xd_D = xd[D]
            rhs_full = np.zeros(n)
            rhs_full[:nu_dofs] = ops.M @ hist
            conv_d = ops.apply_convection(C, xd[:nu_dofs])
            rhs_full[:nu_dofs] -= conv_d
            b = (rhs_full[perm] - a * (ops.M_fD @ xd_D) - nu * (ops.A_fD @ xd_D)
                 - ops.B_fD @ xd_D)
            # initial guess: the unknowns extrapolated quadratically from the last three steps
            guess = 3.0 * x - 3.0 * x_prev + x_prev2 if step > 3 else x.copy()
            y0 = guess[perm]
            y = None
            if lu is not None:
                ts = time.perf_counter()
                y, its = gmres_right(K, b, y0, lu.solve, LINEAR_RTOL, MAX_GMRES)
                t_iter = (time.perf_counter() - ts) / max(its, 1)
                stats["gmres_iterations"] += its
                stats["max_gmres"] = max(stats["max_gmres"], its)
                # renew the factorisation once the iterations beyond those right after the
                # last one have cost as much time as a factorisation does
                base_its = its if base_its is None else min(base_its, its)
                excess += (its - base_its) * t_iter
                if y is not None and (excess > t_factor or its > REFACTOR_ITERATIONS):
                    lu = None  # this step is solved; a fresh factorisation for the next ones
            if y is None or lu is None:
                ts = time.perf_counter()
                try:
                    lu = splu(K.tocsc(), permc_spec="NATURAL", diag_pivot_thresh=0.01,
                              options={"SymmetricMode": True})
                except RuntimeError as exc:
                    raise SolverError(f"The flow system is singular ({exc}); check that the "
                                      "boundary conditions determine the flow.") from None
                t_factor = time.perf_counter() - ts
                base_its, excess = None, 0.0
                stats["factorisations"] += 1
                if y is None:
                    y = lu.solve(b)
            x_prev2, x_prev = x_prev, x
            x = xd.copy()
            x[perm] = y
            u_new, p_new = x[:nu_dofs], x[nu_dofs:]
            ke = 0.5 * float(u_new @ (ops.M @ u_new))
            # forces: the residual of the step's equations at the body's velocity dofs
            cd = cl = 0.0
            if body_x is not None:
                if step == 1:
                    dudt = (u_new - u_now) / dt
                else:
                    dudt = (3.0 * u_new - 4.0 * u_now + u_prev) / (2.0 * dt)
                r = (ops.M @ dudt + nu * (prob.A @ u_new) + ops.apply_convection(C, u_new)
                     - prob.B.T @ p_new)
                f = np.array([-r[body_x].sum(), -r[body_y].sum()])
                cd, cl = float(coef * f @ d_dir), float(coef * f @ l_dir)
            if not (np.isfinite(ke) and np.isfinite(cd) and np.isfinite(cl)) or ke > e_limit:
                # the Courant number of the peak boundary speed on the smallest element; the
                # scheme ran stably up to about 5 in the benchmarks
                cfl = speed_max * dt / float(h_el.min())
                suggest = min(dt / 4.0, 5.0 * float(h_el.min()) / speed_max)
                stopped = (f"The flow became unstable at t = {t:.4g} s (step {step}: kinetic "
                           f"energy {ke:.3g} m^4/s^2, above {ENERGY_LIMIT:g} times that of the "
                           f"peak boundary speed filling the domain). The time step {dt:.3g} s "
                           f"gives a Courant number of {cfl:.3g} at the peak boundary speed on "
                           f"the smallest element; use a step of at most {suggest:.3g} s.")
                break
            u_prev, u_now = u_now, u_new
            series["time"].append(t)
            series["cd"].append(cd)
            series["cl"].append(cl)
            fields = {}
            if step % frame_every == 0 or step == n_steps:
                fields = store(t, u_new, p_new, cd, cl, ke)
                speed = np.hypot(u_new[ix], u_new[iy])[sb.element_dofs].max(axis=0)
                cfl_max = max(cfl_max, float(np.max(speed * dt / h_el)))
            if on_step is not None:
                on_step(t, fields, {"cd": cd, "cl": cl, "kinetic_energy": ke})
            now = time.perf_counter()
            if now - t_report > 0.25 or step == n_steps:
                t_report = now
                progress(step / n_steps, f"t = {t:.4g} s of {setup.t_end:g} s (step {step}/"
                         f"{n_steps}; cd {cd:.4g}, cl {cl:.4g})")
    except Cancelled:
        stopped = f"cancelled at t = {frame_t[-1]:.4g} s"
    t_solve = time.perf_counter() - t1
    tt = np.array(series["time"])
    t_from = setup.periodic_from if setup.periodic_from is not None else 0.5 * setup.t_end
    kq = periodic_stats(tt, np.array(series["cd"]), np.array(series["cl"]), flow.l_ref,
                        flow.u_ref, t_from) if flow.body else {}
    warnings = []
    if stopped and not stopped.startswith("cancelled"):
        warnings.append(stopped)
    if flow.body and not stopped and kq.get("periods", 0) >= 1 and not kq.get("periodic"):
        warnings.append("The lift is not yet periodic in the evaluation window (from t = "
                        f"{t_from:g} s): run longer for converged maxima and Strouhal number.")
    periodic_flag, periods = kq.pop("periodic", False), kq.pop("periods", 0)
    if flow.body and not stopped and periods < 1:
        warnings.append(f"No full lift period after t = {t_from:g} s: no Strouhal number (the "
                        "flow may not shed at this Reynolds number, or the run is too short).")
    key = {k: float(v) for k, v in kq.items() if np.isfinite(v)}
    key["reynolds"] = float(flow.reynolds)
    meta = {
        "n_dofs": int(n), "n_free": int(ops.nf), "n_steps": int(len(tt) - 1), "dt": float(dt),
        "t_end": float(setup.t_end), "t_assembly": t_asm, "t_solve": t_solve,
        "time_per_step": t_solve / max(len(tt) - 1, 1), "max_courant": cfl_max,
        "scheme": SCHEME, "frames": len(frame_t),
        "periodic": bool(periodic_flag), "lift_periods": int(periods),
        "evaluated_from": float(t_from), **stats,
        "key_quantities": key, "key_units": {k: KEY_UNITS.get(k, "") for k in key},
        "field_units": dict(FIELD_UNITS), "warnings": warnings, "stopped": stopped,
        "order": order, "element": "Taylor-Hood P2/P1",
    }
    return sink.end(complete=not stopped, meta=meta)

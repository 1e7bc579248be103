"""Path following for the large-deformation problem (#22): Newton at fixed load factor, load
control with step cutting, and Crisfield's arc length.

``lambda`` scales every prescribed displacement and load. Load control: Newton's method with a
line search at each step (the first from the tangent predictor, later ones extrapolated from
the last increment); a step that fails (no convergence, a negative Jacobian, or a jump to a
distant equilibrium: its secant stiffness below a fifth of the last step's) is cut in half
and retried, a step that converged quickly lets the next one grow; when the step cannot be
cut further the solve stops and returns the steps so far (``complete = False``) with a
message (a limit point -- the tangent stiffness along the path has fallen to about zero --
says "try arc-length"). Arc length: Crisfield's cylindrical constraint ``|du|^2 = dl^2`` with
the root of the quadratic closest to the previous direction, which follows a path through
limit points (snap-through).

The model is a :class:`~physapp.solvers.hyperelastic_model.HyperelasticModel` (or anything with
its ``internal``, ``external``, ``reaction``, ``commit``, ``free``, ``fixed``, ``fixed_ref``, ``N``
and ``plastic``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse.linalg as spla

from physapp.core.errors import SolverError
from physapp.core.nonlinear import CONTROLS
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.solvers.hyperelastic_model import HyperelasticModel


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

"""A safeguarded preconditioned conjugate gradient.

scipy's and pyamg's CG trust the preconditioner and the arithmetic: once the attainable accuracy
of an ill-conditioned system (a slender cantilever in P2 has a condition number around 1e12) is
reached, their recursive residual keeps shrinking while the iterate drifts, and a preconditioner
that rounding has made slightly indefinite sends the iteration to 1e60. This one

- checks that the preconditioner and the matrix stay positive on every search direction
  (``p.Ap > 0``, ``r.z > 0``) and stops with ``status="breakdown"`` otherwise;
- replaces the recursive residual with the true one every ``replace_every`` iterations and
  verifies the true residual before it claims convergence;
- accepts convergence at the round-off floor of the system (``||r|| <= c eps (||A|| ||x|| +
  ||b||)``), where no further iteration can help;
- stops on divergence or stagnation and always returns the best iterate it has seen, with its
  true residual, so the caller can fall back (to a direct factorisation) with full knowledge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from physapp.core.progress import NEVER, CancelToken

#: statuses of :class:`PcgResult`
CONVERGED, ROUNDOFF, BREAKDOWN, DIVERGED, STAGNATED, MAXITER = (
    "converged", "round-off floor", "breakdown", "diverged", "stagnated", "iteration limit")


@dataclass(frozen=True)
class PcgResult:
    """Best iterate found, its true relative residual, iterations done and why the loop ended."""

    x: np.ndarray
    residual: float
    iterations: int
    status: str
    history: tuple[float, ...]

    @property
    def ok(self) -> bool:
        return self.status in (CONVERGED, ROUNDOFF)


def _inf_norm(A) -> float:
    return float(abs(sp.csr_matrix(A)).sum(axis=1).max()) if A.shape[0] else 0.0


def pcg(
    A: sp.spmatrix,
    b: np.ndarray,
    M: Callable[[np.ndarray], np.ndarray] | None = None,
    *,
    rtol: float = 1e-10,
    maxiter: int = 2000,
    replace_every: int = 50,
    stagnation_window: int = 100,
    cancel: CancelToken = NEVER,
    check_every: int = 5,
    on_iteration: Callable[[int, float], None] | None = None,
) -> PcgResult:
    """Solve the SPD system ``A x = b`` with ``M`` (a callable or LinearOperator) as preconditioner.

    ``on_iteration(k, relative_residual)`` is called every ``check_every`` iterations, right after
    ``cancel.check()``. Deterministic: the same input gives the same iterations.
    """
    apply_m = (lambda r: r) if M is None else (M.matvec if hasattr(M, "matvec") else M)
    b = np.asarray(b, dtype=np.float64)
    bnorm = float(np.linalg.norm(b))
    n = b.shape[0]
    if bnorm == 0.0:
        return PcgResult(np.zeros(n), 0.0, 0, CONVERGED, ())
    eps = np.finfo(np.float64).eps
    anorm = _inf_norm(A)
    x = np.zeros(n)
    r = b.copy()
    z = np.asarray(apply_m(r), dtype=np.float64).ravel()
    p = z.copy()
    rz = float(r @ z)
    best_x, best = x.copy(), bnorm
    history = [1.0]
    running_min = [1.0]  # running_min[i] = min(history[: i + 1])
    status = MAXITER
    k = 0
    if not rz > 0.0:
        return PcgResult(best_x, 1.0, 0, BREAKDOWN, tuple(history))
    while k < maxiter:
        k += 1
        Ap = A @ p
        pAp = float(p @ Ap)
        if not (pAp > 0.0 and np.isfinite(pAp)):
            status = BREAKDOWN
            break
        alpha = rz / pAp
        x += alpha * p
        if k % replace_every == 0:
            r = b - A @ x  # residual replacement: the recursive residual drifts from the true one
        else:
            r -= alpha * Ap
        rn = float(np.linalg.norm(r))
        history.append(rn / bnorm)
        running_min.append(min(running_min[-1], history[-1]))
        if rn < best:
            best = rn
            best_x[:] = x
        if k % check_every == 0:
            cancel.check()
            if on_iteration is not None:
                on_iteration(k, rn / bnorm)
        floor = 16.0 * eps * (anorm * float(np.linalg.norm(x)) + bnorm)
        if rn <= max(rtol * bnorm, floor):
            true = float(np.linalg.norm(b - A @ x))
            if true <= rtol * bnorm:
                status = CONVERGED
                break
            if true <= floor:
                status = ROUNDOFF
                break
            r = b - A @ x  # the recursive residual lied: continue from the true one
        if not np.isfinite(rn) or rn > 1e6 * best:
            status = DIVERGED
            break
        if k > stagnation_window and best > 0.5 * bnorm * running_min[k - stagnation_window]:
            status = STAGNATED
            break
        z = np.asarray(apply_m(r), dtype=np.float64).ravel()
        rz_new = float(r @ z)
        if not (rz_new > 0.0 and np.isfinite(rz_new)):
            status = BREAKDOWN
            break
        p *= rz_new / rz
        p += z
        rz = rz_new
    residual = float(np.linalg.norm(b - A @ best_x)) / bnorm
    if status in (MAXITER, STAGNATED) and residual <= rtol:
        status = CONVERGED
    return PcgResult(best_x, residual, k, status, tuple(history))

"""Sparse SPD solves: pyamg smoothed aggregation (with rigid-body modes) preconditioning CG.

Progress is reported and cancellation checked every few CG iterations, so a long solve can be
stopped from another thread; the job runner can also stop the whole child process.
"""

from __future__ import annotations

import math

import numpy as np
import pyamg
import scipy.sparse as sp

from physapp.core.errors import SolverError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress


def rigid_body_modes(doflocs: np.ndarray, component: np.ndarray) -> np.ndarray:
    """Rigid-body modes of a vector field sampled at ``doflocs`` (dim, n) with ``component`` (n,).

    2D: two translations and one rotation; 3D: three translations and three rotations.
    """
    dim, n = doflocs.shape
    modes = []
    for c in range(dim):
        modes.append((component == c).astype(float))
    x = doflocs - doflocs.mean(axis=1, keepdims=True)
    rotations = [(0, 1)] if dim == 2 else [(0, 1), (1, 2), (0, 2)]
    for a, b in rotations:
        r = np.zeros(n)
        r[component == a] = -x[b, component == a]
        r[component == b] = x[a, component == b]
        modes.append(r)
    return np.column_stack(modes)


def check_supported(modes: np.ndarray, constrained: np.ndarray, dim: int) -> None:
    """Raise SolverError when the constraints leave a rigid-body motion free (singular system)."""
    n_modes = modes.shape[1]
    if len(constrained) == 0:
        raise SolverError(
            "The model has no supports: it can move as a rigid body, so the stiffness matrix is "
            "singular. Add a fixed support or symmetry conditions."
        )
    sub = modes[constrained]
    sub = sub / np.maximum(np.linalg.norm(modes, axis=0), 1e-300)
    s = np.linalg.svd(sub, compute_uv=False)
    rank = int(np.sum(s > 1e-8 * max(s.max(), 1e-300)))
    if rank < n_modes:
        free = n_modes - rank
        raise SolverError(
            f"The supports leave {free} rigid-body motion(s) free (translation or rotation), so "
            "the system is singular. Add supports that stop every translation and rotation."
        )


def solve_spd(
    A: sp.csr_matrix,
    b: np.ndarray,
    modes: np.ndarray | None = None,
    *,
    rtol: float = 1e-10,
    maxiter: int = 2000,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> tuple[np.ndarray, dict]:
    """Solve ``A x = b`` with SA-AMG preconditioned CG; return ``x`` and solver statistics."""
    A = sp.csr_matrix(A)
    if not np.all(np.isfinite(b)) or not np.all(np.isfinite(A.data)):
        raise SolverError("The system contains NaN or infinite values; check material and loads.")
    if A.diagonal().min() <= 0:
        raise SolverError(
            "The stiffness matrix has a zero or negative diagonal entry: a node belongs to no "
            "element or a material constant is zero/negative."
        )
    bnorm = np.linalg.norm(b)
    if bnorm == 0.0:
        return np.zeros_like(b), {"iterations": 0, "residual": 0.0}
    progress(0.0, "Building AMG preconditioner")
    ml = pyamg.smoothed_aggregation_solver(A, B=modes, max_coarse=500)
    cancel.check()
    M = ml.aspreconditioner(cycle="V")
    residuals: list[float] = []
    count = [0]

    def callback(xk: np.ndarray) -> None:
        count[0] += 1
        if count[0] % 5 == 0:
            cancel.check()
            r = residuals[-1] / residuals[0] if residuals and residuals[0] > 0 else 1.0
            frac = min(1.0, math.log10(max(r, 1e-300)) / math.log10(rtol)) if r < 1 else 0.0
            progress(0.1 + 0.9 * frac, f"CG iteration {count[0]}, residual {r:.1e}")

    x, info = pyamg.krylov.cg(
        A, b, tol=rtol, maxiter=maxiter, M=M, callback=callback, residuals=residuals
    )
    rel = float(np.linalg.norm(b - A @ x) / bnorm)
    if info != 0 or not np.all(np.isfinite(x)) or rel > 1e3 * rtol:
        raise SolverError(
            f"The linear solver did not converge (relative residual {rel:.1e} after {count[0]} "
            "iterations). The model may be badly supported or the mesh degenerate."
        )
    return x, {"iterations": count[0], "residual": rel, "amg_levels": len(ml.levels)}

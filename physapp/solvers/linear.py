"""Sparse SPD solves: pyamg smoothed aggregation (with rigid-body modes) preconditioning CG.

Progress is reported and cancellation checked every few CG iterations, so a long solve can be
stopped from another thread; the job runner can also stop the whole child process.
"""

from __future__ import annotations

import math

import numpy as np
import pyamg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from pyamg.relaxation.relaxation import gauss_seidel

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


class VCycle(spla.LinearOperator):
    """A lean symmetric V-cycle over a pyamg hierarchy, used as a CG preconditioner.

    pyamg's own ``aspreconditioner`` computes residual norms around every cycle (two extra
    fine-level products) and relaxes on BSR blocks; here each level does one forward point
    Gauss-Seidel sweep on CSR, the coarse correction and one backward sweep (symmetric, so CG
    stays valid), and the coarsest level is an LU solve. Measured on a 170k-DOF P2 cantilever:
    same iteration count, 1.6x cheaper per iteration than pyamg's cycle with the same smoother.
    """

    def __init__(self, ml: pyamg.multilevel.MultilevelSolver) -> None:
        self.levels = [(lv.A.tocsr(), lv.P.tocsr(), lv.R.tocsr()) for lv in ml.levels[:-1]]
        coarse = sp.csc_matrix(ml.levels[-1].A)
        # aggregates made only of supported nodes have all-zero interpolation columns (the modes
        # are zeroed there); their coarse rows are empty and any value is harmless: pin it
        d = coarse.diagonal()
        empty = np.abs(d) <= 1e-14 * max(np.abs(d).max(), 1e-300)
        if np.any(empty):
            coarse = (coarse + sp.diags(empty.astype(np.float64) * max(d.max(), 1.0))).tocsc()
        try:
            self.lu = spla.splu(coarse)
        except RuntimeError as exc:
            raise SolverError(
                "The coarse multigrid problem is singular: the supports probably do not hold the "
                "model (check supports and regions)."
            ) from exc
        n = ml.levels[0].A.shape[0]
        super().__init__(dtype=np.float64, shape=(n, n))

    def _cycle(self, k: int, r: np.ndarray) -> np.ndarray:
        if k == len(self.levels):
            return self.lu.solve(r)
        A, P, R = self.levels[k]
        x = np.zeros_like(r)
        gauss_seidel(A, x, r, iterations=1, sweep="forward")
        x += P @ self._cycle(k + 1, R @ (r - A @ x))
        gauss_seidel(A, x, r, iterations=1, sweep="backward")
        return x

    def _matvec(self, r: np.ndarray) -> np.ndarray:
        return self._cycle(0, np.asarray(r, dtype=np.float64).ravel())


def sa_hierarchy(A: sp.spmatrix, modes: np.ndarray | None, max_coarse: int = 1000) -> VCycle:
    """Smoothed-aggregation set-up (rigid-body modes as near-null space) and its V-cycle.

    For elasticity pass ``A`` as a BSR matrix with the node's components as blocks, so whole
    nodes are aggregated. ``max_coarse`` counts coarse block rows (aggregates); the coarsest
    level is factorised directly. Candidate improvement is skipped: on the benchmarks it tripled
    the set-up time without saving an iteration.
    """
    ml = pyamg.smoothed_aggregation_solver(
        A, B=modes, strength=("symmetric", {"theta": 0.0}),
        smooth=("jacobi", {"omega": 4.0 / 3.0, "degree": 1}), improve_candidates=None,
        max_coarse=max_coarse, coarse_solver="splu", keep=False)
    return VCycle(ml)


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

"""Active learning for POD-GP surrogates: a candidate pool, an acquisition and diverse batches.

* :func:`candidate_pool`: a large scrambled Sobol set inside the design bounds, keeping only the
  points the study can build (its cross-parameter checks).
* :func:`field_variance`: the acquisition. For a POD-GP model the predictive variance of a field,
  integrated over the mesh, is the sum over its retained POD coefficients of each coefficient's
  GP variance (the modes are orthonormal, and a coefficient's variance carries its mode's energy
  since the coefficients are in field units). It is computed from the GP's hyper-parameters and
  Cholesky factor in float64 (torch, as :mod:`physapp.surrogates.gp`).
* :func:`select_batch`: ``k`` points for ``k`` parallel workers, each the candidate that removes
  the most integrated field variance over the design space (integrated variance reduction;
  plain uncertainty sampling is an option), by "kriging believer": after a
  point is chosen it is added to the GPs as if solved (a GP's variance does not depend on the
  value observed), which lowers the variance around it so that the next point goes elsewhere.
  Designs being solved and designs that failed are added the same way first, so a batch never
  piles onto work in flight or onto a region that cannot be solved.

Neither scikit-learn nor BoTorch is installed with physapp; the GP here is the project's own
(:class:`physapp.surrogates.gp.BatchedGP`), whose factors this module reuses.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from physapp.core.errors import ParameterError


def candidate_pool(bounds: np.ndarray, n: int, seed: int = 0,
                   accept: Callable[[np.ndarray], bool] | None = None) -> np.ndarray:
    """Up to ``n`` scrambled Sobol points (rows, physical units) inside ``bounds`` (p, 2), only
    those ``accept`` (e.g. :func:`physapp.surrogates.doe.feasibility`) keeps; the same seed gives
    the same pool."""
    from scipy.stats import qmc

    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    if n < 1:
        raise ParameterError(f"The candidate pool needs at least 1 point (got {n}).")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n need not be a power of 2
        u = qmc.Sobol(d=len(bounds), scramble=True, seed=seed).random(int(n))
    rows = bounds[:, 0] + u * (bounds[:, 1] - bounds[:, 0])
    if accept is not None:
        rows = rows[np.array([bool(accept(r)) for r in rows], dtype=bool)]
    return rows


class _FieldGP:
    """The GPs of one field's POD coefficients of a POD-GP model (float64 torch tensors)."""

    def __init__(self, model: Any, field: str, ls_cap: float = 0.0) -> None:
        import torch

        gp = getattr(model, "gp", None)
        pod = getattr(model, "pod", None)
        if gp is None or pod is None:
            raise ParameterError(
                f"Active learning needs a POD-GP model with a fitted GP (got {model.kind}).")
        sl = pod.slices().get(field)
        if sl is None:
            raise ParameterError(f"The model has no field '{field}'; it has "
                                 f"{', '.join(model.field_names)}.")
        self.model = model
        self.kernel = gp.kernel
        h = gp.hyper()
        idx = torch.arange(sl.start, sl.stop, device=gp.x.device)
        self.ls = h["lengthscale"][idx]
        self.sf2 = h["signal_var"][idx]
        self.sn2 = h["noise_var"][idx]
        self.L = gp.L[idx]
        if ls_cap > 0 and bool((self.ls > ls_cap).any()):
            # no input is taken as irrelevant on the say of few samples: the variance of a GP
            # whose length scales are at most ls_cap (its own factor)
            from physapp.surrogates.gp import _cholesky

            self.ls = self.ls.clamp_max(float(ls_cap))
            self.L = _cholesky(self.kernel, gp.x, {"lengthscale": self.ls,
                                                   "signal_var": self.sf2,
                                                   "noise_var": self.sn2})
        self.x = gp.x
        self.weight = gp.y_scale[idx].pow(2)  # standardised -> coefficient (field) units
        self.empty = len(idx) == 0

    def xn(self, X: np.ndarray) -> Any:
        import torch

        return torch.as_tensor(self.model.normalise(np.atleast_2d(X)), dtype=torch.float64,
                               device=self.x.device)

    def prior_parts(self, xc: Any) -> tuple[Any, Any]:
        """V = L^-1 k(X, c) (m, n, N) and the posterior variances (m, N) at ``xc``."""
        import torch

        from physapp.surrogates.gp import kernel_matrix

        kc = kernel_matrix(self.kernel, xc, self.x, self.ls, self.sf2)  # (m, N, n)
        V = torch.linalg.solve_triangular(self.L, kc.transpose(1, 2), upper=False)
        var = (self.sf2.unsqueeze(1) - V.pow(2).sum(1)).clamp_min(0.0)
        return V, var


def field_variance(model: Any, field: str, X: np.ndarray) -> np.ndarray:
    """Predictive variance of ``field`` integrated over the mesh (sum over nodes, in the
    model's learned field units) at each row of ``X`` (m, p): the acquisition of
    uncertainty sampling. The noise and the POD truncation residual are left out (they do
    not shrink with more samples nearby)."""
    import torch

    g = _FieldGP(model, field)
    if g.empty:
        return np.zeros(len(np.atleast_2d(X)))
    with torch.no_grad():
        _, var = g.prior_parts(g.xn(X))
        return (g.weight.unsqueeze(1) * var).sum(0).cpu().numpy()


def field_norm2(model: Any, field: str, X: np.ndarray) -> np.ndarray:
    """Squared norm of the predicted ``field`` (sum over nodes, in the model's learned units) at
    each row of ``X`` (m, p), from the GP mean of its POD coefficients (the modes are
    orthonormal: ||mean + modes c||^2 = ||mean||^2 + 2 (modes^T mean) . c + ||c||^2), without
    reconstructing the field."""
    import torch

    g = _FieldGP(model, field)
    basis = model.pod.bases[field]
    mean = basis.mean.double()
    base = float(mean.pow(2).sum())
    X = np.atleast_2d(X)
    if g.empty:
        return np.full(len(X), base)
    sl = model.pod.slices()[field]
    with torch.no_grad():
        mu, _ = model.gp.predict(g.xn(X), include_noise=False)  # (m, R) every output
        c = mu[:, sl]
        proj = basis.modes.double().T @ mean  # (r,)
        return (base + 2.0 * c @ proj + c.pow(2).sum(1)).clamp_min(0.0).cpu().numpy()


CRITERIA = ("ivr", "variance")


def select_batch(model: Any, field: str, pool: np.ndarray, k: int, *,
                 pending: np.ndarray | None = None,
                 row_weight: np.ndarray | None = None,
                 criterion: str = "ivr", n_integration: int = 256,
                 local_weight: np.ndarray | None = None, ls_cap: float = 0.0,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Choose ``k`` diverse rows of ``pool`` (m, p) to solve next (kriging believer).

    Parameters
    ----------
    model : a POD-GP surrogate (:class:`~physapp.surrogates.models.pod.PodGPSurrogate`).
    field : the field whose integrated predictive variance drives the choice.
    pool : candidate rows in physical units (not yet solved).
    k : batch size (one per free worker).
    pending : rows being solved or that failed: treated as already observed.
    row_weight : optional (m,) factor per candidate (e.g. the square of a physical field scale,
        so that the variance is counted in physical units).
    criterion : ``"ivr"`` (default): the largest reduction of the field variance integrated
        over the design space (summed over ``n_integration`` pool points), which aims at the
        average error; ``"variance"``: the largest integrated field variance at the point
        itself (uncertainty sampling; it favours the corners of the box).
    local_weight : optional (m,) factor per candidate by which the GP's variance under- or
        over-states the error there (e.g. the leave-one-out z-score of the nearest sample, see
        :func:`physapp.surrogates.online.local_calibration`): it multiplies the variance that
        counts, at the candidates (``variance``) or at the integration points (``ivr``).

    Returns
    -------
    (indices into ``pool`` in the order chosen, the criterion of each when chosen).
    """
    import torch

    from physapp.surrogates.gp import kernel_matrix

    if criterion not in CRITERIA:
        raise ParameterError(f"Unknown criterion '{criterion}'; use {' or '.join(CRITERIA)}.")
    pool = np.atleast_2d(np.asarray(pool, dtype=np.float64))
    k = int(min(k, len(pool)))
    if k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    g = _FieldGP(model, field, ls_cap)
    if g.empty:  # nothing varies: any spread-out points will do
        return np.arange(k), np.zeros(k)
    extra = np.zeros((0, pool.shape[1])) if pending is None else np.atleast_2d(pending)
    n_pool = len(pool)
    integ = np.arange(0, n_pool, max(1, n_pool // max(1, n_integration)))
    with torch.no_grad():
        xc = g.xn(np.vstack([pool, extra]))
        V, var = g.prior_parts(xc)
        var = var.clone()
        rw_np = np.ones(n_pool) if row_weight is None else np.asarray(row_weight, float)
        if local_weight is not None:
            rw_np = rw_np * np.asarray(local_weight, dtype=np.float64)
        rw = torch.as_tensor(rw_np, dtype=torch.float64, device=var.device)
        w = g.weight.unsqueeze(1)
        A: list[Any] = []  # rank-one updates of the posterior covariance, (m, N) each
        C = None  # posterior covariance between the integration points and the pool
        if criterion == "ivr":
            ti = torch.as_tensor(integ, device=var.device)
            C = (kernel_matrix(g.kernel, xc[ti], xc[:n_pool], g.ls, g.sf2)
                 - V[:, :, ti].transpose(1, 2) @ V[:, :, :n_pool])  # (m, M, n_pool)
            wi = (w.unsqueeze(2) * rw[ti].view(1, -1, 1))  # (m, M, 1)

        def believe(s: int) -> None:
            """Add row ``s`` of ``xc`` as observed: update every variance (and C)."""
            ks = kernel_matrix(g.kernel, xc, xc[s:s + 1], g.ls, g.sf2)[..., 0]  # (m, N)
            cov = ks - (V * V[:, :, s:s + 1]).sum(1)
            for a in A:
                cov = cov - a * a[:, s:s + 1]
            a = cov / torch.sqrt(var[:, s:s + 1] + g.sn2.unsqueeze(1))
            A.append(a)
            var.sub_(a.pow(2)).clamp_min_(0.0)
            if C is not None:
                C.sub_(a[:, ti].unsqueeze(2) * a[:, :n_pool].unsqueeze(1))

        for s in range(n_pool, len(xc)):
            believe(s)
        chosen: list[int] = []
        scores: list[float] = []
        taken = torch.zeros(n_pool, dtype=torch.bool, device=var.device)
        for _ in range(k):
            if C is None:
                score = (w * var[:, :n_pool]).sum(0) * rw
            else:  # variance removed at the integration points by observing each candidate
                denom = var[:, :n_pool] + g.sn2.unsqueeze(1)  # (m, n_pool)
                score = ((wi * C.pow(2)).sum(1) / denom).sum(0)
            score = score.masked_fill(taken, -1.0)
            s = int(torch.argmax(score))
            chosen.append(s)
            scores.append(float(score[s]))
            taken[s] = True
            believe(s)
    return np.asarray(chosen, dtype=np.int64), np.asarray(scores)


def spread(X: np.ndarray, bounds: np.ndarray) -> float:
    """Smallest distance between two rows of ``X`` scaled to the unit box (diversity check)."""
    X = np.atleast_2d(X)
    if len(X) < 2:
        return float("inf")
    b = np.asarray(bounds, dtype=np.float64)
    u = (X - b[:, 0]) / np.where(b[:, 1] > b[:, 0], b[:, 1] - b[:, 0], 1.0)
    d = np.sqrt(((u[:, None, :] - u[None, :, :]) ** 2).sum(-1))
    d[np.diag_indices(len(u))] = np.inf
    return float(d.min())

"""POD-GP baseline for load-stepped results: a key-quantity curve and a field history (#22).

Training data: designs ``X`` (n, d) and, per design, a curve over the step axis (n, n_t; e.g. the
bottle's top load against top displacement) and a nodal field history (n, n_t, n_points, k; e.g.
the displacement at every step) on one mesh topology (the bottle study meshes every design with
the same node numbering). Each output is reduced by proper orthogonal decomposition of the whole
history (one snapshot per design, centred, truncated at ``energy`` of the variance) and every
retained POD coefficient gets its own exact GP (:class:`physapp.surrogates.gp.BatchedGP`: ARD
Matérn-5/2, linear trend). The curve's uncertainty band is the GP variance carried through its
POD basis (coefficients taken as independent).

This is a baseline, not an app surrogate kind (it is not registered in ``builtin.toml``): the
benchmark ``benchmarks/bottle.py --surrogate`` trains and scores it on held-out designs.
torch is imported when fitting and predicting only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _pod(Y: np.ndarray, energy: float, max_modes: int | None):
    """(mean, basis (r, m), coefficients (n, r)) of the snapshot rows ``Y`` (n, m)."""
    mean = Y.mean(axis=0)
    U, S, Vt = np.linalg.svd(Y - mean, full_matrices=False)
    var = S**2
    total = var.sum()
    r = int(np.searchsorted(np.cumsum(var) / total, energy) + 1) if total > 0 else 1
    r = min(r, len(S), max_modes or len(S))
    return mean, Vt[:r], U[:, :r] * S[:r]


@dataclass
class CurveHistoryPrediction:
    curve: np.ndarray  # (q, n_t)
    curve_std: np.ndarray  # (q, n_t)
    fields: np.ndarray  # (q, n_t, n_points, k)


class CurveHistoryPodGP:
    """POD-GP of a curve and a field history over a design space (see the module docstring)."""

    def __init__(self, energy: float = 0.9999, max_modes: int | None = 24,
                 kernel: str = "matern52", seed: int = 0, curve_energy: float = 0.99999,
                 **gp_options) -> None:
        self.energy, self.max_modes, self.kernel, self.seed = energy, max_modes, kernel, seed
        self.curve_energy = curve_energy
        #: passed to BatchedGP.fit (restarts, iters, warmup, lr, ...)
        self.gp_options = gp_options

    def fit(self, X: np.ndarray, curves: np.ndarray, fields: np.ndarray,
            bounds: np.ndarray) -> CurveHistoryPodGP:
        import torch

        from physapp.surrogates.gp import BatchedGP

        X = np.asarray(X, float)
        bounds = np.asarray(bounds, float)
        self.lo, self.span = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
        curves = np.asarray(curves, float)
        fields = np.asarray(fields, float)
        self.field_shape = fields.shape[1:]
        self.c_mean, self.c_basis, c_coef = _pod(curves, self.curve_energy, self.max_modes)
        self.f_mean, self.f_basis, f_coef = _pod(fields.reshape(len(X), -1), self.energy,
                                                 self.max_modes)
        self.n_curve_modes = c_coef.shape[1]
        coef = np.concatenate([c_coef, f_coef], axis=1)
        xs = torch.as_tensor((X - self.lo) / self.span)
        self.gp = BatchedGP.fit(xs, torch.as_tensor(coef), kernel=self.kernel, seed=self.seed,
                                **self.gp_options)
        return self

    @property
    def n_modes(self) -> tuple[int, int]:
        """(curve modes, field modes) kept."""
        return self.n_curve_modes, self.f_basis.shape[0]

    def predict(self, X: np.ndarray) -> CurveHistoryPrediction:
        import torch

        xs = torch.as_tensor((np.atleast_2d(np.asarray(X, float)) - self.lo) / self.span)
        with torch.no_grad():
            mean, var = self.gp.predict(xs, include_noise=False)
        mean, var = mean.numpy(), var.numpy()
        r = self.n_curve_modes
        curve = self.c_mean + mean[:, :r] @ self.c_basis
        curve_std = np.sqrt(var[:, :r] @ self.c_basis**2)
        fields = (self.f_mean + mean[:, r:] @ self.f_basis).reshape(-1, *self.field_shape)
        return CurveHistoryPrediction(curve, curve_std, fields)


def relative_l2(pred: np.ndarray, true: np.ndarray) -> float:
    """||pred - true|| / ||true|| over all entries."""
    den = float(np.linalg.norm(true))
    return float(np.linalg.norm(pred - true)) / den if den > 0 else float("nan")

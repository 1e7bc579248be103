"""Surrogates that predict whole histories (#18): POD over space-time snapshots with GPs.

Three models of one family (a POD basis of the snapshots of every training history, and
Gaussian processes (:class:`physapp.surrogates.gp.BatchedGP`) for the POD coefficients):

* :class:`PodTimeGP` (``align=False``) -- direct, time as an input: GP(parameters, t) ->
  coefficients. A periodic flow whose frequency changes with the parameters is out of phase
  between the training designs after a few periods, so a direct interpolation in (p, t) averages
  opposite phases and smears the prediction.
* :class:`PodTimeGP` (``align=True``) -- direct and phase-aware: each training history's phase
  theta(t) (in cycles) comes from the upward zero crossings of a periodic signal (the lift),
  counted from a common early time, so it is continuous across designs. The fields are
  interpolated in (p, cos 2 pi theta, sin 2 pi theta); separate GPs predict the frequency and
  the unwrapped phase at the window start from the parameters, so theta(t) = theta_0(p) +
  f(p) (t - t_0). A small change of the Strouhal number moves the phase, not the shape.
* :class:`PodRollout` -- the step-by-step alternative (for comparison only, as the issue asks):
  GP(parameters, coefficients at frame k) -> coefficients at frame k + 1, rolled out from the
  true first frame; its errors accumulate over the horizon.

The periodic signal can be carried inside the snapshot (:func:`stack_snapshots` appends it as a
weighted extra column), so every model predicts the field and the lift history together.
torch is imported lazily (the GP); everything else is numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def stack_snapshots(fields: np.ndarray, signal: np.ndarray | None = None
                    ) -> tuple[np.ndarray, float]:
    """(n, nt, N) fields (and an (n, nt) signal) -> (n, nt, N [+ 1]) snapshots; the signal is
    weighted so that its variance counts like an average node's times sqrt(N) (so the POD keeps
    it) and the weight is returned to undo it."""
    if signal is None:
        return fields, 1.0
    f_scale = float(np.std(fields)) or 1.0
    s_scale = float(np.std(signal)) or 1.0
    w = math.sqrt(fields.shape[-1]) * f_scale / s_scale
    return np.concatenate([fields, w * signal[..., None]], axis=-1), w


def crossing_phase(t: np.ndarray, s: np.ndarray, t_count: float) -> tuple[np.ndarray, float]:
    """Unwrapped phase (cycles) of a periodic signal at every ``t``: 0 at the first upward
    crossing of its mid-range (over the later half of ``t >= t_count``) after ``t_count``, +1 per
    later upward crossing, linear between crossings (extrapolated with the last period's
    frequency). Returns (phase, frequency of the last four periods). Choose ``t_count`` where the
    signal is clearly below its mid-range in every history (e.g. during a start-up kick), so the
    count starts at the same event and the phase is continuous in the parameters."""
    sel = np.flatnonzero(t >= t_count)
    late = s[sel[len(sel) // 2:]]  # the mid-range of the later half (a start-up swing aside)
    mid = 0.5 * (late.max() + late.min())
    v = s - mid
    up = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0) & (t[:-1] >= t_count))
    if len(up) < 3:
        raise ValueError("the signal has fewer than two periods after t_count; it cannot be "
                         "phase-aligned")
    c = t[up] - v[up] * (t[up + 1] - t[up]) / (v[up + 1] - v[up])
    k = np.arange(len(c), dtype=float)
    f_last = 1.0 / float(np.mean(np.diff(c)[-4:]))
    f_first = 1.0 / float(c[1] - c[0])
    phase = np.interp(t, c, k)
    phase = np.where(t > c[-1], k[-1] + (t - c[-1]) * f_last, phase)
    phase = np.where(t < c[0], (t - c[0]) * f_first, phase)
    return phase, f_last


@dataclass
class _Pod:
    mean: np.ndarray
    basis: np.ndarray  # (r, N)

    @classmethod
    def fit(cls, snaps: np.ndarray, energy: float, max_rank: int) -> _Pod:
        mean = snaps.mean(axis=0)
        _, sv, vt = np.linalg.svd(snaps - mean, full_matrices=False)
        frac = np.cumsum(sv**2) / max(float(np.sum(sv**2)), 1e-300)
        r = int(min(max_rank, np.searchsorted(frac, energy) + 1, len(sv)))
        return cls(mean, vt[:r])

    def coeffs(self, snaps: np.ndarray) -> np.ndarray:
        return (snaps - self.mean) @ self.basis.T

    def expand(self, a: np.ndarray) -> np.ndarray:
        return self.mean + a @ self.basis


def _gp_fit(x: np.ndarray, y: np.ndarray, iters: int, restarts: int = 2):
    import torch

    from physapp.surrogates.gp import BatchedGP

    return BatchedGP.fit(torch.as_tensor(x, dtype=torch.float64),
                         torch.as_tensor(y, dtype=torch.float64), iters=iters,
                         restarts=restarts)


def _gp_mean(gp, x: np.ndarray) -> np.ndarray:
    import torch

    mean, _ = gp.predict(torch.as_tensor(x, dtype=torch.float64), include_noise=False)
    return mean.cpu().numpy()


class _Scaler:
    def __init__(self, x: np.ndarray) -> None:
        self.lo, self.hi = x.min(axis=0), x.max(axis=0)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (x - self.lo) / np.where(self.hi > self.lo, self.hi - self.lo, 1.0)


class PodTimeGP:
    """Direct history prediction: POD of all training snapshots, GP on (parameters, time) or,
    with ``align``, on (parameters, phase) plus GPs for the frequency and start phase."""

    def __init__(self, *, align: bool, energy: float = 0.9999, max_rank: int = 24,
                 iters: int = 150, restarts: int = 2) -> None:
        self.align, self.energy, self.max_rank, self.iters = align, energy, max_rank, iters
        self.restarts = restarts

    def fit(self, params: np.ndarray, times: np.ndarray, snaps: np.ndarray,
            phase: np.ndarray | None = None, frequency: np.ndarray | None = None
            ) -> PodTimeGP:
        """``params`` (n, p), ``times`` (nt,), ``snaps`` (n, nt, N); with ``align`` the
        unwrapped ``phase`` (n, nt) of every frame and each design's ``frequency`` (n,)."""
        n, nt, size = snaps.shape
        self.t0, self.t1 = float(times[0]), float(times[-1])
        self.pscale = _Scaler(params)
        self.pod = _Pod.fit(snaps.reshape(n * nt, size), self.energy, self.max_rank)
        a = self.pod.coeffs(snaps.reshape(n * nt, size))
        ps = np.repeat(self.pscale(params), nt, axis=0)
        if self.align:
            if phase is None or frequency is None:
                raise ValueError("align=True needs the phase and frequency of every history")
            x = np.column_stack([ps, *self._angle(phase.reshape(-1))])
            # the unwrapped start phase (cycles counted from a common event) is continuous in
            # the parameters; its value mod 1 would wrap between neighbouring designs
            start = np.column_stack([frequency, phase[:, 0]])
            self.start_gp = _gp_fit(self.pscale(params), start, self.iters, self.restarts)
        else:
            x = np.column_stack([ps, (np.tile(times, n) - self.t0) / (self.t1 - self.t0)])
        self.gp = _gp_fit(x, a, self.iters, self.restarts)
        return self

    @staticmethod
    def _angle(phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return 0.5 + 0.5 * np.cos(2 * np.pi * phase), 0.5 + 0.5 * np.sin(2 * np.pi * phase)

    def predict_phase(self, params: np.ndarray, times: np.ndarray) -> np.ndarray:
        """(q, nt) predicted phase of each design at ``times`` (align only)."""
        fs = _gp_mean(self.start_gp, self.pscale(np.atleast_2d(params)))
        return fs[:, 1:2] + fs[:, 0:1] * (times[None] - self.t0)

    def predict(self, params: np.ndarray, times: np.ndarray) -> np.ndarray:
        """(q, nt, N) predicted snapshots of the designs ``params`` (q, p) at ``times``."""
        params = np.atleast_2d(params)
        q, nt = len(params), len(times)
        ps = np.repeat(self.pscale(params), nt, axis=0)
        if self.align:
            x = np.column_stack([ps, *self._angle(self.predict_phase(params, times).ravel())])
        else:
            x = np.column_stack([ps, (np.tile(times, q) - self.t0) / (self.t1 - self.t0)])
        return self.pod.expand(_gp_mean(self.gp, x)).reshape(q, nt, -1)


class PodRollout:
    """Step-by-step: GP(parameters, POD coefficients at frame k) -> coefficients at k + 1."""

    def __init__(self, *, energy: float = 0.9999, max_rank: int = 24, iters: int = 150) -> None:
        self.energy, self.max_rank, self.iters = energy, max_rank, iters

    def fit(self, params: np.ndarray, snaps: np.ndarray) -> PodRollout:
        n, nt, size = snaps.shape
        self.pscale = _Scaler(params)
        self.pod = _Pod.fit(snaps.reshape(n * nt, size), self.energy, self.max_rank)
        a = self.pod.coeffs(snaps.reshape(n * nt, size)).reshape(n, nt, -1)
        self.ascale = _Scaler(a.reshape(n * nt, -1))
        x = np.concatenate([np.column_stack([np.repeat(self.pscale(params[i:i + 1]), nt - 1,
                                                       axis=0), self.ascale(a[i, :-1])])
                            for i in range(n)])
        y = np.concatenate([a[i, 1:] - a[i, :-1] for i in range(n)])  # increments
        self.gp = _gp_fit(x, y, self.iters)
        return self

    def predict(self, params: np.ndarray, first: np.ndarray, n_frames: int) -> np.ndarray:
        """(q, n_frames, N): frame 0 is ``first`` (q, N) (the true state), then the rollout."""
        params = np.atleast_2d(params)
        a = self.pod.coeffs(np.atleast_2d(first))
        out = [a]
        ps = self.pscale(params)
        for _ in range(n_frames - 1):
            a = a + _gp_mean(self.gp, np.column_stack([ps, self.ascale(a)]))
            out.append(a)
        coeffs = np.stack(out, axis=1)  # (q, nt, r)
        q, nt, r = coeffs.shape
        return self.pod.expand(coeffs.reshape(q * nt, r)).reshape(q, nt, -1)


def relative_error(pred: np.ndarray, true: np.ndarray, *, fluctuation: bool = False) -> float:
    """Relative L2 error of histories (..., nt, N): sqrt(sum |pred - true|^2 / sum |true|^2),
    or with ``fluctuation`` relative to the variation about each history's time mean (then a
    prediction of the mean flow alone scores 1)."""
    ref = true - true.mean(axis=-2, keepdims=True) if fluctuation else true
    return float(np.sqrt(np.sum((pred - true) ** 2) / max(float(np.sum(ref**2)), 1e-300)))

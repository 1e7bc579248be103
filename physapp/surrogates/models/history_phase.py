"""Phase-aware history surrogate (#18): ``pod-history-phase``, the app kind of the phase-aligned
POD-GP of :mod:`physapp.surrogates.models.pod_history`.

A periodic flow whose frequency changes with the parameters (the Karman street: the Strouhal
number and the speed set the shedding frequency) is out of phase between two training designs
after a few periods, so a GP on (parameters, time) -- ``pod-history`` -- averages opposite phases
and smears the predicted vortices. This kind gives the GP the *phase* of the periodic signal as
an input besides the time:

1. every training history's phase theta(t) (in cycles) is counted from the zero crossings of a
   periodic curve (``phase_curve``: the lift ``cl`` when there is one, otherwise the first curve
   with at least three periods in the later half), starting at a common event -- the first
   upward crossing after the largest swing in the first 40 % of the span (the start-up kick of
   the Karman street) or after ``phase_from`` -- so the count is continuous in the parameters;
2. a line theta(t) = theta_ref + f (t - t_ref) is fitted to the developed part (the later half
   of the counted crossings); its frequency f and phase theta_ref at a common time t_ref are what
   a small GP learns on the parameters (``extra_gps["phase"]``);
3. the POD coefficients (and the curves) get GPs on (parameters, t, cos 2 pi theta,
   sin 2 pi theta), with the fitted line's theta for training and the predicted one for a new
   design. A small change of the Strouhal number moves the phase, not the shape.

Predictions are direct (no step-by-step rollout); bands are calibrated as in every history kind
(:mod:`physapp.surrogates.models.history_calibration`; the left-out history's phase comes from
the phase GP conditioned on the other histories).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import CancelToken
from physapp.surrogates.models.history_model import HistorySurrogate
from physapp.surrogates.models.pod_history import crossing_phase

#: fewer frames per period than this and the crossings are too coarse to time
MIN_FRAMES_PER_PERIOD = 5


def _upward_count(t: np.ndarray, s: np.ndarray) -> int:
    late = s[len(s) // 2:]
    v = late - 0.5 * (late.max() + late.min())
    return int(np.sum((v[:-1] < 0) & (v[1:] >= 0)))


def pick_curve(curves: dict[str, np.ndarray], t: np.ndarray, wanted: str) -> str:
    """The periodic curve to count phases on: ``wanted`` or, for ``"auto"``, ``cl`` when it is
    there, else the first curve with at least two upward crossings in the later half of every
    history."""
    if wanted != "auto":
        if wanted not in curves:
            raise PhysappError(f"The histories have no curve '{wanted}' to take the phase from "
                               f"(they have {', '.join(sorted(curves)) or 'none'}).")
        return wanted
    order = (["cl"] if "cl" in curves else []) + sorted(k for k in curves if k != "cl")
    for name in order:
        if all(_upward_count(t, c) >= 2 for c in curves[name]):
            return name
    raise PhysappError(
        "A pod-history-phase model needs a periodic curve (such as the lift) with at least two "
        "periods in the later half of every history; these histories have none. Train "
        "pod-history instead, or run longer (a larger time span).")


def start_event(t: np.ndarray, s: np.ndarray, phase_from: float) -> float:
    """The time from which cycles are counted: ``phase_from`` if >= 0, else the time of the
    largest swing from the later half's mid-range within the first 40 % of the span."""
    if phase_from >= 0:
        return float(phase_from)
    late = s[len(s) // 2:]
    mid = 0.5 * (late.max() + late.min())
    early = t <= t[0] + 0.4 * (t[-1] - t[0])
    return float(t[early][np.argmax(np.abs(s[early] - mid))])


def phase_line(t: np.ndarray, s: np.ndarray, t_count: float, t_ref: float
               ) -> tuple[float, float]:
    """(frequency, phase at ``t_ref``) of the line fitted to the counted phase over the later
    half of the crossings of signal ``s``."""
    try:
        phase, _ = crossing_phase(t, s, t_count)
    except ValueError as exc:
        raise PhysappError(f"A history's phase cannot be counted: {exc}.") from None
    v = s - 0.5 * (s[len(s) // 2:].max() + s[len(s) // 2:].min())
    up = np.flatnonzero((v[:-1] < 0) & (v[1:] >= 0) & (t[:-1] >= t_count))
    w = t >= t[up[len(up) // 2]]
    f, c = np.polyfit(t[w] - t_ref, phase[w], 1)
    return float(f), float(c)


class PodHistoryPhaseSurrogate(HistorySurrogate):
    """POD over space-time snapshots, GPs on (parameters, time, phase); see the module
    docstring."""

    kind = "pod-history-phase"
    SPACE_TIME = False
    OPTIONS: ClassVar[dict[str, Any]] = {**HistorySurrogate.OPTIONS, "max_points": 600,
                                         "phase_curve": "auto", "phase_from": -1.0}

    @classmethod
    def _fit_time_features(cls, data: Any, xn: np.ndarray, opts: dict[str, Any],
                           extra_gps: dict[str, Any], seed: int, cancel: CancelToken
                           ) -> np.ndarray:
        import torch

        from physapp.surrogates.gp import BatchedGP

        t = np.asarray(data.times, dtype=np.float64)
        name = pick_curve(data.curves, t, str(opts["phase_curve"]))
        t_ref = float(t[0] + 0.75 * (t[-1] - t[0]))
        lines = []
        for s in data.curves[name]:
            s = np.asarray(s, dtype=np.float64)
            lines.append(phase_line(t, s, start_event(t, s, float(opts["phase_from"])), t_ref))
        lines = np.array(lines)  # (n, 2): frequency, phase at t_ref
        per_period = 1.0 / (lines[:, 0].max() * float(np.mean(np.diff(t))))
        if per_period < MIN_FRAMES_PER_PERIOD:
            need = int(np.ceil(len(t) * MIN_FRAMES_PER_PERIOD / per_period))
            raise PhysappError(
                f"The histories keep {per_period:.1f} frames per period of '{name}'; the phase "
                f"needs at least {MIN_FRAMES_PER_PERIOD}. Sweep again with more frames "
                f"(physapp sweep --frames {need}).")
        extra_gps["phase"] = BatchedGP.fit(torch.as_tensor(xn), torch.as_tensor(lines),
                                           kernel=opts["kernel"], restarts=opts["restarts"],
                                           iters=opts["iters"], seed=seed, cancel=cancel)
        return cls._features(t, lines)

    @staticmethod
    def _features(t: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """(q, F, 3): scaled time, 0.5 + 0.5 cos 2 pi theta, 0.5 + 0.5 sin 2 pi theta."""
        t_ref = float(t[0] + 0.75 * (t[-1] - t[0]))
        theta = lines[:, 1:2] + lines[:, 0:1] * (t[None, :] - t_ref)
        tn = (t - t[0]) / max(float(np.ptp(t)), 1e-300)
        q = len(lines)
        return np.stack([np.broadcast_to(tn, (q, len(t))), 0.5 + 0.5 * np.cos(2 * np.pi * theta),
                         0.5 + 0.5 * np.sin(2 * np.pi * theta)], axis=2)

    def predict_lines(self, xn: np.ndarray, *, leave_out: int | None = None,
                      with_var: bool = False):
        """(q, 2) predicted frequency and phase at t_ref of the normalised designs ``xn`` (and
        their variances with ``with_var``)."""
        gp = self.extra_gps["phase"]
        if leave_out is not None:
            from physapp.surrogates.models.history_calibration import loo_gp

            gp = loo_gp(gp, 1, leave_out)
        mean, var = self._gp(gp, np.asarray(xn, dtype=np.float64))
        return (mean, var) if with_var else mean

    def _time_features(self, xn: np.ndarray, *, leave_out: int | None = None) -> np.ndarray:
        return self._features(self.times, self.predict_lines(xn, leave_out=leave_out))

    def _predict_frames(self, xn: np.ndarray, *, gp: Any = None, leave_out: int | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """As the base, plus the uncertainty of the predicted phase carried through the
        fields: var += (d mean / d theta)^2 var(theta(t)), var(theta) = var(theta_ref) +
        (t - t_ref)^2 var(f), the derivative by a finite difference in theta."""
        gp = self.gp if gp is None else gp
        q, F, t = len(xn), self.n_frames, self.times
        lines, lvar = self.predict_lines(xn, leave_out=leave_out, with_var=True)
        t_ref = float(t[0] + 0.75 * (t[-1] - t[0]))
        rep = np.repeat(xn, F, axis=0)
        step = 0.01  # cycles
        shifted = lines.copy()
        shifted[:, 1] += step
        x0 = np.column_stack([rep, self._features(t, lines).reshape(q * F, -1)])
        x1 = np.column_stack([rep, self._features(t, shifted).reshape(q * F, -1)])
        mean, var = self._gp(gp, x0)
        dmean = (self._gp(gp, x1)[0] - mean) / step
        var_theta = (lvar[:, 1:2] + (t[None, :] - t_ref) ** 2 * lvar[:, 0:1]).reshape(-1, 1)
        return mean, var + dmean**2 * var_theta

    def predicted_frequency(self, params: dict[str, float]) -> float:
        """The shedding (phase curve) frequency the model predicts at ``params``."""
        x, _, _ = self.parameter_vector(params)
        return float(self.predict_lines(self.normalise(x[None]))[0, 0])

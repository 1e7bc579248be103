"""Histories in sweep data sets (#18, #22): resampling to a fixed frame count, training arrays.

A sweep of a study whose solve is a history (a transient study with a ``TimeAxis``, or a
load-stepped one such as the bottle, whose result carries ``meta["history"]``) keeps every
sample's whole history in the data set: the fields at ``frames`` times spread evenly over the
sample's span (linear interpolation between the solver's steps, so a solve with cut or adaptive
steps lands on the same grid as the others) and every curve at those times
(:func:`resample_history`). :meth:`physapp.surrogates.dataset.Dataset.history_data` reads them
back as :class:`HistoryData`, the training input of the history surrogates
(:mod:`physapp.surrogates.models.history_model`). numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from physapp.core.mesh import MeshData

#: frames kept per sample unless the data set says otherwise
DEFAULT_FRAMES = 40


def default_frames(study: Any, values: Any) -> int:
    """Frames a sweep keeps per history unless told: :data:`DEFAULT_FRAMES`, or more when the
    study's time axis asks for ``frames_per_unit`` (e.g. the Karman street: 40 per second, so a
    phase-aware model can time the shedding) over the span at ``values``."""
    from physapp.core.transient import time_axis

    axis = time_axis(study)
    per = float(getattr(axis, "frames_per_unit", 0.0) or 0.0) if axis is not None else 0.0
    if per <= 0:
        return DEFAULT_FRAMES
    return int(min(2000, max(DEFAULT_FRAMES, np.ceil(per * axis.span(values)) + 1)))


def resample_history(history: Any, frames: int = DEFAULT_FRAMES) -> dict[str, Any]:
    """A ``FieldHistory`` at ``frames`` evenly spaced times over its span: ``{"times" (F,),
    "fields" {name: (F, n[, k]) float32}, "curves" {name: (F,)}, "complete", "time_label",
    "time_unit", "curve_units", "units"}`` (the frames are read one or two at a time, so a history
    streamed to disk is not loaded whole)."""
    t = np.asarray(history.times, dtype=np.float64)
    n = len(t)
    if n == 0:
        raise ValueError("the history has no step")
    frames = max(int(frames), 2)
    grid = np.linspace(t[0], t[-1], frames) if n > 1 else np.full(frames, t[0])
    # for each target time the step before it and the weight of the step after it
    lo = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, max(n - 2, 0))
    hi = np.minimum(lo + 1, n - 1)
    span = np.where(t[hi] > t[lo], t[hi] - t[lo], 1.0)
    w = np.clip((grid - t[lo]) / span, 0.0, 1.0)
    fields = {}
    for name, arr in history.point_data.items():
        first = np.asarray(arr[0], dtype=np.float32)
        out = np.empty((frames, *first.shape), dtype=np.float32)
        cache: dict[int, np.ndarray] = {}

        def frame(i: int, arr=arr, cache=cache) -> np.ndarray:
            if i not in cache:
                if len(cache) > 4:
                    cache.clear()
                cache[i] = np.asarray(arr[i], dtype=np.float64)
            return cache[i]

        for j in range(frames):
            a = frame(int(lo[j]))
            out[j] = a if w[j] == 0.0 else (1.0 - w[j]) * a + w[j] * frame(int(hi[j]))
        fields[name] = out
    curves = {name: np.interp(grid, t, np.asarray(c, dtype=np.float64)[:n])
              for name, c in history.curves.items()}
    return {"times": grid, "fields": fields, "curves": curves,
            "complete": bool(getattr(history, "complete", True)),
            "time_label": str(getattr(history, "time_label", "time")),
            "time_unit": str(getattr(history, "time_unit", "s")),
            "curve_units": dict(getattr(history, "curve_units", {})),
            "units": dict(getattr(history, "units", {}))}


@dataclass
class HistoryData:
    """The finished samples' histories of a data set (one mesh topology).

    ``times`` (F,) the common frame times; ``fields[name]`` (n, F, n_points[, k]) float32;
    ``curves[name]`` (n, F); ``coords`` (n, n_points, dim) each sample's node coordinates;
    ``is_test`` (n,); ``left_out`` notes the samples not used (an incomplete history, another
    time span).
    """

    study_id: str
    param_names: tuple[str, ...]
    bounds: np.ndarray
    fixed: dict[str, float]
    mesh: MeshData
    X: np.ndarray
    times: np.ndarray
    coords: np.ndarray
    fields: dict[str, np.ndarray]
    curves: dict[str, np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    curve_units: dict[str, str] = field(default_factory=dict)
    is_test: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    time_label: str = "time"
    time_unit: str = "s"
    left_out: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return len(self.X)

    @property
    def n_frames(self) -> int:
        return len(self.times)

    def subset(self, mask: np.ndarray) -> HistoryData:
        idx = np.flatnonzero(mask)
        return HistoryData(
            self.study_id, self.param_names, self.bounds, dict(self.fixed), self.mesh,
            self.X[idx], self.times, self.coords[idx],
            {k: v[idx] for k, v in self.fields.items()},
            {k: v[idx] for k, v in self.curves.items()}, dict(self.units),
            dict(self.curve_units), self.is_test[idx], self.time_label, self.time_unit,
            list(self.left_out))

    def thinned(self, max_frames: int) -> HistoryData:
        """Every k-th frame (and the last), so that at most ``max_frames`` remain (a smaller
        model of a history with many frames; the bottle's shipped one)."""
        F = self.n_frames
        if F <= max_frames:
            return self
        k = int(np.ceil((F - 1) / max(max_frames - 1, 1)))
        sel = np.unique(np.r_[np.arange(0, F, k), F - 1])
        return replace(self, times=self.times[sel],
                       fields={n: v[:, sel] for n, v in self.fields.items()},
                       curves={n: v[:, sel] for n, v in self.curves.items()})

    def train(self) -> HistoryData:
        return self.subset(~self.is_test)

    def test(self) -> HistoryData:
        return self.subset(self.is_test)


def common_grid(times: np.ndarray, complete: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the samples on the most common time grid among the complete ones, that grid)."""
    times = np.asarray(times, dtype=np.float64)
    ok = np.asarray(complete, dtype=bool)
    if not ok.any():
        ok = np.ones(len(times), dtype=bool)
    rows = times[ok]
    scale = max(float(np.abs(rows).max()), 1e-300)
    keys = [tuple(np.round(r / scale, 6)) for r in rows]
    best = max(set(keys), key=keys.count)
    grid = rows[keys.index(best)]
    same = np.array([np.allclose(r, grid, rtol=1e-6, atol=1e-9 * scale) for r in times])
    return same & ok, grid

"""FieldHistory: a sequence of nodal field states on one mesh (time steps or load steps).

This is the shared contract for every time-dependent result (transient heat and flow, #18) and
every load-stepped one (nonlinear solids, #22). A solver produces frames; a writer
(``physapp.io.history``) can stream them to disk as they come; a reader may hand back a history
whose ``point_data`` values are lazy array-likes (e.g. h5py datasets) that load one frame at a
time, so a history larger than memory still plays.

Shapes: ``times`` is ``(n_steps,)``; ``point_data[name]`` is ``(n_steps, n_points)`` or
``(n_steps, n_points, k)``; ``curves[name]`` (key quantities over time: drag, lift, a probe
temperature, the reaction force) is ``(n_steps,)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult, describe_fields


@dataclass(frozen=True)
class FieldHistory:
    """Named nodal fields over ``n_steps`` states of one mesh.

    ``time_label`` / ``time_unit`` name the step axis ("time", "s"; or "top displacement", "m"
    for a load-stepped solve). ``meta`` carries timings, parameters and the reason a solve stopped
    early (``meta["stopped"]``); ``complete`` is False for a history cut short (a cancel, a crash,
    a step that failed), which still holds every step it has.
    """

    mesh: MeshData
    times: np.ndarray
    point_data: Mapping[str, Any]
    source: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)
    curves: Mapping[str, np.ndarray] = field(default_factory=dict)
    curve_units: Mapping[str, str] = field(default_factory=dict)
    time_label: str = "time"
    time_unit: str = "s"
    complete: bool = True

    def __post_init__(self) -> None:
        times = np.ascontiguousarray(self.times, dtype=np.float64).reshape(-1)
        times.setflags(write=False)
        object.__setattr__(self, "times", times)
        n = len(times)
        data = {}
        for name, values in self.point_data.items():
            arr = values if not isinstance(values, (list, tuple)) else np.asarray(values)
            if isinstance(arr, np.ndarray):
                arr = np.ascontiguousarray(arr, dtype=np.float32)
                arr.setflags(write=False)
            shape = tuple(arr.shape)
            if len(shape) < 2 or shape[0] < n or shape[1] != self.mesh.n_points:
                raise ValueError(f"field {name!r} has shape {shape}; expected ({n}, "
                                 f"{self.mesh.n_points}[, k])")
            data[name] = arr
        curves = {}
        for name, values in self.curves.items():
            c = np.ascontiguousarray(values, dtype=np.float64).reshape(-1)
            if len(c) < n:
                raise ValueError(f"curve {name!r} has {len(c)} values for {n} steps")
            c = c[:n]
            c.setflags(write=False)
            curves[name] = c
        object.__setattr__(self, "point_data", MappingProxyType(data))
        object.__setattr__(self, "curves", MappingProxyType(curves))
        for name in ("meta", "units", "curve_units"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __getstate__(self) -> dict:
        return {"mesh": self.mesh, "times": np.asarray(self.times),
                "point_data": {k: np.asarray(v[: self.n_steps])
                               for k, v in self.point_data.items()},
                "source": self.source, "meta": dict(self.meta), "units": dict(self.units),
                "curves": dict(self.curves), "curve_units": dict(self.curve_units),
                "time_label": self.time_label, "time_unit": self.time_unit,
                "complete": self.complete}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()

    @property
    def n_steps(self) -> int:
        return len(self.times)

    def __repr__(self) -> str:
        t = self.times
        span = f"{t[0]:.4g} to {t[-1]:.4g}" if len(t) else "empty"
        unit = f" {self.time_unit}" if self.time_unit not in ("", "1") else ""
        text = (f"FieldHistory({self.source!r}, {self.n_steps} steps of {self.time_label} "
                f"{span}{unit}, {self.mesh.n_points:,} points, fields: "
                f"{describe_fields(self.point_data, self.units, 2)}")
        if self.curves:
            text += f"; curves: {', '.join(self.curves)}"
        return text + ("" if self.complete else "; incomplete") + ")"

    def frame(self, i: int) -> FieldResult:
        """The state at step ``i`` (negative counts from the end) as a ``FieldResult``; its
        ``meta`` has ``time``, ``step`` and the curves' values at that step."""
        n = self.n_steps
        if not -n <= i < n:
            raise IndexError(f"step {i} of a history with {n} steps")
        i %= n
        meta = dict(self.meta)
        meta.update(time=float(self.times[i]), step=i, n_steps=n,
                    **{f"curve:{k}": float(v[i]) for k, v in self.curves.items()})
        return FieldResult(self.mesh, {k: np.asarray(v[i]) for k, v in self.point_data.items()},
                           self.source, meta, dict(self.units))

    def nearest_step(self, t: float) -> int:
        """The index of the step whose time is closest to ``t``."""
        return int(np.argmin(np.abs(self.times - float(t))))

    def probe(self, name: str, node: int) -> np.ndarray:
        """The history of field ``name`` at mesh node ``node`` (vectors by magnitude)."""
        arr = self.point_data[name]
        values = np.asarray(arr[: self.n_steps, node], dtype=np.float64)
        return values if values.ndim == 1 else np.linalg.norm(values, axis=1)

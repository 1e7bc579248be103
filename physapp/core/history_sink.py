"""Where a time-stepping (or load-stepping) solver puts its frames: a ``HistorySink``.

A solver does not build its :class:`~physapp.core.history.FieldHistory` itself; it is handed a
sink and calls ``begin`` once it knows its output mesh, ``append`` after every accepted step and
``end`` when it stops (``complete=False`` after a cancel or a failed step: the steps done so far
are kept). ``end`` returns the history.

Two sinks exist: :class:`MemoryHistorySink` (here; frames in RAM) and
``physapp.io.history.HistoryWriter`` (frames streamed to an HDF5 file, flushed after each step, so
a killed process leaves a file with every finished step; its ``end`` returns a lazy history read
back from the file). Both follow the same protocol, so solvers never know which they write to.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from physapp.core.history import FieldHistory
from physapp.core.mesh import MeshData


class HistorySink(Protocol):
    def begin(self, mesh: MeshData, *, source: str, units: Mapping[str, str] | None = None,
              curve_units: Mapping[str, str] | None = None, time_label: str = "time",
              time_unit: str = "s", meta: Mapping[str, Any] | None = None) -> None: ...

    def append(self, time: float, point_data: Mapping[str, np.ndarray],
               curves: Mapping[str, float] | None = None) -> None: ...

    @property
    def n_steps(self) -> int: ...

    def end(self, *, complete: bool = True, meta: Mapping[str, Any] | None = None
            ) -> FieldHistory: ...


class MemoryHistorySink:
    """Keeps every frame in memory (float32) and returns an in-memory ``FieldHistory``."""

    def __init__(self) -> None:
        self._mesh: MeshData | None = None
        self._head: dict[str, Any] = {}
        self._times: list[float] = []
        self._frames: dict[str, list[np.ndarray]] = {}
        self._curves: dict[str, list[float]] = {}

    def begin(self, mesh: MeshData, *, source: str, units=None, curve_units=None,
              time_label: str = "time", time_unit: str = "s", meta=None) -> None:
        self._mesh = mesh
        self._head = dict(source=source, units=dict(units or {}),
                          curve_units=dict(curve_units or {}), time_label=time_label,
                          time_unit=time_unit, meta=dict(meta or {}))

    @property
    def n_steps(self) -> int:
        return len(self._times)

    def append(self, time: float, point_data: Mapping[str, np.ndarray],
               curves: Mapping[str, float] | None = None) -> None:
        if self._mesh is None:
            raise RuntimeError("append() before begin()")
        n = len(self._times)
        if n and set(point_data) != set(self._frames):
            raise ValueError(f"step {n} has fields {sorted(point_data)}; the history has "
                             f"{sorted(self._frames)}")
        for name, values in point_data.items():
            self._frames.setdefault(name, []).append(np.asarray(values, dtype=np.float32).copy())
        for name, value in (curves or {}).items():
            self._curves.setdefault(name, [np.nan] * n).append(float(value))
        self._times.append(float(time))
        for values in self._curves.values():  # a curve missing at this step is NaN there
            if len(values) < len(self._times):
                values.append(np.nan)

    def end(self, *, complete: bool = True, meta: Mapping[str, Any] | None = None) -> FieldHistory:
        if self._mesh is None:
            raise RuntimeError("end() before begin()")
        head = dict(self._head)
        merged = {**head.pop("meta"), **dict(meta or {})}
        shape = lambda name: (0, self._mesh.n_points)  # noqa: E731 - an empty history
        data = {k: (np.stack(v) if v else np.zeros(shape(k), np.float32))
                for k, v in self._frames.items()}
        return FieldHistory(self._mesh, np.asarray(self._times), data, meta=merged,
                            curves={k: np.asarray(v) for k, v in self._curves.items()},
                            complete=complete, **head)

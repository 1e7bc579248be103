"""Time as a dimension of studies and set-ups (#18).

A study is **transient** when it has a ``transient`` attribute holding a :class:`TimeAxis`: which
parameters give the simulated time span and the step, what the step axis is called, and which
curves (key quantities over time) its solver produces. Everything that runs studies asks
:func:`time_axis` and, for a transient study, calls ``ReferenceSolver.solve_history`` (a
``FieldHistory``) instead of ``solve`` (one state; for a transient study the final state).

:class:`TransientHeatSetup` is the set-up of transient conduction: the steady ``HeatSetup`` (its
conductivity, boundary conditions and sources at full value) plus heat capacity, initial
temperature, time span and step, scheme, and time functions that scale each boundary condition
or source over time (a heater switched on at t = 0 is the constant 1; NAFEMS T3's end temperature
is ``100 * sin(pi t / 40)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from physapp.core.study import HeatSetup

#: time-integration schemes of the transient heat solver (order of accuracy in time)
HEAT_SCHEMES = {"euler": 1, "crank-nicolson": 2, "bdf2": 2}


@dataclass(frozen=True)
class TimeAxis:
    """How a transient study declares its time axis (the study's ``transient`` attribute).

    ``t_end_param`` / ``dt_param`` name the parameters holding the time span and the step (None:
    the fixed ``t_end`` / ``t_end / n_steps``). ``curves`` are the names of the curves over time
    the solver produces (the first is charted by default), ``label`` / ``unit`` name the axis.
    ``frames_per_unit``: frames a sweep keeps per unit of time (0: a fixed number per history,
    see :func:`physapp.surrogates.history_data.default_frames`).
    """

    t_end_param: str | None = "t_end"
    dt_param: str | None = None
    t_end: float = 1.0
    n_steps: int = 100
    label: str = "time"
    unit: str = "s"
    curves: tuple[str, ...] = ()
    frames_per_unit: float = 0.0

    def span(self, params: Mapping[str, float]) -> float:
        return float(params[self.t_end_param]) if self.t_end_param else float(self.t_end)

    def step(self, params: Mapping[str, float]) -> float:
        if self.dt_param:
            return float(params[self.dt_param])
        return self.span(params) / max(int(self.n_steps), 1)


def time_axis(study: Any) -> TimeAxis | None:
    """The study's :class:`TimeAxis`, or None for a steady study."""
    axis = getattr(study, "transient", None)
    return axis if isinstance(axis, TimeAxis) else None


def is_transient(study: Any) -> bool:
    return time_axis(study) is not None


def constant(t: float) -> float:
    """The default time function: on at full value from t = 0."""
    return 1.0


@dataclass(frozen=True)
class SineRamp:
    """A picklable time function ``amplitude * sin(2 pi t / period + phase)``."""

    period: float
    amplitude: float = 1.0
    phase: float = 0.0

    def __call__(self, t: float) -> float:
        import math

        return self.amplitude * math.sin(2 * math.pi * t / self.period + self.phase)


@dataclass(frozen=True)
class TransientHeatSetup:
    """Transient conduction rho c_p dT/dt = div(k grad T) + Q on ``0 <= t <= t_end``.

    ``heat`` holds conductivity, sources and boundary conditions at full value;
    ``time_functions`` maps a boundary region (its fixed temperature, flux or convection air
    temperature), a subdomain name (its source) or ``"source"`` (the uniform source) to a factor
    ``f(t)``; anything not listed is constant. ``density`` (kg/m^3) and ``specific_heat``
    (J/(kg K)) are scalars or subdomain name -> value. ``probes`` map a curve name to a point
    whose temperature is recorded every step. ``save_every`` stores every n-th step (the
    first and last always). ``initial`` is the temperature at t = 0: a number, or a function of
    the node coordinates ``(dim, n)`` giving ``(n,)`` values.
    """

    heat: HeatSetup
    density: float | Mapping[str, float]
    specific_heat: float | Mapping[str, float]
    t_end: float
    dt: float
    initial: float | Callable[[Any], Any] = 0.0
    scheme: str = "bdf2"
    time_functions: Mapping[str, Callable[[float], float]] = field(default_factory=dict)
    probes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    save_every: int = 1

    @property
    def analysis(self) -> str:
        return self.heat.analysis

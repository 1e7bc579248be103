"""Parameters of a study: name, unit, bounds, default, and whether they change the geometry."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from physapp.core.errors import ParameterError, shorten
from physapp.core.labels import pretty_unit


@dataclass(frozen=True)
class ParameterSpec:
    """One design parameter a slider controls.

    Parameters
    ----------
    name : identifier used on the command line (``--set name=value``) and in files.
    label : human name shown next to the slider.
    unit : unit string (SI by default, e.g. ``"m"``, ``"Pa"``).
    lower, upper : inclusive bounds.
    default : value a new study starts with.
    geometric : True when a change needs a new mesh (the viewport shows the new shape).
    scale : display factor for the slider (e.g. 1e3 to show metres as millimetres).
    display_unit : unit of the displayed value (``unit`` scaled by ``scale``).
    discretization : True for numerical settings (element size) rather than design variables:
        design-of-experiments sweeps hold them fixed and surrogates do not take them as inputs.
    choices : names of the options of a choice parameter (e.g. a physical model); its value is
        the option's index (a float, like every parameter; lower = 0, upper = number - 1) and
        :meth:`validate` also accepts the option's name.
    integer : a whole number (a count, e.g. of holes): :meth:`validate` rounds to the nearest
        integer, so a slider snaps; samplers draw whole numbers with equal chances.
    """

    name: str
    label: str
    unit: str
    lower: float
    upper: float
    default: float
    geometric: bool = False
    scale: float = 1.0
    display_unit: str = ""
    description: str = ""
    discretization: bool = False
    choices: tuple[str, ...] = ()
    integer: bool = False

    def __post_init__(self) -> None:
        if self.choices and (self.lower, self.upper) != (0, len(self.choices) - 1):
            raise ValueError(f"{self.name}: a choice parameter spans 0 .. number of choices - 1")
        if not self.lower < self.upper:
            raise ValueError(f"{self.name}: lower bound must be below upper bound")
        if not self.lower <= self.default <= self.upper:
            raise ValueError(f"{self.name}: default {self.default} outside bounds")

    @property
    def shown_unit(self) -> str:
        """The unit as read on screen ("°C" for "degC", :mod:`physapp.core.labels`)."""
        return pretty_unit(self.display_unit or self.unit)

    def validate(self, value: float) -> float:
        """Return ``value`` as float or raise :class:`ParameterError` with the allowed range."""
        if self.choices:
            return self._validate_choice(value)
        try:
            value = float(value)
        except (TypeError, ValueError, OverflowError):
            if isinstance(value, int):  # a whole number beyond the float range
                raise ParameterError(f"{self.label} ({self.name}) must be a finite number, got "
                                     f"{shorten(value)}.") from None
            raise ParameterError(f"{self.label} ({self.name}): '{shorten(value)}' is not a "
                                 "number.") from None
        if not math.isfinite(value):
            raise ParameterError(f"{self.label} ({self.name}) must be a finite number.")
        if not self.lower <= value <= self.upper:
            unit = pretty_unit(self.unit)
            raise ParameterError(
                f"{self.label} ({self.name}) = {value:g} {unit} is outside its range "
                f"[{self.lower:g}, {self.upper:g}] {unit}."
            )
        if self.integer:
            value = float(min(max(round(value), math.ceil(self.lower)), math.floor(self.upper)))
        return value

    def choice(self, value: float) -> str:
        """The name of the option a choice parameter's value selects."""
        return self.choices[int(round(self._validate_choice(value)))]

    def _validate_choice(self, value) -> float:
        if isinstance(value, str) and value.strip() in self.choices:
            return float(self.choices.index(value.strip()))
        try:
            index = float(value)
        except (TypeError, ValueError):
            index = math.nan
        if not (math.isfinite(index) and index == int(index) and 0 <= index < len(self.choices)):
            options = ", ".join(f"{c} ({i})" for i, c in enumerate(self.choices))
            raise ParameterError(f"{self.label} ({self.name}) = '{shorten(value)}' is not one of: "
                                 f"{options}.")
        return index


def validate_params(
    specs: tuple[ParameterSpec, ...], values: Mapping[str, float], *, fill_defaults: bool = True
) -> dict[str, float]:
    """Check names and bounds; return a complete dict (defaults for missing names)."""
    by_name = {p.name: p for p in specs}
    unknown = sorted(set(values) - set(by_name))
    if unknown:
        raise ParameterError(
            f"Unknown parameter(s) {', '.join(unknown)}; this study has: {', '.join(by_name)}."
        )
    out = {p.name: p.default for p in specs} if fill_defaults else {}
    for name, value in values.items():
        out[name] = by_name[name].validate(value)
    return out

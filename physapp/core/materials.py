"""A small library of engineering materials with units (room-temperature handbook values).

Each entry: Young's modulus (Pa), Poisson's ratio (-), density (kg/m^3), thermal expansion (1/K),
thermal conductivity (W/(m K)), yield strength (Pa; 0.2 % proof stress for metals, tensile yield
for polymers). Values are typical; check your supplier's data sheet.
"""

from __future__ import annotations

from dataclasses import dataclass

from physapp.core.errors import ParameterError


@dataclass(frozen=True)
class MaterialData:
    name: str
    youngs_modulus: float  # Pa
    poissons_ratio: float
    density: float  # kg/m^3
    expansion: float  # 1/K
    conductivity: float  # W/(m K)
    yield_strength: float = 0.0  # Pa (0: not known)

    UNITS = {"youngs_modulus": "Pa", "poissons_ratio": "", "density": "kg/m^3",
             "expansion": "1/K", "conductivity": "W/(m K)", "yield_strength": "Pa"}


MATERIALS: dict[str, MaterialData] = {m.name: m for m in (
    MaterialData("structural steel", 200e9, 0.30, 7850.0, 12e-6, 60.5, 250e6),
    MaterialData("aluminium 6061", 68.9e9, 0.33, 2700.0, 23.6e-6, 167.0, 276e6),
    MaterialData("titanium Ti-6Al-4V", 113.8e9, 0.342, 4430.0, 8.6e-6, 6.7, 880e6),
    MaterialData("ABS", 2.2e9, 0.35, 1040.0, 90e-6, 0.17, 40e6),
    MaterialData("copper", 117e9, 0.34, 8960.0, 16.5e-6, 401.0, 70e6),
    MaterialData("PET", 2.7e9, 0.38, 1380.0, 70e-6, 0.2, 55e6),
)}


def material(name: str, *, physics: str = "elasticity", **overrides: float) -> MaterialData:
    """A library material by name (case-insensitive), or ``custom`` built from ``overrides``.

    ``physics="heat"`` checks only the conductivity (a custom heat material needs no Young's
    modulus); elasticity checks Young's modulus and Poisson's ratio."""
    key = {k.lower(): k for k in MATERIALS}.get(name.lower())
    if key is None and name.lower() != "custom":
        raise ParameterError(
            f"Unknown material '{name}'. Library: {', '.join(MATERIALS)}, or 'custom' with values."
        )
    base = MATERIALS[key] if key else MaterialData("custom", 0.0, 0.0, 0.0, 0.0, 0.0)
    data = {**base.__dict__, **overrides, "name": base.name}
    m = MaterialData(**data)
    if physics == "heat":
        if not m.conductivity > 0:
            raise ParameterError(f"Material '{m.name}': the thermal conductivity must be positive "
                                 f"(got {m.conductivity:g} W/(m K)).")
        return m
    if "yield_strength" in overrides:
        check_yield_strength(m.yield_strength)
    if m.youngs_modulus <= 0 or not -1.0 < m.poissons_ratio < 0.5:
        raise ParameterError(
            f"Material '{m.name}': Young's modulus must be positive and Poisson's ratio in "
            f"(-1, 0.5) (got E = {m.youngs_modulus:g} Pa, nu = {m.poissons_ratio:g})."
        )
    return m


def check_yield_strength(value: float) -> float:
    """``value`` (Pa) as a yield strength: a positive finite number, else ParameterError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"The yield strength must be a number (got {value!r}).") from None
    if not (v > 0 and v < float("inf")):
        raise ParameterError(f"The yield strength must be positive (got {v:g} Pa): the safety "
                             "factor divides it by the von Mises stress.")
    return v

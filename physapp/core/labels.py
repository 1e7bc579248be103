"""THE table of how quantities and units read on screen (#13): "°C" not "degC", "σθ" not
"sigma_theta", "W/m²" not "W/m^2".

Studies, plug-ins and data sets keep ASCII names and SI unit strings (files, the CLI's
``--set``, saved sessions and unit conversions use them); what a person reads goes through
:func:`pretty_label` and :func:`pretty_unit`. :class:`physapp.core.study.FieldSpec` applies
:func:`pretty_label` to its label, :meth:`physapp.core.params.ParamSpec.shown_unit` and
:func:`physapp.viz.grids.display_unit` apply :func:`pretty_unit`, so colour bars, the probe,
line plots, key quantities, sliders and tooltips agree without each knowing the table.
Qt- and numpy-free.
"""

from __future__ import annotations

import re

#: unit strings as written in the code -> as shown
UNIT_SYMBOLS: dict[str, str] = {
    "degC": "\u00b0C",
    "deg": "\u00b0",
    "um": "\u00b5m",
    "m^2": "m\u00b2",
    "m^3": "m\u00b3",
    "W/m^2": "W/m\u00b2",
    "W/m^3": "W/m\u00b3",
    "W/(m^2 K)": "W/(m\u00b2 K)",
    "W/(m K)": "W/(m K)",
    "kg/m^3": "kg/m\u00b3",
    "m/s^2": "m/s\u00b2",
    "m^2/s": "m\u00b2/s",
    "J/(kg K)": "J/(kg K)",
    "1": "",  # dimensionless
}

#: Greek letters written out in labels -> the letter
GREEK: dict[str, str] = {
    "sigma": "\u03c3", "tau": "\u03c4", "epsilon": "\u03b5", "theta": "\u03b8", "nu": "\u03bd",
    "rho": "\u03c1", "omega": "\u03c9", "psi": "\u03c8", "phi": "\u03c6", "mu": "\u03bc",
    "delta": "\u03b4", "Delta": "\u0394", "alpha": "\u03b1", "lambda": "\u03bb",
}

#: whole labels that are bare field names (a data set's or a plug-in's) -> readable words
NAMES: dict[str, str] = {
    "u_mag": "Displacement magnitude",
    "von_mises": "von Mises stress",
    "vm": "von Mises stress",
    "T": "Temperature",
    "temperature": "Temperature",
    "displacement": "Displacement magnitude",
    "velocity": "Velocity magnitude",
    "pressure": "Pressure",
    "safety_factor": "Safety factor",
}

#: how key quantities are named on screen (side panel, metrics table, charts); others: the
#: name with spaces for underscores, capitalised
KEY_LABELS: dict[str, str] = {
    "peak_von_mises": "Peak von Mises stress",
    "max_displacement": "Max. displacement",
    "hoop_stress_bore_lame": "Hoop stress at the bore (Lam\u00e9)",
    "min_safety_factor": "Min. safety factor",
    "peak_temperature": "Peak temperature",
    "min_temperature": "Min. temperature",
    "thermal_resistance": "Thermal resistance",
    "thermal_impedance": "Thermal impedance",
    "stress_concentration": "Stress concentration",
    "pressure_drop": "Pressure drop",
    "peak_top_load": "Peak top load",
    "displacement_at_peak": "Displacement at peak",
    "initial_stiffness": "Initial stiffness",
    "cd": "Drag coefficient Cd",
    "cl": "Lift coefficient Cl",
    "cd_max": "Max. drag coefficient Cd",
    "cd_mean": "Mean drag coefficient Cd",
    "cl_max": "Max. lift coefficient Cl",
    "cl_amplitude": "Lift amplitude Cl",
    "strouhal": "Strouhal number St",
    "frequency": "Shedding frequency",
    "reynolds": "Reynolds number Re",
    "recirculation_length": "Recirculation length",
    "vortex_x": "Vortex centre x",
    "vortex_y": "Vortex centre y",
    "vortex_psi": "Vortex stream function \u03c8",
    "vortex_vorticity": "Vortex vorticity \u03c9",
    "kinetic_energy": "Kinetic energy",
}


def key_label(name: str) -> str:
    """A key quantity's name as shown (:data:`KEY_LABELS`; else "peak_x" -> "Peak x")."""
    if name in KEY_LABELS:
        return KEY_LABELS[name]
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


_SUB_DIGITS = str.maketrans("0123456789", "\u2080\u2081\u2082\u2083\u2084\u2085\u2086\u2087"
                            "\u2088\u2089")
# a symbol with a subscript: sigma_theta, tau_xz, u_x, sigma_1, epsilon_zz, q_z
_SUBSCRIPTED = re.compile(r"\b(" + "|".join(GREEK) + r"|[a-zA-Z])_(" + "|".join(GREEK)
                          + r"|[a-z]{1,3}|\d)\b")
_WORD_GREEK = re.compile(r"\b(sigma|tau|epsilon|theta|nu|rho|omega)\b")  # not psi (a unit)


def _subscripted(m: re.Match) -> str:
    symbol, sub = m.group(1), m.group(2)
    symbol = GREEK.get(symbol, symbol)
    sub = GREEK.get(sub, sub)
    return symbol + (sub.translate(_SUB_DIGITS) if sub.isdigit() else sub)


def pretty_label(label: str) -> str:
    """``label`` as a person reads it: "Hoop stress sigma_theta" -> "Hoop stress σθ",
    "Shear stress tau_xz" -> "Shear stress τxz", "Max. principal stress sigma_1" -> "... σ₁",
    "u_mag" -> "Displacement magnitude"; "_std" fields read "(std)". Idempotent."""
    if not label:
        return label
    base, std = label, ""
    if base.endswith("_std"):
        base, std = base[:-4], " (std)"
    if base in NAMES:
        return NAMES[base] + std
    text = _SUBSCRIPTED.sub(_subscripted, base)
    if "_" in text and " " not in text and text.replace("_", "").isalnum():
        text = text.replace("_", " ")  # a bare snake_case name: words
        text = text[:1].upper() + text[1:]
    text = _WORD_GREEK.sub(lambda m: GREEK[m.group(1)], text)
    return text + std


def pretty_unit(unit: str) -> str:
    """A unit as shown: "degC" -> "°C", "W/m^2" -> "W/m²", "1" -> "" (dimensionless);
    anything else with ``^2``/``^3`` gets superscripts. Idempotent."""
    if unit in UNIT_SYMBOLS:
        return UNIT_SYMBOLS[unit]
    return unit.replace("^2", "\u00b2").replace("^3", "\u00b3").replace("^-1", "\u207b\u00b9")

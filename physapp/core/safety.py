"""Safety factor against yield: yield strength over von Mises stress (#13).

The field is derived from a result's ``von_mises`` (reference solve or surrogate prediction)
where it is shown; nothing is stored or learned. Where the stress is (nearly) zero the factor
is infinite: it is capped at :data:`SAFETY_CAP` for display, so the colour range shows the
interesting part (below 1 yields, 1-2 is tight).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from physapp.core.materials import MATERIALS, check_yield_strength
from physapp.core.results import FieldResult
from physapp.core.study import FieldSpec

FIELD = "safety_factor"
KEY = "min_safety_factor"
#: largest safety factor shown (a nearly unstressed region would otherwise be ~1e9)
SAFETY_CAP = 10.0
#: (a short label: the colour bar's title sits at the view's right edge; the Display box's
#: yield strength field says it is yield / von Mises)
SAFETY_FIELD = FieldSpec(FIELD, "Safety factor", "1")
#: the library material a study's material is read as when it names none (steel)
DEFAULT_MATERIAL = "structural steel"


def safety_factor(von_mises: np.ndarray, yield_strength: float,
                  cap: float = SAFETY_CAP) -> np.ndarray:
    """``yield_strength / von_mises`` per node, at most ``cap`` (also where the stress is 0)."""
    ys = check_yield_strength(yield_strength)
    vm = np.abs(np.asarray(von_mises, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        sf = np.where(vm > ys / cap, ys / np.where(vm > 0, vm, 1.0), cap)
    return np.minimum(sf, cap)


def has_stress(fields) -> bool:
    """True when a study's fields (FieldSpecs) include the von Mises stress."""
    return any(f.name == "von_mises" for f in fields)


def with_safety_factor(result: FieldResult, yield_strength: float) -> FieldResult:
    """``result`` with a ``safety_factor`` field (unit "1") when it has ``von_mises``; else (or
    when it has one already) ``result`` itself."""
    if "von_mises" not in result.point_data or FIELD in result.point_data:
        return result
    data = dict(result.point_data)
    data[FIELD] = safety_factor(data["von_mises"], yield_strength).astype(np.float32)
    return FieldResult(result.mesh, data, result.source, result.meta,
                       {**result.units, FIELD: "1"})


def attach_safety_factor(result: FieldResult, yield_strength: float) -> FieldResult:
    """Add (or refresh) the ``safety_factor`` field of ``result`` in place and return it.

    A derived field, not a result of its own: the result keeps its identity (the GUI follows
    results by identity) and its solved fields are untouched; the field mapping is swapped in
    one assignment, so a reader sees the old or the new mapping. No-op without von Mises or
    when the field is already there for this yield strength."""
    if "von_mises" not in result.point_data:
        return result
    if getattr(result, "_safety_yield", None) == yield_strength and FIELD in result.point_data:
        return result
    sf = safety_factor(result.point_data["von_mises"], yield_strength).astype(np.float32)
    sf.setflags(write=False)
    data = MappingProxyType({**result.point_data, FIELD: sf})
    object.__setattr__(result, "units", MappingProxyType({**result.units, FIELD: "1"}))
    object.__setattr__(result, "point_data", data)
    object.__setattr__(result, "_safety_yield", float(yield_strength))
    return result


def min_safety_factor(key_quantities: Mapping[str, float], yield_strength: float) -> float | None:
    """The smallest safety factor of a result from its ``peak_von_mises`` (uncapped; None
    without a peak stress)."""
    peak = key_quantities.get("peak_von_mises")
    if peak is None or not np.isfinite(peak):
        return None
    ys = check_yield_strength(yield_strength)
    return float("inf") if peak <= 0 else ys / float(peak)


def material_yield_strength(name: str, youngs_modulus: float | None = None) -> tuple[float, str]:
    """The library yield strength (Pa) and material name for a study's material: by name
    (case-insensitive), else the library material whose Young's modulus is within 10 % of
    ``youngs_modulus``, else structural steel."""
    by_name = {k.lower(): m for k, m in MATERIALS.items()}
    m = by_name.get((name or "").strip().lower())
    if m is None and youngs_modulus:
        close = [x for x in MATERIALS.values()
                 if abs(x.youngs_modulus - youngs_modulus) <= 0.1 * x.youngs_modulus]
        m = min(close, key=lambda x: abs(x.youngs_modulus - youngs_modulus)) if close else None
    m = m or MATERIALS[DEFAULT_MATERIAL]
    return m.yield_strength, m.name


def study_yield_strength(study, params: Mapping[str, float] | None = None) -> tuple[float, str]:
    """The yield strength (Pa) and material name a study's safety factor starts from: the
    study's ``yield_strength`` attribute when it has one, else its set-up material looked up in
    the library (:func:`material_yield_strength`)."""
    own = getattr(study, "yield_strength", None)
    if own:
        return float(own), str(getattr(study, "material_name", "") or "study material")
    name, e = "", None
    try:
        setup = study.setup(dict(params) if params is not None else study.spec.defaults())
        mat = getattr(setup, "material", None)
        if mat is not None:
            name, e = getattr(mat, "name", ""), getattr(mat, "youngs_modulus", None)
    except Exception:  # noqa: BLE001 - a set-up that is not complete yet: the default material
        pass
    return material_yield_strength(name, e)

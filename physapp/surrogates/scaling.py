"""Physical scaling of fields before learning (non-dimensionalisation a study declares).

Linear problems have fields exactly proportional to some parameters: a plate's displacement to
traction / E, its stresses to the traction, a heat sink's temperature rise above the air to the
power. A study may declare this as ``field_scaling``: field name (``fnmatch`` patterns allowed) ->
``{"powers": {param: exponent, ...}, "offset": param name or number, "abs": bool}`` (``abs``
for fields that keep their sign when the load reverses, such as von Mises). The surrogate then learns
``(field - offset) / prod(param ** exponent)``, which depends on the remaining parameters only and
is far easier to regress from few samples; predictions are scaled back (standard deviations by
the absolute scale). The spec is stored with the model, so predictions need no study code.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from physapp.surrogates.data import TrainingData

Spec = Mapping[str, Mapping[str, Any]]


def rule_for(spec: Spec, field: str) -> Mapping[str, Any] | None:
    for pattern, rule in spec.items():
        if fnmatch.fnmatchcase(field, pattern):
            return rule
    return None


def factors(rule: Mapping[str, Any], rows: Sequence[Mapping[str, float]]) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """(offset, scale) per row of parameter values."""
    scale = np.ones(len(rows))
    for name, power in rule.get("powers", {}).items():
        scale *= np.array([float(r[name]) for r in rows]) ** float(power)
    if rule.get("abs"):  # for fields that do not change sign with the load (von Mises)
        scale = np.abs(scale)
    off = rule.get("offset", 0.0)
    offset = (np.array([float(r[off]) for r in rows]) if isinstance(off, str)
              else np.full(len(rows), float(off)))
    return offset, scale


def _bcast(v: np.ndarray, arr: np.ndarray) -> np.ndarray:
    return v.reshape((-1,) + (1,) * (arr.ndim - 1))


def check_spec(spec: Spec, data: TrainingData) -> None:
    from physapp.core.errors import PhysappError

    known = set(data.param_names) | set(data.fixed)
    for pattern, rule in spec.items():
        names = set(rule.get("powers", {}))
        if isinstance(rule.get("offset"), str):
            names.add(rule["offset"])
        missing = names - known
        if missing:
            raise PhysappError(f"Field scaling of '{pattern}' uses unknown parameter(s) "
                               f"{', '.join(sorted(missing))}.")
    for name in data.fields:
        rule = rule_for(spec, name)
        if rule is None:
            continue
        _, scale = factors(rule, rows(data))
        if np.any(scale == 0) or not np.all(np.isfinite(scale)):
            raise PhysappError(
                f"Field scaling of '{name}' is zero or undefined for some samples (a parameter "
                "in its scale is 0 there); train without scaling or exclude those values.")


def stored_spec_error(spec: Any, known: set[str]) -> str | None:
    """What is wrong with a ``field_scaling`` read from a model file whose parameters (varied and
    fixed) are ``known``, or None when it can be used: every rule a mapping of ``powers``
    (parameter -> finite exponent), ``offset`` (parameter or finite number) and ``abs`` (bool)."""
    import math

    def number(v: Any) -> bool:
        return (isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(float(v)))

    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        return f"its field scaling is a {type(spec).__name__}, not a table of fields"
    for pattern, rule in spec.items():
        where = f"the field scaling of '{str(pattern)[:60]}'"
        if not isinstance(pattern, str) or not isinstance(rule, Mapping):
            return f"{where} is not a table"
        powers = rule.get("powers", {})
        if not isinstance(powers, Mapping):
            return f"{where} has powers that are not a table"
        for name, power in powers.items():
            if not isinstance(name, str) or name not in known:
                return f"{where} uses parameter '{str(name)[:60]}', which the model does not have"
            if not number(power):
                return f"{where} has a power of '{name}' that is not a finite number"
        off = rule.get("offset", 0.0)
        if isinstance(off, str):
            if off not in known:
                return (f"{where} has the offset '{off[:60]}', which is not a parameter of the "
                        "model")
        elif not number(off):
            return f"{where} has an offset that is neither a parameter nor a finite number"
        if not isinstance(rule.get("abs", False), bool):
            return f"{where} has an 'abs' that is not true or false"
    return None


def rows(data: TrainingData) -> list[dict[str, float]]:
    out = []
    for x in data.X:
        r = dict(data.fixed)
        r.update(zip(data.param_names, map(float, x), strict=True))
        out.append(r)
    return out


def scale_data(data: TrainingData, spec: Spec) -> TrainingData:
    """A copy of ``data`` with the declared fields in scaled form."""
    check_spec(spec, data)
    r = rows(data)
    fields = {}
    for name, arr in data.fields.items():
        rule = rule_for(spec, name)
        if rule is None:
            fields[name] = arr
            continue
        offset, scale = factors(rule, r)
        fields[name] = ((arr - _bcast(offset, arr)) / _bcast(scale, arr)).astype(np.float32)
    scaled_out = {n for rule in spec.values() for n in rule.get("powers", {})}
    return TrainingData(data.study_id, data.param_names, data.bounds, dict(data.fixed), data.mesh,
                        data.X, data.coords, fields, dict(data.units), data.is_test,
                        dict(data.key_quantities),
                        tuple(n for n in data.param_names if n in scaled_out))


def unscale(arrays: dict[str, np.ndarray], spec: Spec, value_rows: Sequence[Mapping[str, float]]
            ) -> dict[str, np.ndarray]:
    """Scale predicted arrays (name -> (m, ...)) back to physical values, in place."""
    for name in list(arrays):
        base = name[:-4] if name.endswith("_std") else name
        rule = rule_for(spec, base) if base != "coords" else None
        if rule is None:
            continue
        offset, scale = factors(rule, value_rows)
        arr = arrays[name]
        if name.endswith("_std"):
            arrays[name] = (arr * _bcast(np.abs(scale), arr)).astype(np.float32)
        else:
            arrays[name] = (arr * _bcast(scale, arr) + _bcast(offset, arr)).astype(np.float32)
    return arrays


def study_scaling(study_id: str) -> dict[str, Any]:
    """The ``field_scaling`` a registered study declares ({} when none or not registered)."""
    try:
        from physapp.studies import get_study

        return dict(getattr(get_study(study_id), "field_scaling", {}) or {})
    except Exception:  # noqa: BLE001 - imported parts and unknown ids simply have none
        return {}


def for_training(data: TrainingData, options: dict[str, Any]
                 ) -> tuple[TrainingData, dict[str, Any], TrainingData]:
    """``(data to learn, scaling, held-out data in physical units)`` for a trainer: the scaling
    is ``options.pop("field_scaling")`` or else the study's; the held-out samples are kept
    unscaled, so that models are scored in physical units."""
    scaling = options.pop("field_scaling", None)
    if scaling is None:
        scaling = study_scaling(data.study_id)
    original_test = data.test()
    if scaling:
        data = scale_data(data, scaling)
    return data, dict(scaling or {}), original_test

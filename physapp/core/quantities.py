"""Key quantities of a result: the one place that computes them and knows their units.

Both the reference solver and every surrogate prediction call :func:`result_key_quantities`, so
a study's quantities follow a slider as they follow a solve. In this order:

1. the built-in peaks, read from the result's nodal fields (:data:`FROM_FIELDS`):
   ``peak_von_mises``, ``max_displacement``, ``peak_temperature``, ``min_temperature``;
2. ``extra``: what the solver computed itself (drag, lift, heat rates);
3. the study's optional ``field_quantities(result, params)`` hook: any quantity computed from
   the result's fields (``result.point_data``), its mesh (``result.mesh``) and the parameters;
4. the study's optional ``derived_quantities(params, key)``: a quantity computed from the
   parameters and the quantities found so far (e.g. a thermal resistance from the peak
   temperature).

A unit comes from the study's declaration (``StudySpec.key_units``), else from what the solver
gave, else from :data:`BUILTIN_KEY_UNITS`. A hook that raises (e.g. a field a partial
prediction left out) leaves its quantities out and is reported in the returned problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

#: how each built-in key quantity is read from nodal fields: name -> (field, reduction)
FROM_FIELDS: dict[str, tuple[str, str]] = {
    "peak_von_mises": ("von_mises", "max"),
    "max_displacement": ("displacement", "max"),
    "peak_temperature": ("temperature", "max"),
    "min_temperature": ("temperature", "min"),
}
#: units of the quantities the built-in solvers compute (studies declare their own)
BUILTIN_KEY_UNITS: dict[str, str] = {
    "peak_von_mises": "Pa", "max_displacement": "m", "peak_temperature": "degC",
    "min_temperature": "degC",
}


def magnitude(a: Any) -> np.ndarray:
    """A nodal field as scalars: itself, or the length of each vector."""
    a = np.asarray(a, dtype=np.float64)
    return a if a.ndim == 1 else np.linalg.norm(a, axis=1)


def builtin_quantities(point_data: Mapping[str, Any]) -> dict[str, float]:
    """The built-in peaks (:data:`FROM_FIELDS`) of the fields present in ``point_data``."""
    out: dict[str, float] = {}
    for name, (field, how) in FROM_FIELDS.items():
        if field in point_data:
            mag = magnitude(point_data[field])
            if mag.size:
                out[name] = float(mag.max() if how == "max" else mag.min())
    return out


def key_unit(name: str, spec: Any = None, given: Mapping[str, str] | None = None) -> str:
    """The unit of key quantity ``name``: the study's declaration (``spec.key_units``), the
    solver's (``given``), the built-in table; ``heat_rate[...]`` is in W."""
    declared = getattr(spec, "key_units", None) or {}
    if name in declared:
        return str(declared[name])
    if given and name in given:
        return str(given[name])
    if name in BUILTIN_KEY_UNITS:
        return BUILTIN_KEY_UNITS[name]
    return "W" if name.startswith("heat_rate[") else ""


def result_key_quantities(study: Any, result: Any, params: Mapping[str, float] | None = None,
                          *, extra: Mapping[str, float] | None = None,
                          extra_units: Mapping[str, str] | None = None
                          ) -> tuple[dict[str, float], dict[str, str], list[str]]:
    """``(values, units, problems)`` of the key quantities of ``result`` (a ``FieldResult``)
    for ``study`` (None: the built-in peaks only) at ``params`` (default: the result's
    ``meta["params"]`` over the study's defaults). See the module's docstring for the order."""
    kq = builtin_quantities(result.point_data)
    kq.update({k: float(v) for k, v in (extra or {}).items()})
    problems: list[str] = []
    spec = getattr(study, "spec", None)
    values = dict(spec.defaults()) if spec is not None else {}
    values.update(params if params is not None else (result.meta.get("params") or {}))
    hook = getattr(study, "field_quantities", None)
    if hook is not None:
        try:
            kq.update({str(k): float(v) for k, v in dict(hook(result, values)).items()})
        except Exception as exc:  # noqa: BLE001 - a study's code: report it, keep the rest
            problems.append(f"field_quantities: {type(exc).__name__}: {exc}")
    derived = getattr(study, "derived_quantities", None)
    if derived is not None and kq:
        try:
            kq.update({str(k): float(v) for k, v in dict(derived(values, kq)).items()})
        except Exception as exc:  # noqa: BLE001
            problems.append(f"derived_quantities: {type(exc).__name__}: {exc}")
    units = {k: key_unit(k, spec, extra_units) for k in kq}
    return kq, units, problems

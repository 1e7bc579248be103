"""Open a study inside the trained range of the surrogate it selects (#13).

A study that opens with its shipped model selected must not open on a design the model was not
trained for (the example vessel opened at a 30 mm wall, its model covers 40-100 mm: the first
thing shown was a warning and a 6 % error). Before the first solve, parameters outside the
shipped model's range (read from the file's header, without torch) move just inside it, and the
message bar says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

#: how far inside the trained range a moved value lands (fraction of the range's width)
INSET = 0.05


def shipped_bounds(entries: Sequence) -> dict[str, tuple[float, float]]:
    """Parameter -> (low, high) trained range of the first built-in model in ``entries``
    (``ModelEntry`` objects with a peeked ``header``); {} without one."""
    for e in entries:
        if getattr(e, "source", "") != "built-in" or not e.header:
            continue
        info = e.header.get("info", {}) or {}
        names, bounds = info.get("param_names") or (), info.get("bounds") or ()
        return {str(n): (float(b[0]), float(b[1])) for n, b in zip(names, bounds, strict=False)
                if len(b) == 2}
    return {}


def into_range(params: Mapping[str, float], bounds: Mapping[str, tuple[float, float]],
               inset: float = INSET) -> dict[str, float]:
    """The values of ``params`` outside ``bounds``, moved just inside (``inset`` of the width)."""
    moved = {}
    for name, (lo, hi) in bounds.items():
        v = params.get(name)
        if v is None or lo <= v <= hi:
            continue
        pad = inset * (hi - lo)
        moved[name] = lo + pad if v < lo else hi - pad
    return moved


def open_in_trained_range(window) -> dict[str, float]:
    """Move the window's design into its shipped model's trained range; returns what moved."""
    bounds = shipped_bounds(window.surrogates.entries)
    model = window.model
    moved = into_range(model.params, bounds)
    if not moved:
        return {}
    spec = model.spec
    try:
        model.set_values(moved)
    except Exception:  # noqa: BLE001 - a range outside the study's bounds: leave the design
        return {}
    parts = []
    for name, v in moved.items():
        p = spec.parameter(name)
        lo, hi = bounds[name]
        unit = f" {p.shown_unit}" if p.shown_unit else ""
        parts.append(f"{p.label} {v * p.scale:.3g}{unit} (trained {lo * p.scale:.3g}"
                     f"\u2013{hi * p.scale:.3g}{unit})")
    window.show_message("Opened inside the shipped surrogate's trained range: "
                        + "; ".join(parts) + ".", "info", "surrogate")
    return moved

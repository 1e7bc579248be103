"""A field along the closed surface of a body (the airfoil's Cp against x/c), from any result.

The reference solver writes the airfoil's curve into ``meta["curves"]["cp"]`` (its P2 nodes);
a surrogate prediction has no curve, so :func:`surface_curve` reads it off the predicted field at
the nodes of the mesh's ``body`` boundary, with the surrogate's standard deviation when it has one.
Plain numpy (no Qt, no VTK).
"""

from __future__ import annotations

import numpy as np

from physapp.core.results import FieldResult

BODY = "body"
CP = "pressure_coefficient"


def has_surface(result: FieldResult | None, field: str = CP, region: str = BODY) -> bool:
    """True when ``result`` has a body surface and ``field`` to plot along it."""
    if result is None:
        return False
    if "cp" in (result.meta.get("curves") or {}) and field == CP:
        return True
    return region in result.mesh.boundaries and field in result.point_data


def _loop(facets: np.ndarray) -> np.ndarray:
    """Node indices of a closed chain of segments, in order (the first node not repeated)."""
    nbrs: dict[int, list[int]] = {}
    for a, b in np.asarray(facets)[:, :2]:
        nbrs.setdefault(int(a), []).append(int(b))
        nbrs.setdefault(int(b), []).append(int(a))
    start = min(nbrs)
    order, prev, cur = [start], -1, start
    while True:
        nxt = next((n for n in nbrs[cur] if n != prev), None)
        if nxt is None or nxt == start:
            break
        order.append(nxt)
        prev, cur = cur, nxt
        if len(order) > len(nbrs):
            raise ValueError("the body surface is not a single closed loop")
    return np.array(order)


def surface_curve(result: FieldResult, field: str = CP, region: str = BODY
                  ) -> dict[str, dict[str, np.ndarray]]:
    """``{"upper"|"lower": {"x": x/c, "value": ..., "std": ... or None}}`` from the leading edge
    (smallest x) to the trailing edge (largest x) of the ``region`` loop; c is the body's
    length in x. The upper side is the one with the larger mean y."""
    loop = _loop(result.mesh.boundaries[region])
    xy = np.asarray(result.mesh.points)[loop, :2]
    values = np.asarray(result.point_data[field], dtype=float)[loop]
    std = result.point_data.get(f"{field}_std")
    std = None if std is None else np.asarray(std, dtype=float)[loop]
    i_le, i_te = int(np.argmin(xy[:, 0])), int(np.argmax(xy[:, 0]))
    n = len(loop)
    arc1 = np.array([(i_le + k) % n for k in range((i_te - i_le) % n + 1)])
    arc2 = np.array([(i_le - k) % n for k in range((i_le - i_te) % n + 1)])
    if xy[arc1, 1].mean() < xy[arc2, 1].mean():
        arc1, arc2 = arc2, arc1
    x0, chord = float(xy[i_le, 0]), float(xy[i_te, 0] - xy[i_le, 0]) or 1.0
    return {name: {"x": (xy[arc, 0] - x0) / chord, "value": values[arc],
                   "std": None if std is None else std[arc]}
            for name, arc in (("upper", arc1), ("lower", arc2))}


def reference_curve(result: FieldResult) -> dict[str, dict[str, np.ndarray]]:
    """The solver's own Cp curve (``meta["curves"]["cp"]``) when it has one, else read off
    the field as for a surrogate."""
    cp = (result.meta.get("curves") or {}).get("cp")
    if cp is None:
        return surface_curve(result)
    out = {}
    for side in ("upper", "lower"):
        a = np.asarray(cp[side], dtype=float).reshape(-1, 2)
        out[side] = {"x": a[:, 0], "value": a[:, 1], "std": None}
    return out

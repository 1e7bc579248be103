"""Round tick values for colour bars (#13): 1, 2, 2.5 or 5 times a power of ten."""

from __future__ import annotations

import math

import numpy as np

_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_step(lo: float, hi: float, n: int = 6) -> float:
    """The smallest round step that puts at most ``n`` ticks in ``[lo, hi]``."""
    span = hi - lo
    if not (span > 0 and math.isfinite(span)):
        return 0.0
    mag = 10.0 ** math.floor(math.log10(span / max(n, 1)))
    for s in (*_STEPS, 20.0, 25.0, 50.0):
        step = s * mag
        count = math.floor(hi / step + 1e-9) - math.ceil(lo / step - 1e-9) + 1
        if count <= n:
            return step
    return 100.0 * mag


def nice_ticks(lo: float, hi: float, n: int = 6) -> np.ndarray:
    """Round values inside ``[lo, hi]``, at least two when the range allows (for a range too
    narrow for two round values: its ends)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return np.array([lo])
    step = nice_step(lo, hi, n)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    ticks = ticks[(ticks >= lo - step * 1e-9) & (ticks <= hi + step * 1e-9)]
    ticks = np.round(ticks / step) * step  # no 0.30000000000000004
    ticks[np.abs(ticks) < step * 1e-9] = 0.0
    if len(ticks) < 2:
        return np.array([lo, hi])
    return ticks


def tick_format(ticks: np.ndarray) -> str:
    """A printf format that shows every tick distinctly and no more digits than needed."""
    if len(ticks) < 2:
        return "%.3g"
    step = float(np.min(np.diff(ticks))) if len(ticks) > 1 else 1.0
    top = float(np.max(np.abs(ticks)))
    if top >= 1e5 or (0 < top < 1e-3):
        return "%.3g"
    decimals = max(0, -int(math.floor(math.log10(step) + 1e-9))) if step > 0 else 0
    if step > 0 and abs(step / 10 ** math.floor(math.log10(step)) - 2.5) < 1e-9:
        decimals += 1  # 0.25, 2.5
    return f"%.{min(decimals, 6)}f"

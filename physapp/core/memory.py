"""Memory budget: estimate what a solve, sweep or file read needs before it allocates.

:func:`limit_bytes` is what physapp allows itself: the memory available on this machine now
(``psutil``), or ``PHYSAPP_MEMORY_LIMIT`` (bytes, or with a unit: ``512M``, ``8G``) when set (tests
and shared machines use it). :func:`check` raises :class:`MemoryLimitError` with the estimate and
what to change when a need is above the limit.
"""

from __future__ import annotations

import math
import os

from physapp.core.errors import PhysappError

_UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "M": 1024**2, "MB": 1024**2, "G": 1024**3,
          "GB": 1024**3, "T": 1024**4, "TB": 1024**4}
#: fraction of the available memory one job may plan to use
USABLE_FRACTION = 0.8


class MemoryLimitError(PhysappError):
    """A job would need more memory than this machine has available."""


def parse_size(text: str) -> int:
    """``"512M"`` -> bytes; a plain number is bytes. ValueError on anything else."""
    s = str(text).strip().upper().replace("IB", "B")
    num = s.rstrip("KMGTB")
    unit = s[len(num):]
    value = float(num)
    if unit not in _UNITS or not math.isfinite(value) or value <= 0:
        raise ValueError(text)
    return int(value * _UNITS[unit])


def available_bytes() -> int:
    """Memory available to new allocations now (without swapping)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - psutil missing: read /proc, else assume 4 GB
        try:
            with open("/proc/meminfo") as fh:
                for line in fh:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 4 * 1024**3


def limit_bytes() -> int:
    """What one job may use: ``PHYSAPP_MEMORY_LIMIT`` if set, else 80 % of the available memory."""
    env = os.environ.get("PHYSAPP_MEMORY_LIMIT", "").strip()
    if env:
        try:
            return parse_size(env)
        except ValueError:
            raise MemoryLimitError(f"PHYSAPP_MEMORY_LIMIT='{env}' is not a size (e.g. 512M, "
                                   "8G).") from None
    return int(available_bytes() * USABLE_FRACTION)


def human(n: float) -> str:
    """1536 -> '1.5 KB'."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def check(need: float, what: str, advice: str) -> None:
    """Raise MemoryLimitError when ``need`` bytes exceed :func:`limit_bytes`.

    ``what`` names the job ("solving plate-with-hole at P2"), ``advice`` what to change."""
    limit = limit_bytes()
    if not math.isfinite(need) or need > limit:
        shown = human(need) if math.isfinite(need) else "an unbounded amount"
        raise MemoryLimitError(
            f"{what} would need about {shown} of memory, more than the {human(limit)} available "
            f"on this computer; {advice}.")

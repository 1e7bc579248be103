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


# -- estimates --------------------------------------------------------------------------------
#: nodes per cell of the simplices the solvers use, by (dimension, order)
_NODES_PER_CELL = {(2, 1): 3, (2, 2): 6, (3, 1): 4, (3, 2): 10}
#: nodes per cell of a whole mesh (shared nodes counted once), by (dimension, order)
_NODES_PER_CELL_SHARED = {(2, 1): 0.5, (2, 2): 2.0, (3, 1): 0.19, (3, 2): 1.4}


def estimate_solve_bytes(dim: int, n_cells: float, order: int, components: int) -> float:
    """Peak memory of assembling and solving a finite-element system on ``n_cells`` simplices.

    The assembly holds every element matrix as (row, column, value) triplets before summing
    (24 bytes an entry) and the summed matrix, its preconditioner and the solution vectors and
    stresses scale with the number of unknowns. Calibrated on the plate (2D P1/P2) and the
    L-bracket (3D P2): the estimate is within a factor of 1.5 of the measured peak."""
    key = (2 if dim <= 2 else 3, 2 if order >= 2 else 1)
    local = _NODES_PER_CELL[key] * components
    dofs = n_cells * _NODES_PER_CELL_SHARED[key] * components
    return n_cells * local * local * 24 * 1.5 + dofs * 1500.0 + n_cells * 400.0 + 150e6


def study_mesh_estimate(study, params, progress=None) -> tuple[int, float] | None:
    """(dimension, expected number of cells) of ``study`` at ``params``, from a coarse mesh of the
    same geometry scaled by the element size (``mesh_size``); None when the study has no
    ``mesh_size`` or no coarse mesh can be built."""
    try:
        spec = study.spec.parameter("mesh_size")
    except (KeyError, AttributeError, ValueError):
        return None
    h = float(params.get("mesh_size", spec.default))
    for coarse in (spec.upper, spec.default, 0.5 * (spec.upper + h)):
        if coarse <= h:
            return None  # the requested mesh is no finer than one we could build at once
        try:
            values = study.check({**params, "mesh_size": coarse})
            mesh = study.build_mesh(values)
        except Exception:  # noqa: BLE001 - this coarse size does not fit the geometry: next
            continue
        n = sum(len(b) for b in mesh.cells)
        dim = int(mesh.dim)
        # gmsh fills a domain of measure M with about k M / h^dim simplices (k measured on the
        # built-in studies: 2.3-2.4 in 2D, 6-10 in 3D); local refinements add a fixed number.
        # A graded mesh (flow domains: fine at the walls, coarse in the far field) has far fewer:
        # there the coarse mesh's count scaled by (coarse / h)^dim is the closer (upper) bound.
        k = 2.5 if dim == 2 else 8.0
        uniform = k * _measure(mesh) / h**dim
        scaled = n * (coarse / h) ** dim
        return dim, max(float(n), min(uniform, scaled))
    return None


def _measure(mesh) -> float:
    """Area (2D) or volume (3D) of a mesh's simplices (other cells are split by their corners)."""
    import numpy as np

    p = np.asarray(mesh.points, dtype=float)
    total = 0.0
    for block in mesh.cells:
        c = np.asarray(block.connectivity)
        if mesh.dim == 2:
            a, b, d = p[c[:, 0], :2], p[c[:, 1], :2], p[c[:, 2], :2]
            total += 0.5 * float(np.abs((b[:, 0] - a[:, 0]) * (d[:, 1] - a[:, 1])
                                        - (b[:, 1] - a[:, 1]) * (d[:, 0] - a[:, 0])).sum())
        elif c.shape[1] >= 4:
            a = p[c[:, 0]]
            total += float(np.abs(np.einsum("ij,ij->i", p[c[:, 1]] - a, np.cross(
                p[c[:, 2]] - a, p[c[:, 3]] - a))).sum()) / 6.0
    return total


def check_study_solve(study, params, order: int, *, workers: int = 1, what: str = "") -> None:
    """Refuse a solve (or ``workers`` solves at once) of ``study`` at ``params`` whose estimate is
    above :func:`limit_bytes`, with the estimate and what to change."""
    found = study_mesh_estimate(study, params)
    if found is None:
        return
    dim, n_cells = found
    try:
        setup = study.setup(study.check(params))
        components = 1 if type(setup).__name__ == "HeatSetup" else (3 if dim == 3 else 2)
    except Exception:  # noqa: BLE001 - the solve itself will report a bad set-up
        components = dim
    need = estimate_solve_bytes(dim, n_cells, order, components) * max(1, workers)
    label = what or f"Solving {study.spec.id} at P{order}"
    advice = (f"about {n_cells:,.0f} elements at mesh_size = {params.get('mesh_size', 0):g} m: "
              "choose a larger mesh_size (the memory grows with 1/mesh_size^"
              f"{dim}), order 1 instead of 2, or a smaller part")
    if workers > 1:
        advice += ", or fewer workers"
    check(need, label, advice)

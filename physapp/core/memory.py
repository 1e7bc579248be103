"""Memory budget: estimate what a solve, sweep or file read needs before it allocates.

:func:`limit_bytes` is what physapp allows itself: the memory available on this machine now
(``psutil``), or ``PHYSAPP_MEMORY_LIMIT`` (bytes, or with a unit: ``512M``, ``8G``) when set (tests
and shared machines use it). :func:`check` raises :class:`MemoryLimitError` with the estimate and
what to change when a need is above the limit.
"""

from __future__ import annotations

import math
import os

from physapp.core.errors import PhysappError, shorten

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


#: unknowns (degrees of freedom) one solve may have; ``PHYSAPP_MAX_UNKNOWNS`` overrides it. Above
#: it meshing alone takes minutes and a P2 solve needs well over 10 GB (the plate with a hole at
#: its finest element size on its largest plate: 1.2 M elements, 4.6 M unknowns at P2)
MAX_UNKNOWNS = 2_000_000


def max_unknowns() -> int:
    """What one solve may have: ``PHYSAPP_MAX_UNKNOWNS`` if set, else :data:`MAX_UNKNOWNS`."""
    env = os.environ.get("PHYSAPP_MAX_UNKNOWNS", "").strip()
    if not env:
        return MAX_UNKNOWNS
    try:
        value = float(env)
        if not (math.isfinite(value) and value >= 1):
            raise ValueError(env)
    except ValueError:
        raise MemoryLimitError(f"PHYSAPP_MAX_UNKNOWNS='{shorten(env)}' is not a positive number "
                               "(e.g. 4000000).") from None
    return int(value)


def estimate_unknowns(dim: int, n_cells: float, order: int, components: int) -> float:
    """Degrees of freedom of a mesh of ``n_cells`` simplices at ``order``."""
    key = (2 if dim <= 2 else 3, 2 if order >= 2 else 1)
    return n_cells * _NODES_PER_CELL_SHARED[key] * components


def _count(n: float) -> str:
    """1_246_866 -> '1.2 M'; 66_922 -> '67 k'; 950 -> '950'."""
    if n >= 1e6:
        return f"{n / 1e6:.1f} M"
    return f"{n / 1e3:.0f} k" if n >= 1e4 else f"{n:,.0f}"


def _shown(spec, value: float) -> str:
    """A parameter value as its slider shows it ('0.5 mm')."""
    unit = spec.display_unit or spec.unit
    return f"{value * spec.scale:.4g} {unit}".strip()


def _round_up(x: float) -> float:
    """Up to two significant digits: 0.000712 -> 0.00072."""
    if x <= 0 or not math.isfinite(x):
        return x
    step = 10.0 ** (math.floor(math.log10(x)) - 1)
    return math.ceil(x / step - 1e-9) * step


def check_study_solve(study, params, order: int, *, workers: int = 1, what: str = "") -> None:
    """Refuse a solve (or ``workers`` solves at once) of ``study`` at ``params`` before meshing
    when its estimated unknowns are above :func:`max_unknowns` or its memory above
    :func:`limit_bytes`: the message names the element size, the estimate and the smallest
    ``mesh_size`` that fits."""
    found = study_mesh_estimate(study, params)
    if found is None:
        return
    dim, n_cells = found
    try:
        setup = study.setup(study.check(params))
        components = 1 if type(setup).__name__ == "HeatSetup" else (3 if dim == 3 else 2)
    except Exception:  # noqa: BLE001 - the solve itself will report a bad set-up
        components = dim
    workers = max(1, workers)
    dofs = estimate_unknowns(dim, n_cells, order, components)
    need = estimate_solve_bytes(dim, n_cells, order, components) * workers
    limit, cap = limit_bytes(), max_unknowns()
    if dofs <= cap and need <= limit:
        return
    # cells that fit: the unknowns and the memory both grow in proportion to the cells
    base = estimate_solve_bytes(dim, 0, order, components) * workers
    per_cell = (need - base) / max(n_cells, 1.0)
    fit = min(cap / (dofs / max(n_cells, 1.0)), max(limit - base, 0.0) / per_cell)
    if dofs > cap:
        reason = f"the {_count(cap)} unknowns one solve may have (PHYSAPP_MAX_UNKNOWNS)"
    else:
        reason = f"the {human(limit)} available on this computer"
    spec = study.spec.parameter("mesh_size")
    h = float(params.get("mesh_size", spec.default))
    geometry = ", ".join(f"{p.name} = {_shown(p, float(params[p.name]))}"
                         for p in study.spec.parameters
                         if p.geometric and not p.discretization and p.name in params)
    label = what or f"Solving {study.spec.id} at P{order}"
    text = (f"{label}: element size mesh_size = {_shown(spec, h)}"
            + (f" on this geometry ({geometry})" if geometry else "")
            + f" gives about {_count(n_cells)} elements and {_count(dofs)} unknowns, about "
            f"{human(need)} of memory: more than {reason}")
    options = []
    h_min = _round_up(h * (n_cells / fit) ** (1.0 / dim) * 1.05) if fit > 0 else math.inf
    if h_min <= spec.upper:
        options.append(f"use mesh_size >= {_shown(spec, h_min)}")
    else:
        options.append("make the part smaller")
    if order >= 2:
        p1 = estimate_unknowns(dim, n_cells, 1, components)
        p1_need = estimate_solve_bytes(dim, n_cells, 1, components) * workers
        if p1 <= cap and p1_need <= limit:
            options.append(f"or solve at order 1 ({_count(p1)} unknowns, {human(p1_need)})")
    if workers > 1:
        options.append("or use fewer workers")
    raise MemoryLimitError(f"{text}; {', '.join(options)}.")

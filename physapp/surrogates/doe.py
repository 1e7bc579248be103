"""Design of experiments: which parameters vary, within which bounds, and where to sample them.

The design parameters of a study are its parameters with ``discretization=False`` (element sizes
are numerical settings, held fixed). A dataset varies some of them (all by default) inside bounds
(the parameter ranges by default) and holds the others at fixed values (their defaults unless set).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from physapp.core.errors import GeometryError, ParameterError
from physapp.core.study import Study

METHODS = ("lhs", "sobol")


@dataclass(frozen=True)
class Design:
    """The varied parameters of a dataset (``names``, ``bounds`` (p, 2)) and the fixed rest."""

    names: tuple[str, ...]
    bounds: np.ndarray
    fixed: dict[str, float]

    def values(self, row: Iterable[float]) -> dict[str, float]:
        """Full parameter dict of one design point (varied values + fixed values)."""
        out = dict(self.fixed)
        out.update({n: float(v) for n, v in zip(self.names, row, strict=True)})
        return out


def design_parameters(study: Study) -> list[str]:
    """Names of the study's design parameters (those that are not discretization settings)."""
    return [p.name for p in study.spec.parameters if not p.discretization]


def resolve_design(
    study: Study,
    vary: Iterable[str] | None = None,
    fixed: Mapping[str, float] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> Design:
    """Check the user's choice of varied parameters, fixed values and bounds.

    Parameters
    ----------
    study : the study.
    vary : names of the parameters to vary; default: every design parameter not in ``fixed``.
    fixed : values of parameters held fixed (others not varied keep their defaults).
    bounds : name -> (lower, upper) narrower than the parameter's range; default: its range.

    Raises
    ------
    ParameterError
        Unknown names, a discretization parameter in ``vary``, a parameter both varied and fixed,
        or bounds outside the parameter's range.
    """
    spec = study.spec
    known = [p.name for p in spec.parameters]
    design = design_parameters(study)
    fixed = dict(fixed or {})
    bounds = dict(bounds or {})
    for label, names in (("--set/fixed", fixed), ("bounds", bounds)):
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(unknown)} in {label}; "
                f"{spec.id} has: {', '.join(known)}."
            )
    if vary is None:
        names = [n for n in design if n not in fixed]
    else:
        names = list(dict.fromkeys(vary))
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise ParameterError(
                f"Cannot vary unknown parameter(s) {', '.join(unknown)}; "
                f"{spec.id} has: {', '.join(design)}."
            )
        numeric = [n for n in names if n not in design]
        if numeric:
            raise ParameterError(
                f"{', '.join(numeric)} is a discretization setting, not a design parameter: "
                "it cannot be varied (set it with --set instead)."
            )
        both = [n for n in names if n in fixed]
        if both:
            raise ParameterError(
                f"{', '.join(both)} is both varied and fixed; drop it from --vary or from --set."
            )
    if not names:
        raise ParameterError("No parameter left to vary: choose at least one with --vary.")
    stray = sorted(set(bounds) - set(names))
    if stray:
        raise ParameterError(f"Bounds given for {', '.join(stray)}, which is not varied.")
    rows = []
    for n in names:
        p = spec.parameter(n)
        lo, hi = bounds.get(n, (p.lower, p.upper))
        lo, hi = float(lo), float(hi)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ParameterError(f"Bounds of {n} must be two finite numbers, lower < upper.")
        if lo < p.lower or hi > p.upper:
            raise ParameterError(
                f"Bounds [{lo:g}, {hi:g}] of {n} leave its range [{p.lower:g}, {p.upper:g}] "
                f"{p.unit}."
            )
        rows.append((lo, hi))
    values = spec.validate(fixed)  # checks the fixed values' ranges, fills defaults
    rest = {k: v for k, v in values.items() if k not in names}
    return Design(tuple(names), np.array(rows, dtype=np.float64).reshape(-1, 2), rest)


def _unit_sample(p: int, n: int, method: str, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if method == "lhs":
        return qmc.LatinHypercube(d=p, seed=seed).random(n)
    with warnings.catch_warnings():  # n need not be a power of 2 for a training set
        warnings.simplefilter("ignore", UserWarning)
        return qmc.Sobol(d=p, scramble=True, seed=seed).random(n)


def check_method(method: str) -> None:
    if method not in METHODS:
        raise ParameterError(f"Unknown sampler '{method}'; use one of {', '.join(METHODS)}.")


def sample(bounds: np.ndarray, n: int, method: str = "lhs", seed: int = 0) -> np.ndarray:
    """``n`` points in the box ``bounds`` (p, 2): Latin hypercube or scrambled Sobol.

    Returns an (n, p) float64 array; the same seed gives the same points.
    """
    check_method(method)
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    if n < 1:
        raise ParameterError(f"The number of samples must be at least 1 (got {n}).")
    if not np.all(bounds[:, 0] < bounds[:, 1]):
        raise ParameterError("Every lower bound must be below its upper bound.")
    u = _unit_sample(len(bounds), int(n), method, seed)
    return bounds[:, 0] + u * (bounds[:, 1] - bounds[:, 0])


def integer_mask(study: Study, names: Iterable[str]) -> np.ndarray:
    """(p,) True for the whole-number parameters (``ParameterSpec.integer``) among ``names``."""
    return np.array([bool(getattr(study.spec.parameter(n), "integer", False)) for n in names],
                    dtype=bool)


def snap_integers(rows: np.ndarray, bounds: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Map the columns of ``rows`` where ``mask`` is True to whole numbers in their bounds, each
    with the same chance (the column's unit interval is cut into one bin per whole number, so an
    LHS keeps its strata)."""
    rows = np.array(rows, dtype=np.float64, copy=True)
    if mask is None or not np.any(mask):
        return rows
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)
    for k in np.flatnonzero(mask):
        lo, hi = bounds[k]
        a, b = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
        if b < a:
            raise ParameterError(f"The bounds [{lo:g}, {hi:g}] of a whole-number parameter "
                                 "hold no whole number.")
        u = (rows[:, k] - lo) / (hi - lo)
        rows[:, k] = a + np.minimum(np.floor(u * (b - a + 1)), b - a)
    return rows


def sample_feasible(
    bounds: np.ndarray,
    n: int,
    method: str,
    seed: int,
    accept: Callable[[np.ndarray], bool],
    max_factor: int = 20,
    integers: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """Like :func:`sample`, but every row passes ``accept`` (e.g. the study's cross-checks).

    Sobol keeps the first ``n`` acceptable points of one longer sequence; LHS replaces rejected
    rows by acceptable rows of further hypercubes. Returns the rows and how many were rejected;
    raises ParameterError when fewer than ``n`` of ``max_factor * n`` candidates are acceptable.
    ``integers`` (p,) marks whole-number columns (:func:`snap_integers`).
    """
    check_method(method)
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 2)

    def draw(count: int, how: str, sd: int) -> np.ndarray:
        return snap_integers(sample(bounds, count, how, sd), bounds, integers)

    if method == "sobol":
        cand = draw(max_factor * n, "sobol", seed)
        keep: list[int] = []
        for i, row in enumerate(cand):
            if accept(row):
                keep.append(i)
                if len(keep) == n:
                    return cand[keep], i + 1 - n
        raise _infeasible(n, len(cand), len(keep))
    rows = draw(n, "lhs", seed)
    ok = np.array([accept(r) for r in rows], dtype=bool)
    rejected, tried, k = int((~ok).sum()), n, 1
    while not ok.all():
        if tried >= max_factor * n:
            raise _infeasible(n, tried, int(ok.sum()))
        extra = draw(n, "lhs", seed + 1000 * k)
        tried, k = tried + n, k + 1
        good = [r for r in extra if accept(r)]
        bad = np.flatnonzero(~ok)[: len(good)]
        rows[bad] = good[: len(bad)]
        ok[bad] = True
    return rows, rejected


def _infeasible(n: int, tried: int, good: int) -> ParameterError:
    return ParameterError(
        f"Only {good} of {tried} candidate points satisfy the study's geometric constraints, "
        f"fewer than the {n} samples asked for: narrow the bounds (e.g. keep the hole small "
        "relative to the plate)."
    )


def feasibility(study: Study, design: Design) -> Callable[[np.ndarray], bool]:
    """A predicate: does the study accept this design row (ranges and cross-parameter checks)?"""

    def accept(row: np.ndarray) -> bool:
        try:
            study.check(design.values(row))
        except (ParameterError, GeometryError):
            return False
        return True

    return accept


def split(n: int, test_fraction: float = 0.2, seed: int = 0) -> np.ndarray:
    """Random hold-out: a boolean (n,) array, True for test samples.

    ``round(test_fraction * n)`` samples (at least one) are held out and at least two stay for
    training; otherwise ParameterError.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ParameterError(f"The test fraction must be between 0 and 1 (got {test_fraction:g}).")
    n_test = max(1, int(round(test_fraction * n)))
    if n - n_test < 2:
        raise ParameterError(
            f"{n} samples are too few for a train/test split with test fraction "
            f"{test_fraction:g}: at least 1 test and 2 training samples are needed."
        )
    is_test = np.zeros(n, dtype=bool)
    is_test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return is_test

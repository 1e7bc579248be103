"""Picklable entry points the job runner sends to worker processes."""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.results import FieldResult


def solve_study(
    study_id: str,
    params: Mapping[str, float],
    order: int = 2,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> FieldResult:
    """Solve a registered study with the reference solver (runs in the worker process)."""
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study(study_id)
    return ReferenceSolver(order=order).solve(study, params, progress=progress, cancel=cancel)

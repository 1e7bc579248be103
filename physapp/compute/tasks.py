"""Picklable entry points the job runner sends to worker processes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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


@dataclass(frozen=True)
class HistoryRef:
    """What a transient solve job sends back: the history file (in the job's temp folder) that
    the steps were streamed to; the GUI reads it lazily (``io.history.read_history``)."""

    path: str
    n_steps: int
    complete: bool


def solve_study_history(
    study_id: str,
    params: Mapping[str, float],
    order: int,
    path: str,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> HistoryRef:
    """Solve a transient study, streaming every step to ``path`` (HDF5, flushed per step: a job
    cancelled by terminating its process leaves the steps it finished there)."""
    history = _streamed("solve_history", study_id, params, order, path, progress, cancel)
    return HistoryRef(str(path), history.n_steps, history.complete)


def _streamed(method: str, study_id: str, params: Mapping[str, float], order: int, path: str,
              progress: ProgressFn, cancel: CancelToken):
    """``ReferenceSolver(order).<method>(study, params, sink=...)`` with its steps streamed to
    an HDF5 history file at ``path`` (closed whatever happens)."""
    from physapp.io.history import HistoryWriter
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study(study_id)
    writer = HistoryWriter(path)
    try:
        return getattr(ReferenceSolver(order=order), method)(study, params, sink=writer,
                                                             progress=progress, cancel=cancel)
    finally:
        writer.close()


def is_load_stepped(study) -> bool:
    """True for a study solved along a load path (large deformation: the bottle), whose steps
    a GUI solve streams to a file (:func:`solve_study_stepped`)."""
    from physapp.core.nonlinear import HyperelasticSetup

    try:
        return isinstance(study.setup(study.spec.defaults()), HyperelasticSetup)
    except Exception:  # noqa: BLE001 - an incomplete set-up is not known to be stepped
        return False


def solve_study_stepped(
    study_id: str,
    params: Mapping[str, float],
    order: int,
    path: str,
    *,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> FieldResult:
    """Solve a load-stepped study (the result, with ``meta["history"]``, as :func:`solve_study`)
    streaming every converged step to ``path`` as it comes (HDF5, flushed per step): a job
    cancelled or killed mid-path leaves the steps it finished there (#22)."""
    return _streamed("solve", study_id, params, order, path, progress, cancel)

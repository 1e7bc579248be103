"""Transient solves in the app (#18): the job streams its steps to an HDF5 file in a temporary
folder of the window, the result is read back lazily and played. A load-stepped solve (the
bottle, #22) streams its steps the same way but returns its result as a steady solve does (with
``meta["history"]``); its file is what a cancelled or failed solve leaves on screen.

Helpers of :class:`~physapp.gui.solve_controller.SolveController` (kept here so that file stays
small): :func:`job_for` turns a study solve into a history job when the study has a time axis;
:func:`read` opens the file (the final state becomes the window's result); :func:`show` hands
the history to the player (or clears it for a steady result); :func:`keep_cancelled` shows the
steps a cancelled job finished (Cancel terminates the job's process; the file keeps every step
flushed before); :func:`live` shows the newest step while the job runs (the playback follows
it); :func:`cleanup` removes the folder when the window closes.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

from physapp.compute.tasks import (
    HistoryRef,
    is_load_stepped,
    solve_study_history,
    solve_study_stepped,
)
from physapp.core.errors import PhysappError
from physapp.core.history import FieldHistory
from physapp.core.results import FieldResult
from physapp.core.transient import time_axis
from physapp.gui.playback import step_text

_COUNTER = itertools.count(1)
#: while a transient solve runs, its newest step is shown at most this often (seconds)
LIVE_INTERVAL_S = 1.0


def _folder(ctrl) -> Path:
    folder = getattr(ctrl, "_history_folder", None)
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix="physapp-history-"))
        ctrl._history_folder = folder
    return folder


def job_for(ctrl, study, job: tuple) -> tuple:
    """``job`` unchanged for a steady study; for a transient one the history job and its file;
    for a load-stepped one (the bottle, #22) a job that returns its result as before and
    streams its steps to a file too (kept when the solve is cancelled or dies)."""
    ctrl._history_path = None
    ctrl._live_n, ctrl._live_t = 0, time.monotonic()  # the first live step after a second
    stepped = time_axis(study) is None and is_load_stepped(study)
    if time_axis(study) is None and not stepped:
        return job
    _, study_id, params, order = job
    path = _folder(ctrl) / f"history-{next(_COUNTER)}.h5"
    ctrl._history_path = str(path)
    return (solve_study_stepped if stepped else solve_study_history, study_id, params, order,
            str(path))


def _release(ctrl, path: str) -> None:
    """Close the file handle of the live history of ``path`` on screen: HDF5 shares one file
    object per process, so a handle left open would show the next read its stale steps."""
    playback = getattr(ctrl.window, "playback", None)
    history = getattr(playback, "history", None)
    if history is None:
        return
    from physapp.io.history import H5Frames

    for values in history.point_data.values():
        if isinstance(values, H5Frames) and str(values._file.path) == str(path):
            values._file.close()
            return


def read(ctrl, path: str) -> tuple[FieldHistory, FieldResult]:
    """The history in ``path`` (lazy) and its last step as the result (with key quantities from
    the curves when the solve did not get to write them)."""
    from physapp.io.history import read_history

    _release(ctrl, path)
    history = read_history(path)
    result = history.frame(-1)
    if "key_quantities" not in result.meta:  # cut short: the curves' last values
        meta = dict(result.meta)
        meta["key_quantities"] = {k: float(v[-1]) for k, v in history.curves.items()}
        meta["key_units"] = dict(history.curve_units)
        result = FieldResult(result.mesh, dict(result.point_data), result.source, meta,
                             dict(result.units))
    return history, result


def live(ctrl) -> None:
    """While a transient solve runs (called on its progress events): show its newest step, at
    most every :data:`LIVE_INTERVAL_S` (the file is read while its writer lives; the grid is
    built for the first step, then the playback writes each newest step in place)."""
    path = getattr(ctrl, "_history_path", None)
    now = time.monotonic()
    if not path or now - getattr(ctrl, "_live_t", 0.0) < LIVE_INTERVAL_S:
        return
    solve = getattr(getattr(ctrl, "app", None), "solve", None)
    if solve is not None and not solve.busy:  # a late progress event: the result is shown
        return
    ctrl._live_t = now
    playback = getattr(ctrl.window, "playback", None)
    if playback is None or not Path(path).is_file():
        return
    try:
        from physapp.io.history import read_history

        _release(ctrl, path)
        history = read_history(path)
    except (PhysappError, OSError, KeyError, ValueError):  # not started yet / being created
        return
    n = history.n_steps
    if n == 0 or n == getattr(ctrl, "_live_n", 0):
        if getattr(ctrl, "_live_n", 0):  # the same steps: keep showing them
            playback.set_history(history, playback.model.step)
        return
    try:  # the writer may extend the file while it is read: try again at the next look
        newest = history.frame(n - 1)
    except OSError:
        return
    w = ctrl.window
    if not getattr(ctrl, "_live_n", 0):  # the first step: the history's mesh on screen
        w.viewport.show_result(newest, w.field)
    ctrl._live_n = n
    playback.set_history(history)  # the newest step, written in place


def show(ctrl, history: FieldHistory | None) -> None:
    """Play ``history`` (None: a steady result, no time slider). Files of replaced histories
    stay until the window closes (a history's frames are read from its open file)."""
    playback = getattr(ctrl.window, "playback", None)
    if playback is None:
        return
    if history is None:
        playback.clear()
    else:
        playback.set_history(history)


def keep_cancelled(ctrl, job_id: int, failure: str | None = None) -> bool:
    """After a cancel (or a failure, ``failure`` its message): show the steps the job finished,
    if any (True), else nothing (False)."""
    path = getattr(ctrl, "_history_path", None)
    if not path or not Path(path).is_file():
        return False
    try:
        from physapp.io.history import read_history

        _release(ctrl, path)
        n = read_history(path).n_steps
    except PhysappError:
        return False
    if n == 0 or (failure is not None and n < 2):  # a failure before a step: its message only
        return False
    ctrl._on_solved(job_id, HistoryRef(path, n, False))
    history = ctrl.window.playback.history
    if history is not None:
        where = step_text(history, float(history.times[-1]))
        if failure is not None:
            ctrl.window.show_message(
                f"The solve stopped at {where}: {failure} The {history.n_steps} steps done are "
                "shown.", "error", "solve")
        else:
            ctrl.window.show_message(
                f"Solve cancelled at {where}: the {history.n_steps} steps done are shown; "
                "press F5 to solve again.", "info", "solve")
    return True


def cleanup(ctrl) -> None:
    folder = getattr(ctrl, "_history_folder", None)
    if folder is not None:
        if getattr(ctrl.window, "playback", None) is not None:
            ctrl.window.playback.clear()
        shutil.rmtree(folder, ignore_errors=True)
        ctrl._history_folder = None

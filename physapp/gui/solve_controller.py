"""Reference solves of one window: Run > Solve (F5) / Cancel (Esc), the job runner's events,
and the result put on screen.

:class:`SolveController` takes the :class:`~physapp.app.AppModel` and the window's services
(:class:`~physapp.gui.services.WindowServices`): the job's state goes into ``app.solve`` (the
solve box and the actions follow it), the result into the viewport, split view and labels. A job
runs in the runner's child process; only its events come back here, on the GUI thread.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from physapp.app import AppModel
from physapp.compute.tasks import HistoryRef, solve_study
from physapp.core.history import FieldHistory
from physapp.core.results import FieldResult
from physapp.gui import history_jobs

if TYPE_CHECKING:  # pragma: no cover
    from physapp.gui.services import WindowServices


class SolveController(QObject):
    """Starts, cancels and applies reference solves (see the module docstring)."""

    def __init__(self, app: AppModel, window: WindowServices, runner, *, owns_runner: bool):
        super().__init__(window)  # type: ignore[arg-type]
        self.app, self.window, self.runner = app, window, runner
        self.owns_runner = owns_runner
        self.result: FieldResult | None = None  # the latest solve on screen (or cached)
        self._slots = ((runner.progress, self._on_progress), (runner.finished, self._on_solved),
                       (runner.failed, self._on_failed), (runner.cancelled, self._on_cancelled))
        for signal, slot in self._slots:
            signal.connect(slot)

    # -- actions --------------------------------------------------------------------------------
    def solve(self) -> None:
        """Start a reference solve of the current design (cancels one that is running)."""
        w = self.window
        if w.closing:  # e.g. the deferred start-up solve of a window closed at once
            return
        design = self.app.design
        params = design.params
        if w.parts.active:  # an imported part is not in the registry: it goes whole
            job = w.parts.solve_job(params, w.settings.element_order)
            if job is None:  # not set up yet: the Part set-up panel says why
                return
        else:
            job = (solve_study, design.study_id, params, w.settings.element_order)
            job = history_jobs.job_for(self, design.study, job)  # transient: streamed to a file
        job_id = self.runner.submit(*job)
        self.app.solve.start(job_id, design.version, params)
        w.statusBar().showMessage("Solving \u2026 (Esc to cancel)")
        w.message_bar.clear("solve")

    def cancel(self) -> None:
        if self.runner.busy:
            self.runner.cancel()

    def drop_job(self) -> None:
        """Forget the running job (its events are then ignored) and stop it."""
        if self.app.solve.job:
            self.app.solve.finish("idle")
            if self.runner.busy:
                self.runner.cancel()

    def shutdown(self) -> None:
        """The window closes: an owned runner stops, a shared one loses our job and slots."""
        if self.owns_runner:  # stopped off the GUI thread: closing is immediate (#13)
            self.runner.shutdown(wait=False)
        else:
            if self.app.solve.job:
                self.runner.cancel()
            for signal, slot in self._slots:
                signal.disconnect(slot)
        if self.app.solve.job:
            self.app.solve.finish("cancelled")
        history_jobs.cleanup(self)  # after the job's process is gone

    # -- runner events --------------------------------------------------------------------------
    def _ours(self, job_id: int) -> bool:
        return bool(self.app.solve.job) and job_id == self.app.solve.job

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if self._ours(job_id):
            self.app.solve.message = message
            self.app.solve.progress = fraction
            history_jobs.live(self)  # a transient solve: its newest step on screen

    def _on_solved(self, job_id: int, result: FieldResult | HistoryRef) -> None:
        if not self._ours(job_id):
            return
        history = None
        if isinstance(result, HistoryRef):  # a transient solve: its final state, then playback
            history, result = history_jobs.read(self, result.path)
        elif isinstance(result.meta.get("history"), FieldHistory):
            history = result.meta["history"]  # a load-stepped solve (the bottle): its steps play
        w, solve, design = self.window, self.app.solve, self.app.design
        version, params = solve.job_version, solve.job_params
        if design.geometry(params) != design.geometry():
            solve.finish("done")
            solve.count += 1
            w.show_message("A solve finished for a geometry that has changed since; press F5 "
                           "to solve the current design.", "warning", "solve")
            return
        result = w.safety.derive(result)  # the safety factor of elasticity results (#13)
        self.result = result
        solve.solved_params = params
        solve.finish("done", "done")
        w.note_shown_version(version)
        w.surrogates.reference_shown(result, params)
        w.viewport.show_result(result, w.field)
        w.compare.reference_changed()  # split view: new reference and difference
        w.message_bar.clear("geometry")
        meta = result.meta
        dofs, seconds = meta.get("n_dofs", 0), meta.get("t_total", 0.0)
        w.info_label.setText(f"Reference solver: {dofs:,} DOFs, solved in {seconds:.2f} s")
        w.show_key_quantities(result)
        w.statusBar().showMessage(f"Solve finished: {dofs:,} DOFs in {seconds:.2f} s", 8000)
        history_jobs.show(self, history)  # the time slider (or none for a steady result)
        w.update_state()
        solve.count += 1  # last: subscribers see the result on screen

    def _on_failed(self, job_id: int, message: str, user_error: bool) -> None:
        if not self._ours(job_id):
            return
        if user_error and history_jobs.keep_cancelled(self, job_id, message):
            return  # the steps a streamed solve finished are shown, with why it stopped
        self.app.solve.finish("failed", message)
        if not user_error:
            print(message, file=sys.stderr)  # full traceback for the bug report
            message = "The solver failed unexpectedly: " + message.splitlines()[0]
        self.window.show_message(message, "error", "solve")
        self.window.update_state()

    def _on_cancelled(self, job_id: int, message: str) -> None:
        if not self._ours(job_id):
            return
        if history_jobs.keep_cancelled(self, job_id):  # the steps a transient solve finished
            return
        self.app.solve.finish("cancelled", message)
        self.window.show_message("Solve cancelled. The shown result is unchanged; press F5 to "
                                 "solve again.", "info", "solve")
        self.window.update_state()

"""A Qt face for :class:`~physapp.compute.jobs.ProcessJobRunner`.

The runner itself is Qt-free and is polled; this QObject polls it from a QTimer on the GUI thread
and turns its events into signals, so every slot that touches widgets or VTK runs on the GUI
thread (see ARCHITECTURE.md, rule 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from physapp.compute.jobs import JobEvent, ProcessJobRunner

#: modules the worker imports before its first job, so the first solve is not slowed by imports
SOLVER_PRELOAD = ("physapp.compute.tasks", "physapp.solvers.reference", "physapp.studies", "gmsh")


class QtJobRunner(QObject):
    """Run one job at a time in a killable child process and report through signals.

    Signals carry the job id so a receiver can ignore a job it no longer cares about.
    """

    started = Signal(int)  # job id
    progress = Signal(int, float, str)  # job id, fraction 0..1, message
    finished = Signal(int, object)  # job id, result
    failed = Signal(int, str, bool)  # job id, message, user_error (False = a bug)
    cancelled = Signal(int, str)  # job id, message

    def __init__(
        self,
        preload: tuple[str, ...] = SOLVER_PRELOAD,
        poll_ms: int = 30,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = ProcessJobRunner(preload=preload)
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._runner.busy

    @property
    def running_job(self) -> int | None:
        return self._runner.running_job

    def warm_up(self) -> None:
        """Start the worker process now so the first solve does not pay for interpreter start."""
        if not self._closed:
            self._runner.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> int:
        """Submit ``fn(*args)``; a job that is still running is cancelled first (latest wins)."""
        if self._closed:
            raise RuntimeError("the job runner has been shut down")
        if self._runner.busy:
            self.cancel()
        job_id = self._runner.submit(fn, *args)
        self._timer.start()
        self.started.emit(job_id)
        return job_id

    def cancel(self) -> None:
        """Stop the running job at once (the worker process is terminated and restarted later)."""
        self._runner.cancel()
        self._poll()  # deliver the 'cancelled' event now, not one timer tick later

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the timer and the worker process; safe to call twice and while a job runs.
        ``wait=False``: the process is stopped on a background thread (a closing window)."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        self._runner.shutdown(wait=wait)

    def _poll(self) -> None:
        for event in self._runner.poll():
            self._emit(event)
        if not self._runner.busy:
            self._timer.stop()  # nothing to wait for: do not wake the GUI thread every 30 ms

    def _emit(self, event: JobEvent) -> None:
        if event.kind == "progress":
            self.progress.emit(event.job_id, event.fraction, event.message)
        elif event.kind == "done":
            self.finished.emit(event.job_id, event.result)
        elif event.kind == "error":
            self.failed.emit(event.job_id, event.message, event.user_error)
        elif event.kind == "cancelled":
            self.cancelled.emit(event.job_id, event.message)

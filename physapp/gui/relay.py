"""The one thread-to-GUI relay: a worker thread calls :meth:`send_result` / :meth:`send_error`;
the queued Qt signals ``result`` / ``error`` deliver them on the GUI thread.

After :attr:`closed` is set (the owner is going away) nothing more is delivered; a C++ object
already deleted by Qt is ignored quietly (an exception on the worker thread would only surface as
an unhandled-thread warning).
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class ThreadRelay(QObject):
    """Worker-thread ``(id, payload)`` results and ``(id, message)`` errors to the GUI thread."""

    result = Signal(int, object)
    error = Signal(int, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.closed = False

    def send_result(self, job_id: int, payload: object) -> None:
        try:
            if not self.closed:
                self.result.emit(job_id, payload)
        except RuntimeError:  # the C++ object is gone
            pass

    def send_error(self, job_id: int, message: str) -> None:
        try:
            if not self.closed:
                self.error.emit(job_id, message)
        except RuntimeError:
            pass

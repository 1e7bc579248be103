"""The progress of one background job of a controller (export, data set import): a non-modal
progress dialog with Cancel, and the one-line message of a job that failed."""

from __future__ import annotations

import sys
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget


class JobProgressDialog(QProgressDialog):
    """Non-modal, shown at once, kept (not auto-closed) between jobs; Cancel calls ``cancel``."""

    def __init__(self, title: str, cancel: Callable[[], None], parent: QWidget) -> None:
        super().__init__("", "Cancel", 0, 100, parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setMinimumDuration(0)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.canceled.connect(cancel)

    def start(self, text: str) -> None:
        self.setLabelText(text)
        self.setValue(0)
        self.show()

    def step(self, fraction: float, message: str) -> None:
        self.setLabelText(message)
        self.setValue(int(100 * fraction))

    def finish(self) -> None:
        """Hidden without emitting ``canceled`` (a reset would)."""
        self.blockSignals(True)
        self.reset()
        self.hide()
        self.blockSignals(False)


def failure_text(message: str, user_error: bool, what: str) -> str:
    """The message of a failed job: the job's own words for a user error; for a bug the first
    line (the traceback goes to stderr), e.g. "The export failed unexpectedly: ..."."""
    if user_error:
        return message
    print(message, file=sys.stderr)
    return f"The {what} failed unexpectedly: " + message.splitlines()[0]

"""Parts every input dialog has: the red line that says why an input is refused, and the OK /
Cancel buttons (OK runs the dialog's own check before it accepts)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel

ERROR_STYLE = "color: #b00;"


def error_label(text: str = "") -> QLabel:
    """A red, wrapping label for an input that is refused (empty while all is well)."""
    label = QLabel(text)
    label.setStyleSheet(ERROR_STYLE)
    label.setWordWrap(True)
    return label


def ok_cancel(dialog: QDialog, accept: Callable[[], None], ok_text: str = "") -> QDialogButtonBox:
    """OK (named ``ok_text``) calls ``accept`` (which checks, then ``dialog.accept()``); Cancel
    rejects the dialog."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                               | QDialogButtonBox.StandardButton.Cancel)
    if ok_text:
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(accept)
    buttons.rejected.connect(dialog.reject)
    return buttons

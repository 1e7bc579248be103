"""A non-modal message strip above the viewport (errors never block the app behind a dialog)."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "error": "background: #fde2e1; border: 1px solid #d9534f; color: #7a1c1a;",
    "warning": "background: #fff4d6; border: 1px solid #e0a800; color: #5c4600;",
    "info": "background: #e3f0fb; border: 1px solid #5b9bd5; color: #1d3f5e;",
}
# words, not emoji: many Linux fonts have no glyph for the warning/stop signs
_PREFIX = {"error": "Error: ", "warning": "Warning: ", "info": ""}


class MessageBar(QFrame):
    """Shows one message at a time with a level (error / warning / info) and a close button."""

    #: the message with this tag went (its echo in the status bar goes with it, #13)
    cleared = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = ""
        self._text = ""
        self.tag = ""  # who posted it, so that a later success can clear only its own message
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("\u2715")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(lambda: self.clear())
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def text(self) -> str:
        """The message shown ('' when hidden)."""
        return self._text if self.level else ""

    def show_message(self, text: str, level: str = "error", tag: str = "") -> None:
        self.level, self.tag, self._text = level, tag, text
        self.label.setText(f"<b>{_PREFIX.get(level, '')}</b>{escape(text)}")
        self.setStyleSheet(f"MessageBar {{{_STYLES.get(level, _STYLES['info'])}}}")
        self.show()

    def clear(self, tag: str | None = None) -> None:
        """Hide the message; with ``tag`` only if that tag posted it."""
        if tag is not None and tag != self.tag:
            return
        had = self.tag if self.level else None
        self.level = self.tag = self._text = ""
        self.label.clear()
        self.hide()
        if had is not None:
            self.cleared.emit(had)

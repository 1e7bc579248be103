"""The main window's status bar: the compute device, the last solve's summary and whether the
field on screen matches the sliders (also as the viewport's overlay), plus messages that fit (cut
at a word, never mid-word behind the permanent labels, #13) and go when their message does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from physapp.gui.viewport import STALE_TEXT

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices


class WindowStatus:
    """The status bar of ``window`` (its labels are ``window.state_label``, ``info_label`` and
    ``device_label``)."""

    def __init__(self, window: WindowServices) -> None:
        self.window = window
        self._echo: str | None = None  # the status bar's copy of the message bar's message
        self.state_label = QLabel()
        self.info_label = QLabel("No result yet")
        self.device_label = QLabel()
        self.device_label.setToolTip("Compute device for surrogates (File > Settings..., Ctrl+,)")
        # a divider: the permanent labels would otherwise run into each other
        self.device_label.setStyleSheet("padding: 0 10px; border-right: 1px solid #b4b4b4;")
        bar = window.statusBar()
        for label in (self.device_label, self.info_label, self.state_label):
            bar.addPermanentWidget(label)

    def show_device(self) -> None:
        self.device_label.setText(f"Device: {self.window.settings.device_label}")

    def show(self, text: str, timeout_ms: int = 8000) -> None:
        """A status bar message that fits: shortened at a word with an ellipsis, not cut
        mid-word behind the permanent labels (#13)."""
        bar = self.window.statusBar()
        room = bar.width() - sum(w.sizeHint().width() for w in (
            self.device_label, self.info_label, self.state_label)) - 40
        fm = bar.fontMetrics()
        if room > 50 and fm.horizontalAdvance(text) > room:
            cut = fm.elidedText(text, Qt.TextElideMode.ElideRight, room - fm.horizontalAdvance(
                "…"))
            head = cut.rstrip("…")
            if " " in head:
                head = head[: head.rfind(" ")]
            text = head.rstrip(" ,;:-") + "…"
        bar.showMessage(text, timeout_ms)

    def on_message(self, text: str, level: str, tag: str) -> None:
        """A message of the model: above the viewport and echoed here."""
        self.window.message_bar.show_message(text, level, tag)
        self.show(text.splitlines()[0], 10000)
        self._echo = self.window.statusBar().currentMessage()

    def on_message_cleared(self, _tag: str) -> None:
        """The message bar's message went: its echo in the status bar goes too (it said
        'out of range' after the sliders were back in range, #13)."""
        if self._echo == self.window.statusBar().currentMessage():
            self.window.statusBar().clearMessage()

    def update_state(self) -> None:
        """Status label and viewport overlay say whether the field matches the sliders."""
        w = self.window
        w.compare.state_changed()  # split view: out-of-date marks, solving, surrogate
        surrogate = w.surrogates.state_text(w.is_stale)
        if surrogate:  # a surrogate frame is (or is about to be) on screen: no stale overlay
            self.state_label.setText(surrogate)
            w.results_label.setEnabled(not w.is_stale or w.app.source.key_quantities is not None)
            return
        if w.app.solve.solved_params is None:
            text = "<b style='color:#b36b00'>No result yet</b>"
        elif w.is_stale:
            text = "<b style='color:#b00'>Result out of date</b> (F5 to solve)"
            if w.viewport.has_field:
                w.viewport.set_overlay(STALE_TEXT)
        else:
            text = "<b style='color:#080'>Result up to date</b>"
            w.viewport.set_overlay("")
        self.state_label.setText(text)
        # the key quantities belong to the last solve: grey them when they no longer match
        w.results_label.setEnabled(not w.is_stale)

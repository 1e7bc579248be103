"""Closing the main window or switching its study: an imported part's set-up that is not saved in a
session is not lost without asking (Save / Discard / Cancel, #13), and then every controller stops
its background work before VTK goes away, without keeping the GUI thread waiting (#13: closing
took ~1.9 s)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from physapp.app import AppModel
    from physapp.gui.services import WindowServices

#: "0": never ask (tests close windows with set-ups they made)
ASK_ENV = "PHYSAPP_ASK_TO_SAVE"


class CloseGuard:
    """``window.close_guard``: :meth:`may_close` (from ``closeEvent``), :meth:`ask_then` (before
    a study switch) and :meth:`shut_down`. It reads ``app.part`` and ``app.session``; the
    services save the session, close the window and stop the controllers."""

    def __init__(self, app: AppModel, services: WindowServices) -> None:
        self.app, self.window = app, services
        self.box: QMessageBox | None = None  # the question, while it is open
        self._then: Callable[[], None] | None = None  # what the answer Save or Discard does
        self._confirmed = False  # the user answered Save (and it was saved) or Discard

    def unsaved_setup(self) -> bool:
        """An imported part with supports, loads or made regions that no session file holds."""
        state = self.app.part.state
        if not state or not self.app.session.dirty:
            return False
        setup = state.get("setup") or {}
        return bool(setup.get("supports") or setup.get("loads") or state.get("picked_regions")
                    or state.get("selector_regions"))

    def may_close(self) -> bool:
        """True when the window may close now; else the question is shown (window-modal, not
        blocking) and its answer closes the window again."""
        if self._confirmed or not self._must_ask():
            return True
        self._ask(self._close, "Save it as a session before closing?")
        return False

    def ask_then(self, action: Callable[[], None], question: str) -> bool:
        """Run ``action`` now when there is no unsaved set-up (True); else ask ``question``
        (Save / Discard / Cancel, window-modal, not blocking) and return False: Save (once
        saved) or Discard runs it, Cancel keeps everything as it is."""
        if not self._must_ask():
            action()
            return True
        self._ask(action, question)
        return False

    def _must_ask(self) -> bool:
        return os.environ.get(ASK_ENV) != "0" and self.unsaved_setup()

    def _ask(self, action: Callable[[], None], question: str) -> None:
        self._then = action
        if self.box is None:
            box = QMessageBox(QMessageBox.Icon.Question, "Save the part set-up?",
                              "The part's set-up (supports, loads, regions, sliders) is not "
                              "saved in a session file.", parent=self.window)
            box.setStandardButtons(QMessageBox.StandardButton.Save
                                   | QMessageBox.StandardButton.Discard
                                   | QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(QMessageBox.StandardButton.Save)
            box.buttonClicked.connect(lambda b: self._answered(box.standardButton(b)))
            self.box = box
            box.open()
        self.box.setInformativeText(question)

    def _answered(self, button: QMessageBox.StandardButton) -> None:
        box, self.box = self.box, None
        if box is not None:
            box.deleteLater()
        then, self._then = self._then, None
        if button == QMessageBox.StandardButton.Save:
            if self.window.sessions.save() is None:  # cancelled or failed: nothing changes
                return
        elif button != QMessageBox.StandardButton.Discard:
            return  # Cancel: the window, its study and its set-up stay
        if then is not None:
            then()

    def _close(self) -> None:
        self._confirmed = True
        self.window.close()

    def shut_down(self) -> None:
        """Stop the child process and the preview thread before VTK goes away."""
        w = self.window
        w.save_geometry()
        w.solves.shutdown()  # an owned runner stops; a shared one loses our job
        w.app.messages.disconnect(w.status.on_message)
        w.previews.close()
        for controller in (w.parts, w.surrogates, w.sessions, w.exports, w.dataset_import,
                           w.compare, w.view_tools, w.history_predictions, w.playback,
                           w.camera_fit):
            controller.shutdown()  # sessions: a clean exit, the autosave goes
        w.viewport.close_viewport()

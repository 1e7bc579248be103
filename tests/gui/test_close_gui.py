"""Closing the window with an unsaved part set-up asks Save / Discard / Cancel (#13)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from physapp.gui.main_window import MainWindow
from physapp.studies import get_study


def _unsaved_setup(win: MainWindow) -> None:
    win.app.part.state = {"file": "part.msh", "setup": {"supports": [{"region": "x0"}],
                                                        "loads": []}}
    win.app.session.dirty = True


def test_close_asks_to_save_an_unsaved_setup(qtbot, shared_runner, monkeypatch, tmp_path):
    monkeypatch.delenv("PHYSAPP_ASK_TO_SAVE", raising=False)
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert not win.close_guard.unsaved_setup()  # a built-in study: nothing to ask

    _unsaved_setup(win)
    assert not win.close()  # asked, not closed
    box = win.close_guard.box
    assert box is not None and win.isVisible() and not win.closing
    box.button(QMessageBox.StandardButton.Cancel).click()  # Cancel: the window stays
    assert win.isVisible() and not win.closing and win.close_guard.box is None

    saved = []
    monkeypatch.setattr(win.sessions, "save", lambda: saved.append(1) or None)
    win.close()
    win.close_guard.box.button(QMessageBox.StandardButton.Save).click()
    assert saved and win.isVisible()  # the save dialog was cancelled: still open

    monkeypatch.setattr(win.sessions, "save", lambda: Path(tmp_path / "s.physapp"))
    win.close()
    win.close_guard.box.button(QMessageBox.StandardButton.Save).click()
    assert win.closing and not win.isVisible()


def test_discard_closes_and_a_saved_session_does_not_ask(qtbot, shared_runner, monkeypatch):
    monkeypatch.delenv("PHYSAPP_ASK_TO_SAVE", raising=False)
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.show()
    _unsaved_setup(win)
    win.app.session.dirty = False  # in a session file already
    assert not win.close_guard.unsaved_setup()
    win.app.session.dirty = True
    win.close()
    win.close_guard.box.button(QMessageBox.StandardButton.Discard).click()
    assert win.closing and not win.isVisible()


def test_close_stops_timers_and_releases_vtk_on_this_thread(fresh_window, qtbot):
    """A native crash after a window's tests (#14): nothing of a closed window may fire later.
    Closing stops every timer of the window, removes the refit's event filter and the VTK
    observers that call back into Python, and finalizes every render window (the main view and
    the split view's three panes) here, on the GUI thread."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QResizeEvent
    from PySide6.QtWidgets import QStatusBar

    window = fresh_window
    window.compare.set_split(True)
    panes = window.compare.panes
    assert len(panes) == 3
    camera = panes[0].plotter.camera
    assert camera.HasObserver("ModifiedEvent")
    viewports = [window.viewport, *panes]
    window.resize(window.width() - 40, window.height())  # a refit is pending
    qtbot.wait(10)
    window.close()
    assert window.closing
    # every timer of ours (a status bar message's own timer only clears its text, in Qt)
    active = [t.parent() for t in window.findChildren(QTimer)
              if t.isActive() and not isinstance(t.parent(), QStatusBar)]
    assert active == []
    fit = window.camera_fit
    assert fit.viewport is None and not fit._timer.isActive()
    # a late resize of the old viewport (were it still delivered) starts no refit
    old = viewports[0]
    fit.eventFilter(old, QResizeEvent(old.size(), old.size()))
    assert not fit._timer.isActive()
    assert not camera.HasObserver("ModifiedEvent")
    for vp in viewports:
        assert vp.plotter._closed and vp._end_observer is None
        vp.close_viewport()  # twice: nothing


def _plate_window(qtbot, runner, monkeypatch) -> MainWindow:
    monkeypatch.delenv("PHYSAPP_ASK_TO_SAVE", raising=False)
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=runner)
    qtbot.addWidget(win)
    win.show()
    return win


def test_switching_study_asks_and_cancel_keeps_everything(qtbot, shared_runner, monkeypatch,
                                                          tmp_path):
    from physapp.gui.window_dialogs import switch_to

    win = _plate_window(qtbot, shared_runner, monkeypatch)
    _unsaved_setup(win)
    state = dict(win.app.part.state)
    switch_to(win, "l-bracket")  # File > New study... > L-bracket
    box = win.close_guard.box
    assert box is not None and "L-bracket" in box.informativeText()
    assert win.spec.id == "plate-with-hole"  # nothing switched while asking
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert win.spec.id == "plate-with-hole" and win.close_guard.box is None
    assert win.app.part.state == state and win.app.session.dirty  # the set-up is kept

    saved = []
    monkeypatch.setattr(win.sessions, "save", lambda: saved.append(1) or None)
    switch_to(win, "l-bracket")
    win.close_guard.box.button(QMessageBox.StandardButton.Save).click()
    assert saved and win.spec.id == "plate-with-hole"  # the save dialog was cancelled

    monkeypatch.setattr(win.sessions, "save", lambda: Path(tmp_path / "s.physapp"))
    switch_to(win, "l-bracket")
    win.close_guard.box.button(QMessageBox.StandardButton.Save).click()
    assert win.spec.id == "l-bracket" and win.isVisible()  # saved, then switched
    assert not win.closing


def test_opening_a_file_or_session_asks_and_discard_goes_on(qtbot, shared_runner, monkeypatch,
                                                            tmp_path):
    win = _plate_window(qtbot, shared_runner, monkeypatch)
    reads, sessions = [], []
    monkeypatch.setattr(win.parts.opener, "open", lambda path, options=None: reads.append(path))
    monkeypatch.setattr(win.sessions, "open_session", lambda path: sessions.append(path))
    _unsaved_setup(win)
    win.open_file(str(tmp_path / "other.msh"))
    assert not reads and "other.msh" in win.close_guard.box.informativeText()
    win.close_guard.box.button(QMessageBox.StandardButton.Cancel).click()
    assert not reads and win.app.part.state is not None
    win.open_file(str(tmp_path / "other.msh"))
    win.close_guard.box.button(QMessageBox.StandardButton.Discard).click()
    assert reads == [str(tmp_path / "other.msh")]  # read once discarded
    win.sessions.ask_and_open(tmp_path / "s.physapp")  # File > Open session...
    win.close_guard.box.button(QMessageBox.StandardButton.Cancel).click()
    assert not sessions
    win.app.session.dirty = False  # saved meanwhile: no question
    win.sessions.ask_and_open(tmp_path / "s.physapp")
    assert sessions == [tmp_path / "s.physapp"] and win.close_guard.box is None


def test_closing_without_a_question_shuts_down_once(qtbot, shared_runner, monkeypatch):
    win = _plate_window(qtbot, shared_runner, monkeypatch)
    calls = []
    shut_down = win.close_guard.shut_down
    monkeypatch.setattr(win.close_guard, "shut_down", lambda: calls.append(1) or shut_down())
    assert win.close() and win.closing and calls == [1]  # nothing to ask: closed at once
    assert win.close_guard.box is None

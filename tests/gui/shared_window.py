"""One main window shared by the tests of a module (tests/gui/conftest.py ``window``).

Building a window and waiting for its start-up solve cost each test ~2-3 s. The module's tests
share one window instead, and :func:`reset_window` puts it back, before each test, into the
state a new window has after its start-up solve: the study at its default values, solved
(re-solved only when the shown result is not of the defaults), the reference solver, one view
with the default field and view options, no probe, section, warp, split view, history, part,
plugin panel, dialog or message, the window's first size. :func:`check_fresh` asserts that
state, so a leak between tests fails the next test's set-up instead of changing what it checks.
Other studies' modules share a window the same way (tests/gui/conftest.py ``module_window``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QEvent, QRect, Qt
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QMessageBox

from physapp.app.model import ViewModel
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study


def wait_until(predicate, timeout_ms: int, what: str) -> None:
    """Process Qt events until ``predicate()`` (outside a test: no qtbot)."""
    end = time.monotonic() + timeout_ms / 1000
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"shared window: timed out waiting for {what}")
        QApplication.processEvents()
        time.sleep(0.005)


@dataclass
class Baseline:
    """What the new window looked like once its start-up solve was on screen."""

    study_id: str
    values: dict
    geometry: QRect
    state: Qt.WindowState
    yield_strength: float
    docks: frozenset
    result: object  # the start-up solve's FieldResult


#: the job id of a replayed start-up solve (the runner's ids are positive)
REPLAY_JOB = -1


def baseline(win: MainWindow) -> Baseline:
    return Baseline(study_id=win.spec.id, values=win.model.params, geometry=win.geometry(), state=win.windowState(),
                    yield_strength=win.safety.yield_strength,
                    docks=frozenset(d.objectName() for d in win.findChildren(QDockWidget)),
                    result=win.result)


def replay_startup_solve(win: MainWindow, base: Baseline) -> None:
    """The start-up solve's result once more, delivered as the runner delivers a finished job
    (its ``finished`` signal): the window applies it by its own path. The same real result of
    the same design (the defaults) as a new solve would give, without the ~1-3 s solve."""
    assert win.model.params == base.values and not win.parts.active
    win.app.solve.start(REPLAY_JOB, win.model.version, win.model.params)
    win.runner.finished.emit(REPLAY_JOB, base.result)


def _close_dialogs(win: MainWindow) -> None:
    # the line plot and the Cp chart are made once per window (per study): a new window has none
    for owner, name in ((win.view_tools, "line_dialog"), (win.flow, "cp_dialog")):
        dialog = getattr(owner, name)
        if dialog is not None:
            dialog.close()
            dialog.deleteLater()
            setattr(owner, name, None)
    for w in QApplication.topLevelWidgets():
        if w is not win and w.isVisible() and isinstance(w, (QDialog, QMessageBox)):
            w.close()
    for dock in win.findChildren(QDockWidget):  # plugin panels opened by a test
        if dock.objectName().startswith("plugin-panel:"):
            from physapp.gui import plugin_panels

            plugin_panels._DOCKS.get(win, {}).clear()
            win.removeDockWidget(dock)
            dock.setParent(None)
            dock.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def reset_window(win: MainWindow, base: Baseline, timeout_ms: int) -> None:
    """Put ``win`` back into the state of a new window after its start-up solve."""
    _close_dialogs(win)
    if win.exports.busy:
        win.exports.cancel()
        wait_until(lambda: not win.exports.busy, 10_000, "the export to stop")
    if win.surrogates.selected_key:
        win.surrogates.select("")  # the reference solver
    win.compare.set_split(False)
    win.compare.set_relative(False)
    win.playback.clear()
    vt = win.view_tools
    vt.set_probe_mode(False)
    vt.set_clip(False, "X", 0.5, flip=False)
    vt.set_warp_scale(0.0)
    win.color_range.set_mode("auto")
    if win.parts.active or win.spec.id != base.study_id:
        win.auto_solve = False  # its start-up solve is replayed below
        try:
            win.set_study(get_study(base.study_id))
        finally:
            win.auto_solve = True
    elif win.model.params != base.values:
        win.model.set_values(base.values)
    defaults = ViewModel()
    view = win.app.view
    view.field = win.spec.default_field
    for name in ("colormap", "show_edges", "clim", "relative_difference", "streamlines",
                 "glyphs"):
        setattr(view, name, getattr(defaults, name))
    if base.yield_strength > 0:  # studies without stresses have none (0)
        win.safety.set_yield_strength(base.yield_strength)
    win.symbols.set_visible(True)
    # background work a test left behind (previews of its last design, predictions, split-view
    # differences) ends before the next test: a new window has none
    for what, idle in (("previews", win.previews.worker.wait_idle),
                       ("predictions", win.surrogates.predictor.wait_idle),
                       ("differences", win.compare.wait_idle)):
        wait_until(lambda idle=idle: idle(0.05), timeout_ms, what)
    solve = win.app.solve
    if solve.job:
        win.solves.drop_job()  # a solve a test left running
    wait_until(lambda: not win.runner.busy, timeout_ms, "the runner")
    if solve.status != "done" or win.result is not base.result or win.is_stale \
            or win.viewport.result is not win.result:
        replay_startup_solve(win, base)
    wait_until(lambda: not solve.job, timeout_ms, "the replayed solve")
    wait_until(lambda: not win.viewport.frame_pending, timeout_ms, "the frame")
    win.message_bar.clear()
    win.statusBar().clearMessage()
    win.setWindowState(base.state)
    if not base.state & Qt.WindowState.WindowMaximized:
        win.setGeometry(base.geometry)
    win.viewport.reset_camera()
    win.sessions.path = None
    win.app.session.path = ""
    win.app.session.dirty = False
    QApplication.processEvents()
    check_fresh(win, base)


def check_fresh(win: MainWindow, base: Baseline) -> None:
    """The state :func:`reset_window` promises (a failed reset fails the set-up, loudly)."""
    solve, view = win.app.solve, win.app.view
    assert win.spec.id == base.study_id and not win.parts.active and win.model.params == base.values
    assert solve.status == "done" and not win.is_stale and not win.runner.busy
    assert win.viewport.has_field and win.viewport.result is win.result is base.result
    assert view.field == win.spec.default_field == win.field[0]
    defaults = ViewModel()
    for name in ("colormap", "show_edges", "warp_scale", "clip", "clim", "split",
                 "relative_difference", "streamlines", "glyphs"):
        assert getattr(view, name) == getattr(defaults, name), name
    assert not win.surrogates.selected_key and not win.compare.is_split
    assert not win.view_tools.probe_mode and win.view_tools.line_dialog is None
    assert win.flow.cp_dialog is None
    assert win.color_range.mode == "auto" and not win.playback.active
    assert win.safety.yield_strength == base.yield_strength
    assert win.message_bar.text() == "" and not win.exports.busy
    docks = frozenset(d.objectName() for d in win.findChildren(QDockWidget))
    assert docks <= base.docks | {"part_setup_dock"}, docks - base.docks

"""Fixtures for GUI tests: a real MainWindow with a QtInteractor under Xvfb."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("pyvistaqt")

from physapp.gui.app import configure_pyvista  # noqa: E402
from physapp.gui.main_window import MainWindow  # noqa: E402
from physapp.gui.qt_job_runner import QtJobRunner  # noqa: E402
from physapp.studies import get_study  # noqa: E402

#: generous: the first solve spawns the worker process and imports the solver stack
SOLVE_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def shared_runner(qapp):
    """One warm solver process for the session's windows: spawning it and importing the solver
    stack costs ~3 s, which would otherwise be paid by every test (or module). A window closes
    with its slots disconnected and its running job cancelled (SolveController.shutdown), so
    the next window finds the runner idle."""
    runner = QtJobRunner()
    runner.warm_up()
    yield runner
    runner.shutdown()


@pytest.fixture
def window(qtbot, shared_runner):
    """The main window on the plate study, shown, with its start-up solve finished."""
    configure_pyvista()
    win = MainWindow(get_study("plate-with-hole"), runner=shared_runner)
    qtbot.addWidget(win)  # pytest-qt closes it at teardown (closeEvent stops the worker)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    yield win
    win.close()
    assert not win.runner.busy


@pytest.fixture(autouse=True)
def _closed_windows_deleted_here(qapp):
    """pytest-qt closes a test's widgets and calls deleteLater() on them after the test; Qt
    deletes them at the next event loop, which was the next test's (or the next module's)
    first wait, while its own window is being built (a native crash seen there, #14). Delete
    them now, on the GUI thread, at the end of the test that made them."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

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


def _new_window(qtbot, runner) -> MainWindow:
    configure_pyvista()
    win = MainWindow(get_study("plate-with-hole"), runner=runner)
    qtbot.addWidget(win)  # pytest-qt closes it at teardown (closeEvent stops the worker)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    return win


@pytest.fixture
def fresh_window(qtbot, shared_runner):
    """A new main window on the plate study, shown, with its start-up solve finished (for the
    tests of the start-up itself and of closing)."""
    win = _new_window(qtbot, shared_runner)
    yield win
    win.close()
    assert not win.runner.busy


def module_window(study_id: str, runner, tmp_path_factory, size: tuple[int, int] | None = None):
    """A new window on ``study_id`` for the tests of one module to share (see
    tests/gui/shared_window.py), yielded with its baseline once its start-up solve is on screen.
    Made and closed with the module's own configuration folders: the test's folders (the
    autouse fixture in tests/conftest.py) exist only during a test."""
    from tests.gui.shared_window import baseline, wait_until

    cfg = tmp_path_factory.mktemp("window-config")
    env = {"XDG_CONFIG_HOME": str(cfg), "XDG_DATA_HOME": str(cfg / "data"),
           "PHYSAPP_NO_PLUGINS": "1", "PHYSAPP_AUTO_SURROGATE": "0", "PHYSAPP_ASK_TO_SAVE": "0"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        configure_pyvista()
        win = MainWindow(get_study(study_id), runner=runner)
        if size is not None:
            win.resize(*size)
        win.show()
        wait_until(win.isVisible, 5000, "the window")
        wait_until(lambda: win.solve_count >= 1, SOLVE_TIMEOUT_MS, "the start-up solve")
        win.sessions._timer.stop()  # its 60 s autosave must not write into a later test's folder
        base = baseline(win)
    yield win, base
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        win.close()
        assert not win.runner.busy
        win.deleteLater()
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


@pytest.fixture(scope="module")
def _module_window(qapp, shared_runner, tmp_path_factory):
    """The plate window the tests of one module share."""
    yield from module_window("plate-with-hole", shared_runner, tmp_path_factory)


#: the plate POD-GP's sweep: traction 5-50 MPa and hole radius 10-30 mm, P1, 10 mm elements
PLATE_GP_BOUNDS = {"traction": (5e6, 50e6), "radius": (0.010, 0.030)}


@pytest.fixture(scope="session")
def plate_pod_gp(tmp_path_factory):
    """A POD-GP of the plate trained on 10 solved designs (PLATE_GP_BOUNDS; 405 nodes), made
    once for the modules that load it (the surrogate panel, the split view)."""
    from types import SimpleNamespace

    import torch

    from physapp.api import _InProcess
    from physapp.compute.cluster import run_sweep_on
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the test machine is shared
    try:
        out = tmp_path_factory.mktemp("plate-pod-gp")
        plate = Dataset.create(out / "plate.h5", "plate-with-hole", 10, "lhs", 0, 0.3,
                               vary=["traction", "radius"], fixed={"mesh_size": 0.01},
                               bounds=PLATE_GP_BOUNDS, order=1)
        run_sweep_on(plate, _InProcess(), poll=0.0)  # in this process: no worker start
        gp = train_surrogate("pod-gp", plate.training_data(), device="cpu", restarts=1,
                             epochs=60)
    finally:
        torch.set_num_threads(threads)
    return SimpleNamespace(path=save_surrogate(gp, out / "plate-pod-gp.pt"),
                           metrics=gp.metrics)


@pytest.fixture
def window(_module_window, qtbot):
    """The main window on the plate study, shown, with its start-up solve finished: the
    module's shared window, reset to that state (tests/gui/shared_window.py)."""
    from tests.gui.shared_window import reset_window

    win, base = _module_window
    reset_window(win, base, SOLVE_TIMEOUT_MS)
    yield win


@pytest.fixture(autouse=True)
def _closed_windows_deleted_here(qapp):
    """pytest-qt closes a test's widgets and calls deleteLater() on them after the test; Qt
    deletes them at the next event loop, which was the next test's (or the next module's)
    first wait, while its own window is being built (a native crash seen there, #14). Delete
    them now, on the GUI thread, at the end of the test that made them."""
    yield
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

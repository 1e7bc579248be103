"""Sessions in the app: save/open restores study, values, surrogate and camera; autosave; crash
recovery. Real windows, real solver process and the shipped plate surrogate, under Xvfb."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from physapp.gui.app import Launcher, configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.session_controller import crashed_autosave, offer_recovery
from physapp.io.session import autosave_path, load_session, make_session, save_session
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

MODEL = str((Path(__file__).resolve().parents[2] / "physapp" / "resources" / "surrogates" /
             "plate-with-hole" / "pod-gp.pt").resolve())
FRAME_MS = 30_000


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def _camera(win):
    cam = win.viewport.plotter.camera
    return (tuple(cam.GetPosition()), tuple(cam.GetFocalPoint()), tuple(cam.GetViewUp()),
            cam.GetParallelScale())


def _use_builtin_model(qtbot, win):
    s = win.surrogates
    before = s.applied
    s.select(MODEL)
    qtbot.waitUntil(lambda: s.showing and s.applied > before, timeout=FRAME_MS)


def test_save_then_open_restores_values_surrogate_and_camera(qtbot, window, tmp_path):
    win = window
    win.model.set_value("radius", 0.031)
    _use_builtin_model(qtbot, win)
    index = win.field_combo.findData("displacement")
    win.field_combo.setCurrentIndex(index)
    cam = win.viewport.plotter.camera
    cam.SetPosition(0.05, 0.02, 0.9)
    cam.SetFocalPoint(0.05, 0.02, 0.0)
    cam.SetViewUp(0.0, 1.0, 0.0)
    cam.SetParallelScale(0.0777)
    win.viewport.plotter.render()
    saved_camera = _camera(win)
    first = win.sessions.save_to(tmp_path / "a.physapp")
    assert first is not None and win.sessions.path == first
    data = json.loads(first.read_text())
    assert data["format"] == "physapp-session" and data["version"] == 1
    assert data["study"] == "plate-with-hole" and data["params"]["radius"] == 0.031
    assert data["surrogate"] == MODEL and data["view"]["field"] == "displacement"
    assert data["view"]["camera"]["parallel_scale"] == 0.0777

    # change everything, then open the session again
    win.surrogates.select("")
    win.model.set_value("radius", 0.02)
    win.field_combo.setCurrentIndex(win.field_combo.findData("von_mises"))
    win.viewport.reset_camera()
    assert _camera(win) != saved_camera
    with qtbot.waitSignal(win.sessions.restored, timeout=5000):
        assert win.sessions.open_session(first)
    qtbot.waitUntil(lambda: win.surrogates.showing and win.surrogates.selected_key == MODEL,
                    timeout=FRAME_MS)
    assert win.model.value("radius") == 0.031
    assert win.field[0] == "displacement"
    qtbot.waitUntil(lambda: _camera(win) == saved_camera, timeout=5000)
    qtbot.wait(300)  # later frames of the prediction keep the camera
    assert _camera(win) == saved_camera
    second = win.sessions.save_to(tmp_path / "b.physapp")
    assert second.read_text() == first.read_text()  # round trip: identical JSON


def test_session_of_another_study_switches_study(qtbot, window, tmp_path):
    path = save_session(make_session("thick-cylinder", {"pressure": 7.5e7}),
                        tmp_path / "cyl.physapp")
    before = window.solve_count
    window.open_file(str(path))  # File > Open and drag and drop go this way too
    qtbot.waitUntil(lambda: window.spec.id == "thick-cylinder", timeout=5000)
    assert window.model.value("pressure") == 7.5e7
    qtbot.waitUntil(lambda: window.solve_count > before and not window.is_stale,
                    timeout=SOLVE_TIMEOUT_MS)
    assert window.result.meta["params"]["pressure"] == 7.5e7


def test_a_newer_or_edited_session_is_refused(qtbot, window, tmp_path):
    data = make_session("plate-with-hole", {"radius": 0.03})
    data["version"] = 7
    newer = tmp_path / "newer.physapp"
    newer.write_text(json.dumps(data))
    assert not window.sessions.open_session(newer)
    assert "newer physapp (version 7)" in window.message_bar.text()
    assert window.sessions.error_dialog.isVisible()
    window.sessions.error_dialog.close()
    edited = tmp_path / "edited.physapp"
    data["version"] = 1
    data["params"]["radius"] = "large"
    edited.write_text(json.dumps(data))
    assert not window.sessions.open_session(edited)
    assert "params.radius" in window.message_bar.text()
    window.sessions.error_dialog.close()
    assert window.model.value("radius") != 0.03 and window.spec.id == "plate-with-hole"


def test_autosave_after_a_solve_and_removed_on_a_clean_exit(qtbot, shared_runner):
    configure_pyvista()
    win = MainWindow(get_study("plate-with-hole"), runner=shared_runner)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.sessions.autosaves >= 1, timeout=5000)  # on every solve
    path = autosave_path()
    assert path.is_file() and str(path).startswith(os.environ["XDG_DATA_HOME"])
    assert load_session(path)["study"] == "plate-with-hole"
    assert crashed_autosave() is None  # ours, and we are running
    win.model.set_value("traction", 2.5e7)  # not geometric: no preview on the way at close
    win.sessions.autosave()  # the 60 s timer calls this
    assert load_session(path)["params"]["traction"] == 2.5e7
    win.close()
    assert not path.exists() and not path.with_suffix(".pid").exists()


def _crashed(radius: float) -> Path:
    """An autosave left by a process that died."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    path = autosave_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    save_session(make_session("plate-with-hole", {"radius": radius}), path)
    path.with_suffix(".pid").write_text(str(dead.pid))
    return path


def test_crash_recovery_offer_accepted(qtbot, store):
    _crashed(0.027)
    launcher = Launcher(settings_store=store)
    try:
        first = launcher.start("plate-with-hole")
        qtbot.addWidget(first)
        offer = offer_recovery(launcher)
        assert offer is not None and offer.dialog.isVisible()  # non-blocking
        assert "Recover the previous session?" in offer.dialog.windowTitle()
        offer.accept()
        assert not offer.dialog.isVisible()
        win = launcher.window
        assert win.model.value("radius") == 0.027
        qtbot.waitUntil(lambda: win.solve_count >= 1 and not win.is_stale,
                        timeout=SOLVE_TIMEOUT_MS)
        assert win.result.meta["params"]["radius"] == 0.027
        win.close()
    finally:
        launcher.shutdown()


def test_crash_recovery_offer_declined_and_no_offer_after_a_clean_exit(qtbot, store):
    path = _crashed(0.027)
    launcher = Launcher(settings_store=store)
    try:
        first = launcher.start("plate-with-hole")
        qtbot.addWidget(first)
        offer = offer_recovery(launcher)
        offer.decline()
        assert not path.exists() and first.model.value("radius") != 0.027
        first.close()
    finally:
        launcher.shutdown()
    assert offer_recovery(launcher) is None  # nothing left to recover


def test_command_line_opens_a_session_file(qtbot, store, tmp_path):
    path = save_session(make_session("plate-with-hole", {"radius": 0.033},
                                     view={"field": "sigma_xx"}), tmp_path / "s.physapp")
    launcher = Launcher(settings_store=store)  # what `physapp s.physapp` runs
    try:
        assert launcher.start(None, str(path)) is None
        win = launcher.window
        assert isinstance(win, MainWindow)
        qtbot.addWidget(win)
        assert win.model.value("radius") == 0.033 and win.field[0] == "sigma_xx"
        assert win.sessions.path == path
        qtbot.waitUntil(lambda: win.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
        win.close()
    finally:
        launcher.shutdown()


def test_an_imported_part_and_its_set_up_round_trip(qtbot, window, tmp_path):
    box = Path(__file__).resolve().parents[1] / "data" / "meshes" / "box.msh"
    win = window
    win.open_file(str(box))
    qtbot.waitUntil(lambda: win.parts.active and win.spec.id == "part:box"
                    and win.viewport.n_points > 0, timeout=SOLVE_TIMEOUT_MS)
    panel = win.parts.panel
    panel.add_support()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("back"))
    panel.add_load()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("front"))
    win.parts.promote("loads.0.value", "p", 0.0, 5e6, label="Pressure")
    win.model.set_value("p", 3e6)
    qtbot.waitUntil(lambda: win.parts.problem == "", timeout=5000)
    first = win.sessions.save_to(tmp_path / "part.physapp")
    data = load_session(first)
    assert data["study"] == "part:box" and data["part"]["file"] == str(box.resolve())
    assert data["params"]["p"] == 3e6 and data["part"]["setup"]["loads"][0]["region"] == "front"

    win.set_study(get_study("plate-with-hole"))
    assert not win.parts.active
    with qtbot.waitSignal(win.sessions.restored, timeout=SOLVE_TIMEOUT_MS):
        win.sessions.open_session(first)
    assert win.parts.active and win.spec.id == "part:box"
    assert win.model.value("p") == 3e6
    assert [s["region"] for s in win.parts.setup.supports] == ["back"]
    qtbot.waitUntil(lambda: win.viewport.has_field and not win.is_stale,
                    timeout=SOLVE_TIMEOUT_MS)  # solved at the restored set-up
    qtbot.waitUntil(lambda: win.sessions._pending_view is None, timeout=5000)
    second = win.sessions.save_to(tmp_path / "again.physapp")
    assert second.read_text() == first.read_text()

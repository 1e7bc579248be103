"""Settings: AppSettings round-trips through QSettings; the dialog and the main window use them.

Every test uses a QSettings file in tmp_path, so the user's settings are never read or written.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QSettings, Qt

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import (
    AppSettings,
    SettingsDialog,
    cpu_count,
    load_settings,
    parse_cuda_probe,
    save_settings,
)
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

PROBE_TIMEOUT_MS = 90_000  # the probe imports torch in a child process


@pytest.fixture
def ini(tmp_path):
    return str(tmp_path / "settings.ini")


def _store(path: str) -> QSettings:
    return QSettings(path, QSettings.Format.IniFormat)


def test_defaults_when_nothing_is_saved(ini):
    s = load_settings(_store(ini))
    assert s == AppSettings() and s.device == "auto" and s.element_order == 2
    assert s.workers == cpu_count() >= 1


def test_round_trip_through_qsettings(ini):
    wanted = AppSettings(device="cuda:1", workers=3, element_order=1)
    save_settings(wanted, _store(ini))
    assert load_settings(_store(ini)) == wanted  # a fresh QSettings reads the file back
    text = open(ini).read()
    assert "device=cuda:1" in text and "workers=3" in text and "element_order=1" in text


def test_broken_values_fall_back_to_defaults_one_by_one(ini):
    store = _store(ini)
    store.setValue("compute/device", "tpu")
    store.setValue("compute/workers", "many")
    store.setValue("solver/element_order", 1)
    store.sync()
    s = load_settings(_store(ini))
    assert s.device == "auto" and s.workers == cpu_count() and s.element_order == 1


def test_invalid_settings_are_refused():
    for bad in (dict(device="gpu"), dict(workers=0), dict(element_order=3)):
        with pytest.raises(ValueError):
            AppSettings(**bad)
    assert AppSettings(device="cuda").device_label == "cuda:0"


def test_cuda_probe_output_is_parsed():
    assert parse_cuda_probe('noise\n{"torch": "2.4", "devices": ["A100", "T4"]}\n') == (
        "2.4", ["A100", "T4"])
    assert parse_cuda_probe('{"torch": null, "devices": [], "error": "x"}') == (None, [])
    with pytest.raises(ValueError):
        parse_cuda_probe("Traceback ...")


def test_dialog_shows_saves_and_does_not_import_torch(qtbot, ini):
    had_torch = "torch" in sys.modules  # earlier tests in this process may have trained models
    save_settings(AppSettings(device="cpu", workers=2, element_order=1), _store(ini))
    dialog = SettingsDialog(_store(ini))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.device_combo.currentData() == "cpu"
    assert dialog.workers_spin.value() == 2 and dialog.order_combo.currentData() == 1
    qtbot.waitUntil(lambda: dialog.probe_done, timeout=PROBE_TIMEOUT_MS)
    assert had_torch or "torch" not in sys.modules  # asked in a child process ...
    assert dialog._probe.program() and "torch" in " ".join(dialog._probe.arguments())
    devices = [dialog.device_combo.itemData(i) for i in range(dialog.device_combo.count())]
    assert devices[:2] == ["auto", "cpu"]
    assert all(d.startswith("cuda:") for d in devices[2:])
    note = dialog.device_note.text()
    assert ("CUDA device" in note) or ("torch is not installed" in note), note

    dialog.workers_spin.setValue(5)
    dialog.order_combo.setCurrentIndex(dialog.order_combo.findData(2))
    with qtbot.waitSignal(dialog.applied) as applied:
        dialog.accept()
    assert applied.args[0] == AppSettings(device="cpu", workers=5, element_order=2)
    assert load_settings(_store(ini)) == applied.args[0]


def test_cancel_and_restore_defaults(qtbot, ini):
    save_settings(AppSettings(device="cpu", workers=7, element_order=1), _store(ini))
    dialog = SettingsDialog(_store(ini))
    qtbot.addWidget(dialog)
    dialog.workers_spin.setValue(9)
    dialog.reject()
    assert load_settings(_store(ini)).workers == 7  # nothing saved
    dialog = SettingsDialog(_store(ini))
    qtbot.addWidget(dialog)
    from PySide6.QtWidgets import QDialogButtonBox

    dialog.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).click()
    assert dialog.current() == AppSettings()
    dialog.reject()


def test_a_saved_gpu_that_is_not_found_stays_selected(qtbot, ini):
    save_settings(AppSettings(device="cuda:3"), _store(ini))
    dialog = SettingsDialog(_store(ini))
    qtbot.addWidget(dialog)
    assert dialog.device_combo.currentData() == "cuda:3"
    qtbot.waitUntil(lambda: dialog.probe_done, timeout=PROBE_TIMEOUT_MS)
    assert dialog.device_combo.currentData() == "cuda:3"
    dialog.reject()


def test_main_window_shows_the_device_and_solves_with_the_element_order(
    qtbot, shared_runner, ini
):
    configure_pyvista()
    save_settings(AppSettings(device="cpu", workers=2, element_order=1), _store(ini))
    window = MainWindow(get_study("plate-with-hole"), runner=shared_runner,
                        settings_store=_store(ini))
    qtbot.addWidget(window)
    window.show()
    assert window.device_label.text() == "Device: cpu"
    assert "P1" in window.solve_box.title()
    qtbot.waitUntil(lambda: window.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    p1_dofs = window.result.meta["n_dofs"]

    dialog = window.open_settings()
    assert dialog.isVisible() and dialog.workers_spin.value() == 2
    dialog.order_combo.setCurrentIndex(dialog.order_combo.findData(2))
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("auto"))
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)
    assert window.device_label.text() == "Device: auto"
    assert "P2" in window.solve_box.title() and window.settings.element_order == 2
    assert load_settings(_store(ini)).element_order == 2
    before = window.solve_count
    window.solve()
    qtbot.waitUntil(lambda: window.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    assert window.result.meta["n_dofs"] > 2 * p1_dofs  # P2 on the same mesh: many more DOFs


def test_ctrl_comma_opens_settings(qtbot, shared_runner, ini):
    window = MainWindow(get_study("plate-with-hole"), runner=shared_runner, auto_solve=False,
                        settings_store=_store(ini))
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.settings_dialog is not None
                    and window.settings_dialog.isVisible(), timeout=2000)
    window.settings_dialog.reject()


def test_shipped_surrogate_choice_round_trips(ini):
    save_settings(AppSettings(auto_surrogate=False), _store(ini))
    assert load_settings(_store(ini)).auto_surrogate is False
    store = _store(ini)
    store.setValue("surrogates/auto_select", "maybe")  # hand-edited: the default comes back
    assert load_settings(store).auto_surrogate is True


def test_scheduler_address_round_trips_and_a_bad_one_is_refused(qtbot, ini):
    save_settings(AppSettings(scheduler="tcp://cluster.example:8786"), _store(ini))
    assert load_settings(_store(ini)).scheduler == "tcp://cluster.example:8786"
    with pytest.raises(ValueError, match="tcp://host:8786"):
        AppSettings(scheduler="cluster 8786")
    store = _store(ini)
    store.setValue("compute/scheduler", "not an address")  # hand-edited: local again
    assert load_settings(store).scheduler == ""
    save_settings(AppSettings(scheduler="tcp://cluster.example:8786"), _store(ini))
    dialog = SettingsDialog(_store(ini))
    qtbot.addWidget(dialog)
    assert dialog.scheduler_edit.text() == "tcp://cluster.example:8786"
    dialog.scheduler_edit.setText("tcp://10.0.0.5:8786")
    assert dialog.current().scheduler == "tcp://10.0.0.5:8786"


def test_an_earlier_qsettings_file_is_copied_over_once(tmp_path):
    """Earlier versions kept the settings in QSettings (physapp.conf); the JSON store copies
    them, and the recent files, the first time it opens (read as text, without Qt)."""
    from PySide6.QtCore import QByteArray

    from physapp.gui.open_file import RecentFiles
    from physapp.gui.settings import open_store

    old = _store(str(tmp_path / "physapp.conf"))
    mine = AppSettings(device="cpu", workers=3, element_order=1, auto_surrogate=False,
                       scheduler="tcp://10.0.0.5:8786")
    save_settings(mine, old)
    old.setValue("recent/files", ["/parts/a.step", "/parts/b, c.msh"])
    old.setValue("window/geometry", QByteArray(b"\x01\xd9\xd0\xcb\x00\x03"))
    old.sync()
    store = open_store(tmp_path / "settings.json")
    assert load_settings(store) == mine
    assert RecentFiles(store).paths() == ["/parts/a.step", "/parts/b, c.msh"]
    assert store.value("window/geometry") is None  # Qt's binary notation stays behind
    assert (tmp_path / "settings.json").is_file()


def test_the_window_geometry_round_trips_through_the_json_store(qtbot, tmp_path):
    from PySide6.QtWidgets import QWidget

    from physapp.gui.settings import SettingsFile
    from physapp.gui.window_geometry import place_window, save_geometry

    first = QWidget()
    qtbot.addWidget(first)
    first.resize(640, 480)
    first.show()
    save_geometry(first, SettingsFile(tmp_path / "settings.json"))
    second = QWidget()
    qtbot.addWidget(second)
    place_window(second, SettingsFile(tmp_path / "settings.json"))
    assert (second.width(), second.height()) == (640, 480)

"""The main window end to end: real QtInteractor, real solver process (run under Xvfb)."""

from __future__ import annotations

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.viewport import STALE_TEXT
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui


def _distinct_colours(img: np.ndarray) -> int:
    return len(np.unique(img.reshape(-1, img.shape[-1]), axis=0))


def _solve_and_wait(qtbot, win) -> None:
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)


def test_opens_on_the_study_with_von_mises_shown(fresh_window):
    window = fresh_window
    vp = window.viewport
    assert "Plate with a hole" in window.windowTitle()
    assert vp.has_field and vp.n_points == window.result.mesh.n_points
    assert window.field[0] == "von_mises"
    assert vp.colorbar_title == "von Mises stress [MPa]"
    lo, hi = vp.clim
    # Kirsch: peak ~3x the 10 MPa nominal traction at the hole (finite width raises it a bit)
    assert 25 < hi < 40 and lo >= 0
    assert "DOFs" in window.info_label.text() and "solved in" in window.info_label.text()
    assert "up to date" in window.state_label.text() and vp.overlay_text == ""
    assert window.field_combo.count() == len(window.spec.fields)


def test_slider_updates_model_and_marks_result_stale(window, qtbot):
    row = window.panel.rows["traction"]
    row.slider.setValue(50.0)  # MPa, as the user drags it
    assert window.model.value("traction") == pytest.approx(50e6)
    assert row.box.text() == "50"
    assert window.is_stale and window.viewport.overlay_text == STALE_TEXT
    assert "out of date" in window.state_label.text()


def test_geometric_slider_remeshes_the_preview(window, qtbot):
    n_before = window.viewport.n_points
    window.panel.rows["mesh_size"].slider.setValue(10.0)  # mm: coarser mesh
    assert window.model.value("mesh_size") == pytest.approx(0.010)
    qtbot.waitUntil(lambda: not window.viewport.has_field, timeout=5000)
    n_coarse = window.viewport.n_points
    assert 0 < n_coarse < n_before
    assert "F5" in window.viewport.overlay_text
    window.panel.rows["radius"].slider.setValue(40.0)  # a bigger hole: a different mesh again
    qtbot.waitUntil(lambda: window.viewport.n_points != n_coarse, timeout=5000)


def test_solve_puts_a_field_on_screen_and_traction_changes_it(window, qtbot):
    vp = window.viewport
    vp.set_fixed_clim((0.0, 100.0))  # MPa: the same colours mean the same stress in both images
    img_low = vp.screenshot()
    assert img_low.ndim == 3 and _distinct_colours(img_low) > 50  # a colour map, not a blank
    window.panel.rows["traction"].box.setText("60")
    window.panel.rows["traction"].box.editingFinished.emit()
    _solve_and_wait(qtbot, window)
    assert not window.is_stale and vp.overlay_text == ""
    img_high = vp.screenshot()
    changed = np.any(np.abs(img_low.astype(int) - img_high.astype(int)) > 30, axis=-1)
    assert changed.mean() > 0.05  # a large part of the plate changed colour
    vp.set_fixed_clim(None)  # the automatic range follows the data: peak ~6x larger
    assert 150 < vp.clim[1] < 240


def test_field_selector_rewrites_the_field_in_place(window):
    vp = window.viewport
    grid_before = vp.grid
    window.field_combo.setCurrentIndex(window.field_combo.findData("displacement[0]"))
    assert vp.grid is grid_before  # same topology: no new actor
    assert vp.colorbar_title == "Displacement ux [mm]"
    lo, hi = vp.clim
    assert lo == pytest.approx(0.0, abs=1e-6) and hi > 0  # symmetry plane fixed, pulled in +x


def test_cancel_stops_a_running_solve_and_solve_works_again(window, qtbot):
    result_before = window.result
    window.model.set_value("mesh_size", 0.0008)  # ~290k DOFs: several seconds
    window.solve()
    qtbot.waitUntil(
        lambda: window.progress.value() > 0 or "mesh" in window.progress.text(), timeout=10_000
    )
    assert window.runner.busy and window.cancel_button.isEnabled()
    window.cancel_solve()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=5000)
    assert "cancelled" in window.message_bar.text().lower()
    assert window.result is result_before and not window.cancel_button.isEnabled()
    window.model.set_value("mesh_size", 0.005)
    _solve_and_wait(qtbot, window)
    assert window.viewport.has_field and not window.is_stale


def test_bad_values_give_a_message_and_the_app_stays_usable(window, qtbot):
    row = window.panel.rows["radius"]
    row.box.setText("500")  # mm, above the 80 mm bound: refused, not clamped
    row.box.editingFinished.emit()
    assert "Hole radius" in window.message_bar.text() and "80" in window.message_bar.text()
    assert window.model.value("radius") == pytest.approx(0.02) and row.box.text() == "20"

    window.model.set_value("width", 0.1)  # in bounds, but a 60 mm hole does not fit 100 mm
    window.panel.rows["radius"].slider.setValue(60.0)
    qtbot.waitUntil(lambda: "does not fit" in window.message_bar.text(), timeout=5000)
    _solve_attempt = window.solve_count
    window.solve()  # the solver refuses it too, with the same advice
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=SOLVE_TIMEOUT_MS)
    assert "does not fit" in window.message_bar.text()
    assert window.solve_count == _solve_attempt

    window.model.set_value("radius", 0.02)  # fix it: the app recovers
    _solve_and_wait(qtbot, window)
    assert window.message_bar.text() == "" and window.viewport.has_field


def test_f5_and_escape_shortcuts(window, qtbot):
    from PySide6.QtCore import Qt

    with qtbot.waitActive(window):  # shortcuts go to the active window only
        window.activateWindow()
    window.model.set_value("mesh_size", 0.0008)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.runner.busy, timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=5000)
    assert "cancelled" in window.message_bar.text().lower()


def test_closing_during_a_solve_stops_the_worker_process(qtbot):
    configure_pyvista()
    window = MainWindow(get_study("plate-with-hole"), auto_solve=False)  # owns its runner
    qtbot.addWidget(window)
    window.model.set_value("mesh_size", 0.0008)
    window.solve()
    qtbot.waitUntil(lambda: window.runner.busy, timeout=2000)
    proc = window.runner._runner._proc
    assert proc is not None and proc.is_alive()
    window.close()
    assert not window.runner.busy and not proc.is_alive()


def test_unexpected_exception_is_shown_not_fatal(window):
    import sys

    from physapp.gui.app import install_excepthook

    previous = install_excepthook(window)
    try:
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = previous
    assert "Unexpected error (ZeroDivisionError: boom)" in window.message_bar.text()
    assert window.solve_button.isEnabled()

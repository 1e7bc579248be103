"""The perforated plate in the app (#19): the hole-count slider snaps to whole numbers and a
solve at the new count has that many holes."""

from __future__ import annotations

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study

from .conftest import SOLVE_TIMEOUT_MS


def test_hole_count_slider_snaps_and_the_solve_follows(qtbot, shared_runner):
    configure_pyvista()
    win = MainWindow(get_study("perforated-plate"), runner=shared_runner)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    before = win.result.mesh.n_points
    win.model.set_value("mesh_size", 0.01)
    row = win.panel.rows["n_holes"]
    row.slider.setValue(2.6)  # a drag between two counts
    assert win.model.value("n_holes") == 3.0 and row.box.text() == "3"
    count = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > count, timeout=SOLVE_TIMEOUT_MS)
    assert win.result.meta["params"]["n_holes"] == 3.0
    assert win.result.mesh.n_points != before
    assert win.result.meta["key_quantities"]["stress_concentration"] > 2.5
    win.close()

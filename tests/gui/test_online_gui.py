"""Run > Learn while solving: a real run of the plate (P1, 20 mm elements) in a child process.

The live chart receives every refit's estimate while the GUI thread only polls (each poll well
under 100 ms), a better model swaps into the window's selector, and Cancel keeps the data set
with its solved designs (Start would continue it).
"""

from __future__ import annotations

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import AppSettings
from physapp.studies import get_study

pytestmark = pytest.mark.gui


@pytest.fixture
def win(qtbot, shared_runner):
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.apply_settings(AppSettings(device="cpu", workers=1, element_order=1))
    yield w
    w.close()


def test_live_chart_updates_a_better_model_swaps_in_and_cancel_keeps_the_data(win, qtbot):
    from physapp.surrogates.dataset import Dataset

    win.model.set_value("mesh_size", 0.02)
    act = win.actions["run.online"]
    assert act.text().replace("&", "").startswith("Learn while solving")
    act.trigger()
    dlg = win.online_dialog
    assert dlg.isVisible() and dlg.model_combo.currentData() == "pod-gp"
    assert dlg.field_combo.currentData() == "von_mises"
    dlg.target_spin.setValue(0.01)  # out of reach: it would run to the budget
    dlg.budget_spin.setValue(40)
    dlg.workers_spin.setValue(1)
    dlg.start()
    assert dlg.running and not dlg.start_button.isEnabled() and dlg.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: len(dlg.steps) >= 2, timeout=180_000)
    # the chart holds what the run reported, in order
    assert [pt[0] for pt in dlg.chart.points] == [s["solves"] for s in dlg.steps]
    assert dlg.chart.points[-1][1] == pytest.approx(dlg.steps[-1]["estimate"])
    view = dlg.scatter.view
    assert len(view["X"]) == dlg.steps[-1]["done"] and len(view["pool_std"]) > 10
    assert np.all(np.asarray(view["pool_std"]) >= 0)
    # the first estimate saved a model of every field, which the window loaded and selected
    qtbot.waitUntil(lambda: dlg.swaps >= 1, timeout=60_000)
    c = win.surrogates
    qtbot.waitUntil(lambda: c.current is not None and c.current.path == dlg.live_path,
                    timeout=60_000)
    # pause, then cancel: the run stops, the data set keeps every solved design
    dlg.toggle_pause()
    assert dlg.pause_button.text() == "Resume"
    dlg.cancel()
    qtbot.waitUntil(lambda: dlg.state == "cancelled", timeout=30_000)
    assert dlg.wait(10) and not dlg.running and dlg.start_button.isEnabled()
    counts = Dataset.open(dlg.dataset_path).counts()
    assert counts["done"] >= dlg.steps[-1]["done"] >= 3
    assert f"{counts['done']} solved" in dlg.result_label.text()
    slow = [(ms, k) for ms, k in zip(dlg.poll_ms, dlg.poll_kinds, strict=True) if ms >= 100.0]
    assert not slow  # the GUI thread never waits for the run

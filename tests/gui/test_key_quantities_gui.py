"""Key quantities of a surrogate prediction follow the sliders (#12): the study's
``field_quantities`` run on each complete prediction, the results box and the example plugin's
panel show them through ``app.source.key_quantities``; a solve shows its own again."""

from __future__ import annotations

import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study

from .conftest import SOLVE_TIMEOUT_MS

VESSEL = "pressure_vessel/vessel"
FRAME_MS = 30_000


def _lame(v: dict) -> float:
    a, b = v["radius"], v["radius"] + v["thickness"]
    return v["pressure"] * (a * a + b * b) / (b * b - a * a)


def test_prediction_quantities_follow_the_slider_and_a_solve_takes_over(qtbot, shared_runner):
    from physapp.gui.plugin_panels import show_panel
    from physapp.plugins import contributions, model_files

    configure_pyvista()
    win = MainWindow(get_study(VESSEL), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    panel_c = next(c for c in contributions("panels") if c.id == "hand-calc")
    panel = show_panel(win, panel_c, win.app).widget()
    seen = []
    win.app.source.events.key_quantities.connect(seen.append)
    win.model.set_values({"radius": 0.6, "thickness": 0.07, "length": 2.5,  # trained range
                          "mesh_size": 0.03})  # a quick solve at the end
    s = win.surrogates
    s.load_file(model_files(VESSEL)[0])
    qtbot.waitUntil(lambda: win.app.source.key_quantities is not None, timeout=FRAME_MS)

    peaks = []
    for pressure in (4e6, 8e6):  # a slider move: a frame of one field, then the complete one
        win.model.set_value("pressure", pressure)
        qtbot.waitUntil(lambda p=pressure: (win.app.source.key_quantities or {}).get(
            "hoop_stress_bore_lame") == pytest.approx(_lame(win.model.params)), timeout=FRAME_MS)
        kq = win.app.source.key_quantities
        assert kq == s.last_prediction.result.meta["key_quantities"]
        assert win.app.source.key_units["wall_volume"] == "m^3"
        text = win.results_label.text()
        assert text.startswith("Surrogate prediction:") and win.results_label.isEnabled()
        assert f"Peak hoop stress: {kq['peak_hoop_stress'] / 1e6:.4g} MPa" in text
        assert "Wall volume" in text
        assert panel.predicted.text() == f"{kq['peak_hoop_stress'] / 1e6:.3f} MPa"
        peaks.append(kq["peak_hoop_stress"])
    # linear in the pressure; near Lame's bore value (the shipped model is within a few %)
    assert peaks[1] / peaks[0] == pytest.approx(2.0, rel=1e-3)
    assert peaks[1] == pytest.approx(_lame(win.model.params), rel=0.05)
    assert all(k is None or "peak_hoop_stress" in k for k in seen)  # complete predictions only

    before = win.solve_count
    win.solve()  # F5: the solve's quantities replace the prediction's
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.results_label.text().startswith("Last solve:"), timeout=5000)
    solved = win.result.meta["key_quantities"]
    assert f"{solved['peak_hoop_stress'] / 1e6:.4g} MPa" in win.results_label.text()
    assert solved["peak_hoop_stress"] == pytest.approx(peaks[1], rel=0.05)
    win.close()

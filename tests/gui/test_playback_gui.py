"""Playback of a transient solve in the window: time slider, in-place frames, one colour range,
probe history, curves CSV, cancel keeping the steps done (#18)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study

from .conftest import SOLVE_TIMEOUT_MS

COARSE = {"mesh_size": 0.006, "fin_thickness": 0.004, "t_end": 60.0}


@pytest.fixture
def transient_window(qtbot, shared_runner):
    configure_pyvista()
    win = MainWindow(get_study("heat-sink-transient"), runner=shared_runner, auto_solve=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.model.set_values(COARSE)
    yield win
    win.close()


def _solve(win, qtbot):
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)


def test_transient_solve_plays_probes_and_exports(transient_window, qtbot,
                                                              tmp_path):
    win = transient_window
    _solve(win, qtbot)
    pb, m = win.playback, win.app.playback
    h = pb.history
    assert h is not None and h.complete and m.n_steps == h.n_steps == 61
    assert m.step == 60 and m.time == pytest.approx(60.0)
    assert win.playback.bar.isVisible() and win.history_chart.isVisible()
    assert "60 s" in pb.bar.time_label.text()
    # the result is the final state with the study's key quantities
    assert "thermal_impedance" in win.result.meta["key_quantities"]
    vp = win.viewport
    grid = vp.grid
    lo, hi = h.meta["field_ranges"]["temperature"]
    assert vp.clim == pytest.approx((lo, hi))
    m.step = 3                                            # the slider: frame 3, in place
    assert vp.grid is grid and vp.clim == pytest.approx((lo, hi))
    np.testing.assert_allclose(np.asarray(grid.point_data["field"]),
                               np.asarray(h.point_data["temperature"][3]), rtol=1e-6)
    assert m.time == pytest.approx(float(h.times[3]))
    # play with loop: the steps advance and wrap, frames are counted
    m.loop = True
    m.speed = 4.0
    m.step = 55
    m.playing = True
    qtbot.waitUntil(lambda: m.step < 55, timeout=10_000)   # wrapped round
    m.playing = False
    assert pb.measured_fps() > 0
    fps = pb.benchmark(5)
    assert fps > 1.0
    # the chart: the peak temperature over time; CSV of every curve
    chart = win.history_chart
    label, values, unit = chart.series()
    assert unit == "\u00b0C" and len(values) == 61  # shown as read; the CSV keeps degC
    path = chart.export_csv(tmp_path / "curves.csv")
    rows = list(csv.reader(path.open()))
    assert rows[0][0] == "time (s)" and len(rows) == 62
    assert float(rows[-1][rows[0].index("peak_temperature (degC)")]) == pytest.approx(
        h.curves["peak_temperature"][-1])
    # another field while a history is shown: the frame is read again with it
    win.app.view.field = "heat_flux"
    np.testing.assert_allclose(np.asarray(vp.grid.point_data["field"]),
                               np.linalg.norm(np.asarray(h.point_data["heat_flux"][m.step]),
                                              axis=1), rtol=1e-5)
    win.app.view.field = "temperature"
    # the probe's history of the shown field equals the node's history there
    node = int(np.argmax(np.asarray(h.point_data["temperature"][-1])))
    win.view_tools.set_probe_mode(True)
    win.view_tools.probe_at(h.mesh.points[node])
    label, values, unit = win.history_chart.series()
    assert win.history_chart.curve_combo.currentData() == "__probe__"
    np.testing.assert_allclose(values, h.probe("temperature", node), rtol=1e-4)
    assert win.history_chart.rows()[0][-1].startswith("probe Temperature")
    # File > Export: an animation over time and a ParaView series, as jobs
    from physapp.gui import history_export
    from physapp.viz.figure import frame_count

    ex = win.exports
    with qtbot.waitSignal(ex.exported, timeout=60_000):
        history_export.export_animation(ex, str(tmp_path / "t.gif"), 4, size=(160, 120))
    assert frame_count(tmp_path / "t.gif") == 4
    with qtbot.waitSignal(ex.exported, timeout=60_000):
        history_export.export_series(ex, str(tmp_path / "t.pvd"))
    assert (tmp_path / "t.pvd").read_text().count("<DataSet") == 61
    win.playback.clear()                                  # a steady result next: its own range
    assert vp.fixed_clim is None and not win.playback.bar.isVisible()


def test_cancel_keeps_the_steps_done(transient_window, qtbot, monkeypatch):
    from physapp.gui import history_jobs

    # no live look during this ~2 s solve: its first grid build on the GUI thread can delay
    # the cancel past the solve's end (the live view is tested in test_history_live)
    monkeypatch.setattr(history_jobs, "LIVE_INTERVAL_S", 1e9)
    win = transient_window
    win.model.set_values({"mesh_size": 0.004, "fin_thickness": 0.003})
    win.solve()
    def steps_done():
        found = re.search(r"step (\d+)/", win.app.solve.message)
        return int(found.group(1)) if found else 0

    qtbot.waitUntil(lambda: steps_done() >= 3, timeout=SOLVE_TIMEOUT_MS)
    win.cancel_solve()
    qtbot.waitUntil(lambda: not win.app.solve.busy, timeout=10_000)
    h = win.playback.history
    assert h is not None and not h.complete and 4 <= h.n_steps < 61
    assert "steps done are shown" in win.message_bar.text()
    assert win.result is not None and win.viewport.has_field

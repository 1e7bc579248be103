"""A history model in the window (#18 item 4, #22 item 2): a slider move plays the predicted
history with the curve's uncertainty band; F5 of the same design overlays the solved curve,
plots the difference against time, and the split view follows one time slider.

Oracles: the tiny model is trained here on closed-form histories (tests/surrogates/
history_synth.py), so what the window shows must equal the model's own predict_history, which
must follow the closed form; the chart's error must equal the interpolated predicted curve minus
the solved one, step by step.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study

from .conftest import SOLVE_TIMEOUT_MS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "surrogates"))
from history_synth import COARSE, make_dataset, synthetic_history  # noqa: E402


@pytest.fixture(scope="module")
def history_model(tmp_path_factory):
    from physapp.surrogates.models.history_model import train_history
    from physapp.surrogates.storage import save_surrogate

    folder = tmp_path_factory.mktemp("hmodel")
    data = make_dataset(folder / "h.h5").history_data()
    model = train_history("curve-gp", data, iters=60)
    return save_surrogate(model, folder / "curve-gp.pt")


def test_predicted_history_plays_and_compares_with_the_solve(qtbot, shared_runner,
                                                            history_model):
    configure_pyvista()
    win = MainWindow(get_study("heat-sink-transient"), runner=shared_runner, auto_solve=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.model.set_values({**COARSE, "power": 20.0, "h": 25.0})
    hp, pb, chart = win.history_predictions, win.playback, win.history_chart
    win.surrogates.load_file(history_model)
    qtbot.waitUntil(lambda: hp.applied >= 1, timeout=30_000)
    h = pb.history
    assert h is hp.predicted and h.source == "surrogate:curve-gp" and h.n_steps == 12
    assert pb.bar.isVisible() and chart.isVisible()
    mesh_pts = h.mesh.points
    _, peak = synthetic_history(mesh_pts, 20.0, 25.0, h.times)
    np.testing.assert_allclose(h.curves["peak_temperature"], peak, atol=0.05)
    # the chart: the predicted curve with its +-2 std band
    chart.curve_combo.setCurrentIndex(chart.curve_combo.findData("peak_temperature"))
    label, values, _ = chart.series()
    np.testing.assert_allclose(values, h.curves["peak_temperature"])
    assert len(chart.axes.collections) == 1  # the fill_between band
    # a slider move: the new design's history, computed off the GUI thread, replaces it
    win.model.set_value("power", 28.0)
    qtbot.waitUntil(lambda: hp.predicted.meta["params"]["power"] == 28.0, timeout=10_000)
    h2 = pb.history
    assert h2 is hp.predicted
    _, peak2 = synthetic_history(mesh_pts, 28.0, 25.0, h2.times)
    np.testing.assert_allclose(h2.curves["peak_temperature"], peak2, atol=0.05)
    win.app.playback.step = 3  # the time slider shows predicted frame 3 in place
    np.testing.assert_allclose(np.asarray(win.viewport.grid.point_data["field"]),
                               h2.point_data["temperature"][3], rtol=1e-5)
    # F5 of the same design: the solved history plays, the chart overlays the prediction
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: hp.reference is not None, timeout=5000)
    ref = pb.history
    assert ref is hp.reference and ref.source.startswith("solver") and ref.n_steps == 61
    assert chart.overlay is hp.predicted and chart.error_axes is not None
    t, err = chart.error
    expected = (np.interp(ref.times, h2.times, h2.curves["peak_temperature"])
                - ref.curves["peak_temperature"])
    np.testing.assert_allclose(t, ref.times)
    np.testing.assert_allclose(err, expected, rtol=1e-9, atol=1e-9)
    # the shown field's relative error per predicted frame, against the nearest solved step:
    # both start from the air temperature, so it starts near zero and then grows
    qtbot.waitUntil(lambda: chart.field_error is not None, timeout=10_000)
    name, ft, fe = chart.field_error
    assert len(ft) == 12 and ft[0] == 0.0 and fe[0] < 0.01 and fe.max() > 10 * fe[0]
    # the split view: one time slider drives the surrogate and the reference panes
    win.compare.set_split(True)
    win.app.playback.step = 30
    frames = hp.frames_at(30)
    assert frames is not None
    pred_frame, ref_frame = frames
    assert ref_frame.meta["time"] == pytest.approx(30.0)
    assert pred_frame.meta["time"] == pytest.approx(
        h2.times[np.argmin(np.abs(h2.times - 30.0))])
    assert win.result.meta["step"] == 30
    assert win.compare.prediction.result.meta["time"] == pred_frame.meta["time"]
    qtbot.waitUntil(lambda: win.compare.panes[0].result is not None and win.compare.panes[
        0].result.meta.get("time") == pred_frame.meta["time"], timeout=10_000)
    assert win.compare.panes[1].result.meta["step"] == 30
    c = win.compare  # the difference pane and metrics: that predicted frame vs that step
    qtbot.waitUntil(lambda: c.pair is not None and c.pending_job == 0 and c.pair.surrogate.meta
                    .get("time") == pred_frame.meta["time"], timeout=10_000)
    assert c.pair.reference.meta["step"] == 30 and c.difference is not None
    win.compare.set_split(False)
    win.close()

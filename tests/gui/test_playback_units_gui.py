"""The playback bar and the curves over time of a load-stepped history (#13): its step axis is a
length, shown in mm like every other length, and the bar's label is never clipped at 1280 px
(it read "(21/2")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physapp.core.history import FieldHistory
from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.playback import SLIDER_WIDTH, step_axis, step_text
from physapp.io.readers import read_mesh
from physapp.studies import get_study

pytestmark = pytest.mark.gui

SQUARE = Path(__file__).parents[1] / "data" / "meshes" / "square.msh"


def _travel_history(field: str) -> FieldHistory:
    mesh, _report = read_mesh(SQUARE, isolate=False)
    travel = np.linspace(0.0, 3.5e-3, 21)  # a top plate pressed 3.5 mm in 20 steps
    x = mesh.points[:, 0]
    values = np.array([1e6 * (1 + k) * (1 + x) for k in range(21)])
    return FieldHistory(mesh, travel, {field: values}, "reference", units={field: "Pa"},
                        curves={"reaction_force": 100.0 * travel / 3.5e-3},
                        curve_units={"reaction_force": "N"}, time_label="top displacement",
                        time_unit="m")


def test_step_axis_of_a_length_is_in_mm():
    h = _travel_history("von_mises")
    assert step_axis(h) == (1e3, "mm")
    assert step_text(h, 3.5e-3) == "top displacement = 3.5 mm"
    seconds = FieldHistory(h.mesh, [0.0, 60.0], {}, "x")  # time stays in seconds
    assert step_axis(seconds) == (1.0, "s") and step_text(seconds, 60.0) == "time = 60 s"


@pytest.mark.parametrize("width", [1280, 1400])
def test_playback_label_whole_and_in_mm(qtbot, shared_runner, width):
    configure_pyvista()
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.resize(width, 800 if width == 1280 else 900)
    win.show()
    qtbot.waitExposed(win)
    h = _travel_history(win.spec.default_field)
    win.playback.set_history(h)
    bar = win.playback.bar
    qtbot.waitUntil(bar.isVisible)
    label = bar.time_label
    assert label.toolTip() == "top displacement = 3.5 mm  (21/21)"
    assert label.text() in (label.toolTip(), "3.5 mm  (21/21)")  # no axis name when narrow
    # the whole text fits the width the layout gave the label, and the slider stays usable
    qtbot.waitUntil(lambda: label.width() >= label.fontMetrics().horizontalAdvance(label.text())
                    and bar.slider.width() >= SLIDER_WIDTH)
    win.app.playback.step = 10
    assert label.toolTip() == "top displacement = 1.75 mm  (11/21)"
    # a bar with room shows the axis name; a narrow one drops it, never the step count
    bar.resize(900, bar.height())
    assert label.text() == "top displacement = 1.75 mm  (11/21)"
    bar.resize(380, bar.height())
    assert label.text() == "1.75 mm  (11/21)"
    # the chart's axis is in mm too, its marker at the step's travel
    chart = win.history_chart
    chart.redraw()
    assert chart.axes.get_xlabel() == "top displacement (mm)"
    np.testing.assert_allclose(chart.axes.lines[0].get_xdata(), h.times * 1e3)
    np.testing.assert_allclose(chart.marker.get_xdata(), [1.75, 1.75])

"""The flow studies in the GUI (#17): choice parameters, streamlines and glyphs, the Cp chart."""

from __future__ import annotations

import pytest

from physapp.app import AppModel, DesignModel
from physapp.gui.qt_parameter_panel import ChoiceRow, ParameterRow, QtParameterPanel
from physapp.studies import get_study

pytestmark = pytest.mark.gui


def test_a_choice_parameter_is_a_drop_down_bound_both_ways(qtbot):
    study = get_study("airfoil")
    model = DesignModel(study)
    panel = QtParameterPanel(model)
    qtbot.addWidget(panel)
    row = panel.rows["model"]
    assert isinstance(row, ChoiceRow) and not hasattr(row, "slider")
    spec = study.spec.parameter("model")
    assert [row.combo.itemText(i) for i in range(row.combo.count())] == list(spec.choices)
    assert row.combo.currentText() == spec.choice(model.value("model"))
    # the user picks the other physics: the model stores its index
    other = 1 - int(model.value("model"))
    row.combo.setCurrentIndex(other)
    assert model.value("model") == float(other)
    assert spec.choice(model.value("model")) == spec.choices[other]
    # the model changes (a session, a script): the drop-down follows
    model.set_value("model", spec.choices[0])
    assert row.combo.currentIndex() == 0
    tip = row.combo.itemData(0, 3)  # Qt.ToolTipRole: the option's part of the description
    assert tip.startswith(spec.choices[0] + ":")
    # the other parameters are still sliders
    assert all(isinstance(r, ParameterRow) for n, r in panel.rows.items() if n != "model")


def test_a_choice_survives_a_session_round_trip():
    study = get_study("airfoil")
    app = AppModel(study)
    app.design.set_value("model", 1.0)
    back = AppModel.from_dict(app.to_dict(), get_study)
    assert back.design.value("model") == 1.0


@pytest.fixture(scope="module")
def _airfoil(qapp, shared_runner, tmp_path_factory):
    from tests.gui.conftest import module_window

    yield from module_window("airfoil", shared_runner, tmp_path_factory, size=(1280, 800))


@pytest.fixture
def airfoil_window(_airfoil):
    """The main window on the airfoil (potential flow: about a second to solve), with its
    start-up solve on screen: the module's shared window, reset to that state
    (tests/gui/shared_window.py)."""
    from tests.gui.conftest import SOLVE_TIMEOUT_MS
    from tests.gui.shared_window import reset_window

    win, base = _airfoil
    reset_window(win, base, SOLVE_TIMEOUT_MS)
    return win


def _tangent_alignment(lines, velocity_grid) -> float:
    """Median cosine between streamline segments and the velocity at their midpoints."""
    import numpy as np
    import pyvista as pv

    pts = np.asarray(lines.points)
    conn = lines.lines
    cos = []
    i = 0
    while i < len(conn):
        n = conn[i]
        ids = conn[i + 1:i + 1 + n]
        i += n + 1
        seg = pts[ids[1:]] - pts[ids[:-1]]
        mid = 0.5 * (pts[ids[1:]] + pts[ids[:-1]])
        mid[:, 2] = 0.0
        u = np.asarray(pv.PolyData(mid).sample(velocity_grid)["velocity"])
        ok = (np.linalg.norm(seg, axis=1) > 0) & (np.linalg.norm(u, axis=1) > 0)
        c = np.einsum("ij,ij->i", seg[ok], u[ok]) / (
            np.linalg.norm(seg[ok], axis=1) * np.linalg.norm(u[ok], axis=1))
        cos.extend(np.abs(c))  # integrated backwards too: the sign may be either
    return float(np.median(cos))


def test_streamlines_and_arrows_follow_the_flow_and_not_a_solid(airfoil_window, qtbot):
    from physapp.viz import flow_lines
    from tests.gui.conftest import SOLVE_TIMEOUT_MS

    win = airfoil_window
    flow = win.flow
    assert flow.row is not None and flow.available
    # the view frames the section, not the far field 30 chords across
    lo, hi = win.viewport.focus
    assert lo[0] < 0 and hi[0] > 1 and hi[0] - lo[0] < 6
    assert win.viewport.camera_state()["parallel_scale"] < 5
    assert not flow.shows_streamlines and not flow.shows_arrows  # off by default
    flow.stream_check.setChecked(True)  # the user ticks the box: the model, then the view
    assert win.app.view.streamlines and flow.shows_streamlines
    grid = flow_lines.velocity_grid(win.viewport.result)
    assert _tangent_alignment(flow.lines, grid) > 0.99
    a, b = flow.seed_line  # automatic: across the flow, upstream of the section (x/c in 0..1)
    assert a[0] == b[0] < 0 and a[1] < 0 < b[1]
    win.app.view.glyphs = True
    assert flow.arrow_check.isChecked() and flow.shows_arrows
    actor = win.viewport.plotter.actors["flow.streamlines"]
    # the user's line seeds instead: streamlines start on it
    win.view_tools.show_line(((-0.5, 0.3, 0.0), (-0.5, 0.6, 0.0)))
    flow.set_seed_mode("Line plot's line")
    assert flow.seed_line[0][1] == pytest.approx(0.3)
    import numpy as np

    n = flow_lines.N_SEEDS
    seeds = np.column_stack([np.full(n, -0.5), np.linspace(0.3, 0.6, n)])
    pts = np.asarray(flow.lines.points)[:, :2]
    gaps = [np.linalg.norm(pts - s, axis=1).min() for s in seeds]
    assert max(gaps) < 1e-6  # a streamline through every seed on the user's line
    # a new design is drawn into the same actors
    win.model.set_value("alpha", 8.0)
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    assert win.viewport.plotter.actors["flow.streamlines"] is actor and flow.shows_streamlines
    # an exported figure draws them too
    from dataclasses import replace

    from physapp.viz.figure import render_figure

    pane = win.exports.panes()[0]
    assert pane.view["streamlines"] and pane.view["seed_line"] is not None
    dark = [(render_figure([replace(pane, view={**pane.view, "streamlines": on,
                                                "glyphs": on})], (800, 500)) < 60).all(axis=2)
            .mean() for on in (False, True)]
    assert dark[1] > dark[0] + 0.005
    # a solid: no flow options and nothing drawn, although the flags stay on
    win.set_study(get_study("plate-with-hole"))
    qtbot.waitUntil(lambda: win.viewport.has_field, timeout=SOLVE_TIMEOUT_MS)
    assert win.app.view.streamlines and flow.row is None
    assert not flow.available and not flow.shows_streamlines and not flow.shows_arrows
    assert win.viewport.focus is None


def test_cp_chart_plots_the_surface_and_exports_it(airfoil_window, qtbot, tmp_path):
    import csv

    import numpy as np

    from tests.gui.conftest import SOLVE_TIMEOUT_MS

    win = airfoil_window
    flow = win.flow
    assert flow.cp_button is not None and not flow.cp_button.isHidden()
    assert win.actions["view.cp_chart"].isEnabled()
    dlg = flow.open_cp_chart()
    assert [c.label for c in dlg.curves] == ["Reference (FE solve)"]
    # the study's description is shown as text ("Re <= 2000" is not an HTML tag)
    from PySide6.QtGui import QTextDocument
    from PySide6.QtWidgets import QLabel

    def shown(label):
        doc = QTextDocument()
        doc.setHtml(label.text())
        return doc.toPlainText()

    assert any("(Re <= 2000)" in shown(lb) for lb in win.findChildren(QLabel))
    cp = win.result.meta["curves"]["cp"]
    lines = dlg.axes.get_lines()
    upper = next(ln for ln in lines if ln.get_label().endswith("upper surface"))
    # -Cp upwards: the plotted y is minus the solver's Cp, point for point
    assert np.allclose(upper.get_ydata(), -np.asarray(cp["upper"])[:, 1])
    assert np.allclose(upper.get_xdata(), np.asarray(cp["upper"])[:, 0])
    # a cambered section at +4 degrees lifts: suction side above the pressure side on average
    xs = np.linspace(0.05, 0.95, 50)
    up = np.interp(xs, *np.asarray(cp["upper"]).T)
    lo = np.interp(xs, *np.asarray(cp["lower"]).T)
    assert np.mean(lo - up) > 0.1
    path = dlg.export_csv(tmp_path / "cp.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == len(cp["upper"]) + len(cp["lower"])
    got = [float(r["Cp"]) for r in rows if r["surface"] == "upper"]
    assert np.allclose(got, np.asarray(cp["upper"])[:, 1], rtol=1e-8)
    # symmetric section at zero incidence: both surfaces carry the same Cp
    win.model.set_values({"camber": 0.0, "alpha": 0.0})
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not dlg._timer.isActive(), timeout=2000)
    dlg.replot()
    sides = dlg.curves[0].sides
    up = np.interp(xs, sides["upper"]["x"], sides["upper"]["value"])
    lo = np.interp(xs, sides["lower"]["x"], sides["lower"]["value"])
    # (to the discretisation error: the far-field mesh is not mirror-symmetric)
    assert np.max(np.abs(up - lo)) < 0.03 and np.max(np.abs(up)) > 0.3


def test_cp_chart_shows_the_surrogate_with_its_band(airfoil_window, qtbot, tmp_path):
    import csv

    import numpy as np

    win = airfoil_window
    c = win.surrogates
    assert c.select_shipped()
    qtbot.waitUntil(lambda: c.last_prediction is not None, timeout=30_000)
    dlg = win.flow.open_cp_chart()
    assert [x.label.split(" ")[0] for x in dlg.curves] == ["Reference", "Surrogate"]
    sur = dlg.curves[1].sides["upper"]
    assert sur["std"] is not None and np.all(sur["std"] >= 0)
    assert len(dlg.axes.collections) == 2  # a band for each surface
    # the predicted curve is the predicted field at the body's nodes, each node once
    result = c.last_prediction.result
    body = np.unique(result.mesh.boundaries["body"])
    both = np.concatenate([dlg.curves[1].sides[s]["value"] for s in ("upper", "lower")])
    assert np.allclose(np.sort(np.unique(both)),
                       np.sort(np.unique(result.point_data["pressure_coefficient"][body])))
    rows = list(csv.DictReader(dlg.export_csv(tmp_path / "cp.csv").open(encoding="utf-8")))
    assert any(r["curve"].startswith("Surrogate") and r["Cp std"] for r in rows)
    assert "difference" in dlg.status.text()


def test_flow_view_options_survive_a_session_round_trip():
    app = AppModel(get_study("cylinder-in-channel"))
    app.view.streamlines = True
    data = app.to_dict()
    assert data["view"]["streamlines"] is True and data["view"]["glyphs"] is False
    back = AppModel.from_dict(data, get_study)
    assert back.view.streamlines and not back.view.glyphs
    # a session written before these options existed opens with them off
    del data["view"]["streamlines"], data["view"]["glyphs"]
    old = AppModel.from_dict(data, get_study)
    assert not old.view.streamlines and not old.view.glyphs


def test_flow_pressure_reads_in_pa_and_a_solid_stress_stays_in_mpa(airfoil_window, qtbot):
    """#13/#17: the pressure of a unit-speed flow (order 0.01-1 Pa) is shown in Pa in the colour
    bar, the probe and the line plot, with the solver's numbers (not 1e-07 MPa)."""
    import numpy as np

    from physapp.viz.grids import display_unit

    win = airfoil_window
    vp, vt = win.viewport, win.view_tools
    p = np.asarray(win.result.point_data["pressure"], dtype=float)
    assert 1e-3 < np.abs(p).max() < 1e3  # the solver's pressure, in Pa
    win.app.view.field = "pressure"
    qtbot.waitUntil(lambda: vp.field[0] == "pressure", timeout=5_000)
    assert vp.colorbar_title == "Pressure [Pa]"
    lo, hi = vp.clim
    assert lo == pytest.approx(p.min(), rel=1e-5) and hi == pytest.approx(p.max(), rel=1e-5)
    assert 0.01 < max(abs(lo), abs(hi)) < 10
    # the probe, ahead of the leading edge, near stagnation: p ~ +q = 0.5 rho U^2 (same unit)
    values = vt.probe_at((-0.05, 0.0, 0.0))
    assert vt.probe_units["pressure"] == "Pa"
    assert 0.01 < values["pressure"] <= hi + 1e-9
    assert vt._marker_text.GetInput().endswith(" Pa")
    # the line plot: the same numbers, labelled in Pa
    dlg = vt.open_line_plot()
    dlg.field_combo.setCurrentIndex(dlg.field_combo.findData("pressure"))
    dlg.set_line(np.array([-1.0, 0.3, 0.0]), np.array([2.0, 0.3, 0.0]))
    assert dlg.axes.get_ylabel() == "Pressure [Pa]"
    vals = dlg.curves[0].values
    assert np.nanmax(np.abs(vals)) <= np.abs(p).max() + 1e-9 and np.nanmax(np.abs(vals)) > 1e-3
    dlg.close()
    # the same table keeps a solid's stresses (tens of MPa) in MPa
    assert display_unit("Pa", 30e6) == (1e-6, "MPa")


def test_metrics_rows_take_their_unit_from_the_reference_size(qtbot):
    """The metrics table: a flow's pressure row in Pa; a solid's stress row in MPa, its small
    surrogate-minus-reference difference too (the row's unit, not the difference's own size)."""
    from physapp.gui.metrics_panel import MetricsPanel

    panel = MetricsPanel()
    qtbot.addWidget(panel)
    kq = {
        "pressure_drop": {"surrogate": 0.118, "reference": 0.1166, "difference": 0.0014,
                          "relative": 0.0014 / 0.1166, "std": None, "unit": "Pa"},
        "peak_von_mises": {"surrogate": 30.5e6, "reference": 30.0e6, "difference": 500.0,
                           "relative": 500.0 / 30e6, "std": None, "unit": "Pa"},
    }
    fields = {"pressure": {"rel_l2": 0.01, "max_abs": 0.003, "magnitude": 0.13, "unit": "Pa"},
              "von_mises": {"rel_l2": 0.01, "max_abs": 2e3, "magnitude": 3e7, "unit": "Pa"}}
    panel.show_metrics({"key_quantities": kq, "fields": fields}, {}, "test")
    kt, ft = panel.kq_table, panel.field_table
    assert [kt.item(0, j).text() for j in (1, 2, 3)] == ["0.118 Pa", "0.1166 Pa", "+0.0014 Pa"]
    assert [kt.item(1, j).text() for j in (1, 2, 3)] == ["30.5 MPa", "30 MPa", "+0.0005 MPa"]
    assert ft.item(0, 2).text() == "0.003 Pa" and ft.item(1, 2).text() == "0.002 MPa"


def test_last_solve_text_uses_the_same_table():
    from physapp.gui.side_panels import key_quantities_text

    text = key_quantities_text(["pressure_drop", "peak_von_mises", "length"],
                               {"pressure_drop": 0.1166, "peak_von_mises": 3.2e7, "length": 0.08},
                               {"pressure_drop": "Pa", "peak_von_mises": "Pa", "length": "m"})
    assert text.splitlines()[1:] == ["Pressure drop: 0.1166 Pa", "Peak von Mises stress: 32 MPa",
                                     "Length: 80 mm"]

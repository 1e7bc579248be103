"""The split (compare) view end to end: a real trained POD-GP, the real solver process, three real
QtInteractor panes under Xvfb, and the numbers checked against numpy.

A module fixture solves 8 plate-with-hole designs (traction 5-50 MPa, hole radius 10-30 mm, P1,
10 mm elements) and trains a small POD-GP; the windows solve the plate at 5 mm (P1), so the
surrogate and the reference live on different meshes and the difference is interpolated.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from physapp.gui.app import configure_pyvista
from physapp.gui.compare_view import DIFF_STALE, NO_SURROGATE, REF_STALE, SOLVING
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import AppSettings
from physapp.solvers.interpolate import MeshInterpolator
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

FRAME_MS = 15_000  # the first prediction loads the model (torch)


@pytest.fixture(scope="module")
def model(plate_pod_gp):
    """A POD-GP of the plate (traction and hole radius vary; tests/gui/conftest.py)."""
    return plate_pod_gp


@pytest.fixture
def win(qtbot, shared_runner):
    """A plate window without a start-up solve; P1 reference solves on the CPU."""
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(w)
    w.resize(1500, 950)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()  # F6 is a window shortcut: the window must have the focus
    qtbot.waitActive(w)
    w.apply_settings(AppSettings(device="cpu", workers=1, element_order=1))
    qtbot.waitUntil(lambda: w.viewport.grid is not None, timeout=10_000)  # the first preview
    yield w
    w.close()


def _use(win, qtbot, path) -> None:
    before = win.surrogates.applied
    win.surrogates.load_file(path)
    qtbot.waitUntil(lambda: win.surrogates.showing and win.surrogates.applied > before,
                    timeout=FRAME_MS)


def _compared(win, qtbot) -> None:
    """Wait until the split view compares a prediction with an up-to-date solve."""
    qtbot.waitUntil(lambda: win.compare.metrics().get("up_to_date", False),
                    timeout=SOLVE_TIMEOUT_MS)
    qtbot.wait(50)


def _display(result, name: str) -> np.ndarray:
    """von Mises in MPa, displacements in mm: what the panes show."""
    factor = {"Pa": 1e-6, "m": 1e3}.get(result.units.get(name.partition("[")[0], ""), 1.0)
    return result.scalar(name).astype(np.float64) * factor


def test_f6_without_surrogate_solves_and_says_what_to_do(win, qtbot):
    c = win.compare
    assert not c.is_split and c.panes == [] and win.result is None
    qtbot.keyClick(win, Qt.Key.Key_F6)  # View > Compare with solver
    assert c.is_split and c.action.isChecked() and c.button.isChecked()
    assert not win.viewport.isVisible() and c.widget.isVisible()
    assert len(c.panes) == 3
    # no solve yet: it starts at once and the reference pane says so
    assert c.pane_message(1) == SOLVING
    assert c.pane_message(0) == NO_SURROGATE and c.pane_message(2) == NO_SURROGATE
    assert c.pane_titles == ["Surrogate (none selected)", "Reference (FE, P1)",
                             "Difference S \u2212 R"]
    qtbot.waitUntil(lambda: win.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: c.pane_message(1) == "", timeout=5000)
    ref = c.panes[1]
    assert ref.has_field and ref.result is win.result
    assert ref.colorbar_title == "von Mises stress [MPa]"
    assert ref.n_points == win.result.mesh.n_points
    assert c.pane_message(0) == NO_SURROGATE and not c.panes[0].has_field
    assert c.metrics() == {}
    # a field switch keeps the shared camera where it is (no reset, no zoom creep)
    cam = c.panes[1].plotter.camera
    scale, position = cam.GetParallelScale(), cam.GetPosition()
    win.field_combo.setCurrentIndex(win.field_combo.findData("displacement[0]"))
    qtbot.waitUntil(lambda: c.panes[1].field[0] == "displacement[0]", timeout=2000)
    assert c.panes[1].colorbar_title == "Displacement ux [mm]"
    assert cam.GetParallelScale() == pytest.approx(scale)
    assert cam.GetPosition() == pytest.approx(position)
    qtbot.keyClick(win, Qt.Key.Key_F6)  # and back
    assert not c.is_split and win.viewport.isVisible() and not c.widget.isVisible()
    assert not c.action.isChecked()
    # another study: the split view starts again from scratch
    qtbot.keyClick(win, Qt.Key.Key_F6)
    win.set_study(get_study("thick-cylinder"))
    assert not c.is_split and c.panes == []
    qtbot.waitUntil(win.viewport.isVisible, timeout=2000)  # the new study's viewport
    qtbot.keyClick(win, Qt.Key.Key_F6)
    assert c.is_split and len(c.panes) == 3 and c.pane_message(1) == SOLVING
    qtbot.waitUntil(lambda: c.pane_message(1) == "", timeout=SOLVE_TIMEOUT_MS)
    assert c.panes[1].result is win.result and win.result.meta["study"] == "thick-cylinder"


def test_split_view_compares_surrogate_and_reference(win, model, qtbot):
    c = win.compare
    _use(win, qtbot, model.path)
    c.button.click()  # Display > Compare with solver: no solve yet, so it starts one
    assert c.is_split and c.pane_message(1) == SOLVING
    _compared(win, qtbot)
    s_pane, r_pane, d_pane = c.panes
    pred, ref = c.prediction.result, win.result
    assert c.pane_titles == ["Surrogate (pod-gp)", "Reference (FE, P1)", "Difference S \u2212 R"]
    assert all(p.has_field for p in c.panes) and all(c.pane_message(i) == "" for i in range(3))
    assert s_pane.result is pred and r_pane.result is ref
    assert s_pane.n_points == pred.mesh.n_points != ref.mesh.n_points == r_pane.n_points
    assert d_pane.n_points == ref.mesh.n_points  # the difference lives on the reference mesh
    # the same field in every pane
    assert s_pane.field[0] == r_pane.field[0] == "von_mises"
    assert d_pane.colorbar_title == "S \u2212 R von Mises stress [MPa]"

    # one colour range for surrogate and reference: the union of both (MPa)
    s_vals, r_vals = _display(pred, "von_mises"), _display(ref, "von_mises")
    union = (min(s_vals.min(), r_vals.min()), max(s_vals.max(), r_vals.max()))
    assert s_pane.clim == pytest.approx(union) and r_pane.clim == pytest.approx(union)
    # locked: it stays when the data changes
    c.widget.lock_check.setChecked(True)
    assert c.view.clim == pytest.approx(union)

    # the difference: the surrogate interpolated to the reference nodes, minus the reference
    interp = MeshInterpolator(pred.mesh)
    loc = interp.locate(ref.mesh.points)
    s_on_r = interp.evaluate(pred.point_data["von_mises"], loc)
    diff = s_on_r - ref.point_data["von_mises"].astype(np.float64)
    shown = np.asarray(d_pane.grid.point_data["field"])
    np.testing.assert_allclose(shown, diff * 1e-6, rtol=0, atol=2e-6 * np.abs(r_vals).max())
    top = np.abs(shown).max()
    assert d_pane.clim == pytest.approx((-top, top))  # diverging, centred on zero
    assert d_pane.actor.mapper.lookup_table.cmap.name == "coolwarm"
    # relative: |S - R| / max|R| in per cent
    c.widget.mode_combo.setCurrentIndex(1)
    assert c.view.relative_difference
    rel = np.asarray(d_pane.grid.point_data["field"])
    want = np.abs(diff) / np.abs(ref.point_data["von_mises"]).max() * 100
    np.testing.assert_allclose(rel, want, rtol=0, atol=1e-4)
    assert d_pane.clim == pytest.approx((0.0, rel.max()))
    assert d_pane.colorbar_title == "Relative error von Mises stress [% of max R]"
    assert c.pane_titles[2] == "Relative difference |S \u2212 R| / max|R|"

    # the main view's options reach the panes while the split view is on
    win.view_tools.set_colormap("viridis")
    assert s_pane.actor.mapper.lookup_table.cmap.name == "viridis"
    assert r_pane.actor.mapper.lookup_table.cmap.name == "viridis"
    win.edges_check.setChecked(True)
    assert all(p.show_edges for p in c.panes)
    win.edges_check.setChecked(False)
    win.view_tools.set_colormap("turbo")

    # metrics: numpy on the same arrays
    m = c.metrics()
    assert m["n_outside"] == loc.n_outside and m["interpolated"]
    vm = m["fields"]["von_mises"]
    r = ref.point_data["von_mises"].astype(np.float64)
    s32 = s_on_r.astype(np.float32).astype(np.float64)  # the compared result stores float32
    assert vm["rel_l2"] == pytest.approx(np.linalg.norm(s32 - r) / np.linalg.norm(r), rel=1e-9)
    assert vm["max_abs"] == pytest.approx(np.abs(s32 - r).max(), rel=1e-9)
    u_ref = ref.point_data["displacement"].astype(np.float64)
    u_sur = interp.evaluate(pred.point_data["displacement"], loc).astype(np.float32).astype(
        np.float64)
    du = m["fields"]["displacement"]
    assert du["rel_l2"] == pytest.approx(np.linalg.norm(u_sur - u_ref) / np.linalg.norm(u_ref),
                                         rel=1e-9)
    assert du["max_abs"] == pytest.approx(np.linalg.norm(u_sur - u_ref, axis=1).max(), rel=1e-9)
    peak = m["key_quantities"]["peak_von_mises"]
    i = int(np.argmax(pred.point_data["von_mises"]))
    assert peak["surrogate"] == pytest.approx(float(pred.point_data["von_mises"][i]))
    assert peak["reference"] == pytest.approx(ref.meta["key_quantities"]["peak_von_mises"])
    assert peak["difference"] == pytest.approx(peak["surrogate"] - peak["reference"])
    assert peak["std"] == pytest.approx(float(pred.point_data["von_mises_std"][i]))
    umax = m["key_quantities"]["max_displacement"]
    assert umax["surrogate"] == pytest.approx(
        np.linalg.norm(pred.point_data["displacement"].astype(np.float64), axis=1).max())
    assert umax["std"] is not None and umax["std"] > 0
    # ... and the panel shows them
    panel = c.widget.metrics_panel
    assert panel.cell_text("kq", 0, 0) == "Peak von Mises stress"
    assert panel.cell_text("kq", 0, 1) == f"{peak['surrogate'] * 1e-6:.4g} MPa"
    assert panel.cell_text("kq", 0, 2) == f"{peak['reference'] * 1e-6:.4g} MPa"
    assert panel.cell_text("kq", 0, 4) == f"{peak['relative'] * 100:+.2f} %"
    assert panel.cell_text("kq", 0, 5) == f"\u00b1 {peak['std'] * 1e-6:.4g} MPa"
    row = [panel.cell_text("fields", k, 0) for k in range(panel.field_table.rowCount())].index(
        "von Mises stress")
    assert panel.cell_text("fields", row, 1) == f"{vm['rel_l2'] * 100:.2f} %"

    # linked cameras: moving pane 1 moves the others
    syncs = c.camera_syncs
    cam = s_pane.plotter.camera
    cam.Zoom(1.7)
    cam.Azimuth(20)
    qtbot.waitUntil(lambda: c.camera_syncs > syncs, timeout=2000)
    for other in (r_pane, d_pane):
        o = other.plotter.camera
        assert o.GetPosition() == pytest.approx(cam.GetPosition())
        assert o.GetParallelScale() == pytest.approx(cam.GetParallelScale())
        assert o.GetViewUp() == pytest.approx(cam.GetViewUp())

    # a slider move: the surrogate pane follows in place, reference and difference go stale
    grid = s_pane.grid
    before = c.prediction.request_id
    win.panel.rows["traction"].slider.setValue(30.0)
    qtbot.waitUntil(lambda: c.prediction.request_id > before
                    and c.prediction.result.meta["params"]["traction"] == pytest.approx(30e6)
                    and s_pane.result is c.prediction.result, timeout=FRAME_MS)
    assert s_pane.grid is grid  # written in place, as in the main viewport
    assert c.view.clim == pytest.approx(union) and s_pane.clim == pytest.approx(union)
    assert r_pane.overlay_text == REF_STALE and "out of date" in c.pane_titles[1]
    assert d_pane.overlay_text == DIFF_STALE
    assert c.metrics()["up_to_date"] is False
    # F5: the new solve brings all three panes up to date
    win.solve()
    _compared(win, qtbot)
    assert r_pane.overlay_text == "" and d_pane.overlay_text == ""
    assert c.metrics()["params"]["traction"] == pytest.approx(30e6)
    assert c.metrics()["key_quantities"]["peak_von_mises"]["reference"] == pytest.approx(
        win.result.meta["key_quantities"]["peak_von_mises"])

    # the field selector switches every pane
    win.field_combo.setCurrentIndex(win.field_combo.findData("displacement[0]"))
    qtbot.wait(50)
    assert [p.field[0] for p in c.panes[:2]] == ["displacement[0]"] * 2
    assert d_pane.colorbar_title == "Relative error Displacement ux [% of max R]"
    c.set_relative(False)
    d = c.difference
    np.testing.assert_allclose(
        np.asarray(d_pane.grid.point_data["field"]), d.values * 1e3, rtol=1e-6, atol=1e-12)
    assert d_pane.colorbar_title == "S \u2212 R Displacement ux [mm]"

    qtbot.keyClick(win, Qt.Key.Key_F6)
    assert not c.is_split and win.viewport.isVisible()


def test_large_meshes_are_compared_on_a_worker_thread(win, model, qtbot, monkeypatch):
    """Above SYNC_POINTS reference nodes the interpolation runs off the GUI thread; the result is
    the one the GUI thread would compute."""
    import physapp.gui.compare_view as cv

    monkeypatch.setattr(cv, "SYNC_POINTS", 0)
    c = win.compare
    _use(win, qtbot, model.path)
    qtbot.keyClick(win, Qt.Key.Key_F6)
    qtbot.waitUntil(lambda: c.pending_job > 0 or c.pair is not None, timeout=SOLVE_TIMEOUT_MS)
    _compared(win, qtbot)
    assert c.pending_job == 0 and c._worker is not None  # it went through the worker
    pair = c.pair
    again = cv.compare_pair(pair.surrogate, pair.reference, win.spec.key_quantities)
    assert again.metrics["fields"] == pair.metrics["fields"]
    assert c.panes[2].has_field and c.pane_message(2) == ""
    assert "on the reference mesh" in c.widget.metrics_panel.status.text()

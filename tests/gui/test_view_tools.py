"""Probe, line plot, clip, warp, colour map, camera views and ViewSettings on a real window
(real QtInteractor, real solver process; run under Xvfb)."""

from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import AppSettings
from physapp.gui.view_settings import ViewSettings
from physapp.gui.viewport import CAMERA_VIEWS, Viewport
from physapp.studies import get_study
from physapp.viz.grids import display_triangles, display_unit
from physapp.viz.probe import sample_line
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

FRAME_MS = 15_000


def _numpy_interpolation(result, point, fields) -> dict[str, float]:
    """Independent reference: brute-force barycentric coordinates in every display triangle."""
    mesh = result.mesh
    tris = display_triangles(mesh)
    p = mesh.points[:, :2]
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    x = np.asarray(point[:2], dtype=float)
    det = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])
    l1 = ((x[0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (x[1] - a[:, 1])) / det
    l2 = ((b[:, 0] - a[:, 0]) * (x[1] - a[:, 1]) - (x[0] - a[:, 0]) * (b[:, 1] - a[:, 1])) / det
    lam = np.column_stack([1 - l1 - l2, l1, l2])
    i = int(np.argmax(lam.min(axis=1)))
    assert lam[i].min() > -1e-9, "the point is not on the part"
    out = {}
    for f in fields:
        factor = display_unit(f.unit)[0]
        out[f.name] = float(lam[i] @ result.scalar(f.name)[tris[i]].astype(float)) * factor
    return out


def _display_xy(vp, world) -> tuple[int, int]:
    ren = vp.plotter.renderer
    ren.SetWorldPoint(*world, 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return round(x), round(y)


def test_probe_by_click_reads_every_field_as_numpy_interpolation(window, qtbot):
    vt, vp = window.view_tools, window.viewport
    vt.probe_action.trigger()
    assert vt.probe_mode and vt.probe_dock.isVisible()
    target = np.array([0.0513, 0.0217, 0.0])  # m, in the plate, off any node
    x, y = _display_xy(vp, target)
    picked = vt.pick_display(x, y)
    assert picked is not None
    assert np.linalg.norm(picked[:2] - target[:2]) < 2e-3  # within a pixel or two
    expected = _numpy_interpolation(window.result, picked, window.spec.fields)
    assert set(vt.probe_values) == {f.name for f in window.spec.fields}
    for name, value in expected.items():
        assert vt.probe_values[name] == pytest.approx(value, rel=1e-5, abs=1e-9), name
    # units as displayed: stresses in MPa (~10 MPa nominal), displacements in mm
    assert 1 < vt.probe_values["von_mises"] < 40 and 0 < vt.probe_values["displacement"] < 0.1
    table = vt.probe_table
    rows = {table.item(i, 0).text(): (table.item(i, 1).text(), table.item(i, 2).text())
            for i in range(table.rowCount())}
    assert rows["von Mises stress"][1] == "MPa" and rows["Displacement ux"][1] == "mm"
    assert float(rows["Stress \u03c3xx"][0]) == pytest.approx(vt.probe_values["sigma_xx"],
                                                              rel=1e-4)
    # the marker sits at the probed point and shows the field on screen
    assert vt._marker.GetVisibility()
    assert np.allclose(vt._marker_poly.points[0][:2], picked[:2], atol=1e-9)
    assert vt._marker_text.GetInput().endswith("MPa")

    # an in-place update (same topology): the probe follows it by reading its cell's nodes
    r = window.result
    doubled = type(r)(r.mesh, {k: 2 * v for k, v in r.point_data.items()}, "test",
                      r.meta, r.units)
    grid = vp.grid
    vp.update_result(doubled, window.field)
    assert vp.grid is grid
    assert vt.probe_values["sigma_xx"] == pytest.approx(2 * expected["sigma_xx"], rel=1e-5)
    # a real mouse click on the widget goes through the VTK observers
    from PySide6.QtCore import QPoint, Qt

    target2 = np.array([0.12, 0.07, 0.0])
    x2, y2 = _display_xy(vp, target2)
    widget = vp.plotter.interactor
    ratio = widget.devicePixelRatioF()
    qpos = QPoint(round(x2 / ratio), round((vp.plotter.render_window.GetSize()[1] - y2) / ratio))
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=qpos)
    qtbot.waitUntil(lambda: np.linalg.norm(vt.probe_point[:2] - target2[:2]) < 3e-3,
                    timeout=3000)
    # probe off hides panel and marker
    vt.probe_action.trigger()
    assert not vt.probe_mode and not vt.probe_dock.isVisible()
    assert not vt._marker.GetVisibility()


def test_probe_at_a_point_equals_numpy_interpolation_p2(window):
    vt = window.view_tools
    vt.set_probe_mode(True)
    point = (0.0712, 0.0065, 0.0)
    values = vt.probe_at(point)
    expected = _numpy_interpolation(window.result, point, window.spec.fields)
    for name, value in expected.items():
        assert values[name] == pytest.approx(value, rel=1e-5, abs=1e-9), name
    assert vt.probe_at((0.005, 0.005, 0.0)) == {}  # inside the hole: not on the part
    assert "not on the shown part" in vt.probe_label.text()


def test_line_plot_data_is_the_pure_sampling_and_exports_csv(window, tmp_path):
    vt = window.view_tools
    dlg = vt.open_line_plot()
    a, b = np.array([0.0, 0.01, 0.0]), np.array([0.2, 0.01, 0.0])  # crosses the hole (r=20mm)
    dlg.field_combo.setCurrentIndex(dlg.field_combo.findData("sigma_xx"))
    dlg.samples.setValue(101)
    dlg.set_line(a, b)
    assert [c.label for c in dlg.curves] == ["Reference (FE solve)"]
    ref = sample_line(window.result, ["sigma_xx"], a, b, 101)
    np.testing.assert_array_equal(dlg.curves[0].values, ref.values["sigma_xx"] * 1e-6)
    np.testing.assert_allclose(dlg.distance, ref.distance * 1e3)
    # x < ~17 mm lies in the hole: a gap (NaN), not zeros
    vals = dlg.curves[0].values
    assert np.isnan(vals[dlg.points[:, 0] < 15]).all() and np.isfinite(vals[dlg.points[:, 0] > 25]).all()
    assert "outside the part" in dlg.status.text()
    ax = dlg.axes
    assert ax.get_xlabel() == "Distance along the line [mm]"
    assert ax.get_ylabel() == "Stress \u03c3xx [MPa]"
    assert ax.get_legend() is not None
    # the line is drawn in the view
    assert "view_line" in window.viewport.plotter.actors

    path = dlg.export_csv(tmp_path / "line.csv")
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["distance [mm]", "x [mm]", "y [mm]", "z [mm]",
                       "Reference (FE solve): Stress \u03c3xx [MPa]"]
    assert len(rows) == 102
    got = np.array([float(r[4]) if r[4] else np.nan for r in rows[1:]])
    np.testing.assert_allclose(got, vals, rtol=1e-8, equal_nan=True)
    assert not list(tmp_path.glob(".lineplot-*"))  # the temporary file was renamed
    dlg.close()
    assert "view_line" not in window.viewport.plotter.actors


def test_clip_plane_cuts_the_view_and_survives_in_place_updates(window):
    vt, vp = window.view_tools, window.viewport
    lo, hi = window.result.mesh.bounds()
    full = vp.screenshot()
    vt.set_clip(True, "X", 0.5)
    planes = vp.actor.GetMapper().GetClippingPlanes()
    assert planes.GetNumberOfItems() == 1
    plane = planes.GetItem(0)
    assert plane.GetNormal() == pytest.approx((1, 0, 0))
    assert plane.GetOrigin()[0] == pytest.approx((lo[0] + hi[0]) / 2)
    assert vp.view_settings().clip == (plane.GetOrigin(), (1.0, 0.0, 0.0))
    clipped = vp.screenshot()
    bg = np.array([255, 255, 255])

    def columns(img):  # image columns showing the part (coloured pixels in the middle rows)
        h = img.shape[0]
        band = img[h // 3: 2 * h // 3, : int(img.shape[1] * 0.78)]
        return np.flatnonzero(np.any(np.abs(band.astype(int) - bg).sum(-1) > 60, axis=0))

    assert len(columns(clipped)) < 0.65 * len(columns(full))
    assert columns(clipped).min() > columns(full).min() + 50  # the left half is gone
    r = window.result
    vp.update_result(type(r)(r.mesh, dict(r.point_data), "again", r.meta, r.units), window.field)
    assert vp.actor.GetMapper().GetClippingPlanes().GetNumberOfItems() == 1
    vt.set_clip(True, "X", 0.5, flip=True)
    assert vp.actor.GetMapper().GetClippingPlanes().GetItem(0).GetNormal() == pytest.approx(
        (-1, 0, 0))
    # a probed point on the removed side: its marker hides with the surface
    vt.set_probe_mode(True)
    vt.probe_at((0.15, 0.05, 0.0))  # x = 150 mm: cut away by the flipped plane at 100 mm
    assert vt.probe_values and not vt._marker.GetVisibility()
    assert "hidden by the section" in vt.probe_label.text()
    vt.set_clip(True, "X", 0.5, flip=False)
    assert vt._marker.GetVisibility()
    # 'View direction': the half nearer to the camera goes
    vt.set_camera_view("+x")
    vt.set_clip(True, "View direction", 0.5)
    assert vp.clip[1] == pytest.approx((-1.0, 0.0, 0.0))
    vt.set_camera_view("+z")
    vt.set_clip(False)
    assert vp.actor.GetMapper().GetClippingPlanes() is None or \
        vp.actor.GetMapper().GetClippingPlanes().GetNumberOfItems() == 0
    assert vp.clip is None


def test_warp_moves_points_by_scale_times_displacement(window):
    vt, vp = window.view_tools, window.viewport
    r = window.result
    assert vp.can_warp and vt.warp_spin.isEnabled()
    scale = vt.auto_warp()
    u = np.asarray(r.point_data["displacement"], dtype=float)
    umax = np.linalg.norm(u, axis=1).max()
    size = np.linalg.norm(np.ptp(r.mesh.points, axis=0))
    assert 0.04 < scale * umax / size < 0.25  # ~10 % of the model size (1-2-5 rounding)
    expected = r.mesh.points.copy()
    expected[:, : u.shape[1]] += scale * u
    np.testing.assert_allclose(vp.grid.points, expected, rtol=1e-12, atol=1e-12)
    # in-place frames keep the warp
    doubled = type(r)(r.mesh, {k: 2 * v for k, v in r.point_data.items()}, "t", r.meta, r.units)
    vp.update_result(doubled, window.field)
    expected[:, : u.shape[1]] = r.mesh.points[:, : u.shape[1]] + 2 * scale * u
    np.testing.assert_allclose(vp.grid.points, expected, rtol=1e-6, atol=1e-12)
    # a click on the warped part probes the undeformed material point under it
    vt.set_probe_mode(True)
    material = np.array([0.15, 0.06, 0.0])
    loc = vt.locator(r.mesh).locate(material[None])
    shown = loc.weights[0] @ np.asarray(vp.grid.points)[loc.nodes[0]]
    picked = vt.pick_display(*_display_xy(vp, shown))
    assert np.linalg.norm(picked[:2] - material[:2]) < 2e-3
    vt.warp_spin.setValue(0.0)
    np.testing.assert_allclose(vp.grid.points, r.mesh.points)


def test_colormap_choice_changes_the_lookup_table(window):
    vt, vp = window.view_tools, window.viewport
    lut = vp.actor.GetMapper().GetLookupTable()
    before = [lut.GetTableValue(i)[:3] for i in (0, 128, 255)]
    vt.cmap_combo.setCurrentText("coolwarm")
    lut = vp.actor.GetMapper().GetLookupTable()
    after = [lut.GetTableValue(i)[:3] for i in (0, 128, 255)]
    assert before != after
    assert after[0] == pytest.approx((0.23, 0.30, 0.75), abs=0.02)  # coolwarm starts blue
    assert vp.view_settings().colormap == "coolwarm"
    with pytest.raises(ValueError, match="colour map"):
        vp.set_colormap("rainbow-ish")


def test_standard_camera_views_look_along_the_expected_direction(window, qtbot):
    vt, vp = window.view_tools, window.viewport
    for name, (direction, up) in CAMERA_VIEWS.items():
        vt.camera_actions[name].trigger()
        d = -np.asarray(direction, dtype=float) / np.linalg.norm(direction)
        assert vp.view_direction == pytest.approx(tuple(d), abs=1e-9), name
        assert np.dot(vp.plotter.camera.GetViewUp(), up) > 0.8, name
    assert vt.camera_actions["+x"].shortcut().toString() == "Ctrl+1"
    assert vt.camera_actions["iso"].shortcut().toString() == "Ctrl+7"
    assert vt.probe_action.shortcut().toString() == "P"
    window.viewport.reset_camera()  # a flat part: seen from +Z
    assert vp.view_direction == pytest.approx((0, 0, -1))


def test_view_settings_round_trip_through_apply_and_into_another_viewport(window, qtbot):
    vt, vp = window.view_tools, window.viewport
    vt.set_colormap("plasma")
    vt.set_warp_scale(500.0)
    vt.set_clip(True, "Y", 0.4)
    vp.set_fixed_clim((0.0, 25.0))
    window.field_combo.setCurrentIndex(window.field_combo.findData("sigma_xx"))
    vp.plotter.camera.azimuth = 20
    vp.plotter.camera.zoom(1.3)
    vs = vp.view_settings()
    assert vs.field == "sigma_xx" and vs.colormap == "plasma" and vs.warp_scale == 500.0
    assert vs.clim == (0.0, 25.0) and vs.clip[1] == (0.0, 1.0, 0.0)
    assert set(vs.camera) == {"position", "focal_point", "view_up", "parallel_scale"}
    assert ViewSettings.from_dict(vs.to_dict()) == vs

    # change everything, then apply: back exactly
    vt.set_colormap("gray")
    vt.set_warp_scale(0.0)
    vt.set_clip(False)
    vp.set_fixed_clim(None)
    vp.set_field(("von_mises", "von Mises stress", "Pa"))
    vp.set_camera_view("+x")
    vp.apply_view_settings(vs)
    assert vp.view_settings() == vs
    img = vp.screenshot()
    # the side panel's controls follow settings applied from outside (a session)
    assert vt.cmap_combo.currentText() == "plasma" and vt.warp_spin.value() == 500.0
    assert vt.clip_check.isChecked() and vt.clip_axis_combo.currentText() == "Y"
    assert vt.clip_slider.value() == 400 and not vt.clip_flip_check.isChecked()

    # a second pane (as the split view makes them) shows the same picture
    other = Viewport()
    other.resize(vp.size())
    other.show()
    qtbot.waitExposed(other)
    try:
        other.show_result(window.result, ("von_mises", "von Mises stress", "Pa"))
        other.apply_view_settings(vs, window.spec.fields)
        got = other.view_settings()
        assert got.field == "sigma_xx" and got.camera == vs.camera and got == vs
        assert other.colorbar_title == "Stress \u03c3xx [MPa]"
        np.testing.assert_allclose(other.grid.points, vp.grid.points)
        if other.size() == vp.size():
            diff = np.abs(other.screenshot().astype(int) - img.astype(int)).max(-1)
            assert (diff > 40).mean() < 0.01
    finally:
        other.close_viewport()
        other.close()


def test_view_settings_validation():
    with pytest.raises(ValueError, match="camera"):
        ViewSettings.from_dict({"camera": {"position": [1, 2, 3]}})
    with pytest.raises(ValueError, match="colormap"):
        ViewSettings.from_dict({"colormap": "nope"})
    with pytest.raises(ValueError, match="warp_scale"):
        ViewSettings.from_dict({"warp_scale": -1})
    vs = ViewSettings.from_dict({"clip": [[0, 0, 0], [0, 0, 1]], "camera": {
        "position": [0, 0, 1], "focal_point": [0, 0, 0], "view_up": [0, 1, 0],
        "parallel_scale": 0.1}, "unknown": 1})
    assert vs.clip == ((0.0, 0.0, 0.0), (0.0, 0.0, 1.0))
    assert ViewSettings.from_dict(vs.to_dict()) == vs


# -- reference and surrogate on one chart ------------------------------------------------------
@pytest.fixture(scope="module")
def linear_model(tmp_path_factory):
    """A linear surrogate of the plate (traction varies; P1, 10 mm elements)."""
    import torch

    from physapp.api import _InProcess
    from physapp.compute.cluster import run_sweep_on
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("view_tools")
    ds = Dataset.create(out / "plate.h5", "plate-with-hole", 4, "lhs", 0, 0.25,
                        vary=["traction"], fixed={"mesh_size": 0.01},
                        bounds={"traction": (5e6, 50e6)}, order=1)
    run_sweep_on(ds, _InProcess(), poll=0.0)  # in this process: no worker start
    model = train_surrogate("linear", ds.training_data(), device="cpu")
    torch.set_num_threads(threads)
    return SimpleNamespace(path=save_surrogate(model, out / "plate-linear.pt"))


def test_line_plot_shows_reference_and_surrogate(qtbot, shared_runner, linear_model, tmp_path):
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    try:
        w.apply_settings(AppSettings(device="cpu", workers=1, element_order=1))
        w.model.set_value("mesh_size", 0.01)
        before = w.solve_count
        w.solve()
        qtbot.waitUntil(lambda: w.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
        c = w.surrogates
        c.load_file(linear_model.path)
        qtbot.waitUntil(lambda: c.showing and c.last_prediction is not None, timeout=FRAME_MS)
        dlg = w.view_tools.open_line_plot()
        a, b = (0.03, 0.0, 0.0), (0.03, 0.1, 0.0)
        dlg.field_combo.setCurrentIndex(dlg.field_combo.findData("von_mises"))
        dlg.set_line(a, b)
        labels = [cv.label for cv in dlg.curves]
        # two clicks on the part set the line when 'Pick 2 points' is on
        vp = w.viewport
        dlg.pick_button.setChecked(True)
        p1, p2 = np.array([0.03, 0.002, 0.0]), np.array([0.03, 0.095, 0.0])
        assert w.view_tools.pick_display(*_display_xy(vp, p1)) is not None
        assert "end point" in dlg.pick_hint.text()
        assert w.view_tools.pick_display(*_display_xy(vp, p2)) is not None
        assert not dlg.pick_button.isChecked()
        got_a, got_b = dlg.line()
        assert np.linalg.norm(got_a - p1) < 3e-3 and np.linalg.norm(got_b - p2) < 3e-3
        dlg.set_line(a, b)
        assert labels[0] == "Reference (FE solve)" and labels[1].startswith("Surrogate (")
        ref = sample_line(w.result, ["von_mises"], a, b, dlg.samples.value())
        sur = sample_line(c.last_prediction.result, ["von_mises"], a, b, dlg.samples.value())
        np.testing.assert_array_equal(dlg.curves[0].values, ref.values["von_mises"] * 1e-6)
        np.testing.assert_array_equal(dlg.curves[1].values, sur.values["von_mises"] * 1e-6)
        # the same design: a linear model of a linear problem agrees closely with the solve
        both = np.isfinite(dlg.curves[0].values) & np.isfinite(dlg.curves[1].values)
        assert both.mean() > 0.9
        rel = np.abs(dlg.curves[1].values - dlg.curves[0].values)[both].max() / np.nanmax(
            dlg.curves[0].values)
        assert rel < 0.05
        assert len(dlg.axes.get_legend().get_texts()) == 2
        rows = list(csv.reader(open(dlg.export_csv(tmp_path / "both.csv"), newline="")))
        assert len(rows[0]) == 6 and rows[0][5].startswith("Surrogate (")
        # probing a surrogate frame reads the prediction
        w.view_tools.set_probe_mode(True)
        values = w.view_tools.probe_at((0.05, 0.03, 0.0))
        expected = _numpy_interpolation(w.viewport.result, (0.05, 0.03, 0.0), w.spec.fields)
        assert values["von_mises"] == pytest.approx(expected["von_mises"], rel=1e-5)
        assert "surrogate" in w.view_tools.probe_label.text()
        dlg.close()
    finally:
        w.close()

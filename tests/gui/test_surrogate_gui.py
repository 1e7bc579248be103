"""Surrogates in the app, end to end: real trained models, real QtInteractor, real solver process.

A session fixture (tests/gui/conftest.py, shared with the split view's tests) solves 10
plate-with-hole designs (traction 5-50 MPa and hole radius 10-30 mm,
P1, 10 mm elements: 405 nodes) and trains a small POD-GP on them; a module fixture trains a linear
model of another study (the thick cylinder) to be refused. Run under Xvfb (pytest-xvfb).
"""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import Qt

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import AppSettings
from physapp.gui.train_dialog import pct
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

FRAME_MS = 15_000  # generous: the first prediction loads the model (torch) on this machine


@pytest.fixture(scope="module")
def models(tmp_path_factory, plate_pod_gp):
    """The POD-GP of the plate (traction and hole radius vary; tests/gui/conftest.py) and a
    model of another study."""
    import torch

    from physapp.api import _InProcess
    from physapp.compute.cluster import run_sweep_on
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the test machine is shared
    out = tmp_path_factory.mktemp("surrogates")
    cyl = Dataset.create(out / "cylinder.h5", "thick-cylinder", 4, "lhs", 0, 0.25,
                         vary=["pressure"], fixed={"mesh_size": 0.02}, order=1)
    run_sweep_on(cyl, _InProcess(), poll=0.0)  # in this process: no worker start
    lin = train_surrogate("linear", cyl.training_data(), device="cpu")
    torch.set_num_threads(threads)
    return SimpleNamespace(plate=plate_pod_gp.path,
                           cylinder=save_surrogate(lin, out / "cylinder-linear.pt"),
                           gp_metrics=plate_pod_gp.metrics, folder=out)


@pytest.fixture
def win(qtbot, shared_runner):
    """A plate window without a start-up solve; P1 reference solves, one worker, the CPU."""
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.apply_settings(AppSettings(device="cpu", workers=1, element_order=1))
    qtbot.waitUntil(lambda: w.viewport.grid is not None, timeout=10_000)  # the first preview
    yield w
    w.close()


def _use(win, qtbot, path) -> None:
    """File > Load surrogate...: load ``path`` and wait for its first frame."""
    before = win.surrogates.applied
    win.surrogates.load_file(path)
    qtbot.waitUntil(lambda: win.surrogates.showing and win.surrogates.applied > before,
                    timeout=FRAME_MS)


def _set(win, qtbot, name: str, shown_value: float) -> None:
    """Move a slider (display units) and wait until its prediction is on screen."""
    c = win.surrogates
    win.panel.rows[name].slider.setValue(shown_value)
    assert win.model.value(name) == pytest.approx(shown_value / win.spec.parameter(name).scale)
    qtbot.waitUntil(lambda: c.last_prediction is not None
                    and c.last_prediction.request_id >= c.latest_request
                    and not win.viewport.frame_pending, timeout=FRAME_MS)


def _changed_share(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.any(np.abs(a.astype(int) - b.astype(int)) > 30, axis=-1).mean())


def test_gui_modules_do_not_import_torch():
    code = ("import sys, physapp.gui.main_window, physapp.gui.surrogate_panel, "
            "physapp.gui.prediction, physapp.gui.train_dialog; "
            "print('torch' in sys.modules); sys.exit(1 if 'torch' in sys.modules else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_loaded_model_is_listed_and_sliders_update_field_and_geometry(win, models, qtbot):
    c, vp = win.surrogates, win.viewport
    _use(win, qtbot, models.plate)
    index = c.combo.currentIndex()
    assert index > 0 and c.combo.itemData(index) == str(models.plate.resolve())
    # the combo shows the kind, the source and the held-out error of the field on screen
    von_mises = models.gp_metrics["fields"]["von_mises"]["rel_l2"]
    assert c.combo.itemText(index) == f"pod-gp (file), held-out error {pct(von_mises)}"
    tip = c.combo.itemData(index, Qt.ItemDataRole.ToolTipRole)
    assert "Held-out error" in tip and "Applied traction 5 \u2013 50 MPa" in tip
    assert "pod-gp" in c.info_label.text() and "geometry predicted" in c.info_label.text()
    # the status bar: source, timings and device; the view says where the field comes from
    qtbot.waitUntil(lambda: "ms to screen" in win.info_label.text(), timeout=5000)
    assert "Surrogate pod-gp" in win.info_label.text() and "ms predict" in win.info_label.text()
    assert "cpu" in win.device_label.text()
    assert "Surrogate prediction" in win.state_label.text()
    assert "Surrogate prediction (pod-gp)" in vp.caption_text
    assert vp.result.source == "surrogate:pod-gp" and vp.n_points == 405

    vp.set_fixed_clim((0.0, 120.0))  # MPa: equal colours mean equal stress in both images
    _set(win, qtbot, "traction", 10.0)
    grid = vp.grid
    low = vp.screenshot()
    _set(win, qtbot, "traction", 45.0)
    high = vp.screenshot()
    assert vp.grid is grid  # written in place: no new actor
    assert _changed_share(low, high) > 0.05
    vp.set_fixed_clim(None)

    # the geometry follows the hole radius (predicted node coordinates, in place)
    _set(win, qtbot, "radius", 12.0)
    small = np.array(vp.grid.points)
    _set(win, qtbot, "radius", 28.0)
    assert vp.grid is grid
    moved = np.linalg.norm(np.array(vp.grid.points) - small, axis=1)
    assert moved.max() > 0.01  # m: the hole edge moves by ~16 mm


def test_a_burst_of_slider_changes_is_latest_wins(win, models, qtbot, record_property):
    c = win.surrogates
    _use(win, qtbot, models.plate)
    _set(win, qtbot, "traction", 20.0)
    submitted, evaluated, applied = c.predictor.submitted, c.predictor.evaluated, c.applied
    row = win.panel.rows["traction"]
    values = np.linspace(21.0, 40.0, 20)
    for v in values:  # 20 changes without returning to the event loop: a fast drag
        row.slider.setValue(float(v))
    assert c.predictor.submitted - submitted == 20
    qtbot.waitUntil(lambda: c.last_prediction.result.meta["params"]["traction"]
                    == pytest.approx(values[-1] * 1e6), timeout=FRAME_MS)
    assert c.predictor.wait_idle(5)
    qtbot.wait(100)
    n_eval = c.predictor.evaluated - evaluated
    n_applied = c.applied - applied
    assert n_eval <= 10, n_eval  # far fewer predictions than submissions
    assert 1 <= n_applied <= n_eval
    # the last applied frame is the last value, on screen
    shown = win.viewport.result
    assert shown is c.last_prediction.result
    assert shown.meta["params"]["traction"] == pytest.approx(40e6)

    # a slower drag for the latency record (one change per 30 ms, as a hand drags)
    for v in np.linspace(40.0, 10.0, 25):
        row.slider.setValue(float(v))
        qtbot.wait(30)
    qtbot.waitUntil(lambda: c.last_prediction.result.meta["params"]["traction"]
                    == pytest.approx(10e6), timeout=FRAME_MS)
    median = win.frame_latency_ms()
    assert median is not None and median > 0
    record_property("slider_to_frame_median_ms", round(median, 1))
    print(f"\nslider-to-frame median {median:.1f} ms over {len(c._frames)} frames "
          f"({win.viewport.n_points} nodes, predict "
          f"{c.last_prediction.result.meta['latency_ms']:.2f} ms, burst: 20 submitted, "
          f"{n_eval} evaluated, {n_applied} applied)")


def test_uncertainty_view_has_its_own_colour_bar(win, models, qtbot):
    c, vp = win.surrogates, win.viewport
    _use(win, qtbot, models.plate)
    assert c.uncertainty_check.isEnabled()
    assert vp.colorbar_title == "von Mises stress [MPa]"
    field_values = vp.grid.point_data["field"].copy()
    c.uncertainty_check.setChecked(True)
    assert vp.colorbar_title == "von Mises stress uncertainty (std) [MPa]"
    std = vp.grid.point_data["field"]
    assert np.all(std >= 0) and not np.allclose(std, field_values)
    assert vp.clim[0] >= 0 and vp.actor.mapper.lookup_table.cmap.name == "viridis"
    win.field_combo.setCurrentIndex(win.field_combo.findData("displacement[0]"))
    assert vp.colorbar_title == "Displacement ux uncertainty (std) [mm]"
    _set(win, qtbot, "traction", 30.0)  # a new prediction keeps the std view
    assert vp.colorbar_title == "Displacement ux uncertainty (std) [mm]"
    assert "standard deviation" in vp.caption_text
    c.uncertainty_check.setChecked(False)
    assert vp.colorbar_title == "Displacement ux [mm]"
    assert vp.actor.mapper.lookup_table.cmap.name == "turbo"
    assert "standard deviation" not in vp.caption_text


def test_an_unavailable_gpu_falls_back_to_the_cpu_with_a_notice(win, models, qtbot):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    _use(win, qtbot, models.plate)
    win.apply_settings(AppSettings(device="cuda:0", workers=1, element_order=1))
    _set(win, qtbot, "traction", 33.0)
    assert win.surrogates.last_prediction.device == "cpu"
    assert "fallback" in win.device_label.text() and "cuda:0" in win.device_label.text()
    assert "CUDA is not available" in win.device_label.toolTip()


def test_leaving_the_trained_range_shows_a_warning(win, models, qtbot):
    c, bar = win.surrogates, win.message_bar
    _use(win, qtbot, models.plate)
    _set(win, qtbot, "traction", 80.0)  # trained 5-50 MPa
    assert bar.level == "warning" and "outside the trained range" in bar.text()
    assert "Applied traction (trained 5 \u2013 50 MPa)" in bar.text()
    assert "#c25e00" in win.state_label.text()  # orange
    assert "EXTRAPOLATING" in win.viewport.caption_text
    assert c.last_prediction.result.meta["out_of_range"] == ["traction"]
    _set(win, qtbot, "traction", 20.0)
    assert bar.text() == "" and "EXTRAPOLATING" not in win.viewport.caption_text
    _set(win, qtbot, "width", 250.0)  # held at 200 mm in training
    assert "Plate width (trained at 200 mm only)" in bar.text()


def test_a_model_of_another_study_is_refused_and_the_app_keeps_working(win, models, qtbot,
                                                                        tmp_path):
    c = win.surrogates
    _use(win, qtbot, models.plate)
    entries = c.combo.count()
    c.load_file(models.cylinder)
    qtbot.waitUntil(lambda: win.message_bar.level == "error", timeout=FRAME_MS)
    text = win.message_bar.text()
    assert "Cannot use this surrogate" in text
    assert "thick-cylinder" in text and "not of 'plate-with-hole'" in text
    assert "Traceback" not in text
    assert c.combo.count() == entries and c.current.kind == "pod-gp"
    broken = tmp_path / "broken.pt"
    broken.write_text("not a model")
    c.load_file(broken)
    qtbot.waitUntil(lambda: "broken.pt" in win.message_bar.text(), timeout=FRAME_MS)
    assert "truncated or corrupt" in win.message_bar.text()
    _set(win, qtbot, "traction", 35.0)  # still predicting with the plate model
    assert win.viewport.result.meta["params"]["traction"] == pytest.approx(35e6)


def test_solve_verifies_the_design_and_a_slider_returns_to_the_surrogate(win, models, qtbot):
    c, vp = win.surrogates, win.viewport
    win.model.set_value("mesh_size", 0.01)
    _use(win, qtbot, models.plate)
    _set(win, qtbot, "traction", 25.0)
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    assert vp.result is win.result and vp.result.source != "surrogate:pod-gp"
    assert not c.showing and vp.caption_text == ""
    assert "up to date" in win.state_label.text() and "DOFs" in win.info_label.text()
    # the surrogate was shown for the same design: the solver checks it
    assert "Solver check of this design" in win.message_bar.text()
    _set(win, qtbot, "traction", 26.0)
    assert c.showing and vp.result.source == "surrogate:pod-gp"
    assert "Surrogate prediction" in win.state_label.text()
    # back to the reference solver: the solved result (now out of date) or a preview
    c.combo.setCurrentIndex(0)
    assert not c.active and vp.result is win.result and vp.caption_text == ""
    assert "out of date" in win.state_label.text()
    assert "DOFs" in win.info_label.text()


def test_train_dialog_cancels_keeps_samples_and_resumes_to_a_selected_model(win, qtbot):
    from physapp.surrogates.dataset import Dataset

    win.model.set_value("mesh_size", 0.01)
    dlg = win.surrogates.open_train_dialog()
    assert dlg.kind_combo.currentData() == "pod-gp" and dlg.n_spin.value() == 32
    assert "mesh_size" not in dlg.vary_checks and all(b.isChecked()
                                                      for b in dlg.vary_checks.values())
    for name, box in dlg.vary_checks.items():
        box.setChecked(name == "traction")
    dlg.n_spin.setValue(16)
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("linear"))
    dlg.start()
    assert dlg.running and not dlg.start_button.isEnabled()
    # Cancel as soon as the first design is solved, in the middle of the sweep
    dlg.job.progress.connect(lambda f, msg: dlg.cancel() if msg.startswith("1/16") else None)
    qtbot.waitUntil(lambda: dlg.state == "cancelled", timeout=60_000)
    assert dlg.wait(10)
    assert "are solved and kept" in dlg.result_label.text()
    ds = Dataset.open(dlg.dataset_path)
    counts = ds.counts()
    assert 1 <= counts["done"] < 16 and counts["pending"] == 16 - counts["done"]
    import h5py

    done = np.flatnonzero(ds.status == 1)
    with h5py.File(dlg.dataset_path, "r") as f:
        coords = f["samples/coords"][int(done[0])]
        vm = f["samples/fields/von_mises"][int(done[0])]
    assert np.all(np.isfinite(coords)) and vm.max() > 0
    # the app is still usable
    win.model.set_value("traction", 30e6)
    assert win.message_bar.level != "error"

    # Start again with the same settings: the data set is resumed, the model trained, selected
    path = dlg.dataset_path
    dlg.start()
    qtbot.waitUntil(lambda: dlg.state in ("done", "failed"), timeout=60_000)
    assert dlg.state == "done", dlg.result_label.text()
    assert dlg.dataset_path == path and Dataset.open(path).counts()["done"] == 16
    assert "Held-out error" in dlg.result_label.text()
    c = win.surrogates
    qtbot.waitUntil(lambda: c.showing and c.current is not None and c.current.kind == "linear",
                    timeout=FRAME_MS)
    label = c.combo.currentText()
    assert label.startswith("linear (new)") and "held-out error" in label
    assert dlg.model_path.exists() and dlg.model_path.parent.name == "plate-with-hole"


def test_a_study_opens_with_its_shipped_surrogate(qtbot, shared_runner, monkeypatch):
    """The plate's pre-trained model (resources/surrogates) is selected once the window shows:
    its frame is on screen and a slider move is predicted, without a solve."""
    monkeypatch.setenv("PHYSAPP_AUTO_SURROGATE", "1")
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(w)
    w.show()
    c = w.surrogates
    qtbot.waitUntil(lambda: c.showing and c.current is not None, timeout=FRAME_MS)
    assert c.current.kind == "pod-gp"
    assert "resources" in c.selected_key and "plate-with-hole" in c.selected_key
    assert "pod-gp" in c.combo.currentText()
    applied = c.applied
    w.panel.rows["traction"].slider.setValue(50.0)  # MPa
    qtbot.waitUntil(lambda: c.applied > applied and c.last_prediction.result.meta["params"][
        "traction"] == pytest.approx(50e6), timeout=FRAME_MS)
    assert w.solve_count == 0 and w.viewport.result is c.last_prediction.result
    w.close()


def test_the_shipped_surrogate_setting_can_be_turned_off(qtbot, shared_runner, monkeypatch,
                                                          tmp_path):
    from PySide6.QtCore import QSettings

    from physapp.gui.settings import save_settings

    monkeypatch.setenv("PHYSAPP_AUTO_SURROGATE", "1")
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    save_settings(AppSettings(auto_surrogate=False), store)
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner,
                   settings_store=store)
    qtbot.addWidget(w)
    w.show()
    qtbot.wait(800)
    assert w.surrogates.current is None and w.surrogates.selected_key == ""
    w.close()


def test_slider_frames_carry_the_shown_field_then_every_field(win, models, qtbot):
    """While a slider moves only the shown field is predicted; a complete prediction (every
    field, for probes, exports and the split view) follows once the slider rests."""
    c = win.surrogates
    _use(win, qtbot, models.plate)
    assert "partial" not in c.last_prediction.result.meta  # a selected model: complete
    _set(win, qtbot, "traction", 25.0)
    p = c.last_prediction.result
    assert p.meta.get("partial") and set(p.point_data) - {"safety_factor"} == {
        "von_mises", "von_mises_std"}  # (the safety factor is derived from von Mises, #13)
    assert win.viewport.result is p
    qtbot.waitUntil(lambda: "partial" not in c.last_prediction.result.meta, timeout=FRAME_MS)
    full = c.last_prediction.result
    assert {"displacement", "sigma_xx", "von_mises"} <= set(full.point_data)
    assert full.meta["params"]["traction"] == pytest.approx(25e6)
    np.testing.assert_allclose(full.point_data["von_mises"], p.point_data["von_mises"])
    # another field right after a move: the frame lacks it, so a complete one is asked for
    _set(win, qtbot, "traction", 27.0)
    win.field_combo.setCurrentIndex(win.field_combo.findData("sigma_xx"))
    qtbot.waitUntil(lambda: "sigma_xx" in c.last_prediction.result.point_data, timeout=FRAME_MS)
    qtbot.waitUntil(lambda: win.viewport.colorbar_title.startswith("Stress \u03c3xx"),
                    timeout=FRAME_MS)


def test_a_scheduler_that_does_not_answer_offers_to_solve_here(win, qtbot):
    """File > Settings names a Dask scheduler that is not there: the sweep fails with a clear
    message and a button that runs it with local worker processes instead."""
    win.model.set_value("mesh_size", 0.01)
    win.apply_settings(AppSettings(device="cpu", workers=1, element_order=1,
                                   scheduler="tcp://127.0.0.1:9"))
    dlg = win.surrogates.open_train_dialog()
    for name, box in dlg.vary_checks.items():
        box.setChecked(name == "traction")
    dlg.n_spin.setValue(6)
    dlg.kind_combo.setCurrentIndex(dlg.kind_combo.findData("linear"))
    dlg.start()
    qtbot.waitUntil(lambda: dlg.state == "failed", timeout=60_000)
    text = dlg.result_label.text()
    assert "Could not reach the Dask scheduler at tcp://127.0.0.1:9" in text
    assert "Solve on this computer" in text and dlg.local_button.isVisible()
    dlg.local_button.click()
    qtbot.waitUntil(lambda: dlg.state in ("done", "failed"), timeout=60_000)
    assert dlg.state == "done", dlg.result_label.text()
    assert not dlg.local_button.isVisible()
    c = win.surrogates
    qtbot.waitUntil(lambda: c.current is not None and c.current.kind == "linear",
                    timeout=FRAME_MS)

"""File > Export in the app: the dialogs drive real exports in the export process (figure,
mesh, table, animation), the split view as one figure, cancel. Under Xvfb."""

from __future__ import annotations

import csv
from pathlib import Path

import meshio
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from physapp.viz.figure import frame_count

pytestmark = pytest.mark.gui

MODEL = str((Path(__file__).resolve().parents[2] / "physapp" / "resources" / "surrogates" /
             "plate-with-hole" / "pod-gp.pt").resolve())
EXPORT_MS = 60_000  # the first export starts its process and imports pyvista there
FRAME_MS = 30_000


def _accept(qtbot, win, action, path: str, **options):
    """Trigger a File > Export action, fill its dialog, press Export, wait for the file."""
    action.trigger()
    d = win.exports.dialog
    assert d is not None and d.isVisible()
    d.path_row.edit.setText(path)
    for name, value in options.items():
        widget = getattr(d, name)
        if hasattr(widget, "setValue"):
            widget.setValue(value)
        elif hasattr(widget, "setChecked"):
            widget.setChecked(value)
        else:
            widget.setCurrentIndex(widget.findData(value))
    with qtbot.waitSignal(win.exports.exported, timeout=EXPORT_MS) as blocker:
        d.accept()
    assert not win.exports.busy
    return blocker.args[0]


def _use_builtin_model(qtbot, win):
    s = win.surrogates
    before = s.applied
    s.select(MODEL)
    qtbot.waitUntil(lambda: s.showing and s.applied > before, timeout=FRAME_MS)


def test_export_menu_has_the_five_actions(window):
    texts = [a.text().replace("&", "") for a in window.exports.menu.actions()]
    assert [t.split(" ")[0] for t in texts] == ["Figure", "Mesh", "Table", "Animation", "Time"]


def test_figure_at_a_size_larger_than_the_screen_with_transparency(qtbot, window, tmp_path):
    out = _accept(qtbot, window, window.exports.figure_action, str(tmp_path / "fig.png"),
                  width_spin=2400, height_spin=1600, transparent=True)
    im = Image.open(out)
    assert im.size == (2400, 1600) and im.mode == "RGBA"
    a = np.asarray(im)
    assert a[..., 3].min() == 0 and 0.05 < (a[..., 3] > 0).mean() < 0.9
    # the turbo colours of the solved stress field are there
    drawn = a[a[..., 3] == 255][:, :3].astype(int)
    assert np.sum((drawn[:, 1] > 150) & (drawn[:, 0] < 100)) > 1000  # teal/green plate


def test_mesh_with_fields_and_unknown_extension(qtbot, window, tmp_path):
    out = _accept(qtbot, window, window.exports.mesh_action, str(tmp_path / "plate.vtu"))
    mesh = meshio.read(out)
    assert mesh.points.shape[0] == window.result.mesh.n_points
    assert set(window.result.point_data) <= set(mesh.point_data)
    np.testing.assert_allclose(mesh.point_data["von_mises"],
                               window.result.point_data["von_mises"], rtol=1e-6)
    with qtbot.waitSignal(window.exports.failed, timeout=5000) as blocker:
        window.exports.export_mesh(str(tmp_path / "plate.docx"))
    assert ".vtu" in blocker.args[0] and ".stl" in blocker.args[0]
    assert "plate.docx" in window.message_bar.text()
    assert not (tmp_path / "plate.docx").exists()


def test_table_of_the_design(qtbot, window, tmp_path):
    out = _accept(qtbot, window, window.exports.table_action, str(tmp_path / "design.csv"))
    rows = {(r["kind"], r["name"]): r for r in csv.DictReader(open(out))}
    assert float(rows[("parameter", "radius")]["value"]) == window.model.value("radius")
    kq = window.result.meta["key_quantities"]["peak_von_mises"]
    assert float(rows[("key_quantity", "peak_von_mises")]["value"]) == pytest.approx(kq)
    assert rows[("study", "id")]["value"] == "plate-with-hole"


def test_animation_of_a_surrogate_sweep(qtbot, window, tmp_path):
    assert window.exports.animation_dialog() is None  # no surrogate: says what to do
    assert "select a saved model" in window.message_bar.text()
    _use_builtin_model(qtbot, window)
    out = _accept(qtbot, window, window.exports.animation_action, str(tmp_path / "sweep.gif"),
                  param_combo="radius", frames_spin=5, width_spin=320, height_spin=240)
    assert frame_count(out) == 5
    with Image.open(out) as im:
        assert im.size == (320, 240)


def test_cancel_an_animation_writes_nothing(qtbot, window, tmp_path):
    _use_builtin_model(qtbot, window)
    ex = window.exports
    job = ex.export_animation(str(tmp_path / "long.gif"), "radius", 400, size=(800, 600))
    assert job and ex.busy and ex.progress.isVisible()
    qtbot.waitUntil(lambda: ex.progress.value() > 0, timeout=EXPORT_MS)  # running
    (button,) = [b for b in ex.progress.findChildren(QPushButton) if b.text() == "Cancel"]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not ex.busy, timeout=10_000)
    assert "cancelled" in window.statusBar().currentMessage()
    assert list(tmp_path.iterdir()) == []


def test_split_view_is_one_figure(qtbot, window, tmp_path):
    compare = window.compare
    _use_builtin_model(qtbot, window)
    compare.set_split(True)
    qtbot.waitUntil(lambda: sum(p.has_field for p in compare.panes) >= 2, timeout=FRAME_MS)
    panes = window.exports.panes()
    assert len(panes) >= 2
    out = window.exports.export_figure(str(tmp_path / "split.png"), (1800, 600))
    assert out
    qtbot.waitUntil(lambda: window.exports.last_path.endswith("split.png"), timeout=EXPORT_MS)
    img = np.asarray(Image.open(tmp_path / "split.png").convert("RGB")).astype(int)
    assert img.shape == (600, 1800, 3)
    third = 1800 // len(panes)
    for k in range(len(panes)):  # each pane draws its own part and colour bar
        part = img[:, k * third:(k + 1) * third]
        drawn = np.any(part < 230, axis=2)
        assert drawn.mean() > 0.05
    # the first two panes share the surrogate/reference colour map (turbo: saturated colours)
    assert (np.ptp(img[:, :2 * third], axis=2) > 60).mean() > 0.02
    compare.set_split(False)

"""Imported parts in the main window: open (menu, recent, drop, start-up), set-up panel, solve,
sliders, face picking and the session round trip -- real files, real QtInteractor, real solver
and reading processes (run under Xvfb)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QDialog, QPushButton

from physapp.cli import build_parser, main
from physapp.gui.app import Launcher, configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.open_file import (
    FILE_FILTER,
    MAX_RECENT,
    READER_PRELOAD,
    ImportOptions,
    RecentFiles,
)
from physapp.gui.part_tasks import BoundaryFacets
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.io.readers import read_mesh
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

MESHES = Path(__file__).parents[1] / "data" / "meshes"
BOX = MESHES / "box.msh"  # unit cube, 358 nodes, 1105 tets; regions front (z=1), back (z=0), top
OPEN_TIMEOUT_MS = 30_000  # the first read starts the reading process


@pytest.fixture(scope="module")
def read_runner(qapp):
    """One warm reading process for the module's windows."""
    runner = QtJobRunner(preload=READER_PRELOAD)
    runner.warm_up()
    yield runner
    runner.shutdown()


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def win(qtbot, shared_runner, read_runner, store):
    """The main window on the plate study (not solved), reading files in the shared process."""
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner,
                   settings_store=store)
    w.parts.set_read_runner(read_runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _open(qtbot, w, path, name=None) -> None:
    w.open_file(str(path))
    part = f"part:{name or Path(path).stem}"
    qtbot.waitUntil(lambda: w.parts.active and w.spec.id == part and w.viewport.n_points > 0,
                    timeout=OPEN_TIMEOUT_MS)  # the mesh preview is on screen too


def _solve(qtbot, w) -> None:
    before = w.solve_count
    w.solve()
    qtbot.waitUntil(lambda: w.solve_count > before, timeout=SOLVE_TIMEOUT_MS)


def _type(edit, text: str) -> None:
    edit.setText(text)
    edit.editingFinished.emit()


def _choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def _set_up_box(qtbot, w) -> None:
    """Through the panel's widgets: back clamped, 2 MPa pressure on front."""
    panel = w.parts.panel
    qtbot.mouseClick(panel.add_support_button, Qt.MouseButton.LeftButton)
    _choose(panel.region_combo, "back")
    qtbot.mouseClick(panel.add_load_button, Qt.MouseButton.LeftButton)
    assert panel.kind_combo.currentData() == "pressure"
    _choose(panel.region_combo, "front")
    (row,) = panel.editor_rows
    assert row.unit.text() == "MPa"
    _type(row.edit, "2")


def test_open_shows_the_part_its_regions_and_why_it_cannot_be_solved_yet(qtbot, win, store):
    _open(qtbot, win, BOX)
    parts, panel = win.parts, win.parts.panel
    assert "box.msh" in win.windowTitle() and parts.dock.isVisible()
    assert win.viewport.n_points == 358 and not win.viewport.has_field
    summary = panel.summary.text()
    for text in ("box.msh", "Gmsh MSH 2.2", "358 nodes", "1,105 tetra", "length unit: m"):
        assert text in summary
    for text in ("front (104)", "back (104)", "top (104)"):  # listed in the Regions box
        assert text in panel.summary.toolTip()
    assert parts.info.unit == "m"  # the unit stated at import, from the report
    # a new part has no support: Solve is disabled and says why
    assert not win.solve_button.isEnabled() and not win.solve_action.isEnabled()
    assert "Add a support" in win.solve_button.toolTip()
    assert "Add a support" in panel.status.text()
    win.solve()  # F5 anyway: refused with the reason, no job
    assert not win.runner.busy and "Add a support" in win.statusBar().currentMessage()
    assert win.viewport.overlay_text.startswith("Set-up incomplete")
    # selecting a support shows its region in colour in the viewport
    qtbot.mouseClick(panel.add_support_button, Qt.MouseButton.LeftButton)
    assert [panel.region_combo.itemData(i) for i in range(panel.region_combo.count())] == [
        "", "front", "back", "top", "boundary"]  # "choose a region" first: none applied (#13)
    _choose(panel.region_combo, "top")
    assert parts.highlighted == "top"
    actor = win.viewport.plotter.actors["part_highlight"]
    assert actor.mapper.dataset.n_cells == 104
    z = actor.mapper.dataset.points[:, 1]  # 'top' is the y = 1 face of this cube
    assert np.allclose(z, z.mean(), atol=1e-2) and z.mean() > 1.0  # lifted off the face
    assert "Add a load" in panel.status.text()
    assert parts.open_action.shortcut().toString() == "Ctrl+O"
    for pattern in ("*.msh", "*.vtu", "*.inp", "*.step", "*.iges", "*.brep", "*.stl"):
        assert pattern in FILE_FILTER
    # the file went to the recent files (newest first), kept in the settings store
    assert RecentFiles(store).paths()[0] == str(BOX.resolve())
    texts = [a.text() for a in parts.recent_menu.actions()]
    assert any("box.msh" in t for t in texts)


@pytest.mark.parametrize("name, content, expected", [
    ("missing.msh", None, "does not exist"),
    ("empty.msh", b"", "is empty"),
    ("truncated.msh", b"$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n10\n1 0 0",
     "truncated|corrupt|Could not"),
    ("notes.msh", b"this is not a mesh at all\n", "Could not read|not in a format|truncated"),
    ("surface.vtu", "surface", "surface mesh in 3D"),
])
def test_a_bad_file_shows_the_readers_message_and_keeps_the_study(qtbot, win, tmp_path, name,
                                                                   content, expected):
    import re

    import meshio

    path = tmp_path / name
    if content == "surface":
        box, _ = read_mesh(BOX)
        meshio.Mesh(box.points, [("triangle", box.boundaries["boundary"])]).write(path)
    elif content is not None:
        path.write_bytes(content)
    model_before = win.model
    win.open_file(str(path))
    qtbot.waitUntil(lambda: win.parts.error_dialog is not None
                    and win.parts.error_dialog.isVisible(), timeout=OPEN_TIMEOUT_MS)
    box = win.parts.error_dialog
    assert re.search(expected, box.informativeText()) and name in box.text()
    assert "Traceback" not in box.informativeText()
    assert win.spec.id == "plate-with-hole" and win.model is model_before
    assert not win.parts.active and (win.parts.dock is None or not win.parts.dock.isVisible())
    box.accept()


def test_faces_without_solids_are_refused_after_the_import_dialog(qtbot, win, tmp_path):
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    with gmsh_model("faces"):
        gmsh.model.occ.addRectangle(0, 0, 0, 10, 10)
        gmsh.model.occ.synchronize()
        gmsh.write(str(tmp_path / "face.brep"))
    win.open_file(str(tmp_path / "face.brep"))
    qtbot.waitUntil(lambda: win.parts.opener.options_dialog is not None, timeout=OPEN_TIMEOUT_MS)
    dialog = win.parts.opener.options_dialog
    assert dialog.unit_combo.isEnabled() and dialog.unit_combo.currentData() == "mm"
    dialog._accept()
    qtbot.waitUntil(lambda: win.parts.error_dialog is not None, timeout=OPEN_TIMEOUT_MS)
    assert "no solid bodies" in win.parts.error_dialog.informativeText()
    assert win.spec.id == "plate-with-hole"
    win.parts.error_dialog.accept()


def test_step_file_asks_element_size_and_opens_meshed(qtbot, win, tmp_path):
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    path = tmp_path / "bracket.step"
    with gmsh_model("step"):
        gmsh.model.occ.addBox(0, 0, 0, 100, 40, 20)  # mm
        gmsh.model.occ.synchronize()
        gmsh.write(str(path))
    win.open_file(str(path))
    qtbot.waitUntil(lambda: win.parts.opener.options_dialog is not None, timeout=OPEN_TIMEOUT_MS)
    dialog = win.parts.opener.options_dialog
    assert not dialog.unit_combo.isEnabled()  # STEP carries its unit
    assert dialog.size_label.text() == "100 \u00d7 40 \u00d7 20 mm"
    diag = np.sqrt(100**2 + 40**2 + 20**2)
    assert float(dialog.size_edit.text()) == pytest.approx(diag / 20, rel=1e-2)
    dialog.size_edit.setText("abc")
    dialog._accept()
    assert "not a number" in dialog.error_label.text() and dialog.isVisible()
    dialog.size_edit.setText("10")  # mm
    dialog._accept()
    qtbot.waitUntil(lambda: win.parts.active, timeout=OPEN_TIMEOUT_MS)
    assert win.parts.info.element_size == pytest.approx(0.010)
    assert {f"face_{k}" for k in range(1, 7)} <= set(win.parts.mesh.boundaries)
    lo, hi = win.parts.mesh.bounds()
    np.testing.assert_allclose(hi - lo, [0.1, 0.04, 0.02], rtol=1e-6)  # metres inside
    assert "100 \u00d7 40 \u00d7 20 mm" in win.parts.panel.summary.text()


def test_solve_shows_von_mises_and_a_promoted_pressure_drives_it(qtbot, win):
    _open(qtbot, win, BOX)
    parts, panel = win.parts, win.parts.panel
    _set_up_box(qtbot, win)
    assert parts.setup.supports == [{"region": "back", "components": [0, 1, 2]}]
    assert parts.setup.loads == [{"kind": "pressure", "region": "front", "value": 2e6}]
    assert win.solve_button.isEnabled() and "Ready to solve" in panel.status.text()
    # the set-up is in the application model too (what a session saves)
    assert win.app.part.state["setup"]["loads"] == parts.setup.loads
    assert win.app.part.problem == "" and win.app.session.dirty
    _solve(qtbot, win)
    vp = win.viewport
    assert vp.has_field and vp.colorbar_title == "von Mises stress [MPa]"
    peak = win.result.meta["key_quantities"]["peak_von_mises"]
    lo, hi = vp.clim
    assert 0 <= lo < hi and hi == pytest.approx(peak * 1e-6, rel=1e-5) and 1.0 < hi < 10.0
    assert "Peak von Mises stress" in win.results_label.text() and "MPa" in win.results_label.text()
    assert parts.highlighted == "front"  # over the field: an outline, colours stay readable
    assert vp.plotter.actors["part_highlight"].prop.style == "Wireframe"

    # promote the pressure through its 'Slider...' button and dialog
    (row,) = panel.editor_rows
    qtbot.mouseClick(row.slider_button, Qt.MouseButton.LeftButton)
    dialog = next(d for d in win.findChildren(QDialog) if d.windowTitle() == "Make a slider"
                  and d.isVisible())
    assert dialog.lower_edit.text() == "0" and dialog.upper_edit.text() == "4"  # MPa
    dialog.upper_edit.setText("10")
    dialog._accept()
    qtbot.waitUntil(lambda: "pressure_front_p" in win.panel.rows, timeout=5000)
    slider = win.panel.rows["pressure_front_p"]
    assert slider.unit_label.text() == "MPa" and slider.box.text() == "2"
    assert win.is_stale and "out of date" in win.state_label.text()
    assert panel.editor_rows[0].edit.text() == "slider"
    _type(slider.box, "4")  # MPa
    assert win.model.value("pressure_front_p") == pytest.approx(4e6)
    assert "4 MPa" in panel.table.item(1, 2).text()  # the table shows the slider's value
    _solve(qtbot, win)
    assert win.result.meta["key_quantities"]["peak_von_mises"] == pytest.approx(2 * peak,
                                                                               rel=1e-6)
    assert vp.clim[1] == pytest.approx(2 * hi, rel=1e-5) and not win.is_stale


def test_heat_set_up_solves_temperature_and_elasticity_comes_back(qtbot, win):
    _open(qtbot, win, BOX)
    parts, panel = win.parts, win.parts.panel
    _set_up_box(qtbot, win)
    _choose(panel.physics_combo, "heat")
    assert parts.setup.physics == "heat" and parts.setup.loads == []
    assert [f.name for f in win.spec.fields] == ["temperature", "heat_flux"]
    assert not panel.add_support_button.isEnabled()
    assert [r.field.key for r in panel.material_rows] == ["conductivity"]
    assert "fixed temperature or convection" in panel.status.text()
    for region, value in (("front", "100"), ("back", "0")):
        qtbot.mouseClick(panel.add_load_button, Qt.MouseButton.LeftButton)
        assert panel.kind_combo.currentData() == "temperature"
        _choose(panel.region_combo, region)
        _type(panel.editor_rows[0].edit, value)
    _solve(qtbot, win)
    assert win.viewport.colorbar_title == "Temperature [\u00b0C]"
    lo, hi = win.viewport.clim
    assert lo == pytest.approx(0.0, abs=1e-6) and hi == pytest.approx(100.0, rel=1e-6)
    _choose(panel.physics_combo, "elasticity")  # the elastic set-up was kept aside
    assert parts.setup.supports == [{"region": "back", "components": [0, 1, 2]}]
    assert parts.setup.loads == [{"kind": "pressure", "region": "front", "value": 2e6}]
    assert win.spec.default_field == "von_mises" and not win.viewport.has_field


def test_invalid_input_disables_solve_with_the_reason(qtbot, win):
    _open(qtbot, win, BOX)
    panel = win.parts.panel
    _set_up_box(qtbot, win)
    (row,) = panel.editor_rows
    _type(row.edit, "two")
    assert "'two' is not a number" in panel.status.text()
    assert not win.solve_button.isEnabled() and "not a number" in win.solve_button.toolTip()
    win.solve()  # F5 anyway: refused, the reason above the view
    assert not win.runner.busy and "'two' is not a number" in win.message_bar.text()
    assert win.parts.setup.loads[0]["value"] == 2e6  # the last good value is kept
    assert row.edit.text() == "two"  # what was typed stays, in red, until corrected
    _type(row.edit, "3,5")  # a decimal comma is fine
    assert win.parts.setup.loads[0]["value"] == pytest.approx(3.5e6)
    assert win.solve_button.isEnabled()
    # a custom material with a missing modulus is refused with the material's message
    _choose(panel.material_combo, "custom")
    e_row = panel.material_rows[0]
    assert e_row.edit.isEnabled() and e_row.edit.text() == "200"  # GPa, from the steel
    _type(e_row.edit, "0")
    assert "Young's modulus must be positive" in panel.status.text()
    assert not win.solve_button.isEnabled()
    _type(e_row.edit, "70")
    assert win.solve_button.isEnabled()
    assert win.model.study.part.material_overrides["youngs_modulus"] == pytest.approx(70e9)
    # removing the only support: blocked again
    panel.select("support", 0)
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert "Add a support" in panel.status.text() and not win.solve_button.isEnabled()


def test_boundary_facets_and_growth_on_arrays():
    mesh, _ = read_mesh(BOX)
    bf = BoundaryFacets(mesh)
    assert len(bf) == 624
    # outward normals: the +z facets point up
    top = bf.facet_at([0.3, 0.6, 1.0])
    np.testing.assert_allclose(bf.normals[top], [0, 0, 1], atol=1e-12)
    face = bf.grow(top, 30.0)
    assert len(face) == 104 and np.allclose(bf.centres[face][:, 2], 1.0)
    assert len(bf.grow(top, 95.0)) == 624  # beyond the cube's 90 degree edges: everything
    front = mesh.boundaries["front"]
    assert sorted(map(tuple, np.sort(bf.region_array(face), axis=1))) == sorted(
        map(tuple, np.sort(front, axis=1)))
    # 2D: the square's boundary edges, one side at a time
    sq, _ = read_mesh(MESHES / "square.msh")
    b2 = BoundaryFacets(sq)
    side = b2.grow(b2.facet_at([0.5, 0.0, 0.0]), 30.0)
    assert len(side) == 8 and np.allclose(b2.centres[side][:, 1], 0.0)


def test_picking_a_face_of_the_cube_makes_a_named_region(qtbot, win):
    _open(qtbot, win, BOX)
    parts, panel = win.parts, win.parts.panel
    qtbot.mouseClick(panel.pick_button, Qt.MouseButton.LeftButton)
    assert parts.pick_mode
    assert panel.pick_button.text() == "Stop picking"
    # a mouse click on the pixel where the centre of the z = 1 face is drawn: VTK picks it
    plotter = win.viewport.plotter
    ren = plotter.renderer
    ren.SetWorldPoint(0.5, 0.5, 1.0, 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    ratio = plotter.devicePixelRatioF()
    qtbot.mouseClick(plotter, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(x / ratio), round((plotter.height() * ratio - y) / ratio)))
    assert len(parts.selection) == 104
    assert np.allclose(parts.facets.centres[parts.selection][:, 2], 1.0)
    assert win.viewport.plotter.actors["part_pick"].mapper.dataset.n_cells == 104
    assert "Selected: 104 facets" in panel.pick_label.text()
    parts.pick_point([1.0, 0.5, 0.5], add=True)  # Shift+click: the x = 1 face too
    assert len(parts.selection) == 208
    parts.pick_point([0.5, 0.0, 0.5])  # a plain click starts again: the y = 0 face
    assert len(parts.selection) == 104
    assert np.allclose(parts.facets.centres[parts.selection][:, 1], 0.0)
    for bad, reason in (("", "name"), ("front", "already exists"), ("a b", "not a valid")):
        panel.region_name.setText(bad)
        qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
        assert reason in panel.pick_error.text()
    panel.region_name.setText("side_wall")
    qtbot.mouseClick(panel.create_button, Qt.MouseButton.LeftButton)
    assert panel.pick_error.text() == ""
    assert len(parts.mesh.boundaries["side_wall"]) == 104
    assert "side_wall" in win.model.study.mesh.boundaries  # the study was rebuilt with it
    assert "side_wall (104) <i>picked</i>" in panel.summary.toolTip()
    assert len(parts.selection) == 0 and "part_pick" not in win.viewport.plotter.actors
    qtbot.mouseClick(panel.pick_button, Qt.MouseButton.LeftButton)
    assert not parts.pick_mode and panel.pick_button.text() == "Pick faces"
    # usable at once in the table, and shown when chosen
    qtbot.mouseClick(panel.add_support_button, Qt.MouseButton.LeftButton)
    _choose(panel.region_combo, "side_wall")
    assert parts.setup.supports[-1]["region"] == "side_wall"
    assert parts.highlighted == "side_wall"
    assert win.viewport.plotter.actors["part_highlight"].mapper.dataset.n_cells == 104


def test_recent_files_keep_the_last_eight(qtbot, win, store, tmp_path):
    recent = RecentFiles(store)
    for k in range(10):
        recent.add(tmp_path / f"part{k}.msh")
    paths = recent.paths()
    assert len(paths) == MAX_RECENT and Path(paths[0]).name == "part9.msh"
    recent.add(tmp_path / "part5.msh")  # again: moves to the top, no duplicate
    paths = recent.paths()
    assert Path(paths[0]).name == "part5.msh" and len(set(paths)) == MAX_RECENT
    assert RecentFiles(QSettings(store.fileName(), QSettings.Format.IniFormat)).paths() == paths
    recent.add(BOX)
    win.parts._fill_recent_menu()
    action = win.parts.recent_menu.actions()[0]
    assert "box.msh" in action.text()
    action.trigger()
    qtbot.waitUntil(lambda: win.parts.active, timeout=OPEN_TIMEOUT_MS)
    assert win.spec.id == "part:box"


def test_dropping_a_file_on_the_window_opens_it(qtbot, win):
    assert not win.viewport.plotter.acceptDrops()  # drops on the 3D view reach the window
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(BOX))])
    enter = QDragEnterEvent(QPointF(500, 400), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(500, 400), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, drop)
    assert drop.isAccepted()
    qtbot.waitUntil(lambda: win.parts.active and win.viewport.n_points == 358,
                    timeout=OPEN_TIMEOUT_MS)
    assert win.spec.id == "part:box"
    text_only = QMimeData()
    text_only.setText("hello")
    enter = QDragEnterEvent(QPointF(5, 5), Qt.DropAction.CopyAction, text_only,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win, enter)
    assert not enter.isAccepted()


def test_part_state_round_trips_through_json(qtbot, win):
    _open(qtbot, win, BOX)
    parts = win.parts
    _set_up_box(qtbot, win)
    parts.set_pick_mode(True)
    parts.pick_point([0.0, 0.5, 0.5])
    assert parts.create_region("left") == ""
    parts.panel.add_support()
    _choose(parts.panel.region_combo, "left")
    _choose(parts.panel.support_type, "symmetry")
    parts.promote("loads.0.value", "p", 0.0, 5e6, label="Pressure")
    win.model.set_value("p", 3e6)
    state = json.loads(json.dumps(parts.part_state()))  # JSON-able
    assert state["file"] == str(BOX.resolve()) and state["length_unit"] is None
    assert len(state["picked_regions"]["left"]["facets"]) == 104
    assert state["values"] == {"p": 3e6}

    win.set_study(get_study("plate-with-hole"))  # something else, then back from the state
    assert not parts.active and not parts.dock.isVisible()
    with qtbot.waitSignal(parts.part_opened, timeout=OPEN_TIMEOUT_MS):
        parts.restore_part_state(state)
    assert parts.setup.supports == [{"region": "back", "components": [0, 1, 2]},
                                    {"region": "left", "components": [], "symmetry": True}]
    assert parts.setup.loads == state["setup"]["loads"]
    np.testing.assert_array_equal(parts.mesh.boundaries["left"],
                                  state["picked_regions"]["left"]["facets"])
    assert win.model.value("p") == 3e6 and "p" in win.panel.rows
    assert parts.problem == "" and win.solve_button.isEnabled()
    assert parts.part_state()["picked_regions"] == state["picked_regions"]
    # a CAD file remeshed differently: the picked faces are found again from the clicks
    moved = copy.deepcopy(state)
    moved["picked_regions"]["left"]["facets"] = [[0, 1, 2]]
    with qtbot.waitSignal(parts.part_opened, timeout=OPEN_TIMEOUT_MS):
        parts.restore_part_state(moved)
    assert parts.setup.supports[1]["region"] == "left" and parts.problem == ""
    np.testing.assert_array_equal(np.sort(parts.mesh.boundaries["left"], axis=1),
                                  np.sort(state["picked_regions"]["left"]["facets"], axis=1))


def test_command_line_opens_a_file(qtbot, store, capsys):
    args = build_parser().parse_args(["gui", "--file", "part.msh"])
    assert args.file == "part.msh" and args.study is None
    with pytest.raises(SystemExit):  # one or the other
        build_parser().parse_args(["gui", "--file", "part.msh", "--study", "l-bracket"])
    assert main(["nowhere/part.step"]) == 1
    assert "does not exist" in capsys.readouterr().err
    # what `physapp box.msh` runs: the launcher reads the file, then shows the window on it
    launcher = Launcher(settings_store=store)
    assert launcher.start(None, str(BOX)) is None
    try:
        qtbot.waitUntil(lambda: launcher.window is not None, timeout=OPEN_TIMEOUT_MS)
        win = launcher.window
        qtbot.addWidget(win)
        assert win.spec.id == "part:box" and win.parts.active and win.isVisible()
        assert win.runner is launcher.runner  # the reading process now serves the solves
        win.close()
    finally:
        launcher.shutdown()


def test_cancel_stops_meshing_and_the_study_stays(qtbot, win, tmp_path):
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    path = tmp_path / "ball.step"
    with gmsh_model("step"):
        gmsh.model.occ.addSphere(0, 0, 0, 50)  # mm
        gmsh.model.occ.synchronize()
        gmsh.write(str(path))
    opener = win.parts.opener
    win.parts.open_file(str(path), ImportOptions(None, 0.0006))  # ~290 elements across: slow
    qtbot.waitUntil(lambda: opener.progress_dialog is not None
                    and opener.progress_dialog.isVisible(), timeout=10_000)
    assert "Meshing ball.step" in opener.progress_dialog.labelText()
    (cancel,) = [b for b in opener.progress_dialog.findChildren(QPushButton)
                 if b.text() == "Cancel"]
    qtbot.mouseClick(cancel, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not opener.busy, timeout=5000)
    assert opener.progress_dialog is None and not opener.runner.busy
    assert win.spec.id == "plate-with-hole" and "cancelled" in win.statusBar().currentMessage()
    _open(qtbot, win, BOX)  # the reading process starts again for the next file


def test_reopening_a_part_brings_its_set_up_back(qtbot, win):
    _open(qtbot, win, BOX)
    _set_up_box(qtbot, win)
    win.set_study(get_study("l-bracket"))
    assert not win.parts.active
    _open(qtbot, win, BOX)
    assert win.parts.setup.loads == [{"kind": "pressure", "region": "front", "value": 2e6}]
    assert "is back" in win.message_bar.text() and win.solve_button.isEnabled()

"""The GUI side of issue #15: import options (order, local sizes, curvature), the region list,
typed selectors, force by magnitude and direction, prescribed displacements, materials and
sources per region, surrogate training of an imported part, solver warnings and decks.

Fast: the part is read in this process and handed to the window (no reading process), except
where the reading job itself is tested."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.open_file import ImportOptions, ImportOptionsDialog
from physapp.gui.part_tasks import PartInfo, make_part_study, probe_extent, read_part
from physapp.io.readers import read_mesh
from physapp.studies import get_study
from physapp.studies.imported import PartSetup

pytestmark = pytest.mark.gui

MESHES = Path(__file__).parents[1] / "data" / "meshes"
BOX = MESHES / "box.msh"  # unit cube; regions front (z=1), back (z=0), top


@pytest.fixture(scope="module")
def box_mesh():
    return read_mesh(BOX, isolate=False)


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def win(qtbot, shared_runner, store):
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner,
                   settings_store=store)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _show_part(w, mesh_report, setup: PartSetup | None = None, path=BOX):
    mesh, report = mesh_report
    study = make_part_study(mesh, setup or PartSetup(), PartInfo(str(path), report))
    w.set_study(study)
    assert w.parts.active
    return w.parts.panel


def _step(path: Path) -> Path:
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    with gmsh_model("step"):
        box = gmsh.model.occ.addBox(0, 0, 0, 40, 20, 10)  # mm
        hole = gmsh.model.occ.addCylinder(20, 10, 0, 0, 0, 10, 4)
        gmsh.model.occ.cut([(3, box)], [(3, hole)])
        gmsh.model.occ.synchronize()
        gmsh.write(str(path))
    return path


# -- 1. import options ----------------------------------------------------------------------------
def test_import_dialog_asks_order_local_sizes_and_curvature(qtbot, tmp_path):
    path = tmp_path / "plate.step"
    dialog = ImportOptionsDialog(str(path), (0.04, 0.02, 0.01), order=2)
    qtbot.addWidget(dialog)
    assert dialog.order_combo.currentData() == 2  # the solve order is P2: curved elements
    dialog.size_edit.setText("4")  # mm
    dialog.curvature_spin.setValue(16)
    dialog.add_refine("face_7", "1", "0.9")
    dialog._accept()
    assert dialog.options is None and "growth above 1" in dialog.error_label.text()
    dialog.refine_table.item(0, 2).setText("1.4")
    dialog._accept()
    opts = dialog.options
    assert opts.order == 2 and opts.curvature == 16 and opts.element_size == pytest.approx(4e-3)
    assert opts.refine == [{"regions": ["face_7"], "size": pytest.approx(1e-3), "growth": 1.4}]
    surface = ImportOptionsDialog(str(tmp_path / "part.stl"), (1.0, 1.0, 1.0), order=2)
    qtbot.addWidget(surface)
    assert not surface.order_combo.isEnabled()  # surfaces: one size, order 1
    surface._accept()
    assert surface.options.order == 1 and surface.options.refine == []


def test_reading_job_meshes_cad_curved_and_refined(tmp_path):
    path = _step(tmp_path / "holed.step")
    ext = probe_extent(str(path))  # isolated probe, metres for STEP
    np.testing.assert_allclose(ext, (0.04, 0.02, 0.01), atol=1e-6)  # OCC box tolerance
    coarse, _ = read_part(str(path), None, 0.008, 1, [], 0.0)
    # the import dialog's size (the probe) is the Part panel's (the mesh's extent, #13)
    np.testing.assert_allclose(ext, np.ptp(coarse.points, axis=0), atol=1e-7)
    hole = next(n for n, v in coarse.boundaries.items() if n.startswith("face_") and np.allclose(
        np.linalg.norm(coarse.points[np.unique(v)][:, :2] - [0.02, 0.01], axis=1), 0.004,
        atol=1e-6))
    fine, _ = read_part(str(path), None, 0.008, 2, [{"regions": [hole], "size": 0.001,
                                                     "growth": 1.3}], 0.0)
    assert {b.type for b in fine.cells} == {"tetra10"}
    # curved: mid-side nodes of the hole lie on the cylinder, not on its chords
    r = np.linalg.norm(fine.points[np.unique(fine.boundaries[hole])][:, :2] - [0.02, 0.01],
                       axis=1)
    np.testing.assert_allclose(r, 0.004, atol=1e-7)
    # the local size: many more facets on the hole than at the global size
    assert len(fine.boundaries[hole]) > 4 * len(coarse.boundaries[hole])


def test_options_pass_through_the_window_opener(qtbot, win):
    import dataclasses

    win.apply_settings(dataclasses.replace(win.settings, element_order=2))
    assert win.parts.opener.default_order() == 2
    opts = ImportOptions("mm", 0.002, 2, [{"regions": ["face_1"], "size": 0.001,
                                           "growth": 1.2}], 12.0)
    assert opts.read_args() == ("mm", 0.002, 2, [{"regions": ["face_1"], "size": 0.001,
                                                  "growth": 1.2}], 12.0)


# -- 2. the region list ---------------------------------------------------------------------------
def _with_extra_regions(mesh_report):
    """The cube with a corner point set, an edge (segments along x at y = z = 0) and two
    subdomains (cells with centroid x < 0.5 and the rest)."""
    from physapp.core.mesh import MeshData
    from physapp.core.regions import select, with_region

    mesh, report = mesh_report
    corner = int(np.argmin(np.linalg.norm(mesh.points, axis=1)))
    m = MeshData(mesh.points, mesh.cells, mesh.boundaries, {}, mesh.dim, mesh.length_unit,
                 {}, {"corner": np.array([corner])})
    m = with_region(m, "bottom_edge", select(m, {"select": "box", "min": [-1, -1e-9, -1e-9],
                                                  "max": [2, 1e-9, 1e-9], "kind": "edge"}))
    m = with_region(m, "left_half", select(m, {"select": "box", "min": [-1, -1, -1],
                                                "max": [0.5, 2, 2], "kind": "subdomain"}))
    cells = np.arange(m.n_cells)
    m = MeshData(m.points, m.cells, m.boundaries,
                 {"left_half": m.subdomains["left_half"],
                  "right_half": np.setdiff1d(cells, m.subdomains["left_half"])},
                 m.dim, m.length_unit, m.edges, m.point_sets)
    return m, report


def _names(panel) -> list[str]:
    return [r["name"] for r in panel._region_rows]  # (the table shows readable labels, #13)


def test_region_list_describes_regions_and_filters_by_what_the_load_accepts(qtbot, win,
                                                                          box_mesh):
    mesh, report = _with_extra_regions(box_mesh)
    panel = _show_part(win, (mesh, report))
    assert set(_names(panel)) == {*mesh.boundaries, "bottom_edge", "corner", "left_half",
                                  "right_half"}  # at once; sizes follow from a worker thread
    qtbot.waitUntil(lambda: panel.regions_ready, timeout=5000)
    front = _names(panel).index("front")  # z = 1: area 1, centroid (0.5, 0.5, 1), normal +z
    cells = [panel.region_table.item(front, c).text() for c in range(5)]
    assert cells[1] == "face" and cells[2] == "1 m\u00b2"
    assert cells[3] == "0.5, 0.5, 1" and cells[4] == "0, 0, 1"
    assert panel.region_table.horizontalHeaderItem(3).text() == "Centroid (m)"
    edge = _names(panel).index("bottom_edge")
    assert panel.region_table.item(edge, 2).text() == "1 m"  # its length
    for name in ("bottom_edge", "corner", "left_half"):
        panel.region_table.selectRow(_names(panel).index(name))  # shown in the view
        assert win.parts.highlighted == name
        assert "part_highlight" in win.viewport.plotter.actors
    panel.add_load()  # a pressure: faces only
    assert set(_names(panel)) == set(mesh.boundaries)
    assert "Pressure" in panel.region_filter.text()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("force"))  # faces, edges, points
    assert set(_names(panel)) == {*mesh.boundaries, "bottom_edge", "corner"}
    combo = [panel.region_combo.itemData(k) for k in range(panel.region_combo.count())]
    assert combo[0] == "" and set(combo[1:]) == set(_names(panel))  # none chosen yet (#13)
    row = _names(panel).index("corner")
    panel._region_double_clicked(row, 0)  # use it
    assert win.parts.setup.loads[0]["region"] == "corner"
    panel.add_support()
    assert set(_names(panel)) == {*mesh.boundaries, "bottom_edge", "corner"}
    panel.physics_combo.setCurrentIndex(panel.physics_combo.findData("heat"))
    panel.add_load()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("source"))
    assert set(_names(panel)) == {"left_half", "right_half"}
    combo = [panel.region_combo.itemData(k) for k in range(panel.region_combo.count())]
    assert combo == [None, "left_half", "right_half"]  # or the whole part


# -- 3. typed selectors ---------------------------------------------------------------------------
def _match(qtbot, win, panel, text: str) -> str:
    panel.selector_edit.setText(text)
    panel._test_selector()  # resolved on a worker thread
    qtbot.waitUntil(lambda: not win.parts.selector_busy, timeout=5000)
    return panel.selector_report.text()


def _create(qtbot, win, panel, name: str, text: str) -> None:
    panel.selector_edit.setText(text)
    panel.selector_name.setText(name)
    panel._create_selector_region()
    qtbot.waitUntil(lambda: not win.parts.selector_busy, timeout=5000)


def test_typed_selector_reports_its_match_and_makes_a_region_that_survives(qtbot, win,
                                                                          box_mesh):
    panel = _show_part(win, box_mesh)
    mesh = box_mesh[0]
    on_bottom = np.all(np.isclose(mesh.points[mesh.boundaries["back"]][..., 2], 0.0), axis=-1)
    text = _match(qtbot, win, panel,  # the braces may be left out
                  '"select": "plane", "point": [0, 0, 0], "normal": [0, 0, 1]')
    assert f"matched {int(on_bottom.sum())} facets in 1 piece" in text
    assert "part_pick" in win.viewport.plotter.actors  # the match is shown in the view
    text = _match(qtbot, win, panel, '{"select": "plane", "point": [0, 0, 2], "normal": [0, 0, 1]}')
    assert "matched nothing" in text and "1 m" in text  # the nearest node is 1 m away
    assert "not valid JSON" in _match(qtbot, win, panel, '{"select": "plane", ')
    _create(qtbot, win, panel, "cut", '{"select": "plane", "point": [0, 0, 2], "normal": [0, 0, 1]}')
    assert "matched nothing" in panel.selector_report.text()
    assert "cut" not in win.parts.mesh.boundaries
    _create(qtbot, win, panel, "half_edge", '{"select": "box", "min": [-1, -1, -1], '
            '"max": [0.5, 2, 0], "kind": "edge"}')
    assert "half_edge" in win.parts.mesh.edges
    assert "half_edge" in _names(panel) and win.spec.id == "part:box"
    _create(qtbot, win, panel, "far_corner", '{"select": "sphere", "centre": [1, 1, 1], '
            '"radius": 0.01, "inside": true, "kind": "point"}')
    assert np.allclose(win.parts.mesh.points[win.parts.mesh.point_sets["far_corner"]], 1.0)
    # a support on the selector region is saved with the session and comes back on a new mesh
    panel.add_support()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("far_corner"))
    state = json.loads(json.dumps(win.parts.part_state()))
    assert set(state["selector_regions"]) == {"half_edge", "far_corner"}
    info = PartInfo(str(BOX), box_mesh[1])
    mesh2, setup2, notes = win.parts._restored(state, mesh, info, [])
    assert not notes and "far_corner" in mesh2.point_sets and "half_edge" in mesh2.edges
    assert setup2.supports[0]["region"] == "far_corner"


# -- 4. editors -----------------------------------------------------------------------------------
def _type(edit, text: str) -> None:
    edit.setText(text)
    edit.editingFinished.emit()


def test_force_by_magnitude_and_direction_with_the_magnitude_as_a_slider(qtbot, win, box_mesh):
    panel = _show_part(win, box_mesh)
    panel.add_support()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("back"))
    panel.add_load()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("force"))
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("front"))
    _type(panel.editor_rows[0].edit, "300")  # Fx, as components first
    panel.force_form.setCurrentIndex(panel.force_form.findData("magnitude"))
    load = win.parts.setup.loads[0]
    assert load["magnitude"] == pytest.approx(np.hypot(300, 1000))  # the same force
    assert [r.field.key for r in panel.editor_rows] == ["magnitude", "direction.0",
                                                        "direction.1", "direction.2"]
    assert panel.editor_rows[1].slider_button.isHidden()  # no slider for a direction
    _type(panel.editor_rows[0].edit, "2000")
    for row, text in zip(panel.editor_rows[1:], ("0", "3", "-4"), strict=True):
        _type(row.edit, text)
    win.parts.promote("loads.0.magnitude", "F", 0.0, 5000.0)
    assert win.spec.parameter("F").default == 2000.0
    assert "F" in win.parts.study.field_scaling["displacement"]["powers"]  # exact for surrogates
    traction = win.parts.study.setup({"F": 1000.0}).tractions[0]
    np.testing.assert_allclose(traction.vector, (0.0, 600.0, -800.0))  # |F| along (0, .6, -.8)
    assert traction.total and traction.region == "front"
    assert "|F| = 2000 N along (0, 3, -4)" in panel.table.item(1, 2).text() or \
        "slider: F" in panel.table.item(1, 2).text()
    assert not win.parts.problem


def test_prescribed_displacement_and_per_region_materials_and_sources(qtbot, win, box_mesh):
    mesh, report = _with_extra_regions(box_mesh)
    panel = _show_part(win, (mesh, report))
    panel.add_support()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("back"))
    assert set(panel.displacement_edits) == {0, 1, 2}  # fixed: all three held
    _type(panel.displacement_edits[2], "abc")
    assert "not a number" in win.parts.problem
    _type(panel.displacement_edits[2], "0.1")  # mm
    assert win.parts.setup.supports[0]["values"] == [0.0, 0.0, pytest.approx(1e-4)]
    assert "uz = 0.1 mm" in panel.table.item(0, 2).text()
    panel.add_load()  # pressure on a face
    assert "Choose a region" in win.parts.problem  # none until picked (#13)
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("front"))
    assert not win.parts.problem
    support = win.parts.study.setup({}).supports[0]
    assert support.components == (0, 1, 2) and support.values == pytest.approx((0, 0, 1e-4))
    assert panel.region_material_box.isVisibleTo(panel)
    _type(panel.region_material_edits[("left_half", "youngs_modulus")], "70")  # GPa
    assert win.parts.setup.regions == {"left_half": {"youngs_modulus": pytest.approx(70e9)}}
    mats = dict(win.parts.study.setup({}).region_materials)
    assert mats["left_half"].youngs_modulus == pytest.approx(70e9)
    _type(panel.region_material_edits[("left_half", "youngs_modulus")], "")
    assert win.parts.setup.regions == {}
    # heat: a source in one subdomain only, a conductivity per subdomain
    panel.physics_combo.setCurrentIndex(panel.physics_combo.findData("heat"))
    panel.add_load()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("front"))
    panel.add_load()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("source"))
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("right_half"))
    _type(panel.region_material_edits[("right_half", "conductivity")], "15")
    assert not win.parts.problem
    heat = win.parts.study.setup({})
    assert heat.region_sources == (("right_half", 1e5),) and heat.source == 0.0
    assert heat.conductivity["right_half"] == 15.0


# -- 5. surrogates of an imported part ------------------------------------------------------------
def test_train_surrogate_is_offered_for_a_part_with_a_slider(qtbot, win, box_mesh, tmp_path,
                                                             monkeypatch):
    from physapp.studies import get_study as resolve

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    panel = _show_part(win, box_mesh)
    train = win.actions["run.train"]
    assert not train.isEnabled() and "set-up is not complete" in train.toolTip()
    panel.add_support()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("back"))
    panel.add_load()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("front"))
    assert not train.isEnabled() and "promote a load" in train.toolTip()
    assert win.surrogates.open_train_dialog() is None  # says why in the message bar
    win.parts.promote("loads.0.value", "p", 0.0, 5e6)
    assert train.isEnabled() and win.surrogates.train_button.isEnabled()
    dialog = win.surrogates.open_train_dialog()
    assert dialog is not None
    sid = dialog.spec.id
    part, _, setup_file = sid[len("part:"):].rpartition("::")
    assert Path(part) == BOX and Path(setup_file).is_file()
    assert Path(setup_file).parent == tmp_path / "data" / "physapp" / "part-setups"
    assert win.surrogates.model_study_id() == sid  # models trained for it are found again
    plan = dialog._plan()
    assert plan.dataset_path.parent == tmp_path / "data" / "physapp" / "datasets"
    # what the sweep's workers rebuild: the same part, set-up and slider
    rebuilt = resolve(sid)
    assert [p.name for p in rebuilt.spec.parameters] == ["p"]
    assert rebuilt.mesh.n_points == box_mesh[0].n_points
    assert rebuilt.setup({"p": 2e6}).pressures == win.parts.study.setup({"p": 2e6}).pressures
    dialog.close()


# -- 6. decks and solver warnings -----------------------------------------------------------------
def _beam_deck(path: Path, nx: int = 10) -> Path:
    """A 10 m x 1 m x 1 m cantilever of nx C3D8 bricks: ROOT clamped, 1 kN down at TIP (spread
    over its four nodes), steel; plus an *AMPLITUDE physapp does not support."""
    pts = [(10.0 * i / nx, float(j), float(k)) for k in range(2) for j in range(2)
           for i in range(nx + 1)]

    def nid(i, j, k):
        return 1 + i + (nx + 1) * (j + 2 * k)

    lines = ["*HEADING", "cantilever", "*NODE"]
    lines += [f"{n + 1}, {x:g}, {y:g}, {z:g}" for n, (x, y, z) in enumerate(pts)]
    lines.append("*ELEMENT, TYPE=C3D8, ELSET=EALL")
    for i in range(nx):
        c = [nid(i, 0, 0), nid(i + 1, 0, 0), nid(i + 1, 1, 0), nid(i, 1, 0),
             nid(i, 0, 1), nid(i + 1, 0, 1), nid(i + 1, 1, 1), nid(i, 1, 1)]
        lines.append(f"{i + 1}, " + ", ".join(map(str, c)))
    lines += ["*NSET, NSET=ROOT", ", ".join(str(nid(0, j, k)) for j in (0, 1) for k in (0, 1)),
              "*NSET, NSET=TIP", ", ".join(str(nid(nx, j, k)) for j in (0, 1) for k in (0, 1)),
              "*MATERIAL, NAME=STEEL", "*ELASTIC", "200e9, 0.3",
              "*SOLID SECTION, ELSET=EALL, MATERIAL=STEEL",
              "*AMPLITUDE, NAME=A1", "0., 0., 1., 1.",
              "*STEP", "*STATIC", "*BOUNDARY", "ROOT, 1, 3", "*CLOAD", "TIP, 3, -250.",
              "*NODE PRINT, NSET=TIP", "U", "*END STEP"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def read_runner(qapp):
    from physapp.gui.open_file import READER_PRELOAD
    from physapp.gui.qt_job_runner import QtJobRunner

    runner = QtJobRunner(preload=READER_PRELOAD)
    runner.warm_up()
    yield runner
    runner.shutdown()


def test_a_deck_opens_with_its_set_up_and_a_coarse_p1_solve_is_flagged(qtbot, win, read_runner,
                                                                       tmp_path):
    import dataclasses

    from tests.gui.conftest import SOLVE_TIMEOUT_MS

    deck = _beam_deck(tmp_path / "cantilever.inp")
    win.parts.set_read_runner(read_runner)
    win.open_file(str(deck))
    qtbot.waitUntil(lambda: win.parts.active and win.spec.id == "part:cantilever",
                    timeout=30_000)
    setup = win.parts.setup
    assert setup.supports == [{"region": "ROOT", "components": [0, 1, 2]}]
    assert setup.loads[0]["kind"] == "force" and setup.loads[0]["vector"] == [0, 0, -1000.0]
    assert setup.material_overrides["youngs_modulus"] == 200e9
    text = win.message_bar.label.text()
    assert "*AMPLITUDE (line" in text and "Unsupported keywords" in text
    assert "1 support(s), 1 load(s)" in text
    assert not win.parts.problem  # ready to solve as the deck says
    win.apply_settings(dataclasses.replace(win.settings, element_order=1))
    before = win.solve_count
    win.solve()
    qtbot.waitUntil(lambda: win.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    meta = win.result.meta
    # one brick through the depth locks in bending: far below beam theory F L^3 / (3 E I)
    beam = 1000.0 * 10.0**3 / (3 * 200e9 * (1.0 / 12.0))
    u1 = float(np.linalg.norm(win.result.point_data["displacement"], axis=1).max())
    err = meta["p1_error_estimate"]  # |u2 - u1| / u2 with a P2 solve of the same mesh
    assert u1 < 0.7 * beam and err > 0.3
    # P2 reaches beam theory (a little above: the four point loads indent the tip corners)
    assert beam < u1 / (1 - err) < 1.25 * beam
    shown = win.parts.solver_warning
    assert "too stiff" in shown and "order 2" in shown
    assert win.message_bar.label.text() == shown or shown in win.message_bar.label.text()


def test_remesh_a_cad_part_keeps_its_set_up_and_refines_locally(qtbot, win, read_runner,
                                                               tmp_path):
    path = _step(tmp_path / "holed.step")
    win.parts.set_read_runner(read_runner)
    win.open_file(str(path))
    qtbot.waitUntil(lambda: win.parts.opener.options_dialog is not None, timeout=30_000)
    dialog = win.parts.opener.options_dialog
    dialog.size_edit.setText("8")  # mm
    dialog._accept()
    qtbot.waitUntil(lambda: win.parts.active, timeout=30_000)
    panel = win.parts.panel
    assert panel.remesh_button.isVisibleTo(panel)
    coarse = win.parts.mesh
    qtbot.waitUntil(lambda: panel.regions_ready, timeout=5000)
    hole = next(r["name"] for r in panel.region_info() if r["kind"] == "face" and np.allclose(
        r["centroid"], [0.02, 0.01, 0.005], atol=1e-4))  # the hole's wall, centred on its axis
    panel.add_support()
    panel.region_combo.setCurrentIndex(panel.region_combo.findData(hole))
    panel.remesh_button.click()
    qtbot.waitUntil(lambda: win.parts.opener.options_dialog is not None, timeout=30_000)
    dialog = win.parts.opener.options_dialog
    assert float(dialog.size_edit.text()) == 8.0  # starts from the current options
    dialog.add_refine(hole, "1", "1.3")
    dialog._accept()
    qtbot.waitUntil(lambda: win.parts.mesh is not coarse and win.parts.active, timeout=30_000)
    mesh = win.parts.mesh
    assert len(mesh.boundaries[hole]) > 4 * len(coarse.boundaries[hole])  # refined at the hole
    assert win.parts.info.refine == [{"regions": [hole], "size": pytest.approx(1e-3),
                                      "growth": 1.3}]
    assert win.parts.setup.supports[0]["region"] == hole  # the set-up survived the remesh

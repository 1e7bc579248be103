"""Support and load symbols in the viewport, no region chosen for a new load, and the part's
set-up beside the view without taking its width (#13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from physapp.gui.dock_layout import WIDE
from physapp.gui.part_panel import CHOOSE_REGION
from physapp.gui.part_tasks import PartInfo, make_part_study
from physapp.gui.setup_symbols import LOADS, SUPPORTS
from physapp.io.readers import read_mesh
from physapp.studies.imported import PartSetup

pytestmark = pytest.mark.gui

BOX = Path(__file__).parents[1] / "data" / "meshes" / "box.msh"  # unit cube, front z=1, back z=0


def test_plate_shows_supports_on_its_symmetry_edges_and_arrows_on_the_loaded_edge(window):
    actors = window.viewport.plotter.actors
    assert SUPPORTS in actors and LOADS in actors
    sym = window.symbols
    assert sym.n_supports > 0 and sym.n_loads > 0
    loads = actors[LOADS].mapper.dataset
    lo, hi = window.result.mesh.bounds()
    diag = float(np.linalg.norm(hi - lo))
    # the traction pulls the x = length/2 edge along +x: arrows start there and point out
    assert loads.bounds[0] == pytest.approx(hi[0], abs=1e-3 * diag)
    assert loads.bounds[1] > hi[0] + 0.05 * diag
    # symmetry: cones on x = 0 (fixing u_x) and on y = 0 (fixing u_y), sized to the part
    sup = actors[SUPPORTS].mapper.dataset
    assert sup.bounds[0] < lo[0] and sup.bounds[2] < lo[1]
    assert sup.bounds[1] - sup.bounds[0] < 1.1 * (hi[0] - lo[0])
    # hidden on request
    sym.check.setChecked(False)
    assert SUPPORTS not in window.viewport.plotter.actors
    sym.check.setChecked(True)
    assert SUPPORTS in window.viewport.plotter.actors


def test_a_new_load_is_applied_to_no_face_until_a_region_is_picked(window, qtbot):
    mesh = read_mesh(BOX, isolate=False)
    setup = PartSetup()
    setup.supports.append({"region": "back", "components": [0, 1, 2]})
    window.set_study(make_part_study(mesh[0], setup, PartInfo(str(BOX), mesh[1])))
    qtbot.waitUntil(lambda: window.viewport.n_points > 0, timeout=10_000)
    panel, parts = window.parts.panel, window.parts
    assert window.symbols.n_supports > 0 and window.symbols.n_loads == 0
    panel.add_load()
    load = parts.setup.loads[-1]
    assert load["kind"] == "pressure" and load["region"] == ""  # no face chosen for the user
    assert panel.region_combo.currentText() == CHOOSE_REGION
    # regions read like the geometry: the file's names with their shape (#13)
    qtbot.waitUntil(lambda: panel.regions_ready, timeout=5000)
    panel._selection_changed()  # the list again, now measured
    texts = [panel.region_combo.itemText(k) for k in range(panel.region_combo.count())]
    # box.msh is in metres (1 m cube): its names in the panel's unit, as its sizes
    assert any(t.startswith("front  (plane z = 1 m)") for t in texts), texts
    assert "Choose a region" in parts.problem and not window.solve_button.isEnabled()
    assert parts.study.part.loads == [] and window.symbols.n_loads == 0  # nothing applied
    panel.region_combo.setCurrentIndex(panel.region_combo.findData("front"))
    assert load["region"] == "front" and not parts.problem
    assert panel.region_combo.findData("") < 0  # the placeholder goes once chosen
    # the pressure's arrows appear on the front face (z = 1), pointing into the part (-z)
    assert window.symbols.n_loads > 0
    arrows = window.viewport.plotter.actors[LOADS].mapper.dataset
    assert arrows.bounds[4] == pytest.approx(1.0, abs=0.02) and arrows.bounds[5] > 1.1
    cones = window.viewport.plotter.actors[SUPPORTS].mapper.dataset
    h = 0.035 * np.sqrt(3)  # cone height: 3.5 % of the cube's diagonal
    assert cones.bounds[5] < 0.4 * h  # at the clamped back face (z = 0): at most a cone radius
    assert cones.bounds[4] == pytest.approx(-h, rel=0.05)  # the u_z cones' bases outside
    # the 3D view keeps most of the width (#13): the set-up is a tab beside the Study dock in
    # a narrow window, a column on the right in a wide one
    dock = window.parts.dock
    window.showNormal()
    window.resize(1280, 800)
    qtbot.waitUntil(lambda: window.viewport.width() > 0.6 * window.width(), timeout=5000)
    assert dock in window.tabifiedDockWidgets(window.study_dock)
    assert not dock.visibleRegion().isEmpty()  # the set-up's tab is in front
    window.resize(WIDE + 100, 900)
    qtbot.waitUntil(lambda: window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea,
                    timeout=5000)
    assert window.study_dock.isVisible() and dock.isVisible()

"""Region hover (#13): hovering a region in the Regions list or on the part in the view outlines
it in the view and names it on the bottom line; leaving ends it."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.part_hover import HOVER
from physapp.gui.part_tasks import PartInfo, make_part_study
from physapp.gui.part_view import LABEL
from physapp.io.readers import read_mesh
from physapp.studies import get_study
from physapp.studies.imported import PartSetup

pytestmark = pytest.mark.gui

BOX = Path(__file__).parents[1] / "data" / "meshes" / "box.msh"  # front z=1, back z=0, top y=1


@pytest.fixture
def part_window(qtbot, shared_runner, tmp_path):
    configure_pyvista()
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner,
                   settings_store=store)
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    mesh, report = read_mesh(BOX, isolate=False)
    w.set_study(make_part_study(mesh, PartSetup(), PartInfo(str(BOX), report)))
    qtbot.waitUntil(lambda: w.viewport.n_points == 358)  # the part is drawn (a preview)
    return w


def _label(w) -> str:
    actor = w.viewport.plotter.actors.get(LABEL)  # a corner annotation: its lower edge
    return "" if actor is None else actor.GetText(actor.LowerEdge)


def _display(w, point) -> tuple[int, int]:
    w.viewport.plotter.render_window.Render()  # the camera and size of the frame on screen
    ren = w.viewport.plotter.renderer
    ren.SetWorldPoint(*point, 1.0)
    ren.WorldToDisplay()
    x, y, _ = ren.GetDisplayPoint()
    return int(round(x)), int(round(y))


def test_hovering_a_row_of_the_region_list_outlines_it(qtbot, part_window):
    w = part_window
    panel, hover = w.parts.panel, w.parts.region_hover
    qtbot.waitUntil(lambda: panel.regions_ready)
    names = [r["name"] for r in panel._region_rows]
    row = names.index("top")
    panel._region_hovered(row)  # the table's cellEntered
    assert hover.region == "top" and HOVER in w.viewport.plotter.actors
    # the outline is the region's 104 facets (3 corners each), on the bottom line by name
    assert w.viewport.plotter.actors[HOVER].GetMapper().GetInput().GetNumberOfCells() == 104
    assert "Region 'top'" in _label(w) and "104 facets" in _label(w)
    panel.eventFilter(panel.region_table.viewport(), QEvent(QEvent.Type.Leave))
    assert hover.region is None and HOVER not in w.viewport.plotter.actors
    assert _label(w) == ""


def test_hovering_the_part_in_the_view_finds_the_region_under_the_mouse(qtbot, part_window):
    w = part_window
    hover = w.parts.region_hover
    # the iso view looks at the faces x = 1, y = 1 (region top) and z = 1 (region front)
    assert hover.region_at((0.5, 0.5, 1.0)) == "front"
    assert hover.region_at((0.5, 0.0, 0.5)) is None  # y = 0: only the whole boundary
    assert hover.region_at_display(*_display(w, (0.5, 0.5, 1.0))) == "front"
    assert hover.region_at_display(*_display(w, (0.5, 1.0, 0.5))) == "top"
    assert hover.region_at_display(*_display(w, (1.0, 0.5, 0.5))) is None
    assert hover.region_at_display(2, 2) is None  # beside the part
    # the mouse rests over the top face: it is outlined once the rest timer fires
    hover._pos = _display(w, (0.5, 1.0, 0.5))
    hover._look()
    assert hover.region == "top" and HOVER in w.viewport.plotter.actors
    hover._pos = (2, 2)
    hover._look()
    assert hover.region is None


def test_hovering_an_item_of_a_loads_region_list_outlines_it(qtbot, part_window):
    w = part_window
    panel, hover = w.parts.panel, w.parts.region_hover
    panel.add_load()
    combo = panel.region_combo
    combo.highlighted.emit(combo.findData("back"))  # the mouse over 'back' in the open list
    assert hover.region == "back" and HOVER in w.viewport.plotter.actors
    assert panel.ctl.setup.loads[0]["region"] == ""  # hovering chooses nothing
    panel.eventFilter(combo.view(), QEvent(QEvent.Type.Hide))  # the list closed
    assert hover.region is None and HOVER not in w.viewport.plotter.actors

"""The Part set-up tab at 1280x800 and 1400x900 (#13): its main actions (+ Support, + Load) and
the editor of a new load (its region list) are in view without scrolling; a library material's
values are one line that opens into rows; the part's regions are listed once (the Regions box)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QSettings
from PySide6.QtWidgets import QScrollArea, QWidget

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.part_tasks import PartInfo, make_part_study
from physapp.io.readers import read_mesh
from physapp.studies import get_study
from physapp.studies.imported import PartSetup

pytestmark = pytest.mark.gui

BOX = Path(__file__).parents[1] / "data" / "meshes" / "box.msh"  # regions front, back, top


@pytest.fixture(scope="module")
def box_mesh():
    return read_mesh(BOX, isolate=False)


def _window(qtbot, runner, tmp_path, size):
    configure_pyvista()
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=runner,
                   settings_store=store)
    qtbot.addWidget(w)
    w.resize(*size)
    w.show()
    qtbot.waitExposed(w)
    return w


def _in_view(widget: QWidget, scroll: QScrollArea) -> bool:
    """``widget`` lies whole inside the scroll area's visible part (no scrolling needed)."""
    port = scroll.viewport()
    top_left = widget.mapTo(port, QPoint(0, 0))
    return (widget.isVisible()
            and port.rect().contains(QRect(top_left, widget.size()))
            and scroll.verticalScrollBar().value() == 0)


@pytest.mark.parametrize("size", [(1280, 800), (1400, 900)])
def test_add_buttons_and_a_new_loads_region_are_in_view(qtbot, shared_runner, tmp_path,
                                                         box_mesh, size):
    w = _window(qtbot, shared_runner, tmp_path, size)
    mesh, report = box_mesh
    w.set_study(make_part_study(mesh, PartSetup(), PartInfo(str(BOX), report)))
    panel, scroll = w.parts.panel, w.parts.dock.widget()
    assert w.parts.dock_layout.tabbed  # below 1600 px: a tab beside the Study dock
    # (the tab comes to the front and the layout settles on the next event-loop turns)
    qtbot.waitUntil(lambda: _in_view(panel.add_support_button, scroll)
                    and _in_view(panel.add_load_button, scroll), timeout=3000)
    # the tab names the dock: no title bar repeats it
    assert w.parts.dock.titleBarWidget() is not None
    assert w.parts.dock.titleBarWidget().sizeHint().height() <= 0

    panel.add_support_button.click()
    panel.add_load_button.click()
    assert panel.selected() == ("load", 0)
    # the flow of a set-up: the new load's region list and its value in view, as is the table
    # (as high as its two rows, not a fixed 170 px box)
    qtbot.waitUntil(lambda: _in_view(panel.region_combo, scroll), timeout=3000)
    assert _in_view(panel.editor_rows[0].edit, scroll)
    assert _in_view(panel.table, scroll)
    rows = panel.table.verticalHeader().defaultSectionSize()
    assert panel.table.height() < panel.table.horizontalHeader().height() + 3 * rows


def test_material_values_in_one_line_and_rows_on_demand(qtbot, shared_runner, tmp_path,
                                                        box_mesh):
    w = _window(qtbot, shared_runner, tmp_path, (1280, 800))
    mesh, report = box_mesh
    w.set_study(make_part_study(mesh, PartSetup(), PartInfo(str(BOX), report)))
    panel = w.parts.panel
    toggle = panel.material_toggle
    # structural steel of the library: E 200 GPa, nu 0.3, rho 7850 kg/m^3, alpha 12e-6/K
    assert toggle.text() == "E 200 GPa, \u03bd 0.3, \u03c1 7850 kg/m\u00b3, \u03b1 12e-6/K"
    assert not toggle.isChecked() and not panel.material_box.isVisibleTo(panel)
    toggle.click()  # the rows, with their Slider... buttons
    assert panel.material_box.isVisibleTo(panel)
    assert panel.material_rows[0].edit.text() == "200"
    toggle.click()
    assert not panel.material_box.isVisibleTo(panel)
    # a custom material is typed in the rows: they open by themselves
    panel.material_combo.setCurrentIndex(panel.material_combo.findData("custom"))
    assert toggle.isChecked() and panel.material_box.isVisibleTo(panel)
    assert panel.material_rows[0].edit.isEnabled()


def test_regions_listed_once(qtbot, shared_runner, tmp_path, box_mesh):
    w = _window(qtbot, shared_runner, tmp_path, (1280, 800))
    mesh, report = box_mesh
    w.set_study(make_part_study(mesh, PartSetup(), PartInfo(str(BOX), report)))
    panel = w.parts.panel
    summary = panel.summary.text()
    assert "358 nodes" in summary and "front" not in summary  # the Regions box lists them
    assert "front (104)" in panel.summary.toolTip()  # facet counts stay at hand
    qtbot.waitUntil(lambda: panel.regions_ready)
    names = {panel.region_table.item(r, 0).text().split()[0]
             for r in range(panel.region_table.rowCount())}
    assert {"front", "back", "top"} <= names
    # back on a built-in study the Study dock is alone: its title bar returns
    assert w.study_dock.titleBarWidget() is not None
    w.set_study(get_study("plate-with-hole"))
    assert not w.parts.dock.isVisible() and w.study_dock.titleBarWidget() is None


def test_screenshot_of_an_opened_file(qtbot, shared_runner, tmp_path, box_mesh):
    """`physapp gui --file part.msh --screenshot x.png`: the window on the part is saved once
    its region list is measured, then closed."""
    from physapp.gui.app import Launcher
    from physapp.gui.open_file import ImportOptions, OpenedPart

    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    launcher = Launcher(settings_store=store)
    launcher.runner = shared_runner  # (the reading process, in the app)
    launcher.screenshot = str(tmp_path / "part.png")
    mesh, report = box_mesh
    launcher._file_opened(OpenedPart(str(BOX), mesh, report, ImportOptions()))
    win = launcher.window
    qtbot.addWidget(win)
    qtbot.waitUntil(lambda: (tmp_path / "part.png").exists(), timeout=10_000)
    from PySide6.QtGui import QImage

    shot = QImage(str(tmp_path / "part.png"))
    assert (shot.width(), shot.height()) == (win.width(), win.height())
    assert win.parts.panel.regions_ready and not win.isVisible()  # saved, then closed

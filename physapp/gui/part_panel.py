"""Imported parts in the main window: opening files, the Part set-up panel, face picking, session.

:class:`PartController` belongs to the :class:`~physapp.gui.main_window.MainWindow` (``window.parts``)
and does everything about imported parts, so the window only needs small hooks:

* File > Open... (Ctrl+O), File > Open Recent, drag and drop and :meth:`open_file` read a file off
  the GUI thread (:class:`~physapp.gui.open_file.FileOpener`); on success the window switches to
  an :class:`~physapp.studies.imported.ImportedPartStudy` (``set_study``), on failure a dialog
  shows the reader's message and the current study stays.
* The Part set-up panel (a dock on the right, :class:`PartPanel`) edits a draft
  :class:`~physapp.studies.imported.PartSetup`. Every valid change rebuilds the study and hands it
  to ``window.update_study`` (same view, result marked out of date, promoted values as sliders).
  While the set-up cannot be solved (no support, a value that is not a number, ...) the panel
  says why and Solve is disabled with that reason as its tooltip.
* The region of the selected support or load is coloured in the viewport. "Pick faces" selects
  boundary facets under the mouse (grown over a feature angle, :mod:`physapp.gui.part_tasks`)
  and turns them into a new named region of the mesh.
* :meth:`PartController.part_state` / :meth:`PartController.restore_part_state` give a session
  file what it needs to reopen the part ready to solve.

All VTK calls happen here on the GUI thread; reading, meshing and solving run in child processes.
"""

from __future__ import annotations

import copy
import html
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvista as pv
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.gui.binding import subscribe
from physapp.gui.dock_layout import PartDockLayout
from physapp.gui.open_file import (
    FILE_FILTER,
    FileOpener,
    ImportOptions,
    OpenedPart,
    RecentFiles,
)
from physapp.gui.part_tasks import (
    CAD_SUFFIXES,
    DISPLACEMENT_SCALE,
    KIND_WORDS,
    LOAD_KINDS,
    MATERIAL_FIELDS,
    MATERIAL_NAMES,
    REGION_MATERIAL_KEYS,
    UNIT_TO_M,
    BoundaryFacets,
    PartInfo,
    ValueField,
    allowed_kinds,
    allowed_text,
    check_name,
    copy_setup,
    describe_item,
    drop_load_parameters,
    force_as_magnitude,
    force_as_vector,
    get_value,
    load_fields,
    make_part_study,
    material_field,
    material_values,
    new_load,
    parameter_for,
    parse_number,
    parse_selector,
    quick_region_rows,
    region_rows,
    region_size_text,
    regions_for,
    set_value,
    setup_file_data,
    setup_file_path,
    setup_problem,
    solve_part,
    train_problem,
    with_region,
)
from physapp.gui.relay import ThreadRelay
from physapp.studies.imported import ImportedPartStudy, PartSetup

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices

#: VTK cell types and corner counts of the linear cells a subdomain highlight draws
_VTK_TYPE = {"triangle": 5, "quad": 9, "tetra": 10, "hexahedron": 12, "wedge": 13, "pyramid": 14}
_CORNERS = {"triangle": 3, "quad": 4, "tetra": 4, "hexahedron": 8, "wedge": 6, "pyramid": 5}
HIGHLIGHT_COLOR = "#e0119d"  # the selected support/load region: magenta stands out on turbo
PICK_COLOR = "#ff7f0e"  # the face selection of the picking mode
HIGHLIGHT = "part_highlight"
#: the region list's first entry of a new support or load: nothing is applied yet (#13)
CHOOSE_REGION = "\u2014 choose a region \u2014"
PICK = "part_pick"
LABEL = "part_label"  # one line at the bottom of the view: the pick hint or the region shown
#: the window's preview overlay says "press F5"; for a part that is not set up that misleads
NOT_SET_UP_TEXT = "Set-up incomplete (see right)"
NO_RESULT_TEXT = "No result yet - press F5 to solve"
CLICK_TOLERANCE_PX = 4  # a press and release closer than this is a click, not a rotation
PHYSICS = (("elasticity", "Elasticity (static stress)"), ("heat", "Heat (steady conduction)"))
SUPPORT_TYPES = (("fixed", "Fixed (all directions)"), ("components", "Fixed in chosen directions"),
                 ("symmetry", "Symmetry plane"))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _set_invalid(edit: QLineEdit, message: str) -> None:
    edit.setStyleSheet("background: #fde2e1;" if message else "")
    edit.setToolTip(message)


class PromoteDialog(QDialog):
    """Asks the name and the range of a slider for one value (in the value's shown unit)."""

    def __init__(self, label: str, value_shown: float, unit: str, name: str,
                 taken: set[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make a slider")
        self.value_shown, self.taken = value_shown, taken
        col = QVBoxLayout(self)
        intro = QLabel(f"<b>{html.escape(label)}</b> = {_fmt(value_shown)} {html.escape(unit)} "
                       "becomes a design parameter: a slider in the Design parameters panel, "
                       "varied between the limits below.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(name)
        lo, hi = self.default_range(value_shown)
        self.lower_edit = QLineEdit(_fmt(lo))
        self.upper_edit = QLineEdit(_fmt(hi))
        for text, edit in (("From", self.lower_edit), ("To", self.upper_edit)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(QLabel(unit))
            form.addRow(text, row)
        form.addRow("Parameter name", self.name_edit)
        col.addLayout(form)
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b00;")
        self.error_label.setWordWrap(True)
        col.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        col.addWidget(buttons)
        self.result_range: tuple[str, float, float] | None = None

    @staticmethod
    def default_range(v: float) -> tuple[float, float]:
        if v > 0:
            return 0.0, 2 * v
        if v < 0:
            return 2 * v, 0.0
        return -1.0, 1.0

    def _accept(self) -> None:
        try:
            lo, hi = parse_number(self.lower_edit.text()), parse_number(self.upper_edit.text())
        except ValueError:
            self.error_label.setText("The limits must be numbers.")
            return
        if not lo < hi:
            self.error_label.setText("'From' must be below 'To'.")
            return
        if not lo <= self.value_shown <= hi:
            self.error_label.setText(f"The range must contain the current value "
                                     f"{_fmt(self.value_shown)}.")
            return
        name = self.name_edit.text().strip()
        problem = check_name(name, self.taken, "parameter")
        if problem:
            self.error_label.setText(problem)
            return
        self.result_range = (name, lo, hi)
        self.accept()


class ValueRow:
    """One numeric entry: label, line edit, unit and a 'slider' toggle (promote / unpromote)."""

    def __init__(self, grid: QGridLayout, row: int, field: ValueField, target: str,
                 panel: PartPanel) -> None:
        self.field, self.target, self.panel = field, target, panel
        self.label = QLabel(field.label)
        self.edit = QLineEdit()
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.edit.setMinimumWidth(70)
        self.unit = QLabel(field.shown_unit)
        self.unit.setMinimumWidth(54)
        self.slider_button = QToolButton()
        self.slider_button.setText("Slider\u2026")
        self.slider_button.setCheckable(True)
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.edit, row, 1)
        grid.addWidget(self.unit, row, 2)
        grid.addWidget(self.slider_button, row, 3)
        self.edit.editingFinished.connect(lambda: panel.value_edited(self))
        self.slider_button.clicked.connect(lambda checked: panel.slider_clicked(self, checked))

    def show(self, si_value: float, *, editable: bool, param: dict | None) -> None:
        self.slider_button.blockSignals(True)
        self.slider_button.setChecked(param is not None)
        self.slider_button.blockSignals(False)
        if param is not None:
            lo, hi = param["lower"] * self.field.scale, param["upper"] * self.field.scale
            self.edit.setText("slider")
            self.edit.setEnabled(False)
            tip = (f"Set by the slider '{param['name']}' ({_fmt(lo)} to {_fmt(hi)} "
                   f"{self.field.shown_unit}) in the Design parameters panel.")
            self.edit.setToolTip(tip)
            self.slider_button.setText("Slider \u2713")
            self.slider_button.setToolTip(tip + "\nClick to remove the slider (its current "
                                          "value is kept).")
        else:
            self.edit.setEnabled(editable)
            self.edit.setText(_fmt(si_value * self.field.scale))
            self.edit.setToolTip("" if editable else "Choose 'custom' to edit the material")
            self.slider_button.setText("Slider\u2026")
            self.slider_button.setToolTip("Make a slider of this value (asks its range)")
        _set_invalid(self.edit, "")


class PartPanel(QWidget):
    """The Part set-up panel: import summary, physics and material, supports and loads, face
    picking. It edits ``controller.setup`` and calls ``controller.setup_changed()``."""

    def __init__(self, controller: PartController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctl = controller
        self.input_errors: dict[str, tuple[str, str]] = {}  # target -> (message, typed text)
        self._rows: list[tuple[str, int]] = []  # table row -> ("support"|"load", index)
        self.material_rows: list[ValueRow] = []
        self.editor_rows: list[ValueRow] = []
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)

        part = QGroupBox("Part")
        pl = QVBoxLayout(part)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pl.addWidget(self.summary)
        self.remesh_button = QPushButton("Remesh\u2026")
        self.remesh_button.setToolTip("Mesh the CAD part again: element size, order, local sizes "
                                      "and curvature (the set-up is kept: CAD region names do not "
                                      "change with the mesh)")
        self.remesh_button.clicked.connect(self.ctl.remesh)
        pl.addWidget(self.remesh_button, 0, Qt.AlignmentFlag.AlignRight)
        col.addWidget(part)

        phys = QGroupBox("Physics and material")
        form = QFormLayout(phys)
        self.physics_combo = QComboBox()
        for key, label in PHYSICS:
            self.physics_combo.addItem(label, key)
        self.physics_combo.currentIndexChanged.connect(self._physics_chosen)
        form.addRow("Physics", self.physics_combo)
        self.material_combo = QComboBox()
        for name in MATERIAL_NAMES:
            self.material_combo.addItem(name, name)
        self.material_combo.setToolTip("Library values are typical; choose 'custom' to type yours")
        self.material_combo.currentIndexChanged.connect(self._material_chosen)
        form.addRow("Material", self.material_combo)
        self.material_box = QWidget()
        self.material_grid = QGridLayout(self.material_box)
        self.material_grid.setContentsMargins(0, 0, 0, 0)
        form.addRow(self.material_box)
        self.region_material_box = QGroupBox("Material per subdomain (empty: the part's)")
        self.region_material_grid = QGridLayout(self.region_material_box)
        self.region_material_edits: dict[tuple[str, str], QLineEdit] = {}
        form.addRow(self.region_material_box)
        col.addWidget(phys)

        bcs = QGroupBox("Supports and loads")
        bl = QVBoxLayout(bcs)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Type", "Region", "Value"])
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(110)
        self.table.setMaximumHeight(170)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        bl.addWidget(self.table)
        row = QHBoxLayout()
        self.add_support_button = QPushButton("+ Support")
        self.add_support_button.setToolTip("Fix a region: clamped, in chosen directions, or a "
                                           "symmetry plane")
        self.add_support_button.clicked.connect(self.add_support)
        self.add_load_button = QPushButton("+ Load")
        self.add_load_button.clicked.connect(self.add_load)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        for b in (self.add_support_button, self.add_load_button, self.remove_button):
            row.addWidget(b)
        bl.addLayout(row)
        self.editor = QGroupBox("Selected")
        self.editor_layout = QGridLayout(self.editor)
        bl.addWidget(self.editor)
        self.status = QLabel()
        self.status.setWordWrap(True)
        bl.addWidget(self.status)
        col.addWidget(bcs)

        regions = QGroupBox("Regions")
        rl = QVBoxLayout(regions)
        self.region_filter = QLabel()
        self.region_filter.setWordWrap(True)
        self.region_filter.setStyleSheet("color: #505050;")
        rl.addWidget(self.region_filter)
        self.region_table = QTableWidget(0, 5)
        self.region_table.setHorizontalHeaderLabels(["Region", "Kind", "Size", "Centroid",
                                                     "Normal"])
        self.region_table.setWordWrap(False)
        self.region_table.verticalHeader().hide()
        self.region_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.region_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.region_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        rhead = self.region_table.horizontalHeader()
        for c in range(5):
            rhead.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.region_table.setMinimumHeight(100)
        self.region_table.setMaximumHeight(180)
        self.region_table.setToolTip("Every region of the part (kind, size, centroid, normal of "
                                     "flat faces); double-click one to use it for the selected "
                                     "support or load")
        self.region_table.cellDoubleClicked.connect(self._region_double_clicked)
        self.region_table.itemSelectionChanged.connect(self._region_row_selected)
        rl.addWidget(self.region_table)
        self.selector_edit = QLineEdit()
        self.selector_edit.setPlaceholderText('selector, e.g. {"select": "plane", "point": [0, 0, '
                                              '0], "normal": [0, 0, 1]}')
        self.selector_edit.setToolTip(
            "A geometric selector (lengths in m, as in set-up files; docs/setup-format.md):\n"
            '{"select": "plane", "point": [x, y, z], "normal": [nx, ny, nz], "tol": t}\n'
            '{"select": "box", "min": [x0, y0, z0], "max": [x1, y1, z1]}\n'
            '{"select": "cylinder", "point": [...], "axis": [...], "radius": r}\n'
            '{"select": "sphere", "centre": [...], "radius": r}\n'
            '{"select": "point", "at": [x, y, z]}\n'
            'optional "kind": face, edge, point or subdomain; "on": a region; "pieces": n.\n'
            "It survives remeshing: the region is found again on a new mesh.")
        self.selector_edit.returnPressed.connect(self._test_selector)
        self.selector_test_button = QPushButton("Match")
        self.selector_test_button.setToolTip("Show what the selector matches")
        self.selector_test_button.clicked.connect(self._test_selector)
        srow = QHBoxLayout()
        srow.addWidget(self.selector_edit, 1)
        srow.addWidget(self.selector_test_button)
        rl.addLayout(srow)
        self.selector_report = QLabel()
        self.selector_report.setWordWrap(True)
        self.selector_report.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.selector_report)
        nrow = QHBoxLayout()
        self.selector_name = QLineEdit()
        self.selector_name.setPlaceholderText("name of the new region")
        self.selector_name.returnPressed.connect(self._create_selector_region)
        self.selector_create_button = QPushButton("Create region")
        self.selector_create_button.setToolTip("Add the region the selector matches (it is found "
                                               "again when the part is remeshed)")
        self.selector_create_button.clicked.connect(self._create_selector_region)
        nrow.addWidget(self.selector_name, 1)
        nrow.addWidget(self.selector_create_button)
        rl.addLayout(nrow)
        self._region_rows: list[dict] = []
        self._region_cache: tuple[MeshData, list[dict]] | None = None
        self._region_job: tuple[int, MeshData] | None = None
        self.region_relay = ThreadRelay(self)  # region sizes measured on a worker thread
        self.region_relay.result.connect(self._on_regions)
        col.addWidget(regions)

        pick = QGroupBox("Pick faces (new region)")
        pg = QGridLayout(pick)
        self.pick_button = QPushButton("Pick faces")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("Click a face of the part to select it; Shift+click adds "
                                    "faces; dragging still rotates the view")
        self.pick_button.toggled.connect(self.ctl.set_pick_mode)
        self.angle_spin = QDoubleSpinBox()
        self.angle_spin.setRange(0.5, 90.0)
        self.angle_spin.setValue(30.0)
        self.angle_spin.setSuffix(" \u00b0")
        self.angle_spin.setToolTip("The selection grows over neighbouring facets whose normals "
                                   "differ by less than this angle (a face ends at sharper edges)")
        self.angle_spin.valueChanged.connect(lambda v: setattr(self.ctl, "feature_angle", v))
        pg.addWidget(self.pick_button, 0, 0)
        pg.addWidget(QLabel("Feature angle"), 0, 1, Qt.AlignmentFlag.AlignRight)
        pg.addWidget(self.angle_spin, 0, 2)
        self.pick_label = QLabel("Click a face of the part; Shift+click adds faces.")
        self.pick_label.setWordWrap(True)
        self.pick_label.setStyleSheet("color: #505050;")
        pg.addWidget(self.pick_label, 1, 0, 1, 3)
        self.region_name = QLineEdit()
        self.region_name.setPlaceholderText("name of the new region")
        self.region_name.returnPressed.connect(self._create_region)
        self.create_button = QPushButton("Create region")
        self.create_button.clicked.connect(self._create_region)
        pg.addWidget(self.region_name, 2, 0, 1, 2)
        pg.addWidget(self.create_button, 2, 2)
        self.pick_error = QLabel()
        self.pick_error.setStyleSheet("color: #b00;")
        self.pick_error.setWordWrap(True)
        pg.addWidget(self.pick_error, 3, 0, 1, 3)
        col.addWidget(pick)
        col.addStretch(1)

    # -- filling --------------------------------------------------------------------------------
    def load_part(self) -> None:
        """Show the controller's part and set-up (a newly opened part)."""
        self.input_errors.clear()
        self.show_summary()
        setup = self.ctl.setup
        for combo, value in ((self.physics_combo, setup.physics),
                             (self.material_combo, setup.material)):
            combo.blockSignals(True)
            combo.setCurrentIndex(max(combo.findData(value), 0))
            combo.blockSignals(False)
        self.refresh_material()
        self.refresh_table()
        self.update_selection_label()

    def show_summary(self) -> None:
        info, mesh = self.ctl.info, self.ctl.mesh
        rep = info.report
        lo, hi = (np.array(v, dtype=float) for v in rep.bounding_box)
        self_unit = Path(info.path).suffix.lower() in (".step", ".stp", ".iges", ".igs")
        unit = "mm" if self_unit else rep.length_unit
        ext = (hi - lo) / UNIT_TO_M[unit] if len(lo) else np.zeros(3)
        dims = " \u00d7 ".join(f"{v:.4g}" for v in ext[: max(mesh.dim, 2)])
        unit_text = ("from the file, converted to m" if self_unit else
                     f"{rep.length_unit}" + ("" if rep.length_unit == "m" else
                                             ", converted to m"))
        cells = ", ".join(f"{n:,} {t}" for t, n in rep.cells.items())
        regions = ", ".join(
            f"{html.escape(k)} ({len(v)})" + (" <i>picked</i>" if k in info.picked else "")
            for k, v in mesh.boundaries.items())
        lines = [f"<b>{html.escape(Path(info.path).name)}</b> \u2014 {html.escape(rep.format)}, "
                 f"{mesh.dim}D",
                 f"{mesh.n_points:,} nodes, {cells}",
                 f"Size {dims} {unit} &nbsp;(length unit: {unit_text})",
                 f"Boundary regions (facets): {regions}"]
        lines += [f"<span style='color:#805000'>Repaired: {html.escape(r)}</span>"
                  for r in rep.repairs]
        lines += [f"<span style='color:#505050'>Note: {html.escape(n)}</span>" for n in rep.notes]
        self.summary.setText("<br>".join(lines))
        self.remesh_button.setVisible(Path(info.path).suffix.lower() in CAD_SUFFIXES)
        self.summary.setToolTip(rep.text())

    def refresh_material(self) -> None:
        """Rebuild the material rows for the physics (values of the library or custom)."""
        for r in self.material_rows:
            for w in (r.label, r.edit, r.unit, r.slider_button):
                self.material_grid.removeWidget(w)
                w.hide()
                w.deleteLater()
        self.material_rows = []
        setup = self.ctl.setup
        for i, f in enumerate(MATERIAL_FIELDS[setup.physics]):
            row = ValueRow(self.material_grid, i, f, f"material.{f.key}", self)
            self.material_rows.append(row)
        self.show_material_values()
        self.refresh_region_materials()

    def refresh_region_materials(self) -> None:
        """One row per subdomain: its own stiffness or conductivity (empty: the part's)."""
        grid = self.region_material_grid
        while grid.count():
            w = grid.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self.region_material_edits = {}
        setup, mesh = self.ctl.setup, self.ctl.mesh
        names = [n for n in mesh.subdomains if not n.startswith("_")]
        if len(names) < 2:  # one subdomain is the whole part: its material is the part's
            names = []
        self.region_material_box.setVisible(bool(names))
        keys = REGION_MATERIAL_KEYS[setup.physics]
        fields = [material_field(k) for k in keys]
        for c, f in enumerate(fields):
            head = QLabel(f"{f.label.split(' ')[-1]} ({f.shown_unit})")
            head.setToolTip(f.label)
            grid.addWidget(head, 0, 1 + c)
        try:
            base = material_values(setup)
        except ParameterError:
            base = None
        for r, name in enumerate(names, 1):
            grid.addWidget(QLabel(name), r, 0)
            own = setup.regions.get(name, {})
            for c, f in enumerate(fields):
                edit = QLineEdit()
                edit.setAlignment(Qt.AlignmentFlag.AlignRight)
                if base is not None:
                    edit.setPlaceholderText(_fmt(getattr(base, f.key) * f.scale))
                target = f"regions.{name}.{f.key}"
                err = self.input_errors.get(target)
                if err:
                    edit.setText(err[1])
                    _set_invalid(edit, err[0])
                elif f.key in own:
                    edit.setText(_fmt(float(own[f.key]) * f.scale))
                edit.editingFinished.connect(
                    lambda name=name, f=f, e=edit: self._region_material_edited(name, f, e))
                grid.addWidget(edit, r, 1 + c)
                self.region_material_edits[(name, f.key)] = edit

    def _region_material_edited(self, name: str, f: ValueField, edit: QLineEdit) -> None:
        setup = self.ctl.setup
        target = f"regions.{name}.{f.key}"
        text = edit.text().strip()
        own = dict(setup.regions.get(name, {}))
        if not text:
            own.pop(f.key, None)
            self.input_errors.pop(target, None)
            _set_invalid(edit, "")
        else:
            try:
                value = parse_number(text) / f.scale
            except ValueError:
                message = f"{f.label} of '{name}': '{text}' is not a number."
                self.input_errors[target] = (message, text)
                _set_invalid(edit, message)
                self.ctl.setup_changed()
                return
            self.input_errors.pop(target, None)
            _set_invalid(edit, "")
            own[f.key] = value
        if own:
            setup.regions[name] = own
        else:
            setup.regions.pop(name, None)
        self.ctl.setup_changed()

    def show_material_values(self) -> None:
        setup = self.ctl.setup
        try:
            mat = material_values(setup)
            values = {f.key: getattr(mat, f.key) for f in MATERIAL_FIELDS[setup.physics]}
        except ParameterError:  # a custom material still being typed in
            values = {f.key: setup.material_overrides.get(f.key, 0.0)
                      for f in MATERIAL_FIELDS[setup.physics]}
        custom = setup.material == "custom"
        for r in self.material_rows:
            r.show(values[r.field.key], editable=custom, param=parameter_for(setup, r.target))
            self._show_error(r)

    def refresh_table(self, select: tuple[str, int] | None = None) -> None:
        """Rewrite the table; keep (or set) the selected item."""
        current = select or self.selected()
        setup = self.ctl.setup
        self._rows = ([("support", i) for i in range(len(setup.supports))]
                      + [("load", i) for i in range(len(setup.loads))])
        self.table.blockSignals(True)
        self.table.setRowCount(len(self._rows))
        for r, (what, i) in enumerate(self._rows):
            self._write_row(r, what, i)
        self.table.clearSelection()
        if current in self._rows:
            self.table.selectRow(self._rows.index(current))
        self.table.blockSignals(False)
        heat = setup.physics == "heat"
        self.add_support_button.setEnabled(not heat)
        self.add_support_button.setToolTip(
            "Heat: fix a temperature with '+ Load' instead" if heat else
            "Fix a region: clamped, in chosen directions, or a symmetry plane")
        self._selection_changed()

    def _write_row(self, r: int, what: str, i: int) -> None:
        setup = self.ctl.setup
        item = (setup.supports if what == "support" else setup.loads)[i]
        promoted = [p for p in setup.parameters if p["target"].startswith(f"loads.{i}.")]
        if what == "load" and promoted:  # show the sliders' current values, not the defaults
            item = copy.deepcopy(item)
            values = self.ctl.window.model.params
            for p in promoted:
                set_value(item, p["target"].split(".", 2)[2], values.get(p["name"], p["default"]))
        kind, value = describe_item(item, setup.physics, support=what == "support",
                                    dim=self.ctl.mesh.dim)
        if what == "load" and promoted:
            value += "  (slider: " + ", ".join(p["name"] for p in promoted) + ")"
        region = item.get("region", "whole part") if what == "load" else item.get("region", "")
        shape = next((r.get("shape") for r in self.region_info() if r["name"] == region), "")
        if shape and region:  # readable: "face_3: plane z = 10 mm" (#13)
            region = f"{region}: {shape}"
        for c, text in enumerate((kind, region or "\u2014", value)):
            cell = QTableWidgetItem(text)
            if what == "support":
                cell.setForeground(Qt.GlobalColor.darkBlue)
            self.table.setItem(r, c, cell)

    def rewrite_rows(self) -> None:
        for r, (what, i) in enumerate(self._rows):
            self._write_row(r, what, i)

    def selected(self) -> tuple[str, int] | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self._rows):
            return None
        return self._rows[rows[0].row()]

    def select(self, what: str, index: int) -> None:
        if (what, index) in self._rows:
            self.table.selectRow(self._rows.index((what, index)))

    # -- editor of the selected item ------------------------------------------------------------
    def _clear_editor(self) -> None:
        while self.editor_layout.count():
            w = self.editor_layout.takeAt(0).widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        self.editor_rows = []

    def _selection_changed(self) -> None:
        self._clear_editor()
        sel = self.selected()
        self.remove_button.setEnabled(sel is not None)
        self.refresh_regions()
        if sel is None:
            self.editor.setTitle("Selected: none")
            self.editor.hide()
            self.ctl.highlight(None)
            return
        self.editor.show()
        what, i = sel
        setup = self.ctl.setup
        item = (setup.supports if what == "support" else setup.loads)[i]
        g = self.editor_layout
        if what == "support":
            self.editor.setTitle(f"Support {i + 1}")
            self.support_type = QComboBox()
            for key, label in SUPPORT_TYPES:
                self.support_type.addItem(label, key)
            comps = list(item.get("components", ()))
            kind = "symmetry" if item.get("symmetry") else (
                "fixed" if len(comps) >= self.ctl.mesh.dim else "components")
            self.support_type.setCurrentIndex(self.support_type.findData(kind))
            self.support_type.currentIndexChanged.connect(self._support_type_chosen)
            g.addWidget(QLabel("Type"), 0, 0)
            g.addWidget(self.support_type, 0, 1, 1, 3)
            self.component_checks = []
            box = QWidget()
            hl = QHBoxLayout(box)
            hl.setContentsMargins(0, 0, 0, 0)
            for c in range(self.ctl.mesh.dim):
                check = QCheckBox(f"u{'xyz'[c]} = 0")
                check.setChecked(c in comps)
                check.toggled.connect(self._components_toggled)
                hl.addWidget(check)
                self.component_checks.append(check)
            box.setVisible(kind == "components")
            g.addWidget(box, 1, 1, 1, 3)
            # prescribed displacements of the fixed components (0: held in place)
            values = dict(zip(comps, item.get("values") or [0.0] * len(comps), strict=False))
            self.displacement_edits = {}
            if kind != "symmetry":
                for k, c in enumerate(comps):
                    label = QLabel(f"u{'xyz'[c]}")
                    edit = QLineEdit()
                    edit.setAlignment(Qt.AlignmentFlag.AlignRight)
                    edit.setToolTip(f"Prescribed displacement u{'xyz'[c]} of the region "
                                    "(0: held in place)")
                    target = f"supports.{i}.values.{c}"
                    err = self.input_errors.get(target)
                    edit.setText(err[1] if err else _fmt(values.get(c, 0.0) * DISPLACEMENT_SCALE))
                    _set_invalid(edit, err[0] if err else "")
                    edit.editingFinished.connect(
                        lambda c=c, e=edit: self._displacement_edited(c, e))
                    g.addWidget(label, 10 + k, 0)
                    g.addWidget(edit, 10 + k, 1)
                    g.addWidget(QLabel("mm"), 10 + k, 2)
                    self.displacement_edits[c] = edit
            if kind == "symmetry":
                note = QLabel("The region must be flat and normal to x, y or z.")
                note.setStyleSheet("color: #505050;")
                g.addWidget(note, 1, 1, 1, 3)
        else:
            physics = setup.physics
            self.editor.setTitle(f"Load {i + 1}")
            self.kind_combo = QComboBox()
            for key, (label, _, _) in LOAD_KINDS[physics].items():
                self.kind_combo.addItem(label, key)
            self.kind_combo.setCurrentIndex(self.kind_combo.findData(item["kind"]))
            self.kind_combo.currentIndexChanged.connect(self._kind_chosen)
            g.addWidget(QLabel("Kind"), 0, 0)
            g.addWidget(self.kind_combo, 0, 1, 1, 3)
        key = "support" if what == "support" else item["kind"]
        ok = allowed_kinds(setup.physics, key)
        g.addWidget(QLabel("Region"), 2, 0)
        if ok != {"none"}:
            self.region_combo = QComboBox()
            if "none" in ok:
                self.region_combo.addItem("whole part", None)
            elif not item.get("region"):  # nothing applied until a region is picked (#13)
                self.region_combo.addItem(CHOOSE_REGION, "")
            # long readable names must not widen the panel past its dock (#13): the combo
            # shows their start, its list the whole text
            self.region_combo.setSizeAdjustPolicy(
                QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            self.region_combo.setMinimumContentsLength(18)
            kinds = {r["name"]: r for r in self.region_info()}
            for name in regions_for(self.ctl.mesh, setup.physics, key):
                r = kinds.get(name)
                label = name if r is None else r.get("label") or name  # readable (#13)
                text = label if r is None else (
                    f"{label}  \u2013 {r['kind']}, {region_size_text(r, self.display_unit())}"
                    if r["size"] is not None else f"{label}  \u2013 {r['kind']}")
                self.region_combo.addItem(text, name)
            self.region_combo.setCurrentIndex(max(self.region_combo.findData(item.get("region")),
                                                  0))
            self.region_combo.view().setMinimumWidth(self.region_combo.view().sizeHintForColumn(0)
                                                     + 24)
            self.region_combo.currentIndexChanged.connect(self._region_chosen)
            self.region_combo.setToolTip(
                f"Regions this {'support' if what == 'support' else 'load'} accepts: "
                f"{allowed_text(setup.physics, key, self.ctl.mesh.dim)}; 'Pick faces' or a "
                "selector below makes new ones")
            g.addWidget(self.region_combo, 2, 1, 1, 3)
            self.ctl.highlight(item.get("region"))
        else:
            g.addWidget(QLabel("acts on the whole part"), 2, 1, 1, 3)
            self.ctl.highlight(None)
        if what == "load":
            first = 3
            if item["kind"] == "force":
                self.force_form = QComboBox()
                self.force_form.addItem("Components", "vector")
                self.force_form.addItem("Magnitude and direction", "magnitude")
                self.force_form.setCurrentIndex(1 if "magnitude" in item else 0)
                self.force_form.setToolTip("A magnitude and a direction: the magnitude can be "
                                           "a slider (and a surrogate input)")
                self.force_form.currentIndexChanged.connect(self._force_form_chosen)
                g.addWidget(QLabel("Given as"), 3, 0)
                g.addWidget(self.force_form, 3, 1, 1, 3)
                first = 4
            for k, f in enumerate(load_fields(setup.physics, item["kind"], self.ctl.mesh.dim,
                                              item)):
                row = ValueRow(g, first + k, f, f"loads.{i}.{f.key}", self)
                if f.key.startswith("direction."):  # a direction is not a slider
                    row.slider_button.hide()
                row.show(get_value(item, f.key), editable=True,
                         param=parameter_for(setup, row.target))
                self._show_error(row)
                self.editor_rows.append(row)

    def _item(self) -> dict[str, Any]:
        what, i = self.selected()
        return (self.ctl.setup.supports if what == "support" else self.ctl.setup.loads)[i]

    def _support_type_chosen(self) -> None:
        item = self._item()
        kind = self.support_type.currentData()
        item.pop("symmetry", None)
        item.pop("values", None)
        i = self.selected()[1]
        for key in [k for k in self.input_errors if k.startswith(f"supports.{i}.")]:
            del self.input_errors[key]
        if kind == "symmetry":
            item["symmetry"] = True
            item["components"] = []
            item.pop("values", None)
        elif kind == "fixed":
            item["components"] = list(range(self.ctl.mesh.dim))
        else:
            item["components"] = [self.ctl.mesh.dim - 1]  # a roller: the last direction
        self.refresh_table()
        self.ctl.setup_changed()

    def _components_toggled(self) -> None:
        comps = [c for c, check in enumerate(self.component_checks) if check.isChecked()]
        item = self._item()
        old = dict(zip(item.get("components", ()), item.get("values") or (), strict=False))
        item["components"] = comps
        if any(old.values()):
            item["values"] = [float(old.get(c, 0.0)) for c in comps]
        else:
            item.pop("values", None)
        what, i = self.selected()
        self.refresh_table(select=(what, i))  # the displacement rows follow the components
        self.ctl.setup_changed()

    def _displacement_edited(self, component: int, edit: QLineEdit) -> None:
        """A prescribed displacement typed (mm); all zero: the support holds the region."""
        what, i = self.selected()
        target = f"supports.{i}.values.{component}"
        text = edit.text()
        try:
            value = parse_number(text) / DISPLACEMENT_SCALE
        except ValueError:
            message = f"Support {i + 1} u{'xyz'[component]}: '{text}' is not a number."
            self.input_errors[target] = (message, text)
            _set_invalid(edit, message)
            self.ctl.setup_changed()
            return
        self.input_errors.pop(target, None)
        _set_invalid(edit, "")
        item = self._item()
        comps = list(item.get("components", ()))
        values = list(item.get("values") or [0.0] * len(comps))
        values[comps.index(component)] = value
        if any(values):
            item["values"] = values
        else:
            item.pop("values", None)
        self._write_row(self._rows.index((what, i)), what, i)
        self.ctl.setup_changed()

    def _region_chosen(self) -> None:
        name = self.region_combo.currentData()
        if name is None:  # the whole part (a heat source)
            self._item().pop("region", None)
        else:
            self._item()["region"] = name
            if name:  # a region is chosen: the placeholder goes
                index = self.region_combo.findData("")
                if index >= 0:
                    self.region_combo.blockSignals(True)
                    self.region_combo.removeItem(index)
                    self.region_combo.blockSignals(False)
        what, i = self.selected()
        self._write_row(self._rows.index((what, i)), what, i)
        self.ctl.highlight(name)
        self.ctl.setup_changed()

    def _force_form_chosen(self) -> None:
        """Components <-> magnitude and direction (the same force; its sliders are dropped)."""
        what, i = self.selected()
        setup = self.ctl.setup
        load = setup.loads[i]
        if self.force_form.currentData() == "magnitude":
            force_as_magnitude(load, self.ctl.mesh.dim)
        else:
            force_as_vector(load, self.ctl.mesh.dim)
        setup.parameters = [p for p in setup.parameters
                            if not p["target"].startswith(f"loads.{i}.")]
        for key in [k for k in self.input_errors if k.startswith(f"loads.{i}.")]:
            del self.input_errors[key]
        self.refresh_table(select=(what, i))
        self.ctl.setup_changed()

    def _kind_chosen(self) -> None:
        what, i = self.selected()
        setup = self.ctl.setup
        old = setup.loads[i]
        kind = self.kind_combo.currentData()
        region = old.get("region")
        if region not in regions_for(self.ctl.mesh, setup.physics, kind):
            region = self.ctl.default_region(support=False, kind=kind)
            region = None if region is None else ""  # the user picks it (#13)
        setup.loads[i] = new_load(setup.physics, kind, region, self.ctl.mesh.dim)
        setup.parameters = [p for p in setup.parameters
                            if not p["target"].startswith(f"loads.{i}.")]
        for key in list(self.input_errors):
            if key.startswith(f"loads.{i}."):
                del self.input_errors[key]
        self.refresh_table(select=(what, i))
        self.ctl.setup_changed()

    # -- the region list -------------------------------------------------------------------------
    def display_unit(self) -> str:
        """The unit lengths are shown in (mm for STEP/IGES, else the file's unit)."""
        info = self.ctl.info
        if Path(info.path).suffix.lower() in (".step", ".stp", ".iges", ".igs"):
            return "mm"
        return info.report.length_unit if info.report.length_unit in UNIT_TO_M else "m"

    def region_info(self) -> list[dict]:
        """:func:`~physapp.gui.part_tasks.region_rows` of the current mesh (cached per mesh).

        Sizes and centroids are measured on a worker thread (a tenth of a second per 10k
        nodes); until they arrive the rows carry names and kinds only (``size`` None)."""
        mesh = self.ctl.mesh
        if self._region_cache is not None and self._region_cache[0] is mesh:
            return self._region_cache[1]
        if self._region_job is None or self._region_job[1] is not mesh:
            self._region_job = (self._region_job[0] + 1 if self._region_job else 1, mesh)
            threading.Thread(target=_describe_worker,
                             args=(self.region_relay, self._region_job[0], mesh),
                             name="physapp-regions", daemon=True).start()
        return quick_region_rows(mesh)

    @property
    def regions_ready(self) -> bool:
        """True once the region list shows sizes and centroids of the current mesh."""
        return self._region_cache is not None and self._region_cache[0] is self.ctl.mesh

    def _on_regions(self, job: int, rows) -> None:
        if self._region_job is None or self._region_job[0] != job:
            return
        mesh = self._region_job[1]
        self._region_job = None
        if mesh is not self.ctl.mesh:
            return
        self._region_cache = (mesh, rows)
        self.refresh_regions()
        combo = getattr(self, "region_combo", None)
        if combo is not None:
            try:
                kinds = {r["name"]: r for r in rows}
                unit = self.display_unit()
                for k in range(combo.count()):
                    r = kinds.get(combo.itemData(k))
                    if r is not None:
                        combo.setItemText(k, f"{r['name']}  ({r['kind']}, "
                                             f"{region_size_text(r, unit)})")
            except RuntimeError:  # the editor was rebuilt meanwhile
                pass

    def shown_kinds(self) -> set[str] | None:
        """Region kinds the selected support or load accepts (None: nothing selected)."""
        sel = self.selected()
        if sel is None:
            return None
        setup = self.ctl.setup
        what = "support" if sel[0] == "support" else setup.loads[sel[1]]["kind"]
        return allowed_kinds(setup.physics, what)

    def refresh_regions(self) -> None:
        """The region list: every region, or those the selected support or load accepts."""
        if self.ctl.mesh is None:
            return
        ok = self.shown_kinds()
        rows = [r for r in self.region_info()
                if not r["name"].startswith("_") and (ok is None or r["use"] in ok)]
        sel = self.selected()
        if ok is None:
            self.region_filter.setText(f"All {len(rows)} regions. Select a support or load to "
                                       "list those it accepts.")
        else:
            what = "support" if sel[0] == "support" else \
                LOAD_KINDS[self.ctl.setup.physics][self.ctl.setup.loads[sel[1]]["kind"]][0]
            words = ", ".join(sorted({KIND_WORDS[k] if not (k == "boundary" and
                                                            self.ctl.mesh.dim == 2) else "edge"
                                      for k in ok}))
            self.region_filter.setText(f"{len(rows)} region(s) a <b>{html.escape(what)}</b> "
                                       f"accepts ({words}); double-click one to use it.")
        unit = self.display_unit()
        f = 1.0 / UNIT_TO_M[unit]
        self._region_rows = rows
        t = self.region_table
        t.blockSignals(True)
        t.setRowCount(len(rows))
        dim = max(self.ctl.mesh.dim, 2)
        for i, r in enumerate(rows):
            if r["size"] is None:  # being measured
                for c, text in enumerate((r["name"], r["kind"], "\u2026", "\u2026", "")):
                    t.setItem(i, c, QTableWidgetItem(text))
                continue
            cen = ", ".join(f"{v * f:.3g}" for v in r["centroid"][:dim])
            normal = "" if r["normal"] is None else ", ".join(
                f"{v:.3g}" for v in r["normal"][:dim])
            for c, text in enumerate((r.get("label") or r["name"], r["kind"],
                                      region_size_text(r, unit), cen, normal)):
                t.setItem(i, c, QTableWidgetItem(text))
            t.item(i, 0).setToolTip(f"Region name: {r['name']}")
        t.setHorizontalHeaderLabels(["Region", "Kind", "Size", f"Centroid ({unit})", "Normal"])
        t.resizeRowsToContents()
        t.blockSignals(False)

    def _test_selector(self) -> None:
        self.ctl.match_selector(self.selector_edit.text())

    def show_selector_report(self, message: str, ok: bool) -> None:
        color = "#080" if ok else "#b00"
        self.selector_report.setText(f"<span style='color:{color}'>"
                                     f"{html.escape(message)}</span>")

    def _create_selector_region(self) -> None:
        error = self.ctl.create_selector_region(self.selector_name.text().strip(),
                                                self.selector_edit.text())
        if error:
            self.show_selector_report(error, False)

    def _region_row_selected(self) -> None:
        rows = self.region_table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self._region_rows) and not self.ctl.pick_mode:
            self.ctl.clear_match()
            self.ctl.highlight(self._region_rows[rows[0].row()]["name"])

    def _region_double_clicked(self, row: int, _col: int) -> None:
        """Use the region for the selected support or load."""
        if self.selected() is None or row >= len(self._region_rows):
            return
        name = self._region_rows[row]["name"]
        k = self.region_combo.findData(name)
        if k >= 0:
            self.region_combo.setCurrentIndex(k)

    # -- values ---------------------------------------------------------------------------------
    def value_edited(self, row: ValueRow) -> None:
        text = row.edit.text()
        if not row.edit.isEnabled():
            return
        where = row.field.label
        if row.target.startswith("loads."):
            i = int(row.target.split(".")[1])
            kind = self.ctl.setup.loads[i]["kind"]
            where = f"{LOAD_KINDS[self.ctl.setup.physics][kind][0]} {where} (load {i + 1})"
        try:
            shown = parse_number(text)
        except ValueError:
            self.input_errors[row.target] = (f"{where}: '{text}' is not a number.", text)
            self._show_error(row)
            self.ctl.setup_changed()
            return
        self.input_errors.pop(row.target, None)
        _set_invalid(row.edit, "")
        si = shown / row.field.scale
        setup = self.ctl.setup
        parts = row.target.split(".")
        if parts[0] == "material":
            if setup.material_overrides.get(parts[1]) == si and not self.input_errors:
                return
            setup.material_overrides[parts[1]] = si
        else:
            item = setup.loads[int(parts[1])]
            key = ".".join(parts[2:])
            if get_value(item, key) == si:
                self.ctl.setup_changed()  # an error may have been cleared
                return
            set_value(item, key, si)
            self._write_row(self._rows.index(("load", int(parts[1]))), "load", int(parts[1]))
        self.ctl.setup_changed()

    def slider_clicked(self, row: ValueRow, checked: bool) -> None:
        if checked:
            row.slider_button.setChecked(False)  # checked once the slider exists
            self.ctl.promote_dialog(row)
        else:
            self.ctl.unpromote(row.target)

    def refresh_values(self) -> None:
        """Show promoted/unpromoted state of every value row after a promotion change."""
        self.show_material_values()
        sel = self.selected()
        if sel is not None:
            self.refresh_table(select=sel)
        else:
            self.refresh_table()

    def input_error(self) -> str:
        return next(iter(self.input_errors.values()), ("", ""))[0]

    def _show_error(self, row: ValueRow) -> None:
        """A value that was typed wrong stays on screen, red, until it is corrected."""
        message, text = self.input_errors.get(row.target, ("", ""))
        if message and row.edit.isEnabled():
            row.edit.setText(text)
            _set_invalid(row.edit, message)

    # -- physics, material ----------------------------------------------------------------------
    def _physics_chosen(self) -> None:
        self.ctl.set_physics(self.physics_combo.currentData())

    def _material_chosen(self) -> None:
        setup = self.ctl.setup
        name = self.material_combo.currentData()
        if name == setup.material:
            return
        if name == "custom":  # start from the values on screen
            try:
                mat = material_values(setup)
                setup.material_overrides = {k: float(getattr(mat, k)) for k in
                                            ("youngs_modulus", "poissons_ratio", "density",
                                             "expansion", "conductivity")}
            except ParameterError:
                pass
        else:
            promoted = {p["target"].split(".")[1] for p in setup.parameters
                        if p["target"].startswith("material.")}
            setup.material_overrides = {k: v for k, v in setup.material_overrides.items()
                                        if k in promoted}
        setup.material = name
        for key in [k for k in self.input_errors if k.startswith("material.")]:
            del self.input_errors[key]
        self.show_material_values()
        self.refresh_region_materials()  # the part's values are the placeholders
        self.ctl.setup_changed()

    # -- adding and removing --------------------------------------------------------------------
    def add_support(self) -> None:
        setup = self.ctl.setup
        # no region until the user picks one: nothing is applied to a face not chosen (#13)
        setup.supports.append({"region": "", "components": list(range(self.ctl.mesh.dim))})
        self.refresh_table(select=("support", len(setup.supports) - 1))
        self.ctl.setup_changed()

    def add_load(self) -> None:
        setup = self.ctl.setup
        kind = "pressure" if setup.physics == "elasticity" else "temperature"
        # no region until the user picks one (#13): a face chosen for him was often a small
        # hidden one
        region = self.ctl.default_region(support=False, kind=kind)
        setup.loads.append(new_load(setup.physics, kind, None if region is None else "",
                                    self.ctl.mesh.dim))
        self.refresh_table(select=("load", len(setup.loads) - 1))
        self.ctl.setup_changed()

    def remove_selected(self) -> None:
        sel = self.selected()
        if sel is None:
            return
        what, i = sel
        setup = self.ctl.setup
        if what == "support":
            del setup.supports[i]
            self.input_errors = {k: v for k, v in self.input_errors.items()
                                 if not k.startswith("supports.")}
        else:
            del setup.loads[i]
            drop_load_parameters(setup, i)
            self.input_errors = {k: v for k, v in self.input_errors.items()
                                 if not k.startswith("loads.")}
        self.refresh_table(select=None)
        self.table.clearSelection()
        self.ctl.setup_changed()

    # -- status and picking ---------------------------------------------------------------------
    def show_status(self, problem: str) -> None:
        if problem:
            self.status.setText(f"<span style='color:#b00'><b>Cannot solve yet:</b> "
                                f"{html.escape(problem, quote=False)}</span>")
        else:
            self.status.setText("<span style='color:#080'><b>Ready to solve</b></span> "
                                "(F5 or Solve on the left)")

    def show_pick_mode(self, on: bool) -> None:
        self.pick_button.blockSignals(True)
        self.pick_button.setChecked(on)
        self.pick_button.setText("Stop picking" if on else "Pick faces")
        self.pick_button.blockSignals(False)
        self.update_selection_label()

    def update_selection_label(self) -> None:
        n = len(self.ctl.selection)
        if not self.ctl.pick_mode and n == 0:
            self.pick_label.setText("Press 'Pick faces', then click a face of the part; "
                                    "Shift+click adds faces.")
        elif n == 0:
            self.pick_label.setText("Click a face of the part (Shift+click adds faces; drag "
                                    "to rotate).")
        else:
            self.pick_label.setText(f"<b>Selected: {n} facets</b> ({len(self.ctl.seeds)} "
                                    "click(s)). Name it and press 'Create region'.")
        self.create_button.setEnabled(n > 0)

    def _create_region(self) -> None:
        error = self.ctl.create_region(self.region_name.text().strip())
        self.pick_error.setText(error)
        if not error:
            self.region_name.clear()


class PartController(QObject):
    """Everything about imported parts in one main window (see the module docstring)."""

    part_opened = Signal(str)  # path of the part now shown
    open_failed = Signal(str)  # the message shown

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        self.recent = RecentFiles(window.settings_store)
        self.opener = FileOpener(window, parent=self)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._on_failed)
        self.opener.cancelled.connect(self._on_cancelled)
        self.opener.default_order = lambda: int(window.settings.element_order)
        self.study: ImportedPartStudy | None = None
        self.info: PartInfo | None = None
        self.mesh: MeshData | None = None
        self.setup = PartSetup()
        self.problem = ""
        self.error_dialog: QMessageBox | None = None
        self.feature_angle = 30.0
        self.selection = np.zeros(0, dtype=np.int64)
        self.seeds: list[list[float]] = []
        self.pick_mode = False
        self.highlighted: str | None = None
        self._facets: BoundaryFacets | None = None
        self._stash: dict[str, tuple] = {}
        self._pending: dict | None = None
        self._viewport = None
        self._observers: list[tuple[Any, int]] = []
        self._press: tuple[int, int] | None = None
        self.panel: PartPanel | None = None
        self.dock: QDockWidget | None = None
        self.recent_menu: QMenu | None = None
        self._last_values: dict[str, float] = {}
        self.solver_warning = ""  # the last solve's warnings, as shown in the message bar
        # typed selectors are resolved on a worker thread (a second on a large mesh)
        self.selector_relay = ThreadRelay(self)
        self.selector_relay.result.connect(self._on_selected)
        self.selector_relay.error.connect(self._on_select_failed)
        self._selector_job = 0
        self._selector_pending: tuple | None = None
        #: set-ups of parts opened before in this window, by file: reopening brings them back
        self._memory: dict[str, dict] = {}
        # after each preview: the part's own overlay text
        window.preview_relay.result.connect(self._after_preview)
        subscribe(self, window.model.changed, self._slider_moved)  # the table shows the values
        # a solve applied (the window bumps the count after showing it)
        subscribe(self, window.app.solve.events.count, self._after_solve)

    # -- window hooks ---------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the window shows an imported part."""
        return self.study is not None

    def add_file_actions(self, menu: QMenu) -> None:
        """File > Open... and File > Open Recent."""
        self.open_action = self.window.actions.add("file.open", menu, "&Open\u2026",
                                                  self.open_dialog, "Ctrl+O")
        self.open_action.setToolTip("Open a mesh or CAD file (Ctrl+O); you can also drop a file "
                                    "on the window")
        self.recent_menu = QMenu("Open &Recent", menu)  # Python-made: see MainWindow._menu
        menu.addMenu(self.recent_menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()

    def study_opened(self, study) -> None:
        """Called by the window whenever it shows a study (new, switched or updated)."""
        w = self.window
        if w.viewport is not self._viewport:  # a new viewport: decorations start afresh
            self._viewport = w.viewport
            # pyvistaqt's own drop handler would add the raw file to the scene: let the window
            # take drops and read them with physapp's readers
            w.viewport.plotter.setAcceptDrops(False)
            self._observers = []
            self.pick_mode = False
            self.highlighted = None
            if self.panel is not None:
                self.panel.show_pick_mode(False)
        if self.study is not None and study is not self.study and not (
                isinstance(study, ImportedPartStudy) and study.mesh is self.mesh):
            self._remember()  # leaving this part: its set-up comes back if it is reopened
        if not isinstance(study, ImportedPartStudy):
            self.study = self.info = self.mesh = None
            self._facets = None
            self.problem = ""
            self._publish()
            if self.dock is not None:
                self.dock.hide()
            w.solve_action.setEnabled(True)
            return
        if study is not self.study:  # a part that the panel does not know yet
            self.study = study
            self.mesh = study.mesh
            self.info = getattr(study, "import_info", None) or PartInfo(
                study.spec.title, _report_of(study.mesh))  # made elsewhere (no file info)
            self.setup = copy_setup(study.part)
            self._stash = {}
            self._facets = None
            self.selection = np.zeros(0, dtype=np.int64)
            self.seeds = []
            self._ensure_panel()
            self.panel.load_part()
        self.dock.show()
        self._last_values = dict(w.model.params)
        self._check()
        sel = self.panel.selected()
        if sel is not None and self.highlighted is None:
            item = (self.setup.supports if sel[0] == "support" else self.setup.loads)[sel[1]]
            self.highlight(item.get("region"))

    def solve_job(self, params: dict, order: int) -> tuple | None:
        """The job for Run > Solve on the part, or None (with a message) when it cannot run."""
        if self.problem:
            text = f"Cannot solve yet: {self.problem}"
            if self.setup.supports or self.setup.loads:
                self.window.show_message(text, "info", "solve")
            else:  # a part just opened (the start-up solve): the panel already says it
                self.window.statusBar().showMessage(text, 10000)
            return None
        return (solve_part, self.window.model.study, params, order)

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        files = _local_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        if len(files) > 1:
            self.window.show_message(f"Opening {Path(files[0]).name}: one file at a time.",
                                     "info", "open")
        # after the drop returns: the drag source is not kept waiting for the dialogs
        QTimer.singleShot(0, lambda: self.open_file(files[0]))

    def shutdown(self) -> None:
        self.selector_relay.closed = True  # a selector still running delivers nothing
        if self.panel is not None:
            self.panel.region_relay.closed = True
        if self.pick_mode:
            self.set_pick_mode(False)
        self.opener.shutdown()

    # -- opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """File > Open...: choose a file (the dialog starts in the last file's folder)."""
        recent = self.recent.paths()
        start = str(Path(recent[0]).parent) if recent else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a mesh or CAD file", start,
                                              FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, options: ImportOptions | None = None) -> None:
        """Read ``path`` off the GUI thread and show it as the window's study when it is read;
        CAD and surface files first ask their unit and element size (unless ``options``).
        A session file (``.physapp``) is opened as a session."""
        if str(path).lower().endswith(".physapp"):
            self.window.sessions.open_session(path)
            return
        self.window.statusBar().showMessage(f"Opening {Path(path).name} \u2026")
        self.opener.open(path, options)

    def remesh(self) -> None:
        """Mesh the CAD part again with options asked in the import dialog (starting from the
        current ones); the set-up comes back on the new mesh (as reopening a part does)."""
        if self.info is None:
            return
        self._memory[self.info.path] = self.part_state()
        info = self.info
        self.opener.open(info.path, initial=ImportOptions(
            info.length_unit, info.element_size, info.order, list(info.refine), info.curvature))

    def set_read_runner(self, runner) -> None:
        """Read files in ``runner`` (tests share one warm reading process between windows)."""
        self.opener.set_runner(runner)

    def _on_opened(self, opened: OpenedPart) -> None:
        pending, self._pending = self._pending, None
        opts = opened.options
        info = PartInfo(str(Path(opened.path).resolve()), opened.report,
                        opts.length_unit, opts.element_size, int(opts.order or 1),
                        list(opts.refine or []), float(opts.curvature or 0.0))
        if self.study is not None:
            self._remember()
        mesh, setup, notes = opened.mesh, PartSetup(), []
        level = "info"
        if opened.deck is not None:  # a CalculiX/Abaqus deck brings its set-up
            deck = opened.deck
            if pending is None and opened.deck_setup is not None:
                try:
                    setup = PartSetup.from_dict(opened.deck_setup)
                except ParameterError as exc:
                    notes.append(f"The deck's set-up could not be used: {exc}")
            notes.append(f"Deck: {setup.physics}, {len(setup.supports)} support(s), "
                         f"{len(setup.loads)} load(s).")
            if deck.unsupported:
                level = "warning"
                notes.append("Unsupported keywords (not applied): " + ", ".join(
                    f"*{k} (line {v})" for k, v in deck.unsupported.items()) + ".")
            if deck.ignored:
                notes.append("Ignored: " + "; ".join(deck.ignored) + ".")
            notes += list(deck.notes)
        if pending is None and info.path in self._memory:  # opened before: same set-up
            pending = self._memory[info.path]
            notes.append(f"The set-up you made for {Path(info.path).name} is back (supports, "
                         "loads, picked regions and sliders).")
        if pending is not None:
            mesh, setup, notes = self._restored(pending, mesh, info, notes)
        try:
            study = make_part_study(mesh, setup, info)
        except ParameterError as exc:  # a session set-up that no longer fits: start afresh
            notes.append(f"The saved set-up could not be used: {exc}")
            study = make_part_study(mesh, PartSetup(), info)
        self.study = None  # the window's hook adopts it as a new part
        self.window.set_study(study)
        self.recent.add(opened.path)
        self._fill_recent_menu()
        self.window.statusBar().showMessage(
            f"Opened {Path(opened.path).name}: {mesh.n_points:,} nodes, "
            f"{len(mesh.boundaries)} regions", 8000)
        if notes:
            if any("could not" in n or "left out" in n for n in notes):
                level = "warning"
            self.window.show_message(" ".join(notes), level, "open")
        self.part_opened.emit(info.path)

    def _on_failed(self, path: str, message: str) -> None:
        self._pending = None
        self.window.statusBar().showMessage(f"Could not open {Path(path).name}", 8000)
        if not Path(path).exists():
            self.recent.remove(str(Path(path).resolve()))
            self._fill_recent_menu()
        if self.error_dialog is not None:
            self.error_dialog.deleteLater()
        box = QMessageBox(QMessageBox.Icon.Warning, "Could not open the file",
                          f"<b>{html.escape(Path(path).name)}</b> could not be opened.",
                          QMessageBox.StandardButton.Ok, self.window)
        box.setInformativeText(message)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()  # window-modal, does not block: the current study stays as it was
        self.error_dialog = box
        self.open_failed.emit(message)

    def _on_cancelled(self, path: str) -> None:
        self._pending = None
        self.window.statusBar().showMessage(f"Opening {Path(path).name} cancelled", 5000)

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        paths = self.recent.paths()
        for k, p in enumerate(paths, 1):
            act = menu.addAction(f"&{k}  {Path(p).name}")
            act.setToolTip(p)
            act.setStatusTip(p)
            act.setData(p)
            act.triggered.connect(lambda _=False, p=p: self.open_file(p))
        if not paths:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear the list", lambda: (self.recent.clear(),
                                                      self._fill_recent_menu()))
        menu.setToolTipsVisible(True)

    # -- set-up ---------------------------------------------------------------------------------
    def _ensure_panel(self) -> None:
        if self.panel is not None:
            return
        self.panel = PartPanel(self)
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(390)
        self.dock = QDockWidget("Part set-up", self.window)
        self.dock.setObjectName("part_setup_dock")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.dock.setWidget(scroll)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # a tab beside the Study dock in a narrow window (the view keeps the width; #13)
        self.dock_layout = PartDockLayout(self.window, self.window._dock, self.dock)

    def default_region(self, *, support: bool, kind: str = "") -> str | None:
        """A region for a new support/load (of ``kind``): one it accepts, not used yet, other
        than the whole boundary (None: the whole part)."""
        what = "support" if support else kind
        if what and not support:
            ok = regions_for(self.mesh, self.setup.physics, what)
            if "none" in allowed_kinds(self.setup.physics, what) or not ok:
                return None
            names = [n for n in ok if n != "boundary"] or ok
            used = {i.get("region") for i in (*self.setup.supports, *self.setup.loads)}
            return next((n for n in names if n not in used), names[0])
        names = [n for n in self.mesh.boundaries if n != "boundary"] or list(self.mesh.boundaries)
        used = {i.get("region") for i in (*self.setup.supports, *self.setup.loads)}
        free = [n for n in names if n not in used]
        return (free or names)[0]

    def setup_changed(self) -> None:
        """The panel changed the draft set-up: rebuild the study when it is consistent."""
        if self.study is None:
            return
        self.window.message_bar.clear("region")
        if self.setup.as_dict() != self.study.part.as_dict():
            try:
                study = make_part_study(self.mesh, copy_setup(self.setup), self.info)
            except ParameterError:
                pass  # _check shows why
            else:
                self.study = study
                self.window.update_study(study)  # calls study_opened -> _check
                return
        self._check()

    def _check(self) -> None:
        """Work out whether Solve may run, say why not in the panel and on the button."""
        problem = (self.panel.input_error() if self.panel else "") or setup_problem(
            self.setup, self.mesh)
        if not problem and self.setup.as_dict() != self.study.part.as_dict():
            problem = "The set-up has changed but could not be applied."
        self.problem = problem
        w = self.window
        w.solve_button.setEnabled(not problem)
        w.solve_button.setToolTip(f"Cannot solve yet: {problem}" if problem else
                                  "Solve the part with the reference solver (F5)")
        w.solve_action.setEnabled(not problem)
        surrogates = getattr(w, "surrogates", None)
        if surrogates is not None:  # Train surrogate follows the set-up
            surrogates.update_trainable()
        self._overlay()
        if self.panel is not None:
            self.panel.show_status(problem)
        self._publish()

    def _publish(self) -> None:
        """The part's state and problem into the model (``app.part``): a session saves it, and
        a changed set-up marks the session dirty."""
        part = self.window.app.part
        state = self.part_state() if self.study is not None else None
        if state:
            state = {**state, "values": {}}  # the values are the design's (app.design)
        part.problem = self.problem
        part.state = state or None

    def set_physics(self, physics: str) -> None:
        """Switch elasticity <-> heat; each keeps its own supports and loads to come back to."""
        s = self.setup
        if physics == s.physics:
            return
        load_params = [p for p in s.parameters if p["target"].startswith("loads.")]
        self._stash[s.physics] = (s.supports, s.loads, load_params)
        supports, loads, params = self._stash.pop(physics, ([], [], []))
        s.physics, s.supports, s.loads = physics, supports, loads
        s.parameters = [p for p in s.parameters if not p["target"].startswith("loads.")] + params
        self.panel.input_errors.clear()
        self.panel.refresh_material()
        self.panel.refresh_table(select=None)
        try:
            study = make_part_study(self.mesh, copy_setup(s), self.info)
        except ParameterError:
            self._check()
            return
        self.study = study
        self.window.set_study(study)  # other fields: a new view

    def promote_dialog(self, row: ValueRow) -> PromoteDialog | None:
        """Ask the range of a slider for ``row``'s value (a non-blocking dialog; OK promotes)."""
        setup = self.setup
        f = row.field
        parts = row.target.split(".")
        if parts[0] == "material":
            value = float(getattr(material_values(setup), parts[1]))
            label, base = f.label, parts[1]
        else:
            i = int(parts[1])
            item = setup.loads[i]
            value = get_value(item, ".".join(parts[2:]))
            kind_label = LOAD_KINDS[setup.physics][item["kind"]][0]
            where = item.get("region")
            label = f"{kind_label} {f.label}" + (f" on {where}" if where else "")
            base = "_".join(x for x in (item["kind"], where, f.label.replace(" ", "_"))
                            if x).replace("-", "_")
        if row.target in self.panel.input_errors:
            self.window.show_message("Type a number first, then make it a slider.", "warning",
                                     "input")
            return None
        taken = {p["name"] for p in setup.parameters}
        name = base if base not in taken else next(f"{base}_{k}" for k in range(2, 999)
                                                   if f"{base}_{k}" not in taken)
        dialog = PromoteDialog(label, value * f.scale, f.shown_unit, name, taken, self.window)
        target = row.target

        def done(code: int) -> None:
            dialog.deleteLater()
            if code == QDialog.DialogCode.Accepted and dialog.result_range is not None:
                name, lo, hi = dialog.result_range
                self.promote(target, name, lo / f.scale, hi / f.scale, label=label)

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def promote(self, target: str, name: str, lower: float, upper: float, *,
                label: str = "") -> None:
        """Make a value a slider parameter (SI range); the sliders appear on the left."""
        field = _field_of(self.setup, target)
        self.setup.promote(name, target, lower, upper, label=label or name, unit=field.unit)
        self.setup.parameters[-1].update(scale=field.scale, display_unit=field.shown_unit)
        self.panel.refresh_values()
        self.setup_changed()

    def unpromote(self, target: str) -> None:
        """Remove the slider of ``target``; the value keeps the slider's current value."""
        p = parameter_for(self.setup, target)
        if p is None:
            return
        value = self.window.model.params.get(p["name"], p["default"])
        self.setup.parameters.remove(p)
        parts = target.split(".")
        if parts[0] == "material":
            self.setup.material_overrides[parts[1]] = value
            if self.setup.material != "custom":  # a library value: back to the library
                base = getattr(material_values(PartSetup(material=self.setup.material)),
                               parts[1])
                if base == value:
                    del self.setup.material_overrides[parts[1]]
        else:
            set_value(self.setup.loads[int(parts[1])], ".".join(parts[2:]), value)
        self.panel.refresh_values()
        self.setup_changed()

    # -- regions in the viewport ----------------------------------------------------------------
    @property
    def facets(self) -> BoundaryFacets:
        if self._facets is None:
            self._facets = BoundaryFacets(self.mesh)
        return self._facets

    def highlight(self, region: str | None) -> None:
        """Colour the faces of ``region`` (None: no highlight); edges are drawn as thick lines,
        point sets as dots and subdomains as their outer surface."""
        plotter = self.window.viewport.plotter
        if self.mesh is not None and region is not None and region not in self.mesh.boundaries \
                and region in {*self.mesh.edges, *self.mesh.point_sets, *self.mesh.subdomains}:
            self._draw_other(region)
            self.highlighted = region
            self._label()
            plotter.render()
            return
        if region is None or self.mesh is None or region not in self.mesh.boundaries:
            if self.highlighted is not None:
                plotter.remove_actor(HIGHLIGHT, render=False)
                self.highlighted = None
                self._label()
                plotter.render()
            return
        facets = self.mesh.boundaries[region]
        # over a solved field only the facet edges: the colours of the field stay readable
        self._draw(HIGHLIGHT, facets, HIGHLIGHT_COLOR, outline=self.window.viewport.has_field)
        self.highlighted = region
        self._label()
        plotter.render()

    def _draw_other(self, region: str) -> None:
        """An edge, point or subdomain region in the highlight colour (lines, dots, surface)."""
        plotter = self.window.viewport.plotter
        mesh = self.mesh
        if region in mesh.edges:
            segs = np.asarray(mesh.edges[region])[:, :2]
            pts = mesh.points[segs].reshape(-1, 3)
            lines = np.column_stack([np.full(len(segs), 2), np.arange(0, 2 * len(segs), 2),
                                     np.arange(1, 2 * len(segs), 2)]).ravel()
            plotter.add_mesh(pv.PolyData(pts, lines=lines), color=HIGHLIGHT_COLOR, line_width=6,
                             name=HIGHLIGHT, pickable=False, render=False, lighting=False)
        elif region in mesh.point_sets:
            pts = mesh.points[np.unique(np.asarray(mesh.point_sets[region]))]
            plotter.add_mesh(pv.PolyData(pts), color=HIGHLIGHT_COLOR, point_size=14,
                             render_points_as_spheres=True, name=HIGHLIGHT, pickable=False,
                             render=False)
        else:  # a subdomain: the outer surface of its cells
            from physapp.io.readers import LINEAR

            cells = np.asarray(mesh.subdomains[region])
            start, polys = 0, []
            for block in mesh.cells:
                n = len(block.connectivity)
                mine = cells[(cells >= start) & (cells < start + n)] - start
                start += n
                if len(mine):
                    base = LINEAR.get(block.type, block.type)
                    polys.append((base, block.connectivity[mine]))
            grid = pv.UnstructuredGrid({_VTK_TYPE[b]: c[:, :_CORNERS[b]] for b, c in polys
                                        if b in _VTK_TYPE}, mesh.points)
            surf = grid.extract_surface(algorithm="dataset_surface") if mesh.dim == 3 else grid
            plotter.add_mesh(surf, color=HIGHLIGHT_COLOR, opacity=0.6, name=HIGHLIGHT,
                             pickable=False, render=False, show_edges=False)

    def _label(self) -> None:
        """The line at the bottom of the view: the picking hint, else the region shown."""
        plotter = self.window.viewport.plotter
        if self.pick_mode:
            n = len(self.selection)
            text = (f"Selected {n} facets - Shift+click adds" if n else
                    "Pick faces: click a face, Shift+click adds")
            color = "#c05600"
        elif self.highlighted is not None:
            m, name = self.mesh, self.highlighted
            what = ("facets" if name in m.boundaries else "segments" if name in m.edges else
                    "nodes" if name in m.point_sets else "cells")
            group = (m.boundaries.get(name) if name in m.boundaries else m.edges.get(name)
                     if name in m.edges else m.point_sets.get(name) if name in m.point_sets
                     else m.subdomains.get(name, ()))
            shape = next((r.get("shape") for r in (self.panel.region_info() if self.panel
                                                   else ()) if r["name"] == name), "")
            text, color = (f"Region '{name}'{f' - {shape}' if shape else ''} "
                           f"({len(group)} {what})", HIGHLIGHT_COLOR)
        else:
            plotter.remove_actor(LABEL, render=False)
            return
        actor = plotter.add_text(text, position="lower_edge", font_size=9, color=color,
                                 name=LABEL)
        if hasattr(actor, "SetMaximumFontSize"):  # a corner annotation grows with the view
            actor.SetMaximumFontSize(14)  # (#13: it ran off both sides at 1280 px)

    def _overlay(self) -> None:
        """A part that cannot be solved yet says so instead of 'press F5'."""
        vp = self.window.viewport
        if self.problem:
            vp.set_overlay(NOT_SET_UP_TEXT)
        elif not vp.has_field:
            vp.set_overlay(NO_RESULT_TEXT)

    def _after_preview(self, *_args) -> None:
        if self.active and not self.window.closing:
            self._overlay()

    def _draw(self, name: str, facets: np.ndarray, color: str, *, outline: bool = False) -> None:
        """Facets (node rows) as a separate, unpickable surface lifted slightly off the part;
        ``outline``: their edges only."""
        plotter = self.window.viewport.plotter
        poly = self._facet_polydata(np.asarray(facets))
        if self.mesh.dim == 2:
            plotter.add_mesh(poly, color=color, line_width=6, name=name, pickable=False,
                             render=False, lighting=False)
        elif outline:
            plotter.add_mesh(poly, color=color, style="wireframe", line_width=2.5, name=name,
                             pickable=False, render=False, lighting=False)
        else:  # bright whichever way the face is turned to the light
            plotter.add_mesh(poly, color=color, name=name, pickable=False, render=False,
                             show_edges=True, edge_color="#5a0040" if name == HIGHLIGHT
                             else "#7a3a00", line_width=1, ambient=0.55, diffuse=0.5,
                             specular=0.0)

    def _after_solve(self, *_args) -> None:
        """A field is on screen now: the region highlight becomes an outline."""
        if self.window.closing:
            return
        if self.highlighted is not None and self.mesh is not None:
            self.highlight(self.highlighted)
        self.show_solver_warnings()

    def show_solver_warnings(self) -> str:
        """The solve's warnings in the message bar (a P1 solve on a mesh too coarse for bending
        gives its estimated error and what to do); returns the text shown ('' when none)."""
        result = getattr(self.window, "result", None)
        if not self.active or result is None:
            return ""
        meta = result.meta
        warnings = [str(w) for w in meta.get("warnings", ()) if w]
        bar = self.window.message_bar
        if not warnings:
            bar.clear("solver")
            self.solver_warning = ""
            return ""
        text = " ".join(warnings)
        err = meta.get("p1_error_estimate")
        if err is not None and "P1" in text and f"{100 * float(err):.0f} %" not in text:
            text += f" (estimated P1 error {100 * float(err):.0f} %)"
        self.solver_warning = text
        self.window.show_message(text, "warning", "solver")
        return text

    def _slider_moved(self, name: str, value: float) -> None:
        if self.active:
            self._last_values = dict(self.window.model.params)
        if self.panel is not None:
            self.panel.rewrite_rows()

    def _facet_polydata(self, facets: np.ndarray) -> pv.PolyData:
        pts = self.mesh.points
        lo, hi = self.mesh.bounds()
        lift = 2e-3 * float(np.linalg.norm(hi - lo))
        k = facets.shape[1]
        corners = pts[facets]  # (m, k, 3)
        if self.mesh.dim == 2:
            flat = corners.reshape(-1, 3) + np.array([0.0, 0.0, lift])
            lines = np.column_stack([np.full(len(facets), 2),
                                     np.arange(0, 2 * len(facets), 2),
                                     np.arange(1, 2 * len(facets), 2)]).ravel()
            return pv.PolyData(flat, lines=lines)
        idx = self.facets.index_of(facets)
        n = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        known = idx >= 0
        n[known] = self.facets.normals[idx[known]]
        flat = (corners + lift * n[:, None, :]).reshape(-1, 3)
        faces = np.column_stack([np.full(len(facets), k),
                                 np.arange(len(facets) * k).reshape(-1, k)]).ravel()
        return pv.PolyData(flat, faces=faces)

    # -- picking --------------------------------------------------------------------------------
    def set_pick_mode(self, on: bool) -> None:
        """Clicks on the part select faces (drag still rotates); off: the selection is dropped."""
        plotter = self.window.viewport.plotter
        iren = plotter.iren.interactor if plotter.iren is not None else None
        if on and not self.pick_mode and iren is not None and self.mesh is not None:
            # release events reach the interactor style, not the interactor (pyvista #4976)
            style = plotter.iren.style or iren
            self._observers = [
                (iren, iren.AddObserver("LeftButtonPressEvent", self._on_press)),
                (style, style.AddObserver("LeftButtonReleaseEvent", self._on_release))]
            self.pick_mode = True
            if self.panel is not None:  # one colour at a time: the picked faces in orange
                self.panel.table.clearSelection()
            self.highlight(None)
        elif not on and self.pick_mode:
            for target, obs in self._observers:
                target.RemoveObserver(obs)
            self._observers = []
            self.pick_mode = False
            self.clear_selection()
        self._label()
        if self.panel is not None:
            self.panel.show_pick_mode(self.pick_mode)
        plotter.render()

    def _on_press(self, iren, _event) -> None:
        self._press = iren.GetEventPosition()

    def _on_release(self, _style, _event) -> None:
        iren = self.window.viewport.plotter.iren.interactor
        if self._press is None:
            return
        x, y = iren.GetEventPosition()
        px, py = self._press
        self._press = None
        if abs(x - px) <= CLICK_TOLERANCE_PX and abs(y - py) <= CLICK_TOLERANCE_PX:
            self.pick_display(x, y, add=bool(iren.GetShiftKey()))

    def pick_display(self, x: int, y: int, *, add: bool = False) -> bool:
        """Pick the part at display pixel (x, y) (VTK's origin: bottom left); True if a face was
        hit."""
        from vtkmodules.vtkRenderingCore import vtkCellPicker

        picker = vtkCellPicker()
        picker.SetTolerance(1e-4)
        plotter = self.window.viewport.plotter
        if not picker.Pick(x, y, 0, plotter.renderer) or picker.GetCellId() < 0:
            return False
        return self.pick_point(picker.GetPickPosition(), add=add)

    def pick_point(self, point, *, add: bool = False) -> bool:
        """Select the face under a point on the part's surface (metres)."""
        if self.mesh is None:
            return False
        i = self.facets.facet_at(point)
        if i < 0:
            return False
        self.pick_facet(i, add=add, seed=[float(v) for v in point])
        return True

    def pick_facet(self, index: int, *, add: bool = False, seed=None) -> np.ndarray:
        """Select boundary facet ``index`` grown over the feature angle; ``add`` keeps the
        previous selection. Returns the selected facet indices."""
        grown = self.facets.grow(int(index), self.feature_angle)
        seed = seed if seed is not None else self.facets.centres[int(index)].tolist()
        if add:
            self.selection = np.union1d(self.selection, grown)
            self.seeds.append(list(seed))
        else:
            self.selection = grown
            self.seeds = [list(seed)]
        self._draw(PICK, self.facets.region_array(self.selection), PICK_COLOR)
        self._label()
        self.window.viewport.plotter.render()
        if self.panel is not None:
            self.panel.update_selection_label()
            self.panel.pick_error.clear()
        return self.selection

    def clear_selection(self) -> None:
        self.selection = np.zeros(0, dtype=np.int64)
        self.seeds = []
        self.window.viewport.plotter.remove_actor(PICK, render=False)
        self._label()
        if self.panel is not None:
            self.panel.update_selection_label()

    def create_region(self, name: str) -> str:
        """Turn the picked faces into a boundary region ``name``; '' or why it was refused."""
        if self.mesh is None:
            return "Open a part first."
        if len(self.selection) == 0:
            return "Pick at least one face first."
        problem = check_name(name, self.mesh.boundaries, "region")
        if problem:
            return problem
        facets = self.facets.region_array(self.selection)
        self.info.picked[name] = {"facets": facets, "seeds": copy.deepcopy(self.seeds),
                                  "feature_angle": self.feature_angle}
        self._set_mesh(with_region(self.mesh, name, facets))
        self.clear_selection()
        self.panel.show_summary()
        self.panel.refresh_table()
        self.window.show_message(f"Region '{name}' created ({len(facets)} facets): choose it for "
                                 "a support or load in the table.", "info", "region")
        if not self.pick_mode:  # while picking, orange is the only colour on the part
            self.highlight(name)
        return ""

    # -- surrogates of the part -----------------------------------------------------------------
    def train_problem(self) -> str:
        """Why Run > Train surrogate cannot run on this part ('' when it can)."""
        if self.study is None or self.info is None:
            return "open a part first."
        return train_problem(self.setup, self.info, self.problem)

    def model_study_id(self) -> str:
        """``part:<file>::<set-up file>``: the id surrogates of this part and set-up carry."""
        from physapp.studies.imported import PART_ID_SEP

        data = setup_file_data(self.setup, self.info)
        return f"part:{self.info.path}{PART_ID_SEP}{setup_file_path(data, self.info.path)}"

    def training_study(self) -> ImportedPartStudy:
        """The part's study under its file-based id, with the set-up saved as that file (the
        sweep's workers rebuild the study from it: :func:`physapp.studies.get_study`)."""
        import dataclasses
        import json

        data = setup_file_data(self.setup, self.info)
        path = setup_file_path(data, self.info.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        study = copy.copy(self.study)
        study.spec = dataclasses.replace(study.spec, id=self.model_study_id())
        return study

    # -- typed selectors ------------------------------------------------------------------------
    def match_selector(self, text: str, create: str = "") -> int:
        """Resolve a typed selector on a worker thread (a large mesh takes a second); the match
        report (or why it failed) goes to the panel, and with ``create`` a region of that name
        is made of the match. Returns the job id (0: refused at once, the panel says why)."""
        if self.mesh is None:
            self._selector_done("Open a part first.", ok=False)
            return 0
        try:
            spec = parse_selector(text)
        except ParameterError as exc:
            self._selector_done(str(exc), ok=False)
            return 0
        self._selector_job += 1
        job = self._selector_job
        self._selector_pending = (job, create, spec, self.mesh)
        if self.panel is not None:
            self.panel.selector_report.setText("Matching \u2026")
        threading.Thread(target=_select_worker, args=(self.selector_relay, job, self.mesh, spec),
                         name="physapp-selector", daemon=True).start()
        return job

    @property
    def selector_busy(self) -> bool:
        return self._selector_pending is not None

    def _selector_done(self, message: str, *, ok: bool) -> None:
        if self.panel is not None:
            self.panel.show_selector_report(message, ok)

    def _on_selected(self, job: int, sel) -> None:
        pending = self._selector_pending
        if pending is None or pending[0] != job or self.window.closing:
            return
        self._selector_pending = None
        _, create, spec, mesh = pending
        if mesh is not self.mesh:  # the part changed meanwhile
            return
        message = sel.report[0].upper() + sel.report[1:] + "."
        self._selector_done(message, ok=True)
        if create:
            self._add_selector_region(create, spec, sel, message)
        elif sel.kind == "face" or (sel.kind == "edge" and self.mesh.dim == 2):
            self.highlight(None)  # one colour at a time: the match in orange
            self._draw(PICK, sel.entities, PICK_COLOR)  # show what it matched
            self.window.viewport.plotter.render()

    def _on_select_failed(self, job: int, message: str) -> None:
        pending = self._selector_pending
        if pending is None or pending[0] != job or self.window.closing:
            return
        self._selector_pending = None
        self.window.viewport.plotter.remove_actor(PICK, render=True)
        self._selector_done(message, ok=False)

    def clear_match(self) -> None:
        """Remove a typed selector's match from the view (not the picking mode's selection)."""
        if not self.pick_mode:
            self.window.viewport.plotter.remove_actor(PICK, render=False)

    def create_selector_region(self, name: str, text: str) -> str:
        """Make region ``name`` from a typed selector (resolved on a worker thread); '' when it
        started, else why it was refused at once."""
        if self.mesh is None:
            return "Open a part first."
        taken = {*self.mesh.boundaries, *self.mesh.edges, *self.mesh.point_sets,
                 *self.mesh.subdomains}
        problem = check_name(name, taken, "region")
        if problem:
            return problem
        try:
            parse_selector(text)
        except ParameterError as exc:
            return str(exc)
        self.match_selector(text, create=name)
        return ""

    def _add_selector_region(self, name: str, spec: dict, sel, message: str) -> None:
        from physapp.core.regions import with_region as add_region

        if name in {*self.mesh.boundaries, *self.mesh.edges, *self.mesh.point_sets,
                    *self.mesh.subdomains}:
            return
        self.info.selected[name] = dict(spec)
        self.window.viewport.plotter.remove_actor(PICK, render=False)
        self._set_mesh(add_region(self.mesh, name, sel))
        self.panel.show_summary()
        self.panel.refresh_table()
        self.panel.selector_name.clear()
        self.window.show_message(f"Region '{name}' created: {message}", "info", "region")
        if not self.pick_mode and name in self.mesh.boundaries:
            self.highlight(name)

    def _set_mesh(self, mesh: MeshData) -> None:
        self.mesh = mesh
        if self._facets is not None:
            self._facets.mesh = mesh  # same nodes and cells: facets and normals still hold
        try:
            study = make_part_study(mesh, copy_setup(self.setup), self.info)
        except ParameterError:  # the draft is not consistent yet: applied with its next fix
            self._check()
            return
        self.study = study
        self.window.update_study(study)

    # -- session --------------------------------------------------------------------------------
    def part_state(self) -> dict:
        """JSON-able state that reopens the part ready to solve ({} when no part is shown)."""
        if self.study is None or self.info is None:
            return {}
        return {
            "file": self.info.path,
            "length_unit": self.info.length_unit,
            "element_size": self.info.element_size,
            "order": self.info.order,
            "refine": copy.deepcopy(self.info.refine),
            "curvature": self.info.curvature,
            "selector_regions": copy.deepcopy(self.info.selected),
            "picked_regions": {
                name: {"facets": np.asarray(r["facets"]).tolist(), "seeds": r["seeds"],
                       "feature_angle": r["feature_angle"]}
                for name, r in self.info.picked.items()},
            "setup": copy.deepcopy(self.setup.as_dict()),
            "values": dict(self._last_values),
        }

    def _remember(self) -> None:
        state = self.part_state()
        if state and (state["setup"]["supports"] or state["setup"]["loads"]
                      or state["picked_regions"]):
            self._memory[state["file"]] = state

    def restore_part_state(self, state: dict) -> None:
        """Reopen a part from :meth:`part_state` (asynchronously: ``part_opened`` is emitted when
        it is on screen; a file that cannot be read shows the error as any open does)."""
        self.opener.cancel()  # a previous open (or restore) is superseded
        self._pending = copy.deepcopy(dict(state))
        self.opener.open(state["file"], ImportOptions(
            state.get("length_unit"), state.get("element_size"), int(state.get("order") or 1),
            list(state.get("refine") or []), float(state.get("curvature") or 0.0)))

    def _restored(self, state: dict, mesh: MeshData, info: PartInfo, notes: list[str]):
        facets = BoundaryFacets(mesh)
        for name, r in state.get("picked_regions", {}).items():
            rows = np.asarray(r.get("facets", []), dtype=np.int64)
            ok = len(rows) and rows.max() < mesh.n_points and np.all(facets.index_of(rows) >= 0)
            if not ok:  # the file was remeshed differently: grow the faces again from the clicks
                sel = np.zeros(0, dtype=np.int64)
                for seed in r.get("seeds", []):
                    i = facets.facet_at(seed)
                    if i >= 0:
                        sel = np.union1d(sel, facets.grow(i, r.get("feature_angle", 30.0)))
                if len(sel) == 0:
                    notes.append(f"The picked region '{name}' could not be restored.")
                    continue
                rows = facets.region_array(sel)
            if name in mesh.boundaries:
                continue
            mesh = with_region(mesh, name, rows)
            info.picked[name] = {"facets": rows, "seeds": r.get("seeds", []),
                                 "feature_angle": r.get("feature_angle", 30.0)}
        for name, spec in (state.get("selector_regions") or {}).items():
            from physapp.core.regions import select
            from physapp.core.regions import with_region as add_region

            if name in mesh.boundaries or name in mesh.edges or name in mesh.point_sets:
                continue
            try:
                mesh = add_region(mesh, name, select(mesh, spec))
            except ParameterError as exc:
                notes.append(f"The selector region '{name}' could not be restored: {exc}")
                continue
            info.selected[name] = dict(spec)
        setup = PartSetup.from_dict(state.get("setup", {}))
        missing = {i.get("region") for i in (*setup.supports, *setup.loads)
                   if i.get("region") is not None} - {*mesh.boundaries, *mesh.edges,
                                                      *mesh.point_sets, *mesh.subdomains}
        if missing:
            notes.append(f"Supports and loads on missing regions were left out: "
                         f"{', '.join(sorted(missing))}.")
            keep = [k for k, ld in enumerate(setup.loads) if ld.get("region") not in missing]
            for k in reversed(range(len(setup.loads))):
                if k not in keep:
                    del setup.loads[k]
                    drop_load_parameters(setup, k)
            setup.supports = [s for s in setup.supports if s.get("region") not in missing]
        values = state.get("values", {})
        for p in setup.parameters:  # the sliders start where the session left them
            v = values.get(p["name"])
            if v is not None and p["lower"] <= v <= p["upper"]:
                p["default"] = float(v)
        return mesh, setup, notes


def _describe_worker(relay, job: int, mesh: MeshData) -> None:
    """Worker thread: measure every region (kind, size, centroid, normal)."""
    try:
        relay.send_result(job, region_rows(mesh))
    except Exception as exc:  # noqa: BLE001 - the list keeps names and kinds
        relay.send_error(job, str(exc))


def _select_worker(relay, job: int, mesh: MeshData, spec: dict) -> None:
    """Worker thread: resolve a selector, hand the Selection (or the reason) to the GUI."""
    from physapp.core.regions import select

    try:
        relay.send_result(job, select(mesh, spec))
    except ParameterError as exc:
        relay.send_error(job, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug: one line for the user, not a dead thread
        relay.send_error(job, f"The selector could not be resolved ({type(exc).__name__}: {exc}).")


def _field_of(setup: PartSetup, target: str) -> ValueField:
    parts = target.split(".")
    if parts[0] == "material":
        return material_field(parts[1])
    item = setup.loads[int(parts[1])]
    key = ".".join(parts[2:])
    return next(f for f in load_fields(setup.physics, item["kind"], 3, item) if f.key == key)


def _local_files(mime) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and Path(u.toLocalFile())
            .is_file()]


def _report_of(mesh: MeshData):
    from physapp.io.readers import ImportReport

    lo, hi = mesh.bounds()
    return ImportReport("", "mesh", mesh.n_points, mesh.cell_counts(), mesh.dim,
                        {k: len(v) for k, v in mesh.boundaries.items()},
                        {k: len(v) for k, v in mesh.subdomains.items()},
                        (tuple(map(float, lo)), tuple(map(float, hi))), mesh.length_unit)

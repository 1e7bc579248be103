"""The Part set-up panel (a dock on the right while an imported part is shown): import summary,
physics and material, supports and loads, regions and face picking.

:class:`PartPanel` edits a draft :class:`~physapp.studies.imported.PartSetup` (``controller.setup``)
and calls ``controller.setup_changed()``; the controller
(:class:`~physapp.gui.part_controller.PartController`) rebuilds the study. The editor of the
selected support or load is :mod:`physapp.gui.part_editor`, the region list
:mod:`physapp.gui.part_region_list`, the small widgets :mod:`physapp.gui.part_widgets`.
"""

from __future__ import annotations

import copy
import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.gui.part_editor import ItemEditorMixin
from physapp.gui.part_region_list import RegionListMixin
from physapp.gui.part_tasks import (
    CAD_SUFFIXES,
    MATERIAL_FIELDS,
    MATERIAL_NAMES,
    REGION_MATERIAL_KEYS,
    UNIT_TO_M,
    ValueField,
    describe_item,
    drop_load_parameters,
    extent_text,
    material_field,
    material_values,
    new_load,
    parameter_for,
    set_value,
)
from physapp.gui.part_widgets import (  # noqa: F401 - CHOOSE_REGION: tests import it here
    CHOOSE_REGION,
    PHYSICS,
    SUPPORT_TYPES,
    TABLE_ROWS,
    MaterialToggle,
    PromoteDialog,
    ValueRow,
    fit_rows,
    fmt,
    set_invalid,
)
from physapp.gui.relay import ThreadRelay

if TYPE_CHECKING:
    from physapp.gui.part_controller import PartController


class PartPanel(ItemEditorMixin, RegionListMixin, QWidget):
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
        pl = QHBoxLayout(part)  # the summary and, for CAD, Remesh beside it (#13: room)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pl.addWidget(self.summary, 1)
        self.remesh_button = QPushButton("Remesh\u2026")
        self.remesh_button.setToolTip("Mesh the CAD part again: element size, order, local sizes "
                                      "and curvature (the set-up is kept: CAD region names do not "
                                      "change with the mesh)")
        self.remesh_button.clicked.connect(self.ctl.remesh)
        pl.addWidget(self.remesh_button, 0, Qt.AlignmentFlag.AlignTop)
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
        # a library material's values in one line; its rows (and their Slider... buttons) open
        # on a click, and by themselves for a custom material or a value made a slider (#13)
        self.material_toggle = MaterialToggle()
        self.material_toggle.toggled.connect(lambda on: self.material_box.setVisible(on))
        form.addRow("Properties", self.material_toggle)
        self.material_box = QWidget()
        self.material_box.setVisible(False)
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
        row = QHBoxLayout()  # the main actions first: in view at 1280x800 without scrolling
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
        self.table.itemSelectionChanged.connect(self._selection_changed)
        bl.addWidget(self.table)
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
        # hovering a row outlines its region in the view (#13); leaving the list ends it
        self.region_table.setMouseTracking(True)
        self.region_table.cellEntered.connect(self._region_hovered)
        self.region_table.viewport().installEventFilter(self)
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
        ext = (hi - lo) if len(lo) else np.zeros(3)
        dims = extent_text(ext[: max(mesh.dim, 2)], 1.0 / UNIT_TO_M[unit])  # as the import dialog
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
                 f"Size {dims} {unit} &nbsp;(length unit: {unit_text})"]
        lines += [f"<span style='color:#805000'>Repaired: {html.escape(r)}</span>"
                  for r in rep.repairs]
        lines += [f"<span style='color:#505050'>Note: {html.escape(n)}</span>" for n in rep.notes]
        self.summary.setText("<br>".join(lines))
        self.remesh_button.setVisible(Path(info.path).suffix.lower() in CAD_SUFFIXES)
        # the regions are listed in the Regions box below; their facet counts in the tooltip
        self.summary.setToolTip(f"<p>Boundary regions (facets): {regions}</p>"
                                f"<pre>{html.escape(rep.text())}</pre>")

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
                    edit.setPlaceholderText(fmt(getattr(base, f.key) * f.scale))
                target = f"regions.{name}.{f.key}"
                err = self.input_errors.get(target)
                if err:
                    edit.setText(err[1])
                    set_invalid(edit, err[0])
                elif f.key in own:
                    edit.setText(fmt(float(own[f.key]) * f.scale))
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
            set_invalid(edit, "")
        else:
            value = self.typed_number(edit, target, f"{f.label} of '{name}'", f.scale)
            if value is None:
                return
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
        self.material_toggle.show_values(
            [(r.field, values[r.field.key]) for r in self.material_rows],
            open_=custom or any(parameter_for(setup, r.target) is not None
                                or r.target in self.input_errors for r in self.material_rows))

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
        fit_rows(self.table, len(self._rows), TABLE_ROWS)
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

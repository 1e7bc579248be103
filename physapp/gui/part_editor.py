"""The 'Selected' box of the Part set-up panel: the editor of the support or load chosen in the
table (type, fixed components, prescribed displacements, load kind, region, force form) and its
value rows (typed values, 'Slider...' toggles, input errors). A mixin of
:class:`~physapp.gui.part_panel.PartPanel`: it edits ``self.ctl.setup`` and calls
``self.ctl.setup_changed()``."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from physapp.gui.part_tasks import (
    DISPLACEMENT_SCALE,
    LOAD_KINDS,
    allowed_kinds,
    allowed_text,
    force_as_magnitude,
    force_as_vector,
    get_value,
    load_fields,
    new_load,
    parameter_for,
    parse_number,
    region_size_text,
    regions_for,
    set_value,
)
from physapp.gui.part_widgets import CHOOSE_REGION, SUPPORT_TYPES, ValueRow, fmt, set_invalid


class ItemEditorMixin:
    """PartPanel's editor of the selected support or load (see the module docstring)."""

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
                    edit.setText(err[1] if err else fmt(values.get(c, 0.0) * DISPLACEMENT_SCALE))
                    set_invalid(edit, err[0] if err else "")
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
            # the region under the mouse in the open list is outlined in the view (#13)
            self.region_combo.highlighted.connect(
                lambda i, c=self.region_combo: self.ctl.region_hover.show(c.itemData(i) or None))
            self.region_combo.view().installEventFilter(self)  # list closed: outline gone
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
        value = self.typed_number(edit, f"supports.{i}.values.{component}",
                                  f"Support {i + 1} u{'xyz'[component]}", DISPLACEMENT_SCALE)
        if value is None:
            return
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

    # -- values ---------------------------------------------------------------------------------
    def typed_number(self, edit: QLineEdit, target: str, where: str,
                     scale: float = 1.0) -> float | None:
        """The number typed in ``edit`` over ``scale`` (shown -> SI), its error at ``target``
        cleared; None when it is not a number: the message ("<where>: 'x' is not a number.")
        stays at the field, red, until corrected, and the set-up is told (Solve says why)."""
        text = edit.text()
        try:
            value = parse_number(text) / scale
        except ValueError:
            message = f"{where}: '{text}' is not a number."
            self.input_errors[target] = (message, text)
            set_invalid(edit, message)
            self.ctl.setup_changed()
            return None
        self.input_errors.pop(target, None)
        set_invalid(edit, "")
        return value

    def value_edited(self, row: ValueRow) -> None:
        if not row.edit.isEnabled():
            return
        where = row.field.label
        if row.target.startswith("loads."):
            i = int(row.target.split(".")[1])
            kind = self.ctl.setup.loads[i]["kind"]
            where = f"{LOAD_KINDS[self.ctl.setup.physics][kind][0]} {where} (load {i + 1})"
        si = self.typed_number(row.edit, row.target, where, row.field.scale)
        if si is None:
            return
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
            set_invalid(row.edit, message)

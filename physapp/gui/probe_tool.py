"""The probe of the view tools (View > Probe, P): a click on the part reads every field of the
study there, interpolated in the picked cell (:mod:`physapp.viz.probe`), in the Probe dock on the
right; the point is marked in the view with the shown field's value, and follows the material
point through in-place updates (surrogate frames). A mixin of
:class:`~physapp.gui.view_tools.ViewTools`; everything runs on the GUI thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyvista as pv
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDockWidget,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from vtkmodules.vtkRenderingCore import vtkBillboardTextActor3D

from physapp.viz.grids import display_unit, field_display_unit
from physapp.viz.probe import Location

if TYPE_CHECKING:
    pass
MARKER = "probe_marker"


MARKER_COLOR = "#e4007c"


class ProbeMixin:
    """ViewTools' probe (see the module docstring)."""

    @property
    def probe_location(self) -> Location | None:
        """Where the probe is on the shown mesh (cell nodes and weights), or None."""
        return self._probe_loc

    def needs_all_fields(self) -> bool:
        """True while a probe or the line plot reads the shown result's fields."""
        return self._probe_loc is not None or (
            self.line_dialog is not None and self.line_dialog.isVisible())

    def set_probe_mode(self, on: bool) -> None:
        """Clicks on the part probe it (a drag still turns the view); off removes the probe."""
        self.probe_mode = bool(on)
        if self.probe_action.isChecked() != self.probe_mode:
            self.probe_action.setChecked(self.probe_mode)  # re-enters once, harmless
            return
        if on and self.window.parts.pick_mode:  # one click mode at a time
            self.window.parts.set_pick_mode(False)
        if self._pick != "line":
            self._pick = "probe" if on else None
        self.probe_dock.setVisible(on)
        if not on:
            self.probe_point = None
            self._probe_loc = None
            self.probe_values = {}
            self._set_marker(None)
            self.probe_changed.emit()
        self._show_probe_table()
        if self.viewport is not None:
            self.viewport.plotter.render()

    def probe_at(self, point) -> dict[str, float]:
        """Probe the shown result at a model point (undeformed coordinates, SI); returns every
        field of the study there in display units (empty when no result or off the part)."""
        self.probe_point = np.asarray(point, dtype=float).reshape(3)
        self._locate_probe(self.probe_point)
        return dict(self.probe_values)

    def _locate_probe(self, point: np.ndarray) -> None:
        vp = self.viewport
        self._probe_loc, self.probe_values = None, {}
        if vp is not None and vp.has_field:
            loc = self.locator(vp.result.mesh).locate(point[None], nearest=True)
            if loc.inside[0]:
                self._probe_loc, self._probe_grid = loc, vp.grid
        if self._probe_loc is None:
            self._show_probe_table()
            self._set_marker(None)
            if vp is not None:
                vp.plotter.render()
            self.probe_changed.emit()
            return
        self._refresh_probe()
        vp.plotter.render()
        self.probe_changed.emit()

    def _refresh_probe(self) -> None:
        """Values and marker from the stored location: reads d+1 nodes per field."""
        vp, loc = self.viewport, self._probe_loc
        result = vp.result
        values, stds, units = {}, {}, {}
        for f in self.window.spec.fields:
            base, bracket, idx = f.name.partition("[")
            if base not in result.point_data:
                continue
            factor, units[f.name] = field_display_unit(result, f.name, f.unit)
            values[f.name] = float(loc.scalar(result, f.name)[0]) * factor
            std = f"{base}_std{bracket}{idx}"
            if f"{base}_std" in result.point_data:
                stds[f.name] = float(loc.scalar(result, std)[0]) * factor
        self.probe_values = values
        self.probe_units = units
        self._probe_stds = stds
        self.probe_point = loc.weights[0] @ result.mesh.points[loc.nodes[0]]
        shown = loc.weights[0] @ np.asarray(vp.grid.points)[loc.nodes[0]]
        name, label, unit = vp.field
        text = ""
        if name in values:
            text = f"{values[name]:.4g} {units[name]}".strip()
        self._set_marker(shown, text=text)
        self._show_probe_table()

    def _build_probe_dock(self) -> None:
        self.probe_dock = QDockWidget("Probe", self.window)
        self.probe_dock.setObjectName("probe_dock")
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(6, 4, 6, 6)
        self.probe_label = QLabel()
        self.probe_label.setWordWrap(True)
        self.probe_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        col.addWidget(self.probe_label)
        self.probe_table = QTableWidget(0, 4)
        self.probe_table.setHorizontalHeaderLabels(["Field", "Value", "Unit", "± std"])
        self.probe_table.setColumnHidden(3, True)
        self.probe_table.horizontalHeaderItem(3).setToolTip(
            "The surrogate's standard deviation (uncertainty) at the point")
        # headers made here, not fetched with horizontalHeader(): PySide6 can hand back a stale
        # wrapper of another type for a C++ address reused after a study switch (seen once as a
        # QOffscreenSurface under Xvfb)
        head = QHeaderView(Qt.Orientation.Horizontal, self.probe_table)
        self.probe_table.setHorizontalHeader(head)
        side = QHeaderView(Qt.Orientation.Vertical, self.probe_table)
        self.probe_table.setVerticalHeader(side)
        side.setVisible(False)
        self.probe_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.probe_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        col.addWidget(self.probe_table, 1)
        self.probe_dock.setWidget(body)
        self.probe_dock.setMinimumWidth(300)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.probe_dock)
        # no close button: the panel belongs to the probe mode (P, or the toolbar) and goes
        # with it
        self.probe_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                                    | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.probe_dock.hide()

    def _show_probe_table(self) -> None:
        vp = self.viewport
        spec = self.window.spec
        table = self.probe_table
        if self.probe_point is None or not self.probe_values:
            hint = "Click a point of the part." if self.probe_point is None else (
                "The point is not on the shown part." if vp is not None and vp.has_field
                else "No result on screen: solve (F5) first.")
            self.probe_label.setText(f"<b>Probe</b> \u2013 {hint}")
            table.setRowCount(0)
            return
        mesh_unit = vp.result.mesh.length_unit
        lf, lu = display_unit(mesh_unit)
        xyz = ", ".join(f"{v * lf:.4g}" for v in self.probe_point[: 3 if vp.result.mesh.dim == 3
                                                                   else 2])
        source = "surrogate prediction" if self.window.surrogates.active and \
            vp.result is not self.window.result else "reference solve"
        cut = " (hidden by the section)" if self._marker_cut else ""
        self.probe_label.setText(f"<b>Point</b> ({xyz}) {lu}{cut}<br><small>from the {source}; "
                                 "interpolated in the cell</small>")
        rows = [f for f in spec.fields if f.name in self.probe_values]
        if table.rowCount() != len(rows):
            table.setRowCount(len(rows))
        stds = self._probe_stds
        if table.isColumnHidden(3) == bool(stds):
            table.setColumnHidden(3, not stds)
        for i, f in enumerate(rows):
            value = f"{self.probe_values[f.name]:.5g}"
            std = f"{stds[f.name]:.2g}" if f.name in stds else ""
            shown_unit = self.probe_units.get(f.name, display_unit(f.unit)[1])
            for j, text in enumerate((f.label, value, shown_unit, std)):
                item = table.item(i, j)
                if item is None:
                    item = QTableWidgetItem()
                    if j in (1, 3):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                              | Qt.AlignmentFlag.AlignVCenter)
                    table.setItem(i, j, item)
                if item.text() != text:
                    item.setText(text)
            bold = f.name == (vp.field[0] if vp is not None else "")
            font = table.item(i, 0).font()
            if font.bold() != bold:
                font.setBold(bold)
                for j in range(4):
                    table.item(i, j).setFont(font)

    def _set_marker(self, position, text: str = "") -> None:
        """The probe marker (a dot and the shown field's value) at a displayed position."""
        vp = self.viewport
        if vp is None:
            return
        if position is None:
            if self._marker is not None:
                self._marker.SetVisibility(False)
                self._marker_text.SetVisibility(False)
            return
        pos = self._lifted(np.asarray(position, dtype=float))
        if self._marker is None:
            self._marker_poly = pv.PolyData(pos[None].copy())
            self._marker = vp.plotter.add_mesh(
                self._marker_poly, color=MARKER_COLOR, point_size=14,
                render_points_as_spheres=True, pickable=False, name=MARKER, render=False,
                reset_camera=False)
            self._marker_text = vtkBillboardTextActor3D()
            prop = self._marker_text.GetTextProperty()
            prop.SetFontSize(15)
            prop.SetColor(0.05, 0.05, 0.05)
            prop.SetBackgroundColor(1.0, 1.0, 1.0)
            prop.SetBackgroundOpacity(0.85)
            prop.SetFrame(True)
            prop.SetFrameColor(0.89, 0.0, 0.49)
            prop.SetJustificationToLeft()
            prop.SetVerticalJustificationToBottom()
            self._marker_text.SetDisplayOffset(10, 10)
            self._marker_text.PickableOff()
            vp.plotter.renderer.AddActor(self._marker_text)
        else:
            self._marker_poly.points[0] = pos
            self._marker_poly.Modified()
        clip = vp.clip
        cut_away = clip is not None and float(
            np.dot(pos - np.asarray(clip[0]), np.asarray(clip[1]))) < 0
        self._marker.SetVisibility(not cut_away)  # the section removed the probed surface
        self._marker_cut = cut_away
        text = "" if cut_away else text
        self._marker_text.SetPosition(*pos)
        self._marker_text.SetInput(text or " ")
        self._marker_text.SetVisibility(bool(text))

    def _lifted(self, pos: np.ndarray) -> np.ndarray:
        """A flat part lies in z = 0: draw marks slightly in front so the surface does not hide
        them."""
        vp = self.viewport
        if vp.grid is not None and np.ptp(vp.grid.points[:, 2]) == 0:
            lo, hi = np.min(vp.grid.points, axis=0), np.max(vp.grid.points, axis=0)
            return pos + np.array([0.0, 0.0, 2e-3 * float(np.linalg.norm(hi - lo))])
        return pos

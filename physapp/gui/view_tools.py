"""View tools of the main window: probe, line plot, clip plane, warp, colour map, camera views.

* **Probe** (View > Probe, P): a click on the part reads every field of the study there
  (:mod:`physapp.gui.probe_tool`).
* **Line plot** (View > Line plot..., Ctrl+L): :class:`~physapp.gui.line_plot.LinePlotDialog`.
* Display controls in the side panel: colour map, warp by displacement (scale; Auto = 10 % of
  the model size), clip plane (axis or view direction, position, flip).
* Standard views (View menu, Ctrl+1..Ctrl+7, and the buttons above the viewport).

Everything runs on the GUI thread; VTK picking is a ``vtkCellPicker`` on the viewport's renderer.
The state that the viewport shows is the viewport's (:meth:`Viewport.view_settings`); this
controller keeps the user's choices across studies and re-applies them to a new viewport.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyvista as pv
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolBar,
    QWidget,
)
from vtkmodules.vtkCommonCore import reference
from vtkmodules.vtkRenderingCore import vtkBillboardTextActor3D, vtkCellPicker

from physapp.core.mesh import MeshData
from physapp.gui.click_pick import ClickObserver
from physapp.gui.probe_tool import ProbeMixin
from physapp.gui.view_settings import COLORMAPS
from physapp.viz.grids import display_unit
from physapp.viz.probe import Location, Locator

if TYPE_CHECKING:
    from physapp.gui.line_plot import LinePlotDialog
    from physapp.gui.services import WindowServices
    from physapp.gui.viewport import Viewport

LINE = "view_line"
LINE_COLOR = "#111111"
CLIP_AXES = {"X": (1.0, 0.0, 0.0), "Y": (0.0, 1.0, 0.0), "Z": (0.0, 0.0, 1.0)}
VIEW_CLIP = "View direction"
#: (camera view name, menu text, toolbar text, shortcut)
CAMERA_ACTIONS = (
    ("+x", "View from +&X", "+X", "Ctrl+1"),
    ("-x", "View from -X", "\u2212X", "Ctrl+2"),
    ("+y", "View from +&Y", "+Y", "Ctrl+3"),
    ("-y", "View from -Y", "\u2212Y", "Ctrl+4"),
    ("+z", "View from +&Z", "+Z", "Ctrl+5"),
    ("-z", "View from -Z", "\u2212Z", "Ctrl+6"),
    ("iso", "&Isometric view", "Iso", "Ctrl+7"),
)


class ViewTools(ProbeMixin, QObject):
    """Probe, line plot and display controls of one :class:`MainWindow`."""

    line_changed = Signal()  # the line plot's line moved, appeared or went (``self.line``)
    probe_changed = Signal()  # the probe point moved, appeared or went (history chart, #18)

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        self.viewport: Viewport | None = None
        self.view = window.app.view  # colour map, warp and section live in the model
        self.view.events.colormap.connect(self._on_colormap)
        self.view.events.warp_scale.connect(self._on_warp_scale)
        # the section controls' state (the plane itself is ``view.clip``), kept across studies
        self.clip_on = False
        self.clip_axis = "X"
        self.clip_fraction = 0.5
        self.clip_flip = False
        # probe
        self.probe_mode = False
        self.probe_point: np.ndarray | None = None  # model coordinates (undeformed)
        self.probe_values: dict[str, float] = {}  # field name -> value in display units
        self.probe_units: dict[str, str] = {}  # field name -> its display unit
        self._probe_stds: dict[str, float] = {}  # field name -> surrogate std at the probe
        self._marker_cut = False  # the probe marker is cut away by the section
        self._probe_loc: Location | None = None
        self._probe_grid = None  # the grid the location belongs to
        # clicks
        self._pick: str | None = None  # "probe", "line" or None
        self._line_clicks: list[np.ndarray] = []
        self._clicks: ClickObserver | None = None  # of the current viewport
        self._locators: dict[int, tuple[MeshData, Locator]] = {}
        self._grid_seen = None
        self._marker = None
        self._marker_poly: pv.PolyData | None = None
        self._marker_text: vtkBillboardTextActor3D | None = None
        self.line_dialog: LinePlotDialog | None = None
        self.line: tuple[np.ndarray, np.ndarray] | None = None
        # widgets of the side panel (rebuilt with it)
        self.cmap_combo: QComboBox | None = None
        self.warp_spin: QDoubleSpinBox | None = None
        self.clip_check: QCheckBox | None = None
        self.toolbar = QToolBar("View", window)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar.setStyleSheet("QToolBar { border: 0; spacing: 2px; }"
                                   "QToolButton { padding: 1px 6px; }")
        window.central_layout.addWidget(self.toolbar)  # above the viewport (added after it)
        self._build_probe_dock()

    # -- window hooks ---------------------------------------------------------------------------
    def add_view_actions(self, menu) -> None:
        """Probe, Line plot and the standard views in the View menu and the toolbar."""
        w = self.window
        menu.addSeparator()
        self.probe_action = w.actions.add("view.probe", menu, "&Probe", None, "P")
        self.probe_action.setCheckable(True)
        self.probe_action.setToolTip("Probe (P): click the part to read every field there")
        self.probe_action.toggled.connect(self.set_probe_mode)
        self.line_action = w.actions.add("view.line_plot", menu, "&Line plot\u2026", self.open_line_plot,
                                         "Ctrl+L")
        self.line_action.setToolTip("Line plot (Ctrl+L): a field along a line through the part")
        menu.addSeparator()
        self.camera_actions = {}
        for name, text, short, key in CAMERA_ACTIONS:
            act = w.actions.add(f"view.camera.{name}", menu, text,
                                lambda n=name: self.set_camera_view(n), key)
            act.setIconText(short)
            self.camera_actions[name] = act
        self.toolbar.addAction(self.probe_action)
        self.toolbar.addAction(self.line_action)
        self.toolbar.addSeparator()
        for act in self.camera_actions.values():
            self.toolbar.addAction(act)
        reset = next((a for a in menu.actions() if a.text() == "&Reset camera"), None)
        if reset is not None:
            reset.setIconText("Fit")
            self.toolbar.addAction(reset)

    def viewport_created(self, vp: Viewport) -> None:
        """A new viewport (a study opened): the user's view choices apply to it."""
        self.viewport = vp
        self._marker = self._marker_poly = self._marker_text = None
        self._probe_loc, self._probe_grid, self._grid_seen = None, None, None
        self.probe_point, self.probe_values = None, {}  # a point of the previous part
        self._locators.clear()
        self._line_clicks = []
        vp.colormap = self.colormap
        vp.warp_scale = self.warp_scale
        vp.shown_changed.connect(self._on_shown)
        vp.view_settings_applied.connect(self.sync_from_viewport)
        if self.line_dialog is not None:  # its field list belongs to the previous study
            self.line_dialog.close()
            self.line_dialog.deleteLater()
            self.line_dialog = None
            self.line = None
        # clicks of the probe and line tools (not drags); none off screen
        if self._clicks is not None:  # the last study's (the viewport may be the same one)
            self._clicks.remove()
        self._clicks = ClickObserver(vp.plotter, lambda x, y, _shift: self.pick_display(x, y),
                                     wanted=lambda: bool(self._pick))
        if self.line is not None:
            self.show_line(self.line)
        if self.probe_mode:
            self._show_probe_table()

    def add_display_rows(self, form: QFormLayout) -> None:
        """Colour map, warp and clip controls in the side panel's Display group."""
        self.cmap_combo = QComboBox()
        self.cmap_combo.addItems(COLORMAPS)
        self.cmap_combo.setCurrentText(self.colormap)
        self.cmap_combo.setToolTip("Colour map of the field (uncertainty fields keep viridis)")
        self.cmap_combo.currentTextChanged.connect(self.set_colormap)
        form.addRow("Colour map", self.cmap_combo)

        warp = QWidget()
        row = QHBoxLayout(warp)
        row.setContentsMargins(0, 0, 0, 0)
        self.warp_spin = QDoubleSpinBox()
        self.warp_spin.setRange(0.0, 1e9)
        self.warp_spin.setDecimals(1)
        self.warp_spin.setSpecialValueText("off")
        self.warp_spin.setValue(self.warp_scale)
        self.warp_spin.setKeyboardTracking(False)
        self.warp_spin.setToolTip("Draw the part deformed: node + scale \u00d7 displacement "
                                  "(0 = off)")
        self.warp_spin.valueChanged.connect(self.set_warp_scale)
        self.warp_auto = QPushButton("Auto")
        self.warp_auto.setToolTip("A scale that makes the largest displacement about 10 % of "
                                  "the model size")
        self.warp_auto.clicked.connect(self.auto_warp)
        row.addWidget(self.warp_spin, 1)
        row.addWidget(self.warp_auto)
        form.addRow("Deform \u00d7", warp)

        clip = QWidget()
        crow = QHBoxLayout(clip)
        crow.setContentsMargins(0, 0, 0, 0)
        self.clip_check = QCheckBox("Clip")
        self.clip_check.setChecked(self.clip_on)
        self.clip_check.setToolTip("Cut the view with a plane to look inside")
        self.clip_axis_combo = QComboBox()
        self.clip_axis_combo.addItems([*CLIP_AXES, VIEW_CLIP])
        self.clip_axis_combo.setCurrentText(self.clip_axis)
        self.clip_axis_combo.setToolTip("Plane normal: an axis, or the current view direction "
                                        "(cuts away the half nearer to you)")
        self.clip_flip_check = QCheckBox("Flip")
        self.clip_flip_check.setChecked(self.clip_flip)
        self.clip_flip_check.setToolTip("Keep the other side of the plane")
        crow.addWidget(self.clip_check)
        crow.addWidget(self.clip_axis_combo, 1)
        crow.addWidget(self.clip_flip_check)
        form.addRow("Section", clip)
        pos = QWidget()
        prow = QHBoxLayout(pos)
        prow.setContentsMargins(0, 0, 0, 0)
        self.clip_slider = QSlider(Qt.Orientation.Horizontal)
        self.clip_slider.setRange(0, 1000)
        self.clip_slider.setValue(round(self.clip_fraction * 1000))
        self.clip_label = QLabel("")
        self.clip_label.setMinimumWidth(self.clip_label.fontMetrics().horizontalAdvance("-000.0 mm"))
        prow.addWidget(self.clip_slider, 1)
        prow.addWidget(self.clip_label)
        form.addRow("Position", pos)
        self.clip_check.toggled.connect(self._on_clip_controls)
        self.clip_axis_combo.currentTextChanged.connect(self._on_clip_controls)
        self.clip_flip_check.toggled.connect(self._on_clip_controls)
        self.clip_slider.valueChanged.connect(self._on_clip_controls)
        self._sync_enabled()

    @property
    def colormap(self) -> str:
        return self.view.colormap

    @property
    def warp_scale(self) -> float:
        return self.view.warp_scale

    def sync_from_viewport(self) -> None:
        """The viewport's settings were set from outside (a session, the split view): put them
        into the model (the controls follow it) and the section controls."""
        vp = self.viewport
        self.view.colormap = vp.colormap
        self.view.warp_scale = vp.warp_scale
        self.view.clip = vp.clip
        if vp.clip is None:
            self.clip_on = False
        else:
            origin, normal = (np.asarray(v, dtype=float) for v in vp.clip)
            n = normal / np.linalg.norm(normal)
            axis = next((name for name, a in CLIP_AXES.items()
                         if abs(abs(float(np.dot(a, n))) - 1) < 1e-9), VIEW_CLIP)
            self.clip_on, self.clip_axis = True, axis
            self.clip_flip = axis != VIEW_CLIP and float(np.dot(CLIP_AXES[axis], n)) < 0
            if vp.grid is not None:
                ref = np.abs(n) if axis != VIEW_CLIP else n
                along = np.asarray(vp.grid.points) @ ref
                lo, hi = float(along.min()), float(along.max())
                if hi > lo:
                    self.clip_fraction = min(max((float(origin @ ref) - lo) / (hi - lo), 0), 1)
        self._show_clip_controls()
        self._sync_enabled()
        if vp.clip is not None:
            self._show_clip_position(float(np.asarray(vp.clip[0]) @ np.abs(
                np.asarray(vp.clip[1], dtype=float) / np.linalg.norm(vp.clip[1]))))

    def shutdown(self) -> None:
        if self.line_dialog is not None:
            self.line_dialog.close()
        if self._clicks is not None:
            self._clicks.remove()

    # -- view options ---------------------------------------------------------------------------
    def set_colormap(self, name: str) -> None:
        self.view.colormap = name  # -> _on_colormap

    def _on_colormap(self, name: str, _old: str = "") -> None:
        if self.viewport is not None and self.viewport.colormap != name:
            self.viewport.set_colormap(name)
        self._panes_follow()
        if self.cmap_combo is not None and self.cmap_combo.currentText() != name:
            self.cmap_combo.blockSignals(True)
            self.cmap_combo.setCurrentText(name)
            self.cmap_combo.blockSignals(False)

    def _panes_follow(self) -> None:
        """The split view's panes take the main view's options (when the split view is on)."""
        self.window.compare.view_options_changed()

    def set_warp_scale(self, scale: float) -> None:
        self.view.warp_scale = float(scale)  # -> _on_warp_scale

    def _on_warp_scale(self, scale: float, _old: float = 0.0) -> None:
        if self.viewport is not None and self.viewport.warp_scale != scale:
            self.viewport.set_warp_scale(scale)
        self._panes_follow()
        if self.warp_spin is not None and self.warp_spin.value() != scale:
            self.warp_spin.blockSignals(True)
            self.warp_spin.setValue(scale)
            self.warp_spin.blockSignals(False)

    def auto_warp(self) -> float:
        """Warp with the suggested scale (max displacement ~10 % of the model size)."""
        scale = self.viewport.suggested_warp_scale() if self.viewport is not None else 0.0
        if self.warp_spin is not None:
            self.warp_spin.setDecimals(1 if scale >= 1 or scale == 0 else 4)
        self.set_warp_scale(scale)
        return scale

    def set_clip(self, on: bool, axis: str | None = None, fraction: float | None = None,
                 flip: bool | None = None) -> None:
        """Clip plane on/off; ``axis`` 'X', 'Y', 'Z' or 'View direction'; ``fraction`` 0..1 of
        the model's extent along the normal."""
        self.clip_on = bool(on)
        if axis is not None:
            self.clip_axis = axis
        if fraction is not None:
            self.clip_fraction = min(max(float(fraction), 0.0), 1.0)
        if flip is not None:
            self.clip_flip = bool(flip)
        self._show_clip_controls()
        self._sync_enabled()
        self._apply_clip()

    def _show_clip_controls(self) -> None:
        """Put the section state into its controls without echoing it back."""
        if self.clip_check is None:
            return
        for widget, setter, value in (
                (self.clip_check, "setChecked", self.clip_on),
                (self.clip_axis_combo, "setCurrentText", self.clip_axis),
                (self.clip_flip_check, "setChecked", self.clip_flip),
                (self.clip_slider, "setValue", round(self.clip_fraction * 1000))):
            widget.blockSignals(True)
            getattr(widget, setter)(value)
            widget.blockSignals(False)

    def set_camera_view(self, name: str) -> None:
        if self.viewport is not None:
            self.viewport.set_camera_view(name)
            if self.clip_on and self.clip_axis == VIEW_CLIP:
                self._apply_clip()

    def _on_clip_controls(self, *_args) -> None:
        self.set_clip(self.clip_check.isChecked(), self.clip_axis_combo.currentText(),
                      self.clip_slider.value() / 1000, self.clip_flip_check.isChecked())

    def _apply_clip(self) -> None:
        vp = self.viewport
        if vp is None:
            return
        if not self.clip_on or vp.grid is None:
            self.view.clip = None
            if vp.clip is not None:
                vp.set_clip(None)
                self._panes_follow()
                if self._probe_loc is not None and self._probe_grid is vp.grid and vp.has_field:
                    self._refresh_probe()
                    vp.plotter.render()
            self._show_clip_position(None)
            return
        normal = np.asarray(CLIP_AXES.get(self.clip_axis) or vp.view_direction, dtype=float)
        pts = vp.grid.points
        along = pts @ normal
        lo, hi = float(along.min()), float(along.max())
        centre = (pts.min(axis=0) + pts.max(axis=0)) / 2
        offset = lo + self.clip_fraction * (hi - lo)
        origin = centre + (offset - centre @ normal) * normal
        plane = (tuple(origin), tuple(-normal if self.clip_flip else normal))
        self.view.clip = plane
        vp.set_clip(plane)
        self._show_clip_position(offset)
        self._panes_follow()
        if self._probe_loc is not None and self._probe_grid is vp.grid and vp.has_field:
            self._refresh_probe()  # the marker hides behind the section
            vp.plotter.render()

    def _show_clip_position(self, offset: float | None) -> None:
        if self.clip_check is None:
            return
        if offset is None or self.viewport is None or self.viewport.grid is None:
            self.clip_label.setText("")
            return
        unit = self.viewport.result.mesh.length_unit if self.viewport.result else "m"
        factor, shown = display_unit(unit)
        name = self.clip_axis.lower() if self.clip_axis in CLIP_AXES else "d"
        self.clip_label.setText(f"{name} = {offset * factor:.4g} {shown}")

    def _sync_enabled(self) -> None:
        """Warp needs a displacement field; the clip position needs the clip."""
        vp = self.viewport
        if self.warp_spin is not None:
            can = vp is not None and vp.can_warp
            self.warp_spin.setEnabled(can)
            self.warp_auto.setEnabled(can)
        if self.clip_check is not None:
            for widget in (self.clip_axis_combo, self.clip_flip_check, self.clip_slider):
                widget.setEnabled(self.clip_on)

    # -- following the viewport -----------------------------------------------------------------
    def _on_shown(self) -> None:
        """After every frame the viewport shows (in place or not). O(1) unless the grid is new."""
        vp = self.viewport
        if vp.grid is not self._grid_seen:  # a new topology (or a geometry preview)
            self._grid_seen = vp.grid
            self._sync_enabled()
            if self.clip_on:
                self._apply_clip()
            if self.probe_point is not None and vp.has_field:
                self._locate_probe(self.probe_point)
        if self._probe_loc is not None and self._probe_grid is vp.grid and vp.has_field:
            self._refresh_probe()
        elif self.probe_point is not None and not vp.has_field:
            self._probe_loc = None
            self._show_probe_table()
            self._set_marker(None)
        if self.line_dialog is not None:
            self.line_dialog.schedule_replot()

    def locator(self, mesh: MeshData) -> Locator:
        """A point locator for ``mesh`` (cached for the last few meshes)."""
        hit = self._locators.get(id(mesh))
        if hit is not None and hit[0] is mesh:
            return hit[1]
        loc = Locator(mesh)
        if len(self._locators) >= 3:
            self._locators.pop(next(iter(self._locators)))
        self._locators[id(mesh)] = (mesh, loc)
        return loc

    # -- clicks ---------------------------------------------------------------------------------
    def pick_display(self, x: int, y: int) -> np.ndarray | None:
        """Act on a click at display pixel (x, y) (VTK: origin bottom left) in the current mode;
        returns the model point (undeformed coordinates) or None when the part was missed."""
        vp = self.viewport
        if vp is None or vp.actor is None or self.window.parts.pick_mode:
            return None  # (face picking of an imported part has the clicks while it is on)
        picker = vtkCellPicker()
        picker.SetTolerance(1e-4)
        picker.PickFromListOn()
        picker.AddPickList(vp.actor)  # markers, lines and region highlights do not count
        if not picker.Pick(x, y, 0, vp.plotter.renderer) or picker.GetCellId() < 0:
            self.window.statusBar().showMessage("No part under the cursor", 3000)
            return None
        point = self._undeformed(picker.GetCellId(), np.array(picker.GetPickPosition()))
        if self._pick == "line":
            self._line_clicks.append(point)
            self._set_marker(point if len(self._line_clicks) == 1 else None, text="start")
            if self.line_dialog is not None:
                self.line_dialog.picked(len(self._line_clicks))
            if len(self._line_clicks) == 2:
                a, b = self._line_clicks
                self._line_clicks = []
                self._pick = "probe" if self.probe_mode else None
                if self.line_dialog is not None:
                    self.line_dialog.set_line(a, b)
                if self._probe_loc is not None:  # the marker showed the line's start meanwhile
                    self._refresh_probe()
        else:
            self.probe_at(point)
        return point

    def _undeformed(self, cell_id: int, pos: np.ndarray) -> np.ndarray:
        """The model point under a picked position: with a warp, the same place in the cell of
        the undeformed part (the cell's interpolation weights carry over)."""
        vp = self.viewport
        if not (vp.warp_scale > 0 and vp.can_warp):
            return pos
        cell = vp.surface.GetCell(cell_id)  # the picked actor draws the surface (grid ids)
        n = cell.GetNumberOfPoints()
        closest, pcoords, weights = [0.0] * 3, [0.0] * 3, [0.0] * n
        cell.EvaluatePosition(list(pos), closest, reference(0), pcoords, reference(0.0), weights)
        ids = [cell.GetPointId(i) for i in range(n)]
        return np.asarray(weights) @ vp.result.mesh.points[ids]

    # -- line plot ------------------------------------------------------------------------------
    def open_line_plot(self) -> LinePlotDialog:
        """View > Line plot...: the (non-modal) dialog; made once per window."""
        from physapp.gui.line_plot import LinePlotDialog

        if self.line_dialog is None:
            self.line_dialog = LinePlotDialog(self, self.window)
        self.line_dialog.show()
        self.line_dialog.raise_()
        self.show_line(self.line_dialog.line())
        self.line_dialog.replot()
        return self.line_dialog

    def start_line_pick(self, on: bool) -> None:
        """The next two clicks on the part set the line's start and end."""
        self._line_clicks = []
        if on:
            if self.window.parts.pick_mode:
                self.window.parts.set_pick_mode(False)
            self._pick = "line"
        else:
            self._pick = "probe" if self.probe_mode else None

    def show_line(self, line) -> None:
        """Draw the segment (model coordinates) in the view; None removes it."""
        self.line = None if line is None else (np.asarray(line[0], float),
                                               np.asarray(line[1], float))
        vp = self.viewport
        if vp is None:
            return
        if self.line is None:
            vp.plotter.remove_actor(LINE, render=False)
        else:
            a, b = (self._lifted(p) for p in self.line)
            vp.plotter.add_mesh(pv.Line(a, b), color=LINE_COLOR, line_width=3, name=LINE,
                                pickable=False, render=False, reset_camera=False,
                                lighting=False)
        self.line_changed.emit()
        vp.plotter.render()

"""Flow view options (#17): streamlines and velocity arrows over a flow result.

Shown for results with a vector ``velocity`` field (the flow studies) when the view model's
``streamlines`` / ``glyphs`` flags are on (Display box check boxes). Streamlines start on the
line of View > Line plot when the user chose "Seeds: line plot's line", otherwise on an automatic
line (upstream of the body, or the centre line of a closed cavity; see
:func:`physapp.viz.flow_lines.auto_seed_line`).

Everything here runs on the GUI thread (VTK). Each shown result (a solve, each surrogate frame)
recomputes both in a few tens of milliseconds and writes them into the same two PolyData, so the
actors stay and only the data changes.
"""

from __future__ import annotations

import time

import numpy as np
import pyvista as pv
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from physapp.gui.services import WindowServices
from physapp.viz import flow_lines

STREAMLINES = "flow.streamlines"  # actor names in the viewport's plotter
ARROWS = "flow.arrows"
LINE_COLOR = "#202020"
SEED_AUTO, SEED_LINE = "Automatic", "Line plot's line"
#: a result shown sooner than this after the last drawing (surrogate frames during a slider
#: drag) is drawn once when they pause, so the streamlines do not slow the frames down
THROTTLE_MS = 150


class FlowView(QObject):
    """Streamlines and arrows of one :class:`MainWindow` (see the module docstring)."""

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        self.view = window.app.view
        self.view.events.streamlines.connect(self._on_option)
        self.view.events.glyphs.connect(self._on_option)
        self.seed_mode = SEED_AUTO
        self.viewport = None
        self.lines = pv.PolyData()  # written in place; the actors keep them
        self.arrows = pv.PolyData()
        self.seed_line: tuple[np.ndarray, np.ndarray] | None = None  # the last one used
        self.row: QWidget | None = None
        self.stream_check: QCheckBox | None = None
        self.arrow_check: QCheckBox | None = None
        self.seed_combo: QComboBox | None = None
        self.cp_button: QPushButton | None = None
        self.cp_dialog = None  # physapp.gui.cp_chart.CpChartDialog, made on first use
        self.cp_action = None
        self.last_ms = 0.0  # time the last drawing took
        self._last_done = 0.0  # perf_counter at the end of the last drawing
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(THROTTLE_MS)
        self._timer.timeout.connect(self.refresh)
        window.view_tools.line_changed.connect(self._on_line)

    def add_view_actions(self, menu) -> None:
        """View > Surface Cp chart... (enabled when the shown study has a body surface)."""
        self.cp_action = self.window.actions.add(
            "view.cp_chart", menu, "Surface &Cp chart\u2026", self.open_cp_chart)
        self.cp_action.setToolTip("Pressure coefficient along the body surface against x/c")
        self.cp_action.setEnabled(False)  # until a result with a body surface is shown

    # -- window hooks ---------------------------------------------------------------------------
    def viewport_created(self, vp) -> None:
        self.viewport = vp
        self.lines, self.arrows = pv.PolyData(), pv.PolyData()
        self._timer.stop()
        vp.shown_changed.connect(self._on_shown)
        if self.cp_dialog is not None:  # it showed the previous study
            self.cp_dialog.close()
            self.cp_dialog.deleteLater()
            self.cp_dialog = None

    def _on_shown(self) -> None:
        if self.cp_dialog is not None:
            self.cp_dialog.schedule_replot()
        surface = self.has_surface
        if self.cp_action is not None:
            self.cp_action.setEnabled(surface)
        if self.cp_button is not None:
            self.cp_button.setVisible(surface)
        if not (self.view.streamlines or self.view.glyphs):
            if self._has_actor(STREAMLINES) or self._has_actor(ARROWS):
                self.refresh()
            return
        if (time.perf_counter() - self._last_done) * 1e3 < THROTTLE_MS:
            self._timer.start()  # frames are streaming: draw once they pause
        else:
            self.refresh()

    @property
    def has_surface(self) -> bool:
        """The shown study has a body whose surface Cp can be plotted."""
        from physapp.gui.cp_chart import cp_sources

        return bool(cp_sources(self.window))

    def open_cp_chart(self):
        """View > Surface Cp chart...: the (non-modal) chart; made once per study."""
        from physapp.gui.cp_chart import CpChartDialog

        if self.cp_dialog is None:
            self.cp_dialog = CpChartDialog(self.window, self.window)
        self.cp_dialog.show()
        self.cp_dialog.raise_()
        self.cp_dialog.replot()
        return self.cp_dialog

    def add_display_rows(self, form: QFormLayout) -> None:
        """'Flow: [x] Streamlines [x] Arrows  Seeds: ...' (only for a study with velocity)."""
        self.row = self.stream_check = self.arrow_check = self.seed_combo = None
        self.cp_button = None  # the previous study's widgets are deleted with its panel
        if not any(f.name == flow_lines.VELOCITY for f in self.window.spec.fields):
            return
        self.row = QWidget()
        row = QHBoxLayout(self.row)
        row.setContentsMargins(0, 0, 0, 0)
        self.stream_check = QCheckBox("Streamlines")
        self.stream_check.setToolTip("Streamlines of the velocity field (black lines)")
        self.stream_check.setChecked(self.view.streamlines)
        self.stream_check.toggled.connect(lambda on: setattr(self.view, "streamlines", on))
        self.arrow_check = QCheckBox("Arrows")
        self.arrow_check.setToolTip("Velocity arrows on an even grid; the longest is one grid "
                                    "spacing long")
        self.arrow_check.setChecked(self.view.glyphs)
        self.arrow_check.toggled.connect(lambda on: setattr(self.view, "glyphs", on))
        self.seed_combo = QComboBox()
        self.seed_combo.addItems([SEED_AUTO, SEED_LINE])
        self.seed_combo.setCurrentText(self.seed_mode)
        self.seed_combo.setToolTip(
            "Where streamlines start: automatic (across the flow upstream of the body, or the "
            "centre line of a cavity), or the line of View > Line plot (Ctrl+L): place it by "
            "two clicks or type its ends")
        self.seed_combo.currentTextChanged.connect(self.set_seed_mode)
        row.addWidget(self.stream_check)
        row.addWidget(self.arrow_check)
        row.addWidget(self.seed_combo, 1)
        form.addRow("Flow", self.row)
        if any(f.name == "pressure_coefficient" for f in self.window.spec.fields):
            # shown once a result with a body surface is on screen (airfoil, cylinder)
            self.cp_button = QPushButton("Surface Cp chart\u2026")
            self.cp_button.setToolTip("Cp against x/c on the upper and lower surface, reference "
                                      "and surrogate; export as CSV")
            self.cp_button.clicked.connect(self.open_cp_chart)
            form.addRow("", self.cp_button)
            self.cp_button.setVisible(self.has_surface)

    # -- options --------------------------------------------------------------------------------
    def set_seed_mode(self, mode: str) -> None:
        """``SEED_AUTO`` or ``SEED_LINE`` (opens the line plot when there is no line yet)."""
        self.seed_mode = mode
        if self.seed_combo is not None and self.seed_combo.currentText() != mode:
            self.seed_combo.setCurrentText(mode)
        if mode == SEED_LINE and self.window.view_tools.line is None:
            self.window.view_tools.open_line_plot()  # its default line seeds until one is placed
            self.window.show_message("Streamlines start on the line plot's line: click two "
                                     "points in the view or type its ends.", "info", "flow")
        self.refresh()

    def _on_option(self, *_args) -> None:
        for check, on in ((self.stream_check, self.view.streamlines),
                          (self.arrow_check, self.view.glyphs)):
            if check is not None and check.isChecked() != on:
                check.blockSignals(True)
                check.setChecked(on)
                check.blockSignals(False)
        self.refresh()

    def _on_line(self) -> None:
        if self.seed_mode == SEED_LINE and self.viewport is self.window.viewport:
            self.refresh()

    def figure_view(self) -> dict:
        """What an exported figure needs to draw the same streamlines and arrows (plain data
        for :mod:`physapp.viz.figure`)."""
        vp = self.viewport
        focus = None if vp is None or vp.focus is None else [list(map(float, p))
                                                             for p in vp.focus]
        line = self.window.view_tools.line if self.seed_mode == SEED_LINE else None
        return {"streamlines": self.view.streamlines, "glyphs": self.view.glyphs,
                "seed_line": None if line is None else [list(map(float, p)) for p in line],
                "focus": focus}

    # -- drawing (GUI thread) -------------------------------------------------------------------
    @property
    def available(self) -> bool:
        vp = self.viewport
        return vp is not None and vp.has_field and flow_lines.has_velocity(vp.result)

    @property
    def shows_streamlines(self) -> bool:
        return self._has_actor(STREAMLINES) and self.lines.n_points > 0

    @property
    def shows_arrows(self) -> bool:
        return self._has_actor(ARROWS) and self.arrows.n_points > 0

    def _has_actor(self, name: str) -> bool:
        return self.viewport is not None and name in self.viewport.plotter.actors

    def refresh(self) -> None:
        self._timer.stop()
        vp = self.viewport
        if vp is None:
            return
        t0 = time.perf_counter()
        want_lines = self.view.streamlines and self.available
        want_arrows = self.view.glyphs and self.available
        changed = False
        for name, want in ((STREAMLINES, want_lines), (ARROWS, want_arrows)):
            if not want and self._has_actor(name):
                vp.plotter.remove_actor(name, render=False)
                changed = True
        if want_lines or want_arrows:
            grid = flow_lines.velocity_grid(vp.result)
            lift = np.array([0.0, 0.0, 2e-3 * float(np.linalg.norm(
                np.subtract(grid.bounds[1::2], grid.bounds[0::2])))])
            if want_lines:
                line = self.window.view_tools.line if self.seed_mode == SEED_LINE else None
                self.seed_line = line if line is not None else flow_lines.auto_seed_line(grid)
                self._put(STREAMLINES, self.lines, flow_lines.streamlines(grid, self.seed_line),
                          lift, line_width=1.0)
            if want_arrows:
                # over the framed body of a far field (viewport.focus), else the domain
                self._put(ARROWS, self.arrows, flow_lines.arrows(grid, vp.focus), lift)
            changed = True
            self._last_done = time.perf_counter()
            self.last_ms = (self._last_done - t0) * 1e3
        if changed:
            widget = vp.plotter.interactor
            if widget.isVisible():
                widget.update()  # one paint, shared with the frame that triggered this
            else:
                vp.plotter.render()

    def _put(self, name: str, target: pv.PolyData, new: pv.PolyData, lift: np.ndarray,
             **style) -> None:
        """Write ``new`` into ``target`` (the actor's data) lifted above the field's plane."""
        if new.n_points:
            new = new.copy(deep=False)
            new.points = np.asarray(new.points) + lift
        target.copy_from(new)
        if not self._has_actor(name):
            self.viewport.plotter.add_mesh(
                target, color=LINE_COLOR, name=name, pickable=False, render=False,
                reset_camera=False, lighting=False, **style)

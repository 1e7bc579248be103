"""The line plot: a field along a segment of the part, reference and surrogate on one chart.

The segment is typed (model coordinates in display units, e.g. mm) or picked with two clicks on
the model. Sampling is :func:`physapp.viz.probe.sample_line` (numpy, barycentric in the cells;
NaN outside the part, which leaves gaps in the curves). The plotted numbers can be saved as CSV.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
from matplotlib.figure import Figure
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from physapp.core.results import FieldResult
from physapp.gui.csv_export import export_csv_dialog, write_rows
from physapp.gui.plot_style import REFERENCE_COLOR, SURROGATE_COLOR  # noqa: F401 - importers
from physapp.viz.grids import display_unit, field_display_unit
from physapp.viz.probe import line_points

if TYPE_CHECKING:
    from physapp.gui.view_tools import ViewTools


@dataclass(frozen=True)
class Curve:
    """One sampled result: legend ``label`` and values in display units (NaN outside)."""

    label: str
    values: np.ndarray
    color: str


class LinePlotDialog(QDialog):
    """Non-modal: stays open while the sliders move; with 'Follow updates' the curves are
    sampled again shortly after the shown result changes."""

    def __init__(self, tools: ViewTools, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tools = tools
        self.window_ = tools.window
        self.setWindowTitle("Line plot")
        self.resize(760, 560)
        self.distance = np.zeros(0)  # display length units
        self.points = np.zeros((0, 3))  # display length units
        self.curves: list[Curve] = []
        self.last_csv: Path | None = None

        col = QVBoxLayout(self)
        grid = QGridLayout()
        self.length_factor, self.length_unit = display_unit(self._mesh_unit())
        self.start_boxes = [self._coord_box() for _ in range(3)]
        self.end_boxes = [self._coord_box() for _ in range(3)]
        for j, axis in enumerate("xyz"):
            grid.addWidget(QLabel(f"{axis} [{self.length_unit}]"), 0, j + 1,
                           Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(QLabel("Start"), 1, 0)
        grid.addWidget(QLabel("End"), 2, 0)
        for j in range(3):
            grid.addWidget(self.start_boxes[j], 1, j + 1)
            grid.addWidget(self.end_boxes[j], 2, j + 1)
        self.pick_button = QPushButton("Pick 2 points")
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip("Click the start, then the end of the line on the model")
        self.pick_button.toggled.connect(self._on_pick_toggled)
        grid.addWidget(self.pick_button, 1, 4)
        self.pick_hint = QLabel("")
        self.pick_hint.setStyleSheet("color: #c05600;")
        grid.addWidget(self.pick_hint, 2, 4)
        col.addLayout(grid)

        row = QHBoxLayout()
        row.addWidget(QLabel("Field"))
        self.field_combo = QComboBox()
        for f in self.window_.spec.fields:
            self.field_combo.addItem(f.label, f.name)
        current = self.field_combo.findData(self.window_.field[0])
        self.field_combo.setCurrentIndex(max(current, 0))
        self.field_combo.currentIndexChanged.connect(self.replot)
        row.addWidget(self.field_combo, 1)
        row.addWidget(QLabel("Samples"))
        self.samples = QSpinBox()
        self.samples.setRange(2, 5000)
        self.samples.setValue(200)
        self.samples.valueChanged.connect(self.replot)
        row.addWidget(self.samples)
        self.follow = QCheckBox("Follow updates")
        self.follow.setChecked(True)
        self.follow.setToolTip("Sample again when the shown result changes (after a short pause "
                               "while sliders move)")
        row.addWidget(self.follow)
        col.addLayout(row)

        self.figure = Figure(figsize=(7, 4), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.axes = self.figure.add_subplot(111)
        col.addWidget(NavigationToolbar2QT(self.canvas, self))
        col.addWidget(self.canvas, 1)

        bottom = QHBoxLayout()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        bottom.addWidget(self.status, 1)
        self.export_button = QPushButton("Export CSV\u2026")
        self.export_button.clicked.connect(self._export_dialog)
        bottom.addWidget(self.export_button)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        bottom.addWidget(close)
        col.addLayout(bottom)

        self._timer = QTimer(self)  # follow updates: one replot after changes stop for a moment
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.replot)
        self._default_line()
        for box in (*self.start_boxes, *self.end_boxes):
            box.valueChanged.connect(self._on_coords_edited)

    # -- public ---------------------------------------------------------------------------------
    def set_line(self, start, end) -> None:
        """Set the segment (model coordinates, SI) and plot."""
        for boxes, p in ((self.start_boxes, start), (self.end_boxes, end)):
            for box, v in zip(boxes, p, strict=False):
                box.blockSignals(True)
                box.setValue(float(v) * self.length_factor)
                box.blockSignals(False)
        self.tools.show_line(self.line())
        self.replot()

    def line(self) -> tuple[np.ndarray, np.ndarray]:
        """The segment in model coordinates (SI)."""
        a = np.array([b.value() for b in self.start_boxes]) / self.length_factor
        b = np.array([b.value() for b in self.end_boxes]) / self.length_factor
        return a, b

    def field_name(self) -> str:
        return self.field_combo.currentData()

    def sources(self) -> list[tuple[str, FieldResult, str]]:
        """(legend, result, colour) of what is plotted: the reference result and the last
        surrogate prediction, whichever exist."""
        out = []
        w = self.window_
        if w.result is not None:
            out.append(("Reference (FE solve)", w.result, REFERENCE_COLOR))
        p = w.surrogates.last_prediction
        if p is not None:
            current = w.surrogates.current
            kind = current.kind if current is not None else Path(str(p.key)).stem
            out.append((f"Surrogate ({kind})", p.result, SURROGATE_COLOR))
        return out

    def replot(self) -> None:
        """Sample every source along the line and draw the chart."""
        self._timer.stop()
        a, b = self.line()
        spec = self.window_.spec.field_spec(self.field_name())
        sources = self.sources()
        # one unit for all curves: the first source's (the reference solve's) magnitude picks it
        factor, unit = (field_display_unit(sources[0][1], spec.name, spec.unit) if sources
                        else display_unit(spec.unit))
        self.unit = unit
        pts, dist = line_points(a, b, self.samples.value())
        self.distance = dist * self.length_factor
        self.points = pts * self.length_factor
        self.curves = []
        notes = []
        for label, result, color in sources:
            base = spec.name.partition("[")[0]
            if base not in result.point_data:
                notes.append(f"{label} has no {spec.label}.")
                continue
            loc = self.tools.locator(result.mesh).locate(pts)
            self.curves.append(Curve(label, loc.scalar(result, spec.name) * factor, color))
        ax = self.axes
        ax.clear()
        for i, c in enumerate(self.curves):  # the surrogate dashed over the reference:
            # both stay visible where they agree
            ax.plot(self.distance, c.values, color=c.color, label=c.label,
                    lw=2.6 if i == 0 else 1.6, ls="-" if i == 0 else (0, (5, 3)))
        ax.set_xlabel(f"Distance along the line [{self.length_unit}]")
        ax.set_ylabel(f"{spec.label} [{unit}]" if unit else spec.label)
        ax.grid(True, color="#dddddd")
        s = "({})".format(", ".join(f"{v:.4g}" for v in self.points[0]))
        e = "({})".format(", ".join(f"{v:.4g}" for v in self.points[-1]))
        ax.set_title(f"{s} \u2192 {e} {self.length_unit}", fontsize=9)
        if self.curves:
            ax.legend(loc="best", fontsize=9)
            outside = np.isnan(self.curves[0].values).mean()
            if outside == 1.0:
                notes.append("The line does not cross the part.")
            elif outside > 0:
                notes.append(f"{outside:.0%} of the line is outside the part (gaps).")
        if len(self.curves) == 2:
            diff = np.abs(self.curves[1].values - self.curves[0].values)
            if np.isfinite(diff).any():
                notes.append(f"Largest surrogate − reference difference on the line: "
                             f"{np.nanmax(diff):.3g} {unit}.".replace(" .", "."))
        else:
            notes.append("No result yet: solve (F5) or choose a surrogate.")
        self.status.setText(" ".join(notes))
        self.canvas.draw_idle()

    def schedule_replot(self) -> None:
        """The shown result changed: replot soon (once, however many frames come meanwhile)."""
        if self.isVisible() and self.follow.isChecked():
            self._timer.start()

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Write the plotted numbers (distance, x, y, z, one column per curve; empty = outside)
        to ``path``: a temporary file in the same folder, then renamed over it."""
        spec = self.window_.spec.field_spec(self.field_name())
        unit = getattr(self, "unit", None) or display_unit(spec.unit)[1]
        lu = self.length_unit
        header = [f"distance [{lu}]", f"x [{lu}]", f"y [{lu}]", f"z [{lu}]"]
        header += [f"{c.label}: {spec.label} [{unit}]" for c in self.curves]
        rows: list[list] = [header]
        for i in range(len(self.distance)):
            row = [self.distance[i], *self.points[i]]
            row += [c.values[i] for c in self.curves]
            rows.append(["" if np.isnan(v) else f"{v:.9g}" for v in row])
        self.last_csv = write_rows(path, rows)
        return self.last_csv

    # -- internals ------------------------------------------------------------------------------
    def _mesh_unit(self) -> str:
        vp = self.window_.viewport
        if vp.result is not None:
            return vp.result.mesh.length_unit
        return self.window_.result.mesh.length_unit if self.window_.result is not None else "m"

    def _coord_box(self) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(-1e9, 1e9)
        box.setDecimals(3)
        box.setKeyboardTracking(False)  # plot when the number is finished, not per digit
        return box

    def _default_line(self) -> None:
        """Across the whole part along its longest side, through the probed point or else the
        node nearest to the middle of the bounding box (so the line meets the part)."""
        vp = self.window_.viewport
        mesh = vp.result.mesh if vp.result is not None else (
            self.window_.result.mesh if self.window_.result is not None else None)
        if mesh is None:
            return
        lo, hi = mesh.bounds()
        anchor = self.tools.probe_point
        if anchor is None:
            anchor = mesh.points[np.argmin(((mesh.points - (lo + hi) / 2) ** 2).sum(axis=1))]
        axis = int(np.argmax(hi - lo))
        a, b = np.array(anchor, dtype=float), np.array(anchor, dtype=float)
        a[axis], b[axis] = lo[axis], hi[axis]
        self.set_line(a, b)

    def _on_coords_edited(self) -> None:
        self.tools.show_line(self.line())
        self.replot()

    def _on_pick_toggled(self, on: bool) -> None:
        self.tools.start_line_pick(on)
        self.pick_hint.setText("Click the start point on the model" if on else "")

    def picked(self, n_points: int) -> None:
        """Called by the view tools after each click of a line pick."""
        if n_points == 1:
            self.pick_hint.setText("Now click the end point")
        else:
            self.pick_hint.setText("")
            self.pick_button.blockSignals(True)
            self.pick_button.setChecked(False)
            self.pick_button.blockSignals(False)

    def _export_dialog(self) -> None:
        name = f"{self.field_name().replace('[', '_').replace(']', '')}_line.csv"
        export_csv_dialog(self, "Export line data", name)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._timer.stop()
        self.tools.start_line_pick(False)
        self.tools.show_line(None)
        super().closeEvent(event)

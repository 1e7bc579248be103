"""The surface pressure-coefficient chart (#17): Cp against x/c on the upper and lower surface,
-Cp upwards as aerodynamicists plot it, reference and surrogate on one chart with the
surrogate's +-2 standard deviation band; the plotted numbers export as CSV.

Curves come from :mod:`physapp.viz.surface_curve`: the solver's own ``meta["curves"]["cp"]``
for the reference, the predicted field at the body's nodes for a surrogate.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from physapp.core.results import FieldResult
from physapp.gui.csv_export import export_csv_dialog, write_rows
from physapp.gui.plot_style import REFERENCE_COLOR, SURROGATE_COLOR
from physapp.gui.services import WindowServices
from physapp.viz.surface_curve import has_surface, reference_curve, surface_curve

BAND_SIGMA = 2.0  # the band is mean +- this many standard deviations (about 95 %)


@dataclass(frozen=True)
class CpCurve:
    """One source's surface: legend label, colour and per side x/c, Cp and std (or None)."""

    label: str
    color: str
    sides: dict  # "upper"|"lower" -> {"x", "value", "std"}


def cp_sources(window: WindowServices) -> list[tuple[str, FieldResult, str, bool]]:
    """(legend, result, colour, is_reference) of what can be plotted now: the reference solve
    and the last surrogate prediction of the open study, whichever exist."""
    out = []
    if has_surface(window.result):
        out.append(("Reference (FE solve)", window.result, REFERENCE_COLOR, True))
    s = window.surrogates
    p = s.last_prediction
    if p is not None and has_surface(p.result) and p.result.meta.get(
            "study", window.model.study_id) == window.model.study_id:
        kind = s.current.kind if s.current is not None else Path(str(p.key)).stem
        out.append((f"Surrogate ({kind})", p.result, SURROGATE_COLOR, False))
    return out


class CpChartDialog(QDialog):
    """Non-modal; follows the shown results (a solve, surrogate frames) after a short pause."""

    def __init__(self, window: WindowServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_ = window
        self.setWindowTitle("Surface pressure coefficient")
        self.resize(760, 520)
        self.curves: list[CpCurve] = []
        self.last_csv: Path | None = None
        col = QVBoxLayout(self)
        # matplotlib when the chart opens: cp_sources() decides at every study's first view
        # whether it is offered (importing it then stalled the GUI thread ~100 ms, #13)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg, NavigationToolbar2QT
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(7, 4), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.axes = self.figure.add_subplot(111)
        col.addWidget(NavigationToolbar2QT(self.canvas, self))
        col.addWidget(self.canvas, 1)
        bottom = QHBoxLayout()
        self.follow = QCheckBox("Follow updates")
        self.follow.setChecked(True)
        self.follow.setToolTip("Plot again when the shown result changes")
        bottom.addWidget(self.follow)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        bottom.addWidget(self.status, 1)
        self.export_button = QPushButton("Export CSV\u2026")
        self.export_button.setToolTip("Save x/c and Cp of every plotted curve")
        self.export_button.clicked.connect(self._export_dialog)
        bottom.addWidget(self.export_button)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        bottom.addWidget(close)
        col.addLayout(bottom)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.replot)

    def schedule_replot(self) -> None:
        if self.isVisible() and self.follow.isChecked():
            self._timer.start()

    def replot(self) -> None:
        self._timer.stop()
        self.curves = []
        for label, result, color, is_ref in cp_sources(self.window_):
            sides = reference_curve(result) if is_ref else surface_curve(result)
            self.curves.append(CpCurve(label, color, sides))
        ax = self.axes
        ax.clear()
        for i, c in enumerate(self.curves):
            for side, ls in (("upper", "-"), ("lower", (0, (5, 3)))):
                s = c.sides[side]
                ax.plot(s["x"], -s["value"], color=c.color, ls=ls, lw=2.2 if i == 0 else 1.5,
                        label=f"{c.label}, {side} surface")
                if s["std"] is not None:
                    ax.fill_between(s["x"], -s["value"] - BAND_SIGMA * s["std"],
                                    -s["value"] + BAND_SIGMA * s["std"], color=c.color,
                                    alpha=0.18, lw=0,
                                    label=f"{c.label} \u00b12\u03c3" if side == "upper" else None)
        ax.axhline(0.0, color="#999999", lw=0.8)
        ax.set_xlabel("x/c  (from the leading edge; c = chord, the body's length in x)")
        ax.set_ylabel("\u2212Cp  (suction up)")
        ax.grid(True, color="#dddddd")
        ax.set_xlim(-0.02, 1.02)
        p = self.window_.model.params
        ax.set_title(textwrap.fill(self._title(p), 110), fontsize=8)
        if self.curves:
            ax.legend(loc="best", fontsize=8)
            self.status.setText(self._summary())
        else:
            self.status.setText("No result with a surface yet: solve (F5) or choose a "
                                "surrogate.")
        self.canvas.draw_idle()

    def _title(self, params: dict) -> str:
        spec = self.window_.spec
        parts = []
        for pspec in spec.parameters:
            if pspec.discretization or pspec.name not in params:
                continue
            v = params[pspec.name]
            shown = pspec.choice(v) if pspec.choices else f"{v * pspec.scale:.3g}"
            parts.append(f"{pspec.label} {shown} {pspec.shown_unit}".strip())
        return ", ".join(parts)

    def _summary(self) -> str:
        ref = self.curves[0].sides
        lo = min(float(np.min(ref[s]["value"])) for s in ("upper", "lower"))
        text = f"Lowest Cp (suction peak) {lo:.3g}."
        if len(self.curves) == 2:
            sur = self.curves[1].sides
            diff = max(float(np.max(np.abs(np.interp(sur[s]["x"], *_increasing(ref[s]))
                                           - sur[s]["value"]))) for s in ("upper", "lower"))
            text += f" Largest surrogate \u2212 reference difference: {diff:.3g}."
        return text

    def export_csv(self, path: str | os.PathLike) -> Path:
        """Rows of (curve, surface, x/c, Cp, Cp std) for every plotted curve; written to a
        temporary file in the same folder, then renamed over ``path``."""
        rows: list[list[str]] = [["curve", "surface", "x/c", "Cp", "Cp std"]]
        for c in self.curves:
            for side in ("upper", "lower"):
                s = c.sides[side]
                std = s["std"] if s["std"] is not None else [None] * len(s["x"])
                rows += [[c.label, side, f"{x:.9g}", f"{v:.9g}", "" if e is None else f"{e:.9g}"]
                         for x, v, e in zip(s["x"], s["value"], std, strict=True)]
        self.last_csv = write_rows(path, rows)
        return self.last_csv

    def _export_dialog(self) -> None:
        export_csv_dialog(self, "Export the Cp curve", "cp.csv")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._timer.stop()
        super().closeEvent(event)


def _increasing(side: dict) -> tuple[np.ndarray, np.ndarray]:
    """x, value sorted by x (np.interp needs increasing x)."""
    order = np.argsort(side["x"], kind="stable")
    return np.asarray(side["x"])[order], np.asarray(side["value"])[order]

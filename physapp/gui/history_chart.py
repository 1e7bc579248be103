"""Curves over time of the history on screen (#18): key quantities (the solver's curves: peak
temperature, a probe point's temperature, heat to the air; drag and lift) and the history of the
probed point, with a marker at the step shown and CSV export of what is plotted.

A dock on the right, shown when a history is on screen. The probe series follows the View >
Probe point (``ViewTools.probe_changed``): the shown field interpolated at the probe's cell
nodes over every step (one read of d + 1 nodes per step, from the file for a lazy history).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from physapp.core.history import FieldHistory
from physapp.core.labels import key_label, pretty_unit
from physapp.gui.playback import step_axis
from physapp.io.history_export import curve_rows

#: while playing, the time marker moves at most this often (it is blitted: a few ms, #18)
MARKER_INTERVAL_S = 0.25
PROBE_ITEM = "__probe__"


def probe_history(history: FieldHistory, name: str, nodes: np.ndarray,
                  weights: np.ndarray) -> np.ndarray:
    """Field ``name`` (``base[i]`` a component; vectors by magnitude of the interpolated
    vector) at a point with cell ``nodes`` and barycentric ``weights``, over every step."""
    base, _, idx = name.partition("[")
    arr = history.point_data[base]
    order = np.argsort(nodes)
    sorted_nodes = np.asarray(nodes)[order]
    values = np.asarray(arr[0: history.n_steps, sorted_nodes], dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)[order]
    if values.ndim == 2:
        return values @ w
    v = np.einsum("snk,n->sk", values, w)
    return v[:, int(idx.rstrip("]"))] if idx else np.linalg.norm(v, axis=1)


class HistoryChart(QDockWidget):
    """The "Over time" dock (see the module docstring)."""

    def __init__(self, window, playback) -> None:
        super().__init__("Over time", window)
        self.setObjectName("history_dock")
        self.window_ = window
        self.playback = playback
        self.history: FieldHistory | None = None
        self.probe: tuple[str, np.ndarray, str] | None = None  # label, values, unit
        self.last_csv: Path | None = None
        self._marker_t = 0.0
        self._marker_late = False
        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(4, 2, 4, 4)
        row = QHBoxLayout()
        self.curve_combo = QComboBox()
        self.curve_combo.setToolTip("Quantity plotted against time")
        self.curve_combo.currentIndexChanged.connect(lambda _i: self.redraw())
        self.csv_button = QPushButton("Export CSV\u2026")
        self.csv_button.setToolTip("Every curve over time (and the probe's history) as CSV")
        self.csv_button.clicked.connect(self._export_dialog)
        row.addWidget(self.curve_combo, 1)
        row.addWidget(self.csv_button)
        col.addLayout(row)
        self._col = col
        self.figure = self.canvas = self.axes = None  # matplotlib on first use (start-up time)
        self.note = QLabel()
        self.note.setWordWrap(True)
        col.addWidget(self.note)
        self.setWidget(body)
        self.marker = None
        #: a second history whose curve is drawn over this one's, with their difference
        #: against time below (a predicted history and the solve of the same design)
        self.overlay: FieldHistory | None = None
        self.error_axes = None
        self.error: tuple[np.ndarray, np.ndarray] | None = None  # (times, S - R) plotted
        #: (field label, times, relative L2 error) of the overlay's field, drawn with the error
        self.field_error: tuple[str, np.ndarray, np.ndarray] | None = None
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self)
        self.hide()
        playback.history_changed.connect(self.set_history)
        playback.step_shown.connect(self._on_step)
        playback.model.events.playing.connect(self._on_playing)
        window.view_tools.probe_changed.connect(self.update_probe)
        window.app.view.events.field.connect(lambda *_: self.update_probe())

    # -- content ------------------------------------------------------------------------------
    def set_history(self, history: FieldHistory | None) -> None:
        self.history = history
        self.overlay = None  # set again by whoever compares (gui.history_prediction)
        self.field_error = None
        self.probe = None
        current = self.curve_combo.currentData()
        self.curve_combo.blockSignals(True)
        self.curve_combo.clear()
        if history is not None:
            order = list(history.curves)
            axis = getattr(self.window_.model.study, "transient", None)
            preferred = [c for c in getattr(axis, "curves", ()) if c in history.curves]
            for name in preferred + [c for c in order if c not in preferred]:
                unit = pretty_unit(history.curve_units.get(name, ""))
                self.curve_combo.addItem(f"{key_label(name)} ({unit})" if unit
                                         else key_label(name), name)
            i = self.curve_combo.findData(current)
            self.curve_combo.setCurrentIndex(max(i, 0))
        self.curve_combo.blockSignals(False)
        self.setVisible(history is not None)
        if history is not None:
            self.update_probe()
            self.note.setText("" if history.complete else
                              f"Stopped early ({history.meta.get('stopped') or 'cut short'}): "
                              f"{history.n_steps} steps kept.")
        self.redraw()

    def update_probe(self) -> None:
        """The probe's history of the shown field (none when no point is probed)."""
        h, tools = self.history, self.window_.view_tools
        loc = tools.probe_location
        if h is None or loc is None or not tools.probe_mode:
            had = self.probe is not None
            self.probe = None
            if had:
                self._select_probe(False)
            return
        name, label, unit = self.window_.field
        base = name.partition("[")[0]
        if base not in h.point_data or loc.nodes.shape[0] != 1 or \
                int(loc.nodes.max()) >= h.mesh.n_points:
            return
        values = probe_history(h, name, loc.nodes[0], loc.weights[0])
        p = tools.probe_point
        where = ", ".join(f"{x:.4g}" for x in (p if p is not None else ()))
        self.probe = (f"{label} at ({where})", values, pretty_unit(unit))
        self._select_probe(True)

    def _select_probe(self, on: bool) -> None:
        i = self.curve_combo.findData(PROBE_ITEM)
        self.curve_combo.blockSignals(True)
        if on and i < 0:
            self.curve_combo.addItem("Probe point", PROBE_ITEM)
            i = self.curve_combo.count() - 1
        if on:
            self.curve_combo.setCurrentIndex(i)
        elif i >= 0:
            self.curve_combo.removeItem(i)
        self.curve_combo.blockSignals(False)
        self.redraw()

    def series(self) -> tuple[str, np.ndarray, str] | None:
        """(label, values, unit) of what is plotted, or None."""
        h = self.history
        key = self.curve_combo.currentData()
        if h is None or key is None:
            return None
        if key == PROBE_ITEM:
            return self.probe
        return key_label(key), np.asarray(h.curves[key]), pretty_unit(h.curve_units.get(key, ""))

    def _ensure_canvas(self) -> None:
        if self.canvas is not None:
            return
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(4, 2.6), layout="constrained")
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.axes = self.figure.add_subplot(111)
        self._col.insertWidget(1, self.canvas, 1)
        self._background = None  # the figure without the marker, for blitting
        self.canvas.mpl_connect("draw_event", self._on_draw)

    def _on_draw(self, _event) -> None:
        """A full draw (the marker is animated, so not in it): keep the image to blit the
        marker onto, and draw the marker into this frame."""
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        if self.marker is not None:
            self.marker.axes.draw_artist(self.marker)

    def redraw(self) -> None:
        if self.history is None and self.canvas is None:
            return  # nothing to plot: matplotlib is not needed yet
        self._ensure_canvas()
        from physapp.gui.line_plot import REFERENCE_COLOR, SURROGATE_COLOR

        s, h = self.series(), self.history
        tf, t_unit = step_axis(h)  # the step axis in mm like other lengths (#13)
        t_text = "" if h is None else (f"{h.time_label} ({t_unit})" if t_unit else h.time_label)
        key = self.curve_combo.currentData()
        ov = self.overlay if (self.overlay is not None and h is not None
                              and key in self.overlay.curves) else None
        self.figure.clear()  # one axes, or the curves over their difference (an overlay)
        self.axes = ax = self.figure.add_subplot(211 if ov is not None else 111)
        self.error_axes = (self.figure.add_subplot(212, sharex=ax) if ov is not None else None)
        self.error = None
        self.marker = None
        if s is not None and h is not None:
            label, values, unit = s
            color = SURROGATE_COLOR if h.source.startswith("surrogate") else REFERENCE_COLOR
            ax.plot(np.asarray(h.times) * tf, values, color=color, lw=1.5,
                    label="surrogate" if h.source.startswith("surrogate") else "solver")
            for hist, c in ((h, color), (ov, None)):  # predicted curves: the +-2 std band
                std = (hist.meta.get("curve_std") or {}).get(key) if hist is not None else None
                if std is not None:
                    v = np.asarray(hist.curves[key])
                    ax.fill_between(np.asarray(hist.times) * tf, v - 2 * np.asarray(std),
                                    v + 2 * np.asarray(std),
                                    color=c or SURROGATE_COLOR, alpha=0.2, lw=0,
                                    label="±2 std")
            if ov is not None:
                sur = ov.source.startswith("surrogate")
                ax.plot(np.asarray(ov.times) * tf, ov.curves[key], lw=1.5, ls="--",
                        color=SURROGATE_COLOR if sur else REFERENCE_COLOR,
                        label="surrogate" if sur else "solver")
                pred, ref = (ov, h) if sur else (h, ov)
                err = np.interp(ref.times, pred.times, pred.curves[key]) - ref.curves[key]
                self.error = (np.asarray(ref.times), err)
                ea = self.error_axes
                ea.plot(np.asarray(ref.times) * tf, err, color="#a01010", lw=1.2)
                ea.axhline(0.0, color="0.5", lw=0.8)
                ea.set_ylabel(f"S \u2212 R ({unit})" if unit else "S \u2212 R")
                ea.set_xlabel(t_text)
                ea.grid(True, alpha=0.3)
                if self.field_error is not None:  # the field's error on a second scale
                    name, ft, fe = self.field_error
                    ea2 = ea.twinx()
                    ea2.plot(np.asarray(ft) * tf, 100.0 * np.asarray(fe), color="0.35", ls=":", marker=".",
                             lw=1.0)
                    ea2.set_ylabel(f"{name} rel. L2 (%)", fontsize="small")
                ax.legend(fontsize="small")
            else:
                ax.set_xlabel(t_text)
            ax.set_ylabel(f"{label} ({unit})" if unit else label)
            ax.grid(True, alpha=0.3)
            from matplotlib.ticker import MaxNLocator

            for a in (ax, self.error_axes):  # long tick labels (metres) must not run together
                if a is not None:
                    a.xaxis.set_major_locator(MaxNLocator(4))
            step = min(self.playback.model.step, h.n_steps - 1)
            self.marker = ax.axvline(h.times[step] * tf, color="0.3", lw=1, ls="--",
                                     animated=True)  # moved by blitting (see _on_step)
        self._background = None
        self.canvas.draw_idle()

    def _on_step(self, step: int) -> None:
        if self.marker is None or self.history is None or not self.isVisible():
            return
        now = time.perf_counter()
        if self.playback.model.playing and now - self._marker_t < MARKER_INTERVAL_S:
            self._marker_late = True  # placed when playing stops
            return
        self._marker_t = now
        t = float(self.history.times[step]) * step_axis(self.history)[0]
        self.marker.set_xdata([t, t])
        if self._background is None:  # not drawn yet: the full draw places it
            self.canvas.draw_idle()
            return
        # the marker alone on the kept image: a few ms, where a full draw of the figure (its
        # constrained layout) costs ~90 ms of CPU and stalled slider drags and playback (#18).
        # A paint request, not blit(): blit paints at once, and that paint also renders the 3D
        # view's pending frame, which was then rendered twice
        self.canvas.restore_region(self._background)
        self.marker.axes.draw_artist(self.marker)
        self.canvas.update()

    def _on_playing(self, on: bool, _old: bool = False) -> None:
        if not on and self._marker_late and self.history is not None:
            self._marker_late = False
            self._marker_t = 0.0
            self._on_step(min(self.playback.model.step, self.history.n_steps - 1))

    # -- CSV ----------------------------------------------------------------------------------
    def rows(self) -> list[list]:
        """Every curve over time, plus the probe's history when a point is probed."""
        rows = curve_rows(self.history)
        if self.probe is not None:
            label, values, unit = self.probe
            rows[0].append(f"probe {label} ({unit})" if unit else f"probe {label}")
            for r, v in zip(rows[1:], values, strict=False):
                r.append(float(v))
        return rows

    def export_csv(self, path: str | Path) -> Path:
        from physapp.io.export import write_csv

        self.last_csv = write_csv(self.rows(), path)
        return self.last_csv

    def _export_dialog(self) -> None:
        if self.history is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export curves over time",
                                              "curves.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except Exception as exc:  # noqa: BLE001 - a PhysappError says why
                self.window_.show_message(str(exc), "error", "export")
                return
            self.window_.statusBar().showMessage(f"Wrote {path}", 5000)

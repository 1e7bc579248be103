"""The colour range of every view (#13): automatic, typed (fixed min / max) or locked at the
range shown now; round tick values on the colour bar with their labels clear of it.

The range lives in the model (``app.view.clim``, display units, None = automatic): the main
viewport, the split view's panes, playback and exports read it. A locked or typed range stays
while sliders move, solves arrive or surrogate frames stream, so the picture changes, not only
the numbers; choosing another field goes back to automatic (a range belongs to one field).
A typed minimum that is not below the maximum is refused with a message at the fields.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)
from vtkmodules.vtkCommonCore import vtkDoubleArray

from physapp.gui.binding import subscribe
from physapp.viz.fonts import use_unicode_font
from physapp.viz.ticks import nice_ticks, tick_format

MODES = (("auto", "Automatic"), ("fixed", "Fixed (typed)"), ("locked", "Locked at current"))
ERROR_STYLE = "color: #b00;"
TEXT_PAD = 6  # pixels between the colour bar and its labels


def apply_ticks(scalar_bar, clim: tuple[float, float]) -> None:
    """Round tick values on ``scalar_bar`` (a vtkScalarBarActor) for ``clim``, clear of it."""
    lo, hi = float(clim[0]), float(clim[1])
    ticks = nice_ticks(lo, hi)
    labels = vtkDoubleArray()
    for t in ticks:
        labels.InsertNextValue(float(t))
    scalar_bar.SetUseCustomLabels(True)
    scalar_bar.SetCustomLabels(labels)
    scalar_bar.SetLabelFormat(tick_format(ticks))
    scalar_bar.SetTextPad(TEXT_PAD)
    # σθ, °C: VTK's Arial has no Greek letters (:mod:`physapp.viz.fonts`)
    use_unicode_font(scalar_bar.GetTitleTextProperty(), scalar_bar.GetLabelTextProperty())


def _fmt(v: float) -> str:
    return f"{v:.4g}"


class ColorRangeControl:
    """"Colour range" in the Display box, bound to ``window.app.view.clim``."""

    def __init__(self, window) -> None:
        self.window = window
        self.view = window.app.view
        self.mode = "auto"
        self.combo: QComboBox | None = None
        self.min_edit = self.max_edit = None
        self.error_label: QLabel | None = None

    # -- the row ---------------------------------------------------------------------------------
    def add_display_row(self, form: QFormLayout) -> None:
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.combo = QComboBox()
        for key, label in MODES:
            self.combo.addItem(label, key)
        self.combo.setToolTip("Automatic: the range follows the data. Fixed: the range you "
                              "type. Locked: the range shown now, kept while sliders move.")
        self.combo.currentIndexChanged.connect(
            lambda _i: self.set_mode(self.combo.currentData()))
        col.addWidget(self.combo)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        self.min_edit, self.max_edit = QLineEdit(), QLineEdit()
        for edit, tip in ((self.min_edit, "Minimum"), (self.max_edit, "Maximum")):
            edit.setToolTip(f"{tip} of the colour range, in the colour bar's unit")
            edit.setPlaceholderText(tip.lower()[:3])
            edit.editingFinished.connect(self._typed)
        row.addWidget(self.min_edit)
        row.addWidget(QLabel("to"))
        row.addWidget(self.max_edit)
        col.addLayout(row)
        self.error_label = QLabel("")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        col.addWidget(self.error_label)
        form.addRow("Colour range", box)
        subscribe(box, self.view.events.clim, self._model_changed)
        # another field: the fields show its range once the viewport has drawn it
        subscribe(box, self.view.events.field, lambda *_: QTimer.singleShot(0, self._shown))
        self._model_changed(self.view.clim)

    # -- actions ---------------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        """``auto``, ``fixed`` (the typed fields, starting at the range shown) or ``locked``."""
        vp = self.window.viewport
        shown = vp.clim if vp is not None else None
        self.mode = mode
        self._show_error("")
        if mode == "auto":
            self.view.clim = None
        elif shown is not None and self.view.clim is None:
            self.view.clim = shown
        self._show_mode()

    def set_range(self, lo: float, hi: float) -> bool:
        """Fix the range at ``[lo, hi]`` (display units); refused (False) unless lo < hi."""
        if not (np.isfinite(lo) and np.isfinite(hi)):
            return self._show_error("Type two numbers for the colour range.")
        if not lo < hi:
            return self._show_error(f"The minimum ({_fmt(lo)}) must be below the maximum "
                                    f"({_fmt(hi)}).")
        self._show_error("")
        self.mode = "fixed"
        self.view.clim = (float(lo), float(hi))
        self._show_mode()
        return True

    def _typed(self) -> None:
        if self.min_edit is None:
            return
        try:
            lo, hi = float(self.min_edit.text()), float(self.max_edit.text())
        except ValueError:
            self._show_error("Type two numbers for the colour range.")
            return
        if self.view.clim is not None and (lo, hi) == tuple(self.view.clim):
            return
        self.set_range(lo, hi)

    # -- showing ---------------------------------------------------------------------------------
    def _show_error(self, msg: str) -> bool:
        if self.error_label is not None:
            self.error_label.setText(msg)
            self.error_label.setVisible(bool(msg))
            for edit in (self.min_edit, self.max_edit):
                edit.setStyleSheet("border: 1px solid #b00;" if msg else "")
        if msg:
            self.window.statusBar().showMessage(msg, 8000)
        return False

    def _model_changed(self, clim, *_old) -> None:
        """The model's range changed (here, the split view's lock, a session): apply it."""
        if clim is None:
            self.mode = "auto"
        elif self.mode == "auto":
            self.mode = "locked"
        vp = self.window.viewport
        if vp is not None and vp.fixed_clim != clim:
            vp.set_fixed_clim(None if clim is None else tuple(clim))
        self._show_mode()

    def _show_mode(self) -> None:
        if self.combo is None:
            return
        index = self.combo.findData(self.mode)
        if index != self.combo.currentIndex():
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(index)
            self.combo.blockSignals(False)
        clim = self.view.clim
        vp = self.window.viewport
        shown = clim if clim is not None else (vp.clim if vp is not None else None)
        for edit, v in ((self.min_edit, shown[0] if shown else None),
                        (self.max_edit, shown[1] if shown else None)):
            edit.setEnabled(self.mode == "fixed")
            if not (edit.hasFocus() and self.mode == "fixed"):
                edit.setText("" if v is None else _fmt(v))

    def viewport_created(self, viewport) -> None:
        """A new viewport (study switch): it takes the model's range; the fields follow the
        range it shows."""
        if self.view.clim is not None:
            viewport.set_fixed_clim(tuple(self.view.clim))
        viewport.shown_changed.connect(self._shown)

    def _shown(self) -> None:
        if self.mode == "auto" and self.min_edit is not None:
            try:
                self._show_mode()  # the automatic range in the fields
            except RuntimeError:  # the panel went with its study
                self.min_edit = None

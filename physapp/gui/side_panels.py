"""Boxes of the side panel that each take only their slice of the application model.

:class:`DisplayBox` gets ``app.view`` (field selector, mesh edges; other rows are added by the
view tools and the split view), :class:`SolveBox` gets ``app.solve`` (Solve / Cancel, progress,
the key quantities of the last solve). Both are bound both ways: a widget change sets the model,
a model change (from anywhere: a session, a menu, a test) shows in the widget.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from physapp.app import SolveModel, ViewModel
from physapp.gui.binding import subscribe
from physapp.viz.grids import display_unit, key_label


class DisplayBox(QGroupBox):
    """"Display": the field and mesh edges of ``view`` (a :class:`ViewModel`); ``form`` takes
    further rows."""

    def __init__(self, view: ViewModel, fields, default_field: str) -> None:
        super().__init__("Display")
        self.view = view
        self.form = QFormLayout(self)
        self.field_combo = QComboBox()
        for f in fields:
            self.field_combo.addItem(f"{f.label}", f.name)
        index = self.field_combo.findData(view.field)
        self.field_combo.setCurrentIndex(index if index >= 0 else
                                         self.field_combo.findData(default_field))
        self.field_combo.currentIndexChanged.connect(
            lambda _i: setattr(self.view, "field", self.field_combo.currentData()))
        self.edges_check = QCheckBox("Show mesh edges")
        self.edges_check.setChecked(view.show_edges)
        self.edges_check.toggled.connect(lambda on: setattr(self.view, "show_edges", on))
        self.form.addRow("Field", self.field_combo)
        self.form.addRow("", self.edges_check)
        subscribe(self, view.events.field, self._show_field)
        subscribe(self, view.events.show_edges, self._show_edges)
        view.field = self.field_combo.currentData()  # a field this study has

    def _show_edges(self, on: bool) -> None:
        self.edges_check.setChecked(on)  # toggled -> the model, which has it: no event

    def _show_field(self, name: str) -> None:
        index = self.field_combo.findData(name)
        if index >= 0 and index != self.field_combo.currentIndex():
            self.field_combo.blockSignals(True)  # the model has the value already
            self.field_combo.setCurrentIndex(index)
            self.field_combo.blockSignals(False)


class SolveBox(QGroupBox):
    """The reference solve: Solve / Cancel buttons, progress and key quantities, showing
    ``solve`` (a :class:`SolveModel`). The buttons ask; the window starts and stops jobs."""

    solve_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, solve: SolveModel, title: str) -> None:
        super().__init__(title)
        self.solve = solve
        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.solve_button = QPushButton("Solve  (F5)")
        self.solve_button.clicked.connect(self.solve_requested)
        self.cancel_button = QPushButton("Cancel  (Esc)")
        self.cancel_button.clicked.connect(self.cancel_requested)
        row.addWidget(self.solve_button)
        row.addWidget(self.cancel_button)
        col.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        col.addWidget(self.progress)
        self.results_label = QLabel("")
        # room for the key quantities before the first result arrives (no layout jump)
        self.results_label.setMinimumHeight(3 * self.results_label.fontMetrics().lineSpacing())
        self.results_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        col.addWidget(self.results_label)
        subscribe(self, solve.events, self.show_state)
        self.show_state()

    def show_state(self, *_info) -> None:
        s = self.solve
        self.cancel_button.setEnabled(s.busy)
        # QProgressBar.setValue repaints at once, and a synchronous repaint paints every pending
        # widget of the window, the 3D view included: a software-GL render inside whatever
        # changed the state (a study switch cancelling its solve). With updates off it is
        # painted on the next pass with everything else.
        self.progress.setUpdatesEnabled(False)
        try:
            self.progress.setValue(int(round(100 * s.progress)))
            if s.busy:
                self.progress.setFormat(s.message if s.message.endswith("\u2026")
                                        else f"{s.message} \u2013 %p%")
            else:
                self.progress.setFormat(s.status)
        finally:
            self.progress.setUpdatesEnabled(True)  # schedules the repaint


def key_quantities_text(order, kq: Mapping[str, float], units: Mapping[str, str] | None,
                        title: str = "Last solve:") -> str:
    """``title`` and one line per key quantity (in ``order`` where given), in display
    units (:data:`physapp.viz.grids.DISPLAY_UNITS`: MPa for stresses, Pa for flow pressures, mm)."""
    units = units or {}
    names = [n for n in order if n in kq] or list(kq)
    lines = []
    for name in names:
        factor, unit = display_unit(units.get(name, ""), kq[name])
        lines.append(f"{key_label(name)}: {kq[name] * factor:.4g} {unit}".rstrip())
    return f"{title}\n" + "\n".join(lines)

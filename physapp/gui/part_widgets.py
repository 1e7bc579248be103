"""Small widgets of the Part set-up panel: a numeric value row with its 'Slider...' toggle, and the
dialog that makes a value a slider (:mod:`physapp.gui.part_panel`)."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTableWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from physapp.gui.dialog_parts import error_label, ok_cancel
from physapp.gui.part_tasks import (
    ValueField,
    check_name,
    parse_number,
)

if TYPE_CHECKING:
    from physapp.gui.part_panel import PartPanel

PHYSICS = (("elasticity", "Elasticity (static stress)"), ("heat", "Heat (steady conduction)"))
SUPPORT_TYPES = (("fixed", "Fixed (all directions)"), ("components", "Fixed in chosen directions"),
                 ("symmetry", "Symmetry plane"))
#: the region list's first entry of a new support or load: nothing is applied yet (#13)
CHOOSE_REGION = "\u2014 choose a region \u2014"


#: rows of the supports-and-loads table in view (more scroll inside it): the editor of the
#: selected item stays above the fold at 1280x800 (#13)
TABLE_ROWS = 4


def fmt(value: float) -> str:
    return f"{value:.6g}"


def fit_rows(table: QTableWidget, rows: int, most: int) -> None:
    """Make ``table`` as high as ``rows`` rows (at least one, at most ``most``): no empty space
    under a short list, a scroll bar inside a long one."""
    shown = min(max(rows, 1), most)
    head = table.horizontalHeader().sizeHint().height()
    table.setFixedHeight(head + shown * table.verticalHeader().defaultSectionSize()
                         + 2 * table.frameWidth())


def value_text(field: ValueField, si_value: float) -> str:
    """A value in its shown unit, short: "E 200 GPa", "\u03b1 12e-6/K"."""
    symbol = field.label.split(" ")[-1]
    unit = field.shown_unit
    if unit.startswith("1e"):  # a scaled unit: 12 "1e-6/K" reads 12e-6/K
        return f"{symbol} {fmt(si_value * field.scale)}{unit[1:]}"
    return f"{symbol} {fmt(si_value * field.scale)}" + ("" if unit in ("", "\u2013") else
                                                        f" {unit}")


class MaterialToggle(QToolButton):
    """The material's values in one line (a library material: read only); a click opens the
    rows (their typed values and Slider... buttons)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setCheckable(True)
        self.setAutoRaise(True)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setArrowType(Qt.ArrowType.RightArrow)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.toggled.connect(self._arrow)

    def _arrow(self, on: bool) -> None:
        self.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        self.setToolTip("Hide the rows" if on else
                        "Show the values as rows (to type a custom material's or make a slider)")

    def show_values(self, values: list[tuple[ValueField, float]], open_: bool) -> None:
        """Write ``values`` (field, SI value); ``open_``: the rows must be seen (a custom
        material, a slider, an input error) and open. Otherwise the user's choice stays."""
        text = ", ".join(value_text(f, v) for f, v in values)
        self.setText(text)
        self._arrow(self.isChecked())
        if open_:
            self.setChecked(True)


def set_invalid(edit: QLineEdit, message: str) -> None:
    edit.setStyleSheet("background: #fde2e1;" if message else "")
    edit.setToolTip(message)


class PromoteDialog(QDialog):
    """Asks the name and the range of a slider for one value (in the value's shown unit)."""

    def __init__(self, label: str, value_shown: float, unit: str, name: str,
                 taken: set[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Make a slider")
        self.value_shown, self.taken = value_shown, taken
        col = QVBoxLayout(self)
        intro = QLabel(f"<b>{html.escape(label)}</b> = {fmt(value_shown)} {html.escape(unit)} "
                       "becomes a design parameter: a slider in the Design parameters panel, "
                       "varied between the limits below.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        form = QFormLayout()
        self.name_edit = QLineEdit(name)
        lo, hi = self.default_range(value_shown)
        self.lower_edit = QLineEdit(fmt(lo))
        self.upper_edit = QLineEdit(fmt(hi))
        for text, edit in (("From", self.lower_edit), ("To", self.upper_edit)):
            row = QHBoxLayout()
            row.addWidget(edit, 1)
            row.addWidget(QLabel(unit))
            form.addRow(text, row)
        form.addRow("Parameter name", self.name_edit)
        col.addLayout(form)
        self.error_label = error_label()
        col.addWidget(self.error_label)
        col.addWidget(ok_cancel(self, self._accept))
        self.result_range: tuple[str, float, float] | None = None

    @staticmethod
    def default_range(v: float) -> tuple[float, float]:
        if v > 0:
            return 0.0, 2 * v
        if v < 0:
            return 2 * v, 0.0
        return -1.0, 1.0

    def _accept(self) -> None:
        try:
            lo, hi = parse_number(self.lower_edit.text()), parse_number(self.upper_edit.text())
        except ValueError:
            self.error_label.setText("The limits must be numbers.")
            return
        if not lo < hi:
            self.error_label.setText("'From' must be below 'To'.")
            return
        if not lo <= self.value_shown <= hi:
            self.error_label.setText(f"The range must contain the current value "
                                     f"{fmt(self.value_shown)}.")
            return
        name = self.name_edit.text().strip()
        problem = check_name(name, self.taken, "parameter")
        if problem:
            self.error_label.setText(problem)
            return
        self.result_range = (name, lo, hi)
        self.accept()


class ValueRow:
    """One numeric entry: label, line edit, unit and a 'slider' toggle (promote / unpromote)."""

    def __init__(self, grid: QGridLayout, row: int, field: ValueField, target: str,
                 panel: PartPanel) -> None:
        self.field, self.target, self.panel = field, target, panel
        self.label = QLabel(field.label)
        self.edit = QLineEdit()
        self.edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.edit.setMinimumWidth(70)
        self.unit = QLabel(field.shown_unit)
        self.unit.setMinimumWidth(54)
        self.slider_button = QToolButton()
        self.slider_button.setText("Slider\u2026")
        self.slider_button.setCheckable(True)
        grid.addWidget(self.label, row, 0)
        grid.addWidget(self.edit, row, 1)
        grid.addWidget(self.unit, row, 2)
        grid.addWidget(self.slider_button, row, 3)
        self.edit.editingFinished.connect(lambda: panel.value_edited(self))
        self.slider_button.clicked.connect(lambda checked: panel.slider_clicked(self, checked))

    def show(self, si_value: float, *, editable: bool, param: dict | None) -> None:
        self.slider_button.blockSignals(True)
        self.slider_button.setChecked(param is not None)
        self.slider_button.blockSignals(False)
        if param is not None:
            lo, hi = param["lower"] * self.field.scale, param["upper"] * self.field.scale
            self.edit.setText("slider")
            self.edit.setEnabled(False)
            tip = (f"Set by the slider '{param['name']}' ({fmt(lo)} to {fmt(hi)} "
                   f"{self.field.shown_unit}) in the Design parameters panel.")
            self.edit.setToolTip(tip)
            self.slider_button.setText("Slider \u2713")
            self.slider_button.setToolTip(tip + "\nClick to remove the slider (its current "
                                          "value is kept).")
        else:
            self.edit.setEnabled(editable)
            self.edit.setText(fmt(si_value * self.field.scale))
            self.edit.setToolTip("" if editable else "Choose 'custom' to edit the material")
            self.slider_button.setText("Slider\u2026")
            self.slider_button.setToolTip("Make a slider of this value (asks its range)")
        set_invalid(self.edit, "")

"""One slider row per study parameter: label, range, slider, typed-in value box and unit;
a drop-down for a choice parameter (``ParameterSpec.choices``, e.g. the airfoil's physics).

Values are shown in each parameter's display unit (``value * scale``, e.g. metres as mm) and
stored in SI in the :class:`~physapp.app.DesignModel`. A typed value outside the bounds is refused with a
message (``error`` signal) instead of being silently clamped, so the user knows why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget
from superqt import QDoubleSlider

from physapp.app import DesignModel
from physapp.core.params import ParameterSpec
from physapp.gui.binding import subscribe

#: slider resolution: the range is divided into this many steps
SLIDER_STEPS = 1000
#: (geometric flag, heading) of the panel's sections, in order
SECTIONS = ((True, "Geometry and mesh (remeshes)"), (False, "Load and material"))


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class ParameterRow:
    """The widgets of one parameter (kept together so tests and the panel can reach them)."""

    def __init__(self, spec: ParameterSpec, grid: QGridLayout, row: int) -> None:
        self.spec = spec
        lo, hi = spec.lower * spec.scale, spec.upper * spec.scale
        unit = spec.shown_unit
        self.label = QLabel(spec.label)
        self.label.setWordWrap(True)  # a long name wraps instead of being cut off
        bold = QFont(self.label.font())
        bold.setBold(True)
        self.label.setFont(bold)
        tip = f"{spec.label} ({spec.name}): {_fmt(lo)} to {_fmt(hi)} {unit}"
        if spec.geometric:
            tip += "\nChanges the geometry: the mesh is rebuilt."
        self.label.setToolTip(tip + (f"\n{spec.description}" if spec.description else ""))
        self.range_label = QLabel(f"{_fmt(lo)} \u2013 {_fmt(hi)} {unit}".strip())
        self.range_label.setStyleSheet("color: #707070;")
        self.range_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.slider = QDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(lo, hi)
        self.slider.setSingleStep((hi - lo) / SLIDER_STEPS)
        self.slider.setToolTip(tip)
        self.box = QLineEdit()
        self.box.setFixedWidth(80)
        self.box.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.box.setToolTip(f"Type a value in {unit or 'the shown unit'} and press Enter")
        self.unit_label = QLabel(unit)
        self.unit_label.setMinimumWidth(32)
        grid.addWidget(self.label, row, 0, 1, 2)
        grid.addWidget(self.range_label, row, 2, 1, 2)
        grid.addWidget(self.slider, row + 1, 0, 1, 2)
        grid.addWidget(self.box, row + 1, 2)
        grid.addWidget(self.unit_label, row + 1, 3)

    def show_value(self, si_value: float) -> None:
        """Show a model value without echoing it back to the model."""
        shown = si_value * self.spec.scale
        self.slider.blockSignals(True)
        self.slider.setValue(shown)
        self.slider.blockSignals(False)
        self.box.setText(_fmt(shown))


class ChoiceRow:
    """A choice parameter (e.g. the physical model): its label and a drop-down of the options.

    The model stores the option's index as a float like any value; the drop-down shows names.
    """

    def __init__(self, spec: ParameterSpec, grid: QGridLayout, row: int) -> None:
        self.spec = spec
        self.label = QLabel(spec.label)
        bold = QFont(self.label.font())
        bold.setBold(True)
        self.label.setFont(bold)
        tip = f"{spec.label} ({spec.name}): one of {', '.join(spec.choices)}"
        if spec.geometric:
            tip += "\nChanges the geometry: the mesh is rebuilt."
        self.label.setToolTip(tip + (f"\n{spec.description}" if spec.description else ""))
        self.combo = QComboBox()
        self.combo.addItems(list(spec.choices))
        for i, name in enumerate(spec.choices):  # the option's part of the description
            part = next((t.strip() for t in spec.description.split(";")
                         if t.strip().startswith(f"{name}:")), "")
            if part:
                self.combo.setItemData(i, part, Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip(self.label.toolTip())
        grid.addWidget(self.label, row, 0, 1, 4)
        grid.addWidget(self.combo, row + 1, 0, 1, 4)

    def show_value(self, si_value: float) -> None:
        """Show a model value without echoing it back to the model."""
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(int(round(si_value)))
        self.combo.blockSignals(False)


class QtParameterPanel(QWidget):
    """Sliders bound both ways to a :class:`~physapp.app.DesignModel`."""

    error = Signal(str)  # a user-readable message about a refused value

    def __init__(self, model: DesignModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.grid = QGridLayout(self)
        self.grid.setColumnStretch(0, 1)
        self.grid.setVerticalSpacing(4)
        self.rows: dict[str, ParameterRow | ChoiceRow] = {}
        line = 0
        # geometry first, under its own heading: those sliders remesh, the others do not
        for geometric, heading in SECTIONS:
            specs = [p for p in model.spec.parameters if p.geometric == geometric]
            if specs:
                line = self._add_section(heading, specs, line)
        subscribe(self, model.changed, self._model_changed)

    def _add_section(self, heading: str, specs: list[ParameterSpec], line: int) -> int:
        title = QLabel(heading)
        title.setStyleSheet("color: #1d3f5e; font-weight: bold; padding-top: 6px;")
        self.grid.addWidget(title, line, 0, 1, 4)
        line += 1
        for spec in specs:
            if spec.choices:
                choice = ChoiceRow(spec, self.grid, line)
                line += 2
                choice.show_value(self.model.value(spec.name))
                choice.combo.currentIndexChanged.connect(
                    lambda i, n=spec.name: self.model.set_value(n, float(i)))
                self.rows[spec.name] = choice
                continue
            row = ParameterRow(spec, self.grid, line)
            line += 2
            row.show_value(self.model.value(spec.name))
            row.slider.valueChanged.connect(lambda v, n=spec.name: self._slider_moved(n, v))
            row.box.editingFinished.connect(lambda n=spec.name: self._typed(n))
            self.rows[spec.name] = row
        return line

    def _slider_moved(self, name: str, shown: float) -> None:
        spec = self.rows[name].spec
        # the slider's float range can overshoot the bounds by rounding: clamp before validating
        si = min(max(shown / spec.scale, spec.lower), spec.upper)
        self.model.set_value(name, si)

    def _typed(self, name: str) -> None:
        row = self.rows[name]
        text = row.box.text().strip().replace(",", ".")
        try:
            self.model.set_value(name, float(text) / row.spec.scale)
        except ValueError:  # ParameterError is a ValueError; so is float('abc')
            lo, hi = row.spec.lower * row.spec.scale, row.spec.upper * row.spec.scale
            self.error.emit(
                f"{row.spec.label}: '{text}' is not allowed. Enter a number from {_fmt(lo)} "
                f"to {_fmt(hi)} {row.spec.shown_unit}."
            )
            row.show_value(self.model.value(name))  # put the valid value back

    def _model_changed(self, name: str, value: float) -> None:
        row = self.rows.get(name)
        if row is not None:  # None: a panel of the previous study, about to be deleted
            row.show_value(value)

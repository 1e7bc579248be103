"""The safety factor in the window (#13): a "Yield strength" field in the Display box, the
``safety_factor`` field derived from von Mises on every result the viewports show, and the
minimum safety factor among the key quantities.

The yield strength starts from the study's material in the library
(:func:`physapp.core.safety.study_yield_strength`) each time a study opens; a typed value that
is not a positive number is refused with a message under the field (the old value stays).
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from physapp.core.errors import ParameterError
from physapp.core.materials import check_yield_strength
from physapp.core.results import FieldResult
from physapp.core.safety import (
    FIELD,
    KEY,
    SAFETY_FIELD,
    attach_safety_factor,
    has_stress,
    study_yield_strength,
)

MPA = 1e6
ERROR_STYLE = "color: #b00;"


class SafetyController:
    """Owns the yield strength of one window and derives the safety factor from it."""

    def __init__(self, window) -> None:
        self.window = window
        self.yield_strength = 0.0  # Pa; 0 = the study has no stress field
        self.material = ""
        self.edit: QLineEdit | None = None
        self.error_label: QLabel | None = None
        self._spec_in = None
        self._spec_out = None

    # -- the study ------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.yield_strength > 0

    def display_spec(self, spec):
        """``spec`` with the safety-factor field added when it has von Mises (cached)."""
        if spec is None or not has_stress(spec.fields) or \
                any(f.name == FIELD for f in spec.fields):
            return spec
        if spec is not self._spec_in:
            self._spec_in = spec
            self._spec_out = dataclasses.replace(spec, fields=(*spec.fields, SAFETY_FIELD))
        return self._spec_out

    def study_opened(self, study) -> None:
        """Start from the study's material (library yield strength)."""
        if has_stress(study.spec.fields):
            self.yield_strength, self.material = study_yield_strength(
                study, self.window.model.params)
        else:
            self.yield_strength, self.material = 0.0, ""

    # -- the field ------------------------------------------------------------------------------
    def derive(self, result: FieldResult | None) -> FieldResult | None:
        """``result`` with its safety factor at the current yield strength, attached in place
        (:func:`physapp.core.safety.attach_safety_factor`): the same object, so the split view,
        the probe and the line plot, which compare results by identity, keep working."""
        if result is None or not self.active or "von_mises" not in result.point_data:
            return result
        return attach_safety_factor(result, self.yield_strength)

    def key_quantities(self, kq: dict) -> dict:
        """``kq`` with ``min_safety_factor`` (yield / peak von Mises) when it has a peak."""
        peak = kq.get("peak_von_mises")
        if not self.active or peak is None:
            return kq
        return {**kq, KEY: self.yield_strength / peak if peak > 0 else float("inf")}

    # -- the field in the Display box ------------------------------------------------------------
    def add_display_row(self, form: QFormLayout) -> None:
        """"Yield strength [MPa]" with the material it came from, for studies with stresses."""
        self.edit = self.error_label = None
        if not self.active:
            return
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(1)
        self.edit = QLineEdit(f"{self.yield_strength / MPA:.4g}")
        self.edit.setToolTip(f"Yield strength of {self.material} (library value; type your "
                             "own). The safety factor is yield / von Mises, shown up to 10.")
        self.edit.editingFinished.connect(lambda: self.set_text(self.edit.text()))
        self.error_label = QLabel("")
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        col.addWidget(self.edit)
        col.addWidget(self.error_label)
        form.addRow("Yield strength [MPa]", box)

    def set_text(self, text: str) -> bool:
        """Take a typed yield strength (MPa); a bad one is refused at the field."""
        try:
            value = check_yield_strength(float(text.strip()) * MPA)
        except (ValueError, ParameterError) as exc:
            msg = str(exc) if isinstance(exc, ParameterError) else \
                f"The yield strength must be a number in MPa (got '{text}')."
            self._show_error(msg)
            return False
        self._show_error("")
        self.set_yield_strength(value)
        return True

    def _show_error(self, msg: str) -> None:
        if self.error_label is not None:
            self.error_label.setText(msg)
            self.error_label.setVisible(bool(msg))
        if self.edit is not None:
            self.edit.setStyleSheet("border: 1px solid #b00;" if msg else "")
            if not msg:
                self.edit.setText(f"{self.yield_strength / MPA:.4g}")
        if msg:
            self.window.statusBar().showMessage(msg, 8000)

    def set_yield_strength(self, value: float) -> None:
        """Use ``value`` (Pa): the shown safety factor and the key quantity follow."""
        value = check_yield_strength(value)
        if value == self.yield_strength:
            return
        self.yield_strength = value
        if self.edit is not None:
            self.edit.setText(f"{value / MPA:.4g}")
        w = self.window
        if w.solves.result is not None:
            self.derive(w.solves.result)
            w.show_key_quantities(w.solves.result)
        last = getattr(w.surrogates, "last_prediction", None)
        if last is not None:
            self.derive(last.result)
        vp = w.viewport
        if vp is not None and vp.result is not None:
            vp.show_result(vp.result, vp.field)  # derives again
            w.update_state()
        w.compare.view_options_changed()

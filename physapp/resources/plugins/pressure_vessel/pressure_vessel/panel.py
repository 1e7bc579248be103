"""A GUI panel contributed by the plugin (``[[panels]]``): a Lame hand calculation of the vessel.

Panels are the only plugin contributions that may import Qt. The class is constructed as
``VesselPanel(model)`` with the app's :class:`~physapp.app.AppModel` and shown in a dock
(View > Plugins > Vessel hand calculation). It subscribes to ``model.design``: the values follow
the sliders and a study switch by themselves; and to ``model.source.events.key_quantities``:
while a surrogate answers the sliders, the peak hoop stress it predicts (the study's
``field_quantities``) stands beside Lame's.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QVBoxLayout, QWidget

from physapp.gui.binding import subscribe
from pressure_vessel.study import PARAMETERS

DEFAULTS = {p.name: p.default for p in PARAMETERS}


def lame(params: dict) -> dict[str, float]:
    """Closed thick cylinder at the bore: hoop, axial and radial stress (Pa)."""
    v = {**DEFAULTS, **{k: float(x) for k, x in params.items() if k in DEFAULTS}}
    a, p = v["radius"], v["pressure"]
    b = a + v["thickness"]
    return {"hoop": p * (a * a + b * b) / (b * b - a * a), "axial": p * a * a / (b * b - a * a),
            "radial": -p}


class VesselPanel(QWidget):
    """Hoop, axial and radial stress at the bore from the current design (Lame)."""

    def __init__(self, model=None) -> None:
        super().__init__()
        self.model = model
        self.setObjectName("pressure_vessel.hand_calc")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Lame, closed thick cylinder, at the bore</b>"))
        form = QFormLayout()
        self.labels = {k: QLabel("-") for k in ("hoop", "axial", "radial")}
        for k, label in self.labels.items():
            form.addRow(f"{k} stress:", label)
        self.predicted = QLabel("-")  # the surrogate's peak hoop stress, when one is shown
        form.addRow("surrogate, peak hoop:", self.predicted)
        layout.addLayout(form)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        layout.addStretch(1)
        if model is not None:  # follow the sliders and study switches
            subscribe(self, model.design.changed, self.refresh)
            subscribe(self, model.design.study_changed, self.refresh)
            subscribe(self, model.source.events.key_quantities, self.show_prediction)
        self.refresh()

    def current_params(self) -> dict:
        design = None if self.model is None else self.model.design
        if design is None or not design.study_id.endswith("vessel"):
            self.note.setText("The open study is not the pressure vessel: the values are for "
                              "the vessel's default design.")
            return {}
        self.note.setText("")
        return design.params

    def show_prediction(self, key_quantities: dict | None) -> None:
        """The prediction on screen changed (None: no prediction shown)."""
        peak = (key_quantities or {}).get("peak_hoop_stress")
        self.predicted.setText("-" if peak is None else f"{peak / 1e6:.3f} MPa")

    def refresh(self, *_event) -> dict[str, float]:
        values = lame(self.current_params())
        for k, v in values.items():
            self.labels[k].setText(f"{v / 1e6:.3f} MPa")
        return values

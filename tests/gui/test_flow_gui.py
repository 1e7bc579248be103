"""The flow studies in the GUI (#17): choice parameters, streamlines and glyphs, the Cp chart."""

from __future__ import annotations

import pytest

from physapp.app import AppModel, DesignModel
from physapp.gui.qt_parameter_panel import ChoiceRow, ParameterRow, QtParameterPanel
from physapp.studies import get_study

pytestmark = pytest.mark.gui


def test_a_choice_parameter_is_a_drop_down_bound_both_ways(qtbot):
    study = get_study("airfoil")
    model = DesignModel(study)
    panel = QtParameterPanel(model)
    qtbot.addWidget(panel)
    row = panel.rows["model"]
    assert isinstance(row, ChoiceRow) and not hasattr(row, "slider")
    spec = study.spec.parameter("model")
    assert [row.combo.itemText(i) for i in range(row.combo.count())] == list(spec.choices)
    assert row.combo.currentText() == spec.choice(model.value("model"))
    # the user picks the other physics: the model stores its index
    other = 1 - int(model.value("model"))
    row.combo.setCurrentIndex(other)
    assert model.value("model") == float(other)
    assert spec.choice(model.value("model")) == spec.choices[other]
    # the model changes (a session, a script): the drop-down follows
    model.set_value("model", spec.choices[0])
    assert row.combo.currentIndex() == 0
    # the other parameters are still sliders
    assert all(isinstance(r, ParameterRow) for n, r in panel.rows.items() if n != "model")


def test_a_choice_survives_a_session_round_trip():
    study = get_study("airfoil")
    app = AppModel(study)
    app.design.set_value("model", 1.0)
    back = AppModel.from_dict(app.to_dict(), get_study)
    assert back.design.value("model") == 1.0

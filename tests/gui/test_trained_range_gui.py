"""Every study opens inside the trained range of the surrogate it selects (#13)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import AppSettings, save_settings
from physapp.gui.surrogate_panel import builtin_model_dirs, peek_header
from physapp.gui.trained_range import into_range
from physapp.studies import get_study, list_studies

pytestmark = pytest.mark.gui


def _bounds(study_id):
    for folder in builtin_model_dirs(study_id):
        for f in sorted(folder.glob("*.pt")):
            info = (peek_header(f) or {}).get("info", {})
            return dict(zip(info.get("param_names", ()), map(tuple, info.get("bounds", ())),
                            strict=False))
    return {}


def test_every_study_with_a_shipped_model_opens_inside_its_range():
    checked = 0
    for study in list_studies():
        spec = study.spec
        bounds = _bounds(spec.id)
        if not bounds:
            continue
        params = {**spec.defaults(), **into_range(spec.defaults(), bounds)}
        for name, (lo, hi) in bounds.items():
            if name in params:
                assert lo <= params[name] <= hi, (spec.id, name)
                assert spec.parameter(name).lower <= params[name] <= spec.parameter(name).upper
        checked += 1
    assert checked >= 5


def test_the_vessel_opens_at_a_wall_its_surrogate_was_trained_for(qtbot, shared_runner,
                                                                  monkeypatch, tmp_path):
    monkeypatch.setenv("PHYSAPP_AUTO_SURROGATE", "1")
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    save_settings(AppSettings(auto_surrogate=True), store)
    configure_pyvista()
    study = get_study("pressure_vessel/vessel")
    lo, hi = _bounds(study.spec.id)["thickness"]
    assert not lo <= study.spec.defaults()["thickness"] <= hi  # the study's own default is not
    w = MainWindow(study, auto_solve=False, runner=shared_runner, settings_store=store)
    qtbot.addWidget(w)
    assert lo < w.model.value("thickness") < hi
    assert "trained range" in w.message_bar.text() and "Wall thickness" in w.message_bar.text()
    w.close()

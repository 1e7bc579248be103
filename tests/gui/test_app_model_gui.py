"""The window on the application model (issue #12): one model for the window's life, widgets
and plugin panels that follow it."""

from __future__ import annotations

import pytest

from physapp.studies import get_study

from .conftest import SOLVE_TIMEOUT_MS


def test_a_study_switch_keeps_the_model_and_the_solve_state_lives_there(window, qtbot):
    app, design = window.app, window.model
    assert window.app.solve.count == window.solve_count >= 1
    assert window.app.solve.status == "done" and window.progress.format() == "done"
    heard = []
    design.changed.connect(lambda name, value: heard.append(name))
    window.set_study(get_study("l-bracket"))
    assert window.app is app and window.model is design  # nothing is re-wired
    assert design.study_id == "l-bracket" and window.spec.id == "l-bracket"
    assert app.view.field == window.spec.default_field == window.field_combo.currentData()
    qtbot.waitUntil(lambda: app.solve.status == "done" and app.solve.solved_params is not None,
                    timeout=SOLVE_TIMEOUT_MS)
    name = window.spec.parameters[0].name
    p = window.spec.parameter(name)
    window.panel.rows[name].slider.setValue((p.lower + p.upper) / 2 * p.scale)
    assert heard == [name]  # the subscription made before the switch hears the new sliders
    assert window.is_stale


def test_field_and_edges_widgets_follow_the_model_both_ways(window):
    other = next(f.name for f in window.spec.fields if f.name != window.app.view.field)
    window.app.view.field = other
    assert window.field_combo.currentData() == other
    assert window.field[0] == other and window.viewport.field[0] == other
    window.field_combo.setCurrentIndex(window.field_combo.findData(window.spec.default_field))
    assert window.app.view.field == window.spec.default_field
    window.app.view.show_edges = True
    assert window.edges_check.isChecked() and window.edges_action.isChecked()
    window.edges_action.trigger()  # View > Show mesh edges (Ctrl+E): unchecks
    assert window.app.view.show_edges is False and not window.edges_check.isChecked()
    assert window.actions["view.edges"] is window.edges_action


def test_messages_go_through_the_model(window):
    heard = []
    window.app.messages.connect(lambda text, level, tag: heard.append((text, tag)))
    window.show_message("Something to say", "info", "test")
    assert heard == [("Something to say", "test")]
    assert "Something to say" in window.message_bar.text()


def test_the_plugin_panel_follows_the_sliders_by_itself(window, qtbot):
    from physapp.gui.plugin_panels import show_panel
    from physapp.plugins import contributions

    panel_c = next(c for c in contributions("panels") if c.id == "hand-calc")
    window.set_study(get_study("pressure_vessel/vessel"))
    dock = show_panel(window, panel_c, window.app)
    panel = dock.widget()
    assert not hasattr(panel, "refresh_button")  # no "Refresh from the sliders" any more
    window.model.set_value("pressure", 5e6)
    a = window.model.value("radius")
    b = a + window.model.value("thickness")
    hoop = 5e6 * (a * a + b * b) / (b * b - a * a)
    assert panel.labels["hoop"].text() == f"{hoop / 1e6:.3f} MPa"
    assert panel.labels["radial"].text() == "-5.000 MPa"
    window.set_study(get_study("plate-with-hole"))  # not the vessel: defaults, with a note
    assert "not the pressure vessel" in panel.note.text()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=SOLVE_TIMEOUT_MS)


def test_a_panel_handler_is_disconnected_when_qt_deletes_the_panel(window, qtbot):
    from PySide6.QtWidgets import QApplication

    from physapp.gui.plugin_panels import show_panel
    from physapp.plugins import contributions

    panel_c = next(c for c in contributions("panels") if c.id == "hand-calc")
    dock = show_panel(window, panel_c, window.app)
    n = len(window.model.changed)
    dock.widget().deleteLater()
    QApplication.processEvents()
    qtbot.wait(10)
    assert len(window.model.changed) == n - 1
    window.model.set_value("radius", window.model.value("radius") * 1.01)  # no error


@pytest.mark.parametrize("bad", [{"colormap": "rainbow"}, {"clim": (3.0, 1.0)}])
def test_the_view_model_refuses_bad_values_and_the_window_goes_on(window, bad):
    key, value = next(iter(bad.items()))
    with pytest.raises(ValueError, match=key):
        setattr(window.app.view, key, value)
    assert window.app.view.colormap in ("turbo",) and window.app.view.clim is None


def test_a_panel_whose_handler_raises_is_reported_once_and_disabled(window):
    from PySide6.QtWidgets import QLabel

    from physapp.gui.binding import set_reporter, subscribe

    panel = QLabel("plugin")
    reports, calls = [], []

    def explode(name, value):
        calls.append(name)
        raise ZeroDivisionError("panel exploded")

    subscribe(panel, window.model.changed, explode)
    set_reporter(panel, reports.append)
    r = window.model.value("radius")
    window.model.set_value("radius", r * 1.01)  # the change goes through
    window.model.set_value("radius", r * 1.02)
    assert window.model.value("radius") == pytest.approx(r * 1.02)
    assert calls == ["radius"] and len(reports) == 1 and "panel exploded" in reports[0]
    assert not panel.isEnabled()
    panel.deleteLater()


def test_the_plugin_panel_reports_its_errors_to_the_message_bar(window, monkeypatch):
    import physapp.plugins
    from physapp.gui import binding
    from physapp.gui.plugin_panels import show_panel
    from physapp.plugins import contributions

    monkeypatch.setattr(physapp.plugins, "_LOAD_PROBLEMS", {})  # kept for this test only

    panel_c = next(c for c in contributions("panels") if c.id == "hand-calc")
    panel = show_panel(window, panel_c, window.app).widget()
    binding._REPORTERS[panel]("VesselPanel stopped following the model")
    assert "stopped following the model" in window.message_bar.text()
    assert "stopped following" in physapp.plugins.load_problems()["pressure_vessel"]


def test_a_plugin_panel_raising_in_its_handler_is_reported_once_the_app_goes_on(
        window, qtbot, tmp_path, monkeypatch):
    """Bad input (#12): a real plugin's panel raises on a model event: one message names the
    plugin, its panel is disabled, the slider change goes through and the other panels and the
    window keep following the model."""
    import textwrap

    import physapp.plugins
    from physapp.gui.plugin_panels import show_panel
    from physapp.plugins import contributions, refresh

    folder = tmp_path / "fragile"
    (folder / "fragile").mkdir(parents=True)
    (folder / "fragile" / "__init__.py").write_text("")
    (folder / "fragile" / "panel.py").write_text(textwrap.dedent("""
        from PySide6.QtWidgets import QLabel
        from physapp.gui.binding import subscribe

        class Panel(QLabel):
            calls = 0

            def __init__(self, model):
                super().__init__("fragile")
                subscribe(self, model.design.changed, self.on_change)

            def on_change(self, name, value):
                Panel.calls += 1
                raise ZeroDivisionError(f"cannot follow {name}")
    """))
    (folder / "plugin.toml").write_text(textwrap.dedent("""
        [plugin]
        name = "fragile"
        api = 1
        [[panels]]
        id = "fragile-panel"
        title = "Fragile"
        entry = "fragile.panel:Panel"
    """))
    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(tmp_path))
    monkeypatch.setattr(physapp.plugins, "_LOAD_PROBLEMS", {})  # kept for this test only
    refresh()
    try:
        panels = {c.id: c for c in contributions("panels")}
        window.set_study(get_study("pressure_vessel/vessel"))
        fragile = show_panel(window, panels["fragile-panel"], window.app).widget()
        vessel = show_panel(window, panels["hand-calc"], window.app).widget()
        heard = []
        window.app.messages.connect(lambda text, level, tag: heard.append((text, level)))
        window.model.set_value("pressure", 4e6)
        window.model.set_value("pressure", 6e6)  # the second change: no second message
        assert window.model.value("pressure") == 6e6  # both changes went through
        assert type(fragile).calls == 1 and not fragile.isEnabled()
        errors = [t for t, level in heard if level == "error"]
        assert len(errors) == 1 and "fragile" in errors[0]
        assert "ZeroDivisionError: cannot follow pressure" in errors[0]
        assert "cannot follow pressure" in window.message_bar.text()
        assert "fragile" in physapp.plugins.load_problems()  # for Help > Plugins
        a = window.model.value("radius")
        b = a + window.model.value("thickness")
        hoop = 6e6 * (a * a + b * b) / (b * b - a * a)
        assert vessel.labels["hoop"].text() == f"{hoop / 1e6:.3f} MPa"  # still following
        assert vessel.isEnabled() and window.isVisible()
        qtbot.waitUntil(lambda: not window.runner.busy, timeout=SOLVE_TIMEOUT_MS)
    finally:
        monkeypatch.delenv("PHYSAPP_PLUGIN_PATH")
        refresh()


def test_a_session_is_saved_from_the_model(window, tmp_path):
    import json

    window.app.view.colormap = "viridis"  # set on the model: the controls follow
    assert window.view_tools.cmap_combo.currentText() == "viridis"
    assert window.viewport.colormap == "viridis"
    window.model.set_value("radius", 0.025)
    assert window.app.session.dirty
    path = window.sessions.save_to(tmp_path / "s.physapp")
    data = json.loads(path.read_text())
    assert data["view"]["colormap"] == "viridis" and data["params"]["radius"] == 0.025
    assert data["view"]["camera"] == {k: list(v) if isinstance(v, tuple) else v
                                      for k, v in window.viewport.camera_state().items()}
    assert not window.app.session.dirty and window.app.session.path == str(path)
    expected = window.app.to_dict()
    assert {k: expected[k] for k in ("study", "params", "surrogate")} == \
        {k: data[k] for k in ("study", "params", "surrogate")}


"""Help > Plugins lists the example plugin; unticking it disables it for the next start."""

import json

from PySide6.QtCore import Qt

from physapp.gui.plugins_dialog import PluginsDialog


def test_plugins_dialog_lists_and_disables(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    dlg = PluginsDialog()
    qtbot.addWidget(dlg)
    assert dlg.names()[:2] == ["physapp", "pressure_vessel"]
    vessel = dlg.tree.topLevelItem(1)
    assert vessel.child(0).text(0) == "study: pressure_vessel/vessel"
    vessel.setCheckState(0, Qt.CheckState.Unchecked)
    saved = json.loads((tmp_path / "physapp" / "plugins.json").read_text())
    assert saved["disabled"] == ["pressure_vessel"]
    assert dlg.tree.topLevelItem(1).text(3).startswith("disabled")
    dlg.tree.topLevelItem(1).setCheckState(0, Qt.CheckState.Checked)
    assert json.loads((tmp_path / "physapp" / "plugins.json").read_text())["disabled"] == []

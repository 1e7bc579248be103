
import pytest


# Tests never read the developer's settings or plugins.
@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory, monkeypatch):
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    monkeypatch.setenv("XDG_DATA_HOME", str(cfg / "data"))
    monkeypatch.setenv("PHYSAPP_NO_PLUGINS", "1")
    yield


# GUI tests start on the reference solver unless they select a surrogate themselves (the app
# selects a study's shipped surrogate at start; tests/gui/test_surrogate_gui.py checks that).
@pytest.fixture(autouse=True)
def _reference_at_start(monkeypatch):
    monkeypatch.setenv("PHYSAPP_AUTO_SURROGATE", "0")
    # windows closed by tests with an unsaved part set-up close at once (the question to save
    # it is tested in tests/gui/test_close_gui.py)
    monkeypatch.setenv("PHYSAPP_ASK_TO_SAVE", "0")


import pytest


# Tests never read the developer's settings or plugins.
@pytest.fixture(autouse=True)
def _isolated_config(tmp_path_factory, monkeypatch):
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    monkeypatch.setenv("XDG_DATA_HOME", str(cfg / "data"))
    monkeypatch.setenv("PHYSAPP_NO_PLUGINS", "1")
    yield

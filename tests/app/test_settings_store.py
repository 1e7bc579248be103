"""The user's settings without Qt (#12): one JSON file that the app and the command line share,
the once-only copy of an earlier version's QSettings file, the evented holder, the folders."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from physapp.app.settings import (
    KEYS,
    RECENT_KEY,
    AppSettings,
    SettingsFile,
    UserSettings,
    cpu_count,
    legacy_values,
    load_settings,
    open_store,
    save_settings,
)
from physapp.core.paths import user_cache_dir, user_config_dir, user_data_dir

#: what Qt 6 writes for these values (QSettings(path, IniFormat); checked against real Qt in
#: tests/gui/test_settings.py::test_an_earlier_qsettings_file_is_copied_over_once)
LEGACY = """[compute]
device=cpu
scheduler=tcp://10.0.0.5:8786
workers=3

[recent]
files=/parts/a.step, "/parts/b, c.msh"

[solver]
element_order=1

[surrogates]
auto_select=false

[window]
geometry=@ByteArray(\\x1\\xd9\\xd0\\xcb\\0\\x3)
"""


def test_settings_round_trip_through_the_json_file(tmp_path):
    path = tmp_path / "settings.json"
    mine = AppSettings(device="cuda:1", workers=3, element_order=1, auto_surrogate=False,
                       scheduler="tcp://h:8786")
    save_settings(mine, SettingsFile(path))
    assert load_settings(SettingsFile(path)) == mine
    on_disk = json.loads(path.read_text())
    assert on_disk[KEYS["workers"]] == 3 and on_disk[KEYS["auto_surrogate"]] is False


def test_defaults_when_the_file_is_missing_or_damaged(tmp_path):
    path = tmp_path / "settings.json"
    assert load_settings(SettingsFile(path)) == AppSettings()
    path.write_text("{not json")
    assert load_settings(SettingsFile(path)) == AppSettings()
    path.write_text('["a list, not an object"]')
    assert load_settings(SettingsFile(path)) == AppSettings()


def test_a_bad_value_falls_back_alone(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({KEYS["device"]: "tpu", KEYS["workers"]: 2,
                                KEYS["element_order"]: 1.5, KEYS["auto_surrogate"]: "maybe"}))
    s = load_settings(SettingsFile(path))
    assert (s.device, s.workers, s.element_order, s.auto_surrogate) == ("auto", 2, 2, True)


def test_two_stores_on_one_file_see_each_others_changes(tmp_path):
    path = tmp_path / "settings.json"
    a, b = SettingsFile(path), SettingsFile(path)
    a.setValue("x/one", 1)
    assert b.value("x/one") == 1
    b.setValue("x/two", [1, "z"])  # b read a's key: a's value survives b's write
    assert a.value("x/one") == 1 and a.value("x/two") == [1, "z"]
    a.remove("x/one")
    assert not b.contains("x/one") and b.allKeys() == ["x/two"]


def test_bytes_are_kept_and_other_objects_refused(tmp_path):
    store = SettingsFile(tmp_path / "s.json")
    store.setValue("window/geometry", b"\x01\xd9\x00\xff")
    assert SettingsFile(store.path).value("window/geometry") == b"\x01\xd9\x00\xff"
    with pytest.raises(TypeError, match="object cannot be kept"):
        store.setValue("bad", object())


def test_an_unwritable_folder_is_reported_not_raised(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = SettingsFile(blocker / "settings.json")  # its folder is a file
    save_settings(AppSettings(workers=2), store)
    assert "cannot be saved" in store.error
    assert load_settings(store) == AppSettings()


def test_an_earlier_qsettings_file_is_copied_over_once(tmp_path):
    (tmp_path / "physapp.conf").write_text(LEGACY)
    store = open_store(tmp_path / "settings.json")
    assert load_settings(store) == AppSettings(device="cpu", workers=3, element_order=1,
                                               auto_surrogate=False,
                                               scheduler="tcp://10.0.0.5:8786")
    assert store.value(RECENT_KEY) == ["/parts/a.step", "/parts/b, c.msh"]
    assert store.value("window/geometry") is None  # Qt's binary notation stays behind
    # once: a later change of the old file is not copied again
    (tmp_path / "physapp.conf").write_text(LEGACY.replace("workers=3", "workers=5"))
    assert load_settings(open_store(tmp_path / "settings.json")).workers == 3


def test_a_damaged_legacy_file_gives_nothing(tmp_path):
    bad = tmp_path / "physapp.conf"
    bad.write_bytes(b"\xff\xfe[compute\x00")
    assert legacy_values(bad) == {}
    assert load_settings(open_store(tmp_path / "settings.json")) == AppSettings()


def test_user_settings_emit_once_per_change(tmp_path):
    user = UserSettings(SettingsFile(tmp_path / "settings.json"))
    seen = []
    user.changed.connect(seen.append)
    new = AppSettings(workers=2, element_order=1)
    user.apply(new)
    user.apply(new)  # the same again: saved, no event
    assert seen == [new] and user.value == new
    other = SettingsFile(tmp_path / "settings.json")  # another process changes the file
    save_settings(AppSettings(workers=2, element_order=1, device="cpu"), other)
    assert user.reload().device == "cpu" and seen[-1].device == "cpu" and len(seen) == 2


def test_the_default_store_is_in_the_user_config_folder():
    # tests/conftest.py points XDG_CONFIG_HOME at a temporary folder
    assert open_store().path == Path(os.environ["XDG_CONFIG_HOME"]) / "physapp" / "settings.json"
    assert AppSettings().workers == cpu_count()


def test_user_folders_follow_the_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xd"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xc"))
    assert user_data_dir() == tmp_path / "xd" / "physapp"
    assert user_cache_dir() == tmp_path / "xc" / "physapp"
    monkeypatch.setenv("PHYSAPP_CONFIG_DIR", str(tmp_path / "portable"))
    assert user_config_dir() == tmp_path / "portable"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.delenv("PHYSAPP_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if sys.platform.startswith("linux"):  # platformdirs' rule there
        assert user_data_dir() == tmp_path / "home" / ".local" / "share" / "physapp"


def test_the_command_line_reads_the_users_device(tmp_path):
    from physapp.cli_models import settings_device

    save_settings(AppSettings(device="cuda:1"))  # the user's file (in the test's folder)
    args = argparse.Namespace(device=None)
    settings_device(args)
    assert args.device == "cuda:1"
    args = argparse.Namespace(device="cpu")  # --device given: it wins
    settings_device(args)
    assert args.device == "cpu"


def test_the_settings_load_without_qt():
    code = ("import sys, physapp.app.settings as s; s.load_settings(); "
            "print([m for m in ('PySide6', 'vtk', 'torch', 'pyvista') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert out.stdout.strip() == "[]"


def test_the_app_model_holds_the_settings_the_command_line_reads(tmp_path):
    from physapp.app import AppModel
    from physapp.cli_models import settings_device

    model = AppModel()  # no file given: the user's (in the test's folder), opened on first use
    assert model.settings.store.path == open_store().path
    seen = []
    model.settings.changed.connect(seen.append)
    new = AppSettings(device="cuda:1", workers=3, element_order=1)
    model.settings.apply(new)  # what the Settings dialog's OK does
    assert seen == [new] and model.settings.value == new
    args = argparse.Namespace(device=None)
    settings_device(args)  # `physapp train/predict` without --device: the same file
    assert args.device == "cuda:1" and load_settings().workers == 3
    # a model on another file (the GUI tests' temporary store) leaves the user's alone
    other = AppModel(settings=UserSettings(SettingsFile(tmp_path / "s.json")))
    other.settings.apply(AppSettings(device="cpu"))
    assert load_settings().device == "cuda:1"
    assert load_settings(SettingsFile(tmp_path / "s.json")).device == "cpu"

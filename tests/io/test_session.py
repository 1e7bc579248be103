"""Session files: exact round trip, version check, hand-edited content refused by key."""

from __future__ import annotations

import json

import pytest

from physapp.io.session import (
    FORMAT,
    VERSION,
    SessionError,
    autosave_path,
    dumps,
    load_session,
    loads,
    make_session,
    save_session,
)

VIEW = {"field": "von_mises", "colormap": "viridis", "show_edges": True, "warp_scale": 0.0,
        "clip": None, "clim": [0.0, 120.5], "split": False, "relative_difference": False,
        "camera": {"position": [0.1, 0.05, 1.2345678901234567], "focal_point": [0.1, 0.05, 0.0],
                   "view_up": [0.0, 1.0, 0.0], "parallel_scale": 0.123456789,
                   "window_center": [0.2, 0.0]}}
PART = {"file": "/data/box.msh", "length_unit": "mm", "element_size": None,
        "picked_regions": {"left": {"facets": [[0, 1, 2]], "seeds": [[0.0, 0.5, 0.5]],
                                    "feature_angle": 30.0}},
        "setup": {"physics": "elasticity", "supports": [], "loads": []}, "values": {"p": 3e6}}


def _session(**kw):
    return make_session("plate-with-hole", {"radius": 0.0123, "traction": 1e7},
                        surrogate="/models/pod-gp.pt", view=VIEW, **kw)


def test_round_trip_is_exact(tmp_path):
    data = _session(part=PART)
    first = save_session(data, tmp_path / "a.physapp").read_text()
    opened = load_session(tmp_path / "a.physapp")
    assert opened == data
    assert opened["view"]["camera"]["position"][2] == 1.2345678901234567
    second = save_session(opened, tmp_path / "b.physapp").read_text()
    assert first == second
    decoded = json.loads(first)
    assert decoded["format"] == FORMAT and decoded["version"] == VERSION
    assert decoded["part"]["file"] == "/data/box.msh" and decoded["surrogate"].endswith(".pt")


def test_newer_version_is_refused_with_update_hint(tmp_path):
    data = json.loads(dumps(_session()))
    data["version"] = VERSION + 1
    path = tmp_path / "new.physapp"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        load_session(path)
    assert f"newer physapp (version {VERSION + 1})" in str(err.value)
    assert "update physapp" in str(err.value)


@pytest.mark.parametrize("edit, key", [
    (lambda d: d["params"].__setitem__("radius", "big"), "params.radius"),
    (lambda d: d.__setitem__("study", 3), "study"),
    (lambda d: d["view"].__setitem__("show_edges", "yes"), "view.show_edges"),
    (lambda d: d["view"]["camera"].__setitem__("position", [1, 2]), "view.camera.position"),
    (lambda d: d["view"].__setitem__("clim", [5, 1]), "view.clim"),
    (lambda d: d.__setitem__("part", {"length_unit": "mm"}), "part.file"),
    (lambda d: d.__setitem__("version", "1"), "version"),
    (lambda d: d.__setitem__("format", "something-else"), "format"),
])
def test_hand_edited_content_is_refused_naming_the_key(tmp_path, edit, key):
    data = json.loads(dumps(_session()))
    edit(data)
    path = tmp_path / "edited.physapp"
    path.write_text(json.dumps(data))
    with pytest.raises(SessionError) as err:
        load_session(path)
    assert f"'{key}'" in str(err.value) and "edited.physapp" in str(err.value)


def test_broken_json_and_missing_file(tmp_path):
    path = tmp_path / "broken.physapp"
    path.write_text(dumps(_session())[:-40])
    with pytest.raises(SessionError, match="not valid JSON"):
        load_session(path)
    with pytest.raises(SessionError, match="NaN"):
        loads(dumps(_session()).replace("0.0123", "NaN"))
    with pytest.raises(SessionError, match="No session file"):
        load_session(tmp_path / "missing.physapp")


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = save_session(_session(), tmp_path / "s.physapp")
    before = path.read_text()
    bad = _session()
    bad["params"]["radius"] = float("inf")
    with pytest.raises(SessionError):
        save_session(bad, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.physapp"]


def test_autosave_path_follows_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert autosave_path() == tmp_path / "physapp" / "autosave.physapp"

"""Hostile session files are refused with one clear message (#14)."""

import json

import pytest

from physapp.io.session import SessionError, load_session, loads, make_session


def _good(**view):
    return make_session("plate-with-hole", {"radius": 0.02}, view={
        "colormap": "viridis", "camera": {"position": [0, 0, 1], "focal_point": [0, 0, 0],
                                          "view_up": [0, 1, 0]}, **view})


def _text(data):
    return json.dumps(data)


def test_good_session_and_bom(tmp_path):
    data = _good()
    path = tmp_path / "s.physapp"
    path.write_bytes(b"\xef\xbb\xbf" + _text(data).encode())
    assert load_session(path)["params"] == {"radius": 0.02}
    assert loads("\ufeff" + _text(data))["study"] == "plate-with-hole"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["params"].update(radius=10**400), "params.radius"),
    (lambda d: d["view"].update(colormap="rainbow-unicorn"), "unknown colour map"),
    (lambda d: d["view"]["camera"].update(position=[0, 0, 0]), "coincide"),
    (lambda d: d["view"]["camera"].update(view_up=[0, 0, 5]), "along the viewing direction"),
    (lambda d: d["view"]["camera"].update(view_up=[0, 0, 0]), "view_up"),
    (lambda d: d["view"]["camera"].update(position=[1e308, 0, 1]), "beyond"),
])
def test_bad_values_are_named(mutate, message):
    data = json.loads(_text(_good()))
    mutate(data)
    text = json.dumps(data) if "10**400" not in message else None
    with pytest.raises(SessionError, match=message):
        loads(text or json.dumps(data))


def test_huge_integers_and_deep_nesting():
    big = _text(_good()).replace('"radius": 0.02', '"radius": ' + "9" * 400)
    with pytest.raises(SessionError, match="params.radius") as err:
        loads(big)
    # the value is named by its first 40 digits, not all 400
    assert "9" * 40 + "... (400 characters)" in str(err.value) and "9" * 41 not in str(err.value)
    huge = _text(_good()).replace('"radius": 0.02', '"radius": ' + "9" * 5000)
    with pytest.raises(SessionError) as err:
        loads(huge)
    assert "9" * 41 not in str(err.value) and len(str(err.value)) < 300
    for key in ('"version": 1', '"format": "physapp-session"'):
        name = key.split(":")[0]
        text = _text(_good()).replace(key, f"{name}: {'7' * 400}")
        with pytest.raises(SessionError, match=name.strip('"')) as err:
            loads(text)
        assert "7" * 40 + "..." in str(err.value) and "7" * 41 not in str(err.value)
    long_name = _text(_good()).replace('"radius": 0.02', '"' + "r" * 400 + '": "x"')
    with pytest.raises(SessionError, match="r" * 40 + r"\.\.\. \(400 characters\)'"):
        loads(long_name)
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SessionError, match="nested too deeply"):
        loads(deep)
    deep_obj = _text(_good())[:-1] + ', "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(SessionError, match="nested too deeply"):
        loads(deep_obj)


def test_session_accepts_exactly_the_colour_maps_of_the_app():
    """One list of colour maps (physapp.core.colormaps) for the app model and the session reader."""
    from physapp.app.view_settings import COLORMAPS as APP_COLORMAPS
    from physapp.core.colormaps import COLORMAPS
    from physapp.io import session

    assert session.COLORMAPS is COLORMAPS is APP_COLORMAPS
    for name in COLORMAPS:
        assert loads(_text(_good(colormap=name)))["view"]["colormap"] == name
    with pytest.raises(SessionError, match="unknown colour map"):
        loads(_text(_good(colormap=COLORMAPS[0].upper())))

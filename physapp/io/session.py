"""Session files (``.physapp``): the whole state of a window as versioned JSON.

Pure Python (no Qt, no VTK): the GUI's session controller gathers the state into a plain dict,
this module validates, serialises and writes it atomically, and reads it back::

    {"format": "physapp-session", "version": 1,
     "study": "plate-with-hole",              # study id ("part:<name>" for an imported part)
     "params": {"radius": 0.02, ...},         # slider values, SI
     "surrogate": "/path/model.pt" | "",      # the prediction source's key ("" = solver only)
     "view": {...},                           # ViewSettings.to_dict(), camera included
     "part": {...} | null}                    # imported part: file, length_unit, set-up ...

Writing is canonical (sorted keys, two-space indent, trailing newline), so a session that is
opened and saved again gives identical bytes. A file of a newer format version is refused with
"made by a newer physapp"; hand-edited content that does not fit is refused with a message that
names the key.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from physapp.core.colormaps import COLORMAPS
from physapp.core.errors import PhysappError, shorten
from physapp.io.export import write_text

FORMAT = "physapp-session"
VERSION = 1
SUFFIX = ".physapp"


class SessionError(PhysappError):
    """A session file that cannot be used (the message says why and names the key)."""


def _fail(where: str, what: str) -> SessionError:
    return SessionError(f"{where}: {what}")


#: largest coordinate a camera may have (beyond it VTK draws nothing: a blank image)
CAMERA_LIMIT = 1e12


def _number(v: Any) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an integer too large for a float (hundreds of digits)
        return False


def _vector(v: Any, n: int) -> bool:
    return isinstance(v, list) and len(v) == n and all(_number(x) for x in v)


def validate(data: Any, where: str = "session") -> dict[str, Any]:
    """Check a decoded session; return it (unchanged) or raise :class:`SessionError` naming the
    first key that is wrong. Unknown top-level keys are kept (a newer minor addition)."""
    if not isinstance(data, dict):
        raise _fail(where, "not a physapp session (the file does not hold a JSON object).")
    if data.get("format") != FORMAT:
        fmt = shorten(repr(data.get("format")))
        raise _fail(where, f"not a physapp session (key 'format' is {fmt}, "
                    f"expected '{FORMAT}').")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(where, "key 'version' must be a positive whole number, got "
                    f"{shorten(repr(version))}.")
    if version > VERSION:
        raise _fail(where, f"made by a newer physapp (version {shorten(version)}); update physapp to "
                    f"open it (this one reads version {VERSION}).")
    study = data.get("study")
    if not isinstance(study, str) or not study:
        raise _fail(where, "key 'study' must be a study id such as 'plate-with-hole'.")
    params = data.get("params")
    if not isinstance(params, dict):
        raise _fail(where, "key 'params' must be an object of parameter names and numbers.")
    for name, value in params.items():
        if not _number(value):
            raise _fail(where, f"key 'params.{shorten(name)}' must be a finite number, got "
                        f"{shorten(repr(value))}.")
    if not isinstance(data.get("surrogate", ""), str):
        raise _fail(where, "key 'surrogate' must be a model path or '' (reference solver).")
    view = data.get("view", {})
    if not isinstance(view, dict):
        raise _fail(where, "key 'view' must be an object.")
    _validate_view(view, where)
    part = data.get("part")
    if part is not None:
        if not isinstance(part, dict):
            raise _fail(where, "key 'part' must be an object or null.")
        if not isinstance(part.get("file"), str) or not part["file"]:
            raise _fail(where, "key 'part.file' must be the path of the part's mesh or CAD file.")
        unit = part.get("length_unit")
        if unit is not None and not isinstance(unit, str):
            raise _fail(where, "key 'part.length_unit' must be a unit such as 'mm' or null.")
        size = part.get("element_size")
        if size is not None and not (_number(size) and size > 0):
            raise _fail(where, "key 'part.element_size' must be a positive number or null.")
        for key in ("setup", "picked_regions", "values"):
            if key in part and not isinstance(part[key], dict):
                raise _fail(where, f"key 'part.{key}' must be an object.")
    return data


def _validate_view(view: Mapping[str, Any], where: str) -> None:
    checks = {
        "field": lambda v: isinstance(v, str),
        "colormap": lambda v: isinstance(v, str) and v in COLORMAPS,
        "show_edges": lambda v: isinstance(v, bool),
        "split": lambda v: isinstance(v, bool),
        "relative_difference": lambda v: isinstance(v, bool),
        "warp_scale": _number,
        "clim": lambda v: v is None or (_vector(v, 2) and v[0] < v[1]),
        "clip": lambda v: v is None or (isinstance(v, list) and len(v) == 2
                                        and all(_vector(x, 3) for x in v)),
    }
    for key, ok in checks.items():
        if key in view and not ok(view[key]):
            if key == "colormap":
                raise _fail(where, f"key 'view.colormap' names an unknown colour map "
                            f"{str(view[key])[:60]!r} (choose from {', '.join(COLORMAPS)}).")
            raise _fail(where, f"key 'view.{key}' has an invalid value {str(view[key])[:80]}.")
    cam = view.get("camera")
    if cam is None:
        return
    if not isinstance(cam, dict):
        raise _fail(where, "key 'view.camera' must be an object or null.")
    for key in ("position", "focal_point", "view_up"):
        if not _vector(cam.get(key), 3):
            raise _fail(where, f"key 'view.camera.{key}' must be three numbers.")
    pos, focal, up = (cam[k] for k in ("position", "focal_point", "view_up"))
    if max(abs(x) for x in [*pos, *focal]) > CAMERA_LIMIT:
        raise _fail(where, f"key 'view.camera' is placed beyond {CAMERA_LIMIT:g} m; nothing would "
                    "be visible (reset the view).")
    d = [a - b for a, b in zip(pos, focal, strict=True)]
    dist = math.sqrt(sum(x * x for x in d))
    up_len = math.sqrt(sum(x * x for x in up))
    if not dist > 0 or not math.isfinite(dist):
        raise _fail(where, "key 'view.camera': position and focal_point coincide, so there is "
                    "no viewing direction (reset the view).")
    cross = [d[1] * up[2] - d[2] * up[1], d[2] * up[0] - d[0] * up[2], d[0] * up[1] - d[1] * up[0]]
    if not up_len > 0 or math.sqrt(sum(x * x for x in cross)) <= 1e-9 * dist * up_len:
        raise _fail(where, "key 'view.camera.view_up' is zero or along the viewing direction "
                    "(reset the view).")
    if "parallel_scale" in cam and not (_number(cam["parallel_scale"])
                                        and cam["parallel_scale"] > 0):
        raise _fail(where, "key 'view.camera.parallel_scale' must be a positive number.")
    if "parallel_projection" in cam and not isinstance(cam["parallel_projection"], bool):
        raise _fail(where, "key 'view.camera.parallel_projection' must be true or false.")


def make_session(study: str, params: Mapping[str, float], *, surrogate: str = "",
                 view: Mapping[str, Any] | None = None,
                 part: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A validated session dict (JSON-able, floats as Python floats)."""
    data = {
        "format": FORMAT, "version": VERSION, "study": study,
        "params": {k: float(v) for k, v in params.items()},
        "surrogate": surrogate or "",
        "view": _plain(dict(view or {})),
        "part": _plain(dict(part)) if part else None,
    }
    return validate(data)


def _plain(value: Any) -> Any:
    """Tuples to lists, numpy scalars to Python numbers (what JSON gives back on reading)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return _plain(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in a session")


def dumps(data: Mapping[str, Any]) -> str:
    """The canonical text of a session (validated first)."""
    validate(dict(data))
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def loads(text: str, where: str = "session") -> dict[str, Any]:
    """Decode and validate session text."""
    try:
        data = json.loads(text.lstrip("\ufeff"), parse_constant=_no_constant)
    except RecursionError:
        raise _fail(where, "not a physapp session (its JSON is nested too deeply).") from None
    except json.JSONDecodeError as exc:
        raise _fail(where, f"not valid JSON (line {exc.lineno}, column {exc.colno}: "
                    f"{exc.msg}); was it edited by hand?") from None
    except ValueError as exc:  # a non-finite constant, or an integer of thousands of digits
        raise _fail(where, str(exc)[:200]) from None
    try:
        return validate(data, where)
    except RecursionError:
        raise _fail(where, "not a physapp session (its JSON is nested too deeply).") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in a session (numbers must be finite)")


def save_session(data: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write a session atomically (an existing file stays intact if writing fails)."""
    return write_text(path, dumps(data))


def load_session(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a session file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is fine
    except FileNotFoundError:
        raise SessionError(f"No session file '{path}'.") from None
    except IsADirectoryError:
        raise SessionError(f"'{path}' is a folder, not a session file.") from None
    except UnicodeDecodeError:
        raise SessionError(f"{path.name}: not a physapp session (not a text file).") from None
    except OSError as exc:
        raise SessionError(f"Cannot read '{path}': {exc.strerror or exc}.") from None
    return loads(text, path.name)


def autosave_path() -> Path:
    """Where the app autosaves (``$XDG_DATA_HOME/physapp/autosave.physapp``)."""
    from physapp.core.paths import user_data_dir

    return user_data_dir() / f"autosave{SUFFIX}"

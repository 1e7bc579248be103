"""The user's settings, without Qt, so that the app and the command line read the same ones.

:class:`AppSettings` is an immutable value (compute device, worker processes, element order,
shipped-surrogate choice, Dask scheduler). They live in :class:`SettingsFile`, a JSON object in
the user's configuration folder (``settings.json`` in :func:`physapp.core.paths.user_config_dir`,
``~/.config/physapp/settings.json`` on Linux) beside the app's other remembered values (window
geometry, recent files). :class:`UserSettings` is the evented holder: ``apply(new)`` saves the
settings and emits ``changed(new)``.

:func:`open_store` opens the file. The first time, when there is no such file but the Qt settings
file of earlier versions (``physapp.conf``, INI) exists, its settings and recent files are
copied over once (read as text; values Qt wrote as binary, such as the window geometry, are
left behind).
"""

from __future__ import annotations

import base64
import configparser
import csv
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from psygnal import Signal

from physapp.core.paths import user_config_dir

ELEMENT_ORDERS = (1, 2)
MAX_WORKERS = 256
#: the settings file's name in the user's configuration folder
SETTINGS_FILE = "settings.json"
#: the QSettings (INI) file of earlier versions, in the same folder
LEGACY_FILE = "physapp.conf"
_DEVICE_RE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
_SCHEDULER_RE = re.compile(r"^(tcp|tls|ucx|inproc)://[^\s/]+(:\d+)?/?$")


def cpu_count() -> int:
    """CPUs this process may run on (respects taskset/cgroup affinity where the OS tells)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class AppSettings:
    """User settings (immutable; ``replace()`` gives a changed copy).

    ``device``: ``"auto"`` (CUDA when torch finds one, else CPU), ``"cpu"`` or ``"cuda:N"``.
    ``workers``: worker processes for parallel batch work. ``element_order``: 1 (P1) or 2 (P2)
    for the reference solver. ``auto_surrogate``: a study opens with its shipped (pre-trained)
    surrogate selected, so the sliders answer at once.
    """

    device: str = "auto"
    workers: int = field(default_factory=cpu_count)
    element_order: int = 2
    auto_surrogate: bool = True
    #: Dask scheduler for sweeps ("tcp://host:8786"); "" = local worker processes
    scheduler: str = ""

    def __post_init__(self) -> None:
        if not _DEVICE_RE.match(self.device):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda:N', not {self.device!r}")
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ValueError(f"workers must be between 1 and {MAX_WORKERS}, not {self.workers}")
        if self.element_order not in ELEMENT_ORDERS:
            raise ValueError(f"element_order must be 1 or 2, not {self.element_order}")
        if self.scheduler and not _SCHEDULER_RE.match(self.scheduler):
            raise ValueError(f"scheduler must look like tcp://host:8786, not {self.scheduler!r}")

    @property
    def device_label(self) -> str:
        """How the status bar names the device: ``cpu``, ``cuda:0``, ``auto``."""
        return "cuda:0" if self.device == "cuda" else self.device


#: store keys of the AppSettings fields (the keys of earlier versions' QSettings file)
KEYS = {"device": "compute/device", "workers": "compute/workers",
        "element_order": "solver/element_order", "auto_surrogate": "surrogates/auto_select",
        "scheduler": "compute/scheduler"}
#: the recent files the app lists (a list of paths)
RECENT_KEY = "recent/files"


# -- the file ------------------------------------------------------------------------------------
def _encode(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    try:  # bytes, or a byte array of a GUI toolkit (the window geometry)
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    except TypeError:
        raise TypeError(f"A {type(value).__name__} cannot be kept in the settings file.") from None


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            try:
                return base64.b64decode(value["$bytes"])
            except (TypeError, ValueError):
                return None
        return {k: _decode(v) for k, v in value.items()}
    return value


class SettingsFile:
    """A JSON object of ``"group/name"`` keys in one file, read again when another store (or
    process) changed it and written at every change (atomically: a crash leaves the old file).

    Its methods are the part of ``QSettings``' interface the app uses (``value``, ``setValue``,
    ``remove``, ``contains``, ``allKeys``, ``sync``, ``fileName``), so code that takes a store
    accepts this or a ``QSettings`` (GUI tests pass a temporary INI file). A damaged file reads
    as empty; a file that cannot be written sets :attr:`error` (nothing raises).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.error = ""
        self._data: dict[str, Any] = {}
        self._stamp: tuple[int, int] | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _load(self) -> dict[str, Any]:
        stamp = self._stat()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                data = json.loads(self.path.read_text(encoding="utf-8")) if stamp else {}
            except (OSError, ValueError):
                data = {}
            self._data = data if isinstance(data, dict) else {}
        return self._data

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            self.error = f"The settings cannot be saved to {self.path}: {exc.strerror or exc}."
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            return
        self.error = ""
        self._data, self._stamp = data, self._stat()

    def value(self, key: str, default: Any = None) -> Any:
        data = self._load()
        return _decode(data[key]) if key in data else default

    def setValue(self, key: str, value: Any) -> None:  # noqa: N802 - QSettings' name
        self._write({**self._load(), key: _encode(value)})

    def update(self, values: Mapping[str, Any]) -> None:
        """Set several keys with one write."""
        self._write({**self._load(), **{k: _encode(v) for k, v in values.items()}})

    def remove(self, key: str) -> None:
        data = self._load()
        if key in data:
            self._write({k: v for k, v in data.items() if k != key})

    def contains(self, key: str) -> bool:
        return key in self._load()

    def allKeys(self) -> list[str]:  # noqa: N802 - QSettings' name
        return sorted(self._load())

    def sync(self) -> None:
        """Every change is written at once; this only reads the file again."""
        self._load()

    def fileName(self) -> str:  # noqa: N802 - QSettings' name
        return str(self.path)


def settings_path() -> Path:
    return user_config_dir() / SETTINGS_FILE


def open_store(path: str | os.PathLike | None = None) -> SettingsFile:
    """The user's settings file (``path``: another one); the first time, the settings of an
    earlier version's Qt settings file beside it are copied in (see the module docstring)."""
    store = SettingsFile(settings_path() if path is None else path)
    legacy = store.path.with_name(LEGACY_FILE)
    if not store.path.exists() and legacy.is_file():
        values = legacy_values(legacy)
        store.update({**values, "migrated_from": str(legacy)})
    return store


def legacy_values(path: str | os.PathLike) -> dict[str, Any]:
    """The settings and recent files in a QSettings INI file, read without Qt; keys with a value
    Qt wrote in its own notation (``@ByteArray(...)``, ``@Variant(...)``) are left out, as is a
    file that cannot be read."""
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.optionxform = str  # keep the keys' case
    try:
        ini.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error):
        return {}
    out: dict[str, Any] = {}
    wanted = {*KEYS.values(), RECENT_KEY}
    for section in ini.sections():
        for name, raw in ini.items(section):
            key = name if section == "General" else f"{section}/{name}"
            if key not in wanted or raw.startswith("@"):
                continue
            if key == RECENT_KEY:  # a string list: "a, b", items with a comma quoted
                out[key] = [p for p in next(csv.reader([raw], skipinitialspace=True), []) if p]
            else:
                out[key] = raw.strip().strip('"')
    return out


# -- the settings --------------------------------------------------------------------------------
def load_settings(store: Any = None) -> AppSettings:
    """Read the settings from ``store`` (a :class:`SettingsFile`, by default the user's, or a
    QSettings); a missing or broken value falls back to its default (never raises)."""
    store = open_store() if store is None else store
    defaults = AppSettings()
    values = {}
    for name, key in KEYS.items():
        raw = store.value(key)
        if raw is None:
            continue
        try:
            if name == "device":
                values[name] = str(raw).strip().lower()
            elif name == "scheduler":
                values[name] = str(raw).strip()
            elif name == "auto_surrogate":  # INI files give "true"/"false" back
                text = str(raw).strip().lower()
                if text not in ("true", "false", "1", "0"):
                    continue
                values[name] = text in ("true", "1")
            else:
                if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
                    continue
                values[name] = int(raw)
        except (TypeError, ValueError):
            continue
    good = {}
    for name, value in values.items():  # one bad value (a hand-edited file): keep the rest
        try:
            replace(defaults, **{name: value})
        except ValueError:
            continue
        good[name] = value
    return replace(defaults, **good)


def save_settings(settings: AppSettings, store: Any = None) -> None:
    """Write the settings (to the user's file by default)."""
    store = open_store() if store is None else store
    for name, key in KEYS.items():
        store.setValue(key, getattr(settings, name))
    store.sync()


class UserSettings:
    """The user's settings as one evented object.

    ``value`` is the current :class:`AppSettings`; :meth:`apply` saves new ones to the store and
    emits ``changed(new)`` (only when they differ). ``store``: where they live (default the
    user's file)."""

    changed = Signal(object)  # the new AppSettings

    def __init__(self, store: Any = None) -> None:
        self.store = open_store() if store is None else store
        self.value = load_settings(self.store)

    def apply(self, settings: AppSettings) -> None:
        save_settings(settings, self.store)
        if settings != self.value:
            self.value = settings
            self.changed.emit(settings)

    def reload(self) -> AppSettings:
        """Read the store again (another process may have changed it); emits on a change."""
        new = load_settings(self.store)
        if new != self.value:
            self.value = new
            self.changed.emit(new)
        return self.value

"""Plugins: static manifests, discovery without importing code, lazy loading on first use.

A plugin is a folder with a ``plugin.toml`` manifest next to its Python package, found in

* the repository's ``plugins/`` folder, the user's data folder (``~/.local/share/physapp/plugins``
  or ``$XDG_DATA_HOME/physapp/plugins``) and the folders in ``$PHYSAPP_PLUGIN_PATH`` (``:``-separated)
  or given to :func:`discover`;
* installed distributions that declare an entry point in the group ``physapp.plugins`` whose value
  names the top-level package holding ``plugin.toml`` (located with ``find_spec``, not imported).

Manifest (see ``physapp/resources/plugins/pressure_vessel/plugin.toml``)::

    [plugin]
    name = "pressure_vessel"        # study and solver ids are prefixed "<name>/"
    version = "1.0.0"
    api = 1                         # plugin API version this plugin was written for
    description = "..."
    [[studies]]
    id = "vessel"                   # becomes "pressure_vessel/vessel"
    entry = "pressure_vessel.study:PressureVesselStudy"
    title = "Pressure vessel"       # shown without importing the code
    [[models]]                      # pre-trained model files shipped with the plugin
    study = "vessel"                # a study of this plugin, or a full id ("plate-with-hole")
    file = "surrogates/pod-gp.pt"   # relative to the plugin folder
    [[surrogates]]                  # a surrogate architecture: physapp train --model <id>
    id = "my-model"
    entry = "pkg.module:MyModel"    # a FieldSurrogate subclass
    [[readers]]
    extensions = [".foo"]
    entry = "pkg.module:read_foo"   # (path) -> MeshData or (MeshData, ImportReport)
    [[writers]]
    extensions = [".bar"]
    entry = "pkg.module:write_bar"  # (path, result: FieldResult) -> None
    [[panels]]                      # GUI panels (the only contributions that may import Qt)
    id = "my-panel"
    title = "My panel"
    entry = "pkg.panel:MyPanel"     # QWidget class, constructed as MyPanel(main_window)

Look-ups used by the rest of physapp: :func:`find_reader`, :func:`find_writer`,
:func:`surrogate_class`, :func:`model_files`, :func:`contributions` (e.g. ``"panels"``).
Each loads plugin code on first use only; a contribution that fails to load or raises is recorded
(:func:`load_problems`) and turned into a :class:`PluginError` (a clean, one-line error), never a
crash.

``override = true`` on a contribution lets it replace an existing id; a duplicate id is otherwise
an error for that plugin. A broken plugin (bad manifest, newer API, import error, code raising) is
recorded with its error and never stops the app or other plugins.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import tomllib

from physapp.core.errors import PhysappError

API_VERSION = 1
KINDS = ("studies", "solvers", "surrogates", "models", "readers", "writers", "panels")
RESOURCES = Path(__file__).resolve().parents[1] / "resources"  # shipped inside the package
REPO_PLUGINS = RESOURCES / "plugins"  # the bundled example plugin(s)


class PluginError(PhysappError):
    """A plugin could not be read or loaded; the message names the plugin and the cause."""


@dataclass
class Contribution:
    plugin: str
    kind: str
    id: str
    entry: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    override: bool = False

    def load(self) -> Any:
        """Import and return the object named by ``entry`` (module:attribute)."""
        return load_entry(self.plugin, self.entry)


@dataclass
class PluginInfo:
    name: str
    version: str = ""
    description: str = ""
    path: str = ""
    source: str = "folder"  # folder | entry point | built-in
    contributions: list[Contribution] = field(default_factory=list)
    error: str = ""
    enabled: bool = True

    @property
    def ok(self) -> bool:
        return not self.error


_ROOTS: dict[str, Path] = {}  # plugin name -> folder added to sys.path on first use


def load_entry(plugin: str, entry: str) -> Any:
    module_name, _, attr = entry.partition(":")
    root = _ROOTS.get(plugin)
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module
    except Exception as exc:  # noqa: BLE001 - any failure of plugin code is reported, not raised raw
        raise PluginError(
            f"Plugin '{plugin}' failed to load '{entry}': {type(exc).__name__}: {exc}"
        ) from exc


#: manifest schema: section -> field -> (accepted types, required); ``[plugin]`` is one table,
#: the contribution sections are arrays of tables. Unknown fields are allowed (kept in ``data``).
_STR, _INT, _BOOL = (str,), (int,), (bool,)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "plugin": {"name": (_STR, False), "version": ((str, int, float), False), "api": (_INT, False),
               "description": (_STR, False)},
    "studies": {"id": (_STR, True), "entry": (_STR, True), "title": (_STR, False),
                "override": (_BOOL, False)},
    "solvers": {"id": (_STR, True), "entry": (_STR, True), "setup": (_STR, True),
                "dim": (_INT, False), "physics": (_STR, False), "override": (_BOOL, False)},
    "surrogates": {"id": (_STR, True), "entry": (_STR, True), "title": (_STR, False),
                   "override": (_BOOL, False)},
    "models": {"study": (_STR, True), "file": (_STR, True), "override": (_BOOL, False)},
    "readers": {"extensions": ((list,), True), "entry": (_STR, True), "title": (_STR, False),
                "override": (_BOOL, False)},
    "writers": {"extensions": ((list,), True), "entry": (_STR, True), "title": (_STR, False),
                "override": (_BOOL, False)},
    "panels": {"id": (_STR, True), "entry": (_STR, True), "title": (_STR, False),
               "override": (_BOOL, False)},
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false",
               list: "a list"}


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool) and bool not in types:
        return False  # TOML true is not an integer here
    return isinstance(value, types)


def validate_manifest(data: Any) -> str:
    """The first problem of a parsed manifest against :data:`SCHEMA`, or "" when it is valid."""
    if not isinstance(data, dict):
        return "the manifest is not a TOML table"
    unknown = sorted(set(data) - set(SCHEMA))
    if unknown:
        return (f"unknown section(s) {', '.join(unknown)} (known: {', '.join(SCHEMA)})")
    for section, fields in SCHEMA.items():
        if section not in data:
            continue
        value = data[section]
        if section == "plugin":
            items = [value] if isinstance(value, dict) else None
            if items is None:
                return "[plugin] must be a table (name = ..., version = ..., api = 1)"
        else:
            if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
                return (f"{section} must be an array of tables ([[{section}]] sections), not "
                        f"{type(value).__name__}")
            items = value
        where = "[plugin]" if section == "plugin" else f"[[{section}]]"
        for n, item in enumerate(items, 1):
            label = where if section == "plugin" else f"{where} #{n}"
            for key, (types, required) in fields.items():
                if key not in item:
                    if required and key == "entry":
                        return f'{label} has no entry = "module:object"'
                    if required:
                        return f"{label} needs {key} = ..."
                    continue
                if not _is(item[key], types):
                    names = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
                    return f"{label}: {key} must be {names}, not {item[key]!r}"[:300]
            entry = item.get("entry")
            if isinstance(entry, str):
                module, _, attr = entry.partition(":")
                if not module or not all(p.isidentifier() for p in module.split(".")) or (
                        attr and not all(p.isidentifier() for p in attr.split("."))):
                    return f"{label}: entry must be \"package.module:object\", not {entry!r}"
            exts = item.get("extensions")
            if exts is not None and (not exts or not all(
                    isinstance(e, str) and e.startswith(".") and len(e) > 1 for e in exts)):
                return f"{label} needs extensions = [\".ext\", ...] (with the dot)"
            if section == "plugin" and isinstance(item.get("name"), str) and not all(
                    ch.isalnum() or ch in "_-." for ch in item["name"]) or item.get("name") == "":
                return f"[plugin] name {item.get('name')!r} may hold only letters, digits, _ - ."
    return ""


def read_manifest(path: Path, *, source: str = "folder") -> PluginInfo:
    """Parse a plugin.toml into a PluginInfo (errors are recorded in ``info.error``)."""
    try:
        return _read_manifest(path, source)
    except Exception as exc:  # noqa: BLE001 - a manifest never stops discovery
        return PluginInfo(name=path.parent.name, path=str(path.parent), source=source,
                          error=f"manifest {path} is invalid: {type(exc).__name__}: {exc}")


def _read_manifest(path: Path, source: str) -> PluginInfo:
    info = PluginInfo(name=path.parent.name, path=str(path.parent), source=source)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        info.error = f"manifest {path} cannot be read: {exc}"
        return info
    problem = validate_manifest(data)
    if problem:
        head = data.get("plugin")
        if isinstance(head, dict) and isinstance(head.get("name"), str) and head["name"]:
            info.name = head["name"]
        info.error = f"manifest {path}: {problem}"
        return info
    head = data.get("plugin", {})
    info.name = str(head.get("name", info.name))
    info.version = str(head.get("version", ""))
    info.description = str(head.get("description", ""))
    api = head.get("api", 1)
    if not isinstance(api, int) or api > API_VERSION:
        info.error = (f"written for plugin API {api}; this physapp supports API {API_VERSION}. "
                      "Update physapp or use an older version of the plugin.")
        return info
    for kind in KINDS:
        for item in data.get(kind, []):
            if not isinstance(item, dict):
                info.error = f"manifest section [[{kind}]] must be a table"
                return info
            local = str(item.get("id") or item.get("entry") or item.get("file", ""))
            cid = f"{info.name}/{local}" if kind in ("studies", "solvers") else local
            if kind in ("studies", "solvers", "surrogates", "readers", "writers", "panels") and \
                    not item.get("entry"):
                info.error = f"[[{kind}]] '{local}' has no entry = \"module:object\""
                return info
            if kind in ("readers", "writers"):
                exts = item.get("extensions")
                if not isinstance(exts, list) or not exts or not all(
                        isinstance(e, str) and e.startswith(".") for e in exts):
                    info.error = (f"[[{kind}]] '{local}' needs extensions = [\".ext\", ...] "
                                  "(with the dot)")
                    return info
                cid = f"{info.name}:{','.join(e.lower() for e in exts)}"
            if kind == "models":
                if not item.get("study") or not item.get("file"):
                    info.error = "[[models]] needs study = \"id\" and file = \"path.pt\""
                    return info
                cid = f"{info.name}:{item['file']}"
            info.contributions.append(Contribution(info.name, kind, cid, str(item.get("entry", "")),
                                                   dict(item), bool(item.get("override", False))))
    own = {c.id.split("/", 1)[1] for c in info.contributions if c.kind == "studies"}
    for c in info.contributions:
        if c.kind == "models":  # a study of this plugin, or a full id (built-in or other plugin)
            study = str(c.data["study"])
            c.data["study_id"] = f"{info.name}/{study}" if study in own else study
            c.data["path"] = str(Path(info.path) / str(c.data["file"]))
    return info


def _user_plugin_dir() -> Path:
    from physapp.core.paths import user_data_dir

    return user_data_dir() / "plugins"


def _disabled() -> set[str]:
    path = _config_file()
    try:
        return set(json.loads(path.read_text()).get("disabled", []))
    except (OSError, ValueError, AttributeError):
        return set()


def _config_file() -> Path:
    from physapp.core.paths import user_config_dir

    return user_config_dir() / "plugins.json"


def set_enabled(name: str, enabled: bool) -> None:
    """Enable or disable a plugin for the next start (kept in ~/.config/physapp/plugins.json)."""
    disabled = _disabled()
    (disabled.discard if enabled else disabled.add)(name)
    path = _config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"disabled": sorted(disabled)}, indent=2))
    os.replace(tmp, path)


def discover(extra_paths: list[str | Path] | None = None, *, entry_points: bool = True,
             user_dir: bool = True) -> list[PluginInfo]:
    """Find plugin manifests without importing any plugin code."""
    folders = [REPO_PLUGINS]
    if user_dir:
        folders.append(_user_plugin_dir())
    folders += [Path(p) for p in os.environ.get("PHYSAPP_PLUGIN_PATH", "").split(os.pathsep) if p]
    folders += [Path(p) for p in extra_paths or []]
    found: list[PluginInfo] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for manifest in sorted(folder.glob("*/plugin.toml")):
            info = read_manifest(manifest)
            _ROOTS.setdefault(info.name, manifest.parent)
            found.append(info)
    if entry_points:
        for ep in metadata.entry_points(group="physapp.plugins"):
            try:
                spec = importlib.util.find_spec(ep.value.split(":")[0].split(".")[0])
                if spec is None or not spec.submodule_search_locations:
                    raise PluginError(f"package '{ep.value}' not found")
                pkg_dir = Path(list(spec.submodule_search_locations)[0])
                info = read_manifest(pkg_dir / "plugin.toml", source="entry point")
                _ROOTS.setdefault(info.name, pkg_dir.parent)
            except Exception as exc:  # noqa: BLE001
                info = PluginInfo(ep.name, source="entry point", error=str(exc))
            found.append(info)
    disabled = _disabled()
    seen: dict[tuple[str, str], str] = {}
    names: set[str] = set()
    for info in found:
        if info.name in names and info.ok:
            info.error = f"another plugin named '{info.name}' was found first; this copy is ignored"
        names.add(info.name)
        info.enabled = info.name not in disabled
        if not info.ok or not info.enabled:
            continue
        for c in info.contributions:
            key = (c.kind, c.id)
            if key in seen and not c.override:
                info.error = (f"{c.kind[:-1]} id '{c.id}' is already provided by '{seen[key]}' "
                              "(set override = true in the manifest to replace it)")
                break
            seen[key] = info.name
    return found


def builtin_plugin() -> PluginInfo:
    """The built-in studies, declared like any plugin (physapp/plugins/builtin.toml)."""
    info = read_manifest(Path(__file__).with_name("builtin.toml"), source="built-in")
    for c in info.contributions:  # built-in ids are not prefixed
        c.id = c.id.split("/", 1)[1] if c.kind in ("studies", "solvers") else c.id
    return info


# -- registry of every contribution (built-in first), for the look-ups below --------------------
_CACHE: dict[str, Any] = {}
_LOAD_PROBLEMS: dict[str, str] = {}  # plugin name -> last failure of one of its contributions


def all_plugins(*, refresh: bool = False) -> list[PluginInfo]:
    """The built-in plugin and every discovered one (cached; ``refresh`` discovers again)."""
    if refresh or "plugins" not in _CACHE:
        _CACHE.clear()
        _CACHE["plugins"] = [builtin_plugin(), *discover()]
    return _CACHE["plugins"]


def refresh() -> None:
    """Forget the cached discovery (after installing a plugin or changing PHYSAPP_PLUGIN_PATH)."""
    _CACHE.clear()


def contributions(kind: str, *, builtin_only: bool = False) -> list[Contribution]:
    """Contributions of ``kind`` from working, enabled plugins: built-in first, in discovery
    order; a contribution with ``override = true`` comes before the ones it replaces."""
    if builtin_only:
        key = f"builtin:{kind}"
        if key not in _CACHE:
            _CACHE[key] = [c for c in builtin_plugin().contributions if c.kind == kind]
        return _CACHE[key]
    items = [c for info in all_plugins() if info.ok and info.enabled
             for c in info.contributions if c.kind == kind]
    return [c for c in items if c.override] + [c for c in items if not c.override]


def record_failure(c: Contribution, exc: BaseException) -> PluginError:
    """Keep a contribution's failure for `physapp plugins` and return it as a PluginError."""
    err = exc if isinstance(exc, PluginError) else PluginError(
        f"Plugin '{c.plugin}': {c.kind[:-1]} '{c.entry}' failed: {type(exc).__name__}: {exc}")
    _LOAD_PROBLEMS[c.plugin] = str(err)
    return err


def load_problems() -> dict[str, str]:
    """Plugin name -> the last error of one of its readers, writers, surrogates or panels."""
    return dict(_LOAD_PROBLEMS)


def load_contribution(c: Contribution) -> Any:
    """``c.load()``, with a failure recorded for ``physapp plugins`` and raised as PluginError."""
    try:
        return c.load()
    except Exception as exc:  # noqa: BLE001
        raise record_failure(c, exc) from exc


def _by_extension(kind: str, ext: str) -> Contribution | None:
    ext = ext.lower() if ext.startswith(".") else f".{ext.lower()}"
    for c in contributions(kind):
        if ext in (e.lower() for e in c.data.get("extensions", ())):
            return c
    return None


def reader_contribution(ext: str) -> Contribution | None:
    """The reader contribution for a file extension (``".vtu"``), or None."""
    return _by_extension("readers", ext)


def writer_contribution(ext: str) -> Contribution | None:
    """The writer contribution for a file extension (``".vtu"``), or None."""
    return _by_extension("writers", ext)


def _guarded(c: Contribution) -> Any:
    """A callable that loads ``c`` when called and turns any failure into a PluginError."""

    def call(*args: Any, **kwargs: Any) -> Any:
        fn = load_contribution(c)
        try:
            return fn(*args, **kwargs)
        except PhysappError:
            raise
        except Exception as exc:  # noqa: BLE001 - plugin code raising
            raise record_failure(c, exc) from exc

    call.contribution = c  # type: ignore[attr-defined]
    call.__name__ = c.entry.rpartition(":")[2] or c.entry
    return call


def notice(text: str) -> None:
    """A one-line note for the user (stderr; the GUI's job log)."""
    print(f"physapp: note: {text}", file=sys.stderr)


def find_solver(setup_type: str, dim: int) -> tuple[Contribution, Any] | None:
    """(contribution, ``solve(mesh, setup, *, order, progress, cancel)``) registered for a
    set-up class named ``setup_type`` on ``dim``-dimensional meshes (a solver's ``dim`` 0 or
    absent: any); one declared with ``override = true`` first, then the built-in ones, then
    other plugins'. None when nothing solves it.

    An overriding plugin solver that fails (its code does not load, or raises anything but a
    PhysappError) falls back to the built-in solver with a notice."""
    found = [c for c in contributions("solvers")
             if c.data.get("setup") == setup_type and int(c.data.get("dim", 0) or 0) in (0, dim)]
    if not found:
        return None
    first = found[0]
    builtin = next((c for c in found if c.plugin == "physapp"), None)
    if not first.override or builtin is None or first is builtin:
        return first, _guarded(first)
    primary, fallback = _guarded(first), _guarded(builtin)

    def solve(*args: Any, **kwargs: Any) -> Any:
        try:
            return primary(*args, **kwargs)
        except PluginError as exc:
            notice(f"{exc} -- solved with the built-in solver '{builtin.id}' instead.")
            return fallback(*args, **kwargs)

    solve.contribution = first  # type: ignore[attr-defined]
    return first, solve


def find_reader(ext: str) -> Any:
    """``reader(path) -> MeshData | (MeshData, ImportReport)`` for ``ext``, or None.

    The callable imports the plugin code on first call; failures raise PluginError.
    """
    c = reader_contribution(ext)
    return None if c is None else _guarded(c)


def find_writer(ext: str) -> Any:
    """``writer(path, result: FieldResult) -> None`` for ``ext`` (``".vtu"``), or None."""
    c = writer_contribution(ext)
    return None if c is None else _guarded(c)


def reader_extensions() -> list[str]:
    return sorted({e.lower() for c in contributions("readers") for e in c.data["extensions"]})


def writer_extensions() -> list[str]:
    return sorted({e.lower() for c in contributions("writers") for e in c.data["extensions"]})


def surrogate_contribution(kind: str) -> Contribution | None:
    """The surrogate architecture registered as ``kind`` (built-in ones without discovery)."""
    for c in contributions("surrogates", builtin_only=True):
        if c.id == kind:
            return c
    for c in contributions("surrogates"):
        if c.id == kind:
            return c
    return None


def surrogate_kinds() -> list[str]:
    """Every registered surrogate architecture id (built-in first)."""
    return list(dict.fromkeys(c.id for c in contributions("surrogates")))


def surrogate_class(kind: str) -> type:
    """The model class of ``kind``; PluginError if its plugin fails, KeyError if unknown."""
    c = surrogate_contribution(kind)
    if c is None:
        raise KeyError(kind)
    cls = load_contribution(c)
    if not isinstance(cls, type) or not callable(getattr(cls, "fit", None)):
        raise record_failure(c, TypeError(f"{c.entry} is not a FieldSurrogate class"))
    if getattr(cls, "kind", "") != kind:  # model files store the kind: it must find the class
        cls.kind = kind
    return cls


def model_files(study_id: str) -> list[Path]:
    """Pre-trained model files that plugins ship for ``study_id`` (existing files only)."""
    return [Path(c.data["path"]) for c in contributions("models")
            if c.data.get("study_id") == study_id and Path(c.data["path"]).is_file()]


def check_contributions(kinds: tuple[str, ...] = ("surrogates", "readers", "writers")
                        ) -> dict[str, str]:
    """Import the code of every contribution of ``kinds`` (not panels: they need Qt) and return
    plugin name -> error of the ones that fail (also kept in :func:`load_problems`)."""
    out: dict[str, str] = {}
    for kind in kinds:
        for c in contributions(kind):
            try:
                load_contribution(c)
            except PluginError as exc:
                out.setdefault(c.plugin, str(exc))
    for c in contributions("models"):
        if not Path(c.data["path"]).is_file():
            out.setdefault(c.plugin, f"Plugin '{c.plugin}': model file {c.data['path']} is "
                           "missing")
    return out


def shipped_models(study_id: str) -> list[Path]:
    """Pre-trained models for ``study_id``: the built-in ones (``physapp/resources/surrogates/<id>``,
    shipped inside the package) first, then those plugins ship (``[[models]]``)."""
    out: list[Path] = []
    folders = [RESOURCES / "surrogates" / study_id]
    for folder in folders:
        if folder.is_dir():
            out += sorted(folder.glob("*.pt"))
    try:
        out += model_files(study_id)
    except Exception:  # noqa: BLE001 - a broken plugin never hides the built-in models
        pass
    return list(dict.fromkeys(p.resolve() for p in out))


def _make_api_callable() -> None:
    from physapp.core.callable_module import make_callable

    make_callable(__name__)  # physapp.plugins() keeps calling the API after this package loads


_make_api_callable()

"""Plugins: static manifests, discovery without importing code, lazy loading on first use.

A plugin is a folder with a ``plugin.toml`` manifest next to its Python package, found in

* the repository's ``plugins/`` folder, the user's data folder (``~/.local/share/physapp/plugins``
  or ``$XDG_DATA_HOME/physapp/plugins``) and the folders in ``$PHYSAPP_PLUGIN_PATH`` (``:``-separated)
  or given to :func:`discover`;
* installed distributions that declare an entry point in the group ``physapp.plugins`` whose value
  names the top-level package holding ``plugin.toml`` (located with ``find_spec``, not imported).

Manifest (see ``plugins/pressure_vessel/plugin.toml``)::

    [plugin]
    name = "pressure_vessel"        # ids are prefixed "<name>/"
    version = "1.0.0"
    api = 1                         # plugin API version this plugin was written for
    description = "..."
    [[studies]]
    id = "vessel"                   # becomes "pressure_vessel/vessel"
    entry = "pressure_vessel.study:PressureVesselStudy"
    title = "Pressure vessel"       # shown without importing the code
    [[surrogates]]                  # pre-trained model files shipped with the plugin
    study = "vessel"
    file = "models/vessel-pod-gp.pt"
    [[readers]]
    extensions = [".foo"]
    entry = "pkg.module:read_foo"   # (path, **options) -> (MeshData, ImportReport)
    [[panels]]                      # GUI panels (the only contributions that may import Qt)
    entry = "pkg.panel:make_panel"

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
KINDS = ("studies", "solvers", "surrogates", "readers", "writers", "panels")
REPO_PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


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


def read_manifest(path: Path, *, source: str = "folder") -> PluginInfo:
    """Parse a plugin.toml into a PluginInfo (errors are recorded in ``info.error``)."""
    info = PluginInfo(name=path.parent.name, path=str(path.parent), source=source)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        info.error = f"manifest {path} cannot be read: {exc}"
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
            if kind in ("studies", "solvers", "readers", "writers", "panels") and not item.get(
                    "entry"):
                info.error = f"[[{kind}]] '{local}' has no entry = \"module:object\""
                return info
            info.contributions.append(Contribution(info.name, kind, cid, str(item.get("entry", "")),
                                                   dict(item), bool(item.get("override", False))))
    return info


def _user_plugin_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "physapp" / "plugins"


def _disabled() -> set[str]:
    path = _config_file()
    try:
        return set(json.loads(path.read_text()).get("disabled", []))
    except (OSError, ValueError, AttributeError):
        return set()


def _config_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "physapp" / "plugins.json"


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

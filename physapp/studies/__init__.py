"""Study registry: built-in studies and plugin studies, declared by manifests, imported lazily.

The built-in studies are listed in ``physapp/plugins/builtin.toml`` and registered exactly like a
plugin's (see :mod:`physapp.plugins`); plugin studies carry the id ``<plugin>/<id>``. A study's
code is imported the first time it is listed or opened; a plugin that fails is reported by
:func:`plugin_problems` and skipped, the others keep working.
"""

from __future__ import annotations

from physapp.core.errors import PhysappError
from physapp.core.study import Study
from physapp.plugins import Contribution, PluginError, builtin_plugin, discover

_STUDIES: dict[str, type | Contribution] = {}
_PROBLEMS: dict[str, str] = {}
_STATE = {"plugins_loaded": False}


def _register_builtins() -> None:
    for c in builtin_plugin().contributions:
        if c.kind == "studies":
            _STUDIES.setdefault(c.id, c)


def load_plugins(extra_paths=None, *, force: bool = False) -> None:
    """Discover plugins (once) and register their studies lazily."""
    if _STATE["plugins_loaded"] and not force:
        return
    _STATE["plugins_loaded"] = True
    for info in discover(extra_paths):
        if not info.ok:
            _PROBLEMS[info.name] = info.error
            continue
        if not info.enabled:
            continue
        for c in info.contributions:
            if c.kind == "studies" and (c.id not in _STUDIES or c.override):
                _STUDIES[c.id] = c


def _resolve(study_id: str) -> type:
    entry = _STUDIES[study_id]
    if isinstance(entry, Contribution):
        cls = entry.load()
        spec = getattr(cls, "spec", None)
        if spec is None:
            raise PluginError(f"Plugin '{entry.plugin}': {entry.entry} has no StudySpec 'spec'.")
        if entry.plugin != "physapp" and spec.id != study_id:
            # ids are the manifest's (prefixed), whatever the class says
            # instances pickle as get_study(id), so worker processes (sweeps) rebuild them
            cls = type(cls.__name__, (cls,), {"spec": _with_id(spec, study_id),
                                              "__reduce__": lambda self, _i=study_id: (
                                                  get_study, (_i,))})
        _STUDIES[study_id] = cls
        return cls
    return entry


def _with_id(spec, study_id):
    from dataclasses import replace

    return replace(spec, id=study_id)


def list_studies() -> list[Study]:
    """All registered studies that load, in registration order (broken plugins are skipped)."""
    load_plugins()
    out = []
    for study_id in list(_STUDIES):
        try:
            out.append(_resolve(study_id)())
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not break the list
            plugin = study_id.split("/", 1)[0]
            _PROBLEMS[plugin] = str(exc)
            _STUDIES.pop(study_id, None)
    return out


def get_study(study_id: str) -> Study:
    """The study registered under ``study_id``; a clear error names the known ones otherwise."""
    if study_id.startswith("part:") and "::" in study_id:  # an imported part + set-up file
        from physapp.studies.imported import study_from_id

        return study_from_id(study_id)
    load_plugins()
    if study_id not in _STUDIES:
        known = ", ".join(_STUDIES)
        raise PhysappError(f"Unknown study '{study_id}'. Available studies: {known}.")
    try:
        return _resolve(study_id)()
    except PhysappError:
        raise
    except Exception as exc:  # noqa: BLE001 - plugin code raising in its constructor
        raise PluginError(f"Study '{study_id}' failed to start: {type(exc).__name__}: {exc}") from exc


def plugin_problems() -> dict[str, str]:
    """Plugin name -> what went wrong (manifest, API version, import or start-up error)."""
    load_plugins()
    return dict(_PROBLEMS)


def register_study(cls: type) -> None:
    """Register a study class directly (scripts, tests); a duplicate id is an error."""
    if cls.spec.id in _STUDIES and _STUDIES[cls.spec.id] is not cls:
        raise PhysappError(f"A study with id '{cls.spec.id}' is already registered.")
    _STUDIES[cls.spec.id] = cls


_register_builtins()

from physapp.core.callable_module import make_callable  # noqa: E402 - after the module is built

make_callable(__name__)  # physapp.studies() keeps calling the API after this package loads

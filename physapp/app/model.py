"""The application model: the one place where the desktop app's state lives.

Qt-free, VTK-free and torch-free (napari's ``ViewerModel`` and glue's state objects are the
pattern): widgets receive their slice and subscribe to its events; controllers change the model
and never reach into the main window. Events come from psygnal (evented dataclasses emit
``model.view.events.<field>(new, old)`` once per actual change; plain :class:`psygnal.Signal`
where a change carries more than one value).

Slices::

    AppModel
      design   DesignModel   study, parameter values (SI), version (bumped by every change)
      view     ViewModel     shown field, colour map, colour range + lock, edges, warp, section,
                             split view, camera
      source   SourceModel   prediction source: '' (reference solver) or a surrogate key; the
                             key quantities of the prediction on screen
      solve    SolveModel    job state, progress, last solved parameters, finished solves
      playback PlaybackModel the history on screen: steps, step shown, time, play/speed/loop
      part     PartModel     imported part: its state (file, unit, set-up) or None
      session  SessionModel  file path and the dirty flag
      settings UserSettings  the user's settings (device, workers, element order, ...): the
                             same ``settings.json`` the command line reads
                             (:mod:`physapp.app.settings`); ``settings.changed(new)``
      messages Signal(text, level, tag): non-modal messages for the message bar

A session file is :meth:`AppModel.to_dict` (the :mod:`physapp.io.session` format, version 1) and
:meth:`AppModel.from_dict` reads one back (validating values against the study).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from psygnal import Signal, evented

from physapp.app.settings import UserSettings
from physapp.app.view_settings import COLORMAPS, ViewSettings
from physapp.core.errors import ParameterError
from physapp.core.study import Study

#: the session format :meth:`AppModel.to_dict` writes (same as :mod:`physapp.io.session`)
SESSION_FORMAT = "physapp-session"
SESSION_VERSION = 1

#: states of :attr:`SolveModel.status`
SOLVE_STATES = ("idle", "solving", "done", "failed", "cancelled")


class DesignModel:
    """The open study and its parameter values (SI units); validation of single values is here.

    It lives as long as the window: a study switch is :meth:`set_study`, which emits
    ``study_changed``; nothing needs re-wiring. Every value change bumps :attr:`version` so
    results computed for an older design can be recognised. Cross-parameter checks (does the
    hole fit?) need the geometry and run in the meshing worker.
    """

    changed = Signal(str, float)  # parameter name, new SI value
    study_changed = Signal(object)  # the new Study

    def __init__(self, study: Study | None = None) -> None:
        self.study: Study | None = None
        self._values: dict[str, float] = {}
        self.version = 0
        if study is not None:
            self.set_study(study)

    @property
    def spec(self):
        """The open study's :class:`~physapp.core.study.StudySpec` (None before one is open)."""
        return None if self.study is None else self.study.spec

    @property
    def study_id(self) -> str:
        return "" if self.study is None else self.study.spec.id

    @property
    def params(self) -> dict[str, float]:
        """A copy of the current values (safe to hand to a worker)."""
        return dict(self._values)

    def value(self, name: str) -> float:
        return self._values[name]

    def set_study(self, study: Study, values: Mapping[str, float] | None = None) -> None:
        """Open ``study`` at its defaults, overridden by those of ``values`` that it has and
        that lie in its ranges (others are dropped: a switch never fails on old values)."""
        new = study.spec.defaults()
        for p in study.spec.parameters:
            v = (values or {}).get(p.name)
            if v is not None and p.lower <= v <= p.upper:
                new[p.name] = float(v)
        self.study = study
        self._values = new
        self.version += 1
        self.study_changed.emit(study)

    def set_value(self, name: str, value: float) -> None:
        """Set one parameter (SI units); raises ParameterError outside its bounds."""
        value = self.spec.parameter(name).validate(value)
        if value == self._values[name]:
            return
        self._values[name] = value
        self.version += 1
        self.changed.emit(name, value)

    def set_values(self, values: Mapping[str, float]) -> None:
        """Set several parameters; all are validated before any is changed."""
        checked = {n: self.spec.parameter(n).validate(v) for n, v in values.items()}
        for name, value in checked.items():
            self.set_value(name, value)

    def geometry(self, params: Mapping[str, float] | None = None) -> tuple[float, ...]:
        """The geometric parameter values (a key: equal tuples give the same mesh)."""
        params = self._values if params is None else params
        return tuple(params[p.name] for p in self.spec.parameters if p.geometric)


def _vec3(v: Any) -> tuple[float, float, float]:
    out = tuple(float(x) for x in v)
    if len(out) != 3:
        raise ValueError("needs 3 numbers")
    return out  # type: ignore[return-value]


@evented
@dataclass
class ViewModel:
    """What the viewport shows besides the data (all viewports: main, split panes, exports).

    Values are normalised on assignment (tuples of floats), so a list from JSON compares equal
    to the tuple already there and emits nothing. ``clim`` is the locked colour range in display
    units; None: the range follows the data.
    """

    field: str = ""  # name of the shown field ('' = the study's default)
    colormap: str = "turbo"
    show_edges: bool = False
    warp_scale: float = 0.0
    clip: tuple | None = None  # (origin xyz, normal xyz): half-space (x-o).n >= 0 kept
    clim: tuple | None = None
    split: bool = False
    relative_difference: bool = False
    streamlines: bool = False  # flow results only (physapp.gui.flow_view)
    glyphs: bool = False
    camera: dict | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        value = _normalise_view(name, value)
        super().__setattr__(name, value)

    def snapshot(self) -> ViewSettings:
        """The values as a plain :class:`ViewSettings`."""
        return ViewSettings(field=self.field, colormap=self.colormap,
                            show_edges=self.show_edges, warp_scale=self.warp_scale,
                            clip=self.clip, clim=self.clim,
                            split=self.split, relative_difference=self.relative_difference,
                            streamlines=self.streamlines, glyphs=self.glyphs,
                            camera=self.camera)

    def update(self, settings: ViewSettings | Mapping[str, Any]) -> None:
        """Take the values of ``settings`` (a ViewSettings or its dict; a dict may omit keys)."""
        data = settings.to_dict() if isinstance(settings, ViewSettings) else dict(settings)
        for f in fields(self):
            if f.name in data:
                setattr(self, f.name, data[f.name])

    def to_dict(self) -> dict[str, Any]:
        return self.snapshot().to_dict()


def _normalise_view(name: str, value: Any) -> Any:
    if name == "colormap" and value not in COLORMAPS:
        raise ValueError(f"colormap: unknown colour map {value!r} (one of {', '.join(COLORMAPS)})")
    if name == "warp_scale":
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError("warp_scale must be a finite number >= 0")
    if name in ("show_edges", "split", "relative_difference", "streamlines", "glyphs"):
        value = bool(value)
    if name == "clim" and value is not None:
        lo, hi = (float(x) for x in value)
        if not lo < hi:
            raise ValueError(f"clim: the minimum {lo:g} must be below the maximum {hi:g}")
        value = (lo, hi)
    if name == "clip" and value is not None:
        o, n = value
        value = (_vec3(o), _vec3(n))
    if name == "camera" and value is not None:
        value = ViewSettings(camera=dict(value)).camera  # checks keys, makes tuples
    return value


@evented
@dataclass
class SourceModel:
    """Where the shown field comes from: '' = the reference solver, else a surrogate's key
    (a path of a model file, a shipped model's key or ``session:<n>`` for one trained here)."""

    surrogate: str = ""
    #: a surrogate frame is on screen (or about to be)
    showing: bool = False
    #: key quantities of the complete prediction on screen, name -> SI value, computed from its
    #: fields like a solve's (:mod:`physapp.core.quantities`); None while none is shown. Its
    #: units are set first, so a subscriber to this event reads matching ones.
    key_quantities: dict | None = None
    key_units: dict | None = None


@evented
@dataclass
class SolveModel:
    """The reference solve: state of the running job and what the last result was solved for."""

    status: str = "idle"  # one of SOLVE_STATES
    progress: float = 0.0  # 0..1 of the running job
    message: str = ""  # the solver's last progress message, or why it failed
    job: int = 0  # id of the running job (0 = none)
    job_version: int = -1  # design version the running job was submitted for
    job_params: dict | None = None
    solved_params: dict | None = None  # parameters of the result on screen (None = none yet)
    #: finished solves in this window (all studies); bumped once the result is applied, so a
    #: subscriber sees the new result on screen
    count: int = 0

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "status" and value not in SOLVE_STATES:
            raise ValueError(f"status must be one of {', '.join(SOLVE_STATES)}, got {value!r}")
        if name == "progress":
            value = min(1.0, max(0.0, float(value)))
        super().__setattr__(name, value)

    @property
    def busy(self) -> bool:
        return self.status == "solving"

    def start(self, job: int, version: int, params: Mapping[str, float]) -> None:
        self.job, self.job_version, self.job_params = job, version, dict(params)
        self.message = "starting solver \u2026"
        self.progress = 0.0
        self.status = "solving"

    def finish(self, status: str, message: str = "") -> None:
        """The running job ended (``done``, ``failed`` or ``cancelled``)."""
        self.job, self.job_params, self.job_version = 0, None, -1
        self.message = message
        self.progress = 1.0 if status == "done" else 0.0
        self.status = status


#: playback speeds the time slider offers (frames per second = PLAYBACK_FPS * speed)
PLAYBACK_SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)
PLAYBACK_FPS = 20.0


@evented
@dataclass
class PlaybackModel:
    """The history on screen (a transient or load-stepped result): its step count, the step
    shown and its time, and the player's state. ``n_steps == 0``: no history is shown."""

    n_steps: int = 0
    step: int = 0
    time: float = 0.0
    playing: bool = False
    speed: float = 1.0  # multiplies PLAYBACK_FPS
    loop: bool = True

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("n_steps", "step"):
            value = max(0, int(value))
        if name == "speed":
            value = float(value)
            if not math.isfinite(value) or value <= 0:
                raise ValueError("speed must be a positive number")
        if name in ("playing", "loop"):
            value = bool(value)
        super().__setattr__(name, value)

    @property
    def active(self) -> bool:
        return self.n_steps > 0


@evented
@dataclass
class PartModel:
    """An imported part: its state as :meth:`PartController.part_state` gives it (file, length
    unit, set-up, values) or None when a built-in study is open."""

    state: dict | None = None
    #: the set-up is incomplete (the panel says why); a solve is not possible
    problem: str = ""

    @property
    def active(self) -> bool:
        return self.state is not None


@evented
@dataclass
class SessionModel:
    """The session file Ctrl+S writes to, and whether there are changes not saved in it."""

    path: str = ""
    dirty: bool = False


class AppModel:
    """The whole state of one main window (see the module docstring)."""

    messages = Signal(str, str, str)  # text, level ('error'|'warning'|'info'), tag

    def __init__(self, study: Study | None = None, *,
                 settings: UserSettings | None = None) -> None:
        self._settings = settings
        self.design = DesignModel(study)
        self.view = ViewModel()
        self.source = SourceModel()
        self.solve = SolveModel()
        self.playback = PlaybackModel()
        self.part = PartModel()
        self.session = SessionModel()
        if study is not None:
            self.view.field = study.spec.default_field
        self.design.study_changed.connect(self._on_study_changed)
        # what a session file holds changed: the session is dirty
        self.design.changed.connect(self._mark_dirty)
        self.design.study_changed.connect(self._mark_dirty)
        self.view.events.connect(self._on_view_event)
        self.source.events.surrogate.connect(self._mark_dirty)
        self.part.events.state.connect(self._mark_dirty)

    @property
    def settings(self) -> UserSettings:
        """The user's settings (:class:`~physapp.app.settings.UserSettings`; ``.value`` is the
        :class:`~physapp.app.settings.AppSettings`, ``.apply(new)`` saves and emits
        ``changed(new)``). Opened on first use from the user's file unless one was given."""
        if self._settings is None:
            self._settings = UserSettings()
        return self._settings

    def notify(self, text: str, level: str = "error", tag: str = "") -> None:
        """A message for the user (the window shows it in the message bar)."""
        self.messages.emit(text, level, tag)

    def _on_study_changed(self, study: Study) -> None:
        names = {f.name for f in study.spec.fields}
        if "von_mises" in names:  # the GUI derives the safety factor from it (#13)
            names.add("safety_factor")
        if self.view.field not in names:
            self.view.field = study.spec.default_field

    def _on_view_event(self, info) -> None:
        if info.signal.name != "camera":  # the camera moves with every rotation
            self._mark_dirty()

    def _mark_dirty(self, *_args: Any) -> None:
        self.session.dirty = True

    # -- sessions ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The session dict (``physapp-session`` version 1): study, values, source, view,
        part. A surrogate trained in this session (``session:...``) cannot be reopened and is
        saved as ''."""
        key = self.source.surrogate
        if key.startswith("session:"):
            key = ""
        part = self.part.state
        return {"format": SESSION_FORMAT, "version": SESSION_VERSION,
                "study": self.design.study_id,
                "params": {k: float(v) for k, v in self.design.params.items()},
                "surrogate": key, "view": self.view.to_dict(),
                "part": dict(part) if part else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any],
                  get_study: Callable[[str], Study] | None = None) -> AppModel:
        """A model from a session dict (:meth:`to_dict`; old version-1 files included).

        ``get_study`` turns a study id into a Study (the GUI passes the registry's); without it
        only the view, source and part are read. Values are validated against the study:
        a bad one raises :class:`ValueError` naming its key.
        """
        if data.get("format") != SESSION_FORMAT:
            raise ValueError(f"key 'format' must be '{SESSION_FORMAT}'")
        version = data.get("version")
        if not isinstance(version, int) or not 1 <= version <= SESSION_VERSION:
            raise ValueError(f"key 'version' must be 1..{SESSION_VERSION}, got {version!r}")
        model = cls()
        part = data.get("part")
        if get_study is not None and not part:
            model.design.set_study(get_study(str(data["study"])))
            model.view.field = model.design.spec.default_field
            try:
                model.design.set_values(dict(data.get("params") or {}))
            except ParameterError as exc:
                raise ValueError(f"key 'params': {exc}") from None
            except KeyError as exc:
                raise ValueError(f"key 'params.{exc.args[0]}': not a parameter of "
                                 f"{model.design.study_id}") from None
        try:
            model.view.update(dict(data.get("view") or {}))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"key 'view': {exc}") from None
        surrogate = data.get("surrogate", "")
        if not isinstance(surrogate, str):
            raise ValueError("key 'surrogate' must be a string")
        model.source.surrogate = surrogate
        model.part.state = dict(part) if part else None
        model.session.dirty = False
        return model


__all__ = ["AppModel", "DesignModel", "PartModel", "PlaybackModel", "SessionModel",
           "SolveModel", "SourceModel", "ViewModel"]

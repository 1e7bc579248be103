"""Playback of a history (#18): a time slider with play/pause, speed and loop under the viewport.

:class:`PlaybackController` holds the ``FieldHistory`` on screen (a transient solve; its frames
may live in an HDF5 file and are read one at a time) and follows ``app.playback`` (the Qt-free
:class:`~physapp.app.model.PlaybackModel`): a change of ``step`` (the slider, the player's timer,
a session, a test) reads that frame and writes it **in place** into the viewport's grid
(``Viewport.update_result``: one render, no rebuild), with one colour range for the whole history
(the ranges the solver recorded while streaming; a colour range the user locked wins). While
playing, only the shown field is read (and the displacement for a warped view), unless a probe or
the line plot needs every field. The frames per second actually rendered are measured and shown.

The curves over time and the probe history are in :mod:`physapp.gui.history_chart`.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QWidget,
)

from physapp.app.model import PLAYBACK_FPS, PLAYBACK_SPEEDS, PlaybackModel
from physapp.core.history import FieldHistory
from physapp.core.results import FieldResult
from physapp.gui.binding import subscribe
from physapp.viz.grids import display_unit

WARP_FIELD = "displacement"
#: while playing, the slider and time label update at most this often
BAR_INTERVAL_S = 0.25
#: the slider's least width (px): in a narrow bar the time label drops its axis name first
#: (the name stays in its tooltip) rather than squeeze the slider away or clip ("(21/2", #13)
SLIDER_WIDTH = 100


def format_time(t: float, unit: str) -> str:
    return f"{t:.4g} {unit}".strip()


def step_axis(history: FieldHistory | None) -> tuple[float, str]:
    """The factor and unit the step axis of ``history`` is shown in: lengths in mm like every
    other length (a plate travel of 0.0035 m reads 3.5 mm), seconds as they are
    (:func:`~physapp.viz.grids.display_unit`)."""
    if history is None:
        return 1.0, ""
    times = np.abs(np.asarray(history.times, dtype=float))
    return display_unit(history.time_unit, float(times.max()) if times.size else None)


def step_text(history: FieldHistory, t: float) -> str:
    """"top displacement = 3.5 mm": step-axis value ``t`` (SI) of ``history`` as shown."""
    factor, unit = step_axis(history)
    return f"{history.time_label} = {format_time(t * factor, unit)}"


class PlaybackBar(QWidget):
    """Play/pause, the step slider, the time, speed, loop and the measured frame rate."""

    def __init__(self, model: PlaybackModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.time_label_text = "time"
        self.time_unit = "s"
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        self.play_button = QToolButton()
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause the history")
        self.play_button.toggled.connect(lambda on: setattr(self.model, "playing", on))
        self.play_button.setText("\u23f8")  # as wide for play as for pause (no re-layout)
        fm = self.play_button.fontMetrics()
        self.play_button.setMinimumWidth(self.play_button.sizeHint().width() + max(
            0, fm.horizontalAdvance("\u25b6") - fm.horizontalAdvance("\u23f8")))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setToolTip("Step of the history shown")
        self.slider.setMinimumWidth(SLIDER_WIDTH)
        self.slider.valueChanged.connect(lambda v: setattr(self.model, "step", v))
        self.time_factor = 1.0  # shown = SI x factor (m -> mm)
        self.time_label = QLabel()
        self._short: bool | None = None  # the label without the axis name (a narrow bar)
        self.speed_combo = QComboBox()
        for s in PLAYBACK_SPEEDS:
            self.speed_combo.addItem(f"{s:g}x", s)
        self.speed_combo.setToolTip(f"Playback speed (1x = {PLAYBACK_FPS:g} frames per second)")
        self.speed_combo.currentIndexChanged.connect(
            lambda _i: setattr(self.model, "speed", self.speed_combo.currentData()))
        self.loop_check = QCheckBox("Loop")
        self.loop_check.toggled.connect(lambda on: setattr(self.model, "loop", on))
        self.fps_label = QLabel()
        self.fps_label.setToolTip("Frames per second rendered while playing")
        # room for any rate from the start: a label that widens while playing re-lays out the
        # bar, and in a tight window the viewport above it (a resize: a render of its own)
        self.fps_label.setMinimumWidth(self.fps_label.fontMetrics().horizontalAdvance("888 fps"))
        #: the widest time text of the history shown (its longest time, step n/n): the label is
        #: that wide from the first step, so playing never re-lays out the bar
        self._widest = ""
        for w in (self.play_button, self.slider, self.time_label, self.speed_combo,
                  self.loop_check, self.fps_label):
            row.addWidget(w, 1 if w is self.slider else 0)
        self._synced = 0.0
        subscribe(self, model.events.n_steps, self._sync)
        subscribe(self, model.events.step, self._sync_step)
        subscribe(self, model.events.time, self._sync_step)
        subscribe(self, model.events.playing, self._sync)
        subscribe(self, model.events.speed, self._sync)
        subscribe(self, model.events.loop, self._sync)
        self._sync()

    def _sync_step(self, *_args) -> None:
        """The step moved: while playing, the slider and time follow a few times a second only
        (cheap since the viewport is a native window of its own; before, each repaint next to
        the GL view cost a whole-window composition: about 17 ms CPU at 1400 x 900)."""
        if self.model.playing and time.perf_counter() - self._synced < BAR_INTERVAL_S:
            return
        self._sync()

    def _sync(self, *_args) -> None:
        self._synced = time.perf_counter()
        m = self.model
        with QSignalBlocker(self.slider):
            self.slider.setRange(0, max(m.n_steps - 1, 0))
            self.slider.setValue(m.step)
        with QSignalBlocker(self.play_button):
            self.play_button.setChecked(m.playing)
        self.play_button.setText("\u23f8" if m.playing else "\u25b6")
        with QSignalBlocker(self.speed_combo):
            i = self.speed_combo.findData(m.speed)
            if i >= 0:
                self.speed_combo.setCurrentIndex(i)
        with QSignalBlocker(self.loop_check):
            self.loop_check.setChecked(m.loop)
        self._show_time()
        self.setVisible(m.n_steps > 0)

    def _show_time(self) -> None:
        """The time label: "top displacement = 3 mm  (21/21)", or "3 mm  (21/21)" when the bar
        is too narrow for it and a usable slider. It widens to its longest text so far and does
        not shrink while the steps play (the slider does not jitter)."""
        m = self.model
        value = (f"{format_time(m.time * self.time_factor, self.time_unit)}  "
                 f"({m.step + 1 if m.n_steps else 0}/{m.n_steps})")
        full = f"{self.time_label_text} = {value}"
        fm = self.time_label.fontMetrics()
        short = fm.horizontalAdvance(full) + 6 > self._room()
        text = value if short else full
        self.time_label.setText(text)
        self.time_label.setToolTip(full)
        widest = self._widest if short else f"{self.time_label_text} = {self._widest}"
        need = max(fm.horizontalAdvance(text), fm.horizontalAdvance(widest)) + 6
        if short != self._short or need > self.time_label.minimumWidth():
            self._short = short
            self.time_label.setMinimumWidth(need)

    def _room(self) -> int:
        """Width (px) the bar leaves the time label beside the others and a usable slider."""
        row = self.layout()
        margins = row.contentsMargins()
        others = [w for w in (self.play_button, self.speed_combo, self.loop_check,
                              self.fps_label) if not w.isHidden()]
        used = (sum(w.sizeHint().width() for w in others) + SLIDER_WIDTH
                + row.spacing() * len(others) + margins.left() + margins.right())
        return self.width() - used

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        if self.model.n_steps:
            self._show_time()  # the axis name comes and goes with the room

    def new_axis(self, label: str, factor: float, unit: str, times=()) -> None:
        """Another history's step axis (``times``: its steps, SI): the label is fitted to it
        afresh, as wide as its widest text."""
        self.time_label_text, self.time_factor, self.time_unit = label, factor, unit
        n = len(times)
        texts = [f"{format_time(float(t) * factor, unit)}  ({n}/{n})" for t in times]
        self._widest = max(texts, key=len, default="")
        self.time_label.setMinimumWidth(0)
        self._short = None


class PlaybackController(QObject):
    """The history on screen and its player (see the module docstring)."""

    #: a new history is on screen (or None: none any more)
    history_changed = Signal(object)
    #: the step shown changed (index); the chart moves its time marker
    step_shown = Signal(int)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.model: PlaybackModel = window.app.playback
        self.history: FieldHistory | None = None
        self.bar = PlaybackBar(self.model)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self._frame_times: deque[float] = deque(maxlen=40)
        #: field -> (min, max) over the history on screen: a range computed from the frames is
        #: computed once per history, not at every step shown
        self._ranges: dict[str, tuple[float, float] | None] = {}
        self._fps_shown = 0.0
        self._skipped = 0
        #: unlit drawing while playing (see _fast_shading); (actor, its lighting) while on
        self.fast_shading = True
        self._lit: tuple | None = None
        self.model.events.step.connect(self._on_step)
        self.model.events.playing.connect(self._on_playing)
        self.model.events.speed.connect(self._on_speed)
        # another field: the frame on screen holds only the old one while playing
        window.app.view.events.field.connect(self._on_field)
        actions = getattr(window, "actions", None)
        if actions is not None and "view.play" not in actions:
            self.play_action = actions.add("view.play", None, "Play / pause history",
                                           self.toggle, "Ctrl+Space",
                                           enabled_when=lambda: self.active)
            window.addAction(self.play_action)  # a shortcut without a menu
            self.bar.play_button.setToolTip("Play / pause the history (Ctrl+Space)")

    # -- the history --------------------------------------------------------------------------
    def set_history(self, history: FieldHistory | None, step: int | None = None) -> None:
        """Show ``history`` (at ``step``, default the last), or none (the bar hides)."""
        self.model.playing = False
        self.history = history
        self._ranges = {}
        self.bar.new_axis(history.time_label if history is not None else "time",
                          *step_axis(history), times=() if history is None else history.times)
        n = 0 if history is None else history.n_steps
        self.model.n_steps = n
        self.history_changed.emit(history)
        if getattr(self.window, "actions", None) is not None:
            self.window.actions.update_enabled()
        if n:
            target = n - 1 if step is None else min(max(step, 0), n - 1)
            if self.model.step == target:
                self._on_step(target)
            else:
                self.model.step = target
        else:
            self.model.step = 0
            self.model.time = 0.0
            vp = getattr(self.window, "viewport", None)
            if vp is not None and vp.fixed_clim is not None:  # back to the user's range
                vp.set_fixed_clim(self.window.app.view.clim)

    def clear(self) -> None:
        if self.history is not None:
            self.set_history(None)

    @property
    def active(self) -> bool:
        return self.history is not None

    def field_range(self, name: str) -> tuple[float, float] | None:
        """(min, max) of field ``name`` (SI) over the whole history (recorded while solving;
        computed from the frames for a history without it)."""
        h = self.history
        if h is None:
            return None
        ranges = h.meta.get("field_ranges") or {}
        if name in ranges:
            lo, hi = ranges[name]
            return float(lo), float(hi)
        if name in self._ranges:
            return self._ranges[name]
        lo, hi = np.inf, -np.inf
        for i in range(h.n_steps):  # no recorded range: one pass, kept for this history
            v = self._frame(i, (name.partition("[")[0],)).scalar(name)
            lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
        self._ranges[name] = (lo, hi) if np.isfinite(lo) else None
        return self._ranges[name]

    # -- frames -------------------------------------------------------------------------------
    def _frame(self, i: int, names=None) -> FieldResult:
        h = self.history
        keep = h.point_data if names is None else {k: h.point_data[k] for k in names
                                                   if k in h.point_data}
        meta = dict(h.meta)
        meta.update(time=float(h.times[i]), step=i, n_steps=h.n_steps,
                    **{f"curve:{k}": float(v[i]) for k, v in h.curves.items()})
        return FieldResult(h.mesh, {k: np.asarray(v[i]) for k, v in keep.items()}, h.source,
                           meta, dict(h.units))

    def frame(self, i: int) -> FieldResult:
        """Step ``i`` with every field (what exports and the probe read)."""
        return self._frame(i)

    def _names(self) -> tuple[str, ...] | None:
        w = self.window
        if w.view_tools.needs_all_fields() or w.app.view.split:
            return None
        names = [w.field[0].partition("[")[0]]
        if w.viewport.warp_scale > 0:
            names.append(WARP_FIELD)
        return tuple(names)

    def _on_step(self, step: int, _old: int = 0) -> None:
        h = self.history
        if h is None or not 0 <= step < h.n_steps:
            return
        w = self.window
        self.model.time = float(h.times[step])
        try:
            frame = self._frame(step, self._names())
        except OSError:  # a file still being written (a live solve): the next look shows it
            return
        name, _, unit = w.field
        vp = w.viewport
        clim = w.app.view.clim
        if clim is None:
            r = self.field_range(name)
            if r is not None:
                factor, _ = display_unit(unit, max(abs(r[0]), abs(r[1])))
                clim = (r[0] * factor, r[1] * factor) if r[1] > r[0] else None
        vp.fixed_clim = clim
        vp.update_result(frame, w.field, on_frame=self._frame_rendered,
                         streaming=self.model.playing)
        self.step_shown.emit(step)

    def _on_field(self, *_args) -> None:
        if self.history is not None:
            self._on_step(self.model.step)

    def _frame_rendered(self, t: float) -> None:
        self._frame_times.append(t)
        if self.model.playing and len(self._frame_times) >= 2:
            fps = self.measured_fps()
            if abs(fps - self._fps_shown) >= 1:  # a label repaint costs (see PlaybackBar)
                self._fps_shown = fps
                self.bar.fps_label.setText(f"{fps:.0f} fps")

    def measured_fps(self) -> float:
        """Frames rendered per second over the recent frames (0 when unknown)."""
        t = list(self._frame_times)
        if len(t) < 2 or t[-1] <= t[0]:
            return 0.0
        return (len(t) - 1) / (t[-1] - t[0])

    # -- the player ---------------------------------------------------------------------------
    def _interval_ms(self) -> int:
        return max(1, int(round(1000.0 / (PLAYBACK_FPS * self.model.speed))))

    def _fast_shading(self, on: bool) -> None:
        """While playing, draw without lighting: software GL pays per lit fragment (a 3D part
        filling the view renders in about half the time); the lit view returns on pause."""
        actor = getattr(self.window.viewport, "actor", None)
        if actor is None:
            return
        if on and self._lit is None and self.fast_shading:
            self._lit = (actor, bool(actor.prop.lighting))
            actor.prop.lighting = False
        elif not on and self._lit is not None:
            old, lit = self._lit
            self._lit = None
            if old is actor:
                actor.prop.lighting = lit

    def _on_playing(self, on: bool, _old: bool = False) -> None:
        if on and self.history is not None and self.history.n_steps > 1:
            if self.model.step >= self.model.n_steps - 1 and not self.model.loop:
                self.model.step = 0  # play again from the start
            self._frame_times.clear()
            self._fast_shading(True)
            self.timer.start(self._interval_ms())
        else:
            self.timer.stop()
            self._fast_shading(False)
            if on:
                self.model.playing = False
            elif self.history is not None:
                self._on_step(self.model.step)  # the full mesh again (not the coarse copy)
            self.bar.fps_label.setText("")

    def _on_speed(self, *_args) -> None:
        if self.timer.isActive():
            self.timer.setInterval(self._interval_ms())

    def _tick(self) -> None:
        m = self.model
        if self.history is None:
            m.playing = False
            return
        if self.window.viewport.frame_pending and self._skipped < 3:
            self._skipped += 1
            return  # the last frame is not drawn yet: skip a tick rather than queue frames
        self._skipped = 0
        nxt = m.step + 1
        if nxt >= m.n_steps:
            if not m.loop:
                m.playing = False
                return
            nxt = 0
        m.step = nxt

    def toggle(self) -> None:
        self.model.playing = not self.model.playing

    def benchmark(self, n_frames: int = 60, *, fast_shading: bool | None = None) -> float:
        """Show ``n_frames`` successive steps as fast as possible (each painted on screen, the
        render and Qt's composition of the view, before the next is read) and return the frames
        per second: what playback can reach here (``fast_shading``: unlit as while playing;
        default :attr:`fast_shading`). ``last_cpu_ms`` is the CPU time per frame."""
        unlit = self.fast_shading if fast_shading is None else fast_shading
        actor = self.window.viewport.actor
        lit = bool(actor.prop.lighting) if actor is not None else True
        if actor is not None and unlit:
            actor.prop.lighting = False
        try:
            return self._benchmark(n_frames)
        finally:
            if actor is not None:
                actor.prop.lighting = lit

    def _benchmark(self, n_frames: int) -> float:
        h = self.history
        if h is None or h.n_steps == 0:
            return 0.0
        vp = self.window.viewport
        self.model.playing = False
        start = self.model.step
        widget = vp.plotter.interactor
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(1, n_frames + 1):
            self.model.step = (start + k) % h.n_steps
            if widget.isVisible():
                widget.repaint()  # painted now, as the player's frames are (not only rendered)
            else:
                vp.plotter.render_window.Render()
        #: CPU time of this process per frame (ms; software GL's threads included)
        self.last_cpu_ms = 1e3 * (time.process_time() - c0) / n_frames
        return n_frames / (time.perf_counter() - t0)

    def shutdown(self) -> None:
        self.timer.stop()
        self.model.playing = False

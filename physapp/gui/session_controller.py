"""Sessions in the main window: File > Save session (Ctrl+S), Save session as (Ctrl+Shift+S),
Open session, autosave and crash recovery.

:class:`SessionController` (``window.sessions``) gathers the window's state - study, slider
values, the prediction source, the view (:class:`~physapp.gui.view_settings.ViewSettings`, camera
included, plus the split view's options) and, for an imported part, the part's file, unit and
set-up (``PartController.part_state()``) - into a session dict that
:mod:`physapp.io.session` validates and writes, and puts a session back.

Autosave writes the same state every :data:`AUTOSAVE_MS` and after each finished solve to
:func:`~physapp.io.session.autosave_path` (``$XDG_DATA_HOME/physapp/autosave.physapp``), next to a
``.pid`` file naming the running process; a clean exit removes both. At start,
:func:`offer_recovery` finds an autosave left by a process that is gone (a crash) and asks, in a
non-blocking dialog, whether to recover it.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from physapp.core.errors import PhysappError
from physapp.gui.binding import subscribe
from physapp.io.session import SUFFIX, autosave_path, load_session, make_session, save_session

if TYPE_CHECKING:  # pragma: no cover
    from physapp.gui.services import WindowServices

AUTOSAVE_MS = 60_000
FILTER = f"physapp sessions (*{SUFFIX});;All files (*)"


def _pid_file() -> Path:
    return autosave_path().with_suffix(".pid")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def crashed_autosave() -> Path | None:
    """The autosave of a physapp that did not exit cleanly (None if there is none, or when
    the process that writes it is still running)."""
    path = autosave_path()
    if not path.is_file():
        return None
    try:
        pid = int(_pid_file().read_text().strip())
    except (OSError, ValueError):
        pid = 0
    if pid and pid != os.getpid() and _alive(pid):
        return None  # another physapp is running and autosaving
    if pid == os.getpid():
        return None  # our own
    return path


class SessionController(QObject):
    """Session files of one main window (see the module docstring)."""

    saved = Signal(str)  # path written (also autosaves)
    restored = Signal(str)  # path (or '') of a session now applied

    def __init__(self, window: WindowServices, *, autosave: bool = True) -> None:
        super().__init__(window)
        self.window = window
        self.path: Path | None = None  # the session file Ctrl+S writes to
        self.autosave_enabled = autosave
        self.autosaves = 0
        self._pending_view: dict[str, Any] | None = None
        self._pending_surrogate = ""
        #: (viewport, its epoch) whose first restored frame is awaited
        self._watched = None
        self._closed = False
        self._timer = QTimer(self)
        self._timer.setInterval(AUTOSAVE_MS)
        self._timer.timeout.connect(self.autosave)
        if autosave:
            self._timer.start()
        # after each applied solve (the window bumps the count once the result is shown)
        subscribe(self, window.app.solve.events.count, self._after_solve)

    # -- window hooks ---------------------------------------------------------------------------
    def add_file_actions(self, menu: QMenu) -> None:
        """File > Open session..., Save session, Save session as..."""
        w = self.window
        self.open_action = w.actions.add("file.open_session", menu, "Open sessio&n\u2026",
                                         self.open_dialog)
        self.save_action = w.actions.add("file.save_session", menu, "&Save session", self.save,
                                         "Ctrl+S")
        self.save_as_action = w.actions.add("file.save_session_as", menu, "Save session &as\u2026",
                                            self.save_as,
                                        "Ctrl+Shift+S")

    def _after_solve(self, *_args) -> None:
        if not self._closed:
            QTimer.singleShot(0, self.autosave)  # after the window has taken the result

    def shutdown(self, *, clean: bool = True) -> None:
        """The window closes: stop autosaving; a clean exit removes the autosave."""
        if self._closed:
            return
        self._closed = True
        self._timer.stop()
        if clean and self.autosave_enabled:
            remove_autosave()

    # -- state ----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The session dict of the window now (validated): ``app.to_dict()``, after the camera
        (VTK's) is copied into the model; an imported part's entry also records the slider
        values it was saved with."""
        w = self.window
        app = w.app
        app.view.camera = w.viewport.camera_state()
        d = app.to_dict()
        if d["part"] is not None:  # with the slider values it was saved with (informative)
            d["part"] = w.parts.part_state()
        return make_session(d["study"], d["params"], surrogate=d["surrogate"], view=d["view"],
                            part=d["part"])

    def view_state(self) -> dict[str, Any]:
        """The view part of :meth:`state`."""
        return self.state()["view"]

    # -- saving ---------------------------------------------------------------------------------
    def save(self) -> Path | None:
        """File > Save session (Ctrl+S): to the current session file, else ask for one."""
        if self.path is None:
            return self.save_as()
        return self.save_to(self.path)

    def save_as(self) -> Path | None:
        start = str(self.path or Path.cwd() / f"{_safe(self.window.spec.id)}{SUFFIX}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Save session", start, FILTER)
        if not path:
            return None
        if not path.endswith(SUFFIX):
            path += SUFFIX
        return self.save_to(path)

    def save_to(self, path: str | os.PathLike) -> Path | None:
        """Write the session to ``path``; it becomes the file Ctrl+S writes to."""
        try:
            written = save_session(self.state(), path)
        except PhysappError as exc:
            self.window.show_message(str(exc), "error", "session")
            return None
        self.path = Path(written)
        self.window.app.session.path = str(written)
        self.window.app.session.dirty = False  # what is on screen is in the file
        self.window.statusBar().showMessage(f"Session saved to {written}", 8000)
        self.saved.emit(str(written))
        return written

    def autosave(self) -> Path | None:
        """Write the state to the autosave file (quietly; a failure goes to the status bar)."""
        if self._closed or not self.autosave_enabled:
            return None
        path = autosave_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = save_session(self.state(), path)
            _pid_file().write_text(str(os.getpid()))
        except (PhysappError, OSError) as exc:
            self.window.statusBar().showMessage(f"Autosave failed: {exc}", 8000)
            return None
        self.autosaves += 1
        return written

    # -- opening --------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        start = str(self.path.parent if self.path else Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open session", start, FILTER)
        if path:
            self.ask_and_open(path)

    def ask_and_open(self, path: str | os.PathLike) -> None:
        """:meth:`open_session` once an unsaved part set-up is saved or discarded (#13)."""
        self.window.close_guard.ask_then(lambda: self.open_session(path), "Save it as a "
                                         f"session before opening {Path(path).name}?")

    def open_session(self, path: str | os.PathLike) -> bool:
        """Read ``path`` and restore it; a file that cannot be used shows why (False)."""
        try:
            data = load_session(path)
        except PhysappError as exc:
            self._refuse(str(exc))
            return False
        self.restore(data, str(path))
        self.path = Path(path)
        return True

    def _refuse(self, message: str) -> None:
        w = self.window
        w.show_message(f"Cannot open the session: {message}", "error", "session")
        box = QMessageBox(QMessageBox.Icon.Warning, "Could not open the session", message,
                          QMessageBox.StandardButton.Ok, w)
        box.open()  # window-modal, does not block
        self.error_dialog = box

    def restore(self, data: dict[str, Any], origin: str = "") -> None:
        """Put a (validated) session back: study or part, values, source, view."""
        w = self.window
        part = data.get("part")
        self._pending_view = dict(data.get("view") or {})
        self._pending_surrogate = data.get("surrogate", "")
        if part:
            # the set-up as saved (slider defaults included); the values go to the sliders
            # afterwards, so that saving again gives the same file
            state = {**part, "values": {}}

            def opened(_path: str) -> None:
                with contextlib.suppress(RuntimeError, TypeError):
                    w.parts.part_opened.disconnect(opened)
                self._apply_values(data.get("params", {}))
                self._after_open(origin)

            w.parts.part_opened.connect(opened)
            w.parts.restore_part_state(state)
            return
        study_id = data["study"]
        if study_id != w.spec.id:
            from physapp.studies import get_study

            try:
                study = get_study(study_id)
            except PhysappError as exc:
                self._refuse(str(exc))
                return
            w.set_study(study)
        self._apply_values(data.get("params", {}))
        self._after_open(origin)

    def _apply_values(self, params: dict[str, float]) -> None:
        w = self.window
        spec = w.spec
        known = {p.name for p in spec.parameters}
        values, skipped = {}, []
        for name, value in params.items():
            if name not in known:
                skipped.append(name)
                continue
            p = spec.parameter(name)
            if p.lower <= value <= p.upper:
                values[name] = value
            else:
                skipped.append(name)
        w.model.set_values(values)
        if skipped:
            w.show_message(f"Session values not used (unknown or out of range): "
                           f"{', '.join(skipped)}.", "warning", "session")

    def _after_open(self, origin: str) -> None:
        w = self.window
        view = self._pending_view or {}
        field = view.get("field")
        if field and field in {f.name for f in w.spec.fields}:
            w.app.view.field = field  # the selector and the viewport follow
        if "show_edges" in view:
            w.app.view.show_edges = bool(view["show_edges"])
        key = self._pending_surrogate
        s = w.surrogates
        if key:
            if s._entry(key) is not None:
                s.select(key)
            elif Path(key).is_file():
                s.load_file(key)
            else:
                w.show_message(f"The session's surrogate {key} was not found; the reference "
                               "solver is used.", "warning", "session")
                s.select("")
        elif s.selected_key:
            s.select("")
        self._apply_pending_view(keep=True)
        vp = w.viewport
        # (viewport, study epoch): a viewport emptied for another study dropped its listeners
        if self._watched is None or self._watched != (vp, vp.epoch):
            if self._watched is not None and self._watched[0] is not vp:
                with contextlib.suppress(RuntimeError, TypeError):
                    self._watched[0].shown_changed.disconnect(self._on_shown)
            vp.shown_changed.connect(self._on_shown)
            self._watched = (vp, vp.epoch)
        # with a surrogate its predictions show the design (F5 verifies); else solve it (this
        # cancels a start-up solve of the defaults)
        if not key and w.auto_solve and not (
                w.parts.active and w.parts.problem):
            w.solve()
        w.statusBar().showMessage(f"Session {Path(origin).name} opened" if origin else
                                  "Session restored", 8000)
        w.app.session.path = str(origin)
        w.app.session.dirty = False
        self.restored.emit(origin)

    def _on_shown(self) -> None:
        """The first field of the restored design on screen (a new mesh refits the camera):
        the session's view once more, then the user's."""
        vp = self.window.viewport
        if self._pending_view is None or not vp.has_field:
            return
        source = vp.result.source
        if self._pending_surrogate and not source.startswith("surrogate"):
            return
        if not self._pending_surrogate and source.startswith("surrogate"):
            return
        self._apply_pending_view()

    def _apply_pending_view(self, keep: bool = False) -> None:
        """Apply the session's view (again after the first result: a new mesh refits the
        camera). ``keep``: apply now and once more after the next solve."""
        view = self._pending_view
        if view is None:
            return
        if not keep:
            self._pending_view = None
        w = self.window
        from physapp.gui.view_settings import ViewSettings

        try:
            vs = ViewSettings.from_dict(view)
        except ValueError as exc:
            w.show_message(f"The session's view could not be used ({exc}).", "warning",
                           "session")
            self._pending_view = None
            return
        vs.field = w.field[0] if w.field[0] else vs.field
        w.viewport.apply_view_settings(vs)
        w.app.view.camera = vs.camera
        w.compare.apply_view_settings(vs)  # split, difference mode, locked range
        w.view_tools.sync_from_viewport()  # colour map, warp and section into the model


def remove_autosave() -> None:
    for p in (autosave_path(), _pid_file()):
        with contextlib.suppress(OSError):
            p.unlink()


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


class RecoveryOffer(QObject):
    """The "Recover the previous session?" question at start (non-blocking).

    ``accept()`` / ``decline()`` do what the dialog's buttons do (tests call them)."""

    finished = Signal(bool)  # True: recovered

    def __init__(self, path: Path, open_session, parent_widget=None) -> None:
        super().__init__(parent_widget)
        self.path = path
        self._open = open_session  # callable(path) that shows the session in a window
        self.dialog = QMessageBox(
            QMessageBox.Icon.Question, "Recover the previous session?",
            "physapp did not exit cleanly last time. Recover the previous session?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent_widget)
        self.dialog.setInformativeText(f"Autosaved to {path}")
        self.dialog.setDefaultButton(QMessageBox.StandardButton.Yes)
        self.dialog.finished.connect(self._answered)
        self.done = False
        # keep the autosaved text now: the new window's own autosave overwrites the file
        self.recovered = self._path_copy()

    def show(self) -> None:
        self.dialog.open()

    def _answered(self, code: int) -> None:
        yes = self.dialog.clickedButton() is self.dialog.button(QMessageBox.StandardButton.Yes)
        if yes:
            self.accept()
        else:
            self.decline()

    def accept(self) -> None:
        if self.done:
            return
        self.done = True
        self.dialog.hide()
        remove_autosave()
        ok = bool(self.recovered) and bool(self._open(self.recovered))
        self.finished.emit(ok)

    def decline(self) -> None:
        if self.done:
            return
        self.done = True
        self.dialog.hide()
        remove_autosave()
        self.finished.emit(False)

    def _path_copy(self) -> str:
        """Keep the autosaved text: the new window's own autosave will overwrite the file."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return ""
        copy = self.path.with_name(f"recovered{SUFFIX}")
        try:
            copy.write_text(text, encoding="utf-8")
        except OSError:
            return ""
        return str(copy)


def offer_recovery(launcher) -> RecoveryOffer | None:
    """At start: when a crashed run left an autosave, ask (non-blocking) whether to recover it.
    ``launcher`` is the app's :class:`~physapp.gui.app.Launcher`; returns the offer (None when
    there is nothing to recover)."""
    path = crashed_autosave()
    if path is None:
        return None
    parent = launcher.message_target()

    def open_it(p: str) -> bool:
        return launcher.open_session(p)

    offer = RecoveryOffer(path, open_it, parent)
    offer.show()
    launcher.recovery = offer
    return offer


def open_session_file(launcher, path: str | os.PathLike) -> bool:
    """Show a session file at start (``physapp design.physapp``) or from the start screen:
    in the launcher's main window when there is one, else in a new one on the session's study
    (an imported part: its file is read first). A file that cannot be used is explained over
    the start screen (False)."""
    from pathlib import Path as _Path

    try:
        data = load_session(path)
    except PhysappError as exc:
        _explain_over_gallery(launcher, str(exc))
        return False
    window = launcher.window
    if window is not None:
        return window.sessions.open_session(path)
    part = data.get("part")
    if part:
        def opened(_opened) -> None:
            if launcher.window is not None:
                launcher.window.sessions.restore(data, str(path))
                launcher.window.sessions.path = _Path(path)

        launcher.open_file(part["file"])
        launcher.opener.opened.connect(opened)  # after the launcher's own slot made the window
        return True
    try:
        window = launcher.open_study(data["study"])
    except PhysappError as exc:
        _explain_over_gallery(launcher, str(exc))
        return False
    window.sessions.restore(data, str(path))
    window.sessions.path = _Path(path)
    return True


def _explain_over_gallery(launcher, message: str) -> None:
    """A session that cannot be opened at start: the start screen, with the reason over it."""
    gallery = launcher.show_gallery()
    box = QMessageBox(QMessageBox.Icon.Warning, "Could not open the session", message,
                      QMessageBox.StandardButton.Ok, gallery)
    box.open()
    launcher.error_dialog = box

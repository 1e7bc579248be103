"""Start the desktop application: ``run_gui()`` creates the QApplication and the first window.

Without a study the first window is the study gallery (start screen); the main window opens on the
study picked there. With a study (``physapp gui --study ID``) the main window opens directly. With a
file (``physapp part.step``, ``physapp gui --file part.msh``) the file is read first (with its
progress and import dialogs) and the main window opens on it; if it cannot be read, the reason is
shown over the start screen.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from types import TracebackType

import pyvista as pv
from PySide6.QtCore import QObject, QSettings, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from physapp import __version__
from physapp.core.errors import PhysappError
from physapp.gui.gallery import GalleryDialog
from physapp.gui.main_window import MainWindow
from physapp.gui.open_file import FileOpener, OpenedPart
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.plugins import RESOURCES
from physapp.studies import get_study

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def configure_pyvista() -> None:
    """Rendering settings that work on any machine (software OpenGL, no GPU, VMs)."""
    pv.global_theme.multi_samples = 0  # MSAA fails or crawls with software GL
    pv.global_theme.allow_empty_mesh = True


def install_excepthook(window: MainWindow | Callable[[], QWidget | None]) -> ExceptHook:
    """Show unexpected exceptions in the window's message bar instead of aborting the app.

    Qt calls ``sys.excepthook`` for exceptions escaping a slot; the default one would print and,
    with PySide6, may leave the app in a half-updated state without telling the user.
    ``window`` is the window, or a function returning the window to tell (anything with a
    ``show_message(text, level, tag)``), e.g. the start screen until the main window exists.
    Returns the previous hook so a caller (a test) can restore it.
    """
    previous = sys.excepthook

    def hook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if issubclass(etype, KeyboardInterrupt):
            previous(etype, value, tb)
            return
        traceback.print_exception(etype, value, tb)  # full details for a bug report
        if isinstance(value, PhysappError):
            text = str(value)
        else:
            text = (
                f"Unexpected error ({etype.__name__}: {value}). The app is still usable; "
                "details were printed to the terminal."
            )
        target = window() if callable(window) else window
        try:
            if target is None:
                raise RuntimeError("no window to show the error in")
            target.show_message(text, "error", "exception")
        except RuntimeError:  # the window is already gone
            previous(etype, value, tb)

    sys.excepthook = hook
    return previous


class Launcher(QObject):
    """Shows the first window: the main window on a study, or the gallery as start screen.

    On the start screen the solver process is started at once (``runner``), so the chosen study's
    first solve does not wait for it; the main window then shares it and :meth:`shutdown` stops
    it when the app ends.
    """

    def __init__(self, *, settings_store: QSettings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings_store = settings_store
        self.window: MainWindow | None = None
        self.gallery: GalleryDialog | None = None
        self.runner: QtJobRunner | None = None
        self.opener: FileOpener | None = None
        self.error_dialog: QMessageBox | None = None
        self.recovery = None  # the crash-recovery offer at start, if any
        self.screenshot: str | None = None  # --screenshot with --file: saved once the part shows

    def start(self, study_id: str | None, file: str | None = None) -> QWidget | None:
        """Show the main window on ``study_id`` or, when None, the start screen; returns it.
        An unknown study raises :class:`PhysappError` before any window appears. With ``file``
        the file is read first (None is returned: the window appears once it is read)."""
        if file is not None:
            self.open_file(file)
            return None
        if study_id is not None:
            return self.open_study(study_id)
        return self.show_gallery()

    def show_gallery(self) -> GalleryDialog:
        if self.runner is None:
            self.runner = QtJobRunner(parent=self)
            self.runner.warm_up()
        self.gallery = GalleryDialog(start=True)
        # the main window must be on screen before the gallery closes, or Qt quits the app
        self.gallery.study_chosen.connect(self.open_study)
        self.gallery.show()
        QApplication.instance().setQuitOnLastWindowClosed(True)
        return self.gallery

    def open_file(self, path: str) -> None:
        """Read ``path`` in the solver process (started now, it then serves the window's solves),
        then show the main window on it. A session file (``.physapp``) is opened as one."""
        if str(path).lower().endswith(".physapp"):
            from physapp.gui.session_controller import open_session_file

            open_session_file(self, path)
            return
        # no window is up while the file is read: closing the import dialog must not end the app
        QApplication.instance().setQuitOnLastWindowClosed(False)
        self.runner = QtJobRunner(parent=self)
        self.runner.warm_up()
        self.opener = FileOpener(None, self.runner, parent=self)
        self.opener.opened.connect(self._file_opened)
        self.opener.failed.connect(self._file_failed)
        self.opener.cancelled.connect(lambda _path: self.show_gallery())
        self.opener.open(path)

    def _file_opened(self, opened: OpenedPart) -> None:
        from physapp.gui.part_tasks import PartInfo, make_part_study
        from physapp.studies.imported import PartSetup

        info = PartInfo(opened.path, opened.report, opened.options.length_unit,
                        opened.options.element_size)
        study = make_part_study(opened.mesh, PartSetup(), info)
        self.window = MainWindow(study, runner=self.runner, settings_store=self.settings_store)
        self.window.parts.recent.add(opened.path)
        self.window.show()
        QApplication.instance().setQuitOnLastWindowClosed(True)
        if self.screenshot:  # the part and its region list (sizes measured) are on screen
            window = self.window
            _save_when(window, lambda: window.parts.panel is not None
                       and window.parts.panel.regions_ready, self.screenshot)

    def _file_failed(self, path: str, message: str) -> None:
        gallery = self.show_gallery()
        box = QMessageBox(QMessageBox.Icon.Warning, "Could not open the file",
                          f"<b>{path}</b> could not be opened.", QMessageBox.StandardButton.Ok,
                          gallery)
        box.setInformativeText(message)
        box.open()
        self.error_dialog = box

    def open_study(self, study_id: str) -> MainWindow:
        study = get_study(study_id)
        self.window = MainWindow(study, runner=self.runner, settings_store=self.settings_store)
        if self.gallery is not None:  # appear where the start screen was
            self.window.move(self.gallery.frameGeometry().topLeft())
            self.window.keep_on_screen()  # the start screen is smaller than the window
        self.window.show()
        return self.window

    def open_session(self, path: str) -> bool:
        """Show a session file (File > Open, crash recovery): see ``open_session_file``."""
        from physapp.gui.session_controller import open_session_file

        return open_session_file(self, path)

    def message_target(self) -> QWidget | None:
        """Where an unexpected error is shown: the main window, else the start screen."""
        return self.window if self.window is not None else self.gallery

    def shutdown(self) -> None:
        if self.opener is not None:
            self.opener.cancel()
        if self.runner is not None:
            self.runner.shutdown()


def run_gui(
    argv: list[str] | None = None,
    study_id: str | None = None,
    *,
    screenshot: str | None = None,
    file: str | None = None,
) -> int:
    """Run the physapp desktop app and return its exit code.

    Parameters
    ----------
    argv : arguments for QApplication (``sys.argv`` when None).
    study_id : the study to open; None shows the study gallery (start screen) first.
    file : a mesh or CAD file to open as an imported part (instead of a study).
    screenshot : if given, save a PNG of the first window to this path once it is complete (the
        start-up solve on screen, every gallery thumbnail drawn, or the part of ``file`` shown
        with its region list), then quit (for documentation and smoke tests).
    """
    configure_pyvista()
    app = QApplication.instance() or QApplication(sys.argv if argv is None else ["physapp", *argv])
    app.setApplicationName("physapp")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("physapp")  # matches the installed physapp.desktop entry
    app.setWindowIcon(QIcon(str(RESOURCES / "icons" / "physapp.svg")))
    launcher = Launcher()
    launcher.screenshot = screenshot if file is not None else None
    try:
        first = launcher.start(study_id, file)
    except PhysappError as exc:
        print(f"physapp: {exc}", file=sys.stderr)
        return 2
    previous_hook = install_excepthook(launcher.message_target)
    from physapp.gui.session_controller import offer_recovery

    offer_recovery(launcher)  # an autosave left by a crash: "Recover the previous session?"
    if screenshot and first is not None:
        if isinstance(first, MainWindow):
            _save_when(first, lambda: first.solve_count > 0, screenshot)
        else:
            _save_when(first, lambda: first.ready, screenshot)
    try:
        return app.exec()
    finally:
        sys.excepthook = previous_hook
        launcher.shutdown()


def _save_when(widget: QWidget, done: Callable[[], bool], path: str,
               timeout_s: float = 120.0) -> None:
    """Poll until ``done()`` (or the timeout), grab the widget, save it and close it."""
    timer = QTimer(widget)
    waited = {"ms": 0}

    def check() -> None:
        waited["ms"] += 200
        if done() or waited["ms"] > timeout_s * 1000:
            timer.stop()
            if isinstance(widget, MainWindow):
                widget.viewport.plotter.render()
            widget.grab().save(path)
            print(f"physapp: screenshot saved to {path}")
            widget.close()

    timer.timeout.connect(check)
    timer.start(200)

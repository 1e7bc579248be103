"""Start the desktop application: ``run_gui()`` creates the QApplication and the main window."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from types import TracebackType

import pyvista as pv
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from physapp.core.errors import PhysappError
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def configure_pyvista() -> None:
    """Rendering settings that work on any machine (software OpenGL, no GPU, VMs)."""
    pv.global_theme.multi_samples = 0  # MSAA fails or crawls with software GL
    pv.global_theme.allow_empty_mesh = True


def install_excepthook(window: MainWindow) -> ExceptHook:
    """Show unexpected exceptions in the window's message bar instead of aborting the app.

    Qt calls ``sys.excepthook`` for exceptions escaping a slot; the default one would print and,
    with PySide6, may leave the app in a half-updated state without telling the user.
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
        try:
            window.show_message(text, "error", "exception")
        except RuntimeError:  # the window is already gone
            previous(etype, value, tb)

    sys.excepthook = hook
    return previous


def run_gui(
    argv: list[str] | None = None,
    study_id: str = "plate-with-hole",
    *,
    screenshot: str | None = None,
) -> int:
    """Run the physapp desktop app and return its exit code.

    Parameters
    ----------
    argv : arguments for QApplication (``sys.argv`` when None).
    study_id : the study to open.
    screenshot : if given, save a PNG of the whole window to this path once the start-up solve
        has finished, then quit (for documentation and smoke tests).
    """
    configure_pyvista()
    app = QApplication.instance() or QApplication(sys.argv if argv is None else ["physapp", *argv])
    app.setApplicationName("physapp")
    try:
        study = get_study(study_id)
    except PhysappError as exc:
        print(f"physapp: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(study)
    previous_hook = install_excepthook(window)
    window.show()
    if screenshot:
        _save_when_solved(window, screenshot)
    try:
        return app.exec()
    finally:
        sys.excepthook = previous_hook


def _save_when_solved(window: MainWindow, path: str, timeout_s: float = 120.0) -> None:
    """Poll until the start-up solve is on screen, grab the window, save it and quit."""
    timer = QTimer(window)
    waited = {"ms": 0}

    def check() -> None:
        waited["ms"] += 200
        if window.solve_count or waited["ms"] > timeout_s * 1000:
            timer.stop()
            window.viewport.plotter.render()
            window.grab().save(path)
            print(f"physapp: screenshot saved to {path}")
            window.close()

    timer.timeout.connect(check)
    timer.start(200)

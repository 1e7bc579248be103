"""Where the main window opens: the last window's size and place (QSettings), else 1400x900 or
the screen if smaller, and always fully on the screen it is (mostly) on (#13: a window opened from
the gallery was placed half off screen)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

#: QSettings key of the last window's geometry (restored by the next window, kept on screen)
GEOMETRY_KEY = "window/geometry"


def place_window(window: QWidget, store: QSettings) -> None:
    """The saved geometry of the last window, else 1400x900 or the screen if smaller; on
    screen either way."""
    saved = store.value(GEOMETRY_KEY)
    restored = False
    if isinstance(saved, (QByteArray, bytes)) and len(saved):
        restored = window.restoreGeometry(QByteArray(saved))
    if not restored:
        area = screen_area(window)
        window.resize(min(1400, area.width()), min(900, area.height()))
        window.move(area.topLeft())
    keep_on_screen(window)


def screen_area(window: QWidget) -> QRect:
    screen = QGuiApplication.screenAt(window.geometry().center()) or window.screen() \
        or QGuiApplication.primaryScreen()
    return screen.availableGeometry()


def keep_on_screen(window: QWidget) -> None:
    """Shrink the window to the screen it is (mostly) on and move it fully onto it (a window
    placed at the start screen's corner, or restored from a larger monitor)."""
    area = screen_area(window)
    frame = window.frameGeometry()
    extra_w = max(frame.width() - window.width(), 0)  # the window manager's frame
    extra_h = max(frame.height() - window.height(), 0)
    w = min(window.width(), area.width() - extra_w)
    h = min(window.height(), area.height() - extra_h)
    if (w, h) != (window.width(), window.height()):
        window.resize(w, h)
    x = min(max(frame.x(), area.left()), area.left() + area.width() - (w + extra_w))
    y = min(max(frame.y(), area.top()), area.top() + area.height() - (h + extra_h))
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


def save_geometry(window: QWidget, store: QSettings) -> None:
    """Remember the window's size and place for the next window (on close)."""
    store.setValue(GEOMETRY_KEY, window.saveGeometry())

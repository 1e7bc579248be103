"""Room for the 3D view with an imported part (#13): below :data:`WIDE` pixels of window width
the Part set-up dock is a tab next to the Study dock on the left instead of a column of its own
on the right, so the viewport keeps most of the width (at 1280x800 it had 432 of 1280 px).

The layout follows the window's width (a maximised or enlarged window gets the column back)
and the set-up's tab comes to the front whenever the part's dock is shown (a part opened).
While tabbed the two docks show no title bar: the tab names them (18 px more of the set-up in
view at 1280x800).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabWidget, QWidget

#: from this window width (px) the Part set-up is a column on the right
WIDE = 1600


class PartDockLayout(QObject):
    """Places ``dock`` (the Part set-up) beside or tabbed with ``study_dock``."""

    def __init__(self, window: QMainWindow, study_dock: QDockWidget, dock: QDockWidget) -> None:
        super().__init__(window)
        self.window, self.study_dock, self.dock = window, study_dock, dock
        self.tabbed: bool | None = None
        window.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)
        window.installEventFilter(self)
        dock.installEventFilter(self)
        self.apply()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if obj is self.window and kind == QEvent.Type.Resize:
            self.apply()
        elif obj is self.dock and kind == QEvent.Type.Show and self.tabbed:
            QTimer.singleShot(0, self._front)  # after Qt has made the tab
        if obj is self.dock and kind in (QEvent.Type.Show, QEvent.Type.Hide):
            self._titles()
        return False

    def apply(self) -> None:
        """Tab or column for the window's current width (nothing when unchanged)."""
        tabbed = self.window.width() < WIDE
        if tabbed == self.tabbed:
            return
        self.tabbed = tabbed
        if tabbed:
            self.window.tabifyDockWidget(self.study_dock, self.dock)
            self._front()
        else:
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self._titles()

    def _titles(self) -> None:
        """No title bars under the tabs; the Study dock's comes back when it is alone."""
        tabs = bool(self.tabbed) and not self.dock.isHidden()
        for dock in (self.study_dock, self.dock):
            blank = isinstance(dock.titleBarWidget(), QWidget)
            if tabs and not blank:
                dock.setTitleBarWidget(QWidget(dock))
            elif not tabs and blank:
                old = dock.titleBarWidget()
                dock.setTitleBarWidget(None)
                old.deleteLater()

    def _front(self) -> None:
        if self.tabbed and self.dock.isVisible():
            self.dock.raise_()

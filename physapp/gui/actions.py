"""The one registry of the window's actions: id, text, shortcut, callback and an optional
enabled-when test; menus (and tests) find an action by its id.

    actions.add("run.solve", run_menu, "&Solve", window.solve, "F5")
    actions["run.solve"].trigger()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence


class ActionRegistry(QObject):
    """Actions by id; each is added to a menu (or none) when registered."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._actions: dict[str, QAction] = {}
        self._enabled_when: dict[str, Callable[[], bool]] = {}

    def add(self, action_id: str, menu: Any, text: str, callback: Callable[[], Any] | None,
            *keys: str, enabled_when: Callable[[], bool] | None = None) -> QAction:
        """Make the action ``action_id`` (ids are unique), add it to ``menu`` (if any)."""
        if action_id in self._actions:
            raise ValueError(f"action id {action_id!r} is registered twice")
        act = QAction(text, self.parent())
        act.setObjectName(action_id)
        shortcuts = [QKeySequence(k) for k in keys]
        if shortcuts:
            act.setShortcuts(shortcuts)
            act.setToolTip(f"{text.replace('&', '').rstrip(chr(0x2026))} ({keys[0]})")
        act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        if callback is not None:
            act.triggered.connect(lambda _=False: callback())
        if menu is not None:
            menu.addAction(act)
        self._actions[action_id] = act
        if enabled_when is not None:
            self._enabled_when[action_id] = enabled_when
            act.setEnabled(bool(enabled_when()))
        return act

    def update_enabled(self) -> None:
        """Ask every enabled-when test again (after a model change)."""
        for action_id, test in self._enabled_when.items():
            self._actions[action_id].setEnabled(bool(test()))

    def __getitem__(self, action_id: str) -> QAction:
        return self._actions[action_id]

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)

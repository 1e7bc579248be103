"""View > Plugins: the GUI panels that plugins contribute (``[[panels]]``), shown as docks.

A panel entry names a QWidget class constructed as ``Panel(model)`` with the window's
:class:`~physapp.app.AppModel` (never the window): it reads ``model.design`` / ``model.view``
and subscribes to their events (e.g. ``model.design.changed``, with
:func:`physapp.gui.binding.subscribe`) to update itself; a handler that raises is reported once
and the panel disabled, the app goes on. Its code is
imported when the user opens it; an import error or an exception in the constructor is shown in
the message bar and recorded for Help > Plugins, never raised.
"""

from __future__ import annotations

import weakref
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMenu, QWidget

from physapp.gui.binding import set_reporter
from physapp.plugins import (
    Contribution,
    PluginError,
    contributions,
    load_contribution,
    record_failure,
)

#: the open plugin docks of each window, by "plugin:id"
_DOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def add_panels_menu(window: Any, view_menu: QMenu, model: Any = None) -> QMenu | None:
    """Add a "Plugins" submenu with one action per contributed panel (none: no submenu).
    ``model``: the AppModel the panels get (None: they show their defaults)."""
    try:
        panels = contributions("panels")
    except Exception:  # noqa: BLE001 - discovery problems are shown in Help > Plugins
        return None
    if not panels:
        return None
    menu = QMenu("&Plugins", window)
    view_menu.addSeparator()
    view_menu.addMenu(menu)
    for c in panels:
        act = QAction(str(c.data.get("title") or c.id), window)
        act.setToolTip(f"Panel from the plugin '{c.plugin}'")
        act.triggered.connect(lambda _=False, _c=c: show_panel(window, _c, model))
        menu.addAction(act)
    return menu


def show_panel(window: Any, c: Contribution, model: Any = None) -> QDockWidget | None:
    """Open (or raise) the dock of panel ``c``, made as ``Panel(model)``; a failing plugin
    gives a message, not a crash."""
    docks = _DOCKS.setdefault(window, {})
    key = f"{c.plugin}:{c.id}"
    dock = docks.get(key)
    if dock is not None:
        dock.show()
        dock.raise_()
        return dock
    try:
        cls = load_contribution(c)
        widget = cls(model)
        if not isinstance(widget, QWidget):
            raise TypeError(f"{c.entry} did not make a QWidget")
    except Exception as exc:  # noqa: BLE001 - plugin code raising
        err = exc if isinstance(exc, PluginError) else record_failure(c, exc)
        if model is not None:
            model.notify(str(err), "error", "plugins")
        else:
            window.show_message(str(err), "error", "plugins")
        return None

    def report(text: str) -> None:  # a handler of the panel raised: it is now disabled
        err = record_failure(c, RuntimeError(text))
        if model is not None:
            model.notify(str(err), "error", "plugins")

    set_reporter(widget, report)
    dock = QDockWidget(str(c.data.get("title") or c.id), window)
    dock.setObjectName(f"plugin-panel:{key}")
    dock.setWidget(widget)
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    docks[key] = dock
    return dock

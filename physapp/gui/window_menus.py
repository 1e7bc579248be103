"""The main window's menu bar (File, Run, View, Help), built from the action registry
(``window.actions``): each controller adds its own entries, and Help's dialogs live here."""

from __future__ import annotations

import platform
from typing import TYPE_CHECKING

import PySide6
import pyvista as pv
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from physapp import DESCRIPTION, __version__
from physapp.gui.plugin_panels import add_panels_menu

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices


def python_menu(parent, title: str, owner: QWidget) -> QMenu:
    """A menu created from Python and added to ``parent``. (``addMenu(str)`` returns a menu
    made in C++; PySide can hand back a stale wrapper of a deleted object at the same address,
    seen as "'QOffscreenSurface' object has no attribute 'addAction'" after VTK widgets were
    destroyed in the same process.)"""
    menu = QMenu(title, owner)
    parent.addMenu(menu)
    return menu


def build_menus(window: WindowServices) -> None:
    """File, Run, View and Help; sets ``window.solve_action``, ``cancel_action`` and
    ``edges_action`` (and ``window.dataset_import``, the File > Import data set... controller)."""
    bar = window.menuBar()
    file_menu = python_menu(bar, "&File", window)
    add = window.actions.add
    add("file.new_study", file_menu, "&New study\u2026", window.open_gallery, "Ctrl+N")
    window.parts.add_file_actions(file_menu)  # Open... (Ctrl+O), Open Recent
    window.surrogates.add_file_actions(file_menu)  # Load surrogate...
    file_menu.addSeparator()
    window.sessions.add_file_actions(file_menu)  # Open session..., Save (Ctrl+S), Save as
    window.exports.add_file_actions(file_menu)  # Export > Figure, Mesh, Table, Animation
    from physapp.gui.import_dataset import DatasetImportController

    window.dataset_import = DatasetImportController(window)  # Import data set... (#19)
    window.dataset_import.add_file_actions(file_menu)
    file_menu.addSeparator()
    settings = add("file.settings", file_menu, "&Settings\u2026", window.open_settings, "Ctrl+,")
    settings.setMenuRole(QAction.MenuRole.PreferencesRole)
    file_menu.addSeparator()
    quit_action = add("file.quit", file_menu, "&Quit", window.close, "Ctrl+Q")
    quit_action.setMenuRole(QAction.MenuRole.QuitRole)
    run_menu = python_menu(bar, "&Run", window)
    window.solve_action = add("run.solve", run_menu, "&Solve", window.solve, "F5")
    window.cancel_action = add("run.cancel", run_menu, "&Cancel solve", window.cancel_solve,
                               "Esc", enabled_when=lambda: window.app.solve.busy)
    window.surrogates.add_run_actions(run_menu)  # Train surrogate...
    from physapp.gui.online_dialog import add_run_action as _add_online_action

    _add_online_action(window, run_menu)  # Learn while solving...
    view_menu = python_menu(bar, "&View", window)
    # a lambda: the viewport is rebuilt when the study changes
    add("view.reset_camera", view_menu, "&Reset camera", lambda: window.viewport.reset_camera(),
        "Ctrl+R")
    window.edges_action = add("view.edges", view_menu, "Show mesh &edges", None, "Ctrl+E")
    window.edges_action.setCheckable(True)
    window.edges_action.setChecked(window.app.view.show_edges)
    window.edges_action.toggled.connect(lambda on: setattr(window.app.view, "show_edges", on))
    window.compare.add_view_actions(view_menu)  # View > Compare with solver (F6)
    window.view_tools.add_view_actions(view_menu)  # probe, line plot, standard views
    window.flow.add_view_actions(view_menu)  # surface Cp chart
    add_panels_menu(window, view_menu, window.app)  # View > Plugins: panels of plugins
    help_menu = python_menu(bar, "&Help", window)
    add("help.shortcuts", help_menu, "&Keyboard shortcuts", lambda: show_shortcuts(window))
    add("help.plugins", help_menu, "&Plugins...", lambda: show_plugins(window))
    about_action = add("help.about", help_menu, "&About physapp", lambda: about(window))
    about_action.setMenuRole(QAction.MenuRole.AboutRole)


def show_plugins(window: WindowServices) -> None:
    """Help > Plugins...: what was found, contributions, errors, enable/disable."""
    from physapp.gui.plugins_dialog import PluginsDialog

    window.plugins_dialog = PluginsDialog(window)
    window.plugins_dialog.show()


def about_html(study: str) -> str:
    """Help > About physapp: name, version and description (those of the menu entry), the open
    study and the versions of the main libraries."""
    vtk = pv.vtk_version_info
    return (f"<h3>physapp {__version__}</h3><p>{DESCRIPTION}.</p><p>Study: {study}</p>"
            f"<p><small>Python {platform.python_version()}, Qt {PySide6.__version__} (PySide6), "
            f"VTK {vtk.major}.{vtk.minor}.{vtk.micro}, PyVista {pv.__version__}</small></p>")


def about(window: WindowServices) -> None:
    QMessageBox.about(window, "About physapp",
                      about_html(f"{window.spec.title} ({window.spec.unit_system})"))


def show_shortcuts(window: WindowServices) -> None:
    """Help > Keyboard shortcuts: every menu action that has one."""
    rows = []
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        for act in menu.actions() if menu is not None else []:
            keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            if keys:
                name = act.text().replace("&", "").rstrip("\u2026")
                rows.append(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{name}</td></tr>")
    QMessageBox.information(window, "Keyboard shortcuts", f"<table>{''.join(rows)}</table>")

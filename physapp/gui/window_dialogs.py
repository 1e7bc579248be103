"""The main window's File > New study... (the gallery) and File > Settings... dialogs, and
applying new settings. Both dialogs are window-modal and do not block."""

from __future__ import annotations

from typing import TYPE_CHECKING

from physapp.core.errors import PhysappError
from physapp.gui.gallery import GalleryDialog
from physapp.gui.settings import AppSettings, SettingsDialog
from physapp.gui.study_view import solve_box_title
from physapp.studies import get_study

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices


def open_gallery(w: WindowServices) -> GalleryDialog:
    """The gallery; Open switches to the chosen study, Cancel keeps this one."""
    if w.gallery is not None:
        w.gallery.deleteLater()
    w.gallery = GalleryDialog(current=w.spec.id, parent=w)
    w.gallery.study_chosen.connect(lambda study_id: switch_to(w, study_id))
    w.gallery.open()
    return w.gallery


def switch_to(w: WindowServices, study_id: str) -> None:
    """Show the study ``study_id``; an unsaved part set-up is offered for saving first (Cancel
    keeps the part and its set-up, #13)."""
    try:
        study = get_study(study_id)
    except PhysappError as exc:  # e.g. a plugin study that went away
        w.show_message(str(exc), "error", "study")
        return
    w.close_guard.ask_then(lambda: w.set_study(study), "Save it as a session before opening "
                           f"the study \u2018{study.spec.title}\u2019?")


def open_settings(w: WindowServices) -> SettingsDialog:
    """OK saves and applies the settings. Returns the dialog."""
    if w.settings_dialog is not None:
        w.settings_dialog.deleteLater()
    # edits the model's settings: OK applies them there and the window follows
    # app.settings.changed (MainWindow), as it does any other apply
    w.settings_dialog = SettingsDialog(w.app.settings, parent=w)
    w.settings_dialog.open()
    return w.settings_dialog


def apply_settings(w: WindowServices, settings: AppSettings) -> None:
    """The device in the status bar, the element order for the next solve."""
    order_changed = settings.element_order != w.settings.element_order
    w.settings = settings
    w.show_device()
    w.surrogates.settings_changed(settings)
    w.solve_box.setTitle(solve_box_title(w))
    if order_changed:
        w.statusBar().showMessage(
            f"Element order P{settings.element_order} is used from the next solve (F5).", 8000
        )

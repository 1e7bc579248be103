"""The study gallery: thumbnails of every study, switching the main window, the start screen."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QImage

from physapp.gui.app import Launcher, configure_pyvista
from physapp.gui.gallery import GalleryDialog, ThumbnailCache, thumbnail_key
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study, list_studies
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui

THUMB_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def rendered(qapp, tmp_path_factory):
    """Every study's thumbnail rendered once for the module (meshing them all takes seconds):
    the folder of PNGs and the gallery that rendered them into it (from an empty cache)."""
    configure_pyvista()
    folder = tmp_path_factory.mktemp("thumbs")
    dialog = GalleryDialog(cache_dir=folder)
    dialog.show()
    from pytestqt.qtbot import QtBot

    QtBot(None).waitUntil(lambda: dialog.ready, timeout=THUMB_TIMEOUT_MS)
    dialog.hide()  # read by the tests, not in the way of their windows
    yield folder, dialog
    dialog.close()
    dialog.deleteLater()


@pytest.fixture(autouse=True)
def _temporary_cache_and_settings(tmp_path, monkeypatch, rendered):
    """Thumbnails go to a temporary cache (QStandardPaths reads XDG_CACHE_HOME each call),
    which holds a copy of the module's rendered thumbnails: a window's gallery opens at once."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shutil.copytree(rendered[0], tmp_path / "cache" / "physapp" / "thumbnails")
    configure_pyvista()


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def _pixels(image: QImage) -> np.ndarray:
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = image.width(), image.height(), image.bytesPerLine()
    return np.frombuffer(image.constBits(), np.uint8, h * bpl).reshape(h, bpl)[:, : 3 * w]


def _open_gallery(qtbot, **kwargs) -> GalleryDialog:
    dialog = GalleryDialog(**kwargs)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=THUMB_TIMEOUT_MS)
    return dialog


def test_gallery_lists_every_study_with_a_real_thumbnail(rendered):
    studies = list_studies()
    folder, dialog = rendered  # opened on an empty cache
    listed = [dialog.list.item(r).data(Qt.ItemDataRole.UserRole)
              for r in range(dialog.list.count())]
    assert listed == [s.spec.id for s in studies]
    for study in studies:
        title = dialog.list.item(listed.index(study.spec.id)).text()
        assert title.startswith(study.spec.title)
        image = dialog.thumbnail(study.spec.id)
        assert image is not None and not image.isNull(), study.spec.id
        px = _pixels(image).reshape(image.height(), image.width(), 3)
        assert px.std() > 10, f"{study.spec.id}: blank thumbnail"
        # the part, not only the white background (a thin vessel wall covers little of it)
        steel = (np.abs(px.astype(int) - (255, 255, 255)).sum(-1) > 60).mean()
        assert 0.01 < steel < 0.95, f"{study.spec.id}: {steel:.2f} of the picture is the part"
        assert (folder / thumbnail_key(study)).is_file()
    assert dialog.provider.rendered == len(studies) and dialog.provider.from_cache == 0
    assert f"{len(studies)} studies" in dialog.status.text()


def test_second_opening_uses_the_png_cache_at_once(qtbot, tmp_path, rendered):
    folder, first = rendered  # the first opening rendered every thumbnail into ``folder``
    first_img = first.thumbnail("l-bracket")
    shutil.copytree(folder, tmp_path / "thumbs")
    second = GalleryDialog(cache_dir=tmp_path / "thumbs")  # no waiting: all from the cache
    qtbot.addWidget(second)
    assert second.ready and second.provider.rendered == 0
    assert second.provider.from_cache == len(list_studies())
    assert second.thumbnail("l-bracket") == first_img
    # the key covers the default design: another design of the study has no cached picture
    cache = ThumbnailCache(tmp_path / "thumbs")
    assert cache.load(get_study("l-bracket")) is not None
    other = get_study("l-bracket")
    other.spec = dataclasses.replace(
        other.spec,
        parameters=tuple(dataclasses.replace(p, default=0.15) if p.name == "arm_x" else p
                         for p in other.spec.parameters),
    )
    assert thumbnail_key(other) != thumbnail_key(get_study("l-bracket"))
    assert cache.load(other) is None


def test_placeholder_while_meshing_then_the_thumbnail(qtbot, tmp_path):
    # an empty cache: two studies are meshed and rendered (all of them: see `rendered`)
    dialog = GalleryDialog([get_study("heat-sink"), get_study("l-bracket")],
                           cache_dir=tmp_path / "thumbs")
    qtbot.addWidget(dialog)
    dialog.show()
    # right after opening nothing has been meshed yet: every card waits on its placeholder
    assert not dialog.ready and dialog.thumbnail("heat-sink") is None
    assert "Preparing previews" in dialog.status.text()
    qtbot.waitUntil(lambda: dialog.ready, timeout=THUMB_TIMEOUT_MS)
    assert dialog.thumbnail("heat-sink") is not None


def test_file_new_study_switches_the_window_to_the_chosen_study(qtbot, shared_runner, store):
    window = MainWindow(get_study("plate-with-hole"), runner=shared_runner, settings_store=store)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    old_viewport = window.viewport

    dialog = window.open_gallery()
    assert dialog.isVisible() and dialog.selected_id() == "plate-with-hole"  # the open one
    qtbot.waitUntil(lambda: dialog.ready, timeout=THUMB_TIMEOUT_MS)
    dialog.select("l-bracket")
    rect = dialog.list.visualItemRect(dialog.list.currentItem())
    # as a real double-click: press/release first (the view remembers the pressed card)
    qtbot.mouseClick(dialog.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dialog.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)

    bracket = get_study("l-bracket").spec
    assert "L-bracket" in window.windowTitle() and "Plate" not in window.windowTitle()
    assert window.spec.id == "l-bracket"
    assert set(window.panel.rows) == {p.name for p in bracket.parameters}
    assert "radius" not in window.panel.rows
    assert window.field_combo.count() == len(bracket.fields) + 1  # + the safety factor (#13)
    # the same viewport, emptied for the new study (its GL context serves the first paint)
    assert window.viewport is old_viewport and window.viewport.epoch == 1
    assert window.result is None and window.viewport.result is None
    before = window.solve_count
    qtbot.waitUntil(lambda: window.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    assert window.viewport.has_field and not window.is_stale
    assert window.result.mesh.dim == 3
    # the new panel drives the new study
    window.panel.rows["load"].box.setText("4")
    window.panel.rows["load"].box.editingFinished.emit()
    assert window.model.value("load") == pytest.approx(4000.0) and window.is_stale


def test_cancel_keeps_the_current_study(qtbot, shared_runner, store):
    window = MainWindow(get_study("plate-with-hole"), runner=shared_runner, settings_store=store,
                        auto_solve=False)
    qtbot.addWidget(window)
    window.show()
    window.model.set_value("radius", 0.03)
    panel = window.panel
    dialog = window.open_gallery()
    dialog.select("heat-sink")
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert window.spec.id == "plate-with-hole" and "Plate with a hole" in window.windowTitle()
    assert window.panel is panel and window.model.value("radius") == pytest.approx(0.03)


def test_ctrl_n_opens_the_gallery(qtbot, shared_runner, store):
    window = MainWindow(get_study("plate-with-hole"), runner=shared_runner, settings_store=store,
                        auto_solve=False)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.gallery is not None and window.gallery.isVisible(), timeout=2000)
    window.gallery.reject()


def test_start_screen_shows_the_gallery_then_the_chosen_study(qtbot, store):
    launcher = Launcher(settings_store=store)
    try:
        first = launcher.start(None)  # `physapp` without --study
        qtbot.addWidget(first)
        assert isinstance(first, GalleryDialog) and first.isVisible()
        assert launcher.window is None and first.cancel_button.text() == "&Quit"
        qtbot.waitUntil(lambda: first.ready, timeout=THUMB_TIMEOUT_MS)
        first.select("heat-sink")
        qtbot.mouseClick(first.open_button, Qt.MouseButton.LeftButton)
        window = launcher.window
        assert isinstance(window, MainWindow)
        qtbot.addWidget(window)
        assert window.isVisible() and not first.isVisible()
        assert "Heat sink" in window.windowTitle()
        assert window.runner is launcher.runner  # the process warmed up behind the start screen
        qtbot.waitUntil(lambda: window.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
        assert window.viewport.has_field
        window.close()
    finally:
        launcher.shutdown()


def test_start_with_a_study_opens_the_main_window_directly(qtbot, store):
    launcher = Launcher(settings_store=store)
    first = launcher.start("thick-cylinder")  # `physapp gui --study thick-cylinder`
    qtbot.addWidget(first)
    assert isinstance(first, MainWindow) and launcher.gallery is None
    assert "Thick-walled cylinder" in first.windowTitle()
    first.close()
    launcher.shutdown()


def test_help_menus_show_the_shortcuts_and_the_version(qtbot, shared_runner, store):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from physapp import __version__

    window = MainWindow(get_study("plate-with-hole"), runner=shared_runner, settings_store=store,
                        auto_solve=False)
    qtbot.addWidget(window)
    window.show()
    seen = []

    def read_and_close() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            seen.append(box.text())
            box.accept()
        else:
            QTimer.singleShot(50, read_and_close)

    from physapp.gui import window_menus

    for method in (window_menus.show_shortcuts, window_menus.about):
        QTimer.singleShot(50, read_and_close)
        method(window)  # modal: returns once read_and_close has closed it
    shortcuts, about = seen
    for keys in ("Ctrl+N", "Ctrl+,", "Ctrl+Q", "F5", "Esc", "Ctrl+R", "Ctrl+E"):
        assert keys in shortcuts, keys
    assert __version__ in about and "Plate with a hole" in about


def test_a_study_whose_geometry_fails_gets_a_placeholder_card(qtbot, tmp_path):
    broken = get_study("plate-with-hole")  # defaults changed so that the hole does not fit
    broken.spec = dataclasses.replace(
        broken.spec,
        parameters=tuple(
            dataclasses.replace(p, default={"radius": 0.07, "width": 0.1}.get(p.name, p.default))
            for p in broken.spec.parameters
        ),
    )
    dialog = _open_gallery(qtbot, studies=[broken, get_study("thick-cylinder")],
                           cache_dir=tmp_path / "thumbs")
    assert dialog.thumbnail("plate-with-hole") is None
    assert dialog.thumbnail("thick-cylinder") is not None
    item = dialog.list.item(0)
    assert "does not fit" in item.data(Qt.ItemDataRole.UserRole + 3)
    assert "No preview" in item.toolTip()
    dialog.select("thick-cylinder")
    assert dialog.open_button.isEnabled()

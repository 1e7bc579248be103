"""Window layout (issue #13): Solve, progress and key quantities in view at 1280x800; windows on
screen and remembering their geometry; a long colour-bar title kept inside the viewport."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QScrollArea

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import GEOMETRY_KEY, MainWindow
from physapp.gui.viewport import _bar_text
from physapp.studies import get_study


@pytest.fixture
def store(tmp_path):
    return QSettings(str(tmp_path / "physapp.conf"), QSettings.Format.IniFormat)


def _window(qtbot, runner, store, study="thick-cylinder") -> MainWindow:
    configure_pyvista()
    w = MainWindow(get_study(study), auto_solve=False, runner=runner, settings_store=store)
    qtbot.addWidget(w)
    return w


def _inside(inner: QRect, outer: QRect) -> bool:
    return outer.contains(inner.topLeft()) and outer.contains(inner.bottomRight())


def _in_scroll_area(widget) -> bool:
    p = widget.parentWidget()
    while p is not None:
        if isinstance(p, QScrollArea):
            return True
        p = p.parentWidget()
    return False


def test_solve_progress_and_key_quantities_are_in_view_at_1280x800(qtbot, shared_runner, store):
    w = _window(qtbot, shared_runner, store)
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    box = w.solve_box
    for widget in (w.solve_button, w.progress, w.results_label):
        assert not _in_scroll_area(widget)  # in the results dock, not below the fold
        region = widget.visibleRegion().boundingRect()
        assert region.height() == widget.height() and region.width() == widget.width()
    # every key quantity has a line (plus "Last solve:") without the dock growing later
    lines = 1 + len(w.spec.key_quantities)
    assert w.results_label.height() >= lines * w.results_label.fontMetrics().lineSpacing()
    assert _inside(box.geometry().translated(box.parentWidget().mapTo(w, box.pos()) - box.pos()),
                   w.rect())


def test_a_window_opens_on_screen_and_remembers_its_geometry(qtbot, shared_runner, store):
    w = _window(qtbot, shared_runner, store)
    area = w.screen().availableGeometry()
    assert w.width() <= area.width() and w.height() <= area.height()
    assert _inside(w.frameGeometry(), area)
    # placed half off screen (a start screen's corner, a monitor that went away): moved back
    w.resize(900, 600)
    w.move(area.right() - 300, area.bottom() - 200)
    w.keep_on_screen()
    assert _inside(w.frameGeometry(), area)
    # larger than the screen: shrunk to it
    w.resize(area.width() + 400, area.height() + 300)
    w.keep_on_screen()
    assert w.width() <= area.width() and w.height() <= area.height()
    # closing saves the geometry; the next window restores it
    w.resize(1000, 700)
    w.move(area.left() + 40, area.top() + 30)
    w.close()
    assert store.value(GEOMETRY_KEY) is not None
    w2 = _window(qtbot, shared_runner, store)
    assert (w2.width(), w2.height()) == (1000, 700)
    assert _inside(w2.frameGeometry(), area)
    w2.close()


def test_a_study_switch_keeps_the_window_on_screen(qtbot, shared_runner, store):
    w = _window(qtbot, shared_runner, store, "plate-with-hole")
    w.show()
    qtbot.waitExposed(w)
    w.set_study(get_study("thick-cylinder"))
    area = w.screen().availableGeometry()
    assert _inside(w.frameGeometry(), area)
    assert not _in_scroll_area(w.solve_button) and w.solve_button.isVisible()
    w.close()


def test_long_colour_bar_titles_put_their_unit_on_a_second_line():
    assert _bar_text("von Mises stress [MPa]") == "von Mises stress\n[MPa]"
    assert _bar_text("Hoop stress \u03c3\u03b8 [MPa]") == "Hoop stress \u03c3\u03b8\n[MPa]"
    assert _bar_text("Temperature [K]") == "Temperature [K]"  # short: one line
    assert _bar_text("Displacement magnitude") == "Displacement magnitude"  # no unit to move


def test_the_camera_is_fitted_again_when_the_view_gets_narrower(qtbot, shared_runner, store):
    """VTK keeps the vertical view angle: a narrower view (a probe dock, a smaller window) cut
    the part's sides until the camera was fitted again (#13 item 6)."""
    from physapp.gui.camera_fit import corners_outside

    w = _window(qtbot, shared_runner, store)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    vp = w.viewport
    qtbot.waitUntil(lambda: vp.grid is not None and vp.grid.n_points > 0, timeout=20_000)

    def outside():
        r = vp.plotter.renderer
        return corners_outside(r.GetActiveCamera(), vp.grid.bounds, *r.GetSize(), right=1.0)

    qtbot.waitUntil(lambda: not outside(), timeout=5000)
    before = w.camera_fit.refits
    w.resize(860, 900)  # the r-z section is wider than tall: its sides would leave the view
    qtbot.waitUntil(lambda: w.camera_fit.refits > before, timeout=5000)
    assert not outside()
    # a view the user zoomed into is theirs: a resize leaves it
    vp.plotter.camera.Zoom(4.0)
    vp.plotter.render()
    done = w.camera_fit.refits
    w.resize(800, 900)
    qtbot.wait(600)
    assert w.camera_fit.refits == done and outside()
    w.close()

"""A study switch empties the viewport instead of building a new one (#13): the same plotter
(its GL context serves the first paint), nothing of the last study left on screen, and the
decorations listening once, not once per switch."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import SIGNAL

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study

pytestmark = pytest.mark.gui


def _listeners(vp) -> tuple[int, int]:
    return (vp.receivers(SIGNAL("shown_changed()")),
            vp.receivers(SIGNAL("view_settings_applied()")))


def _shown(win, study_id: str) -> bool:
    vp = win.viewport
    return win.spec.id == study_id and vp.grid is not None and vp.mesh is not None


def test_a_study_switch_reuses_the_emptied_viewport(qtbot, shared_runner):
    configure_pyvista()
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: _shown(win, "plate-with-hole"), timeout=20_000)
    vp = win.viewport
    plotter, render_window = vp.plotter, vp.plotter.render_window
    listeners = _listeners(vp)
    assert min(listeners) >= 1
    vp.set_clip(((0.0, 0.0, 0.0), (1.0, 0.0, 0.0)))  # a view option of this study only
    plate_mesh = vp.mesh

    win.set_study(get_study("l-bracket"))
    assert win.viewport is vp and vp.epoch == 1
    assert vp.plotter is plotter and vp.plotter.render_window is render_window
    assert vp.result is None and vp.clip is None and vp.warp_scale == 0.0
    qtbot.waitUntil(lambda: _shown(win, "l-bracket"), timeout=20_000)
    assert vp.mesh is not plate_mesh and vp.mesh.dim == 3
    # the part drawn is the bracket's whole outer surface, and no actor of the plate is left:
    # every dataset on screen lies within the bracket (the plate is 10x larger in x)
    lo, hi = vp.mesh.bounds()
    size = float(np.linalg.norm(hi - lo))
    assert vp.surface.GetPoints() is vp.grid.GetPoints() and vp.surface.n_cells > 0
    for name, actor in vp.plotter.actors.items():
        if not actor.IsA("vtkActor"):  # the warning and caption lines
            continue
        data = actor.GetMapper().GetInput()
        if data is None or data.GetNumberOfPoints() == 0:
            continue
        b = np.array(data.GetBounds()).reshape(3, 2)
        assert np.all(b[:, 0] >= lo - size) and np.all(b[:, 1] <= hi + size), name
    assert vp.actor.GetProperty().GetBackfaceCulling()  # a closed solid: its back is culled
    vp.set_clip((tuple(0.5 * (lo + hi)), (1.0, 0.0, 0.0)))  # a section opens it: drawn whole
    assert not vp.actor.GetProperty().GetBackfaceCulling()
    vp.set_clip(None)
    assert vp.actor.GetProperty().GetBackfaceCulling()
    assert _listeners(vp) == listeners  # connected again, once

    win.set_study(get_study("plate-with-hole"))
    qtbot.waitUntil(lambda: _shown(win, "plate-with-hole"), timeout=20_000)
    assert win.viewport is vp and vp.epoch == 2 and _listeners(vp) == listeners
    assert not vp.actor.GetProperty().GetBackfaceCulling()  # a flat part is seen from both sides
    img = vp.screenshot()
    assert img.std() > 5  # the part is drawn, not a blank frame

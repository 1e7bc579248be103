"""Axisymmetric studies (#13): r and z axes on the section, a revolved 3D view option."""

from __future__ import annotations

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.studies import get_study
from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui


def _labels(vp) -> tuple[str, str, str]:
    axes = vp.plotter.renderer.axes_actor
    return axes.GetXAxisLabelText(), axes.GetYAxisLabelText(), axes.GetZAxisLabelText()


def test_thick_cylinder_shows_r_z_axes_and_revolves(qtbot, shared_runner):
    configure_pyvista()
    w = MainWindow(get_study("thick-cylinder"), runner=shared_runner)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.solve_count >= 1, timeout=SOLVE_TIMEOUT_MS)
    vp = w.viewport
    assert w.axisym.active and _labels(vp)[:2] == ("r", "z")
    section = w.result
    r_out = float(section.mesh.points[:, 0].max())
    clim = vp.clim
    w.axisym.combo.setCurrentIndex(w.axisym.combo.findData("sector"))
    shown = vp.result
    assert shown.meta["revolved"] == 270.0 and shown.mesh.points.shape[1] == 3
    lo, hi = shown.mesh.bounds()
    # 0..270 degrees about z: x and y reach -r_out; z keeps the section's height
    assert lo[0] == pytest.approx(-r_out, rel=1e-6) and lo[1] == pytest.approx(-r_out, rel=1e-6)
    assert hi[2] - lo[2] == pytest.approx(np.ptp(section.mesh.points[:, 1]), rel=1e-9)
    assert vp.clim == pytest.approx(clim)  # the same values, around the axis
    assert _labels(vp)[2] == "z (axis)"
    assert w.result is section  # the solved result stays the r-z section
    w.axisym.combo.setCurrentIndex(w.axisym.combo.findData("full"))
    assert vp.result.meta["revolved"] == 360.0
    w.axisym.combo.setCurrentIndex(w.axisym.combo.findData("section"))
    assert vp.result is section and _labels(vp)[:2] == ("r", "z")
    w.close()


def test_plane_studies_have_no_revolved_view(window):
    assert not window.axisym.active and window.axisym.combo is None

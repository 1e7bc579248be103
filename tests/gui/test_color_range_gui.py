"""Colour range (#13): automatic, typed or locked in every view; round ticks; bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui


def _peak_mpa(window) -> float:
    return float(window.result.point_data["von_mises"].max()) / 1e6


def test_a_locked_range_stays_while_a_slider_moves_and_a_new_result_arrives(window, qtbot):
    vp, cr = window.viewport, window.color_range
    assert cr.mode == "auto" and window.app.view.clim is None
    auto = vp.clim
    assert auto[1] == pytest.approx(_peak_mpa(window), rel=1e-5)  # follows the data
    cr.set_mode("locked")
    assert window.app.view.clim == pytest.approx(auto)
    window.model.set_value("traction", 20e6)  # the slider: twice the load
    before = window.solve_count
    window.solve()
    qtbot.waitUntil(lambda: window.solve_count > before, timeout=SOLVE_TIMEOUT_MS)
    assert _peak_mpa(window) == pytest.approx(2 * auto[1], rel=1e-3)  # the data doubled ...
    assert vp.clim == pytest.approx(auto)  # ... the colours did not rescale
    cr.set_mode("auto")
    assert vp.clim[1] == pytest.approx(_peak_mpa(window), rel=1e-5)
    # another field: a range belongs to the field it was set for
    cr.set_mode("locked")
    window.app.view.field = "sigma_xx"
    assert cr.mode == "auto" and window.app.view.clim is None


def test_typed_range_round_ticks_and_min_not_below_max_refused(window):
    vp, cr = window.viewport, window.color_range
    cr.combo.setCurrentIndex(cr.combo.findData("fixed"))
    assert cr.min_edit.isEnabled()
    cr.min_edit.setText("5")
    cr.max_edit.setText("20")
    cr.max_edit.editingFinished.emit()
    assert vp.clim == pytest.approx((5.0, 20.0)) and window.app.view.clim == (5.0, 20.0)
    labels = vp.plotter.scalar_bar.GetCustomLabels()
    ticks = [labels.GetValue(i) for i in range(labels.GetNumberOfTuples())]
    assert ticks == pytest.approx([5, 10, 15, 20])  # round values inside the range
    assert vp.plotter.scalar_bar.GetTextPad() > 1  # labels clear of the bar
    # min >= max: refused at the fields, the range stays, the app goes on
    cr.min_edit.setText("30")
    cr.min_edit.editingFinished.emit()
    assert vp.clim == pytest.approx((5.0, 20.0))
    assert not cr.error_label.isHidden() and "below the maximum" in cr.error_label.text()
    assert not cr.set_range(7.0, 7.0)
    cr.min_edit.setText("0")
    cr.min_edit.editingFinished.emit()
    assert cr.error_label.isHidden() and vp.clim == pytest.approx((0.0, 20.0))
    # automatic again: the data's range, with round ticks too
    cr.set_mode("auto")
    lo, hi = vp.clim
    labels = vp.plotter.scalar_bar.GetCustomLabels()
    ticks = np.array([labels.GetValue(i) for i in range(labels.GetNumberOfTuples())])
    assert lo <= ticks.min() and ticks.max() <= hi and len(ticks) >= 3
    step = np.diff(ticks)[0]
    assert np.allclose(ticks / step, np.round(ticks / step))

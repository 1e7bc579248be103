"""An animation of a history over time: frame count, captions' steps, one colour range (#18)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from physapp.core import FixedTemperature, HeatSetup
from physapp.core.errors import PhysappError
from physapp.core.transient import TransientHeatSetup
from physapp.geometry.shapes2d import mesh_rectangle
from physapp.io.history import HistoryWriter
from physapp.solvers.heat_transient import solve_heat_transient
from physapp.viz.figure import frame_count
from physapp.viz.history_animation import frame_steps, history_animation_job, history_clim

T_FIELD = ("temperature", "Temperature", "degC")


@pytest.fixture(scope="module")
def heated(tmp_path_factory):
    """A plate heated to 100 degC at its left edge from 0 degC: it warms over 12 steps."""
    path = tmp_path_factory.mktemp("anim") / "h.h5"
    heat = HeatSetup("planar", 5.0, fixed=(FixedTemperature("left", 100.0),))
    setup = TransientHeatSetup(heat, 1000.0, 1000.0, 600.0, 50.0, initial=0.0)
    h = solve_heat_transient(mesh_rectangle(0, 0, 0.1, 0.04, 0.01), setup, order=1,
                             sink=HistoryWriter(path))
    return path, h


def test_gif_over_time_with_the_history_range(heated, tmp_path):
    path, h = heated
    assert history_clim(h, T_FIELD) == pytest.approx((0.0, 100.0), abs=0.1)
    gif = history_animation_job(str(path), str(tmp_path / "t.gif"), T_FIELD,
                                {"frames": 5, "size": (240, 160)})
    assert frame_count(gif) == 5
    with Image.open(gif) as im:
        im.seek(1)
        early = np.asarray(im.convert("RGB")).astype(int)
        im.seek(4)
        late = np.asarray(im.convert("RGB")).astype(int)
    # one colour range (0..100 degC): the plate warms, so more of it is red (turbo's top)
    def warm(img):
        return int(np.sum((img[..., 0] > 150) & (img[..., 2] < 80)))

    assert warm(late) > 1.3 * warm(early) > 0
    assert frame_steps(13, 5).tolist() == [0, 3, 6, 9, 12]
    assert frame_steps(3, 100).tolist() == [0, 1, 2]
    with pytest.raises(PhysappError, match="at least 2 frames"):
        frame_steps(10, 1)
    with pytest.raises(PhysappError, match="no field"):
        history_animation_job(str(path), str(tmp_path / "x.gif"), ("von_mises", "v", "Pa"))

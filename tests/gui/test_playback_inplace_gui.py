"""Playing a history updates the viewport in place and reads each shown frame once (#18): the
same grid, actor and VTK array get the new values; only the shown field is read per frame; a
colour range computed from the frames (a history without recorded ranges) is computed once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from physapp.core.history import FieldHistory
from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.viewport import FIELD_ARRAY
from physapp.io.readers import read_mesh
from physapp.studies import get_study

pytestmark = pytest.mark.gui

SQUARE = Path(__file__).parents[1] / "data" / "meshes" / "square.msh"
N_STEPS = 6


class CountingFrames:
    """A lazy field over steps (as a history file's dataset is): counts the frames read."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.shape = values.shape
        self.ndim = values.ndim
        self.dtype = values.dtype
        self.reads: Counter[int] = Counter()

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            self.reads[int(key)] += 1
        return self.values[key]


def _history(field: str) -> tuple[FieldHistory, CountingFrames, CountingFrames]:
    mesh, _report = read_mesh(SQUARE, isolate=False)
    x = mesh.points[:, 0]
    # step k: (k + 1) MPa * (1 + x); its range over the history is [1, 2 * N_STEPS] MPa
    shown = CountingFrames(np.array([1e6 * (k + 1) * (1 + x) for k in range(N_STEPS)],
                                    dtype=np.float32))
    other = CountingFrames(np.zeros((N_STEPS, mesh.n_points), dtype=np.float32))
    h = FieldHistory(mesh, np.arange(N_STEPS, dtype=float), {field: shown, "other": other},
                     "reference", units={field: "Pa", "other": "Pa"})
    return h, shown, other


def test_playing_writes_frames_in_place_reading_each_once(qtbot, shared_runner):
    configure_pyvista()
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.resize(900, 600)  # small: fewer pixels to render on a loaded machine
    win.show()
    qtbot.waitExposed(win)
    qtbot.waitUntil(lambda: win.viewport.grid is not None, timeout=20_000)  # the preview first
    field = win.spec.default_field
    h, shown, other = _history(field)
    assert "field_ranges" not in h.meta  # the player computes the colour range from the frames
    win.playback.set_history(h, step=0)
    vp = win.viewport
    assert vp.grid is not None and vp.grid.n_points == h.mesh.n_points
    # one pass over the history for the colour range, then the frame shown
    assert sum(shown.reads.values()) == N_STEPS + 1
    assert vp.clim == pytest.approx((1.0, 2.0 * N_STEPS))  # MPa, the whole history's range
    grid, actor = vp.grid, vp.actor
    array = grid.GetPointData().GetArray(FIELD_ARRAY)
    address = array.GetAddressAsString("vtkDataArray")

    shown.reads.clear()
    other.reads.clear()
    frames: list[int] = []
    win.playback.step_shown.connect(frames.append)
    m = win.app.playback
    m.loop, m.speed = True, 4.0
    surface, polys = vp.surface, vp.surface.GetPolys()
    points_mtime = grid.GetPoints().GetMTime()
    renders: list[int] = []
    rw = vp.plotter.render_window
    observer = rw.AddObserver("EndEvent", lambda *_a: renders.append(1))
    m.playing = True
    qtbot.waitUntil(lambda: len(frames) >= N_STEPS + 3, timeout=20_000)  # wrapped round
    played = list(frames)
    m.playing = False  # the pause shows the step again (on the full mesh)
    assert frames == [*played, played[-1]]
    qtbot.wait(50)  # the pause's frame is painted
    rw.RemoveObserver(observer)
    # the surface drawn was found once (the same PolyData and triangles), the points were not
    # written (one mesh), and each frame was rendered once: no frame asked for two renders
    assert vp.surface is surface and vp.surface.GetPolys() is polys
    assert vp.surface.GetPoints() is grid.GetPoints()
    assert grid.GetPoints().GetMTime() == points_mtime
    assert len(frames) - 2 <= len(renders) <= len(frames) + 1

    # in place: the same grid, actor and VTK array object, holding the last frame's values
    assert vp.grid is grid and vp.actor is actor
    same = grid.GetPointData().GetArray(FIELD_ARRAY)
    assert same.GetAddressAsString("vtkDataArray") == address
    x = h.mesh.points[:, 0]
    np.testing.assert_allclose(np.asarray(grid.point_data[FIELD_ARRAY]),
                               (m.step + 1) * (1 + x), rtol=1e-6)  # MPa
    assert vp.clim == pytest.approx((1.0, 2.0 * N_STEPS))  # one range while playing
    # each displayed frame read its shown field once (and the pause once more), the colour
    # range was not recomputed and the field not shown was never read
    assert played[:3] == [1, 2, 3] and N_STEPS - 1 in played and 0 in played[1:]
    assert sum(shown.reads.values()) == len(frames)
    assert shown.reads == Counter(frames)
    assert not other.reads

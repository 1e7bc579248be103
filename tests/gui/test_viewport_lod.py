"""Streamed frames of a large mesh are drawn on a coarser surface of its own nodes, and the full
mesh comes back once the stream pauses (real QtInteractor under Xvfb)."""

import numpy as np
import pytest

from physapp.core import CellBlock, FieldResult, MeshData
from physapp.gui import viewport as vp_module
from physapp.gui.viewport import FIELD_ARRAY, LOD_MIN_POINTS, Viewport

pytestmark = pytest.mark.gui


def _plate(n: int) -> MeshData:
    x, y = np.meshgrid(np.linspace(0, 0.2, n + 1), np.linspace(0, 0.1, n + 1))
    pts = np.column_stack([x.ravel(), y.ravel()])
    i = np.arange(n)
    a = (i[:, None] * (n + 1) + i[None, :]).ravel()
    tri = np.concatenate([np.column_stack([a, a + 1, a + n + 2]),
                          np.column_stack([a, a + n + 2, a + n + 1])])
    return MeshData(pts, (CellBlock("triangle", tri),))


def _result(mesh: MeshData, k: float) -> FieldResult:
    t = k * (1 + mesh.points[:, 0] * 10 + np.sin(20 * mesh.points[:, 1]))
    return FieldResult(mesh, {"temperature": t}, "test", {}, {"temperature": "K"})


def test_streamed_frames_of_a_large_mesh_use_the_coarse_surface(qtbot):
    mesh = _plate(220)  # 48,841 nodes
    assert mesh.n_points > LOD_MIN_POINTS
    vp = Viewport()
    qtbot.addWidget(vp)
    vp.resize(800, 600)
    vp.show()
    qtbot.waitExposed(vp)
    field = ("temperature", "Temperature", "K")
    vp.show_result(_result(mesh, 1.0), field)
    assert not vp.showing_coarse
    frames = []
    vp.update_result(_result(mesh, 2.0), field, on_frame=frames.append)
    assert vp.showing_coarse and not vp.actor.GetVisibility()
    ids, poly, actor = vp._lod
    assert poly.n_points < 0.4 * mesh.n_points
    # the coarse surface shows the frame's values at its nodes, with the full mesh's colours
    assert np.array_equal(poly.point_data[FIELD_ARRAY], vp.grid.point_data[FIELD_ARRAY][ids])
    assert np.allclose(poly.points, vp.grid.points[ids])
    assert actor.GetMapper().GetLookupTable() is vp.actor.GetMapper().GetLookupTable()
    assert actor.GetMapper().GetScalarRange() == pytest.approx(vp.clim)
    qtbot.waitUntil(lambda: len(frames) == 1, timeout=5000)
    vp.update_result(_result(mesh, 3.0), field)  # the same coarse surface, new values
    assert vp._lod[1] is poly and np.array_equal(poly.point_data[FIELD_ARRAY],
                                                 vp.grid.point_data[FIELD_ARRAY][ids])
    # the stream pauses: the full mesh is drawn again
    qtbot.waitUntil(lambda: not vp.showing_coarse, timeout=vp_module.LOD_SETTLE_MS * 8)
    assert vp.actor.GetVisibility()
    img = vp.screenshot()
    assert img.std() > 5  # a field on screen, not a blank frame
    # mesh edges on: every frame draws the full mesh (edges of a coarse copy would mislead)
    vp.set_show_edges(True)
    vp.update_result(_result(mesh, 4.0), field)
    assert not vp.showing_coarse
    vp.close_viewport()


def test_small_meshes_never_use_the_coarse_surface(qtbot):
    mesh = _plate(60)
    vp = Viewport()
    qtbot.addWidget(vp)
    vp.show()
    field = ("temperature", "Temperature", "K")
    vp.show_result(_result(mesh, 1.0), field)
    vp.update_result(_result(mesh, 2.0), field)
    assert not vp.showing_coarse and vp._lod is None
    vp.close_viewport()

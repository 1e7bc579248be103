"""FieldHistory: frames, probes, curves and a cut-short history."""

import pickle

import numpy as np
import pytest

from physapp.core.history import FieldHistory
from physapp.core.mesh import CellBlock, MeshData


def _mesh():
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
    return MeshData(pts, (CellBlock("triangle", [[0, 1, 2], [1, 3, 2]]),))


def test_frames_probe_and_curves():
    mesh = _mesh()
    t = np.linspace(0, 1, 5)
    T = np.outer(t, np.arange(4.0))                      # T(t, node) = t * node
    u = np.stack([np.stack([T, T], axis=2)[i] for i in range(5)])
    h = FieldHistory(mesh, t, {"T": T, "u": u}, "test", curves={"q": 2 * t})
    assert h.n_steps == 5
    f = h.frame(-1)
    assert f.meta["time"] == 1.0 and f.meta["step"] == 4 and f.meta["curve:q"] == 2.0
    np.testing.assert_allclose(f.point_data["T"], [0, 1, 2, 3])
    np.testing.assert_allclose(h.probe("T", 3), 3 * t)
    np.testing.assert_allclose(h.probe("u", 2), np.sqrt(2) * 2 * t, rtol=1e-6)
    assert h.nearest_step(0.6) == 2
    back = pickle.loads(pickle.dumps(h))
    np.testing.assert_array_equal(back.point_data["T"], h.point_data["T"])
    with pytest.raises(IndexError):
        h.frame(5)


def test_longer_arrays_are_cut_to_the_steps_written():
    """A streamed file may hold more allocated rows than steps written: times decide."""
    mesh = _mesh()
    T = np.zeros((10, 4))
    h = FieldHistory(mesh, [0.0, 0.1, 0.2], {"T": T}, "x", curves={"q": np.arange(10.0)},
                     complete=False)
    assert h.n_steps == 3 and len(h.curves["q"]) == 3 and not h.complete
    with pytest.raises(ValueError):
        FieldHistory(mesh, [0.0], {"T": np.zeros((1, 3))}, "x")

"""MeshSamples: samples with different meshes, checked on construction."""

import numpy as np
import pytest

from physapp.core.errors import PhysappError
from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.samples import MeshSample, MeshSamples


def _mesh(n):
    x = np.linspace(0, 1, n)
    pts = np.array([[a, b] for a in x for b in (0.0, 1.0)])
    tris = [[2 * i, 2 * i + 2, 2 * i + 1] for i in range(n - 1)]
    return MeshData(pts, (CellBlock("triangle", tris),))


def test_samples_with_different_meshes():
    s = [MeshSample(_mesh(n), {"a": float(n)}, {"T": np.arange(2 * n)}) for n in (3, 5, 9)]
    data = MeshSamples(s, ("a",), ("T",), is_test=[False, False, True])
    np.testing.assert_array_equal(data.X[:, 0], [3, 5, 9])
    np.testing.assert_array_equal(data.bounds, [[3, 9]])
    train, test = data.split()
    assert len(train) == 2 and test[0].mesh.n_points == 18
    assert len(data.subset([2])) == 1


def test_bad_samples_are_refused_with_their_name():
    with pytest.raises(PhysappError, match="s1"):
        MeshSample(_mesh(3), {"a": 1}, {"T": np.zeros(5)}, name="s1")
    s = MeshSample(_mesh(3), {"a": 1}, {"T": np.zeros(6)}, name="s2")
    with pytest.raises(PhysappError, match="s2 lacks b"):
        MeshSamples([s], ("a", "b"), ("T",))

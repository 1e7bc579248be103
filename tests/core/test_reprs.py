"""Results, meshes, histories and data sets say what they hold in their repr, and a result
becomes a pyvista grid with ``to_pyvista()`` (#12: the API behaves like pyvista's)."""

from __future__ import annotations

import numpy as np

from physapp.core.history import FieldHistory
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.results import FieldResult


def _mesh() -> MeshData:
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0]],
                   float)
    return MeshData(pts, (CellBlock("triangle6", np.array([[0, 1, 2, 3, 4, 5]])),),
                    {"base": np.array([[0, 1]])}, {}, 2, "mm")


def _result() -> FieldResult:
    m = _mesh()
    u = np.column_stack([np.linspace(0, 1, 6), np.zeros(6), np.zeros(6)])
    return FieldResult(m, {"displacement": u, "von_mises": np.arange(6.0)}, "solver:test",
                       {"params": {"load": 2.5e7, "n": 3}}, {"displacement": "m", "von_mises": "Pa"})


def test_result_and_mesh_reprs_name_what_they_hold():
    r = _result()
    assert repr(r) == ("FieldResult('solver:test', 6 points, fields: displacement (3) [m], "
                       "von_mises [Pa]; load=2.5e+07, n=3)")
    assert repr(r.mesh) == "MeshData(6 points, 1 triangle6, 2D, unit mm; regions: base)"


def test_history_repr_gives_steps_span_fields_and_state():
    m = _mesh()
    h = FieldHistory(m, [0.0, 0.5, 2.0], {"temperature": np.zeros((3, 6))}, "solver:heat",
                     units={"temperature": "K"}, curves={"q": [0.0, 1.0, 2.0]}, complete=False)
    assert repr(h) == ("FieldHistory('solver:heat', 3 steps of time 0 to 2 s, 6 points, fields: "
                       "temperature [K]; curves: q; incomplete)")


def test_training_data_repr_counts_the_split():
    from physapp.surrogates.data import TrainingData

    m = _mesh()
    X = np.array([[1.0], [2.0], [3.0]])
    data = TrainingData("s", ("a",), np.array([[0.0, 4.0]]), {}, m, X,
                        np.repeat(m.points[None, :, :2], 3, 0).astype(np.float32),
                        {"t": np.zeros((3, 6), np.float32)}, {"t": "K"},
                        is_test=np.array([False, False, True]))
    assert repr(data) == ("TrainingData('s', 3 samples (2 training / 1 held out), parameters a, "
                          "6 points, fields: t [K])")


def test_to_pyvista_keeps_the_cells_and_every_field():
    r = _result()
    grid = r.to_pyvista()
    assert grid.n_points == 6 and grid.n_cells == 1
    assert int(grid.celltypes[0]) == 22  # VTK_QUADRATIC_TRIANGLE: the P2 cell as it is
    np.testing.assert_array_equal(grid.point_data["von_mises"], np.arange(6.0))
    np.testing.assert_array_equal(grid.point_data["displacement"][:, 0],
                                  np.linspace(0, 1, 6).astype(np.float32))  # float32 fields
    assert sorted(grid.field_data["units"]) == ["displacement=m", "von_mises=Pa"]
    assert list(grid.field_data["source"]) == ["solver:test"]

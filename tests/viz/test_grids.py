"""Display grids from MeshData: P2 triangles are split so colours use every nodal value."""

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from physapp.core import CellBlock, FieldResult, MeshData  # noqa: E402
from physapp.viz.grids import (  # noqa: E402
    display_triangles,
    field_for_display,
    mesh_to_grid,
    same_topology,
)


def _tri6_mesh() -> MeshData:
    pts = [[0, 0], [1, 0], [0, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]]
    return MeshData(np.array(pts, float), (CellBlock("triangle6", np.array([[0, 1, 2, 3, 4, 5]])),))


def test_triangle6_is_split_into_four_triangles_covering_the_same_area():
    mesh = _tri6_mesh()
    grid = mesh_to_grid(mesh)
    assert grid.n_cells == 4 and grid.n_points == 6
    assert grid.area == pytest.approx(0.5)
    assert sorted(np.unique(display_triangles(mesh))) == list(range(6))


def test_field_converted_to_display_unit_and_topology_check():
    mesh = _tri6_mesh()
    res = FieldResult(
        mesh,
        {"s": np.arange(6) * 1e6, "u": np.ones((6, 2)) * 1e-3},
        "test",
        units={"s": "Pa", "u": "m"},
    )
    values, unit = field_for_display(res, "s", "Pa")
    assert unit == "MPa" and values.max() == pytest.approx(5.0)
    values, unit = field_for_display(res, "u[1]", "m")
    assert unit == "mm" and values == pytest.approx(np.ones(6))
    grid = mesh_to_grid(mesh)
    assert same_topology(grid, _tri6_mesh())
    other = MeshData(mesh.points, (CellBlock("triangle", np.array([[0, 1, 2]])),))
    assert not same_topology(grid, other)


def test_tetra10_is_kept_as_a_quadratic_vtk_cell():
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    mids = np.array(
        [(pts[a] + pts[b]) / 2 for a, b in [(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]]
    )
    mesh = MeshData(np.vstack([pts, mids]), (CellBlock("tetra10", np.arange(10)[None, :]),))
    grid = mesh_to_grid(mesh)
    assert grid.n_cells == 1 and grid.celltypes[0] == pv.CellType.QUADRATIC_TETRA
    assert grid.volume == pytest.approx(1 / 6)
    assert same_topology(grid, mesh)

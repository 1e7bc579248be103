"""Display grids from MeshData: P2 triangles are split so colours use every nodal value."""

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from physapp.core import CellBlock, FieldResult, MeshData  # noqa: E402
from physapp.viz.grids import (  # noqa: E402
    display_triangles,
    display_unit,
    field_display_unit,
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


def _square(n: int) -> MeshData:
    """A unit square of 2 n^2 triangles."""
    x, y = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    pts = np.column_stack([x.ravel(), y.ravel()])
    i = np.arange(n)
    a = (i[:, None] * (n + 1) + i[None, :]).ravel()
    tri = np.concatenate([np.column_stack([a, a + 1, a + n + 2]),
                          np.column_stack([a, a + n + 2, a + n + 1])])
    return MeshData(pts, (CellBlock("triangle", tri),))


def test_coarse_surface_keeps_a_subset_of_nodes_and_covers_the_part():
    from physapp.viz.grids import coarse_surface
    from physapp.viz.surface import display_surface

    mesh = _square(200)  # 40k triangles, 40,401 nodes
    grid = mesh_to_grid(mesh)
    tri = display_surface(mesh)
    assert len(tri) == 80_000
    ids, faces = coarse_surface(grid.points, tri, 2_000)
    assert 1_500 < len(ids) < 2_600 and len(np.unique(ids)) == len(ids)
    assert faces.min() >= 0 and faces.max() < len(ids)
    p = np.asarray(grid.points)[ids]
    a, b, c = p[faces[:, 0]], p[faces[:, 1]], p[faces[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()
    assert area == pytest.approx(1.0, rel=0.02)  # no holes, no overlaps to speak of
    # a linear field sampled at the kept nodes is the field at those nodes (no interpolation)
    f = 3 * grid.points[:, 0] - grid.points[:, 1]
    assert np.array_equal(f[ids], 3 * p[:, 0] - p[:, 1])
    small_ids, small_faces = coarse_surface(grid.points, tri, 10 ** 6)  # already coarse enough
    assert len(small_ids) == grid.n_points and len(small_faces) == len(tri)


def test_display_unit_follows_the_quantity_size_from_one_table():
    """#13/#17: a solid's stresses (MPa-sized) read in MPa; a flow's pressure (0.01-1 Pa) in Pa,
    not as 1e-07 MPa; lengths always in mm; unknown units unchanged."""
    assert display_unit("Pa", 35e6) == (1e-6, "MPa")
    assert display_unit("Pa", -2e5) == (1e-6, "MPa")
    assert display_unit("Pa", 0.42) == (1.0, "Pa")
    assert display_unit("Pa") == (1e-6, "MPa")  # no size known: the solid default
    assert display_unit("Pa", 0.0) == (1e-6, "MPa")
    assert display_unit("m", 2.2) == (1e3, "mm")
    assert display_unit("m/s", 1.5) == (1.0, "m/s")
    mesh = _tri6_mesh()
    p = np.linspace(-0.3, 0.5, 6)  # kinematic pressure of a unit-speed flow
    res = FieldResult(mesh, {"pressure": p, "s": p * 1e7}, "test",
                      units={"pressure": "Pa", "s": "Pa"})
    values, unit = field_for_display(res, "pressure", "Pa")
    assert unit == "Pa" and values == pytest.approx(p)
    assert field_display_unit(res, "pressure", "Pa") == (1.0, "Pa")
    values, unit = field_for_display(res, "s", "Pa")
    assert unit == "MPa" and values.max() == pytest.approx(5.0)
    assert field_display_unit(res, "s", "Pa") == (1e-6, "MPa")

"""The surface the viewport draws of a solid (#18): the outer faces, outward, quadratic faces
split through their mid-side nodes; a PolyData on the display grid's own points and arrays."""

import numpy as np
import pytest

pv = pytest.importorskip("pyvista")

from physapp.core import CellBlock, MeshData  # noqa: E402
from physapp.viz.grids import display_triangles, mesh_to_grid  # noqa: E402
from physapp.viz.surface import display_surface, shared_surface  # noqa: E402

_TET_EDGES = [(0, 1), (1, 2), (2, 0), (0, 3), (1, 3), (2, 3)]  # tetra10 mid-side order


def _cube_tets(n: int = 3) -> MeshData:
    """The unit cube [0, 1]^3 cut into n^3 cubes, each split into tetrahedra (VTK's split)."""
    box = pv.ImageData(dimensions=(n + 1,) * 3, spacing=(1 / n,) * 3).triangulate()
    conn = np.asarray(box.cells_dict[pv.CellType.TETRA], dtype=np.int64)
    return MeshData(np.asarray(box.points, dtype=float), (CellBlock("tetra", conn),))


def _quadratic(mesh: MeshData) -> MeshData:
    """``mesh``'s tetrahedra as tetra10 with a node at the middle of each edge."""
    conn = mesh.cells[0].connectivity
    edges = np.sort(np.stack([conn[:, list(e)] for e in _TET_EDGES], axis=1), axis=2)
    unique, inverse = np.unique(edges.reshape(-1, 2), axis=0, return_inverse=True)
    mids = 0.5 * (mesh.points[unique[:, 0]] + mesh.points[unique[:, 1]])
    conn10 = np.hstack([conn, mesh.n_points + inverse.reshape(-1, 6)])
    return MeshData(np.vstack([mesh.points, mids]), (CellBlock("tetra10", conn10),))


def _areas_and_normals(points, tris):
    a, b, c = points[tris[:, 0]], points[tris[:, 1]], points[tris[:, 2]]
    cross = np.cross(b - a, c - a)
    return 0.5 * np.linalg.norm(cross, axis=1), cross, (a + b + c) / 3


@pytest.mark.parametrize("quadratic", [False, True])
def test_the_surface_of_a_cube_is_its_six_faces_outward(quadratic):
    linear = _cube_tets(3)
    mesh = _quadratic(linear) if quadratic else linear
    tris = display_surface(mesh)
    area, normal, centre = _areas_and_normals(mesh.points, tris)
    assert area.sum() == pytest.approx(6.0)  # no face missing, none inside, none twice
    assert np.all(area > 0)
    on_face = np.any(np.isclose(mesh.points[np.unique(tris)], 0.0)
                     | np.isclose(mesh.points[np.unique(tris)], 1.0), axis=1)
    assert on_face.all()  # interior nodes are not drawn
    # outward: each triangle's normal points away from the cube's centre
    assert np.all(np.einsum("ij,ij->i", normal, centre - 0.5) > 0)
    n_outer = 2 * 6 * 3 * 3  # two triangles per boundary square of the 3 x 3 grid per side
    assert len(tris) == (4 if quadratic else 1) * n_outer
    if quadratic:  # the mid-side nodes are vertices too: 7 x 7 nodes per side of the cube
        assert len(np.unique(tris)) == 6 * 7 * 7 - 12 * 7 + 8


def test_cells_numbered_the_other_way_round_still_give_outward_faces():
    mesh = _quadratic(_cube_tets(2))
    conn = mesh.cells[0].connectivity.copy()
    # mirror every second cell's numbering (swap corners 1 and 2 with their mid-side nodes)
    conn[::2] = conn[::2][:, [0, 2, 1, 3, 6, 5, 4, 7, 9, 8]]
    turned = MeshData(mesh.points, (CellBlock("tetra10", conn),))
    area, normal, centre = _areas_and_normals(turned.points, display_surface(turned))
    assert area.sum() == pytest.approx(6.0)
    assert np.all(np.einsum("ij,ij->i", normal, centre - 0.5) > 0)


def test_a_2d_mesh_draws_its_display_triangles():
    pts = np.array([[0, 0], [1, 0], [0, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]], float)
    mesh = MeshData(pts, (CellBlock("triangle6", np.array([[0, 1, 2, 3, 4, 5]])),))
    assert np.array_equal(display_surface(mesh), display_triangles(mesh))
    assert len(display_surface(mesh)) == 4


def test_shared_surface_shows_what_is_written_into_the_grid():
    mesh = _quadratic(_cube_tets(2))
    grid = mesh_to_grid(mesh)
    grid.point_data["field"] = np.zeros(grid.n_points)
    poly = shared_surface(grid, display_surface(mesh))
    assert poly.GetPoints() is grid.GetPoints()
    assert poly.GetPointData().GetArray("field") is grid.GetPointData().GetArray("field")
    grid.point_data["field"][:] = mesh.points[:, 0] * 2.0  # written in place into the grid
    grid.points[:, 2] += 1.0
    np.testing.assert_array_equal(poly.point_data["field"], 2.0 * mesh.points[:, 0])
    assert poly.bounds[4:] == pytest.approx((1.0, 2.0))
    assert poly.area == pytest.approx(6.0)


@pytest.mark.parametrize("quadratic", [False, True])
def test_arrays_found_elsewhere_give_the_same_grid_and_surface_without_copying(quadratic):
    """A part's reading process finds the display arrays (#16); the GUI thread wraps them: the
    grid has the cells the copying path gives, on the mesh's own connectivity memory."""
    from vtkmodules.util.numpy_support import vtk_to_numpy

    from physapp.core import display_mesh

    mesh = _cube_tets(3)
    mesh = _quadratic(mesh) if quadratic else mesh
    copied = mesh_to_grid(mesh)  # nothing remembered yet: built from copied arrays
    copied_tris = display_surface(mesh)
    arrays = display_mesh.display_arrays(mesh)
    display_mesh.remember(mesh, arrays)
    assert display_mesh.known(mesh) is arrays
    wrapped = mesh_to_grid(mesh)
    assert np.array_equal(wrapped.cells, copied.cells)
    assert np.array_equal(wrapped.celltypes, copied.celltypes)
    assert abs(wrapped.volume - 1.0) < 1e-12  # the unit cube
    conn = vtk_to_numpy(wrapped.GetCells().GetConnectivityArray())
    assert np.shares_memory(conn, mesh.cells[0].connectivity)
    assert display_surface(mesh) is arrays.triangles
    assert np.array_equal(arrays.triangles, copied_tris)
    area, _, _ = _areas_and_normals(mesh.points, arrays.triangles)
    assert abs(area.sum() - 6.0) < 1e-12  # six unit faces
    other = MeshData(mesh.points.copy(), tuple(CellBlock(b.type, b.connectivity.copy())
                                               for b in mesh.cells))
    assert display_mesh.known(other) is None  # equal cells but other arrays: not taken

"""Finite-element interpolation between different meshes (physapp.solvers.interpolate)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.spatial import Delaunay

from physapp.core.mesh import CellBlock, MeshData
from physapp.core.results import FieldResult
from physapp.solvers.interpolate import (
    MeshInterpolator,
    field_difference,
    interpolate_result,
    same_mesh,
)
from physapp.studies import get_study


def linear(p: np.ndarray) -> np.ndarray:
    return 1.5 + 2.0 * p[:, 0] - 3.0 * p[:, 1] + 0.5 * p[:, 2]


def quadratic(p: np.ndarray) -> np.ndarray:
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    return 1.0 + x - 2 * y + 3 * x * x - x * y + 2 * y * y + z * z - 4 * x * z + 0.5 * y * z


def plate(mesh_size: float) -> MeshData:
    study = get_study("plate-with-hole")
    return study.build_mesh({**study.spec.defaults(), "mesh_size": mesh_size})


def bracket(mesh_size: float) -> MeshData:
    study = get_study("l-bracket")
    return study.build_mesh({**study.spec.defaults(), "mesh_size": mesh_size})


def box(n: int, seed: int, dim: int = 3) -> MeshData:
    """Delaunay mesh of the unit square / cube (corners included) with ``n`` random points."""
    rng = np.random.default_rng(seed)
    corners = np.array(np.meshgrid(*[[0.0, 1.0]] * dim, indexing="ij")).reshape(dim, -1).T
    pts = np.vstack([corners, rng.random((n, dim))])
    tri = Delaunay(pts)
    return MeshData(pts, (CellBlock("tetra" if dim == 3 else "triangle", tri.simplices),))


def to_p2(mesh: MeshData) -> MeshData:
    """Straight-sided P2 version of a P1 simplex mesh (edge-midpoint nodes, meshio order)."""
    block = mesh.cells[0]
    edges = ([[0, 1], [1, 2], [2, 0]] if block.type == "triangle"
             else [[0, 1], [1, 2], [2, 0], [0, 3], [1, 3], [2, 3]])
    conn = block.connectivity
    pairs = np.sort(conn[:, edges].reshape(-1, 2), axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    mids = 0.5 * (mesh.points[uniq[:, 0]] + mesh.points[uniq[:, 1]])
    mid_ids = mesh.n_points + inverse.reshape(len(conn), len(edges))
    return MeshData(np.vstack([mesh.points, mids]),
                    (CellBlock("triangle6" if block.type == "triangle" else "tetra10",
                               np.hstack([conn, mid_ids])),), dim=mesh.dim)


def test_linear_field_is_exact_between_two_plate_meshes():
    coarse, fine = plate(0.02), plate(0.006)
    assert coarse.n_points < fine.n_points and not same_mesh(coarse, fine)
    interp = MeshInterpolator(coarse)
    loc = interp.locate(fine.points)
    # the coarse hole is an inscribed polygon: every fine node lies in the coarse domain
    assert loc.n_outside == 0
    got = interp.evaluate(linear(coarse.points), loc)
    np.testing.assert_allclose(got, linear(fine.points), rtol=0, atol=1e-10)
    # and back: the fine mesh evaluated at the coarse nodes (some are outside the fine hole's
    # polygon, i.e. in the hole: evaluated at its boundary, within a fraction of an element)
    back = MeshInterpolator(fine).locate(coarse.points)
    assert back.max_distance < 0.006
    inside = ~back.outside
    np.testing.assert_allclose(MeshInterpolator(fine).evaluate(linear(fine.points), back)[inside],
                               linear(coarse.points)[inside], rtol=0, atol=1e-10)


def test_linear_field_is_exact_between_two_tet_meshes():
    a, b = box(3000, 1), box(5000, 2)
    loc = MeshInterpolator(a).locate(b.points)
    assert loc.n_outside == 0
    got = MeshInterpolator(a).evaluate(linear(a.points), b.points)
    np.testing.assert_allclose(got, linear(b.points), rtol=0, atol=1e-10)


def test_vector_fields_and_real_bracket_meshes():
    coarse, fine = bracket(0.008), bracket(0.005)
    interp = MeshInterpolator(coarse)
    loc = interp.locate(fine.points)
    vec = np.column_stack([linear(coarse.points), 2 * linear(coarse.points), coarse.points[:, 2]])
    got = interp.evaluate(vec, loc)
    want = np.column_stack([linear(fine.points), 2 * linear(fine.points), fine.points[:, 2]])
    # nodes on the fillet's arc lie outside the coarse chords: reported, evaluated at the
    # nearest boundary point (a small distance away); all others exact
    assert loc.n_outside < 0.05 * fine.n_points
    assert loc.max_distance < 0.002
    np.testing.assert_allclose(got[~loc.outside], want[~loc.outside], rtol=0, atol=1e-10)


@pytest.mark.parametrize("dim", [2, 3])
def test_quadratic_field_is_exact_with_p2(dim):
    src = to_p2(box(400 if dim == 2 else 800, 3, dim))
    tgt = box(2000, 4, dim).points
    interp = MeshInterpolator(src)
    assert interp.order == 2
    got = interp.evaluate(quadratic(src.points), tgt)
    np.testing.assert_allclose(got, quadratic(tgt), rtol=0, atol=1e-10)
    # P1 on the same corners is not exact: the test would notice a P1 fallback
    p1 = MeshInterpolator(MeshData(src.points, (CellBlock(
        "triangle" if dim == 2 else "tetra", src.cells[0].connectivity[:, : dim + 1]),)))
    assert np.abs(p1.evaluate(quadratic(src.points), tgt) - quadratic(tgt)).max() > 1e-4


def test_points_outside_go_to_the_nearest_cell_and_are_counted():
    mesh = box(200, 5, dim=2)
    interp = MeshInterpolator(mesh)
    pts = np.array([[0.5, 0.5, 0.0], [1.1, 0.5, 0.0], [-0.05, -0.05, 0.0], [0.3, 1.02, 0.0]])
    loc = interp.locate(pts)
    assert loc.outside.tolist() == [False, True, True, True]
    assert loc.n_outside == 3
    np.testing.assert_allclose(loc.distance, [0.0, 0.1, np.hypot(0.05, 0.05), 0.02], atol=1e-12)
    got = interp.evaluate(linear(mesh.points), loc)
    # evaluated at the nearest boundary point: (1, 0.5), (0, 0), (0.3, 1)
    nearest = np.array([[0.5, 0.5, 0], [1.0, 0.5, 0], [0.0, 0.0, 0], [0.3, 1.0, 0]])
    np.testing.assert_allclose(got, linear(nearest), atol=1e-10)
    assert np.all(loc.bary >= 0) and np.allclose(loc.bary.sum(axis=1), 1.0)
    # rounding-size misses are on the boundary, not outside
    edge = interp.locate(np.array([[1.0 + 1e-9, 0.5, 0.0], [0.5, -1e-9, 0.0]]))
    assert edge.n_outside == 0 and edge.distance.max() == pytest.approx(1e-9, rel=1e-3)


def test_difference_on_the_reference_mesh():
    coarse, fine = plate(0.02), plate(0.008)
    f_c = np.column_stack([linear(coarse.points), coarse.points[:, 0]])
    f_f = np.column_stack([linear(fine.points), fine.points[:, 0]])
    sur = FieldResult(coarse, {"u": f_c, "s": linear(coarse.points)}, "surrogate:test")
    ref = FieldResult(fine, {"u": f_f + 0.25, "s": 2 * linear(fine.points)}, "solver:test")
    d = field_difference(sur, ref, "u[1]")
    assert d.interpolated and d.n_outside == 0 and d.values.shape == (fine.n_points,)
    np.testing.assert_allclose(d.values, -0.25, atol=1e-5)  # float32 storage
    rel = field_difference(sur, ref, "s", relative=True)
    want = np.abs(linear(fine.points)) / np.abs(2 * linear(fine.points)).max()
    np.testing.assert_allclose(rel.values, want, atol=1e-6)
    on_ref, loc = interpolate_result(sur, fine)
    assert on_ref.mesh is fine and loc.n_outside == 0 and set(on_ref.point_data) == {"u", "s"}
    same = field_difference(sur, sur, "u")
    assert not same.interpolated and np.all(same.values == 0)


def test_100k_points_in_about_a_second():
    mesh = box(20_000, 6)  # ~130k tetrahedra
    interp = MeshInterpolator(mesh)
    pts = np.random.default_rng(7).random((100_000, 3))
    t0 = time.perf_counter()
    got = interp.evaluate(linear(mesh.points), pts)
    elapsed = time.perf_counter() - t0
    np.testing.assert_allclose(got, linear(pts), atol=1e-10)
    assert interp.n_cells > 100_000
    assert elapsed < 5.0, elapsed  # 1.1-1.4 s alone here; generous for a shared machine

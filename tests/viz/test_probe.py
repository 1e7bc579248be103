"""Point location and line sampling (pure numpy/scipy): exact for fields linear in space."""

from __future__ import annotations

import numpy as np
import pytest

from physapp.core.mesh import CellBlock, MeshData
from physapp.core.results import FieldResult
from physapp.viz.probe import Locator, interpolate, probe, sample_line, simplices


def _grid_2d(nx=6, ny=4, order=1):
    """A structured triangle mesh of [0, 3] x [0, 2] (P1 or P2 with mid-side nodes)."""
    xs, ys = np.linspace(0, 3, nx + 1), np.linspace(0, 2, ny + 1)
    pts = np.array([(x, y) for y in ys for x in xs])
    idx = np.arange(len(pts)).reshape(ny + 1, nx + 1)
    tris = []
    for j in range(ny):
        for i in range(nx):
            a, b, c, d = idx[j, i], idx[j, i + 1], idx[j + 1, i + 1], idx[j + 1, i]
            tris += [(a, b, c), (a, c, d)]
    tris = np.array(tris)
    if order == 1:
        return MeshData(pts, (CellBlock("triangle", tris),))
    pts = list(map(tuple, pts))
    mids: dict = {}

    def mid(p, q):
        key = (min(p, q), max(p, q))
        if key not in mids:
            mids[key] = len(pts)
            pts.append(tuple((np.array(pts[p]) + np.array(pts[q])) / 2))
        return mids[key]

    tri6 = [(a, b, c, mid(a, b), mid(b, c), mid(c, a)) for a, b, c in tris]
    return MeshData(np.array(pts), (CellBlock("triangle6", np.array(tri6)),))


def _cube_tets():
    """A unit cube of 8 hexahedra cut into tetra (via MeshData of hexahedra: split internally)."""
    n = 2
    g = np.linspace(0, 1, n + 1)
    pts = np.array([(x, y, z) for z in g for y in g for x in g])
    idx = np.arange(len(pts)).reshape(n + 1, n + 1, n + 1)  # [z, y, x]
    hexes = []
    for k in range(n):
        for j in range(n):
            for i in range(n):
                hexes.append([idx[k, j, i], idx[k, j, i + 1], idx[k, j + 1, i + 1],
                              idx[k, j + 1, i], idx[k + 1, j, i], idx[k + 1, j, i + 1],
                              idx[k + 1, j + 1, i + 1], idx[k + 1, j + 1, i]])
    return MeshData(pts, (CellBlock("hexahedron", np.array(hexes)),))


def _linear(p):
    return 2.0 + 3.0 * p[:, 0] - 1.5 * p[:, 1] + 0.25 * p[:, 2]


@pytest.mark.parametrize("order", [1, 2])
def test_line_sampling_is_exact_for_a_linear_field_in_2d(order):
    mesh = _grid_2d(order=order)
    u = np.column_stack([_linear(mesh.points), -_linear(mesh.points)])
    res = FieldResult(mesh, {"f": _linear(mesh.points), "u": u}, "test")
    s = sample_line(res, ["f", "u[1]"], (0.1, 0.05), (2.9, 1.93), n=57)
    assert s.points.shape == (57, 3) and s.distance[-1] == pytest.approx(np.hypot(2.8, 1.88))
    # float32 fields: exact up to their rounding
    np.testing.assert_allclose(s.values["f"], _linear(s.points), rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(s.values["u[1]"], -_linear(s.points), rtol=2e-6, atol=1e-6)


def test_points_outside_the_part_are_nan():
    res = FieldResult(_grid_2d(), {"f": _linear(_grid_2d().points)}, "test")
    s = sample_line(res, ["f"], (-1.0, 1.0), (4.0, 1.0), n=51)  # x from -1 to 4: [0, 3] inside
    x = s.points[:, 0]
    assert np.all(np.isnan(s.values["f"][(x < -1e-9) | (x > 3 + 1e-9)]))
    inside = (x >= 0) & (x <= 3)
    np.testing.assert_allclose(s.values["f"][inside], _linear(s.points[inside]), rtol=2e-6)


def test_hexahedra_are_cut_into_tetrahedra_and_interpolate_linear_fields_exactly():
    mesh = _cube_tets()
    assert simplices(mesh).shape == (8 * 6, 4)
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1, size=(300, 3))
    got = interpolate(mesh, _linear(mesh.points), pts)
    np.testing.assert_allclose(got, _linear(pts), rtol=1e-12, atol=1e-12)
    assert np.isnan(interpolate(mesh, _linear(mesh.points), np.array([[1.2, 0.5, 0.5]]))[0])


def test_tetra10_sub_tetrahedra_fill_the_element():
    corners = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.0]])
    edges = [(0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)]
    pts = np.vstack([corners, [(corners[a] + corners[b]) / 2 for a, b in edges]])
    mesh = MeshData(pts, (CellBlock("tetra10", np.arange(10)[None]),))
    loc = Locator(mesh)
    vol = np.abs(np.linalg.det(np.swapaxes(pts[loc.simplices][:, 1:] - pts[loc.simplices][:, :1],
                                           1, 2))).sum() / 6
    assert vol == pytest.approx(1 / 6)  # the eight pieces cover the tetrahedron once
    rng = np.random.default_rng(2)
    q = rng.dirichlet(np.ones(4), size=200) @ corners
    np.testing.assert_allclose(loc.locate(q).interpolate(_linear(pts)), _linear(q), rtol=1e-12)


def test_probe_snaps_a_point_on_the_surface_and_reads_components():
    mesh = _grid_2d(order=2)
    u = np.column_stack([mesh.points[:, 0], 2 * mesh.points[:, 1]])
    res = FieldResult(mesh, {"u": u}, "test")
    got = probe(res, ["u", "u[0]", "u[1]"], (3.0 + 1e-12, 1.0, 0.0))  # on the right edge
    assert got["u[0]"] == pytest.approx(3.0) and got["u[1]"] == pytest.approx(2.0)
    assert got["u"] == pytest.approx(np.hypot(3.0, 2.0), rel=1e-6)
    assert np.isnan(probe(res, ["u"], (5.0, 1.0, 0.0))["u"])


def test_graded_mesh_points_far_from_nearest_centroids_are_found():
    # one huge triangle next to many tiny ones: the k nearest centroids are all tiny triangles
    tiny = _grid_2d(nx=20, ny=20)
    pts = np.vstack([tiny.points * 0.01, [[0.2, 0.0, 0.0]]])
    far = len(pts) - 1
    corner = 20  # (0.03, 0) of the tiny grid... the node at x = 3 * 0.01, y = 0
    top = 20 * 21 + 20  # (0.03, 0.02)
    tris = np.vstack([tiny.cells[0].connectivity, [[corner, far, top]]])
    mesh = MeshData(pts, (CellBlock("triangle", tris),))
    q = np.array([[0.035, 0.0012, 0.0]])
    np.testing.assert_allclose(interpolate(mesh, _linear(mesh.points), q), _linear(q), rtol=1e-12)


def test_location_scalar_reads_only_the_needed_nodes_like_result_scalar():
    mesh = _grid_2d(order=2)
    rng = np.random.default_rng(3)
    u = rng.normal(size=(mesh.n_points, 2))
    res = FieldResult(mesh, {"u": u, "t": rng.normal(size=mesh.n_points)}, "test")
    q = rng.uniform([0, 0, 0], [3, 2, 0], size=(40, 3))
    loc = Locator(mesh).locate(q)
    for name in ("u", "u[0]", "u[1]", "t"):
        np.testing.assert_allclose(loc.scalar(res, name), loc.interpolate(res.scalar(name)),
                                   rtol=1e-6)

"""The self-intersection check that keeps gmsh from meshing a crossing surface for ever (#14)."""

from pathlib import Path

import numpy as np
import pytest

from physapp.geometry.selfintersect import candidate_pairs, self_intersections
from physapp.io.readers import ImportError_, read_mesh

FUZZ = Path(__file__).parents[1] / "data" / "fuzz"


def _sphere(n_theta=60, n_phi=40):
    import pyvista as pv

    s = pv.Sphere(radius=3.0, theta_resolution=n_theta, phi_resolution=n_phi).triangulate().clean()
    return np.asarray(s.points, float), s.faces.reshape(-1, 4)[:, 1:]


def _cube_fans(edge=10.0, n=4):
    """A closed cube whose faces are n x n grids of squares split into two triangles each:
    many coplanar triangles that share one vertex or an edge, none crossing."""
    import pyvista as pv

    box = pv.Box(bounds=(0, edge, 0, edge, 0, edge), level=n - 1, quads=True).triangulate().clean()
    return np.asarray(box.points, float), box.faces.reshape(-1, 4)[:, 1:]


def test_clean_closed_surfaces_pass():
    for pts, tri in (_sphere(), _cube_fans()):
        assert len(tri) > 100
        assert self_intersections(pts, tri) == (0, None)
        # far from the origin, round-off on the coplanar fans must not count as crossing
        assert self_intersections(pts + 1e5, tri) == (0, None)


def test_two_crossing_triangles_are_caught_where_they_cross():
    pts = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0],  # in z = 0
                    [0.5, 0.5, -1], [0.5, 0.5, 1], [0.5, -5, 0]], float)  # in x = 0.5
    count, where = self_intersections(pts, [[0, 1, 2], [3, 4, 5]])
    # they cross along the segment x = 0.5, z = 0, 0 <= y <= 0.5
    assert count == 1
    assert where[0] == pytest.approx(0.5) and where[2] == pytest.approx(0.0, abs=1e-12)
    assert -1e-12 <= where[1] <= 0.5 + 1e-12


def test_triangles_sharing_a_corner_cross_only_when_they_overlap():
    v, a, b = [0, 0, 0], [1, 0, 0], [0, 1, 0]
    # in the plane x = y, reaching into the first triangle: they overlap from V to (0.5, 0.5, 0)
    into = np.array([v, a, b, [1, 1, 1], [1, 1, -1]], float)
    count, where = self_intersections(into, [[0, 1, 2], [0, 3, 4]])
    assert count == 1 and where == pytest.approx([0.25, 0.25, 0.0])
    # the same plane, pointing away from the first triangle: they only touch at V
    away = np.array([v, a, b, [-1, -1, 1], [-1, -1, -1]], float)
    assert self_intersections(away, [[0, 1, 2], [0, 3, 4]]) == (0, None)


def test_touching_neighbours_are_not_flagged():
    # a flat fan of six triangles around a vertex, and a folded-up edge neighbour
    ring = [[np.cos(t), np.sin(t), 0.0] for t in np.linspace(0, 2 * np.pi, 7)[:-1]]
    pts = np.array([[0, 0, 0], *ring, [1.5, 0.5, 1.0]])
    fan = [[0, 1 + i, 1 + (i + 1) % 6] for i in range(6)]
    assert self_intersections(pts, fan + [[1, 2, 7]]) == (0, None)
    # a triangle whose corner touches another's face without passing through it
    touch = np.array([[0, 0, 0], [2, 0, 0], [0, 2, 0], [0.5, 0.5, 0], [0.5, 0.5, 1],
                      [1, 0.2, 1]], float)
    assert self_intersections(touch, [[0, 1, 2], [3, 4, 5]]) == (0, None)


def test_broad_phase_finds_every_overlapping_box_once():
    rng = np.random.default_rng(3)
    c = rng.random((400, 1, 3)) * 10 + rng.random((400, 3, 3)) * rng.choice([0.2, 1, 6], (400, 1, 1))
    lo, hi = c.min(axis=1), c.max(axis=1)
    got = [(int(x), int(y)) for a, b in candidate_pairs(lo, hi) for x, y in zip(a, b, strict=True)]
    overlap = np.all((lo[:, None] <= hi[None]) & (lo[None] <= hi[:, None]), axis=2)
    i, j = np.nonzero(np.triu(overlap, 1))
    want = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == len(set(got)) and set(got) == want


def test_two_interpenetrating_closed_surfaces_are_refused(tmp_path):
    import meshio

    pts, tri = _cube_fans(n=1)
    both = np.vstack([pts, pts + 4.0])  # two 10 mm cubes overlapping by 6 mm
    meshio.Mesh(both, [("triangle", np.vstack([tri, tri + len(pts)]))]).write(tmp_path / "two.obj")
    with pytest.raises(ImportError_, match=r"'two.obj' intersects itself: \d+ triangle pairs "
                                           r"cross, e\.g\. near \("):
        read_mesh(tmp_path / "two.obj", isolate=False)


@pytest.mark.parametrize("name, pairs", [
    ("obj-scrambled-vertices.obj", 8), ("obj-scrambled-vertices-2.obj", 8),  # 6 cross, 2 fold
    ("obj-folded-faces.obj", 2), ("obj-folded-faces-2.obj", 2)])
def test_found_scrambled_cubes_are_refused(name, pairs):
    """Found by benchmarks/fuzz.py: cube surfaces with moved vertex or face lines that gmsh
    meshed for ever. Isolated with a time limit so a regression fails instead of hanging."""
    with pytest.raises(ImportError_, match=rf"The surface in '{name}' intersects itself: {pairs} "
                                           r"triangle pairs cross, e\.g\. near \(\d"):
        read_mesh(FUZZ / name, timeout=60)


def test_folded_edge_neighbours_are_caught():
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, 0.5, 0.0]])
    count, where = self_intersections(pts, [[0, 1, 2], [0, 1, 3]])  # folded onto each other
    assert count == 1 and where[2] == 0.0 and 0 < where[0] < 1 and 0 < where[1] < 1
    pts[3, 2] = 0.01  # a sharp but open edge (about 1 degree) is no fold
    assert self_intersections(pts, [[0, 1, 2], [0, 1, 3]]) == (0, None)


def test_a_clean_obj_cube_still_reads(tmp_path):
    import meshio

    pts, tri = _cube_fans(n=2)
    meshio.Mesh(pts, [("triangle", tri)]).write(tmp_path / "cube.obj")
    mesh, _ = read_mesh(tmp_path / "cube.obj", size=0.004, isolate=False)
    t = mesh.points[mesh.cells[0].connectivity[:, :4]]
    vol = np.abs(np.einsum("ij,ij->i", t[:, 1] - t[:, 0],
                           np.cross(t[:, 2] - t[:, 0], t[:, 3] - t[:, 0]))).sum() / 6
    assert vol == pytest.approx(1e-6, rel=1e-9)  # a 10 mm cube, in metres


def test_a_check_too_costly_is_skipped_and_the_surface_still_meshed(tmp_path, monkeypatch):
    """Surfaces whose triangles' boxes overlap in far too many grid cells (thousands of slivers
    fanning round one vertex) are not checked rather than checked for minutes: gmsh fills them
    as before, under the isolated read's time limit."""
    import meshio

    from physapp.geometry import selfintersect

    pts, tri = _cube_fans(n=2)
    monkeypatch.setattr(selfintersect, "MAX_CELL_PAIRS", 10)
    with pytest.raises(selfintersect.CheckTooCostly, match="pairs of triangles share grid cells"):
        self_intersections(pts, tri)
    meshio.Mesh(pts, [("triangle", tri)]).write(tmp_path / "cube.obj")
    mesh, _ = read_mesh(tmp_path / "cube.obj", size=0.004, isolate=False)
    assert mesh.cell_counts()["tetra"] > 0


def test_coplanar_overlaps_are_caught():
    # disjoint: a small triangle lying inside a big one; sharing one corner: two wedges overlapping
    pts = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0], [1, 1, 0], [2, 1, 0], [1, 2, 0]], float)
    count, where = self_intersections(pts, [[0, 1, 2], [3, 4, 5]])
    assert count == 1 and where[2] == 0.0
    wedge = np.array([[0, 0, 0], [4, 0, 0], [0, 4, 0], [4, 1, 0], [1, 4, 0]], float)
    assert self_intersections(wedge, [[0, 1, 2], [0, 3, 4]])[0] == 1
    # the same corner, side by side without overlapping
    side = np.array([[0, 0, 0], [4, 0, 0], [4, 4, 0], [3, 4, 0], [0, 4, 0]], float)
    assert self_intersections(side, [[0, 1, 2], [0, 3, 4]]) == (0, None)


def test_a_tetrahedron_of_four_triangles_meshes():
    """Found by fuzzing (#14): each face of a four-triangle tetrahedron is one triangle, and
    gmsh's reparametrisation of such a face never returned; it is classified without one."""
    import math

    from physapp.geometry.cad import has_lone_triangle_face

    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)
    tri = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])
    assert has_lone_triangle_face(pts, tri, math.radians(40))
    # a cube's faces are two triangles each
    cube = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    ctri = np.array([t for a, b, c, d in quads for t in ((a, b, c), (a, c, d))])
    assert not has_lone_triangle_face(cube, ctri, math.radians(40))
    mesh, _ = read_mesh(FUZZ / "ply-tetrahedron.ply", isolate=False)
    t = mesh.points[mesh.cells[0].connectivity[:, :4]]
    vol = np.abs(np.einsum("ij,ij->i", t[:, 1] - t[:, 0],
                           np.cross(t[:, 2] - t[:, 0], t[:, 3] - t[:, 0]))).sum() / 6
    assert vol == pytest.approx(1e-9 / 6, rel=1e-9)  # unit edges in mm: 1/6 mm^3, in m^3
    assert len([k for k in mesh.boundaries if k.startswith("face_")]) == 4

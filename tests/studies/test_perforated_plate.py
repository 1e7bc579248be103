"""The perforated plate (1-4 holes, topology changes with the parameters) against analytic values.

Oracles: Kirsch / Heywood for one small centred hole, the exact hole geometry on the mesh,
statics (self-equilibrated loads leave the rigid-body supports unloaded).
"""

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from physapp.core import ParameterError
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study
from physapp.studies.perforated_plate import WIDTH, hole_centres


def test_one_small_centred_hole_gives_kirsch_three():
    study = get_study("perforated-plate")
    d = 0.004  # d/W = 0.04: a wide plate
    res = ReferenceSolver(order=2).solve(study, {"n_holes": 1, "x1": 0.0, "y1": 0.0,
                                                 "diameter": d, "traction": 1e6})
    kt = res.meta["key_quantities"]["stress_concentration"]
    # Heywood's finite-width net-section factor 2 + (1 - d/W)^3, referred to the gross section
    ratio = d / WIDTH
    heywood = (2.0 + (1.0 - ratio) ** 3) / (1.0 - ratio)
    assert heywood == pytest.approx(3.0, abs=0.01)
    assert kt == pytest.approx(heywood, rel=0.03)
    # the peak is on the hole, at its top or bottom (hoop stress 3 S, radial stress 0)
    p = res.mesh.points
    peak = int(np.argmax(res.point_data["von_mises"]))
    assert np.hypot(*p[peak, :2]) == pytest.approx(d / 2, rel=0.01)  # (P2 mid-sides on chords)
    assert abs(p[peak, 0]) < 0.3 * d / 2


def _hole_loops(mesh) -> int:
    edges = np.asarray(mesh.boundaries["holes"])
    n = mesh.n_points
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    used = np.unique(edges)
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[used]))


@pytest.mark.parametrize("n_holes", [1, 2, 3, 4])
def test_the_number_of_holes_changes_the_topology(n_holes):
    study = get_study("perforated-plate")
    values = study.check({"n_holes": n_holes, "mesh_size": 0.01})
    mesh = study.build_mesh(values)
    assert _hole_loops(mesh) == n_holes
    nodes = mesh.boundary_nodes("holes")
    centres = np.array(hole_centres(values))
    dist = np.linalg.norm(mesh.points[nodes, None, :2] - centres[None], axis=2).min(axis=1)
    np.testing.assert_allclose(dist, values["diameter"] / 2, rtol=1e-6)
    # plate area minus the holes (the polygon cuts the circles slightly)
    tri = mesh.cells[0].connectivity
    a, b, c = (mesh.points[tri[:, k], :2] for k in range(3))
    ab, ac = b - a, c - a
    area = 0.5 * np.abs(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]).sum()
    exact = 0.2 * 0.1 - n_holes * np.pi * (values["diameter"] / 2) ** 2
    assert area == pytest.approx(exact, rel=2e-3)


def test_supports_carry_no_load_and_the_plate_stretches_by_s_over_e():
    study = get_study("perforated-plate")
    s, e = 20e6, 70e9
    res = ReferenceSolver(order=1, check_p1=False).solve(
        study, {"n_holes": 1, "diameter": 0.002, "x1": 0.0, "y1": 0.0, "traction": s,
                "youngs_modulus": e, "mesh_size": 0.01})
    u = res.point_data["displacement"]
    p = res.mesh.points
    right, left = np.isclose(p[:, 0], 0.1), np.isclose(p[:, 0], -0.1)
    stretch = u[right, 0].mean() - u[left, 0].mean()
    assert stretch == pytest.approx(s / e * 0.2, rel=0.01)  # a 2 mm hole barely softens it
    total = sum(abs(r) for reac in res.meta["reactions"].values() for r in reac)
    assert total < 1e-6 * s * WIDTH


def test_overlapping_holes_and_holes_through_the_edge_are_refused_clearly():
    study = get_study("perforated-plate")
    with pytest.raises(ParameterError, match="Holes 1 and 2 overlap: their centres are 10 mm"):
        study.check({"n_holes": 2, "x1": 0.0, "y1": 0.0, "x2": 0.01, "y2": 0.0})
    with pytest.raises(ParameterError, match="Holes 1 and 2 are too close"):
        study.check({"n_holes": 2, "x1": 0.0, "y1": 0.0, "x2": 0.022, "y2": 0.0})
    with pytest.raises(ParameterError, match=r"Hole 3 .* cuts through the plate edge y = 50 mm"):
        study.check({"n_holes": 3, "y3": 0.04, "diameter": 0.03})
    with pytest.raises(ParameterError, match=r"Hole 1 .* too close to the plate edge x = -100"):
        study.check({"n_holes": 1, "x1": -0.09, "diameter": 0.018})
    # holes beyond the count are ignored, wherever they are
    values = study.check({"n_holes": 1, "x1": 0.0, "y1": 0.0, "x2": 0.0, "y2": 0.0})
    assert values["n_holes"] == 1.0


def test_the_number_of_holes_is_a_whole_number():
    spec = get_study("perforated-plate").spec.parameter("n_holes")
    assert spec.integer
    assert spec.validate(2.4) == 2.0 and spec.validate(3.5) == 4.0 and spec.validate(1) == 1.0
    with pytest.raises(ParameterError, match="outside its range"):
        spec.validate(5)

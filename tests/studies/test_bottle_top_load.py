"""The bottle top-load studies (#22): design limits, the mesh, and a coarse solve whose initial
stiffness equals the linear (small-strain) axisymmetric solve of the same wall."""

import math

import numpy as np
import pytest

from physapp.core import ParameterError
from physapp.core.study import ElasticSetup, Support
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study

COARSE = {"mesh_size": 2.5e-3, "n_steps": 6, "top_displacement": 0.6e-3}


def test_both_families_are_registered_with_their_design_variables():
    four, two = get_study("bottle-top-load"), get_study("bottle-top-load-2v")
    design = lambda s: [p.name for p in s.spec.parameters if not p.discretization]  # noqa: E731
    assert design(four) == ["wall_thickness", "shoulder_angle", "waist_depth", "base_height"]
    assert design(two) == ["wall_thickness", "waist_depth"]
    for s in (four, two):
        assert {"peak_top_load", "displacement_at_peak", "initial_stiffness"} <= set(
            s.spec.key_quantities)


@pytest.mark.parametrize("change, words", [
    ({"shoulder_angle": 20.0, "wall_thickness": 0.2e-3}, None),  # a valid corner of the box
    ({"mesh_size": 3e-3, "wall_thickness": 0.25e-3}, "too coarse"),
    ({"wall_thickness": 0.1e-3}, r"Wall thickness .* outside its range \[0.0002, 0.0006\] m"),
])
def test_design_limits_are_refused_with_the_constraint(change, words):
    study = get_study("bottle-top-load")
    if words is None:
        study.check(change)
        return
    with pytest.raises(ParameterError, match=words):
        study.check(change)


def test_a_rib_deeper_than_the_wall_allows_is_refused():
    study = get_study("bottle-top-load")
    study.check({"rib_depth": 2e-3, "wall_thickness": 0.35e-3})
    with pytest.raises(ParameterError, match="Rib deeper than the wall allows"):
        study.check({"rib_depth": 2e-3, "wall_thickness": 0.6e-3})


def test_mesh_has_the_wall_regions_and_thickness():
    study = get_study("bottle-top-load")
    v = study.check({"wall_thickness": 0.4e-3, "mesh_size": 2e-3})
    mesh = study.build_mesh(v)
    assert set(mesh.boundaries) == {"base", "top", "inner", "outer"}
    base = mesh.points[np.unique(mesh.boundaries["base"])]
    assert np.allclose(base[:, 1], 0.0) and np.ptp(base[:, 0]) == pytest.approx(0.4e-3)
    top = mesh.points[np.unique(mesh.boundaries["top"])]
    assert np.ptp(top[:, 1]) < 1e-9 and top[0, 1] > 0.17


def test_coarse_top_load_solve_matches_the_linear_stiffness_and_streams_a_history(tmp_path):
    from physapp.compute.tasks import is_load_stepped, solve_study_stepped
    from physapp.io.history import read_history
    from physapp.solvers.elasticity2d import solve_plane

    study = get_study("bottle-top-load-2v")
    v = study.check(COARSE)
    # the GUI's job: the result as a solve gives it, every step streamed to a file as it came
    assert is_load_stepped(study) and not is_load_stepped(get_study("plate-with-hole"))
    res = solve_study_stepped("bottle-top-load-2v", v, 2, str(tmp_path / "h.h5"))
    hist = res.meta["history"]
    assert hist.meta["params"]["wall_thickness"] == v["wall_thickness"]  # its design
    streamed = read_history(tmp_path / "h.h5")
    assert streamed.complete and streamed.n_steps == hist.n_steps
    np.testing.assert_allclose(streamed.curves["reaction_force"], hist.curves["reaction_force"])
    assert streamed.meta["key_quantities"]["peak_top_load"] == pytest.approx(
        res.meta["key_quantities"]["peak_top_load"])
    assert hist.complete and hist.n_steps == 7 and hist.time_label == "top displacement"
    assert np.allclose(hist.times, np.linspace(0, 0.6e-3, 7))
    force = hist.curves["reaction_force"]
    assert force[0] == pytest.approx(0.0, abs=1e-9) and np.all(np.diff(force) > 0)
    kq = res.meta["key_quantities"]
    assert kq["peak_top_load"] == pytest.approx(force.max())
    # small-strain limit: the linear axisymmetric solve of the same wall and supports
    mesh = study.build_mesh(v)
    d = 1e-6
    lin = solve_plane(mesh, ElasticSetup("axisymmetric", study.setup(v).material,
                                         (Support("base", (0, 1)), Support("top", (1,),
                                                                          values=(-d,)))),
                      order=2)
    k_lin = -2 * math.pi * lin.stats["reactions"]["top"][1] / d
    print(f"initial stiffness {kq['initial_stiffness']:.4g} N/m, linear {k_lin:.4g} N/m")
    assert kq["initial_stiffness"] == pytest.approx(k_lin, rel=0.02)
    frame = hist.frame(-1)
    assert frame.point_data["displacement"][:, 1].min() == pytest.approx(-0.6e-3, rel=1e-6)


def test_designs_share_one_mesh_topology():
    study = get_study("bottle-top-load")
    a = study.build_mesh(study.check({"mesh_size": 2e-3}))
    b = study.build_mesh(study.check({"mesh_size": 2e-3, "shoulder_angle": 55.0,
                                      "waist_depth": 3e-3, "base_height": 0.035}))
    assert a.n_points == b.n_points
    assert np.array_equal(a.cells[0].connectivity, b.cells[0].connectivity)
    assert not np.allclose(a.points, b.points)


def test_sweeps_take_each_design_mesh_as_the_morph_of_the_reference():
    from physapp.geometry.morph import Morpher

    study = get_study("bottle-top-load")
    ref_values = study.check({"mesh_size": 2e-3})
    ref = study.build_mesh(ref_values)
    morpher = Morpher(study, ref_values, ref)
    new = {**ref_values, "shoulder_angle": 50.0, "waist_depth": 2.5e-3}
    morphed = morpher.morph(new)
    assert np.allclose(morphed.points, study.build_mesh(study.check(new)).points)
    assert morphed.cells[0] is ref.cells[0]


def test_arc_length_control_traces_the_same_curve():
    study = get_study("bottle-top-load-2v")
    v = study.check({**COARSE, "top_displacement": 1.5e-3})
    load = ReferenceSolver(order=2).solve(study, v).meta["history"]
    arc = ReferenceSolver(order=2).solve(study, {**v, "control": "arc-length"}).meta["history"]
    assert arc.complete and arc.times[-1] >= 1.5e-3 * (1 - 1e-9)
    # the arc-length states lie on the load-stepped curve (interpolated between its steps)
    f_load = np.interp(arc.times, load.times, load.curves["reaction_force"])
    inside = arc.times <= load.times[-1]
    peak = load.curves["reaction_force"].max()
    assert np.abs(arc.curves["reaction_force"][inside] - f_load[inside]).max() < 0.03 * peak

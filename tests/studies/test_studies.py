"""Every built-in study solves at its defaults and its fields match its spec."""

import numpy as np
import pytest

from physapp.core import ParameterError, PhysappError
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study, list_studies

STUDIES = [s.spec.id for s in list_studies()]
#: studies whose defaults take minutes (a benchmark): solved here on a coarse mesh, short run
QUICK = {"karman-street": {"t_end": 1.5, "time_step": 0.02, "mesh_size": 0.08}}


@pytest.mark.parametrize("study_id", STUDIES)
def test_study_solves_at_defaults_with_declared_fields(study_id):
    study = get_study(study_id)
    spec = study.spec
    res = ReferenceSolver(order=1).solve(study, QUICK.get(study_id, {}))
    for f in spec.fields:
        values = res.scalar(f.name)
        assert values.shape == (res.mesh.n_points,) and np.all(np.isfinite(values)), f.name
    assert spec.default_field in {f.name for f in spec.fields}
    for name in spec.key_quantities:
        assert name in res.meta["key_quantities"], name
    assert all(res.units[name] for name in res.point_data), res.units
    expected = {"displacement": "m", "temperature": "degC", "von_mises": "Pa"}
    for name, unit in expected.items():
        if name in res.point_data:
            assert res.units[name] == unit


def test_thick_cylinder_matches_lame_at_the_bore():
    study = get_study("thick-cylinder")
    res = ReferenceSolver(order=2).solve(study, {})
    p = res.mesh.points
    bore = np.isclose(p[:, 0], 0.1)
    hoop = res.point_data["sigma_hoop"][bore]
    assert np.allclose(hoop, res.meta["key_quantities"]["hoop_stress_bore_lame"], rtol=0.01)


def test_study_constraints_are_explained():
    with pytest.raises(ParameterError, match="must exceed the bore radius"):
        get_study("thick-cylinder").check({"inner_radius": 0.2, "outer_radius": 0.2})
    with pytest.raises(PhysappError, match="Unknown study 'nope'"):
        get_study("nope")


def test_heat_sink_balances_power_and_more_fin_area_cools_better():
    study = get_study("heat-sink")
    short = ReferenceSolver(order=1).solve(study, {"fin_height": 0.01})
    tall = ReferenceSolver(order=1).solve(study, {"fin_height": 0.05})
    for res in (short, tall):
        kq = res.meta["key_quantities"]
        assert kq["heat_rate[cooled]"] == pytest.approx(20.0, rel=1e-6)
        assert kq["min_temperature"] > 25.0
    # lumped check: R is between 1/(h A_total) (isothermal fins) and 1/(h A_base)
    r_short = short.meta["key_quantities"]["thermal_resistance"]
    r_tall = tall.meta["key_quantities"]["thermal_resistance"]
    assert r_tall < r_short
    area_tall = 0.06 * 0.05 * 2 + 6 * 2 * 0.05 * 0.05 + 2 * 0.005 * (0.06 + 0.05)
    assert 1 / (25 * area_tall) < r_tall < 1 / (25 * 0.06 * 0.05)


@pytest.mark.parametrize("angle", [-90.0, 0.0])
def test_l_bracket_wall_reaction_balances_the_bolt_load(angle):
    study = get_study("l-bracket")
    res = ReferenceSolver(order=1).solve(study, {"load": 1000.0, "load_angle": angle,
                                                 "mesh_size": 0.006})
    rx, ry, rz = res.meta["reactions"]["wall"]
    a = np.radians(angle)
    assert (rx, ry, rz) == pytest.approx((-1000 * np.cos(a), 0.0, -1000 * np.sin(a)), abs=1.0)
    # downward pull bends the arms; the peak is far above the mean traction on the hole
    assert res.meta["key_quantities"]["peak_von_mises"] > 1e6


def test_l_bracket_rejects_a_hole_wider_than_the_arm():
    with pytest.raises(ParameterError):
        get_study("l-bracket").check({"hole_diameter": 0.025, "fillet_radius": 0.025,
                                      "arm_x": 0.06})

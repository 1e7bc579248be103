"""Every built-in study solves at its defaults and its fields match its spec."""

import numpy as np
import pytest

from physapp.core import ParameterError, PhysappError
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study, list_studies

STUDIES = [s.spec.id for s in list_studies()]


@pytest.mark.parametrize("study_id", STUDIES)
def test_study_solves_at_defaults_with_declared_fields(study_id):
    study = get_study(study_id)
    spec = study.spec
    coarse = {p.name: p.upper for p in spec.parameters if p.name == "mesh_size"}
    coarse = {k: min(v, 4 * spec.parameter(k).default) for k, v in coarse.items()}
    res = ReferenceSolver(order=1).solve(study, coarse)
    for f in spec.fields:
        values = res.scalar(f.name)
        assert values.shape == (res.mesh.n_points,) and np.all(np.isfinite(values)), f.name
    assert spec.default_field in {f.name for f in spec.fields}
    for name in spec.key_quantities:
        assert name in res.meta["key_quantities"], name
    assert all(res.units[name] for name in res.point_data), res.units
    assert res.units["displacement"] == "m"


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

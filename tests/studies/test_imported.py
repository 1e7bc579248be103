"""Physics on imported files: a cantilever read from MSH against beam theory, heat through a cube."""

from pathlib import Path

import numpy as np
import pytest

from physapp.core import ParameterError
from physapp.io.readers import read_mesh
from physapp.solvers.reference import ReferenceSolver
from physapp.studies.imported import ImportedPartStudy, PartSetup

DATA = Path(__file__).parents[1] / "data" / "meshes"


def test_cantilever_from_a_mesh_file_matches_beam_theory(tmp_path):
    from physapp.geometry.cantilever import mesh_cantilever

    path = tmp_path / "cantilever.msh"
    mesh_cantilever(0.5, 0.05, 0.02, 0.01, write_to=path)
    mesh, report = read_mesh(path)
    assert {"fixed", "tip"} <= set(mesh.boundaries)
    setup = PartSetup(material="custom", material_overrides={"youngs_modulus": 210e9,
                                                             "poissons_ratio": 0.3},
                      supports=[{"region": "fixed", "components": [0, 1, 2]}],
                      loads=[{"kind": "force", "region": "tip", "vector": [0.0, 0.0, -100.0]}])
    setup.promote("tip_load", "loads.0.vector.2", -500.0, 0.0, unit="N")
    study = ImportedPartStudy(mesh, setup, name="cantilever")
    res = ReferenceSolver(order=2).solve(study, {})
    eb = 100 * 0.5**3 / (3 * 210e9 * 0.05 * 0.02**3 / 12)
    tip = res.mesh.points[:, 0] > 0.5 - 1e-9
    w = -res.point_data["displacement"][tip, 2].mean()
    assert w == pytest.approx(eb, rel=0.02)
    # the promoted value is a parameter: doubling the load doubles the deflection
    res2 = ReferenceSolver(order=2).solve(study, {"tip_load": -200.0})
    w2 = -res2.point_data["displacement"][tip, 2].mean()
    assert w2 == pytest.approx(2 * w, rel=1e-6)
    # the set-up round-trips through JSON-able data
    again = PartSetup.from_dict(setup.as_dict())
    assert again == setup


def test_heat_through_an_imported_cube_with_a_library_material():
    mesh, _ = read_mesh(DATA / "box.msh")
    setup = PartSetup(physics="heat", material="copper",
                      loads=[{"kind": "temperature", "region": "front", "value": 100.0},
                             {"kind": "temperature", "region": "back", "value": 0.0}])
    res = ReferenceSolver(order=1).solve(ImportedPartStudy(mesh, setup), {})
    z = res.mesh.points[:, 2]
    np.testing.assert_allclose(res.point_data["temperature"], 100.0 * z, atol=1e-6)
    rates = res.meta["heat_rates"]
    # outward heat rates: 40.1 kW enters through the hot face and leaves through the cold one
    assert rates["front"] == pytest.approx(-401.0 * 100.0, rel=1e-6)
    assert rates["back"] == pytest.approx(401.0 * 100.0, rel=1e-6)


def test_imported_setup_errors_are_clear():
    mesh, _ = read_mesh(DATA / "box.msh")
    with pytest.raises(ParameterError, match="No boundary region named 'nope'.*front"):
        ImportedPartStudy(mesh, PartSetup(supports=[{"region": "nope", "components": [0]}]))
    with pytest.raises(ParameterError, match="Unknown material 'unobtainium'"):
        ImportedPartStudy(mesh, PartSetup(material="unobtainium"))
    with pytest.raises(ParameterError, match="does not apply to heat"):
        ImportedPartStudy(mesh, PartSetup(physics="heat", loads=[{"kind": "force",
                                                                 "region": "top"}]))
    with pytest.raises(ParameterError, match="outside the range"):
        PartSetup(loads=[{"kind": "pressure", "region": "top", "value": 5.0}]).promote(
            "p", "loads.0.value", 10.0, 20.0)

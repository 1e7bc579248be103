"""Key quantities computed from a result's fields (#12): the study's ``field_quantities`` hook,
called for a solve and for a surrogate prediction alike, and units that come from the study's
declaration (``StudySpec.key_units``) into the CSV and JSON exports. Oracles: the example
plugin's vessel (wall volume in closed form, Lame's hoop stress)."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from physapp.core.mesh import CellBlock, MeshData
from physapp.core.params import ParameterSpec
from physapp.core.quantities import result_key_quantities
from physapp.core.results import FieldResult
from physapp.core.study import FieldSpec, StudySpec

VESSEL = "pressure_vessel/vessel"


def wall_volume(R: float, t: float, L: float) -> float:
    """Whole vessel's wall: cylinder of length L plus two hemispherical heads."""
    Ro = R + t
    return math.pi * (Ro**2 - R**2) * L + 4.0 / 3.0 * math.pi * (Ro**3 - R**3)


def lame_hoop(R: float, t: float, p: float) -> float:
    Ro = R + t
    return p * (Ro**2 + R**2) / (Ro**2 - R**2)


@pytest.fixture(scope="module")
def vessel():
    from physapp.studies import get_study

    return get_study(VESSEL)


@pytest.fixture(scope="module")
def model():
    from physapp.api import load_model

    return load_model(VESSEL, device="cpu")


def test_solver_calls_the_field_hook_with_declared_units(vessel):
    from physapp.solvers.reference import ReferenceSolver

    design = {"radius": 0.4, "thickness": 0.04, "length": 1.0, "pressure": 5e6,
              "mesh_size": 0.02}
    res = ReferenceSolver(order=2).solve(vessel, design)
    kq, units = res.meta["key_quantities"], res.meta["key_units"]
    # an integral over the mesh: exact up to the polygonal head (sagitta h^2 / 8R)
    assert kq["wall_volume"] == pytest.approx(wall_volume(0.4, 0.04, 1.0), rel=2e-4)
    # a field's maximum: the bore's hoop stress, Lame to a few per cent (the head adds a little)
    assert kq["peak_hoop_stress"] == pytest.approx(lame_hoop(0.4, 0.04, 5e6), rel=0.03)
    assert kq["peak_hoop_stress"] == pytest.approx(float(res.point_data["sigma_hoop"].max()))
    assert units["wall_volume"] == "m^3" and units["peak_hoop_stress"] == "Pa"
    assert units["peak_von_mises"] == "Pa" and units["max_displacement"] == "m"
    assert not res.meta["warnings"]


def test_prediction_computes_the_same_quantities_and_they_follow_the_slider(model):
    R, t, L = 0.6, 0.07, 2.5
    low = model.predict({"radius": R, "thickness": t, "length": L, "pressure": 4e6})
    high = model.predict({"radius": R, "thickness": t, "length": L, "pressure": 8e6})
    k1, k2 = low.meta["key_quantities"], high.meta["key_quantities"]
    # linear elasticity: stresses double with the pressure, the geometry stays
    assert k2["peak_hoop_stress"] / k1["peak_hoop_stress"] == pytest.approx(2.0, rel=1e-3)
    assert k2["peak_hoop_stress"] == pytest.approx(lame_hoop(R, t, 8e6), rel=0.03)
    assert k2["hoop_stress_bore_lame"] == pytest.approx(lame_hoop(R, t, 8e6), rel=1e-12)
    # from the predicted node coordinates
    assert k1["wall_volume"] == pytest.approx(wall_volume(R, t, L), rel=5e-3)
    longer = model.predict({"radius": R, "thickness": t, "length": 4.0, "pressure": 8e6})
    assert longer.meta["key_quantities"]["wall_volume"] == pytest.approx(
        wall_volume(R, t, 4.0), rel=5e-3)
    assert high.meta["key_units"]["wall_volume"] == "m^3"


def test_a_partial_prediction_leaves_out_what_its_fields_cannot_give(model):
    pred = model.predict({"pressure": 8e6}, ["von_mises"])
    kq = pred.meta["key_quantities"]
    assert pred.meta["partial"] and "sigma_hoop" not in pred.point_data
    assert "peak_hoop_stress" not in kq and "key_quantity_problems" not in pred.meta
    assert kq["peak_von_mises"] == pytest.approx(float(pred.point_data["von_mises"].max()))


def test_csv_and_json_exports_take_units_from_the_study(model, vessel, tmp_path, capsys):
    from physapp.cli import main
    from physapp.io.export import key_quantities, write_results_csv

    pred = model.predict({"pressure": 8e6})
    path = write_results_csv(tmp_path / "p.csv", pred.meta["params"], pred, study_id=VESSEL,
                             key_units=vessel.spec.key_units)
    table = {r[1]: r for r in csv.reader(path.open()) if r[0] == "key_quantity"}
    assert table["wall_volume"][3] == "m^3" and table["peak_hoop_stress"][3] == "Pa"
    assert float(table["wall_volume"][2]) == pred.meta["key_quantities"]["wall_volume"]
    # a result whose meta has no units (an older file): the declaration gives them
    bare = FieldResult(pred.mesh, pred.point_data, pred.source,
                       {"key_quantities": dict(pred.meta["key_quantities"])}, pred.units)
    assert key_quantities(bare, vessel.spec.key_units)[1]["wall_volume"] == "m^3"
    assert key_quantities(bare)[1]["wall_volume"] == ""  # nothing declared: no unit invented
    assert main(["export", "--study", VESSEL, "--source", "surrogate", "--set", "pressure=8e6",
                 "--format", "csv", "-o", str(tmp_path / "v.csv"), "-q", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["key_units"]["wall_volume"] == "m^3"
    assert summary["key_quantities"]["hoop_stress_bore_lame"] == pytest.approx(
        lame_hoop(0.5, 0.03, 8e6))
    rows = {r[1]: r for r in csv.reader((tmp_path / "v.csv").open()) if r[0] == "key_quantity"}
    assert rows["peak_hoop_stress"][3] == "Pa" and rows["wall_volume"][3] == "m^3"


# -- the hook's contract, without any solver ---------------------------------------------------
def _square() -> FieldResult:
    pts = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    mesh = MeshData(pts, (CellBlock("triangle", np.array([[0, 1, 2], [0, 2, 3]])),), {}, {}, 2)
    return FieldResult(mesh, {"temperature": np.array([20.0, 30.0, 50.0, 40.0])}, "test",
                       {"params": {"power": 10.0}}, {"temperature": "degC"})


class _Study:
    spec = StudySpec("s", "S", "", (ParameterSpec("power", "Power", "W", 1.0, 100.0, 5.0),),
                     (FieldSpec("temperature", "Temperature", "degC"),), "temperature",
                     key_quantities=("mean_temperature", "resistance"),
                     key_units={"mean_temperature": "degC", "resistance": "K/W"})

    def field_quantities(self, result, params):
        a = result.point_data["temperature"]
        return {"mean_temperature": float(np.mean(a)), "span": float(a.max() - a.min())}

    def derived_quantities(self, params, key):
        return {"resistance": (key["peak_temperature"] - 20.0) / params["power"]}


def test_hook_order_units_and_failures():
    kq, units, problems = result_key_quantities(_Study(), _square())
    assert kq == {"peak_temperature": 50.0, "min_temperature": 20.0, "mean_temperature": 35.0,
                  "span": 30.0, "resistance": 3.0}  # derived sees the hook's and the peaks
    assert units == {"peak_temperature": "degC", "min_temperature": "degC",
                     "mean_temperature": "degC", "span": "", "resistance": "K/W"}
    assert problems == []

    class Raising(_Study):
        def field_quantities(self, result, params):
            return {"x": result.point_data["von_mises"].max()}

    kq, _, problems = result_key_quantities(Raising(), _square())
    assert "x" not in kq and kq["resistance"] == 3.0
    assert problems == ["field_quantities: KeyError: 'von_mises'"]
    # a study without hooks (an older study): the built-in peaks; the spec stays hashable
    assert result_key_quantities(None, _square())[0] == {"peak_temperature": 50.0,
                                                          "min_temperature": 20.0}
    assert isinstance(hash(_Study.spec), int)

"""History surrogates end to end (#18 item 4, #22 item 2): sweeps keep whole histories in the
data set, `physapp train --model pod-history|curve-gp` learns them, `physapp predict` answers
with the history and its curves.

Oracles: resampling is exact for fields linear in time; the synthetic histories have a closed
form (history_synth: separable in space and time, smooth in the parameters), so held-out errors
must be small and the saved model must give the same numbers after loading; the real transient
heat solve's resampled history must match its own steps.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from history_synth import COARSE, make_dataset, synthetic_history

from physapp.cli import main
from physapp.core.errors import PhysappError
from physapp.core.history import FieldHistory
from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.dataset import Dataset
from physapp.surrogates.history_data import resample_history
from physapp.surrogates.models.history_model import train_history
from physapp.surrogates.storage import load_surrogate, save_surrogate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("hist") / "h.h5")


def test_resampling_is_exact_for_fields_linear_in_time():
    mesh = MeshData(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
                    (CellBlock("triangle", np.array([[0, 1, 2]])),), {}, {}, 2)
    t = np.array([0.0, 0.1, 0.15, 0.6, 1.0])  # uneven steps (cut steps of a load path)
    u = t[:, None] * np.array([1.0, 2.0, 3.0])[None, :]
    h = FieldHistory(mesh, t, {"u": u}, "test", curves={"f": 5 * t})
    r = resample_history(h, 6)
    np.testing.assert_allclose(r["times"], np.linspace(0, 1, 6))
    np.testing.assert_allclose(r["fields"]["u"], r["times"][:, None] * [1.0, 2.0, 3.0],
                               rtol=1e-6)
    np.testing.assert_allclose(r["curves"]["f"], 5 * r["times"])


def test_dataset_keeps_histories_and_reads_them_back(dataset):
    assert dataset.version == 3 and dataset.has_history and dataset.history_frames == 12
    with h5py.File(dataset.path) as f:
        assert f["samples/history/fields/temperature"].shape == (8, 12, dataset.reference_mesh
                                                                   .n_points)
    hd = dataset.history_data()
    assert hd.n_samples == 8 and hd.n_frames == 12 and not hd.left_out
    v = dataset.values(3)
    T, peak = synthetic_history(dataset.reference_mesh.points, v["power"], v["h"], hd.times)
    np.testing.assert_allclose(hd.fields["temperature"][3], T, rtol=1e-6)
    np.testing.assert_allclose(hd.curves["peak_temperature"][3], peak)


@pytest.mark.parametrize("kind", ["pod-history", "curve-gp"])
def test_history_models_learn_save_and_load(dataset, tmp_path, kind):
    hd = dataset.history_data()
    model = train_history(kind, hd, iters=30)
    m = model.metrics
    # the closed form is rank one in space-time: held-out errors well under 1 %
    assert m["fields"]["temperature"]["rel_l2"] < 0.01
    assert m["curves"]["peak_temperature"]["rel_l2"] < 0.01
    assert 0.0 <= m["coverage95"] <= 1.0 and m["n_test"] == 2 and m["n_frames"] == 12
    loaded = load_surrogate(save_surrogate(model, tmp_path / "m.pt"))
    design = {"power": 17.0, "h": 31.0}
    a, b = model.predict_history(design), loaded.predict_history(design)
    np.testing.assert_allclose(b.point_data["temperature"], a.point_data["temperature"],
                               rtol=1e-6)
    np.testing.assert_allclose(b.curves["peak_temperature"], a.curves["peak_temperature"])
    T, peak = synthetic_history(b.mesh.points, 17.0, 31.0, b.times)
    assert np.abs(b.curves["peak_temperature"] - peak).max() < 0.02 * np.ptp(peak)
    assert b.meta["curve_std"]["peak_temperature"].shape == (12,)
    assert b.time_label == "time" and b.curve_units["peak_temperature"] == "°C"
    last = loaded.predict(design)  # the single-state answer is the last frame
    np.testing.assert_allclose(last.point_data["temperature"], b.point_data["temperature"][-1],
                               rtol=1e-5)


def test_cli_trains_and_predicts_a_history(dataset, tmp_path, capsys):
    out = tmp_path / "cg.pt"
    assert main(["train", str(dataset.path), "--model", "curve-gp", "--out", str(out), "-q",
                 "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["curve-gp"]["metrics"]
    assert metrics["curves"]["peak_temperature"]["rel_l2"] < 0.01
    assert main(["predict", str(out), "--set", "power=20", "--set", "h=25", "--out",
                 str(tmp_path / "p.pvd"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["n_steps"] == 12 and len(s["curves"]["peak_temperature"]) == 12
    assert (tmp_path / "p.pvd").read_text().count("<DataSet") == 12
    _, peak = synthetic_history(dataset.reference_mesh.points, 20.0, 25.0,
                                np.asarray(s["curves"]["time"]))
    np.testing.assert_allclose(s["curves"]["peak_temperature"], peak, atol=0.05)
    assert len(s["curves_std"]["peak_temperature"]) == 12
    # a single-state format gets the last frame
    assert main(["predict", str(out), "--set", "power=20", "--out", str(tmp_path / "p.vtu"),
                 "--json"]) == 0
    import meshio

    last = meshio.read(tmp_path / "p.vtu").point_data["temperature"]
    assert json.loads(capsys.readouterr().out)["n_steps"] == 12
    assert float(np.max(last)) == pytest.approx(s["curves"]["peak_temperature"][-1], rel=1e-3)


def test_history_model_refuses_a_dataset_without_histories(tmp_path):
    ds = Dataset.create(tmp_path / "p.h5", "plate-with-hole", 4, vary=["traction"],
                        fixed={"mesh_size": 0.02}, check_morph=False)
    with pytest.raises(PhysappError, match="no histories"):
        ds.history_data()


def test_sweep_payload_of_a_transient_study_holds_its_history():
    from physapp.compute.sweep import solve_candidates
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("heat-sink-transient")
    p = solve_candidates(None, ReferenceSolver(1, check_p1=False, check_memory=False), study,
                         [{**COARSE, "t_end": 30.0}], 3, frames=7)
    h = p["history"]
    np.testing.assert_allclose(h["times"], np.linspace(0, 30, 7))
    assert h["fields"]["temperature"].shape == (7, len(p["coords"]))
    # the last frame is the final state; the curves were sampled at their own steps
    np.testing.assert_allclose(h["fields"]["temperature"][-1], p["fields"]["temperature"],
                               rtol=1e-6)
    assert h["curves"]["peak_temperature"][-1] == pytest.approx(
        p["key_quantities"]["peak_temperature"], rel=1e-6)
    assert h["complete"] and h["curves"]["peak_temperature"][0] == pytest.approx(25.0, abs=1e-6)


def test_api_trains_a_history_model_from_the_data_set_path(dataset):
    import physapp

    model = physapp.train(str(dataset.path), "curve-gp", iters=40)
    h = model.predict_history({"power": 21.0, "h": 26.0})  # inside the 6 training designs
    _, peak = synthetic_history(h.mesh.points, 21.0, 26.0, h.times)
    assert np.abs(h.curves["peak_temperature"] - peak).max() < 0.02 * np.ptp(peak)

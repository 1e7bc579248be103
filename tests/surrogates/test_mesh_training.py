"""`physapp train` / `predict` of mesh-agnostic models on data whose samples have their own meshes
(#19): an imported Darcy folder (tests/surrogates/darcy.py) and a topology-changing study.

Oracles: the saved model's held-out metrics are those of the held-out samples (rel L2 finite,
coverage in [0, 1]); a prediction on a given mesh has one value per node of *that* mesh; a
prediction of the perforated plate at n_holes=k is on a mesh with k holes (counted as boundary
loops); POD still refuses such data.
"""

from __future__ import annotations

import json

import meshio
import numpy as np
import pytest
from darcy import darcy_sample, write_darcy_folder  # noqa: E402 - tests/surrogates

from physapp.cli import main
from physapp.surrogates.storage import load_surrogate


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _import(tmp_path, capsys):
    write_darcy_folder(tmp_path / "runs")
    out = tmp_path / "darcy.h5"
    assert main(["dataset", "import", str(tmp_path / "runs"), "--inputs", "k", "--outputs", "u",
                 "--params", str(tmp_path / "runs" / "params.csv"), "--out", str(out),
                 "-q"]) == 0
    capsys.readouterr()
    return out


def test_train_on_imported_samples_and_predict_on_a_finer_mesh(tmp_path, capsys):
    data = _import(tmp_path, capsys)
    # --model all: the kinds that learn across meshes, the others skipped with the reason
    code = main(["train", str(data), "--model", "all", "--epochs", "4", "--out",
                 str(tmp_path / "m.pt"), "--json", "-q", "--device", "cpu"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    out = json.loads(captured.out)
    assert set(out["models"]) == {"transolver", "geo-field"}
    assert {"pod-gp", "pod-mlp", "neural-field", "linear", "nearest"} <= set(out["skipped"])
    assert "one mesh topology" in out["skipped"]["pod-gp"]
    model_path = tmp_path / "m-transolver.pt"
    assert out["models"]["transolver"]["file"] == str(model_path)
    metrics = out["models"]["transolver"]["metrics"]
    assert metrics["n_train"] == 5 and metrics["n_test"] == 1
    assert np.isfinite(metrics["fields"]["u"]["rel_l2"])
    assert 0.0 <= metrics["coverage95"] <= 1.0
    model = load_surrogate(model_path, device="cpu")
    assert model.metrics["fields"]["u"]["rel_l2"] == pytest.approx(
        metrics["fields"]["u"]["rel_l2"])
    # a grid finer than every training mesh (8-12 cells a side), with its own input field
    mesh, k, u = darcy_sample(16, 1.0, seed=9)
    meshio.Mesh(mesh.points, [("triangle", mesh.cells[0].connectivity)],
                point_data={"k[W/(m.K)]": k}).write(tmp_path / "fine.vtu")
    out = tmp_path / "pred.vtu"
    assert main(["predict", str(model_path), "--mesh", str(tmp_path / "fine.vtu"), "--set",
                 "source=1.0", "--out", str(out)]) == 0, capsys.readouterr().err
    pred = meshio.read(out)
    assert len(pred.points) == 17 * 17 == len(u)
    assert np.all(np.isfinite(pred.point_data["u"])) and np.all(pred.point_data["u_std"] >= 0)
    # a mesh without the input field the model reads: one clear error
    meshio.Mesh(mesh.points, [("triangle", mesh.cells[0].connectivity)]).write(
        tmp_path / "bare.vtu")
    assert main(["predict", str(model_path), "--mesh", str(tmp_path / "bare.vtu"), "--out",
                 str(tmp_path / "x.vtu")]) == 1
    assert "lacks the input field(s) k" in capsys.readouterr().err
    # POD kinds keep refusing, with the message pointing to the mesh-agnostic kinds
    assert main(["train", str(data), "--model", "pod-gp", "--out", str(tmp_path / "p.pt")]) == 1
    assert "mesh-agnostic" in capsys.readouterr().err


def _boundary_loops(points, triangles) -> int:
    """Connected boundary loops of a triangle mesh: 1 outer + one per hole."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    e = np.sort(np.vstack([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]]),
                axis=1)
    uniq, counts = np.unique(e, axis=0, return_counts=True)
    b = uniq[counts == 1]
    n = len(points)
    g = coo_matrix((np.ones(len(b)), (b[:, 0], b[:, 1])), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    return len(np.unique(labels[np.unique(b)]))


def test_topology_changing_study_trains_and_predicts_on_its_own_mesh_of_the_design(
        tmp_path, capsys):
    data = tmp_path / "perf.h5"
    assert main(["sweep", "perforated-plate", "--samples", "5", "--order", "1", "--set",
                 "mesh_size=0.02", "--vary", "n_holes,traction", "--test-fraction", "0.4",
                 "--workers", "1", "--out", str(data), "-q"]) == 0
    capsys.readouterr()
    model_path = tmp_path / "m.pt"
    assert main(["train", str(data), "--model", "geo-field", "--epochs", "3", "--out",
                 str(model_path), "--json", "-q", "--device", "cpu"]) == 0
    metrics = json.loads(capsys.readouterr().out)["geo-field"]["metrics"]
    assert metrics["n_test"] == 2 and np.isfinite(metrics["fields"]["von_mises"]["rel_l2"])
    for n_holes in (1, 3):
        out = tmp_path / f"p{n_holes}.vtu"
        assert main(["predict", str(model_path), "--set", f"n_holes={n_holes}", "--out",
                     str(out)]) == 0, capsys.readouterr().err
        pred = meshio.read(out)
        tri = pred.cells_dict["triangle"]
        assert _boundary_loops(pred.points, tri) == 1 + n_holes
        assert np.all(np.isfinite(pred.point_data["von_mises"]))


def test_the_apps_training_job_trains_a_mesh_agnostic_model_on_a_topology_changing_study(
        tmp_path):
    from physapp.compute.training_job import TrainPlan, run_plan

    plan = TrainPlan("perforated-plate", "transolver", 5, "lhs", ("n_holes", "traction"),
                     {"mesh_size": 0.02}, 1, 1, "cpu", tmp_path / "d.h5", tmp_path / "m.pt",
                     test_fraction=0.4, options={"epochs": 2, "members": 3})
    model, path = run_plan(plan, step=lambda i: None, progress=lambda f, m: None,
                           on_epoch=lambda *a: None)
    assert path.exists() and model.metrics["n_test"] == 2
    assert 0.0 <= model.metrics["coverage95"] <= 1.0
    loaded = load_surrogate(path, device="cpu")
    assert loaded.kind == "transolver" and loaded.study_id == "perforated-plate"


def test_a_studys_field_scaling_applies_to_samples_with_their_own_meshes(tmp_path):
    """Stresses / traction (the perforated plate's declared scaling): the scaled outputs times
    the traction give the stored fields back; von Mises by |traction|; the trained model keeps
    the spec through a save and load, and its predictions scale with the traction."""
    from physapp.api import _InProcess
    from physapp.compute.cluster import run_sweep_on
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.ensemble import scale_samples, train_on_samples
    from physapp.surrogates.scaling import study_scaling
    from physapp.surrogates.storage import save_surrogate

    ds = Dataset.create(tmp_path / "d.h5", "perforated-plate", 4, "lhs", 0, 0.25,
                        vary=["n_holes", "traction"], fixed={"mesh_size": 0.02},
                        bounds={"traction": (5e6, 50e6)}, order=1)
    run_sweep_on(ds, _InProcess(), poll=0.0)  # in this process: no worker start
    samples = ds.mesh_samples()
    spec = study_scaling("perforated-plate")
    scaled, used = scale_samples(samples, spec)
    assert used == spec
    for a, b in zip(samples.samples, scaled.samples, strict=True):
        t = a.params["traction"]
        np.testing.assert_allclose(b.outputs["sigma_xx"] * t, a.outputs["sigma_xx"], rtol=1e-5)
        np.testing.assert_allclose(b.outputs["von_mises"] * abs(t), a.outputs["von_mises"],
                                   rtol=1e-5)
    model = train_on_samples("geo-field", samples, device="cpu", epochs=2, members=3)
    assert model.field_scaling == spec
    back = load_surrogate(save_surrogate(model, tmp_path / "m.pt"), device="cpu")
    assert back.field_scaling == spec
    mesh = samples.samples[0].mesh
    lo = back.predict_on_mesh({"n_holes": 2, "traction": 10e6}, mesh).point_data["sigma_xx"]
    hi = back.predict_on_mesh({"n_holes": 2, "traction": 40e6}, mesh).point_data["sigma_xx"]
    assert np.abs(hi).mean() > 2.0 * np.abs(lo).mean()  # ~4x, up to what 2 epochs learn

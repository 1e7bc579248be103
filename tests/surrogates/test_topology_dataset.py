"""Data sets of a topology-changing study (#19): every sample stores its own mesh.

Oracles: the number of holes seen on each stored mesh equals the sample's parameter, a stored
sample equals a direct solve of its design, resuming rewrites an interrupted sample identically,
format-1 files still open, and whole numbers are drawn with equal chances.
"""

from __future__ import annotations

import subprocess
import sys

import h5py
import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from physapp.cli import main
from physapp.compute.sweep import run_sweep
from physapp.core.errors import PhysappError
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study
from physapp.surrogates import doe
from physapp.surrogates.dataset import DONE, Dataset, size_batches

ARGS = ["perforated-plate", "--samples", "6", "--order", "1", "--set", "mesh_size=0.02",
        "--vary", "n_holes,diameter,x1,y1", "--test-fraction", "0.34", "--workers", "1"]


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "physapp", *args], capture_output=True,
                          text=True, timeout=timeout)


def _loops(mesh) -> int:
    edges = np.asarray(mesh.boundaries["holes"])
    n = mesh.n_points
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[np.unique(edges)]))


def test_whole_numbers_are_drawn_with_equal_chances_and_keep_the_lhs_strata():
    rows = doe.sample(np.array([[1.0, 4.0], [0.0, 1.0]]), 400, "lhs", seed=3)
    snapped = doe.snap_integers(rows, np.array([[1.0, 4.0], [0.0, 1.0]]), np.array([True, False]))
    levels, counts = np.unique(snapped[:, 0], return_counts=True)
    assert list(levels) == [1, 2, 3, 4] and list(counts) == [100] * 4
    np.testing.assert_array_equal(snapped[:, 1], rows[:, 1])


def test_sweep_of_a_topology_changing_study_stores_each_samples_own_mesh(tmp_path, capsys):
    out = tmp_path / "perf.h5"
    proc = _cli("sweep", *ARGS, "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "6 done, 0 failed" in proc.stdout
    ds = Dataset.open(out)
    assert ds.version >= 2 and not ds.fixed_topology  # 3: histories (#18) kept too
    n_holes = ds.X[:, ds.param_names.index("n_holes")]
    assert set(n_holes) <= {1.0, 2.0, 3.0, 4.0} and len(set(n_holes)) > 1
    data = ds.mesh_samples()
    assert len(data) == 6 and data.study_id == "perforated-plate"
    assert data.param_names == ("n_holes", "diameter", "x1", "y1")
    assert {"von_mises", "displacement"} <= set(data.output_names)
    assert data.units["von_mises"] == "Pa" and data.units["diameter"] == "m"
    assert data.is_test.sum() == 2
    counts = [s.mesh.n_points for s in data.samples]
    assert len(set(counts)) > 1  # different meshes
    for s in data.samples:  # each stored mesh has the sample's number of holes
        assert _loops(s.mesh) == s.params["n_holes"]
        assert s.key_quantities["peak_von_mises"] == pytest.approx(
            float(s.outputs["von_mises"].max()), rel=1e-6)
    # a stored sample is a direct solve of its design
    res = ReferenceSolver(1).solve(get_study("perforated-plate"), ds.values(0))
    np.testing.assert_allclose(data.samples[0].mesh.points, res.mesh.points, atol=1e-7)
    np.testing.assert_allclose(data.samples[0].outputs["von_mises"],
                               res.point_data["von_mises"], rtol=1e-4)
    # POD cannot learn it: `physapp train` says which models can
    assert main(["train", str(out), "--model", "pod-gp", "--out", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err
    assert "different meshes" in err and "mesh-agnostic model" in err and "Traceback" not in err
    # as if killed while sample 2 was written: its group exists, it is still pending
    before = data.samples[2].outputs["von_mises"].copy()
    ds.mark_pending([2])
    assert run_sweep(ds, workers=1).solved == 1
    again = Dataset.open(out)
    assert list(again.status) == [DONE] * 6
    np.testing.assert_array_equal(again.mesh_samples().samples[2].outputs["von_mises"], before)


def test_format_1_files_open_as_fixed_topology_and_give_mesh_samples(tmp_path):
    path = tmp_path / "plate.h5"
    ds = Dataset.create(path, "plate-with-hole", 4, vary=["radius", "traction"],
                        bounds={"radius": (0.01, 0.03)}, fixed={"mesh_size": 0.02}, order=1,
                        check_morph=False, test_fraction=0.25)
    run_sweep(ds, workers=1)
    with h5py.File(path, "r+") as f:  # what physapp wrote before per-sample meshes
        f.attrs["version"] = 1
        del f.attrs["fixed_topology"]
    old = Dataset.open(path)
    assert old.version == 1 and old.fixed_topology
    td = old.training_data()
    ms = old.mesh_samples()
    assert len(ms) == td.n_samples == 4
    for k, s in enumerate(ms.samples):  # the morphed coordinates of each sample
        np.testing.assert_allclose(s.mesh.points[:, :2], td.coords[k], rtol=1e-6)
        np.testing.assert_array_equal(s.outputs["von_mises"], td.fields["von_mises"][k])
        assert s.params["radius"] == td.X[k, 0]
    with h5py.File(path, "r+") as f:
        f.attrs["version"] = 4
    with pytest.raises(PhysappError, match="format version 4; this physapp reads versions 1, 2, 3"):
        Dataset.open(path)


@pytest.mark.parametrize("budget", [1, 1000, 2500, 10**6])
def test_size_batches_group_similar_sizes_within_the_padded_budget(budget):
    counts = np.random.default_rng(1).integers(100, 2000, size=37)
    batches = size_batches(counts, budget)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(37))
    for b in batches:
        assert len(b) == 1 or len(b) * counts[b].max() <= budget
    sizes = [counts[b] for b in batches]  # batches follow the sorted sizes
    assert all(a.max() <= b.min() for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    if budget == 10**6:
        assert len(batches) == 1

"""Datasets for surrogates: design of experiments, mesh morphing, HDF5 storage, sweeps, CLI.

Oracles: real gmsh meshes and real solves. The morph must reproduce the target geometry exactly
where it is known (hole radius, plate edges), agree with solves on freshly meshed geometry, keep
the reference topology (also for P2 output meshes) and refuse what it cannot do.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import warnings

import h5py
import numpy as np
import pytest

from physapp.compute.sweep import run_sweep
from physapp.core.errors import Cancelled, GeometryError, ParameterError, PhysappError
from physapp.core.progress import CancelToken
from physapp.geometry.morph import Morpher
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study
from physapp.surrogates import doe
from physapp.surrogates.dataset import DONE, FAILED, Dataset, support_points

COARSE = {"mesh_size": 0.02}  # a 277-triangle quarter plate: fast sweeps


# -- design of experiments --------------------------------------------------------------------


def test_sample_lhs_is_stratified_sobol_is_quiet_and_both_are_reproducible():
    bounds = np.array([[0.0, 1.0], [10.0, 30.0], [-5.0, 5.0]])
    x = doe.sample(bounds, 10, "lhs", seed=3)
    assert x.shape == (10, 3)
    assert np.all(x >= bounds[:, 0]) and np.all(x <= bounds[:, 1])
    for j in range(3):  # one point in each of the 10 strata of every parameter
        strata = np.floor((x[:, j] - bounds[j, 0]) / np.ptp(bounds[j]) * 10).astype(int)
        assert sorted(strata) == list(range(10))
    np.testing.assert_array_equal(x, doe.sample(bounds, 10, "lhs", seed=3))
    assert not np.allclose(x, doe.sample(bounds, 10, "lhs", seed=4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # n = 10 is not a power of 2: no warning must escape
        s = doe.sample(bounds, 10, "sobol", seed=1)
    assert s.shape == (10, 3) and np.all(s >= bounds[:, 0]) and np.all(s <= bounds[:, 1])
    with pytest.raises(ParameterError, match="sampler"):
        doe.sample(bounds, 4, "grid")


def test_split_holds_out_at_least_one_test_and_two_training_samples():
    t = doe.split(10, 0.2, seed=0)
    assert t.dtype == bool and t.sum() == 2
    assert doe.split(3, 0.01).sum() == 1
    with pytest.raises(ParameterError, match="at least 1 test and 2 training"):
        doe.split(2, 0.5)
    with pytest.raises(ParameterError, match="between 0 and 1"):
        doe.split(10, 1.0)


def test_design_varies_design_parameters_only():
    plate = get_study("plate-with-hole")
    d = doe.resolve_design(plate, fixed={"traction": 1e6, "mesh_size": 0.01})
    assert "mesh_size" not in d.names and "traction" not in d.names
    assert d.names == ("radius", "width", "length", "youngs_modulus", "poissons_ratio")
    assert d.fixed == {"traction": 1e6, "mesh_size": 0.01}
    d = doe.resolve_design(plate, vary=["radius"], bounds={"radius": (0.01, 0.03)})
    np.testing.assert_allclose(d.bounds, [[0.01, 0.03]])
    assert d.values([0.02])["radius"] == 0.02 and d.values([0.02])["width"] == 0.2
    with pytest.raises(ParameterError, match="discretization"):
        doe.resolve_design(plate, vary=["mesh_size"])
    with pytest.raises(ParameterError, match="unknown parameter"):
        doe.resolve_design(plate, vary=["diameter"])
    with pytest.raises(ParameterError, match="leave its range"):
        doe.resolve_design(plate, vary=["radius"], bounds={"radius": (0.001, 0.03)})


# -- morphing ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plate_morpher():
    return Morpher(get_study("plate-with-hole"))


def test_morph_to_the_reference_is_the_identity(plate_morpher):
    m = plate_morpher
    assert m.morph(m.reference_values) is m.reference_mesh
    # the full algorithm on a fresh mesh of the same geometry moves nothing either
    target = m.study.build_mesh(m.reference_values)
    mesh, quality = m.morph_to_mesh(target)
    np.testing.assert_allclose(mesh.points, m.reference_mesh.points, rtol=0, atol=1e-9 * 0.2)
    assert quality.n_bad == 0 and quality.min_volume_ratio > 1 - 1e-9


def test_plate_morph_puts_the_boundary_on_the_new_geometry(plate_morpher):
    m = plate_morpher
    values = {**m.reference_values, "radius": 0.03, "width": 0.25, "length": 0.5}
    mesh = m.morph(values)
    assert mesh.n_points == m.reference_mesh.n_points
    assert [b.connectivity.tolist() for b in mesh.cells] == [
        b.connectivity.tolist() for b in m.reference_mesh.cells]
    p = mesh.points
    hole = mesh.boundary_nodes("hole")
    np.testing.assert_allclose(np.hypot(p[hole, 0], p[hole, 1]), 0.03, rtol=1e-6)
    np.testing.assert_allclose(p[mesh.boundary_nodes("free"), 1], 0.125, atol=1e-9)
    np.testing.assert_allclose(p[mesh.boundary_nodes("loaded"), 0], 0.25, atol=1e-9)
    np.testing.assert_allclose(p[mesh.boundary_nodes("symmetry_x"), 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(p[mesh.boundary_nodes("symmetry_y"), 1], 0.0, atol=1e-12)
    assert np.all(p[:, 0] >= -1e-12) and np.all(p[:, 0] <= 0.25 + 1e-12)
    assert np.all(np.hypot(p[:, 0], p[:, 1]) >= 0.03 * (1 - 1e-6))  # nothing inside the hole


def test_p2_solve_on_a_morph_matches_a_fresh_mesh_and_keeps_the_topology(plate_morpher):
    m = plate_morpher
    study = m.study
    values = {**m.reference_values, "radius": 0.03, "traction": 2e7}
    solver = ReferenceSolver(2)
    on_ref = solver.solve(study, m.reference_values, mesh=m.reference_mesh)
    morphed = solver.solve(study, values, mesh=m.morph(values))
    fresh = solver.solve(study, values)
    for key in ("peak_von_mises", "max_displacement"):
        got, want = morphed.meta["key_quantities"][key], fresh.meta["key_quantities"][key]
        assert abs(got / want - 1) < 0.02, (key, got, want)
    # the quadratic output mesh has the reference's topology; midside nodes sit mid-edge
    out, ref_out = morphed.mesh, on_ref.mesh
    assert out.cells[0].type == "triangle6"
    np.testing.assert_array_equal(out.cells[0].connectivity, ref_out.cells[0].connectivity)
    conn = out.cells[0].connectivity
    np.testing.assert_allclose(support_points(out.points, "triangle6", conn, out.n_points),
                               out.points, atol=1e-12)
    np.testing.assert_allclose(
        support_points(m.reference_mesh.points, "triangle6", conn, out.n_points), ref_out.points,
        atol=1e-12)


def test_impossible_morph_is_refused_with_the_valid_range(plate_morpher):
    m = plate_morpher
    with pytest.raises(GeometryError) as err:
        m.morph({**m.reference_values, "radius": 0.002})
    msg = str(err.value)
    assert "radius = 2 mm" in msg and "radius must stay within [" in msg
    lo, hi = m.valid_ranges["radius"]
    assert 0.002 < lo < 0.02 < hi <= 0.08
    m.morph({**m.reference_values, "radius": lo})  # the range's ends are morphable


def test_l_bracket_morphs_thickness_arms_fillet_and_hole():
    study = get_study("l-bracket")
    m = Morpher(study)
    ref = m.reference_values
    for change in ({"arm_x": 0.15, "thickness": 0.006},
                   {"hole_diameter": 0.02, "fillet_radius": 0.015, "arm_z": 0.12}):
        v = {**ref, **change}
        mesh = m.morph(v)  # raises GeometryError if any element inverts or degenerates
        assert mesh.n_points == m.reference_mesh.n_points
        p = mesh.points
        np.testing.assert_allclose(p[mesh.boundary_nodes("wall"), 0], 0.0, atol=1e-12)
        np.testing.assert_allclose(p[:, 0].max(), v["arm_x"], rtol=1e-9)
        np.testing.assert_allclose(p[:, 2].max(), v["arm_z"], rtol=1e-9)
        hole = mesh.boundary_nodes("bolt_hole")
        cx, r = v["arm_x"] - 1.5 * v["hole_diameter"], v["hole_diameter"] / 2
        dist = np.hypot(p[hole, 0] - cx, p[hole, 1] - 0.02)
        np.testing.assert_allclose(dist, r, rtol=0.01)  # curved surface, P1-facetted target
        top = p[np.abs(p[:, 2] - v["thickness"]) < 1e-9]
        assert len(top) > 20  # the top face of the horizontal arm moved to the new thickness


# -- dataset files ----------------------------------------------------------------------------


def _plate_dataset(path, n=6, **kw):
    kw.setdefault("vary", ["radius", "traction"])
    kw.setdefault("bounds", {"radius": (0.01, 0.03)})
    kw.setdefault("check_morph", False)
    return Dataset.create(path, "plate-with-hole", n, "lhs", 0, 0.34, fixed=COARSE, order=1, **kw)


def test_dataset_plan_is_written_before_any_solve_and_reopens(tmp_path):
    path = tmp_path / "plate.h5"
    ds = _plate_dataset(path, n=6)
    again = Dataset.open(path)
    assert again.study_id == "plate-with-hole" and again.order == 1
    assert again.param_names == ("radius", "traction")
    np.testing.assert_array_equal(again.X, ds.X)
    assert again.X.shape == (6, 2) and np.all((again.X[:, 0] >= 0.01) & (again.X[:, 0] <= 0.03))
    assert again.is_test.sum() == 2
    assert list(again.pending()) == list(range(6))
    assert repr(again) == ("Dataset('plate.h5', 'plate-with-hole', 6 samples (6 pending), "
                           "parameters radius, traction, P1)")
    assert again.fixed["mesh_size"] == 0.02 and again.values(0)["width"] == 0.2
    np.testing.assert_array_equal(again.reference_mesh.points, ds.reference_mesh.points)
    assert set(again.reference_mesh.boundaries) == {"hole", "free", "loaded", "symmetry_x",
                                                    "symmetry_y"}
    with pytest.raises(PhysappError, match="already exists"):
        _plate_dataset(path)
    with pytest.raises(PhysappError, match="Only 0 of 6 samples"):
        again.training_data()
    _plate_dataset(path, n=5, overwrite=True)
    assert Dataset.open(path).n_samples == 5


def test_auto_bounds_are_narrowed_to_the_morphable_range_and_reported(tmp_path):
    ds = Dataset.create(tmp_path / "p.h5", "plate-with-hole", 4, vary=["radius", "traction"],
                        fixed=COARSE, order=1)
    lo, hi = ds.bounds[0]
    assert 0.002 < lo and hi < 0.08 and ds.valid_ranges["radius"] == (lo, hi)
    assert any(n.startswith("radius: range [2 mm, 80 mm] narrowed to") for n in ds.notes)
    with pytest.raises(ParameterError, match="can be morphed only for radius within"):
        Dataset.create(tmp_path / "q.h5", "plate-with-hole", 4, vary=["radius"], fixed=COARSE,
                       bounds={"radius": (0.002, 0.02)})


def test_files_that_are_not_datasets_are_refused_clearly(tmp_path):
    text = tmp_path / "notes.h5"
    text.write_text("hello")
    with pytest.raises(PhysappError, match="Cannot read"):
        Dataset.open(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(PhysappError, match="not a physapp dataset"):
        Dataset.open(other)
    path = tmp_path / "plate.h5"
    _plate_dataset(path, n=3)
    with h5py.File(path, "r+") as f:
        f.attrs["version"] = 99
    with pytest.raises(PhysappError, match="format version 99"):
        Dataset.open(path)
    with h5py.File(path, "r+") as f:
        f.attrs["version"] = 1
    Dataset.open(path)
    size = path.stat().st_size
    with open(path, "r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(PhysappError, match="Cannot read|damaged"):
        Dataset.open(path)
    with pytest.raises(PhysappError, match="No dataset file"):
        Dataset.open(tmp_path / "missing.h5")


def test_sweep_stores_samples_on_their_own_geometry_and_keeps_failures(tmp_path):
    path = tmp_path / "plate.h5"
    ds = _plate_dataset(path, n=6)
    with h5py.File(path, "r+") as f:  # sample 4: a hole far too small to morph to
        f["plan/X"][4, 0] = 0.002
    ds = Dataset.open(path)
    messages = []
    summary = run_sweep(ds, workers=2, progress=lambda f, m: messages.append(m))
    assert (summary.solved, summary.failed, summary.pending_total) == (5, 1, 0)
    assert any("/6 done" in m and "ETA" in m for m in messages)
    assert list(ds.status) == [DONE] * 4 + [FAILED, DONE]
    assert "cannot be morphed" in ds.message(4) and "radius = 2 mm" in ds.message(4)
    data = ds.training_data()
    assert data.n_samples == 5 and data.param_names == ("radius", "traction")
    assert data.coords.shape == (5, data.mesh.n_points, 2)
    assert set(data.fields) >= {"displacement", "von_mises"} and data.units["von_mises"] == "Pa"
    hole = data.mesh.boundary_nodes("hole")
    for k in range(5):  # every sample's coordinates are its own geometry
        r = np.hypot(data.coords[k, hole, 0], data.coords[k, hole, 1])
        np.testing.assert_allclose(r, data.X[k, 0], rtol=1e-5)
    # a sample's stored fields are those of a direct solve of that morph
    study = get_study("plate-with-hole")
    morpher = Morpher(study, ds.reference_values, ds.reference_mesh)
    res = ReferenceSolver(1).solve(study, ds.values(0), mesh=morpher.morph(ds.values(0)))
    np.testing.assert_allclose(data.fields["von_mises"][0], res.point_data["von_mises"],
                               rtol=1e-4)
    np.testing.assert_allclose(data.key_quantities["peak_von_mises"][0],
                               res.meta["key_quantities"]["peak_von_mises"], rtol=1e-6)
    assert data.is_test.sum() >= 1 and (~data.is_test).sum() >= 2


def test_samples_that_cannot_be_morphed_are_replaced_reproducibly(tmp_path):
    path = tmp_path / "plate.h5"
    ds = _plate_dataset(path, n=4, check_morph=True, bounds=None)
    lo, hi = ds.bounds[0]
    with h5py.File(path, "r+") as f:  # as if LHS had drawn a point the mesh cannot reach
        f["plan/X"][1, 0] = 0.002
    ds = Dataset.open(path)
    alternates = ds.alternates(1)
    assert alternates == ds.alternates(1) and len(alternates) == 8
    assert all(lo <= a["radius"] <= hi for a in alternates)
    summary = run_sweep(ds, workers=1)
    assert (summary.solved, summary.failed, summary.replaced) == (4, 0, 1)
    assert list(ds.replaced) == [False, True, False, False]
    again = Dataset.open(path)
    assert again.X_planned[1, 0] != again.X[1, 0] and lo <= again.X[1, 0] <= hi
    data = again.training_data()
    hole = data.mesh.boundary_nodes("hole")
    r = np.hypot(data.coords[1, hole, 0], data.coords[1, hole, 1])
    np.testing.assert_allclose(r, again.X[1, 0], rtol=1e-5)


def test_cancelled_sweep_keeps_finished_samples_and_resumes(tmp_path):
    ds = _plate_dataset(tmp_path / "plate.h5", n=5)
    cancel = CancelToken()

    def progress(fraction, message):
        if message.startswith("1/"):
            cancel.cancel()

    with pytest.raises(Cancelled, match="samples are done and kept"):
        run_sweep(ds, workers=1, progress=progress, cancel=cancel)
    after = Dataset.open(ds.path)
    done_before = after.counts()["done"]
    assert done_before >= 1 and after.counts()["pending"] >= 1
    summary = run_sweep(after, workers=1)
    assert summary.solved == 5 - done_before
    assert after.counts() == {"pending": 0, "done": 5, "failed": 0}


# -- command line -----------------------------------------------------------------------------


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "physapp", "sweep", *args], capture_output=True,
                          text=True, timeout=240, **kw)


def test_cli_sweep_runs_resumes_and_refuses_to_clobber(tmp_path):
    out = tmp_path / "plate.h5"
    args = ["plate-with-hole", "--samples", "6", "--order", "1", "--set", "mesh_size=0.02",
            "--vary", "radius,traction", "--workers", "1", "--out", str(out)]
    proc = _cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "6 done, 0 failed" in proc.stdout
    assert "note: radius: range" in proc.stderr and "6/6 done" in proc.stderr
    ds = Dataset.open(out)
    assert ds.counts()["done"] == 6
    before = ds.training_data()
    ds.mark_pending([2])  # as if the process had been killed while sample 2 was written
    proc = _cli(*args, "--resume", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "this run solved 1 " in proc.stdout and proc.stderr == ""
    after = Dataset.open(out).training_data()
    np.testing.assert_array_equal(after.coords, before.coords)
    np.testing.assert_array_equal(after.fields["von_mises"], before.fields["von_mises"])
    proc = _cli(*args)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"physapp: error: {out} already exists: add --resume to continue it or --overwrite to "
        "start again."]
    proc = _cli(*args[:-2], "--out", str(tmp_path / "x.h5"), "--vary", "mesh_size")
    assert proc.returncode == 1 and "discretization" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_ctrl_c_exits_130_and_keeps_finished_samples(tmp_path):
    out = tmp_path / "plate.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "physapp", "sweep", "plate-with-hole", "--samples", "40",
         "--order", "1", "--set", "mesh_size=0.02", "--vary", "traction", "--workers", "1",
         "--out", str(out)], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if "2/40 done" in line:
                break
        proc.send_signal(signal.SIGINT)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 20
    assert "Sweep cancelled" in err
    counts = Dataset.open(out).counts()
    assert counts["done"] >= 2 and counts["pending"] > 0


def test_killed_sweep_leaves_a_readable_file_that_resumes(tmp_path):
    out = tmp_path / "plate.h5"
    args = [sys.executable, "-m", "physapp", "sweep", "plate-with-hole", "--samples", "20",
            "--order", "1", "--set", "mesh_size=0.02", "--vary", "traction", "--workers", "1",
            "--out", str(out)]
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stderr:
            if "3/20 done" in line:
                break
        proc.kill()  # no clean-up at all, possibly in the middle of writing a sample
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    ds = Dataset.open(out)
    done = ds.counts()["done"]
    assert done >= 3 and ds.counts()["pending"] == 20 - done
    keep = np.flatnonzero(ds.status == DONE)
    with h5py.File(out) as f:
        before = f["samples/coords"][keep]
    resumed = subprocess.run(args + ["--resume", "-q"], capture_output=True, text=True,
                             timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    assert f"this run solved {20 - done} " in resumed.stdout
    assert Dataset.open(out).counts() == {"pending": 0, "done": 20, "failed": 0}
    with h5py.File(out) as f:  # samples finished before the kill are untouched
        np.testing.assert_array_equal(f["samples/coords"][keep], before)


def test_cli_sweep_help_documents_the_options():
    proc = _cli("--help")
    assert proc.returncode == 0
    for opt in ("--samples", "--sampler", "--test-fraction", "--seed", "--vary", "--set",
                "--order", "--workers", "--out", "--resume", "--overwrite", "-q"):
        assert opt in proc.stdout


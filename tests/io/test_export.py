"""Export of meshes with fields and of CSV tables: read back, atomic, clear errors."""

from __future__ import annotations

import csv
import os
import resource
import signal

import meshio
import numpy as np
import pytest

from physapp.core.errors import PhysappError
from physapp.io.export import (
    MESH_FORMATS,
    surface_triangles,
    write_mesh,
    write_results_csv,
)
from physapp.io.readers import read_mesh
from physapp.surrogates.dataset_table import write_dataset_csv

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "meshes")


@pytest.fixture(scope="module")
def plate():
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("plate-with-hole")
    return ReferenceSolver(order=2).solve(study, study.check({"mesh_size": 0.02}))


@pytest.fixture(scope="module")
def box_result():
    """A real 3D field on the box mesh (tetrahedra): coordinates as a 'field'."""
    from physapp.core.results import FieldResult

    mesh, _ = read_mesh(os.path.join(DATA, "box.msh"))
    pts = np.asarray(mesh.points)
    return FieldResult(mesh, {"temperature": pts[:, 0] * 10 + 300, "displacement": pts * 1e-3},
                       "test", units={"temperature": "K", "displacement": "m"})


@pytest.mark.parametrize("ext", [".vtu", ".xdmf", ".vtk"])
def test_volume_formats_read_back_with_every_field(tmp_path, plate, ext):
    path = write_mesh(plate, tmp_path / f"plate{ext}")
    back = meshio.read(path)
    assert back.points.shape[0] == plate.mesh.n_points
    assert [c.type for c in back.cells] == ["triangle6"]
    assert set(back.point_data) == set(plate.point_data)
    np.testing.assert_allclose(back.point_data["von_mises"], plate.point_data["von_mises"],
                               rtol=1e-6)
    np.testing.assert_allclose(back.point_data["displacement"][:, :2],
                               plate.point_data["displacement"][:, :2], rtol=1e-6, atol=1e-15)
    assert [p.name for p in tmp_path.iterdir()] == [f"plate{ext}"]  # no companion, no temp


def test_stl_holds_the_surface_and_ply_the_fields(tmp_path, plate, box_result):
    stl = meshio.read(write_mesh(box_result, tmp_path / "box.stl"))
    tris = surface_triangles(box_result)
    assert stl.cells[0].type == "triangle" and len(stl.cells[0].data) == len(tris)
    # a closed surface: every edge is shared by exactly two triangles
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert set(counts.tolist()) == {2}
    lo, hi = box_result.mesh.bounds()
    np.testing.assert_allclose(stl.points.min(axis=0), lo, atol=1e-6)
    np.testing.assert_allclose(stl.points.max(axis=0), hi, atol=1e-6)

    ply = meshio.read(write_mesh(box_result, tmp_path / "box.ply"))
    assert {"temperature", "displacement_x", "displacement_y", "displacement_z"} <= set(
        ply.point_data)
    np.testing.assert_allclose(ply.point_data["temperature"], ply.points[:, 0] * 10 + 300,
                               rtol=1e-5)
    flat = meshio.read(write_mesh(plate, tmp_path / "plate.ply"))  # 2D: its own triangles
    assert len(flat.cells[0].data) == 4 * len(plate.mesh.cells[0].connectivity)
    assert "von_mises" in flat.point_data


def test_unknown_extension_lists_the_supported_ones(tmp_path, plate):
    with pytest.raises(PhysappError) as err:
        write_mesh(plate, tmp_path / "plate.docx")
    for ext in MESH_FORMATS:
        assert ext in str(err.value)
    assert not list(tmp_path.iterdir())


def _as_nobody(fn) -> int:
    """Run ``fn`` in a forked child without root rights; its exit status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            os.setgid(65534)
            os.setuid(65534)
            code = fn()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_unwritable_folder_is_named_and_the_existing_file_kept(tmp_path, plate):
    folder = tmp_path / "locked"
    folder.mkdir()
    target = folder / "plate.vtu"
    target.write_text("old contents")
    if os.getuid() != 0:
        folder.chmod(0o555)
        try:
            with pytest.raises(PhysappError, match="not writable") as err:
                write_mesh(plate, target)
            assert str(folder) in str(err.value)
        finally:
            folder.chmod(0o755)
    else:  # root writes anywhere: try as an ordinary user
        for p in (tmp_path.parent.parent, tmp_path.parent, tmp_path):
            p.chmod(p.stat().st_mode | 0o055)

        def attempt() -> int:
            try:
                write_mesh(plate, target)
            except PhysappError as exc:
                return 0 if "not writable" in str(exc) and str(folder) in str(exc) else 3
            return 2

        assert _as_nobody(attempt) == 0
    assert target.read_text() == "old contents"
    assert sorted(p.name for p in folder.iterdir()) == ["plate.vtu"]


def test_a_write_that_fails_midway_leaves_the_old_file(tmp_path, plate):
    """A real short write (file size limit, as a full disk gives): old file intact, no temp."""
    target = tmp_path / "plate.vtu"
    target.write_text("old contents")
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old_limit[1]))
    try:
        with pytest.raises(PhysappError) as err:
            write_mesh(plate, target)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert str(target) in str(err.value) and "full" in str(err.value)
    assert target.read_text() == "old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["plate.vtu"]
    write_mesh(plate, target)  # and a write that succeeds replaces it whole
    assert meshio.read(target).points.shape[0] == plate.mesh.n_points


def test_results_csv_has_parameters_key_quantities_and_compare(tmp_path, plate):
    path = write_results_csv(tmp_path / "design.csv", plate.meta["params"], plate,
                             study_id="plate-with-hole", param_units={"radius": "m"},
                             compare={"rel_l2": 0.012, "peak": {"solver": 31.3, "surrogate": 30.9}})
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["kind", "name", "value", "unit"]
    table = {(r[0], r[1]): (r[2], r[3]) for r in rows[1:]}
    assert table[("study", "id")][0] == "plate-with-hole"
    assert float(table[("parameter", "radius")][0]) == plate.meta["params"]["radius"]
    assert table[("parameter", "radius")][1] == "m"
    kq = plate.meta["key_quantities"]
    assert float(table[("key_quantity", "peak_von_mises")][0]) == kq["peak_von_mises"]
    assert table[("key_quantity", "peak_von_mises")][1] == "Pa"
    assert float(table[("compare", "rel_l2")][0]) == 0.012
    assert float(table[("compare", "peak.surrogate")][0]) == 30.9
    with pytest.raises(PhysappError, match=".csv"):
        write_results_csv(tmp_path / "design.txt", {}, plate)


def test_dataset_csv_lists_every_sample(tmp_path):
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset

    ds = Dataset.create(tmp_path / "d.h5", "plate-with-hole", 4, "lhs", 0, 0.25,
                        vary=["traction"], fixed={"mesh_size": 0.03}, order=1,
                        check_morph=False)
    run_sweep(ds, 1)
    path = write_dataset_csv(tmp_path / "d.h5", tmp_path / "samples.csv")
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 4
    assert {r["status"] for r in rows} == {"done"}
    assert {r["split"] for r in rows} == {"train", "test"}
    ds = Dataset.open(tmp_path / "d.h5")
    for i, r in enumerate(rows):
        assert float(r["traction"]) == pytest.approx(ds.values(i)["traction"])
        assert float(r["mesh_size"]) == 0.03
        assert float(r["peak_von_mises"]) > 0
    with pytest.raises(PhysappError):
        write_dataset_csv(tmp_path / "missing.h5", tmp_path / "x.csv")


# -- physapp export (command line) -------------------------------------------------------------
def test_cli_exports_mesh_table_and_figure(tmp_path, capsys):
    import json

    from PIL import Image

    from physapp.cli import main

    vtu = tmp_path / "plate.vtu"
    assert main(["export", "--study", "plate-with-hole", "--set", "mesh_size=0.02",
                 "--set", "radius=0.03", "-o", str(vtu), "-q", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"]["radius"] == 0.03 and summary["key_quantities"]["peak_von_mises"] > 0
    assert "von_mises" in meshio.read(vtu).point_data
    table = tmp_path / "design"
    assert main(["export", "--study", "plate-with-hole", "--set", "mesh_size=0.02",
                 "--format", "csv", "-o", str(table), "-q"]) == 0
    rows = list(csv.reader((tmp_path / "design.csv").open()))
    assert ["parameter", "mesh_size", "0.02", "m"] in rows
    png = tmp_path / "plate.png"
    assert main(["export", "--study", "plate-with-hole", "--source", "surrogate", "-o",
                 str(png), "--size", "640x400", "--transparent", "-q"]) == 0
    im = Image.open(png)
    assert im.size == (640, 400) and im.mode == "RGBA"


def test_cli_animation_dataset_and_session(tmp_path, capsys):
    from physapp.cli import main
    from physapp.io.session import make_session, save_session
    from physapp.viz.figure import frame_count

    gif = tmp_path / "sweep.gif"
    assert main(["export", "--study", "plate-with-hole", "--animate", "radius", "--frames", "4",
                 "--size", "240x160", "-o", str(gif), "-q"]) == 0
    assert frame_count(gif) == 4
    session = save_session(make_session("plate-with-hole", {"mesh_size": 0.02},
                                        view={"field": "sigma_xx"}), tmp_path / "s.physapp")
    out = tmp_path / "s.csv"
    assert main(["export", "--session", str(session), "-o", str(out), "-q"]) == 0
    assert ["parameter", "mesh_size", "0.02", "m"] in list(csv.reader(out.open()))


@pytest.mark.parametrize("argv, message", [
    (["-o", "x.vtu"], "Give --study"),
    (["--study", "plate-with-hole", "-o", "x.docx"], "unknown format '.docx'"),
    (["--study", "plate-with-hole", "--set", "radius=9", "-o", "x.vtu"], "outside its range"),
    (["--study", "nope", "-o", "x.vtu"], "Unknown study"),
    (["--study", "plate-with-hole", "--animate", "nope", "-o", "x.gif"], "Unknown parameter"),
    (["--study", "plate-with-hole", "-o", "x.gif"], "--animate"),
    (["--study", "plate-with-hole", "--size", "big", "-o", "x.png"], "WIDTHxHEIGHT"),
    (["--study", "plate-with-hole", "--format", "vtu", "-o", "x.png"], "does not match"),
    (["--dataset", "missing.h5", "-o", "x.csv"], "No dataset file"),
    (["--study", "plate-with-hole", "-o", "no/such/folder/x.vtu"], "does not exist"),
])
def test_cli_bad_input_exits_1_with_a_message(tmp_path, monkeypatch, capsys, argv, message):
    from physapp.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["export", *argv]) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_help_describes_every_output(capsys):
    from physapp.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["export", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for word in (".vtu", ".xdmf", ".stl", ".ply", ".png", ".csv", ".gif", ".mp4", "--animate",
                 "--dataset", "--transparent", "--size"):
        assert word in text


def test_solve_output_in_xdmf_is_one_file(tmp_path):
    """`physapp solve/predict --out x.xdmf` (io.results.write_result): the data sits inside the
    XDMF file, nothing else is left in the folder, and meshio reads every field back."""
    import meshio

    from physapp.io.results import write_result
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    res = ReferenceSolver(order=1).solve(get_study("plate-with-hole"), {"mesh_size": 0.02})
    out = write_result(res, tmp_path / "r.xdmf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xdmf"]
    back = meshio.read(out)
    assert len(back.points) == res.mesh.n_points
    assert set(res.point_data) <= set(back.point_data)
    assert oct(out.stat().st_mode & 0o777) != oct(0o600)  # not the temporary file's mode

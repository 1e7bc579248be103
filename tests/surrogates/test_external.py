"""Importing data physapp did not make (#19): a folder of result files + a parameter table.

The data is a Darcy-type operator-learning set made here (nothing shipped): physapp's own heat
solver on unit squares of different resolutions, -div(k grad u) = f, u = 0 on the boundary, with a
random two-phase conductivity k (3 or 12, thresholded smooth random field) as an input point
array and the source f as a scalar parameter. Oracles: the imported arrays equal what was
written (mapped to the reader's nodes by coordinates), every bad file is named with its problem,
and the written data set reads back the same samples.
"""

from __future__ import annotations

import meshio
import numpy as np
import pytest
from darcy import darcy_sample, unit_square, write_darcy_folder  # noqa: E402 - tests/surrogates

from physapp.cli import main
from physapp.core import FixedTemperature, HeatSetup
from physapp.solvers.heat import solve_heat
from physapp.surrogates.dataset import Dataset
from physapp.surrogates.external import ImportRefused, import_folder, split_unit


def _by_coordinates(points, ref_points, values):
    order = np.lexsort(points[:, :2].T[::-1])
    ref = np.lexsort(ref_points[:, :2].T[::-1])
    np.testing.assert_allclose(points[order, :2], ref_points[ref, :2], atol=1e-12)
    out = np.empty_like(values)
    out[order] = values[ref]
    return out


def test_the_darcy_solutions_are_physical():
    """u > 0 inside, 0 on the boundary; a conductive plate has u near f/(8 k) at the centre."""
    mesh, k, u = darcy_sample(16, 1.0, seed=0)
    assert np.all(u >= -1e-12) and u.max() > 0
    # uniform k: the centre value of -lap u = 1/k on the unit square is 0.07367 / k
    uniform = HeatSetup("planar", 2.0, fixed=(FixedTemperature("boundary", 0.0),), source=1.0)
    sol = solve_heat(unit_square(32), uniform, order=2)
    centre = np.argmin(np.hypot(*(sol.out_mesh.points[:, :2] - 0.5).T))
    assert sol.fields["temperature"][centre] == pytest.approx(0.07367 / 2.0, rel=2e-3)


def test_folder_of_vtu_vtk_xdmf_msh_imports_as_mesh_samples(tmp_path):
    formats = ["vtu", "vtk", "xdmf", "msh", "vtu", "vtu"]
    written = write_darcy_folder(tmp_path / "runs", formats=formats)
    result = import_folder(tmp_path / "runs", inputs=["k"], outputs=["u"],
                           params=tmp_path / "runs" / "params.csv", isolate=False)
    assert result.problems == [] and result.files == [w["file"] for w in written]
    data = result.samples
    assert len(data) == 6 and data.param_names == ("source",)
    assert data.input_names == ("k",) and data.output_names == ("u",)
    assert data.units == {"k": "W/(m.K)", "u": "K", "source": "W/m^3"}
    assert sorted({s.mesh.n_points for s in data.samples}) == [81, 121, 169]
    for s, w in zip(data.samples, written, strict=True):
        assert s.params["source"] == w["source"] and s.name == w["file"]
        np.testing.assert_allclose(s.outputs["u"], _by_coordinates(s.mesh.points, w["points"],
                                                                   w["u"]), rtol=1e-6)
        np.testing.assert_allclose(s.inputs["k"], _by_coordinates(s.mesh.points, w["points"],
                                                                  w["k"]), rtol=1e-6)
    assert data.is_test.sum() == 1
    np.testing.assert_allclose(data.bounds, [[0.5, 1.75]])


def test_cli_import_writes_a_data_set_that_reads_back_and_pod_refuses(tmp_path, capsys):
    write_darcy_folder(tmp_path / "runs")
    out = tmp_path / "darcy.h5"
    code = main(["dataset", "import", str(tmp_path / "runs"), "--inputs", "k", "--outputs", "u",
                 "--params", str(tmp_path / "runs" / "params.csv"), "--out", str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "imported 6 file(s) (81-169 nodes)" in captured.out
    ds = Dataset.open(out)
    assert not ds.fixed_topology and ds.study_id == "import:runs"
    back = ds.mesh_samples()
    assert [s.name for s in back.samples] == [f"darcy_{i:02d}.vtu" for i in range(6)]
    assert back.input_names == ("k",) and back.units["source"] == "W/m^3"
    direct = import_folder(tmp_path / "runs", ["k"], ["u"], tmp_path / "runs" / "params.csv",
                           isolate=False).samples
    for a, b in zip(back.samples, direct.samples, strict=True):
        np.testing.assert_array_equal(a.outputs["u"], b.outputs["u"])
        np.testing.assert_array_equal(a.inputs["k"], b.inputs["k"])
        np.testing.assert_allclose(a.mesh.points, b.mesh.points)
    np.testing.assert_array_equal(back.is_test, direct.is_test)
    assert main(["train", str(out), "--model", "pod-gp", "--out", str(tmp_path / "m.pt")]) == 1
    err = capsys.readouterr().err
    assert "imported from result files" in err and "mesh-agnostic" in err


def _corrupt(folder):
    """Five good files and one of each kind of bad input."""
    written = write_darcy_folder(folder, sizes=(8,) * 10)
    mesh, k, u = darcy_sample(8, 1.0, seed=1)
    cells = [("triangle", mesh.cells[0].connectivity)]
    u_nan = u.copy()
    u_nan[3] = np.nan
    meshio.write(folder / "darcy_05.vtu", meshio.Mesh(mesh.points, cells,
                                                      point_data={"k[W/(m.K)]": k, "u[K]": u_nan}))
    meshio.write(folder / "darcy_06.vtu", meshio.Mesh(mesh.points, cells, point_data={"k[W/(m.K)]": k}))
    meshio.write(folder / "darcy_07.vtu", meshio.Mesh(mesh.points, cells,
                                                      point_data={"k[W/(m.K)]": k, "u[mK]": 1e3 * u}))
    (folder / "darcy_08.vtu").write_text("<VTKFile type='UnstructuredGrid'>\n<truncated")
    rows = (folder / "params.csv").read_text().splitlines()
    rows[10] = "darcy_09.vtu,abc"  # not a number
    rows.append("darcy_99.vtu,1.0")  # no such file
    (folder / "params.csv").write_text("\n".join(rows) + "\n")
    return written


def test_bad_files_are_each_named_with_their_problem_and_the_rest_imported(tmp_path):
    _corrupt(tmp_path / "runs")
    result = import_folder(tmp_path / "runs", ["k"], ["u"], tmp_path / "runs" / "params.csv",
                           isolate=False)
    assert result.files == [f"darcy_{i:02d}.vtu" for i in range(5)]
    problems = {p.file: p.problem for p in result.problems}
    assert set(problems) == {"darcy_05.vtu", "darcy_06.vtu", "darcy_07.vtu", "darcy_08.vtu",
                             "darcy_09.vtu", "darcy_99.vtu"}
    assert problems["darcy_05.vtu"] == "'u' has 1 NaN or infinite value(s)"
    assert problems["darcy_06.vtu"] == "no point array 'u' (output)"
    assert problems["darcy_07.vtu"] == "'u' is in mK where the other files give K (mixed units)"
    assert "not in a format it understands" in problems["darcy_08.vtu"]
    assert "not a finite number: source = 'abc'" in problems["darcy_09.vtu"]
    assert "no such result file" in problems["darcy_99.vtu"]
    with pytest.raises(ImportRefused) as refused:
        import_folder(tmp_path / "runs", ["k"], ["u"], tmp_path / "runs" / "params.csv",
                      strict=True, isolate=False)
    text = str(refused.value)
    assert text.startswith("Import refused: 6 problem(s) in 'runs'")
    assert "darcy_07.vtu: 'u' is in mK" in text and "darcy_06.vtu: no point array 'u'" in text


def test_cli_lists_the_problems_and_refuses_when_too_few_files_are_left(tmp_path, capsys):
    _corrupt(tmp_path / "runs")
    out = tmp_path / "d.h5"
    args = ["dataset", "import", str(tmp_path / "runs"), "--inputs", "k", "--outputs", "u",
            "--params", str(tmp_path / "runs" / "params.csv"), "-q", "--out", str(out)]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "imported 5 file(s)" in captured.out
    assert "physapp: warning: darcy_06.vtu: no point array 'u' (output)" in captured.err
    assert "Traceback" not in captured.err
    assert main([*args[:-2], "--out", str(tmp_path / "e.h5"), "--strict", "-q"]) == 1
    err = capsys.readouterr().err
    assert "Import refused: 6 problem(s)" in err and "darcy_05.vtu: 'u' has 1 NaN" in err
    assert not (tmp_path / "e.h5").exists()
    assert main([*args[:3], "--inputs", "k", "--outputs", "nope", "--out",
                 str(tmp_path / "f.h5"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "only 0 of 10 file(s) can be used" in err and "no point array 'nope'" in err


def _with_field_data(path, values: dict) -> None:
    """Add scalar field data to a VTU file (meshio reads it but does not write it)."""
    text = path.read_text()
    arrays = "".join(f'<DataArray type="Float64" Name="{k}" NumberOfTuples="1" '
                     f'format="ascii">{v!r}</DataArray>\n' for k, v in values.items())
    path.write_text(text.replace("<Piece", f"<FieldData>\n{arrays}</FieldData>\n<Piece", 1))


def test_parameters_from_each_files_field_data(tmp_path):
    folder = tmp_path / "runs"
    written = write_darcy_folder(folder, sizes=(8, 8, 10, 10))
    for i, w in enumerate(written):
        extra = {"source[W/m^3]": w["source"]}
        if i != 3:
            extra["seed"] = float(i)  # file 3 lacks it: inconsistent parameters
        _with_field_data(folder / w["file"], extra)
    result = import_folder(folder, ["k"], ["u"], params=["source", "seed"], isolate=False)
    assert result.files == [w["file"] for w in written[:3]]
    assert [str(p) for p in result.problems] == [
        "darcy_03.vtu: no parameter seed in its field data (inconsistent parameters)"]
    assert [s.params for s in result.samples.samples] == [
        {"source": w["source"], "seed": float(i)} for i, w in enumerate(written[:3])]
    assert result.samples.units["source"] == "W/m^3"
    # without --params: the scalars every file has
    auto = import_folder(folder, ["k"], ["u"], isolate=False)
    assert auto.samples.param_names == ("source",) and len(auto.samples) == 4


def test_split_unit():
    assert split_unit("T [K]") == ("T", "K") and split_unit("p(Pa)") == ("p", "Pa")
    assert split_unit("k[W/(m.K)]") == ("k", "W/(m.K)") and split_unit("u") == ("u", None)

"""PLAID data sets both ways (#19; pyplaid): export, import, and what cannot be read.

Oracles: a data set written as PLAID and read back has the same meshes, fields, parameters and
split; a PLAID sample with a NaN field is named with its problem; a backend that needs more of
pyplaid than is installed is refused with what to install.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("plaid")
pytest.importorskip("CGNS")

from darcy import write_darcy_folder  # noqa: E402 - tests/surrogates

from physapp.cli import main  # noqa: E402
from physapp.core.errors import PhysappError  # noqa: E402
from physapp.surrogates.dataset import Dataset  # noqa: E402
from physapp.surrogates.external import ImportRefused, import_folder  # noqa: E402
from physapp.surrogates.plaid_io import is_plaid_folder, read_plaid, write_plaid  # noqa: E402
from physapp.surrogates.samples import MeshSample, MeshSamples  # noqa: E402


def _by_source(data):
    return sorted(data.samples, key=lambda s: s.params["source"])


def test_darcy_set_goes_to_plaid_and_back_unchanged(tmp_path, capsys):
    write_darcy_folder(tmp_path / "runs", sizes=(8, 10, 12, 8, 10))
    h5 = tmp_path / "darcy.h5"
    assert main(["dataset", "import", str(tmp_path / "runs"), "--inputs", "k", "--outputs", "u",
                 "--params", str(tmp_path / "runs" / "params.csv"), "--out", str(h5), "-q"]) == 0
    assert main(["dataset", "export", str(h5), "--out", str(tmp_path / "plaid"), "-q"]) == 0
    assert "Wrote" in capsys.readouterr().out and is_plaid_folder(tmp_path / "plaid")
    assert sorted(p.name for p in (tmp_path / "plaid" / "data").iterdir()) == ["test", "train"]
    # the folder route recognises PLAID and reads names from its problem definition
    again = tmp_path / "again.h5"
    assert main(["dataset", "import", str(tmp_path / "plaid"), "--out", str(again), "-q"]) == 0
    original, back = Dataset.open(h5).mesh_samples(), Dataset.open(again).mesh_samples()
    assert back.param_names == ("source",) and back.input_names == ("k",)
    assert back.output_names == ("u",)
    assert back.is_test.sum() == original.is_test.sum() == 1
    for a, b in zip(_by_source(original), _by_source(back), strict=True):
        assert a.params == b.params
        np.testing.assert_allclose(b.mesh.points, a.mesh.points)
        np.testing.assert_array_equal(b.mesh.cells[0].connectivity, a.mesh.cells[0].connectivity)
        np.testing.assert_array_equal(b.outputs["u"], a.outputs["u"])
        np.testing.assert_array_equal(b.inputs["k"], a.inputs["k"])
    test_a = [s.params["source"] for s, t in zip(original.samples, original.is_test, strict=True) if t]
    test_b = [s.params["source"] for s, t in zip(back.samples, back.is_test, strict=True) if t]
    assert test_a == test_b


def _square(n):
    x, y = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    from physapp.core.mesh import CellBlock, MeshData

    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    tri = np.vstack([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    return MeshData(np.column_stack([x.ravel(), y.ravel()]), (CellBlock("triangle", tri),))


def test_vector_fields_key_quantities_and_bad_samples(tmp_path):
    samples = []
    for i in range(5):
        mesh = _square(3 + i)
        p = mesh.points
        disp = np.column_stack([p[:, 0] * i, -p[:, 1]])
        vm = np.hypot(p[:, 0], p[:, 1]) + i
        if i == 4:
            vm[2] = np.nan
        samples.append(MeshSample(mesh, {"load": float(i)}, {"displacement": disp,
                                                             "von_mises": vm},
                                  key_quantities={"peak": float(np.nanmax(vm))}, name=f"s{i}"))
    data = MeshSamples(samples, ("load",), ("displacement", "von_mises"),
                       is_test=np.array([0, 1, 0, 0, 0], bool))
    write_plaid(data, tmp_path / "p")
    back, problems = read_plaid(tmp_path / "p", isolate=False)
    assert problems == [("train/sample_000000003", "'von_mises' has 1 NaN or infinite value(s)")]
    assert back.output_names == ("displacement", "von_mises")
    by_load = {s.params["load"]: s for s in back.samples}
    assert sorted(by_load) == [0.0, 1.0, 2.0, 3.0]
    for i in range(4):
        np.testing.assert_array_equal(by_load[i].outputs["displacement"],
                                      samples[i].outputs["displacement"])
        assert by_load[i].key_quantities == {"peak": samples[i].key_quantities["peak"]}
    assert by_load[1.0].name.startswith("test/")
    with pytest.raises(ImportRefused, match="sample_000000003: 'von_mises' has 1 NaN"):
        import_folder(tmp_path / "p", strict=True, isolate=False)
    with pytest.raises(PhysappError, match="not empty"):
        write_plaid(data, tmp_path / "p")


def test_a_backend_needing_more_of_pyplaid_is_refused_with_what_to_install(tmp_path):
    try:
        import datasets  # noqa: F401
    except ImportError:
        pass
    else:  # bootstrap installs pyplaid without HuggingFace datasets, so CI runs this test; with
        # the full pyplaid the zarr backend is readable and there is no refusal to check
        pytest.skip("pyplaid's full installation is present")
    (tmp_path / "z" / "data" / "train").mkdir(parents=True)
    (tmp_path / "z" / "infos.yaml").write_text(
        "owner: x\nlicense: y\nnum_samples:\n  train: 1\nstorage_backend: zarr\n")
    with pytest.raises(PhysappError, match="'zarr' storage backend, which needs pyplaid's full"):
        import_folder(tmp_path / "z", outputs=["u"], isolate=False)

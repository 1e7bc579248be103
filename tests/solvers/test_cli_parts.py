"""``physapp solve PART --setup``, ``physapp info`` regions, ``physapp export --session`` of a part
and a sweep of a part's promoted load (the CLI entry points of issue #15)."""

import json
from pathlib import Path

import numpy as np
import pytest

from physapp.cli import main

MESHES = Path(__file__).parents[1] / "data" / "meshes"
COOK = {
    "material": "custom", "material_overrides": {"youngs_modulus": 1.0, "poissons_ratio": 1 / 3},
    "analysis": "plane_stress",
    "supports": [{"select": {"select": "plane", "point": [0, 0, 0], "normal": [1, 0, 0]},
                  "components": [0, 1]}],
    "loads": [{"kind": "force", "region": "right", "magnitude": 1.0, "direction": [0, 1, 0]}],
    "parameters": [{"name": "load", "target": "loads.0.magnitude", "lower": 0.5, "upper": 2.0,
                    "default": 1.0, "label": "Shear load", "unit": "N"}],
}


def _tip_v(path):
    import meshio

    m = meshio.read(path)
    i = int(np.argmin(np.hypot(m.points[:, 0] - 48, m.points[:, 1] - 52)))
    return float(m.point_data["displacement"][i, 1])


def test_solve_part_with_setup_and_promoted_load(tmp_path, capsys):
    setup = tmp_path / "cook.json"
    setup.write_text(json.dumps(COOK))
    out = tmp_path / "cook.vtu"
    code = main(["solve", str(MESHES / "cook_quad8.msh"), "--setup", str(setup), "--out",
                 str(out), "--set", "load=2", "--json", "-q"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["curved"] and summary["params"] == {"load": 2.0}
    assert "matched 12 facets in 1 piece" in summary["selections"][0]
    assert _tip_v(out) == pytest.approx(2 * 23.96, rel=0.01)  # Cook's membrane, twice the load


def test_part_without_setup_and_bad_setup_are_clear(tmp_path, capsys):
    out = str(tmp_path / "r.vtu")
    assert main(["solve", str(MESHES / "cook_quad8.msh"), "--out", out]) == 1
    assert "give its set-up with --setup" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**COOK, "loads": [{"kind": "pressure", "region": "membrane",
                                                  "value": 1.0}]}))
    assert main(["solve", str(MESHES / "cook_quad8.msh"), "--setup", str(bad), "--out", out]) == 1
    assert "applies to: edge" in capsys.readouterr().err


def test_info_lists_region_kind_size_centroid_normal(capsys):
    assert main(["info", str(MESHES / "cook_quad8.msh"), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["regions"]}
    assert rows["left"]["kind"] == "edge" and rows["left"]["size"] == pytest.approx(44.0)
    assert rows["left"]["normal"] == [-1.0, 0.0, 0.0]
    assert rows["membrane"]["kind"] == "subdomain"
    # the quadrilateral's area: shoelace of (0,0), (48,44), (48,60), (0,44)
    assert rows["membrane"]["size"] == pytest.approx(0.5 * (48 * 60 - 48 * 44 + 48 * 44), rel=1e-9)


def test_export_session_of_an_imported_part(tmp_path, capsys):
    from physapp.io.session import make_session, save_session

    session = make_session("part:cook_quad8", {"load": 1.0},
                           part={"file": str(MESHES / "cook_quad8.msh"), "setup": COOK})
    path = save_session(session, tmp_path / "cook.physapp")
    out = tmp_path / "cook.vtu"
    assert main(["export", "--session", str(path), "-o", str(out), "--json", "-q"]) == 0
    assert _tip_v(out) == pytest.approx(23.96, rel=0.01)


def test_sweep_of_a_part_samples_its_promoted_load(tmp_path, capsys):
    setup = tmp_path / "cook.json"
    setup.write_text(json.dumps(COOK))
    data = tmp_path / "cook.h5"
    code = main(["sweep", str(MESHES / "cook_quad8.msh"), "--setup", str(setup), "--samples", "4",
                 "--out", str(data), "--workers", "1", "--json", "-q"])
    summary = json.loads(capsys.readouterr().out)
    assert code == 0 and summary["done"] == 4 and summary["study"].startswith("part:")
    from physapp.surrogates.dataset import Dataset

    td = Dataset.open(data).training_data()
    pts = td.mesh.points
    i = int(np.argmin(np.hypot(pts[:, 0] - 48, pts[:, 1] - 52)))
    v = td.fields["displacement"][:, i, 1] / td.X[:, 0]
    # linear in the load: the tip deflection per unit load is the same in every sample, and
    # close to Cook's 23.96 (the sweep solves on straight linear cells at P2)
    np.testing.assert_allclose(v, v[0], rtol=1e-5)
    assert v[0] == pytest.approx(23.96, rel=0.01)


def test_part_surrogates_get_the_exact_load_scaling(tmp_path):
    from physapp.studies import get_study
    from physapp.surrogates.scaling import study_scaling

    setup = tmp_path / "cook.json"
    setup.write_text(json.dumps(COOK))
    sid = f"part:{(MESHES / 'cook_quad8.msh').resolve()}::{setup.resolve()}"
    spec = study_scaling(sid)
    assert spec["displacement"] == {"powers": {"load": 1.0}}
    assert spec["von_mises"]["abs"] and spec["sigma_[123]"] == {"powers": {"load": 1.0}}
    # the scaling is exact: fields divided by the load do not depend on it
    from physapp.solvers.reference import ReferenceSolver

    study = get_study(sid)
    r1, r2 = (ReferenceSolver(order=1, check_p1=False).solve(study, {"load": v})
              for v in (0.5, 2.0))
    for name in ("displacement", "sigma_xx", "von_mises"):
        np.testing.assert_allclose(r1.point_data[name] / 0.5, r2.point_data[name] / 2.0,
                                   rtol=1e-4, atol=1e-6 * np.abs(r2.point_data[name]).max())
    two = {**COOK, "loads": COOK["loads"] * 2}
    setup.write_text(json.dumps(two))
    assert study_scaling(sid) == {}  # two loads: not proportional to one of them


def test_a_part_with_a_free_body_is_an_input_error(tmp_path, capsys):
    """Two separate squares, the support on the first, the load on the second: the message names
    the free body and the exit status is 1 (the set-up to fix), not 3 (a solver failure)."""
    import meshio

    n = 5
    xs, ys = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    square = np.column_stack([xs.ravel(), ys.ravel(), np.zeros(n * n)])
    k = np.arange(n * n).reshape(n, n)[:-1, :-1].ravel()
    tris = np.vstack([np.column_stack([k, k + 1, k + n + 1]), np.column_stack([k, k + n + 1, k + n])])
    points = np.vstack([square, square + [2.0, 0.0, 0.0]])
    meshio.write(tmp_path / "two.vtu", meshio.Mesh(points, [("triangle", np.vstack(
        [tris, tris + n * n]))]))
    setup = {**COOK, "parameters": [],
             "loads": [{"kind": "force", "magnitude": 1.0, "direction": [1, 0, 0],
                        "select": {"select": "plane", "point": [3, 0, 0], "normal": [1, 0, 0]}}]}
    (tmp_path / "two.json").write_text(json.dumps(setup))
    code = main(["solve", str(tmp_path / "two.vtu"), "--setup", str(tmp_path / "two.json"),
                 "--out", str(tmp_path / "r.vtu"), "-q", "--unit", "m"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "2 separate bodies" in err and "body 2 of 2" in err and "solver failed" not in err

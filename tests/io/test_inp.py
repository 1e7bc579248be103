"""CalculiX / Abaqus decks as complete set-ups: a tet10 cantilever against beam theory and, where
``ccx`` is installed, against CalculiX itself; unsupported keywords are reported."""

import shutil
import subprocess

import numpy as np
import pytest

from physapp.io.inp import read_inp
from physapp.solvers.reference import ReferenceSolver
from physapp.studies.imported import load_part_study

L, B, H, E, NU, P = 10.0, 1.0, 1.0, 210e9, 0.3, -1.0e5


def _beam_mesh():
    import gmsh

    from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

    with gmsh_model("beam"):
        gmsh.model.occ.addBox(0, 0, 0, L, B, H)
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.3)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.setOrder(2)
        return extract_mesh(3)


def _lines(ids, per=8):
    return "\n".join(", ".join(str(i) for i in ids[k:k + per]) for k in range(0, len(ids), per))


def write_cantilever_deck(path, extra=""):
    """A CalculiX deck: tet10 beam clamped at x = 0, total load P in z shared by the tip nodes."""
    mesh = _beam_mesh()
    p = mesh.points
    conn = mesh.cells[0].connectivity + 1
    fix = np.flatnonzero(np.isclose(p[:, 0], 0.0)) + 1
    tip = np.flatnonzero(np.isclose(p[:, 0], L)) + 1
    nodes = "\n".join(f"{i + 1}, {x:.17g}, {y:.17g}, {z:.17g}" for i, (x, y, z) in enumerate(p))
    elems = "\n".join(f"{k + 1}, " + ", ".join(str(v) for v in row) for k, row in enumerate(conn))
    text = f"""** cantilever, tet10
*NODE, NSET=NALL
{nodes}
*ELEMENT, TYPE=C3D10, ELSET=EALL
{elems}
*NSET, NSET=FIX
{_lines(list(fix))}
*NSET, NSET=TIP
{_lines(list(tip))}
*MATERIAL, NAME=STEEL
*ELASTIC
{E:.17g}, {NU}
*DENSITY
7850.
*SOLID SECTION, ELSET=EALL, MATERIAL=STEEL
{extra}*STEP
*STATIC
*BOUNDARY
FIX, 1, 3
*CLOAD
TIP, 3, {P / len(tip):.17g}
*NODE PRINT, NSET=TIP
U
*END STEP
"""
    path.write_text(text)
    return path, tip - 1


def _tip_deflection(path, tip):
    study = load_part_study(path)
    res = ReferenceSolver(order=2).solve(study, {})
    # the output keeps the input's corner nodes first; compare at the tip's corner nodes
    pts = res.mesh.points
    tip_pts = np.isclose(pts[:, 0], L)
    return float(res.point_data["displacement"][tip_pts, 2].mean()), study


def test_tet10_cantilever_deck_matches_beam_theory(tmp_path):
    path, tip = write_cantilever_deck(tmp_path / "beam.inp")
    w, study = _tip_deflection(path, tip)
    assert study.deck_report.physics == "elasticity" and study.deck_report.elements == {
        "tetra10": study.mesh.cells[0].connectivity.shape[0]}
    inertia, area, shear = B * H**3 / 12, B * H, E / (2 * (1 + NU))
    timoshenko = P * L**3 / (3 * E * inertia) + P * L / (5 / 6 * shear * area)
    assert w == pytest.approx(timoshenko, rel=0.01)


@pytest.mark.skipif(shutil.which("ccx") is None,
                    reason="CalculiX (ccx) is not installed (Debian: apt-get install calculix-ccx)")
def test_tet10_cantilever_deck_matches_calculix(tmp_path):
    path, tip = write_cantilever_deck(tmp_path / "beam.inp")
    subprocess.run(["ccx", "-i", "beam"], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120, env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    rows = []
    lines = (tmp_path / "beam.dat").read_text().splitlines()
    start = next(i for i, t in enumerate(lines) if "displacements" in t)
    for t in lines[start + 1:]:
        parts = t.split()
        if len(parts) == 4:
            rows.append([float(v) for v in parts])
    ccx = np.asarray(rows)
    study = load_part_study(path)
    res = ReferenceSolver(order=2).solve(study, {})
    # the same nodes: physapp's output keeps the deck's node coordinates
    out = res.mesh.points
    for node, _ux, _uy, uz in ccx[:5]:
        x = study.mesh.points[int(node) - 1]
        k = int(np.argmin(np.linalg.norm(out - x, axis=1)))
        assert np.linalg.norm(out[k] - x) < 1e-9
        assert res.point_data["displacement"][k, 2] == pytest.approx(uz, rel=1e-3)
    mean_ccx = ccx[:, 3].mean()
    tip_nodes = np.array([int(np.argmin(np.linalg.norm(out - study.mesh.points[int(n) - 1], axis=1)))
                          for n in ccx[:, 0]])
    assert res.point_data["displacement"][tip_nodes, 2].mean() == pytest.approx(mean_ccx, rel=1e-3)


def test_unsupported_keywords_are_listed(tmp_path):
    path, _ = write_cantilever_deck(tmp_path / "beam.inp",
                                    extra="*AMPLITUDE, NAME=A1\n0., 0., 1., 1.\n*ORIENTATION, "
                                          "NAME=OR1\n1., 0., 0., 0., 1., 0.\n")
    mesh, setup, report = read_inp(path)
    assert set(report.unsupported) == {"AMPLITUDE", "ORIENTATION"}
    assert "unsupported keywords (not applied): *AMPLITUDE (line" in report.text()
    assert any("NODE PRINT" in i for i in report.ignored)
    assert setup["material_overrides"] == {"youngs_modulus": E, "poissons_ratio": NU,
                                           "density": 7850.0}
    assert setup["supports"] == [{"region": "FIX", "components": [0, 1, 2]}]
    assert setup["loads"][0]["kind"] == "force" and setup["loads"][0]["vector"][2] == \
        pytest.approx(P)

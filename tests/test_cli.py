"""The headless command line, run as a user would (a real subprocess)."""

import json
import subprocess
import sys

import meshio
import numpy as np


def physapp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "physapp", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_solve_writes_vtu_with_all_fields(tmp_path):
    out = tmp_path / "result.vtu"
    proc = physapp("solve", "plate-with-hole", "--set", "radius=0.01", "--set", "traction=1e6",
                   "--out", str(out), "--json", "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    mesh = meshio.read(out)
    assert mesh.points.shape[0] == summary["n_points"]
    assert set(mesh.point_data) == {"displacement", "sigma_xx", "sigma_yy", "tau_xy", "von_mises",
                                    "sigma_1", "sigma_2", "strain"}
    assert mesh.point_data["displacement"].shape == (mesh.points.shape[0], 3)
    assert "triangle6" in mesh.cells_dict
    # far from a small hole the plate carries the applied traction
    far = mesh.points[:, 0] > 0.15
    assert abs(np.median(mesh.point_data["sigma_xx"][far]) / 1e6 - 1) < 0.02
    assert not list(tmp_path.glob(".result-*")), "temporary file left behind"


def test_help_and_studies():
    top = physapp("--help")
    assert top.returncode == 0 and "solve" in top.stdout and "studies" in top.stdout
    sub = physapp("solve", "--help")
    assert sub.returncode == 0 and "--set" in sub.stdout and "--out" in sub.stdout
    listing = physapp("studies")
    assert listing.returncode == 0
    assert "plate-with-hole" in listing.stdout and "radius" in listing.stdout
    js = json.loads(physapp("studies", "--json").stdout)
    assert {p["name"] for p in js[0]["parameters"]} >= {"radius", "width", "length", "traction",
                                                        "youngs_modulus", "poissons_ratio",
                                                        "mesh_size"}


def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path):
    cases = [
        (["solve", "no-such-study", "--out", "x.vtu"], "Unknown study 'no-such-study'"),
        (["solve", "plate-with-hole", "--set", "colour=3", "--out", "x.vtu"], "Unknown parameter"),
        (["solve", "plate-with-hole", "--set", "radius=5", "--out", "x.vtu"], "outside its range"),
        (["solve", "plate-with-hole", "--set", "radius=0.07", "--set", "width=0.1", "--out",
          "x.vtu"], "does not fit"),
        (["solve", "plate-with-hole", "--set", "radius=abc", "--out", "x.vtu"], "not a number"),
        (["solve", "plate-with-hole", "--out", "x.docx"], "unknown extension"),
        (["solve", "plate-with-hole", "--out", "missing/dir/x.vtu"], "does not exist"),
    ]
    for args, message in cases:
        proc = physapp(*args, "-q", cwd=tmp_path)
        assert proc.returncode == 1, (args, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert physapp("frobnicate").returncode == 2

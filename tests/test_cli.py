"""The headless command line, run as a user would (a real subprocess); checks that repeat one
command with other arguments run ``physapp.cli.main`` in this process (the same code without a
Python start each), a real subprocess keeping each exit status and the JSON on stdout."""

import json
import os
import subprocess
import sys

import meshio
import numpy as np


def physapp(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "physapp", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def in_process(capsys, *args):
    """``physapp ARGS`` run by ``main()`` in this process: (exit status, stdout, stderr)."""
    from physapp.cli import main

    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


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


def test_help_and_studies(capsys):
    code, out, _ = in_process(capsys, "--help")
    assert code == 0 and "solve" in out and "studies" in out
    code, out, _ = in_process(capsys, "solve", "--help")
    assert code == 0 and "--set" in out and "--out" in out
    code, out, _ = in_process(capsys, "studies")
    assert code == 0
    assert "plate-with-hole" in out and "radius" in out
    js = json.loads(physapp("studies", "--json").stdout)["studies"]  # real stdout
    assert {p["name"] for p in js[0]["parameters"]} >= {"radius", "width", "length", "traction",
                                                        "youngs_modulus", "poissons_ratio",
                                                        "mesh_size"}


def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path, capsys, monkeypatch):
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
    monkeypatch.chdir(tmp_path)
    for i, (args, message) in enumerate(cases):
        if i == 0:  # a real process: its exit status and its stderr
            proc = physapp(*args, "-q", cwd=tmp_path)
            code, err = proc.returncode, proc.stderr
        else:
            code, _, err = in_process(capsys, *args, "-q")
        assert code == 1, (args, err)
        assert message in err, (args, err)
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
    assert physapp("frobnicate").returncode == 2


# -- automation: --json everywhere, exit codes ----------------------------------------------------
def _json(proc):
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)  # the whole of stdout is one JSON object
    assert isinstance(obj, dict)
    return obj


def test_every_command_has_help_and_the_exit_codes_are_documented(capsys):
    top = physapp("--help")
    assert top.returncode == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "70 ", "130 "):
        assert f"\n  {code}" in top.stdout
    for cmd in ("solve", "studies", "sweep", "train", "predict", "info", "plugins", "export"):
        code, out, _ = in_process(capsys, cmd, "--help")
        assert code == 0 and "usage: physapp" in out, cmd
        if cmd != "info":
            assert "--json" in out, cmd
    assert "--ddp" in in_process(capsys, "train", "--help")[1]


def test_json_output_of_sweep_train_predict_export_studies_plugins(tmp_path, capsys):
    # the export needs nothing of the others: it runs beside them
    exporting = subprocess.Popen(
        [sys.executable, "-m", "physapp", "export", "--study", "thick-cylinder", "--set",
         "mesh_size=0.02", "--order", "1", "-o", str(tmp_path / "e.vtu"), "--json", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    data = tmp_path / "cyl.h5"
    sweep = _json(physapp("sweep", "thick-cylinder", "--samples", "8", "--vary",
                          "pressure,youngs_modulus", "--order", "1", "--workers", "1", "--out",
                          str(data), "--json"))
    assert sweep["done"] == 8 and sweep["failed"] == 0 and sweep["n_test"] == 2
    assert sweep["output"] == str(data) and sweep["study"] == "thick-cylinder"
    model = tmp_path / "m.pt"
    train = _json(physapp("train", str(data), "--model", "pod-gp", "--epochs", "30", "--out",
                          str(model), "--json", "-q"))
    m = train["pod-gp"]["metrics"]
    assert train["pod-gp"]["file"] == str(model) and m["n_train"] == 6 and m["n_test"] == 2
    # linear elasticity: stresses ~ pressure, displacements ~ pressure / E; the model learns the
    # scaled fields, so the held-out error is that of float32 storage
    assert m["fields"]["sigma_hoop"]["rel_l2"] < 1e-4 and m["fields"]["displacement"]["rel_l2"] < 1e-4
    pred = _json(physapp("predict", str(model), "--set", "pressure=5e7", "--out",
                         str(tmp_path / "p.vtu"), "--json"))
    assert pred["model"] == "pod-gp" and pred["out_of_range"] == [] and pred["n_points"] > 10
    # studies and plugins: main() here (test_help_and_studies runs studies --json for real)
    code, out, err = in_process(capsys, "studies", "--json")
    assert code == 0, err
    studies = json.loads(out)["studies"]
    assert "thick-cylinder" in [s["id"] for s in studies]
    code, out, err = in_process(capsys, "plugins", "--json")
    assert code == 0, err
    plugins = json.loads(out)["plugins"]
    builtin = next(p for p in plugins if p["name"] == "physapp")
    assert "surrogates:pod-gp" in builtin["contributions"]
    stdout, stderr = exporting.communicate(timeout=120)
    export = _json(subprocess.CompletedProcess(exporting.args, exporting.returncode, stdout,
                                               stderr))
    assert (tmp_path / "e.vtu").is_file() and export


FLOATING = '''
from dataclasses import replace

from physapp.studies.thick_cylinder import ThickCylinderStudy


class Floating(ThickCylinderStudy):
    """The cylinder with its supports removed: the stiffness matrix is singular."""

    def setup(self, params):
        return replace(super().setup(params), supports=())
'''


def test_exit_codes_usage_input_solver_and_json_errors(tmp_path):
    assert physapp("solve", "--bogus").returncode == 2  # argparse: usage
    assert physapp("solve", "plate-with-hole").returncode == 2  # --out missing
    bad = physapp("solve", "plate-with-hole", "--set", "radius=abc", "--out", "x.vtu", "--json",
                  cwd=tmp_path)
    assert bad.returncode == 1
    assert json.loads(bad.stdout) == {"error": "--set radius: 'abc' is not a number.",
                                      "exit_code": 1}
    # a study whose supports let it float: the solver refuses (exit status 3)
    plugin = tmp_path / "plugins" / "floaty"
    (plugin / "floaty").mkdir(parents=True)
    (plugin / "floaty" / "__init__.py").write_text("")
    (plugin / "floaty" / "study.py").write_text(FLOATING)
    (plugin / "plugin.toml").write_text('[plugin]\nname = "floaty"\napi = 1\n[[studies]]\n'
                                        'id = "cylinder"\nentry = "floaty.study:Floating"\n')
    env = {**os.environ, "PHYSAPP_PLUGIN_PATH": str(tmp_path / "plugins")}
    proc = subprocess.run([sys.executable, "-m", "physapp", "solve", "floaty/cylinder", "--out",
                           str(tmp_path / "f.vtu"), "--order", "1", "--json", "-q"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 3, proc.stderr
    err = json.loads(proc.stdout)
    assert err["exit_code"] == 3 and "singular" in err["error"].lower()
    assert proc.stderr.startswith("physapp: solver failed:") and "Traceback" not in proc.stderr

"""Plugin manifests are validated on discovery; failing overrides fall back to the built-in (#14)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from physapp.plugins import discover, refresh, validate_manifest

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data" / "meshes"

BAD = {
    "string_head": ('plugin = "a string"\n', "[plugin] must be a table"),
    "studies_int": ('studies = 5\n[plugin]\nname = "studies_int"\n',
                    "studies must be an array of tables"),
    "api_bool": ('[plugin]\nname = "api_bool"\napi = true\n', "api must be an integer"),
    "no_entry": ('[plugin]\nname = "no_entry"\n[[studies]]\nid = "x"\n', "has no entry"),
    "bad_entry": ('[plugin]\nname = "bad_entry"\n[[surrogates]]\nid = "m"\nentry = "a b:c"\n',
                  "entry must be"),
    "ext_nodot": ('[plugin]\nname = "ext_nodot"\n[[readers]]\nextensions = ["foo"]\n'
                  'entry = "m:r"\n', "extensions"),
    "unknown": ('[plugin]\nname = "unknown"\n[[widgets]]\nid = "w"\n', "unknown section"),
    "nested": ('[plugin]\nname = "nested"\n[[models]]\nstudy = 3\nfile = "a.pt"\n',
               "study must be a string"),
}


def _write(root: Path, folder: str, text: str) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / "plugin.toml").write_text(text)


def test_every_bad_manifest_is_listed_with_its_error_and_skipped(tmp_path):
    for name, (text, _) in BAD.items():
        _write(tmp_path, name, text)
    infos = {i.path: i for i in discover([tmp_path], entry_points=False, user_dir=False)}
    for name, (_, message) in BAD.items():
        info = infos[str(tmp_path / name)]
        assert message in info.error, (name, info.error)
        assert not info.contributions
    # the shipped manifests are valid
    import tomllib

    for manifest in [ROOT / "physapp" / "plugins" / "builtin.toml",
                     *ROOT.glob("plugins/*/plugin.toml"),
                     *ROOT.glob("tests/data/plugins/*/plugin.toml")]:
        assert validate_manifest(tomllib.loads(manifest.read_text())) == "", manifest


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "physapp", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT),
                                                       **env})


def test_plugins_and_studies_still_work_with_bad_manifests(tmp_path):
    for name, (text, _) in BAD.items():
        _write(tmp_path, name, text)
    env = {"PHYSAPP_PLUGIN_PATH": str(tmp_path)}
    r = _cli("plugins", "--json", env=env)
    assert r.returncode == 0, r.stderr
    rows = {row["path"]: row for row in json.loads(r.stdout)["plugins"]}
    assert all(rows[str(tmp_path / n)]["error"] for n in BAD)
    assert any(row["name"] == "pressure_vessel" and not row["error"] for row in rows.values())
    r = _cli("studies", "--json", env=env)
    assert r.returncode == 0, r.stderr
    ids = {s["id"] for s in json.loads(r.stdout)["studies"]}
    assert {"plate-with-hole", "pressure_vessel/vessel"} <= ids


def _override_plugin(root: Path, body: str, kind: str = "readers") -> None:
    pkg = root / "over" / "over"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "code.py").write_text(body)
    section = ('[[readers]]\nextensions = [".msh"]\nentry = "over.code:read"\noverride = true\n'
               if kind == "readers" else
               '[[solvers]]\nid = "axi"\nentry = "over.code:solve"\nsetup = "ElasticSetup"\n'
               'dim = 2\noverride = true\n')
    (root / "over" / "plugin.toml").write_text(
        f'[plugin]\nname = "over"\nversion = "1"\napi = 1\n{section}')


@pytest.mark.parametrize("body", [
    "import no_such_module_xyz\n",
    "def read(path):\n    raise RuntimeError('disk on fire')\n",
    "def read(path):\n    return 42\n",
])
def test_failing_override_reader_falls_back_to_builtin(tmp_path, monkeypatch, body):
    from physapp.io.readers import read_mesh

    _override_plugin(tmp_path, body)
    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(tmp_path))
    refresh()
    try:
        reference, _ = read_mesh(DATA / "box.msh", isolate=False)
        assert reference.cell_counts() == {"tetra": 1105}
        mesh, report = read_mesh(DATA / "box.msh")  # isolated: the child discovers the plugin
        assert mesh.cell_counts() == {"tetra": 1105}
        assert any("plugin 'over' failed" in n and "built-in reader" in n for n in report.notes)
    finally:
        monkeypatch.delenv("PHYSAPP_PLUGIN_PATH")
        refresh()


def test_failing_override_solver_falls_back_to_builtin(tmp_path, monkeypatch, capsys):
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("thick-cylinder")
    expected = ReferenceSolver(order=1).solve(study, {"mesh_size": 0.02})
    _override_plugin(tmp_path, "def solve(*a, **k):\n    raise ZeroDivisionError('oops')\n",
                     kind="solvers")
    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(tmp_path))
    refresh()
    try:
        got = ReferenceSolver(order=1).solve(study, {"mesh_size": 0.02})
    finally:
        monkeypatch.delenv("PHYSAPP_PLUGIN_PATH")
        refresh()
    for name, values in expected.point_data.items():
        np.testing.assert_allclose(got.point_data[name], values, rtol=1e-8, atol=1e-12)
    assert "built-in solver" in capsys.readouterr().err

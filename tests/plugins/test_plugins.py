"""Plugin discovery without importing code, the shipped example plugin, and broken plugins."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from physapp.plugins import PluginError, discover, read_manifest


def _plugin(root, name, manifest, code=None):
    folder = root / name
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("")
    (folder / "plugin.toml").write_text(textwrap.dedent(manifest))
    if code is not None:
        (folder / name / "study.py").write_text(textwrap.dedent(code))
    return folder


GOOD = """
    [plugin]
    name = "{name}"
    version = "0.1"
    api = 1
    [[studies]]
    id = "vessel"
    entry = "{entry}"
"""


def test_discovery_reads_manifests_without_importing_code():
    script = ("import sys; from physapp.plugins import discover; "
              "infos = discover(user_dir=False); "
              "print([i.name for i in infos], 'pressure_vessel.study' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "pressure_vessel" in out.stdout and out.stdout.strip().endswith("False")


def test_example_plugin_study_matches_lame_closed_cylinder():
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("pressure_vessel/vessel")
    res = ReferenceSolver(order=2).solve(study, {})
    p = res.mesh.points
    R, Ro, pr = 0.5, 0.53, 2e6
    bore = (np.abs(p[:, 0] - R) < 1e-9) & (p[:, 1] < 0.5)
    hoop = pr * (Ro**2 + R**2) / (Ro**2 - R**2)
    axial = pr * R**2 / (Ro**2 - R**2)
    assert res.point_data["sigma_hoop"][bore].mean() == pytest.approx(hoop, rel=0.01)
    assert res.point_data["sigma_zz"][bore].mean() == pytest.approx(axial, rel=0.01)
    # the head carries the whole end load: reaction on the symmetry plane = p R^2 / 2 per radian
    assert res.meta["reactions"]["symmetry"][1] == pytest.approx(-pr * R**2 / 2, rel=1e-6)


def test_broken_plugins_are_reported_and_others_work(tmp_path):
    _plugin(tmp_path, "badtoml", "[plugin\nname = 'x'")
    _plugin(tmp_path, "future", "[plugin]\nname = 'future'\napi = 99\n")
    _plugin(tmp_path, "noentry", "[plugin]\nname = 'noentry'\n[[studies]]\nid = 'a'\n")
    _plugin(tmp_path, "crashy", GOOD.format(name="crashy", entry="crashy.study:Nope"),
            code="raise RuntimeError('boom at import')\n")
    _plugin(tmp_path, "dupe", GOOD.format(name="pressure_vessel", entry="dupe.study:X"))
    infos = {i.path.split(os.sep)[-1]: i for i in discover([tmp_path], entry_points=False,
                                                           user_dir=False)}
    assert "cannot be read" in infos["badtoml"].error
    assert "API 99" in infos["future"].error
    assert "no entry" in infos["noentry"].error
    assert "another plugin named 'pressure_vessel'" in infos["dupe"].error
    assert infos["crashy"].ok  # the manifest is fine; the code fails only when used
    with pytest.raises(PluginError, match="crashy.*boom at import"):
        infos["crashy"].contributions[0].load()
    assert infos["pressure_vessel"].ok
    # the CLI keeps working, lists the good studies and reports the broken plugin
    env = {**os.environ, "PHYSAPP_PLUGIN_PATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "physapp", "plugins", "--json"], env=env,
                         capture_output=True, text=True, check=True)
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert "boom at import" in rows["crashy"]["error"]
    studies = subprocess.run([sys.executable, "-m", "physapp", "studies", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    ids = [s["id"] for s in json.loads(studies.stdout)]
    assert "pressure_vessel/vessel" in ids and "plate-with-hole" in ids
    assert not any(i.startswith("crashy") for i in ids)


def test_manifest_contributions(tmp_path):
    folder = _plugin(tmp_path, "demo", GOOD.format(name="demo", entry="demo.study:S"))
    info = read_manifest(folder / "plugin.toml")
    assert info.ok and [c.id for c in info.contributions] == ["demo/vessel"]

"""The flow studies: benchmarks at their defaults, bounds, bad input and the headless CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from physapp.core import ParameterError
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study

ROOT = Path(__file__).resolve().parents[2]


def test_cavity_default_is_ghia_re100():
    res = ReferenceSolver().solve(get_study("lid-driven-cavity"), {})
    kq = res.meta["key_quantities"]
    # Ghia, Ghia & Shin (1982), Re = 100: (0.6172, 0.7344), psi = -0.103423, omega = 3.16646
    assert kq["vortex_x"] == pytest.approx(0.6172, rel=0.02)
    assert kq["vortex_y"] == pytest.approx(0.7344, rel=0.02)
    assert kq["vortex_psi"] == pytest.approx(-0.103423, rel=0.03)
    assert abs(kq["vortex_vorticity"]) == pytest.approx(3.16646, rel=0.05)
    assert res.units["velocity"] == "m/s" and res.units["pressure"] == "Pa"


def test_cavity_scales_with_the_lid_speed_at_fixed_reynolds():
    study = get_study("lid-driven-cavity")
    slow = ReferenceSolver().solve(study, {"lid_speed": 0.5, "mesh_size": 0.08})
    fast = ReferenceSolver().solve(study, {"lid_speed": 2.0, "mesh_size": 0.08})
    np.testing.assert_allclose(fast.point_data["velocity"], 4 * slow.point_data["velocity"],
                               atol=1e-5)
    np.testing.assert_allclose(fast.point_data["pressure"], 16 * slow.point_data["pressure"],
                               atol=1e-4 * np.abs(fast.point_data["pressure"]).max())


def test_cylinder_default_is_dfg_2d1_and_reynolds_is_bounded():
    study = get_study("cylinder-in-channel")
    kq = ReferenceSolver().solve(study, {}).meta["key_quantities"]
    assert kq["reynolds"] == pytest.approx(20.0)
    assert kq["cd"] == pytest.approx(5.57954, rel=0.01)
    assert kq["pressure_drop"] == pytest.approx(0.117520, rel=0.02)
    assert kq["recirculation_length"] == pytest.approx(0.0845, rel=0.03)
    study.check({"mean_speed": 0.3, "diameter": 0.14, "y_position": 0.2})  # Re = 42: fine
    with pytest.raises(ParameterError, match=r"Re = U D / nu = 56 is above 45"):
        study.check({"mean_speed": 0.4, "diameter": 0.14})


def test_airfoil_potential_and_navier_stokes():
    study = get_study("airfoil")
    pot = ReferenceSolver().solve(study, {"camber": 0.0, "alpha": 4.0, "mesh_size": 0.03})
    kq = pot.meta["key_quantities"]
    # NACA 0012 at 4 deg, inviscid: cl = 0.48 (2 pi (1 + 0.77 t) alpha)
    assert kq["cl"] == pytest.approx(2 * np.pi * 1.0924 * np.radians(4.0), rel=0.03)
    cp = pot.meta["curves"]["cp"]
    up, lo = np.array(cp["upper"]), np.array(cp["lower"])
    assert up[0, 0] == pytest.approx(0.0, abs=1e-9) and up[-1, 0] == pytest.approx(1.0)
    assert up[:, 1].mean() < lo[:, 1].mean()  # suction on the upper surface
    assert not pot.meta["warnings"]
    # what a surrogate computes from its velocity (Bernoulli) is the solver's own pressure and
    # Cp; a first-order std follows from the velocity's
    fields = {k: pot.point_data[k][None] for k in ("velocity", "pressure", "pressure_coefficient")}
    fields["velocity_std"] = np.full_like(fields["velocity"], 0.01)
    fields["pressure_std"] = np.zeros_like(fields["pressure"])
    rows = [{**study.spec.defaults(), "camber": 0.0, "alpha": 4.0}]
    dep = study.dependent_fields(fields, rows)
    for name in ("pressure", "pressure_coefficient"):
        ref = pot.point_data[name]
        assert np.max(np.abs(dep[name][0] - ref)) < 1e-5 * np.max(np.abs(ref)), name
    speed = np.linalg.norm(pot.point_data["velocity"][:, :2], axis=1)
    # rho/2 * 2 |u| * 0.01 with rho = U = 1: std 1 % of the speed
    assert dep["pressure_std"][0] == pytest.approx(0.01 * speed, rel=1e-4, abs=1e-9)
    visc = ReferenceSolver().solve(study, {"camber": 0.0, "alpha": 4.0, "model": "navier-stokes",
                                           "reynolds": 200.0, "mesh_size": 0.03})
    assert study.dependent_fields({"velocity": visc.point_data["velocity"][None]},
                                  [{**rows[0], "model": 1}]) == {}
    kv = visc.meta["key_quantities"]
    # at Re = 200 viscous drag dominates and lift falls well below the inviscid value
    assert kv["reynolds"] == pytest.approx(200.0)
    assert 0.05 < kv["cl"] < kq["cl"] and kv["cd"] > 0.1


def test_airfoil_bad_input():
    study = get_study("airfoil")
    with pytest.raises(ParameterError, match="intersects itself"):
        study.check({"camber": 0.095, "camber_position": 0.03, "thickness": 0.2})
    with pytest.raises(ParameterError, match="not one of: potential"):
        study.check({"model": "euler"})
    res = ReferenceSolver().solve(study, {"alpha": 12.0, "mesh_size": 0.03})
    assert any("separates" in w for w in res.meta["warnings"])


def test_cli_solves_the_airfoil_headless(tmp_path):
    out = tmp_path / "a.vtu"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "physapp", "solve", "airfoil", "--set",
                           "alpha=4", "--set", "model=potential", "--out", str(out), "--json",
                           "--quiet"], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["params"]["model"] == 0 and out.exists()
    assert summary["key_quantities"]["cl"] == pytest.approx(0.73, rel=0.05)  # NACA 2412, 4 deg
    upper = np.array(summary["curves"]["cp"]["upper"])
    assert upper.shape[1] == 2 and upper[:, 1].min() < -1.0  # the suction peak

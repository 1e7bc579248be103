"""Transient Navier-Stokes (BDF2, Taylor-Hood P2/P1) against exact solutions and the steady
solver; the DFG 2D-2 benchmark itself is in benchmarks/karman.py (minutes, not seconds)."""

import math

import numpy as np
import pytest

from physapp.core.flow_setup import NavierStokesSetup, TransientFlowSetup, VelocityBC
from physapp.core.progress import CancelToken
from physapp.geometry.flow_domains import mesh_channel_cylinder
from physapp.geometry.shapes2d import mesh_rectangle
from physapp.solvers.flow import solve_navier_stokes
from physapp.solvers.flow_transient import periodic_stats, solve_transient_navier_stokes

NU_TG = 0.5


def _taylor_green(x, y, t):
    """The decaying Taylor-Green vortex, an exact Navier-Stokes solution (convection balanced
    by the pressure gradient): u = (-cos x sin y, sin x cos y) exp(-2 nu t)."""
    g = np.exp(-2.0 * NU_TG * t)
    return -np.cos(x) * np.sin(y) * g, np.sin(x) * np.cos(y) * g


@pytest.fixture(scope="module")
def tg_mesh():
    return mesh_rectangle(0.0, 0.0, math.pi, math.pi, math.pi / 8)


def _tg_solve(mesh, dt, t_end=0.8):
    flow = NavierStokesSetup(nu=NU_TG, walls=("left", "right", "bottom", "top"))
    setup = TransientFlowSetup(flow, t_end=t_end, dt=dt, frame_interval=t_end)
    return solve_transient_navier_stokes(mesh, setup, order=2,
                                         initial=lambda x, y: _taylor_green(x, y, 0.0),
                                         boundary=_taylor_green)


def test_taylor_green_decay_matches_the_exact_solution(tg_mesh):
    h = _tg_solve(tg_mesh, 0.025)
    assert h.complete and h.n_steps == 2 and h.times[-1] == pytest.approx(0.8)
    x, y = h.mesh.points[:, 0], h.mesh.points[:, 1]
    u = np.asarray(h.point_data["velocity"][-1], dtype=float)
    ue = np.column_stack(_taylor_green(x, y, 0.8))
    assert np.abs(u[:, :2] - ue).max() < 1e-3 * np.abs(ue).max()
    # p = -(cos 2x + cos 2y) / 4 exp(-4 nu t), up to a constant (the box is enclosed); P1 on
    # a coarse mesh: 2 % r.m.s.
    p = np.asarray(h.point_data["pressure"][-1], dtype=float)
    pe = -(np.cos(2 * x) + np.cos(2 * y)) / 4 * np.exp(-4 * NU_TG * 0.8)
    err = (p - p.mean()) - (pe - pe.mean())
    assert np.sqrt(np.mean(err**2)) < 0.02 * np.abs(pe).max()
    # the kinetic energy decays as exp(-4 nu t): E(0) = pi^2 / 4 on [0, pi]^2
    ke = h.curves["kinetic_energy"]
    assert ke[0] == pytest.approx(math.pi**2 / 4, rel=1e-3)
    assert ke[-1] == pytest.approx(math.pi**2 / 4 * math.exp(-4 * NU_TG * 0.8), rel=2e-3)


def test_bdf2_is_second_order_in_time(tg_mesh):
    """Halving the step divides the change of the solution by 4 (same mesh, so the spatial
    error cancels)."""
    u = [np.asarray(_tg_solve(tg_mesh, dt).point_data["velocity"][-1], dtype=float)
         for dt in (0.1, 0.05, 0.025)]
    d1, d2 = np.abs(u[0] - u[1]).max(), np.abs(u[1] - u[2]).max()
    assert 3.4 < d1 / d2 < 4.6


def test_low_reynolds_flow_settles_on_the_steady_solution():
    """DFG 2D-1 (Re = 20) started from rest reaches the steady solver's flow and forces."""
    mesh = mesh_channel_cylinder(2.2, 0.41, 0.2, 0.2, 0.1, 0.08, cylinder_size=0.015)
    flow = NavierStokesSetup(nu=1e-3, velocity=(VelocityBC("inlet", (0.3, 0.0), "parabolic"),),
                             walls=("walls", "cylinder"), body="cylinder", u_ref=0.2, l_ref=0.1)
    steady = solve_navier_stokes(mesh, flow)
    h = solve_transient_navier_stokes(mesh, TransientFlowSetup(flow, t_end=30.0, dt=0.25,
                                                               frame_interval=10.0))
    kq = steady.stats["key_quantities"]
    assert h.curves["cd"][-1] == pytest.approx(kq["cd"], rel=1e-4)
    assert h.curves["cl"][-1] == pytest.approx(kq["cl"], abs=1e-4)
    u = np.asarray(h.point_data["velocity"][-1], dtype=float)
    u_steady = steady.fields["velocity"][: h.mesh.n_points]
    assert np.abs(u - u_steady).max() < 1e-4 * 0.3
    assert h.meta["key_quantities"]["reynolds"] == pytest.approx(20.0)


def test_strouhal_and_maxima_of_a_known_signal():
    t = np.linspace(0.0, 3.0, 3001)
    f = 3.0
    cl = 0.02 + np.sin(2 * math.pi * f * t + 0.3)
    cd = 3.2 + 0.03 * np.sin(4 * math.pi * f * t)
    s = periodic_stats(t, cd, cl, l_ref=0.1, u_ref=1.0, t_from=1.0)
    assert s["frequency"] == pytest.approx(f, rel=1e-4)
    assert s["strouhal"] == pytest.approx(0.3, rel=1e-4)
    assert s["cl_max"] == pytest.approx(1.02, abs=1e-6)
    assert s["cd_max"] == pytest.approx(3.23, abs=1e-6)
    assert s["periodic"]


def test_cancel_keeps_the_steps_done(tg_mesh):
    token = CancelToken()
    seen = []

    def on_step(t, fields, curves):
        seen.append((t, curves["kinetic_energy"]))
        if len(seen) == 4:
            token.cancel()

    flow = NavierStokesSetup(nu=NU_TG, walls=("left", "right", "bottom", "top"))
    h = solve_transient_navier_stokes(
        tg_mesh, TransientFlowSetup(flow, t_end=1.0, dt=0.05), cancel=token, on_step=on_step,
        initial=lambda x, y: _taylor_green(x, y, 0.0), boundary=_taylor_green)
    assert not h.complete and "cancelled" in h.meta["stopped"]
    assert h.n_steps == 4 and np.allclose(h.times, [0.0, 0.05, 0.1, 0.15])
    assert [c for _, c in seen] == pytest.approx(list(h.curves["kinetic_energy"]))


def test_an_unstable_step_is_stopped_with_a_suggestion():
    """Re = 1000 past the cylinder with a 0.1 s step blows up: the run stops with the steps
    done, a message naming the step and a smaller one to use."""
    mesh = mesh_channel_cylinder(2.2, 0.41, 0.2, 0.2, 0.1, 0.1, cylinder_size=0.02)
    flow = NavierStokesSetup(nu=1e-3, velocity=(VelocityBC("inlet", (15.0, 0.0), "parabolic"),),
                             walls=("walls", "cylinder"), body="cylinder", u_ref=10.0, l_ref=0.1)
    h = solve_transient_navier_stokes(mesh, TransientFlowSetup(flow, t_end=1.5, dt=0.1))
    assert not h.complete
    msg = h.meta["stopped"]
    assert "unstable" in msg and "0.1 s" in msg and msg in h.meta["warnings"]
    suggested = float(msg.rsplit("at most ", 1)[1].split(" s")[0])
    assert 0 < suggested <= 0.025
    assert h.n_steps >= 1 and np.all(np.isfinite(h.curves["kinetic_energy"]))


def test_karman_street_study_checks_and_cli_json(tmp_path, capsys):
    """The study refuses a Reynolds number with a three-dimensional wake; `physapp
    solve karman-street --json` (a short coarse run) prints the key quantities and the curves."""
    import json

    from physapp.cli import main
    from physapp.core.errors import ParameterError
    from physapp.studies import get_study

    study = get_study("karman-street")
    with pytest.raises(ParameterError, match="Re = "):
        study.check({"mean_speed": 1.5, "diameter": 0.14})
    setup = study.setup(study.spec.defaults())
    assert setup.flow.reynolds == pytest.approx(100.0) and setup.dt == 0.005
    out = tmp_path / "k.h5"
    code = main(["solve", "karman-street", "--set", "t_end=1.5", "--set", "time_step=0.02",
                 "--set", "mesh_size=0.08", "--out", str(out), "--json", "--quiet"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    kq = summary["key_quantities"]
    # a coarse, short run: shedding has started (St near 0.3, lift of order 1)
    assert 0.25 < kq["strouhal"] < 0.35 and 0.5 < kq["cl_max"] < 1.5 and 2.8 < kq["cd_max"] < 3.6
    assert kq["reynolds"] == pytest.approx(100.0)
    assert len(summary["curves"]["cl"]) == summary["n_steps"] == len(summary["curves"]["time"])
    assert summary["complete"] and out.exists()

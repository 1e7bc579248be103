"""Transient heat: NAFEMS T3, time order on a manufactured solution, cancel, step warnings."""

import numpy as np
import pytest

from physapp.core import Convection, FixedTemperature, HeatSetup, SolverError
from physapp.core.progress import CancelToken
from physapp.core.transient import SineRamp, TransientHeatSetup
from physapp.geometry.shapes2d import mesh_rectangle
from physapp.io.history import HistoryWriter, read_history
from physapp.solvers.heat_transient import solve_heat_transient


def _t3(dt, scheme="bdf2", **kw):
    """NAFEMS T3: bar L = 0.1 m, k = 35, rho = 7200, cp = 440.5, T(0, t) = 0,
    T(L, t) = 100 sin(pi t / 40), T(x, 0) = 0; insulated sides (a strip 10 mm wide)."""
    heat = HeatSetup("planar", 35.0, fixed=(FixedTemperature("left", 0.0),
                                            FixedTemperature("right", 100.0)))
    return TransientHeatSetup(heat, 7200.0, 440.5, 32.0, dt, scheme=scheme,
                              time_functions={"right": SineRamp(80.0)},
                              probes={"T(x=0.08)": (0.08, 0.005)}, **kw)


@pytest.mark.parametrize("scheme", ["bdf2", "crank-nicolson", "euler"])
def test_nafems_t3(scheme):
    mesh = mesh_rectangle(0.0, 0.0, 0.1, 0.01, 0.005)
    dt = 0.25 if scheme == "euler" else 0.5
    h = solve_heat_transient(mesh, _t3(dt, scheme), order=2)
    assert h.complete and h.times[-1] == pytest.approx(32.0)
    assert h.curves["T(x=0.08)"][-1] == pytest.approx(36.60, rel=0.01)
    assert h.meta["warnings"] == [] and h.meta["scheme"] == scheme
    # the probe curve and the node there agree
    node = int(np.argmin(np.hypot(h.mesh.points[:, 0] - 0.08, h.mesh.points[:, 1] - 0.005)))
    assert h.probe("temperature", node)[-1] == pytest.approx(h.curves["T(x=0.08)"][-1], rel=1e-5)


def _manufactured(dt, scheme):
    """T(x, t) = sin(w t) - x^2 on 0 < x < 1 (k = rho c = 1) with source Q(t) = w cos(w t) + 2:
    quadratic in x, so P2 elements hold it exactly and the error is the scheme's alone."""
    w = 2 * np.pi
    heat = HeatSetup("planar", 1.0, fixed=(FixedTemperature("left", 1.0),
                                           FixedTemperature("right", 1.0)), source=1.0)
    funcs = {"left": lambda t: np.sin(w * t), "right": lambda t: np.sin(w * t) - 1.0,
             "source": lambda t: w * np.cos(w * t) + 2.0}
    setup = TransientHeatSetup(heat, 1.0, 1.0, 0.5, dt, scheme=scheme, time_functions=funcs,
                               initial=lambda x: -x[0] ** 2)
    h = solve_heat_transient(mesh_rectangle(0.0, 0.0, 1.0, 0.2, 0.1), setup, order=2)
    x = h.mesh.points[:, 0]
    exact = np.sin(w * h.times[-1]) - x**2
    return float(np.abs(np.asarray(h.point_data["temperature"][-1]) - exact).max())


@pytest.mark.parametrize("scheme,order", [("euler", 1), ("crank-nicolson", 2), ("bdf2", 2)])
def test_time_order_on_manufactured_solution(scheme, order):
    errors = [_manufactured(dt, scheme) for dt in (1 / 40, 1 / 80, 1 / 160)]
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert rates == pytest.approx([order, order], abs=0.2), (errors, rates)


def test_cancel_keeps_the_steps_done_in_the_file(tmp_path):
    token = CancelToken()
    mesh = mesh_rectangle(0.0, 0.0, 0.1, 0.01, 0.01)

    def progress(fraction, message):
        if "step 10/" in message:
            token.cancel()

    w = HistoryWriter(tmp_path / "t3.h5")
    h = solve_heat_transient(mesh, _t3(0.5), order=1, progress=progress, cancel=token, sink=w)
    assert not h.complete and h.meta["stopped"] == "cancelled"
    assert h.n_steps == 11 and h.times[-1] == pytest.approx(5.0)       # t = 0 and 10 steps
    back = read_history(tmp_path / "t3.h5")
    assert back.n_steps == 11 and not back.complete
    np.testing.assert_allclose(back.curves["T(x=0.08)"], h.curves["T(x=0.08)"])


def test_coarse_steps_are_warned_with_a_suggested_step():
    mesh = mesh_rectangle(0.0, 0.0, 0.1, 0.01, 0.005)
    h = solve_heat_transient(mesh, _t3(8.0), order=2)
    assert any("too few" in w for w in h.meta["warnings"])
    # a plate quenched at one edge with a step far above the element diffusion time: CN rings
    quench = HeatSetup("planar", 35.0, fixed=(FixedTemperature("left", 0.0),))
    setup = TransientHeatSetup(quench, 7200.0, 440.5, 200.0, 10.0, initial=100.0,
                               scheme="crank-nicolson")
    h = solve_heat_transient(mesh, setup, order=1)
    assert any("oscillates" in w and "bdf2" in w for w in h.meta["warnings"])
    bdf = solve_heat_transient(mesh, TransientHeatSetup(quench, 7200.0, 440.5, 200.0, 10.0,
                                                         initial=100.0), order=1)
    assert not any("oscillates" in w for w in bdf.meta["warnings"])
    with pytest.raises(SolverError, match="time step must be positive"):
        solve_heat_transient(mesh, _t3(0.0))


def test_convection_heat_rate_balances_stored_heat():
    """A plate cooling by convection from 100 degC: the heat lost by convection up to t equals
    the drop in stored heat rho c integral(T0 - T)."""
    mesh = mesh_rectangle(0.0, 0.0, 0.05, 0.01, 0.0025)
    heat = HeatSetup("planar", 20.0, convections=(Convection("right", 500.0, 20.0),))
    setup = TransientHeatSetup(heat, 2000.0, 500.0, 400.0, 2.0, initial=100.0, scheme="euler")
    h = solve_heat_transient(mesh, setup, order=1)
    rate = h.curves["heat_rate[right]"]
    lost = float(np.sum(rate[1:]) * 2.0)                   # backward Euler: rate at the step end
    T_end = np.asarray(h.point_data["temperature"][-1])
    # nodal average of the P1 field (uniform mesh): integral = mean * area
    stored = 2000.0 * 500.0 * float(np.mean(100.0 - T_end)) * 0.05 * 0.01
    assert lost == pytest.approx(stored, rel=0.03)
    assert h.curves["peak_temperature"][-1] < 100.0 and h.curves["min_temperature"][-1] > 20.0


def test_amg_cg_steps_match_the_direct_solve(monkeypatch):
    """The iterative path (large 3D models): one AMG hierarchy, warm-started CG per step."""
    mesh = mesh_rectangle(0.0, 0.0, 0.1, 0.01, 0.005)
    direct = solve_heat_transient(mesh, _t3(1.0), order=2)
    monkeypatch.setenv("PHYSAPP_LINEAR_SOLVER", "amg-cg")
    amg = solve_heat_transient(mesh, _t3(1.0), order=2)
    assert direct.meta["method"] == "direct" and amg.meta["method"] == "amg-cg"
    assert amg.meta["cg_iterations"] > 0
    np.testing.assert_allclose(amg.curves["T(x=0.08)"], direct.curves["T(x=0.08)"], atol=1e-6)

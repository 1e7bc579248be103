"""Steady conduction against NAFEMS T4 and closed forms."""

import numpy as np
import pytest

from physapp.core import Convection, FixedTemperature, HeatFlux, HeatSetup, SolverError
from physapp.geometry.shapes2d import mesh_annulus_sector, mesh_rectangle
from physapp.solvers.heat import solve_heat


def test_nafems_t4_convection():
    mesh = mesh_rectangle(0.0, 0.0, 0.6, 1.0, 0.02)
    setup = HeatSetup("planar", 52.0, fixed=(FixedTemperature("bottom", 100.0),),
                      convections=(Convection("right", 750.0, 0.0), Convection("top", 750.0, 0.0)))
    sol = solve_heat(mesh, setup, order=2)
    p = sol.out_mesh.points
    e = np.argmin(np.hypot(p[:, 0] - 0.6, p[:, 1] - 0.2))
    assert np.hypot(p[e, 0] - 0.6, p[e, 1] - 0.2) < 1e-9
    assert sol.fields["temperature"][e] == pytest.approx(18.25, rel=0.01)
    rates = sol.stats["heat_rates"]
    # energy balance: what enters through the 100 C edge leaves by convection
    assert rates["bottom"] == pytest.approx(-(rates["right"] + rates["top"]), rel=1e-8)
    assert abs(rates["left"]) < 1e-8 * abs(rates["bottom"])


def test_slab_with_source_and_flux():
    # 1D slab 0 < x < L, k, uniform source Q, T(0) = 0 fixed, flux q into x = L:
    # T(x) = -Q x^2 / (2k) + (Q L + q) x / k
    L, k, Q, q = 0.5, 10.0, 2000.0, 300.0
    mesh = mesh_rectangle(0.0, 0.0, L, 0.1, 0.025)
    setup = HeatSetup("planar", k, fixed=(FixedTemperature("left", 0.0),),
                      fluxes=(HeatFlux("right", q),), source=Q)
    sol = solve_heat(mesh, setup, order=2)
    x = sol.out_mesh.points[:, 0]
    exact = -Q * x**2 / (2 * k) + (Q * L + q) * x / k
    np.testing.assert_allclose(sol.fields["temperature"], exact, atol=1e-8 * exact.max())
    np.testing.assert_allclose(sol.fields["heat_flux"][:, 0], -k * (-Q * x / k + (Q * L + q) / k),
                               atol=1e-6 * abs(Q * L + q))


def test_axisymmetric_tube_wall_log_profile():
    a, b, k = 0.05, 0.1, 15.0
    mesh = mesh_annulus_sector(a, b, 0.005, x0=0.02)
    setup = HeatSetup("axisymmetric", k, fixed=(FixedTemperature("inner", 200.0),
                                                FixedTemperature("outer", 20.0)))
    sol = solve_heat(mesh, setup, order=2)
    r = sol.out_mesh.points[:, 0]
    exact = 200.0 + (20.0 - 200.0) * np.log(r / a) / np.log(b / a)
    np.testing.assert_allclose(sol.fields["temperature"], exact, atol=0.05)
    # heat rate per radian through the wall: k (T_i - T_o) * height / ln(b/a)
    assert sol.stats["heat_rates"]["outer"] == pytest.approx(k * 180.0 * 0.02 / np.log(b / a), rel=1e-3)


def test_heat_bad_input():
    mesh = mesh_rectangle(0, 0, 1, 1, 0.25)
    with pytest.raises(SolverError, match="not determined"):
        solve_heat(mesh, HeatSetup("planar", 1.0, fluxes=(HeatFlux("left", 1.0),)))
    with pytest.raises(SolverError, match="conductivity must be positive"):
        solve_heat(mesh, HeatSetup("planar", 0.0, fixed=(FixedTemperature("left", 0.0),)))
    with pytest.raises(SolverError, match="No boundary region named 'inlet'"):
        solve_heat(mesh, HeatSetup("planar", 1.0, fixed=(FixedTemperature("inlet", 0.0),)))

"""Steady Navier-Stokes (Taylor-Hood P2/P1) against exact and benchmark solutions."""

import numpy as np
import pytest

from physapp.core.errors import Cancelled, SolverError
from physapp.core.flow_setup import NavierStokesSetup, VelocityBC
from physapp.core.progress import CancelToken
from physapp.geometry.flow_domains import mesh_cavity, mesh_channel_cylinder
from physapp.geometry.shapes2d import mesh_rectangle
from physapp.solvers.flow import solve_navier_stokes

# Schaefer & Turek (1996), DFG 2D-1 (Re = 20): reference values (John 2004)
DFG_CD, DFG_CL, DFG_DP = 5.57954, 0.010619, 0.117520


def _poiseuille(u_max=1.5, nu=0.01, length=2.0):
    mesh = mesh_rectangle(0.0, 0.0, length, 1.0, 0.2)
    setup = NavierStokesSetup(nu=nu, velocity=(VelocityBC("left", (u_max, 0.0), "parabolic"),),
                              walls=("bottom", "top"))
    return mesh, setup


def test_plane_poiseuille_is_exact():
    u_max, nu, length = 1.5, 0.01, 2.0
    mesh, setup = _poiseuille(u_max, nu, length)
    sol = solve_navier_stokes(mesh, setup)
    x, y = sol.out_mesh.points[:, 0], sol.out_mesh.points[:, 1]
    u = sol.fields["velocity"]
    np.testing.assert_allclose(u[:, 0], 4 * u_max * y * (1 - y), atol=1e-10 * u_max)
    np.testing.assert_allclose(u[:, 1], 0.0, atol=1e-10 * u_max)
    # -nu u'' + dp/dx = 0 with do-nothing (p = 0) at the outlet: p = 8 u_max nu (L - x)
    dpdx = -8 * u_max * nu
    np.testing.assert_allclose(sol.fields["pressure"], -dpdx * (length - x),
                               atol=1e-10 * abs(dpdx) * length)
    # the stream function of the parabola, psi = 4 u_max (y^2 / 2 - y^3 / 3) (zero on y = 0), is
    # cubic: its P2 least-squares fit is close, not exact
    np.testing.assert_allclose(sol.fields["stream_function"],
                               4 * u_max * (y**2 / 2 - y**3 / 3), atol=2e-3 * u_max)
    np.testing.assert_allclose(sol.fields["vorticity"], -4 * u_max * (1 - 2 * y), atol=1e-8)
    assert sol.stats["newton_iterations"] <= 2


def _dfg(size, cylinder_size):
    mesh = mesh_channel_cylinder(2.2, 0.41, 0.2, 0.2, 0.1, size, cylinder_size=cylinder_size)
    setup = NavierStokesSetup(
        nu=1e-3, velocity=(VelocityBC("inlet", (0.3, 0.0), "parabolic"),),
        walls=("walls", "cylinder"), body="cylinder", u_ref=0.2, l_ref=0.1,
        pressure_points=((0.15, 0.2), (0.25, 0.2)), recirculation_from=(0.25, 0.2))
    return solve_navier_stokes(mesh, setup).stats


@pytest.fixture(scope="module")
def dfg_fine():
    return _dfg(0.03, 0.005)


def test_dfg_2d1_benchmark(dfg_fine):
    kq = dfg_fine["key_quantities"]
    assert kq["reynolds"] == pytest.approx(20.0)
    assert kq["cd"] == pytest.approx(DFG_CD, rel=0.005)
    assert kq["cl"] == pytest.approx(DFG_CL, rel=0.05)
    assert kq["pressure_drop"] == pytest.approx(DFG_DP, rel=0.01)
    # recirculation length 0.0842-0.0847 m in the literature (John 2004: L_a = 0.0847)
    assert kq["recirculation_length"] == pytest.approx(0.0845, rel=0.02)
    assert dfg_fine["newton_iterations"] <= 6
    assert dfg_fine["method"] == "newton"


def test_dfg_forces_converge_under_refinement(dfg_fine):
    coarse = _dfg(0.06, 0.012)["key_quantities"]
    fine = dfg_fine["key_quantities"]
    assert abs(fine["cd"] - DFG_CD) < abs(coarse["cd"] - DFG_CD)
    assert abs(fine["cl"] - DFG_CL) < abs(coarse["cl"] - DFG_CL)
    assert abs(fine["pressure_drop"] - DFG_DP) < abs(coarse["pressure_drop"] - DFG_DP)


def test_cavity_re100_vortex_centre_ghia():
    # Ghia, Ghia & Shin (1982), Re = 100: primary vortex at (0.6172, 0.7344), psi = -0.103423
    mesh = mesh_cavity(1.0, 1.0, 0.04, corner_size=0.015)
    setup = NavierStokesSetup(nu=0.01, velocity=(VelocityBC("lid", (1.0, 0.0)),),
                              walls=("walls",), vortex=True)
    kq = solve_navier_stokes(mesh, setup).stats["key_quantities"]
    assert kq["vortex_x"] == pytest.approx(0.6172, rel=0.02)
    assert kq["vortex_y"] == pytest.approx(0.7344, rel=0.02)
    assert kq["vortex_psi"] == pytest.approx(-0.103423, rel=0.03)


def test_unconverged_flow_reports_reynolds_and_history():
    mesh = mesh_cavity(1.0, 1.0, 0.1)
    setup = NavierStokesSetup(nu=1e-5, velocity=(VelocityBC("lid", (1.0, 0.0)),),
                              walls=("walls",), max_iterations=3)
    with pytest.raises(SolverError, match=r"Re = 1e\+05.*relative residuals.*lower the speed"):
        solve_navier_stokes(mesh, setup)


def test_cancel_stops_the_solve():
    mesh, setup = _poiseuille()
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        solve_navier_stokes(mesh, setup, cancel=token)


@pytest.mark.parametrize("re, max_it, centre, psi, method", [
    # Ghia et al. (1982): Re = 400 (0.5547, 0.6055), psi -0.113909; Re = 1000 (0.5313, 0.5625),
    # psi -0.117929. With 4 Newton steps allowed, Re = 400 needs the Picard fallback.
    (400.0, 4, (0.5547, 0.6055), -0.113909, "picard+newton"),
    (1000.0, 30, (0.5313, 0.5625), -0.117929, "newton"),
])
def test_cavity_higher_reynolds_and_picard_fallback(re, max_it, centre, psi, method):
    mesh = mesh_cavity(1.0, 1.0, 0.1, corner_size=0.04)
    setup = NavierStokesSetup(nu=1.0 / re, velocity=(VelocityBC("lid", (1.0, 0.0)),),
                              walls=("walls",), vortex=True, max_iterations=max_it)
    stats = solve_navier_stokes(mesh, setup).stats
    kq = stats["key_quantities"]
    assert stats["method"] == method
    assert (kq["vortex_x"], kq["vortex_y"]) == pytest.approx(centre, rel=0.02)
    assert kq["vortex_psi"] == pytest.approx(psi, rel=0.02)
    assert stats["residual_history"][-1] < 1e-9

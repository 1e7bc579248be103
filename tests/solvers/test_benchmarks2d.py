"""Published and closed-form values: NAFEMS LE1, Lame thick cylinder, heated clamped bar."""

import numpy as np
import pytest

from physapp.core import ElasticSetup, Material, Pressure, Support, ThermalStrain
from physapp.geometry.shapes2d import mesh_annulus_sector, mesh_le1_membrane, mesh_rectangle
from physapp.solvers.elasticity2d import solve_plane


def node_at(points, x, y):
    i = np.argmin(np.hypot(points[:, 0] - x, points[:, 1] - y))
    assert np.hypot(points[i, 0] - x, points[i, 1] - y) < 1e-9
    return i


def test_nafems_le1_elliptic_membrane():
    mesh = mesh_le1_membrane(0.1, size_at_d=0.02)
    setup = ElasticSetup("plane_stress", Material(210e9, 0.3),
                         (Support("x_axis", (1,)), Support("y_axis", (0,))),
                         pressures=(Pressure("outer", -10e6),))  # 10 MPa outward
    sol = solve_plane(mesh, setup, order=2)
    d = node_at(sol.out_mesh.points, 2.0, 0.0)
    assert sol.fields["sigma_yy"][d] / 1e6 == pytest.approx(92.7, rel=0.02)


P, A, B, E, NU = 100e6, 0.1, 0.2, 200e9, 0.3
C1, C2 = P * A**2 / (B**2 - A**2), P * A**2 * B**2 / (B**2 - A**2)
HOOP_BORE = C1 + C2 / A**2
U_BORE = (1 + NU) / E * ((1 - 2 * NU) * C1 * A + C2 / A)  # plane strain / axially fixed


def test_lame_cylinder_plane_strain():
    mesh = mesh_annulus_sector(A, B, 0.008)
    setup = ElasticSetup("plane_strain", Material(E, NU),
                         (Support("x_axis", (1,)), Support("y_axis", (0,))),
                         pressures=(Pressure("inner", P),))
    sol = solve_plane(mesh, setup, order=2)
    i = node_at(sol.out_mesh.points, A, 0.0)
    assert sol.fields["displacement"][i, 0] == pytest.approx(U_BORE, rel=0.01)
    assert sol.fields["sigma_yy"][i] == pytest.approx(HOOP_BORE, rel=0.01)


def test_lame_cylinder_axisymmetric():
    mesh = mesh_annulus_sector(A, B, 0.01, x0=0.05)  # wall section r in [A, B], z in [0, 0.05]
    setup = ElasticSetup("axisymmetric", Material(E, NU),
                         (Support("bottom", (1,)), Support("top", (1,))),
                         pressures=(Pressure("inner", P),))
    sol = solve_plane(mesh, setup, order=2)
    i = node_at(sol.out_mesh.points, A, 0.0)
    assert sol.fields["displacement"][i, 0] == pytest.approx(U_BORE, rel=0.01)
    assert sol.fields["sigma_hoop"][i] == pytest.approx(HOOP_BORE, rel=0.01)


@pytest.mark.parametrize("analysis", ["plane_stress", "plane_strain"])
def test_heated_bar_clamped_at_both_ends(analysis):
    E_, alpha, dT = 70e9, 23e-6, 50.0
    mesh = mesh_rectangle(0, 0, 1.0, 0.1, 0.05)
    # both ends clamped axially, lateral faces free (one point-like restraint via bottom u_y)
    setup = ElasticSetup(analysis, Material(E_, 0.0),
                         (Support("left", (0,)), Support("right", (0,)), Support("bottom", (1,))),
                         thermal=ThermalStrain(alpha, 20.0 + dT, t_ref=20.0))
    sol = solve_plane(mesh, setup, order=1)
    np.testing.assert_allclose(sol.fields["sigma_xx"], -E_ * alpha * dT, rtol=1e-6)
    rx_left, rx_right = sol.stats["reactions"]["left"][0], sol.stats["reactions"]["right"][0]
    assert rx_left == pytest.approx(-rx_right, rel=1e-9)

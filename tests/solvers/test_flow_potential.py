"""Potential flow (stream function + Kutta condition) against closed forms and thin-airfoil
theory."""

import math

import numpy as np
import pytest

from physapp.core.errors import GeometryError
from physapp.core.flow_setup import PotentialFlowSetup
from physapp.geometry.flow_domains import check_naca, mesh_airfoil, mesh_cylinder_far_field
from physapp.solvers.potential import solve_potential


def test_cylinder_surface_pressure():
    # Cp = 1 - 4 sin^2(theta) on a circular cylinder without circulation; far field at 80 radii
    a = 0.5
    mesh = mesh_cylinder_far_field(a, 40.0, 0.005)
    sol = solve_potential(mesh, PotentialFlowSetup("body", "far_field", u_inf=2.0))
    p = sol.out_mesh.points
    on = np.abs(np.hypot(p[:, 0], p[:, 1]) - a) < 1e-9
    theta = np.arctan2(p[on, 1], p[on, 0])
    assert on.sum() > 500
    err = sol.fields["pressure_coefficient"][on] - (1 - 4 * np.sin(theta) ** 2)
    assert np.abs(err).max() < 0.01
    kq = sol.stats["key_quantities"]
    assert abs(kq["cl"]) < 1e-10 and abs(kq["cd"]) < 1e-3  # d'Alembert


@pytest.fixture(scope="module")
def thin_section():
    return mesh_airfoil(0.0, 0.4, 0.04, 0.01)


def _cl(mesh, alpha_deg):
    setup = PotentialFlowSetup("body", "far_field", alpha=math.radians(alpha_deg),
                               trailing_edge=(1.0, 0.0), surface_curve=(0.0, 1.0))
    return solve_potential(mesh, setup)


def test_symmetric_section_at_zero_angle_has_no_lift():
    sol = _cl(mesh_airfoil(0.0, 0.4, 0.12, 0.01), 0.0)
    assert abs(sol.stats["key_quantities"]["cl"]) < 2e-3
    # and the pressure is the same on both surfaces
    up, lo = (np.array(sol.stats["curves"]["cp"][k]) for k in ("upper", "lower"))
    xs = np.linspace(0.05, 0.95, 19)
    np.testing.assert_allclose(np.interp(xs, *up.T), np.interp(xs, *lo.T), atol=0.01)


def test_thin_section_lift_slope_is_two_pi(thin_section):
    # thin-airfoil theory: dcl/dalpha = 2 pi; a 4 % section sits ~3 % above it (2 pi (1 + 0.77 t))
    slope = (_cl(thin_section, 3.0).stats["key_quantities"]["cl"]
             - _cl(thin_section, -1.0).stats["key_quantities"]["cl"]) / math.radians(4.0)
    assert slope == pytest.approx(2 * math.pi, rel=0.05)


def test_cambered_section_zero_lift_angle(thin_section):
    # thin-airfoil theory for NACA 2412-like camber: alpha_L0 ~ -2.1 deg, so cl(0) ~ 0.23
    mesh = mesh_airfoil(0.02, 0.4, 0.04, 0.01)
    cl = _cl(mesh, 0.0).stats["key_quantities"]["cl"]
    assert cl == pytest.approx(2 * math.pi * math.radians(2.08), rel=0.1)


def test_self_intersecting_section_is_refused():
    with pytest.raises(GeometryError, match="intersects itself"):
        check_naca(0.2, 0.02, 0.2)

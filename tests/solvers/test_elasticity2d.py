"""Plane elasticity against analytic values: Kirsch, Heywood, manufactured-solution rates."""

import numpy as np
import pytest
import skfem

from physapp.core import CellBlock, ElasticSetup, Material, MeshData, SolverError, Support, Traction
from physapp.geometry.plate_with_hole import mesh_plate_with_hole
from physapp.solvers.elasticity2d import solve_plane

S = 1.0e6
PLATE = ElasticSetup("plane_stress", Material(210e9, 0.3),
                     (Support("symmetry_x", (0,)), Support("symmetry_y", (1,))),
                     (Traction("loaded", (S, 0.0)),))


def peak_hoop_stress(width, radius, length, size, hole_size):
    mesh = mesh_plate_with_hole(length, width, radius, size, hole_size=hole_size)
    sol = solve_plane(mesh, PLATE, order=2)
    p = sol.out_mesh.points
    top_of_hole = np.argmin(np.hypot(p[:, 0], p[:, 1] - radius))
    assert np.hypot(*p[top_of_hole, :2]) == pytest.approx(radius, rel=1e-9)
    return sol.fields["sigma_xx"][top_of_hole]


def test_kirsch_small_hole_peak_is_three_times_traction():
    W, a = 1.0, 0.05  # a/W = 0.05
    peak = peak_hoop_stress(W, a, 4 * W, W / 20, a / 16)
    assert peak / S == pytest.approx(3.0, rel=0.02)


def test_heywood_finite_width_net_section_concentration():
    W, d = 1.0, 0.2  # d/W = 0.2
    peak = peak_hoop_stress(W, d / 2, 3 * W, W / 20, d / 2 / 16)
    kt_net = peak / (S * W / (W - d))
    assert kt_net == pytest.approx(2 + (1 - d / W) ** 3, rel=0.03)


def unit_square(n):
    m = skfem.MeshTri.init_sqsymmetric().refined(int(np.log2(n)))
    edges = m.facets[:, m.boundary_facets()].T
    return MeshData(m.p.T, (CellBlock("triangle", m.t.T),), boundaries={"boundary": edges})


def manufactured(lam, mu):
    pi = np.pi

    def force(x, y):
        phi, c = np.sin(pi * x) * np.sin(pi * y), np.cos(pi * x) * np.cos(pi * y)
        f = -((lam + mu) * pi**2 * (c - phi) - 2 * mu * pi**2 * phi)
        return f, f

    return force


@pytest.mark.parametrize("order, rate", [(1, 2.0), (2, 3.0)])
def test_h_convergence_rates_on_manufactured_solution(order, rate):
    E, nu = 1.0, 0.3
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    setup = ElasticSetup("plane_strain", Material(E, nu), (Support("boundary", (0, 1)),))
    errors = []
    for n in (4, 8, 16):
        sol = solve_plane(unit_square(n), setup, order=order, body_force=manufactured(lam, mu))
        fine = skfem.Basis(sol.basis.mesh, sol.basis.elem, intorder=6)
        uh = fine.interpolate(sol.u)
        x, y = fine.global_coordinates()
        phi = np.sin(np.pi * x) * np.sin(np.pi * y)
        err2 = skfem.Functional(lambda w: (w["e"][0]) ** 2 + (w["e"][1]) ** 2).assemble(
            fine, e=uh - np.stack([phi, phi]))
        errors.append(np.sqrt(err2))
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert rates.min() > rate - 0.15, rates


def test_no_supports_is_reported_as_singular():
    mesh = mesh_plate_with_hole(0.4, 0.2, 0.02, 0.02)
    setup = ElasticSetup("plane_stress", Material(210e9, 0.3), (), (Traction("loaded", (S, 0)),))
    with pytest.raises(SolverError, match="no supports"):
        solve_plane(mesh, setup)
    only_x = ElasticSetup("plane_stress", Material(210e9, 0.3), (Support("symmetry_x", (0,)),),
                          (Traction("loaded", (S, 0)),))
    with pytest.raises(SolverError, match="rigid-body motion"):
        solve_plane(mesh, only_x)


def test_bad_material_and_unknown_region_are_named():
    mesh = mesh_plate_with_hole(0.4, 0.2, 0.02, 0.02)
    bad = ElasticSetup("plane_stress", Material(-1.0, 0.3), PLATE.supports, PLATE.tractions)
    with pytest.raises(SolverError, match="Young's modulus must be positive"):
        solve_plane(mesh, bad)
    bad_nu = ElasticSetup("plane_stress", Material(1e9, 0.5), PLATE.supports, PLATE.tractions)
    with pytest.raises(SolverError, match="Poisson's ratio"):
        solve_plane(mesh, bad_nu)
    missing = ElasticSetup("plane_stress", Material(1e9, 0.3), (Support("nowhere", (0, 1)),))
    with pytest.raises(SolverError, match="No boundary region named 'nowhere'.*symmetry_x"):
        solve_plane(mesh, missing)


@pytest.mark.parametrize("method", ["amg-cg", "direct"])
def test_cancel_token_stops_the_solve(method, monkeypatch):
    from physapp.core import Cancelled, CancelToken

    monkeypatch.setenv("PHYSAPP_LINEAR_SOLVER", method)

    token = CancelToken()
    calls = []

    def progress(fraction, message):
        calls.append(message)
        if "CG iteration" in message or "Factorising" in message:
            token.cancel()

    mesh = mesh_plate_with_hole(0.4, 0.2, 0.02, 0.002)
    with pytest.raises(Cancelled):
        solve_plane(mesh, PLATE, progress=progress, cancel=token)
    assert any("Assembling" in m for m in calls)


@pytest.mark.parametrize("analysis", ["plane_stress", "axisymmetric"])
def test_total_force_is_spread_over_the_meshed_edge(analysis):
    """A resultant force on the right edge of a bar: the reaction returns exactly that force."""
    from physapp.geometry.shapes2d import mesh_rectangle

    mesh = mesh_rectangle(0.1, 0.0, 0.3, 0.05, 0.02)
    setup = ElasticSetup(analysis, Material(210e9, 0.3),
                         (Support("bottom", (0, 1)),), (Traction("top", (0.0, 500.0), total=True),))
    sol = solve_plane(mesh, setup, order=1)
    assert sol.stats["reactions"]["bottom"][1] == pytest.approx(-500.0, rel=1e-9)


def test_symmetry_support_finds_the_normal_component():
    from physapp.geometry.shapes2d import mesh_rectangle

    mesh = mesh_rectangle(0.0, 0.0, 1.0, 0.5, 0.1)
    setup = ElasticSetup("plane_stress", Material(210e9, 0.3),
                         (Support("left", symmetry=True), Support("bottom", symmetry=True)),
                         (Traction("right", (1e6, 0.0)),))
    sol = solve_plane(mesh, setup, order=1)
    np.testing.assert_allclose(sol.fields["sigma_xx"], 1e6, rtol=1e-6)
    np.testing.assert_allclose(sol.fields["sigma_yy"], 0.0, atol=1e-3)
    np.testing.assert_allclose(sol.fields["strain"][:, 0], 1e6 / 210e9, rtol=1e-6)
    np.testing.assert_allclose(sol.fields["strain"][:, 1], -0.3e6 / 210e9, rtol=1e-6)

"""Verification of the large-deformation solver against closed forms (#22): a cantilever rolled
up by an end moment (elastica: a circle of curvature M / EI), Euler buckling of a clamped-free
column, and the snap-through of a shallow arch past its limit point by arc length.

The end moment is a *follower* moment: a pressure varying linearly across the end face
(p = M y / I, zero resultant, moment M) that acts normal to the deformed face, so it stays a pure
couple while the end rotates (a dead couple would not). Plane strain with nu = 0 makes the
bending stiffness E h^3 / 12 per unit width.
"""

import numpy as np

from physapp.core.nonlinear import FollowerPressure, HyperelasticSetup
from physapp.core.study import Material, Support, Traction
from physapp.geometry.strips import strip_mesh
from physapp.solvers.hyperelastic import solve_hyperelastic

E = 1e6


def _beam(L, h, n_along, curve=None):
    curve = curve or (lambda s: np.stack([L * s, 0 * s]))
    return strip_mesh(curve, h, n_along, 2)


def test_cantilever_under_end_moment_rolls_into_an_arc():
    L, h = 1.0, 0.02
    mesh = _beam(L, h, 50)
    EI = E * h**3 / 12
    M = 2 * np.pi * EI / L  # load factor 1: tip angle 2 pi (a full circle)
    setup = HyperelasticSetup("plane_strain", Material(E, 0.0), (Support("start", (0, 1)),),
                              follower_pressures=(FollowerPressure("end", 0.0, (0.0, 12 * M / h**3)),),
                              n_steps=16)
    sol = solve_hyperelastic(mesh, setup, checkpoints=(0.5,))
    assert sol.history.complete
    tip = mesh.point_sets["end_mid"][0]  # vertex numbering is kept on the output mesh
    assert np.allclose(sol.out_mesh.points[tip, :2], [L, 0.0])
    lf = np.asarray(sol.path.load_factors)
    for target in (0.5, 1.0):  # tip angles pi and 2 pi
        i = int(np.argmin(np.abs(lf - target)))
        assert abs(lf[i] - target) < 1e-12
        theta = 2 * np.pi * target
        rho = EI / (target * M)
        exact = np.array([rho * np.sin(theta), rho * (1 - np.cos(theta))])
        pos = np.array([L, 0.0]) + sol.history.point_data["displacement"][i, tip, :2]
        err = np.linalg.norm(pos - exact) / L
        print(f"tip angle {theta / np.pi:.0f} pi: tip {pos}, elastica {exact}, error {err:.2e} L")
        assert err < 0.01


def test_euler_buckling_of_a_clamped_free_column():
    L, h = 1.0, 0.02
    mesh = _beam(L, h, 40)
    EI = E * h**3 / 12
    p_cr = np.pi**2 * EI / (4 * L**2)
    # axial load P plus a lateral imperfection load 1e-3 P at the free end, by arc length
    setup = HyperelasticSetup("plane_strain", Material(E, 0.0), (Support("start", (0, 1)),),
                              tractions=(Traction("end", (-p_cr, 1e-3 * p_cr), total=True),),
                              control="arc-length", n_steps=20, max_load_factor=1.1)
    sol = solve_hyperelastic(mesh, setup)
    tip = mesh.point_sets["end_mid"][0]
    lf = np.asarray(sol.path.load_factors)
    defl = sol.history.point_data["displacement"][:, tip, 1] / L
    assert np.all(np.diff(defl) > 0) and defl[-1] > 0.2  # it buckled, sideways
    # the load at which the tip has moved L / 10 sideways: the buckling load
    p_buckle = np.interp(0.1, defl, lf)
    print(f"P(tip deflection L/10) / P_cr = {p_buckle:.4f}")
    assert abs(p_buckle - 1.0) < 0.02


def _arch(control):
    """Half of a clamped shallow parabolic arch (span 1, rise 0.05, thickness 0.01; symmetry at
    the crown) under a crown load of 10 EI (about twice its limit load)."""
    H, h = 0.05, 0.01
    mesh = strip_mesh(lambda s: np.stack([-0.5 + 0.5 * s, H * (1 - (1 - s) ** 2)]), h, 30, 2)
    EI = E * h**3 / 12
    setup = HyperelasticSetup("plane_strain", Material(E, 0.0),
                              (Support("start", (0, 1)), Support("end", (0,))),
                              tractions=(Traction("end", (0.0, -10 * EI), total=True),),
                              control=control, n_steps=10, max_steps=40)
    sol = solve_hyperelastic(mesh, setup)
    crown = mesh.point_sets["end_mid"][0]
    return sol, sol.history.point_data["displacement"][:, crown, 1] / H


def test_load_control_stops_at_the_arch_limit_point_with_the_history_kept():
    sol, w = _arch("load")
    msg = sol.history.meta["stopped"]
    print(msg)
    assert not sol.history.complete and "limit point" in msg and "arc-length" in msg
    assert sol.history.n_steps >= 3 and np.all(np.isfinite(w))
    assert 0.5 < sol.path.load_factors[-1] < 0.56  # the limit load factor (arc length: 0.549)


def test_arc_length_follows_the_arch_through_snap_through():
    sol, w = _arch("arc-length")
    lf = np.asarray(sol.path.load_factors)
    assert sol.history.complete and lf[-1] >= 1.0
    peak = int(np.argmax(lf[lf < 0.9]))
    print(f"limit load factor {lf[peak]:.4f} at crown deflection {w[peak]:.3f} rise")
    assert 0.5 < lf[peak] < 0.56
    # past the limit point the load falls (unstable branch) while the crown keeps going down,
    # then rises again on the inverted (snapped) branch
    assert lf[peak:].min() < 0.6 * lf[peak]
    assert np.all(np.diff(w) < 0) and w[-1] < -1.5

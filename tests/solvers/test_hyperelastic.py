"""Large-deformation neo-Hookean solver (#22): patch tests against the closed form, a consistent
tangent, quadratic Newton convergence and the small-strain limit (the linear solver)."""

import numpy as np
import pytest

from physapp.core.nonlinear import FollowerPressure, HyperelasticSetup
from physapp.core.study import ElasticSetup, Material, Support, Traction
from physapp.geometry.strips import box_mesh, strip_mesh
from physapp.solvers.hyperelastic import (
    HyperelasticModel,
    lame,
    neo_hookean_cauchy,
    solve_hyperelastic,
)

E, NU = 1e3, 0.3


def _rect(x0, nx=3, ny=3):
    """Unit square [x0, x0 + 1] x [0, 1]: regions start (x = x0), end, lower (y = 0), upper."""
    return strip_mesh(lambda s: np.stack([x0 + s, 0.5 + 0 * s]), 1.0, nx, ny)


def _max_rel(fields, names, sigma):
    return max(np.abs(fields[n] - sigma[i, i]).max() for i, n in enumerate(names)) / np.abs(
        sigma).max()


@pytest.mark.parametrize("analysis", ["plane_strain", "axisymmetric"])
def test_homogeneous_stretch_matches_neo_hookean_closed_form_2d(analysis):
    a, c = 1.3, 0.8  # stretches along x (= r) and y (= z): large strains
    x0 = 0.5 if analysis == "axisymmetric" else 0.0
    # u = (a - 1) x, (c - 1) y on the boundary: the exact solution is homogeneous
    sups = (Support("start", (0,), values=((a - 1) * x0,)),
            Support("end", (0,), values=((a - 1) * (x0 + 1),)),
            Support("lower", (1,)), Support("upper", (1,), values=(c - 1,)))
    sol = solve_hyperelastic(_rect(x0), HyperelasticSetup(analysis, Material(E, NU), sups,
                                                          n_steps=3))
    hoop = a if analysis == "axisymmetric" else 1.0  # u_r / r = a - 1; plane strain F_zz = 1
    sigma = neo_hookean_cauchy(np.diag([a, c, hoop]), *lame(E, NU))
    names = (["sigma_rr", "sigma_zz", "sigma_hoop"] if analysis == "axisymmetric"
             else ["sigma_xx", "sigma_yy", "sigma_zz"])
    assert _max_rel(sol.fields, names, sigma) < 1e-8
    assert sol.history.complete and sol.history.n_steps == 4


def test_homogeneous_stretch_matches_neo_hookean_closed_form_3d():
    a, b, c = 1.3, 1.1, 0.8
    sups = (Support("xmin", (0,)), Support("ymin", (1,)), Support("zmin", (2,)),
            Support("xmax", (0,), values=(a - 1,)), Support("ymax", (1,), values=(b - 1,)),
            Support("zmax", (2,), values=(c - 1,)))
    sol = solve_hyperelastic(box_mesh((0, 0, 0), (1, 1, 1), 2),
                             HyperelasticSetup("3d", Material(E, NU), sups, n_steps=2))
    sigma = neo_hookean_cauchy(np.diag([a, b, c]), *lame(E, NU))
    assert _max_rel(sol.fields, ["sigma_xx", "sigma_yy", "sigma_zz"], sigma) < 1e-8


def _cantilever(n_steps=1, load=3.0, follower=True):
    """A 10:1 plane-strain cantilever: tip load ``load`` EI/L^2 (large deflection) and a
    follower pressure on the upper side."""
    L, h = 1.0, 0.1
    mesh = strip_mesh(lambda s: np.stack([L * s, 0 * s]), h, 20, 2)
    EI = 1e6 * h**3 / 12
    fp = (FollowerPressure("upper", 100.0, (0.0, 500.0)),) if follower else ()
    setup = HyperelasticSetup("plane_strain", Material(1e6, 0.3), (Support("start", (0, 1)),),
                              tractions=(Traction("end", (0.0, -load * EI / L**2), total=True),),
                              follower_pressures=fp, n_steps=n_steps)
    return mesh, setup


def test_tangent_is_the_derivative_of_the_residual():
    mesh, setup = _cantilever()
    model = HyperelasticModel(mesh, setup)
    rng = np.random.default_rng(0)
    x = 2e-3 * rng.standard_normal(model.N)
    lam = 0.7
    fi, K, _ = model.internal(x)
    fe, Kf = model.external(x)
    Kt = K - lam * Kf

    def residual(y):
        return model.internal(y, False)[0] - lam * model.external(y, False)[0]

    d, eps = rng.standard_normal(model.N), 1e-6
    fd = (residual(x + eps * d) - residual(x - eps * d)) / (2 * eps)
    assert np.linalg.norm(fd - Kt @ d) <= 1e-6 * np.linalg.norm(fd)


def test_newton_converges_quadratically():
    mesh, setup = _cantilever(n_steps=3, load=2.0)
    sol = solve_hyperelastic(mesh, setup, rtol=1e-12)
    res = sol.path.residual_histories[1]  # relative residual norms of the first step
    print("Newton residual history (|R| / |f|):", " ".join(f"{r:.3e}" for r in res))
    assert res[-1] <= 1e-12
    # asymptotic range: residual below 1e-2 and above round-off
    pairs = [(a, b) for a, b in zip(res[:-1], res[1:], strict=True) if a < 1e-2 and b > 1e-15]
    assert pairs, res
    rates = [np.log(b) / np.log(a) for a, b in pairs]
    print("convergence orders log r_k+1 / log r_k:", rates)
    assert max(rates) > 1.8


@pytest.mark.parametrize("analysis", ["plane_strain", "axisymmetric"])
def test_small_strain_limit_equals_the_linear_solver(analysis):
    from physapp.solvers.elasticity2d import solve_plane

    x0 = 1.0 if analysis == "axisymmetric" else 0.0
    mesh = strip_mesh(lambda s: np.stack([x0 + 2.0 * s, 0 * s]), 0.4, 10, 2)
    mat = Material(2e11, 0.3)
    load = (Traction("end", (1e3, 4e3)),)
    sups = (Support("start", (0, 1)),)
    lin = solve_plane(mesh, ElasticSetup(analysis, mat, sups, tractions=load), order=2)
    nl = solve_hyperelastic(mesh, HyperelasticSetup(analysis, mat, sups, tractions=load,
                                                    n_steps=1), rtol=1e-12)
    u_lin, u_nl = lin.fields["displacement"], nl.fields["displacement"]
    assert np.allclose(lin.out_mesh.points, nl.out_mesh.points)
    # strains ~1e-7: the geometric nonlinearity is ~1e-7 relative
    assert np.abs(u_nl - u_lin).max() <= 1e-5 * np.abs(u_lin).max()
    assert np.abs(nl.fields["von_mises"] - lin.fields["von_mises"]).max() <= (
        1e-4 * lin.fields["von_mises"].max())


def test_each_step_is_streamed_and_cancel_stops_the_solve():
    from physapp.core.errors import Cancelled

    mesh, setup = _cantilever(n_steps=4, load=1.0, follower=False)
    seen = []
    sol = solve_hyperelastic(mesh, setup, on_step=lambda t, f, c: seen.append(
        (t, f["displacement"].shape, dict(c))))
    assert [s[0] for s in seen] == list(sol.history.times)
    assert all(shape == (sol.out_mesh.n_points, 3) for _, shape, _ in seen)
    assert np.allclose(sol.history.point_data["displacement"][-1], sol.fields["displacement"],
                       atol=1e-6 * np.abs(sol.fields["displacement"]).max())

    class StopAfter:
        def __init__(self, n):
            self.n = n

        def check(self):
            self.n -= 1
            if self.n < 0:
                raise Cancelled()

        @property
        def cancelled(self):
            return self.n < 0

    with pytest.raises(Cancelled):
        solve_hyperelastic(mesh, setup, cancel=StopAfter(3))


def test_small_strain_limit_equals_the_linear_solver_3d():
    from scipy.spatial import cKDTree

    from physapp.solvers.elasticity3d import solve_solid

    mesh = box_mesh((0, 0, 0), (1, 1, 1), 2)
    mat = Material(2e11, 0.3)
    sups = (Support("xmin", (0, 1, 2)),)
    load = (Traction("xmax", (1e3, 2e3, -3e3)),)
    lin = solve_solid(mesh, ElasticSetup("3d", mat, sups, tractions=load), order=2)
    nl = solve_hyperelastic(mesh, HyperelasticSetup("3d", mat, sups, tractions=load, n_steps=1),
                            rtol=1e-12)
    dist, idx = cKDTree(lin.out_mesh.points).query(nl.out_mesh.points)
    assert dist.max() < 1e-12
    u_lin, u_nl = lin.fields["displacement"][idx], nl.fields["displacement"]
    assert np.abs(u_nl - u_lin).max() <= 1e-5 * np.abs(u_lin).max()


@pytest.mark.parametrize("analysis", ["3d", "axisymmetric"])
def test_elastic_plastic_uniaxial_stretch_matches_j2_in_log_strain(analysis):
    """Hencky + J2 with linear hardening under uniaxial stress (lateral faces free): the Kirchhoff
    stress is E eps below yield and (sigma_y + H eps) E / (E + H) above, eps = ln(stretch);
    checked on the support reaction (nominal stress tau / stretch) at every step, through yield."""
    E_, nu, sy, H = 200e9, 0.3, 250e6, 2e9
    stretch = 1.05
    if analysis == "3d":
        mesh = box_mesh((0, 0, 0), (1, 1, 1), 1)
        sups = (Support("xmin", (0,)), Support("ymin", (1,)), Support("zmin", (2,)),
                Support("xmax", (0,), values=(stretch - 1,)))
        reaction, area = ("xmax", 0), 1.0
    else:  # a ring r in [0.5, 1.5] stretched along the axis, per radian
        mesh = _rect(0.5, 2, 2)
        sups = (Support("lower", (1,)), Support("upper", (1,), values=(stretch - 1,)))
        reaction, area = ("upper", 1), (1.5**2 - 0.5**2) / 2
    setup = HyperelasticSetup(analysis, Material(E_, nu), sups, n_steps=10, reaction=reaction,
                              yield_stress=sy, hardening=H)
    sol = solve_hyperelastic(mesh, setup, rtol=1e-10)
    lf = np.asarray(sol.path.load_factors)
    s = 1 + lf * (stretch - 1)
    eps = np.log(s)
    tau = np.where(E_ * eps <= sy, E_ * eps, (sy + H * eps) * E_ / (E_ + H))
    nominal = sol.history.curves["reaction_force"] / area
    assert np.abs(nominal - tau / s).max() <= 1e-8 * tau.max()
    assert eps[-1] > 5 * sy / E_  # well past yield
    ep = (eps[-1] - tau[-1] / E_)  # plastic strain
    assert np.allclose(sol.fields["plastic_strain"], ep, rtol=1e-6)


def test_newton_accepts_the_round_off_floor_but_not_a_falling_residual():
    from physapp.solvers.hyperelastic_path import _System

    mesh, setup = _cantilever()
    system = _System(HyperelasticModel(mesh, setup), rtol=1e-9, max_iter=25)
    R = np.full(4, 1.2e-9 / 2)  # |R| = 1.2e-9 of the scale 1
    assert not system.converged(R, 1.0, [1.0, 4.6e-6])  # still falling fast: iterate on
    assert system.converged(R, 1.0, [1.0, 4.6e-6, 1.4e-9, 1.2e-9])  # stalled at 1.2e-9
    assert not system.converged(R * 1e3, 1.0, [1.0, 1.3e-6, 1.2e-6])  # stalled, but far off
    assert system.converged(R / 10, 1.0, [1.0])  # below rtol


def test_a_step_that_does_not_converge_is_cut_and_retried():
    """One load step of 8 EI/L^2 on the cantilever is too large for Newton from the unloaded
    state: the step is cut (retried with half the increment) until it converges, and the path
    still reaches the full load, with the cuts counted."""
    mesh, setup = _cantilever(n_steps=1, load=8.0, follower=False)
    sol = solve_hyperelastic(mesh, setup)
    print(f"cuts {sol.path.cuts}, steps {sol.history.n_steps - 1}")
    assert sol.path.cuts >= 1 and sol.history.meta["step_cuts"] == sol.path.cuts
    assert sol.history.complete and sol.path.load_factors[-1] == pytest.approx(1.0)
    assert sol.history.n_steps > 2  # more steps than the one asked for


def test_steps_stream_to_a_history_file_and_a_cancelled_solve_keeps_them(tmp_path):
    """The sink (io.history.HistoryWriter, as a GUI solve of the bottle uses) holds every
    converged step as it comes: a solve cancelled after some steps leaves those in the file."""
    from physapp.core.errors import Cancelled
    from physapp.io.history import HistoryWriter, read_history

    mesh, setup = _cantilever(n_steps=4, load=1.0, follower=False)
    w = HistoryWriter(tmp_path / "full.h5")
    sol = solve_hyperelastic(mesh, setup, sink=w)
    full = read_history(tmp_path / "full.h5")
    assert full.complete and full.n_steps == sol.history.n_steps
    np.testing.assert_allclose(full.curves.get("reaction_force", np.zeros(0)),
                               sol.history.curves.get("reaction_force", np.zeros(0)))
    np.testing.assert_allclose(full.point_data["displacement"][-1],
                               sol.history.point_data["displacement"][-1], rtol=1e-6)

    class CancelAtStep:  # cancels once the third state (two load steps) is in the file
        def check(self):
            if w2.n_steps >= 3:
                raise Cancelled()

        cancelled = False

    w2 = HistoryWriter(tmp_path / "cut.h5")
    with pytest.raises(Cancelled):
        solve_hyperelastic(mesh, setup, sink=w2, cancel=CancelAtStep())
    w2.close()
    kept = read_history(tmp_path / "cut.h5")
    assert not kept.complete and kept.n_steps == 3
    np.testing.assert_allclose(kept.times, full.times[:3])

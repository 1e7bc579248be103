"""The linear solvers are deterministic and never diverge on a well-posed model (issue #14).

The slender clamped cantilever (length / height 20 and 40, P2) used to fail in about half of the
runs: pyamg's set-up draws random vectors and its CG went on past the attainable accuracy until
the residual reached 1e63. Oracles: Euler-Bernoulli / Timoshenko tip deflection, identical
answers run after run, the direct and the iterative path agreeing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from physapp.core.errors import IllPosedError, ParameterError, SolverError
from physapp.core.study import (
    ElasticSetup,
    FixedTemperature,
    HeatSetup,
    Material,
    Support,
    Traction,
)
from physapp.geometry.shapes2d import mesh_rectangle
from physapp.solvers import elasticity2d as e2
from physapp.solvers.krylov import BREAKDOWN, pcg
from physapp.solvers.linear import choose_method, solve_spd

E, NU, P = 200e9, 0.3, 100.0
PLUGINS = Path(__file__).resolve().parents[1] / "data" / "plugins"


def _cantilever_system(ratio: float, order: int):
    """The condensed system (A, b, rigid-body modes) of a clamped cantilever 1 m long."""
    captured = {}
    real = e2.solve_spd

    def spy(A, b, modes, **kw):
        captured.update(A=A, b=b, modes=modes)
        return real(A, b, modes, **kw)

    h = 1.0 / ratio
    mesh = mesh_rectangle(0.0, 0.0, 1.0, h, h / 2)
    setup = ElasticSetup("plane_stress", Material(E, NU), (Support("left", (0, 1)),),
                         tractions=(Traction("right", (0.0, -P), total=True),))
    e2.solve_spd = spy
    try:
        sol = e2.solve_plane(mesh, setup, order=order)
    finally:
        e2.solve_spd = real
    return captured, sol, h


def _tip_deflection_theory(h: float) -> float:
    inertia = h**3 / 12.0  # unit thickness
    shear = P * 1.0 / (5.0 / 6.0 * E / (2 * (1 + NU)) * h)
    return P / (3 * E * inertia) + shear


@pytest.mark.parametrize("ratio", [20, 40])
@pytest.mark.parametrize("order", [1, 2])
def test_slender_cantilever_iterative_solve_is_repeatable_and_right(ratio, order):
    cap, sol, h = _cantilever_system(ratio, order)
    runs = [solve_spd(cap["A"], cap["b"], cap["modes"], method="amg-cg") for _ in range(20)]
    first_x, first_stats = runs[0]
    assert first_stats["method"] == "amg-cg" and "fallback" not in first_stats
    for x, stats in runs[1:]:
        assert stats["iterations"] == first_stats["iterations"]
        np.testing.assert_array_equal(x, first_x)  # bit for bit: the set-up is seeded
    x_direct, _ = solve_spd(cap["A"], cap["b"], cap["modes"], method="direct")
    assert np.linalg.norm(first_x - x_direct) <= 1e-6 * np.linalg.norm(x_direct)
    if order == 2:  # P1 locks on two elements through the height; P2 is near beam theory
        tip = sol.out_mesh.points[:, 0] > 1.0 - 1e-9
        w = -sol.fields["displacement"][tip, 1].mean()
        assert w == pytest.approx(_tip_deflection_theory(h), rel=0.02)


def test_auto_choice_agrees_with_both_paths_on_both_sides_of_the_crossover():
    """Direct below the crossover, AMG-CG above; either gives the same answer to 1e-8."""
    small, _, _ = _cantilever_system(10, 2)
    n = small["A"].shape[0]
    assert choose_method(n, small["A"].nnz, 2) == "direct"
    assert choose_method(10**6, 22 * 10**6, 2) == "amg-cg"
    assert choose_method(10**6, 70 * 10**6, 3) == "amg-cg"
    xd, sd = solve_spd(small["A"], small["b"], small["modes"], method="direct")
    xi, si = solve_spd(small["A"], small["b"], small["modes"], method="amg-cg", rtol=1e-12)
    assert sd["method"] == "direct" and si["method"] == "amg-cg"
    assert np.linalg.norm(xd - xi) <= 1e-8 * np.linalg.norm(xd)


def test_an_indefinite_preconditioner_is_detected_and_the_direct_solve_takes_over():
    rng = np.random.default_rng(0)
    n = 200
    Q = sp.random(n, n, density=0.05, random_state=1) + sp.identity(n) * 5
    A = (Q @ Q.T).tocsr()
    b = rng.standard_normal(n)
    res = pcg(A, b, lambda r: -r)  # negative definite: r.z < 0 at once
    assert res.status == BREAKDOWN and not res.ok
    good = pcg(A, b, None, rtol=1e-10)
    assert good.ok and good.residual <= 1e-10
    # keeps the best iterate: a breakdown after progress returns something better than zero
    flips = iter([1.0] * 3 + [-1.0] * 1000)
    res = pcg(A, b, lambda r: next(flips) * r)
    assert res.status == BREAKDOWN and res.residual < 1.0


def test_stagnating_cg_falls_back_to_a_direct_solve(monkeypatch):
    import physapp.solvers.linear as lin

    cap, _, _ = _cantilever_system(40, 2)
    monkeypatch.setattr(lin, "sa_hierarchy", lambda A, modes, max_coarse: _Identity(A))
    x, stats = solve_spd(cap["A"], cap["b"], cap["modes"], method="amg-cg", maxiter=50)
    assert stats["method"] == "direct" and "fallback" in stats
    assert stats["residual"] < 1e-6


class _Identity:
    """No preconditioning at all: CG on a slender P2 beam cannot get there in 50 iterations."""

    def __init__(self, A):
        self.levels = []

    def matvec(self, r):
        return r


def test_sweep_of_the_slender_cantilever_solves_every_design(tmp_path, monkeypatch):
    from physapp import api
    from physapp.plugins import refresh
    from physapp.studies import load_plugins

    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(PLUGINS))
    refresh()
    load_plugins(force=True)
    try:
        ds = api.sweep("slender/cantilever", tmp_path / "c.h5", samples=8, order=2, workers=0,
                       vary=["length", "load"], fixed={"height": 0.025, "mesh_size": 0.0125})
        assert ds.counts()["done"] == 8 and ds.counts()["failed"] == 0
    finally:
        monkeypatch.delenv("PHYSAPP_PLUGIN_PATH")
        refresh()


def _two_bodies():
    """Two unit squares that share no node: x in [0, 1] and x in [2, 3]."""
    a = mesh_rectangle(0, 0, 1, 1, 0.5)
    b = mesh_rectangle(2, 0, 3, 1, 0.5)
    from physapp.core.mesh import CellBlock, MeshData

    n = a.n_points
    cells = np.vstack([a.cells[0].connectivity, b.cells[0].connectivity + n])
    bounds = {"left": a.boundaries["left"], "right2": b.boundaries["right"] + n}
    return MeshData(np.vstack([a.points, b.points]), (CellBlock("triangle", cells),), bounds)


def test_a_free_body_is_named_loaded_or_not():
    mesh = _two_bodies()
    held = (Support("left", (0, 1)),)
    for tractions in ((), (Traction("right2", (1.0, 0.0), total=True),)):
        setup = ElasticSetup("plane_stress", Material(E, NU), held, tractions=tractions)
        with pytest.raises(IllPosedError, match=r"2 separate bodies.*body 2 of 2.*no support"):
            e2.solve_plane(mesh, setup, order=1)


def test_heat_needs_a_temperature_on_every_body():
    from physapp.solvers.heat import solve_heat

    setup = HeatSetup("planar", conductivity=1.0, fixed=(FixedTemperature("left", 0.0),),
                      source=1.0)
    with pytest.raises(IllPosedError, match=r"body 2 of 2.*not determined"):
        solve_heat(_two_bodies(), setup, order=1)


def test_a_support_that_fixes_nothing_is_refused():
    with pytest.raises(ParameterError, match="fixes nothing"):
        Support("left")
    with pytest.raises(ParameterError, match="0 \\(x\\), 1 \\(y\\) or 2 \\(z\\)"):
        Support("left", (0, 3))
    assert Support("left", symmetry=True).symmetry


def test_inverted_and_degenerate_elements_are_reported_with_a_place():
    from physapp.solvers.wellposed import element_quality_warnings

    mesh = mesh_rectangle(0, 0, 1, 1, 0.25)
    cells = mesh.cells[0].connectivity.copy()
    assert element_quality_warnings(mesh.points, cells) == []
    pts = mesh.points.copy()
    inner = np.flatnonzero((pts[:, 0] > 0.1) & (pts[:, 0] < 0.9) & (pts[:, 1] > 0.1)
                           & (pts[:, 1] < 0.9))[0]
    # drag one interior node far across its neighbours: the elements around it fold over
    pts[inner, :2] += [0.6, 0.0] if pts[inner, 0] < 0.5 else [-0.6, 0.0]
    warnings = element_quality_warnings(pts, cells)
    assert any("inverted" in w and "near (" in w for w in warnings)


def _heat_system():
    """The condensed system of 2D steady conduction (P2 rectangle, fixed end, flux, source)."""
    from physapp.core.study import HeatFlux
    from physapp.solvers import heat as ht

    captured = {}
    real = ht.solve_spd

    def spy(A, b, modes, **kw):
        captured.update(A=A, b=b, kw=kw)
        return real(A, b, modes, **kw)

    mesh = mesh_rectangle(0.0, 0.0, 1.0, 0.5, 0.1)
    setup = HeatSetup("planar", 20.0, (FixedTemperature("left", 0.0),), (HeatFlux("right", 1e3),),
                      source=1e4)
    ht.solve_spd = spy
    try:
        sol = ht.solve_heat(mesh, setup, order=2)
    finally:
        ht.solve_spd = real
    return captured, sol


@pytest.mark.parametrize("physics", ["elasticity", "axisymmetric", "heat"])
def test_the_automatic_choice_switches_at_the_crossover_and_agrees_to_1e_8(monkeypatch, physics):
    """With the crossover put just below and just above the system's size, ``auto`` takes the
    direct and then the iterative path, and both answers agree to 1e-8."""
    import physapp.solvers.linear as lin

    if physics == "heat":
        cap, _ = _heat_system()
        assert cap["kw"]["physics"] == "heat"
        A, b, modes = cap["A"], cap["b"], None
    else:
        cap, _, _ = _cantilever_system(10, 2)
        A, b, modes = cap["A"], cap["b"], cap["modes"]
    n = A.shape[0]
    key = lin.crossover_key(physics, 2)
    assert key == (physics, 2)
    monkeypatch.delenv("PHYSAPP_LINEAR_SOLVER", raising=False)
    monkeypatch.setitem(lin.DIRECT_MAX_DOFS, key, n)  # n is at the crossover: direct
    xd, sd = solve_spd(A, b, modes, dim=2, physics=physics, rtol=1e-12)
    monkeypatch.setitem(lin.DIRECT_MAX_DOFS, key, n - 1)  # one DOF past it: AMG-CG
    xi, si = solve_spd(A, b, modes, dim=2, physics=physics, rtol=1e-12)
    assert sd["method"] == "direct" and si["method"] == "amg-cg" and "fallback" not in si
    assert np.linalg.norm(xd - xi) <= 1e-8 * np.linalg.norm(xd)
    assert float(np.linalg.norm(A @ xd - b)) <= 1e-10 * np.linalg.norm(b)


def test_heat_in_the_solver_reports_the_auto_choice_and_the_exact_linear_profile():
    """1D conduction with a source: T(x) = q x / k + s x (2L - x) / (2k) along the rectangle."""
    cap, sol = _heat_system()
    assert sol.stats["method"] == "direct"  # 2D heat of a few hundred DOFs: below the crossover
    x = sol.out_mesh.points[:, 0]
    exact = 1e3 * x / 20.0 + 1e4 * x * (2.0 - x) / (2 * 20.0)
    assert np.abs(sol.fields["temperature"] - exact).max() <= 1e-9 * exact.max()


def test_a_direct_factorisation_that_would_not_fit_goes_iterative_never_the_reverse(monkeypatch):
    import physapp.solvers.linear as lin

    cap, _, _ = _cantilever_system(10, 2)
    A, b, modes = cap["A"], cap["b"], cap["modes"]
    need = lin.direct_memory_estimate(A.shape[0], A.nnz, 2)
    monkeypatch.delenv("PHYSAPP_LINEAR_SOLVER", raising=False)
    monkeypatch.setattr(lin, "available_memory", lambda: 1.5 * need)  # 0.5 share: too little
    assert choose_method(A.shape[0], A.nnz, 2) == "amg-cg"
    x, stats = solve_spd(A, b, modes, dim=2, rtol=1e-12)
    assert stats["method"] == "amg-cg"
    xd, _ = solve_spd(A, b, modes, dim=2, method="amg-cg", rtol=1e-12)
    np.testing.assert_array_equal(x, xd)
    with pytest.raises(SolverError, match="needs about"):
        solve_spd(A, b, modes, dim=2, method="direct")  # asked for: refused with the estimate
    monkeypatch.setattr(lin, "available_memory", lambda: 3.0 * need)
    assert choose_method(A.shape[0], A.nnz, 2) == "direct"

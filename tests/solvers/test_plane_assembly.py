"""The vectorised plane stiffness against scikit-fem's bilinear form, and its cached pattern."""

import numpy as np
import pytest
import skfem
from skfem.helpers import ddot, sym_grad, trace

from physapp.solvers import elasticity2d
from physapp.solvers.elasticity2d import plane_stiffness
from physapp.solvers.fem_mesh import p0_field


@skfem.BilinearForm
def _form(u, v, w):
    eu, ev = sym_grad(u), sym_grad(v)
    return w["lam"] * trace(eu) * trace(ev) + 2.0 * w["mu"] * ddot(eu, ev)


@pytest.mark.parametrize("order", [1, 2])
def test_plane_stiffness_equals_the_bilinear_form_with_per_element_lame(order):
    m = skfem.MeshTri.init_circle(3)  # 1024 triangles
    elem = skfem.ElementTriP1() if order == 1 else skfem.ElementTriP2()
    basis = skfem.Basis(m, skfem.ElementVector(elem), intorder=2 * (order - 1))
    rng = np.random.default_rng(order)
    lam, mu = rng.uniform(1e9, 3e9, m.nelements), rng.uniform(1e9, 3e9, m.nelements)
    ref = _form.assemble(basis, lam=p0_field(m, basis, lam), mu=p0_field(m, basis, mu))
    got = plane_stiffness(basis, lam, mu)
    assert abs(got - ref).max() <= 1e-13 * abs(ref).max()
    assert got.has_sorted_indices
    # rigid-body motions give no force: translations and the rotation (-y, x)
    x, comp = basis.doflocs, np.arange(basis.N) % 2
    for u in (comp == 0, comp == 1, np.where(comp == 0, -x[1], x[0])):
        assert np.abs(got @ u.astype(float)).max() <= 1e-9 * abs(ref).max()


def test_the_pattern_is_kept_for_the_same_topology_and_rebuilt_for_another():
    m = skfem.MeshTri.init_circle(2)
    basis = skfem.Basis(m, skfem.ElementVector(skfem.ElementTriP2()), intorder=2)
    ones = np.ones(m.nelements)
    plane_stiffness(basis, ones, ones)
    pattern = elasticity2d._PATTERN[0]
    moved = skfem.MeshTri(m.p * np.array([[2.0], [0.5]]), m.t)  # same topology, other shape
    b2 = skfem.Basis(moved, skfem.ElementVector(skfem.ElementTriP2()), intorder=2)
    k2 = plane_stiffness(b2, 2 * ones, ones)
    assert elasticity2d._PATTERN[0] is pattern
    ref = _form.assemble(b2, lam=p0_field(moved, b2, 2 * ones), mu=p0_field(moved, b2, ones))
    assert abs(k2 - ref).max() <= 1e-13 * abs(ref).max()
    other = skfem.MeshTri.init_circle(1)
    b3 = skfem.Basis(other, skfem.ElementVector(skfem.ElementTriP2()), intorder=2)
    k3 = plane_stiffness(b3, np.ones(other.nelements), np.ones(other.nelements))
    assert elasticity2d._PATTERN[0] is not pattern and k3.shape == (b3.N, b3.N)

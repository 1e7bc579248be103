"""The direct solve reuses the ordering of the previous pattern (sweeps of one topology)."""

import numpy as np
import scipy.sparse as sp

from physapp.solvers import linear


def _spd(n: int, seed: int, extra: float = 0.0) -> sp.csc_matrix:
    """A 2D five-point Laplacian with random positive weights (SPD), optionally a longer stencil."""
    rng = np.random.default_rng(seed)
    lap1 = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(n, n))
    eye = sp.identity(n)
    a = sp.kron(lap1, eye) + sp.kron(eye, lap1) + sp.diags(rng.uniform(0.1, 1.0, n * n))
    if extra:
        a = a + extra * sp.diags([1.0, 1.0], [-2 * n, 2 * n], shape=(n * n, n * n))
    return sp.csc_matrix(a)


def test_a_second_matrix_of_the_same_pattern_reuses_the_ordering_and_solves_exactly():
    linear._ORDERING.clear()
    a1, a2 = _spd(20, 1), _spd(20, 2)
    b = np.random.default_rng(3).standard_normal(a1.shape[0])
    x1 = linear._factorised_solve(a1.copy(), b)
    assert len(linear._ORDERING) == 1
    perm = linear._ORDERING[0][2]
    x2 = linear._factorised_solve(a2.copy(), b)  # same pattern, other values: reused ordering
    assert linear._ORDERING[0][2] is perm
    for a, x in ((a1, x1), (a2, x2)):
        assert np.linalg.norm(a @ x - b) <= 1e-12 * np.linalg.norm(b)
        assert np.allclose(x, sp.linalg.spsolve(a, b), rtol=0, atol=1e-12 * np.abs(x).max())
    # a fresh factorisation of a2 (its own ordering) gives the same solution
    linear._ORDERING.clear()
    assert np.allclose(linear._factorised_solve(a2.copy(), b), x2, rtol=0, atol=1e-13)


def test_another_pattern_is_ordered_afresh():
    linear._ORDERING.clear()
    a1, a3 = _spd(20, 1), _spd(20, 4, extra=0.2)  # a3 has two more diagonals
    b = np.ones(a1.shape[0])
    linear._factorised_solve(a1.copy(), b)
    x3 = linear._factorised_solve(a3.copy(), b)
    assert np.array_equal(linear._ORDERING[0][1], a3.indices)
    assert np.linalg.norm(a3 @ x3 - b) <= 1e-12 * np.linalg.norm(b)


def test_a_pattern_above_the_size_limit_is_not_kept(monkeypatch):
    linear._ORDERING.clear()
    a = _spd(20, 5)
    monkeypatch.setattr(linear, "ORDERING_MAX_NNZ", a.nnz - 1)
    b = np.ones(a.shape[0])
    x = linear._factorised_solve(a.copy(), b)
    assert linear._ORDERING == []  # nothing held in memory after a big solve
    assert np.linalg.norm(a @ x - b) <= 1e-12 * np.linalg.norm(b)

"""Field-and-curve hybrid (#22): learns an analytic family of load-stepped fields and curves."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from physapp.core.errors import PhysappError  # noqa: E402
from physapp.surrogates.models.curve_gp import relative_l2  # noqa: E402
from physapp.surrogates.models.field_curve import FieldCurveSurrogate  # noqa: E402

BOUNDS = np.array([[0.5, 1.5], [-1.0, 1.0]])
T = 6


def _family(X: np.ndarray, seed: int = 0):
    """A mesh family whose geometry moves with the design (height a), with a known history:
    u_x = s a sin(pi x) (1 + 0.5 b y), u_y = -s^2 y (a + b x); curve f = s a (1 + b s) / 2 + s.
    Nodes: a 9 x 5 grid of [0, 1] x [0, a] (one numbering for every design)."""
    gx, gy = np.meshgrid(np.linspace(0, 1, 9), np.linspace(0, 1, 5), indexing="ij")
    s = np.linspace(0.0, 1.0, T)
    coords, U, F = [], [], []
    for a, b in X:
        x, y = gx.ravel(), a * gy.ravel()
        coords.append(np.stack([x, y], 1))
        ux = s[:, None] * a * np.sin(np.pi * x) * (1 + 0.5 * b * y)
        uy = -(s[:, None] ** 2) * y * (a + b * x)
        U.append(np.stack([ux, uy], -1))
        F.append(s * a * (1 + b * s) / 2 + s)
    return np.array(coords), np.array(U), np.array(F)


def _designs(n: int, seed: int) -> np.ndarray:
    r = np.random.default_rng(seed).random((n, 2))
    return BOUNDS[:, 0] + r * (BOUNDS[:, 1] - BOUNDS[:, 0])


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    X = _designs(48, 1)
    C, U, F = _family(X)
    # trained on random subsets of 24 of the 45 nodes (measure-weighted tokens), predicted on all
    model = FieldCurveSurrogate(device="cpu", width=32, layers=1, heads=2, slices=8, rank=8,
                                latent=32)
    model.fit(X, C, F, U, BOUNDS, epochs=100, lr=1e-2, batch=8, nodes=24)
    return model


def test_learns_analytic_family(trained):
    Xt = _designs(12, 2)
    C, U, F = _family(Xt)
    pred = trained.predict(Xt, C)
    assert pred.fields.shape == U.shape and pred.curve.shape == F.shape
    e_u = np.mean([relative_l2(pred.fields[i], U[i]) for i in range(len(Xt))])
    e_f = np.mean([relative_l2(pred.curve[i], F[i]) for i in range(len(Xt))])
    # held-out designs: the field history within 6 %, the curve within 3 %
    assert e_u < 0.06, e_u
    assert e_f < 0.03, e_f
    # the unloaded state is exactly zero
    assert np.all(pred.fields[:, 0] == 0) and np.all(pred.curve[:, 0] == 0)
    assert trained.history[-1] < 0.1 * trained.history[0]


def test_save_load_round_trip(tmp_path):
    X = _designs(16, 5)
    C, U, F = _family(X)
    trained = FieldCurveSurrogate(ensemble=2, device="cpu", width=16, layers=1, heads=2,
                                  slices=4, rank=4, latent=16).fit(X, C, F, U, BOUNDS, epochs=3)
    Xt = _designs(3, 4)
    C, _, _ = _family(Xt)
    path = tmp_path / "fc.pt"
    trained.save(path)
    # plain tensors and JSON: readable without unpickling code
    payload = torch.load(path, map_location="cpu", weights_only=True)
    assert payload["format"] == "physapp-surrogate"
    back = FieldCurveSurrogate.load(path, device="cpu")
    a, b = trained.predict(Xt, C), back.predict(Xt, C)
    np.testing.assert_allclose(b.fields, a.fields, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.curve, a.curve, rtol=1e-6, atol=1e-9)
    # two members: the ensemble spread is reported and survives the round trip
    assert a.curve_std[:, 1:].min() > 0
    np.testing.assert_allclose(b.curve_std, a.curve_std, rtol=1e-5, atol=1e-9)


def test_load_refuses_other_kind(tmp_path):
    from physapp.surrogates.storage import save_surrogate

    class Other:
        def state(self):
            return {"kind": "pod-gp"}, {"x": torch.zeros(1)}

    path = tmp_path / "other.pt"
    save_surrogate(Other(), path)
    with pytest.raises(PhysappError, match="not a field-curve model"):
        FieldCurveSurrogate.load(path)


def test_time_budget_ends_training():
    import time

    X = _designs(16, 5)
    C, U, F = _family(X)
    t0 = time.perf_counter()
    m = FieldCurveSurrogate(device="cpu", width=16, layers=1, heads=2, slices=4, rank=4,
                            latent=16).fit(X, C, F, U, BOUNDS, epochs=100000, time_budget=1.0)
    assert time.perf_counter() - t0 < 10.0
    assert 0 < m.epochs_run < 100000 and len(m.nets) == 1
    assert m.predict(X[:2], C[:2]).fields.shape == U[:2].shape


def test_unknown_option():
    with pytest.raises(ValueError, match="unknown options"):
        FieldCurveSurrogate(depth=3)

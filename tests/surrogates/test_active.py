"""Active learning: candidate pool, integrated-variance acquisition, diverse batches.

Oracles: the GP's own predictive variance (the acquisition is its sum over the field's POD
coefficients, which the model's std field also sums), and an exact refit of the GP with the
believed point added (the kriging-believer update must equal it).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from physapp.core.errors import ParameterError
from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.active import (
    candidate_pool,
    field_norm2,
    field_variance,
    select_batch,
    spread,
)
from physapp.surrogates.data import TrainingData
from physapp.surrogates.gp import BatchedGP
from physapp.surrogates.online import fit_pod_gp


def synthetic(n: int, seed: int = 0) -> TrainingData:
    """A 1-D bar of 40 nodes; the field depends smoothly on two parameters."""
    s = np.linspace(0.0, 1.0, 40)
    pts = np.column_stack([s, np.zeros_like(s), np.zeros_like(s)])
    mesh = MeshData(pts, (CellBlock("line", np.column_stack([np.arange(39), np.arange(1, 40)])),),
                    {}, {}, 2, "m")
    X = np.random.default_rng(seed).random((n, 2)) * [2.0, 1.0] + [1.0, 0.0]
    f = np.sin(X[:, :1] * 2.0 * s) + X[:, 1:] * s**2
    coords = np.broadcast_to(pts[:, :2], (n, 40, 2)).astype(np.float32)
    return TrainingData("synthetic", ("a", "b"), np.array([[1.0, 3.0], [0.0, 1.0]]), {}, mesh,
                        X, coords.copy(), {"u": f.astype(np.float32)})


@pytest.fixture(scope="module")
def model():
    return fit_pod_gp(synthetic(12), iters=80, restarts=1)


def test_pool_is_reproducible_inside_the_bounds_and_filtered():
    b = np.array([[0.0, 1.0], [10.0, 20.0]])
    a = candidate_pool(b, 64, seed=3)
    assert a.shape == (64, 2) and np.all(a >= b[:, 0]) and np.all(a <= b[:, 1])
    np.testing.assert_array_equal(a, candidate_pool(b, 64, seed=3))
    kept = candidate_pool(b, 64, seed=3, accept=lambda r: r[0] < 0.5)
    assert np.all(kept[:, 0] < 0.5) and 20 < len(kept) < 44  # about half of a Sobol set
    with pytest.raises(ParameterError):
        candidate_pool(b, 0)


def test_acquisition_is_the_field_variance_the_model_reports(model):
    X = candidate_pool(model.bounds, 16, seed=1)
    acq = field_variance(model, "u", X)
    gp, basis = model.gp, model.pod.bases["u"]
    std = model.predict_arrays(X)["u_std"].astype(np.float64)
    noise = float((gp.hyper()["noise_var"] * gp.y_scale.pow(2)).sum())
    expected = (std**2).sum(1) - float(basis.residual_var.double().sum()) - noise
    np.testing.assert_allclose(acq, expected, rtol=2e-3, atol=1e-6 * expected.max())
    # small at a training design, larger away from the data
    at_data = field_variance(model, "u", gp.x.numpy()[:1] * 0 + model.info.denormalise(
        gp.x.numpy()[:1]))
    assert at_data[0] < 0.05 * acq.max()


def test_believed_point_updates_variance_like_an_exact_refit(model):
    pool = candidate_pool(model.bounds, 64, seed=2)
    idx, _ = select_batch(model, "u", pool, 2, criterion="variance")
    # exact: add the first chosen design to the GP (any value: the variance does not see it)
    gp = model.gp
    x1 = torch.as_tensor(model.normalise(pool[idx[:1]]), dtype=torch.float64)
    aug = BatchedGP(torch.cat([gp.x, x1]), torch.cat([gp.y, gp.y[:1]]), gp.raw,
                    kernel=gp.kernel, noise_floor=gp.noise_floor, trend=gp.trend)
    aug.y_scale = gp.y_scale  # the acquisition's units are the original model's
    model2 = type(model)(model.info, "cpu", model.options, model.pod, aug)
    v2 = field_variance(model2, "u", pool)
    v2[idx[0]] = -1.0
    assert int(np.argmax(v2)) == idx[1]


def test_batches_are_diverse_and_avoid_pending_designs(model):
    pool = candidate_pool(model.bounds, 512, seed=4)
    acq = field_variance(model, "u", pool)
    naive = np.argsort(acq)[::-1][:6]  # the top of the variance: clustered
    for crit in ("variance", "ivr"):
        idx, scores = select_batch(model, "u", pool, 6, criterion=crit)
        assert len(set(idx.tolist())) == 6
        assert spread(pool[idx], model.bounds) > 2.0 * spread(pool[naive], model.bounds)
        assert np.all(np.diff(scores) <= 1e-9 * abs(scores[0]))  # each pick gains less
    first, _ = select_batch(model, "u", pool, 1, criterion="variance")
    assert first[0] == int(np.argmax(acq))
    # a design being solved (or failed) at the best candidate pushes the choice away
    again, _ = select_batch(model, "u", pool, 1, criterion="variance", pending=pool[first])
    assert spread(np.vstack([pool[first], pool[again]]), model.bounds) > 0.1
    with pytest.raises(ParameterError):
        select_batch(model, "u", pool, 1, criterion="nope")


def test_a_local_weight_steers_the_choice_to_where_the_gp_was_surprised(model):
    pool = candidate_pool(model.bounds, 256, seed=5)
    region = pool[:, 0] < 1.5
    w = np.where(region, 100.0, 1.0)
    for crit in ("variance", "ivr"):
        idx, _ = select_batch(model, "u", pool, 3, criterion=crit, local_weight=w)
        assert region[idx].all()


def test_field_norm_is_the_norm_of_the_predicted_field(model):
    """Oracle: the squared norm of the field the model predicts (reconstructed on the mesh)."""
    X = candidate_pool(model.bounds, 8, seed=6)
    pred = model.predict_arrays(X)["u"].astype(np.float64)
    np.testing.assert_allclose(field_norm2(model, "u", X), (pred**2).sum(1), rtol=1e-4)


def test_a_length_scale_cap_keeps_a_flat_looking_input_in_play():
    """Input b plays no part in the field: its fitted length scale is long, so a design that
    differs from a solved one in b only counts as known; with the length scales capped (the
    GP refactored with them) it does not."""
    data = synthetic(8)
    data.fields["u"] = (data.fields["u"] - data.X[:, 1:] * np.linspace(0, 1, 40) ** 2
                        ).astype(np.float32)  # no b at all
    m = fit_pod_gp(data, iters=80, restarts=1)
    assert float(m.gp.hyper()["lengthscale"][0, 1]) > 3.0
    moved = data.X.copy()
    moved[:, 1] = 1.0 - moved[:, 1]
    _, free = select_batch(m, "u", moved, 1, criterion="variance")
    _, capped = select_batch(m, "u", moved, 1, criterion="variance", ls_cap=0.5)
    solved = select_batch(m, "u", data.X, 1, criterion="variance", ls_cap=0.5)[1]
    assert capped[0] > 100 * free[0] and capped[0] > 100 * solved[0]

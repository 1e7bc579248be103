"""Learn while solving: the run stops at its target (checked against fresh solves), refuses a
target of 0 or a budget of 0, stops at the budget with a model and a message when the target
cannot be reached, records failing designs without retrying them, and a rerun on the same data
set continues without repeating a design.

Study: the thick-walled cylinder (Lame) on a 48-node P1 mesh, bore radius and pressure varied:
a solve takes milliseconds.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from physapp.core.errors import ParameterError
from physapp.surrogates.dataset import DONE, FAILED, Dataset
from physapp.surrogates.gp import kernel_matrix
from physapp.surrogates.online import (
    InlineExecutor,
    OnlineConfig,
    loo_error,
    open_or_create,
    random_designs,
    run_online,
    solve_designs,
    solve_setup,
)
from physapp.surrogates.storage import read_header

VARY = ("inner_radius", "pressure")
FIXED = {"mesh_size": 0.05}


def config(**kw) -> OnlineConfig:
    base = dict(study_id="thick-cylinder", target=0.03, budget=24, field="von_mises",
                strategy="active", workers=0, vary=VARY, fixed=FIXED, order=1, n_init=4,
                pool_size=256, full_model=False)
    base.update(kw)
    return OnlineConfig(**base)


class CountingExecutor(InlineExecutor):
    """Solves in-process, counts how often each row is handed out, fails big bores."""

    def __init__(self, ds, capacity=2, fail_above=None):
        super().__init__(solve_setup(ds), capacity)
        self.count = collections.Counter()
        self.fail_above = fail_above
        self._failed = []

    def submit(self, i, candidates):
        self.count[i] += 1
        if self.fail_above is not None and candidates[0]["inner_radius"] > self.fail_above:
            self._failed.append(i)
        else:
            super().submit(i, candidates)

    def free(self):
        return self.capacity - len(self._todo) - len(self._failed)

    def poll(self, timeout, cancel=None):
        out = [("failed", i, "the solver diverged (test)", 0.0) for i in self._failed]
        self._failed = []
        return out + (super().poll(timeout) if self._todo else [])


def test_stops_at_its_target_and_the_measured_error_agrees(tmp_path):
    cfg = config()
    ds, _ = open_or_create(cfg, tmp_path / "d.h5")
    ex = CountingExecutor(ds)
    res = run_online(cfg, tmp_path / "d.h5", tmp_path / "m.pt", executor=ex)
    assert res.stopped == "target" and "Reached the target" in res.message
    assert res.estimate <= cfg.target < res.history[0].estimate
    assert res.history[-1].solves < cfg.budget
    # oracle: fresh solves at random designs
    test = solve_designs(ds, InlineExecutor(solve_setup(ds), 4), random_designs(ds, 6, seed=5))
    pred = res.model.predict_arrays(test.X)["von_mises"]
    meas = np.linalg.norm(pred - test.fields["von_mises"]) / np.linalg.norm(
        test.fields["von_mises"])
    assert meas < 2.0 * cfg.target
    meta = read_header(tmp_path / "m.pt")["meta"]
    online = meta["metrics"]["online"]
    assert online["stopped"] == "target" and online["estimated_rel_l2"] == res.estimate
    assert len(online["history"]) == len(res.history) and "von_mises" in meta["info"]["units"]


def test_a_zero_target_or_budget_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="above 0 %"):
        run_online(config(target=0.0), tmp_path / "a.h5")
    with pytest.raises(ParameterError, match="at least 1 solve"):
        run_online(config(budget=0), tmp_path / "a.h5")
    assert not (tmp_path / "a.h5").exists()


def test_an_unreachable_target_stops_at_the_budget_with_the_model(tmp_path):
    cfg = config(target=1e-6, budget=7, strategy="sobol")
    ds, _ = open_or_create(cfg, tmp_path / "d.h5")
    res = run_online(cfg, tmp_path / "d.h5", executor=CountingExecutor(ds, 3))
    assert res.stopped == "budget" and "budget of 7" in res.message
    assert res.model is not None and res.model.gp.x.shape[0] == 7
    assert Dataset.open(tmp_path / "d.h5").counts() == {"done": 7, "failed": 0, "pending": 0}


def test_failures_are_recorded_not_retried_and_a_rerun_repeats_no_design(tmp_path):
    cfg = config(target=1e-6, budget=10)
    ds, _ = open_or_create(cfg, tmp_path / "d.h5")
    ex = CountingExecutor(ds, 4, fail_above=0.07)
    run_online(cfg, tmp_path / "d.h5", executor=ex)
    first = Dataset.open(tmp_path / "d.h5")
    failed = np.flatnonzero(first.status == FAILED)
    assert len(failed) >= 1 and all("diverged" in first.message(i) for i in failed)
    assert np.all(first.X[failed, 0] > 0.07) and first.counts()["pending"] == 0
    # continue with a larger budget on the same file
    cfg2 = config(target=1e-6, budget=16)
    ex2 = CountingExecutor(first, 4, fail_above=0.07)
    res = run_online(cfg2, tmp_path / "d.h5", executor=ex2)
    again = Dataset.open(tmp_path / "d.h5")
    old = np.flatnonzero(first.status != 0)
    assert not set(ex2.count) & set(old.tolist())  # nothing solved before is handed out again
    assert max(ex.count.values()) == 1 and max(ex2.count.values()) == 1
    np.testing.assert_array_equal(again.X[old], first.X[old])
    solved = again.X[again.status != 0]
    assert len(np.unique(solved.round(12), axis=0)) == len(solved) == 16
    assert res.solved_this_run == int((again.status == DONE).sum() - (first.status == DONE).sum())


def test_leave_one_out_residuals_match_refits_without_each_sample(tmp_path):
    """Oracle for the closed form: the GP mean at x_i from the other samples only."""
    from physapp.surrogates.online import fit_pod_gp
    from tests.surrogates.test_active import synthetic

    data = synthetic(10)
    model = fit_pod_gp(data, iters=60, restarts=1)
    gp = model.gp
    h = gp.hyper()
    ys = (gp.y - gp.y_mean) / gp.y_scale
    brute = torch.zeros_like(ys)
    for i in range(len(ys)):
        keep = torch.arange(len(ys)) != i
        K = kernel_matrix(gp.kernel, gp.x[keep], gp.x[keep], h["lengthscale"], h["signal_var"])
        K = K + (h["noise_var"].view(-1, 1, 1) + 1e-10) * torch.eye(int(keep.sum()))
        k = kernel_matrix(gp.kernel, gp.x[i:i + 1], gp.x[keep], h["lengthscale"],
                          h["signal_var"])
        mu = (k @ torch.linalg.solve(K, ys[keep].T.unsqueeze(-1))).squeeze()
        brute[i] = ys[i] - mu
    r2 = ((brute * gp.y_scale).pow(2)).sum(1).numpy()
    trunc = float(model.pod.bases["u"].residual_var.double().sum())
    _, _, err2 = loo_error(model, data, "u")
    np.testing.assert_allclose(err2, r2 + trunc, rtol=1e-4)


def test_the_same_run_on_a_dask_cluster(tmp_path):
    """Designs solved by Dask workers (in-process threads here) stream into the same run."""
    from distributed import Client, LocalCluster

    from physapp.surrogates.online import DaskExecutor

    cfg = config(target=1e-6, budget=5, strategy="active", n_init=3)
    ds, _ = open_or_create(cfg, tmp_path / "d.h5")
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        ex = DaskExecutor(solve_setup(ds), client)
        assert ex.capacity == 2
        res = run_online(cfg, tmp_path / "d.h5", executor=ex)
    assert res.stopped == "budget" and res.solved_this_run == 5
    again = Dataset.open(tmp_path / "d.h5")
    assert again.counts()["done"] == 5
    assert len(np.unique(again.X.round(12), axis=0)) == 5


def test_stream_ratios_compare_new_errors_with_the_reported_std():
    """The held-back stream's z-scores: squared error over the sum of the model's own std
    field squared at designs it was not fitted on."""
    from physapp.surrogates.online import fit_pod_gp, stream_ratios
    from tests.surrogates.test_active import synthetic

    model = fit_pod_gp(synthetic(10), iters=60, restarts=1)
    new = synthetic(5, seed=3)
    pred = model.predict_arrays(new.X)
    err2 = ((pred["u"] - new.fields["u"]).astype(np.float64) ** 2).sum(1)
    expected = (pred["u_std"].astype(np.float64) ** 2).sum(1)
    np.testing.assert_allclose(stream_ratios(model, new, "u"), err2 / expected, rtol=1e-3)

"""Learn while solving: solves stream into a POD-GP that is refitted as they arrive, the next
designs are chosen where it is least sure, and the run stops at the error asked for.

:func:`run_online` is the loop (Qt-free, headless; ``physapp train-online`` and the app's
Run > Learn while solving call it)::

    plan (or reopen) a data set  ->  hand designs to free workers  ->  store each result as it
    arrives  ->  refit the POD-GP (warm-started)  ->  leave-one-out estimate of the relative L2
    error of the chosen field  ->  stop at the target or the budget, else choose the next designs

* Designs: the data set (:class:`~physapp.surrogates.dataset.Dataset`, HDF5, written by this
  process only) is planned with ``budget`` rows of a scrambled Sobol sequence. ``sobol`` solves
  them in order. ``active`` solves the first ``n_init`` of them, then rewrites each pending row,
  just before it is handed out, with the candidate of a Sobol pool that has the largest
  integrated predictive variance (:mod:`physapp.surrogates.active`; batches stay diverse by
  kriging believer; the variance is that of the GP with its length scales capped at ``ls_cap``,
  so that an input the first samples showed as flat still gets spread). A row is written
  (:mod:`physapp.surrogates.online_data`) before it is solved and never changed once done or
  failed, so a rerun on the same file continues without repeating a design, and a design that
  failed is recorded with its message and not tried again (its neighbourhood counts as known).
* Workers (:mod:`physapp.surrogates.online_exec`): local processes at a lower priority with one
  BLAS thread each (the app's predictions come first), a Dask cluster (``scheduler``), or this
  process (``workers=0``). New designs are handed out as soon as a worker is free, while the
  model is refitted: the solves keep streaming.
* Refits (:mod:`physapp.surrogates.online_fit`): the POD basis is recomputed from every sample
  (cheap), the GP hyper-parameters are warm-started from the previous fit with few iterations,
  and fully re-optimised whenever the number of samples has grown by half since the last full
  fit.
* Error estimate: the GP's closed-form leave-one-out residuals of the POD coefficients plus the
  leave-one-out POD truncation residual, in physical units (undoing the study's field scaling),
  aggregated as ||error|| / ||field|| over all samples like the held-out metric of
  :func:`~physapp.surrogates.training.evaluate`; its spread is a bootstrap over the samples.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

import numpy as np

from physapp.core.errors import Cancelled, ParameterError, PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.online_data import (  # noqa: F401 - re-exported
    ONLINE_ATTR,
    _set_row,
    grow,
    open_or_create,
    training_data,
)
from physapp.surrogates.online_exec import (  # noqa: F401 - re-exported
    WORKER_NICE,
    DaskExecutor,
    InlineExecutor,
    ProcessExecutor,
    background,
    random_designs,
    solve_designs,
    solve_setup,
)
from physapp.surrogates.online_fit import (  # noqa: F401 - re-exported
    _std_scale,
    calibrated_error,
    fit_pod_gp,
    local_calibration,
    loo_error,
    loo_ratios,
    measured_error,
    stream_ratios,
)

STRATEGIES = ("active", "sobol")


# ------------------------------------------------------------------------------------------------
@dataclass
class OnlineConfig:
    """What to learn and when to stop (plain values: it is sent to a child process).

    target : relative L2 error of ``field`` to reach (a fraction: 0.02 for 2 %).
    budget : at most this many solves (failed ones count); the data set holds this many rows.
    strategy : ``"active"`` (uncertainty sampling) or ``"sobol"`` (space filling).
    workers : parallel solves (local processes; 0 = solve in this process).
    n_init : designs of the initial Sobol design before active choices (default max(2p, 6)).
    """

    study_id: str
    target: float
    budget: int
    field: str = "von_mises"
    strategy: str = "active"
    workers: int = 1
    scheduler: str = ""
    vary: tuple[str, ...] | None = None
    fixed: Mapping[str, float] = dc_field(default_factory=dict)
    bounds: Mapping[str, tuple[float, float]] = dc_field(default_factory=dict)
    order: int = 2
    seed: int = 0
    n_init: int | None = None
    pool_size: int = 2048
    check_morph: bool = True
    test_designs: int = 0  # extra solves at random designs to measure the final error
    full_model: bool = True  # the saved model learns every field (else the chosen one)
    min_refit_fraction: float = 0.5  # full hyper-parameter fit when n grew by this much
    #: acquisition of the active strategy (physapp.surrogates.active.select_batch): "ivr" or
    #: "variance", "-loo" weighting the variance by the local leave-one-out calibration
    criterion: str = "ivr"
    #: error estimate: "loo" (the integrated variance calibrated by leave-one-out z-scores) or
    #: "stream" (by each model's error at the designs solved after it, once 8 are known); on
    #: the plate benchmark "loo" was within 1.1-1.3x of the measured error with active
    #: sampling (2x above it with Sobol), "stream" 1.8-1.9x above it with both
    estimator: str = "loo"
    #: what an error at a design counts in the acquisition: "magnitude" (the square of the
    #: predicted field's norm in physical units: errors grow with the field, and the relative
    #: L2 error sums them) or "scale" (the square of the study's physical field scale only)
    weighting: str = "scale"
    #: cap on the GP length scales the acquisition uses (normalised inputs; 0: none)
    ls_cap: float = 2.0

    def check(self) -> None:
        if not (isinstance(self.target, (int, float)) and math.isfinite(self.target)
                and self.target > 0):
            raise ParameterError(
                f"The target error must be above 0 % (got {self.target * 100:g} %): no "
                "surrogate is exact; ask for e.g. 2 %.")
        if self.target >= 1:
            raise ParameterError(f"The target error must be below 100 % (got "
                                 f"{self.target * 100:g} %).")
        if int(self.budget) < 1:
            raise ParameterError(
                f"The budget must be at least 1 solve (got {self.budget}); a POD-GP needs at "
                "least 3 solved designs, an error estimate a few more.")
        if self.strategy not in STRATEGIES:
            raise ParameterError(f"Unknown strategy '{self.strategy}'; use "
                                 f"{' or '.join(STRATEGIES)}.")
        if self.criterion.removesuffix("-loo") not in ("ivr", "variance"):
            raise ParameterError(f"Unknown criterion '{self.criterion}'.")
        if self.weighting not in ("magnitude", "scale"):
            raise ParameterError(f"Unknown weighting '{self.weighting}'.")
        if self.estimator not in ("stream", "loo"):
            raise ParameterError(f"Unknown estimator '{self.estimator}'.")
        if self.workers < 0:
            raise ParameterError(f"The number of workers must be 0 or more (got "
                                 f"{self.workers}).")
        if self.test_designs < 0:
            raise ParameterError("The number of test designs cannot be negative.")


@dataclass
class Step:
    """One refit of the run (a point of the live chart)."""

    solves: int  # done + failed so far
    done: int
    failed: int
    estimate: float  # leave-one-out relative L2 error of the field
    estimate_std: float  # its bootstrap spread
    elapsed_s: float
    fit_s: float
    full_fit: bool
    measured: float | None = None  # against a test set, when one is given (benchmarks)
    loo: float | None = None  # the plain leave-one-out relative L2 error of the samples
    calibration: float | None = None  # mean squared LOO z-score of the GP (1: calibrated)


@dataclass
class OnlineResult:
    model: Any
    stopped: str  # "target", "budget" or "exhausted" (nothing left to solve)
    message: str
    history: list[Step]
    estimate: float
    measured: float | None
    model_path: Path | None = None
    solved_this_run: int = 0


# ------------------------------------------------------------------------------------------------
def run_online(
    cfg: OnlineConfig,
    data_path: str | os.PathLike,
    model_path: str | os.PathLike | None = None,
    *,
    executor: Any = None,
    test: Any = None,
    progress: ProgressFn = no_progress,
    on_step: Callable[[Step, Any, dict], None] | None = None,
    cancel: CancelToken = NEVER,
    paused: Callable[[], bool] = lambda: False,
) -> OnlineResult:
    """Solve, learn and stop (see the module docstring).

    Parameters
    ----------
    cfg : what to learn, the target and the budget (checked first: a target of 0 or a budget
        of 0 is refused).
    data_path : the data set file; an existing one is continued (no design is solved twice).
    model_path : where to save the final model (``None``: not saved).
    executor : an executor (tests); default from ``cfg.workers``/``cfg.scheduler``.
    test : optional TrainingData of independent designs: the measured error at every refit.
    on_step : called after every refit with (step, model, extra) where extra has ``X`` (solved
        designs), ``failed_X``, ``pool_X`` and ``pool_std`` (the model's integrated std of the
        field at a sample of the candidate pool), for a live view.
    paused : while it returns True no new design is handed out (those running finish).

    Raises Cancelled (the data set keeps every solved design) or PhysappError.
    """
    from physapp.surrogates import doe
    from physapp.surrogates.active import candidate_pool, field_variance, select_batch
    from physapp.surrogates.dataset import DONE, FAILED, PENDING

    cfg.check()
    t0 = time.perf_counter()
    ds, resumed = open_or_create(cfg, Path(data_path), progress=progress, cancel=cancel)
    if cfg.field not in _field_names(ds, cfg):
        raise ParameterError(f"{cfg.study_id} has no field '{cfg.field}'; choose one of "
                             f"{', '.join(_field_names(ds, cfg))}.")
    budget = int(cfg.budget)
    p = len(ds.param_names)
    n_init = int(cfg.n_init or max(2 * p, 6))
    design = doe.Design(ds.param_names, ds.bounds, dict(ds.fixed))
    accept = doe.feasibility(ds.study, design)
    # candidates of active learning; a uniform sample of them is where the error is estimated
    pool = candidate_pool(ds.bounds, cfg.pool_size, seed=cfg.seed + 7717, accept=accept)
    if len(pool) == 0:
        raise PhysappError("No design inside the bounds can be built by the study.")
    probe = pool[:: max(1, len(pool) // 256)]
    own = executor is None
    client = None
    if own:
        setup = solve_setup(ds)
        if cfg.scheduler:
            from physapp.compute.cluster import connect

            progress(0.0, f"Connecting to the Dask scheduler at {cfg.scheduler}")
            client = connect(cfg.scheduler)
            executor = DaskExecutor(setup, client, cfg.workers or None)
        elif cfg.workers == 0:
            executor = InlineExecutor(setup, 1)
        else:
            executor = ProcessExecutor(setup, cfg.workers)
    history: list[Step] = []
    model = None
    n_full = 0  # samples at the last full hyper-parameter fit
    in_flight: dict[int, np.ndarray] = {}
    solved = 0
    stopped = ""
    last_fit_n = -1
    kill = True
    used = np.zeros(len(pool), dtype=bool)
    stream: list[float] = []  # error / predicted variance at designs solved after each fit
    fitted = np.zeros(0, dtype=np.int64)  # rows the current model was fitted on

    def counts() -> tuple[int, int]:
        return int((ds.status == DONE).sum()), int((ds.status == FAILED).sum())

    def choose(k: int) -> list[int]:
        """Pending rows to hand out next, planned at the chosen designs."""
        free_rows = [int(i) for i in np.flatnonzero(ds.status == PENDING) if i not in in_flight]
        done, failed = counts()
        k = min(k, len(free_rows), budget - done - failed - len(in_flight))
        if k <= 0:
            return []
        rows = free_rows[:k]
        if cfg.strategy == "sobol" or model is None or done + len(in_flight) < n_init:
            return rows  # the planned Sobol rows (the initial design of active learning)
        avail = np.flatnonzero(~used)
        if len(avail) == 0:
            return rows
        known = [ds.X[ds.status == FAILED], *[x[None] for x in in_flight.values()]]
        others = np.vstack(known) if sum(len(x) for x in known) else None
        cand = pool[avail]
        local = None
        if cfg.criterion.endswith("-loo"):
            local = local_calibration(model, cfg.field, cand)
        idx, _ = select_batch(model, cfg.field, cand, k, pending=others,
                              row_weight=_weights(model, cfg, cand),
                              criterion=cfg.criterion.removesuffix("-loo"),
                              local_weight=local, ls_cap=cfg.ls_cap)
        for i, j in zip(rows, avail[idx], strict=False):
            used[j] = True
            _set_row(ds, i, pool[j])
        return rows[: len(idx)]

    def mark_used() -> None:
        """Pool candidates already solved (a resumed run) are not offered again."""
        known = ds.X[ds.status != PENDING]
        if len(known):
            for x in known:
                hit = np.flatnonzero(np.all(np.isclose(pool, x, rtol=1e-12, atol=0), axis=1))
                used[hit] = True

    def refit() -> Step | None:
        nonlocal model, n_full, last_fit_n, fitted
        done, failed = counts()
        if done < 3 or done == last_fit_n:
            return None
        data = training_data(ds)
        t1 = time.perf_counter()
        if model is not None and cfg.estimator == "stream":  # the new designs, before refit
            fresh = np.flatnonzero(~np.isin(np.flatnonzero(ds.status == DONE), fitted))
            if len(fresh):
                stream.extend(stream_ratios(model, data.subset(fresh), cfg.field).tolist())
        fitted = np.flatnonzero(ds.status == DONE)
        full = model is None or done >= (1 + cfg.min_refit_fraction) * max(n_full, 1)
        # the previous optimum starts the fit (a full fit also tries new starts: the best
        # likelihood wins, so a refit does not lose what the last one found)
        model = fit_pod_gp(data, fields=[cfg.field], prev=model,
                           iters=200 if full else 60, restarts=3 if full else 1,
                           seed=cfg.seed, cancel=cancel)
        if full:
            n_full = done
        last_fit_n = done
        loo, _, _ = loo_error(model, data, cfg.field)
        est, est_std, calib = calibrated_error(
            model, data, cfg.field, probe,
            stream=np.asarray(stream) if cfg.estimator == "stream" else None)
        meas = measured_error(model, test, cfg.field) if test is not None else None
        step = Step(done + failed, done, failed, est, est_std, time.perf_counter() - t0,
                    time.perf_counter() - t1, full, meas, loo, calib)
        history.append(step)
        if on_step is not None:
            extra: dict[str, Any] = {"X": data.X, "failed_X": ds.X[ds.status == FAILED],
                                     "param_names": ds.param_names, "bounds": ds.bounds}
            sub = probe
            extra["pool_X"] = sub
            extra["pool_std"] = np.sqrt(np.maximum(  # RMS over the nodes, physical units
                field_variance(model, cfg.field, sub) * _std_scale(model, cfg.field, sub),
                0.0) / max(model.info.n_points, 1))
            on_step(step, model, extra)
        meas_txt = f", measured {meas * 100:.2f} %" if meas is not None else ""
        progress(min(1.0, (done + failed) / budget),
                 f"{done + failed}/{budget} solves ({failed} failed): estimated error "
                 f"{est * 100:.2f} % +- {est_std * 100:.2f}{meas_txt}")
        return step

    mark_used()
    try:
        done, failed = counts()
        progress(0.0, f"{'Resuming' if resumed else 'Starting'}: {done} solved, {failed} "
                 f"failed of a budget of {budget}")
        step = refit() if done >= 3 else None
        while True:
            if step is not None and done >= n_init and step.estimate <= cfg.target:
                stopped = "target"
                break
            done, failed = counts()
            if done + failed >= budget and not in_flight:
                stopped = "budget"
                break
            cancel.check()
            if not paused():
                for i in choose(executor.free()):
                    in_flight[i] = ds.X[i].copy()
                    executor.submit(i, [ds.values(i), *ds.alternates(i)])
            if not in_flight:
                if paused():
                    time.sleep(0.1)
                    continue
                stopped = "exhausted"  # nothing pending, nothing running
                break
            results = executor.poll(0.5, cancel)
            for kind, i, payload, elapsed in results:
                in_flight.pop(i, None)
                if kind == "done":
                    try:
                        ds.write_sample(i, payload["coords"], payload["fields"],
                                        payload["units"], payload["key_quantities"],
                                        payload["cells"], payload["boundaries"], elapsed,
                                        payload["values"])
                        solved += 1
                    except PhysappError as exc:
                        ds.write_failure(i, str(exc), elapsed)
                else:
                    ds.write_failure(i, str(payload), elapsed)
            if results:
                # hand the freed workers new designs before the refit: solves keep streaming
                if not paused() and model is not None:
                    for i in choose(executor.free()):
                        in_flight[i] = ds.X[i].copy()
                        executor.submit(i, [ds.values(i), *ds.alternates(i)])
                step = refit() or step
                done, failed = counts()
        if cfg.test_designs and test is None:
            test = solve_designs(ds, executor, random_designs(ds, cfg.test_designs, cfg.seed),
                                 progress=progress, cancel=cancel)
        kill = False
    except KeyboardInterrupt:
        raise Cancelled(_cancel_message(ds)) from None
    except Cancelled:
        raise Cancelled(_cancel_message(ds)) from None
    finally:
        if own:
            executor.close(kill=kill)
        if client is not None:
            client.close()
    return _finish(cfg, ds, model, history, stopped, model_path, solved, test, progress,
                   cancel, t0)


def _weights(model: Any, cfg: OnlineConfig, X: np.ndarray) -> np.ndarray:
    """Per candidate row, the factor of its predicted variance in the acquisition (see
    ``OnlineConfig.weighting``), normalised to a mean of 1."""
    from physapp.surrogates.active import field_norm2

    w = _std_scale(model, cfg.field, X)
    if cfg.weighting == "magnitude":
        w = w * field_norm2(model, cfg.field, X)
    return w / max(float(np.mean(w)), 1e-300)


def _field_names(ds: Any, cfg: OnlineConfig) -> list[str]:
    """The fields the study's solves give (from a stored sample, else the study's spec)."""
    import h5py

    with h5py.File(ds.path, "r") as f:
        if "samples/fields" in f:
            return list(f["samples/fields"])
    spec = ds.study.spec
    names = [fd.name.split("[")[0] for fd in spec.fields]
    return list(dict.fromkeys(names)) or [cfg.field]


def _cancel_message(ds: Any) -> str:
    c = ds.counts()
    return (f"Cancelled: {c['done']} solved and {c['failed']} failed designs are kept in "
            f"{ds.path}; run again with the same data set to continue.")


def _finish(cfg: OnlineConfig, ds: Any, model: Any, history: list[Step], stopped: str,
            model_path: Any, solved: int, test: Any, progress: ProgressFn,
            cancel: CancelToken, t0: float) -> OnlineResult:
    done = int(ds.counts()["done"])
    if model is None:
        raise PhysappError(
            f"Only {done} design(s) could be solved ({ds.counts()['failed']} failed) within "
            f"the budget of {cfg.budget}; a POD-GP needs at least 3. "
            + (f"The first failure: {ds.failures()[0][2]}" if ds.failures() else
               "Raise the budget."))
    last = history[-1]
    est = last.estimate
    pct = cfg.target * 100
    if stopped == "target":
        message = (f"Reached the target: estimated {cfg.field} error {est * 100:.2f} % <= "
                   f"{pct:g} % after {last.solves} solves.")
    elif stopped == "budget":
        best = min(history, key=lambda s: s.estimate)
        message = (f"Stopped at the budget of {cfg.budget} solves before the target of {pct:g} "
                   f"%: estimated {cfg.field} error {est * 100:.2f} % (best {best.estimate * 100:.2f} "
                   f"% at {best.solves} solves); the model uses every solved design. Raise the "
                   "budget and run again on the same data set to continue.")
    else:
        message = (f"Nothing left to solve ({done} solved, {ds.counts()['failed']} failed): "
                   f"estimated {cfg.field} error {est * 100:.2f} %.")
    final = model
    if model_path is not None and cfg.full_model:
        progress(0.99, "Fitting the final model on every field")
        final = fit_pod_gp(training_data(ds), seed=cfg.seed, cancel=cancel)
    measured = last.measured
    if test is not None:
        measured = measured_error(final, test, cfg.field)
    final.metrics = dict(final.metrics or {})
    final.metrics["online"] = {
        "field": cfg.field, "target": cfg.target, "budget": cfg.budget,
        "strategy": cfg.strategy, "stopped": stopped, "message": message,
        "estimated_rel_l2": est, "estimated_rel_l2_std": last.estimate_std,
        "measured_rel_l2": measured, "n_test": 0 if test is None else int(test.n_samples),
        "solves": last.solves, "failed": last.failed, "dataset": str(ds.path),
        "elapsed_s": round(time.perf_counter() - t0, 3),
        "history": [asdict(s) for s in history],
    }
    final.metrics.update(n_train=done, n_test=0 if test is None else int(test.n_samples))
    path = None
    if model_path is not None:
        from physapp.surrogates.storage import save_surrogate

        path = save_surrogate(final, Path(model_path))
    progress(1.0, message)
    return OnlineResult(final, stopped, message, history, est, measured, path, solved)

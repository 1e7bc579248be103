"""Training entry points, progress reporting and held-out metrics of field surrogates.

``train_surrogate(kind, data)`` fits one model on ``data.train()`` and scores it on
``data.test()``; ``train_all(data)`` fits every kind (the baselines always come along) and
:func:`metrics_table` formats their scores.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.surrogates.models import KINDS  # the model kinds, in the order train_all fits them

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.models.base import FieldSurrogate

#: ``on_epoch(epoch, loss, val)``: ``val`` is None when no held-out samples are available
EpochCallback = Callable[[int, float, "float | None"], None]


class EpochReporter:
    """Reports training progress as ``"epoch 120/500 loss 3.1e-3 val 1.2e-2"`` and polls cancel.

    Parameters
    ----------
    total : number of epochs (or optimiser iterations).
    progress : receives (fraction, message) about ``reports`` times over the run.
    cancel : checked at every call of :meth:`tick`.
    on_epoch : called as ``on_epoch(epoch, loss, val)`` at every report.
    reports : roughly how many reports to make over ``total`` epochs.
    """

    def __init__(self, total: int, progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                 on_epoch: EpochCallback | None = None, *, reports: int = 100,
                 label: str = "epoch") -> None:
        self.total = max(int(total), 1)
        self.progress = progress
        self.cancel = cancel
        self.on_epoch = on_epoch
        self.every = max(1, self.total // max(reports, 1))
        self.label = label
        self.history: list[tuple[int, float, float | None]] = []

    def due(self, epoch: int) -> bool:
        """True when ``epoch`` (1-based) is a reporting epoch (also the last one)."""
        return epoch % self.every == 0 or epoch == self.total or epoch == 1

    def tick(self) -> None:
        self.cancel.check()

    def report(self, epoch: int, loss: float, val: float | None = None) -> None:
        self.cancel.check()
        self.history.append((epoch, float(loss), None if val is None else float(val)))
        text = f"{self.label} {epoch}/{self.total} loss {loss:.3g}"
        if val is not None:
            text += f" val {val:.3g}"
        self.progress(epoch / self.total, text)
        if self.on_epoch is not None:
            self.on_epoch(epoch, float(loss), None if val is None else float(val))


def lr_schedule(optimizer: Any, epochs: int, *, warmup: float = 0.05, final: float = 0.01
                ) -> Any:
    """Linear warm-up over ``warmup`` of the epochs, then cosine decay to ``final`` x the initial
    learning rate (any number of epochs, even 1)."""
    import torch

    n_warm = max(1, int(warmup * epochs))
    n_decay = max(1, epochs - n_warm)

    def factor(step: int) -> float:
        if step < n_warm:
            return (step + 1) / n_warm
        t = min(1.0, (step - n_warm) / n_decay)
        return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train_surrogate(
    kind: str,
    data: TrainingData,
    *,
    device: str = "auto",
    seed: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
    **options: Any,
) -> FieldSurrogate:
    """Train a field surrogate of ``kind`` on ``data.train()``; score it on ``data.test()``.

    Parameters
    ----------
    kind : ``"pod-gp"``, ``"pod-mlp"``, ``"neural-field"``, ``"linear"`` or ``"nearest"``.
    data : samples of one study; held-out samples (``is_test``) are only used for metrics and
        for the ``val`` column of the progress reports.
    device : ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; an unavailable GPU or a GPU
        running out of memory falls back to the CPU with a notice in ``model.notices``.
    seed : seed of every random choice (initialisation, restarts, point sampling).
    progress, cancel : progress reports and cooperative cancellation (raises Cancelled).
    **options : model options (see each model's ``OPTIONS``), ``on_epoch(epoch, loss, val)``, and
        ``field_scaling`` (default: the study's declared scaling, see
        :mod:`physapp.surrogates.scaling`; ``{}`` to learn raw fields).

    Returns
    -------
    The trained model, with ``metrics`` filled from the held-out samples.
    """
    from physapp.surrogates.device import resolve_device, with_cpu_fallback
    from physapp.surrogates.models import model_class

    cls = model_class(kind)
    from physapp.surrogates.scaling import for_training

    data, scaling, original_test = for_training(data, options)
    unknown = sorted(set(options) - set(cls.OPTIONS) - {"on_epoch"})
    if unknown:
        raise PhysappError(
            f"Unknown option(s) {', '.join(unknown)} for a {kind} surrogate; it accepts: "
            f"{', '.join(sorted(cls.OPTIONS)) or 'none'}."
        )
    train = data.train()
    test = data.test()
    if train.n_samples < cls.MIN_SAMPLES:
        raise PhysappError(
            f"A {kind} surrogate needs at least {cls.MIN_SAMPLES} training samples; the data "
            f"set has {train.n_samples} (plus {test.n_samples} held out). Run a larger sweep."
        )
    if not data.fields:
        raise PhysappError("The training data has no fields to learn.")
    dev, notice = resolve_device(device)
    t0 = time.perf_counter()

    def run(d: str) -> FieldSurrogate:
        return cls.fit(train, device=d, seed=seed, progress=progress, cancel=cancel,
                       val=test if test.n_samples else None, **options)

    model, used, oom_notice = with_cpu_fallback(run, dev, what=f"{kind} training")
    train_time = time.perf_counter() - t0
    model.notices.extend(n for n in (notice, oom_notice) if n)
    model.field_scaling = dict(scaling or {})
    test = original_test  # scored in physical units
    model.metrics = evaluate(model, test) if test.n_samples else {}
    model.metrics.update(n_train=train.n_samples, n_test=test.n_samples,
                         train_time_s=round(train_time, 4))
    progress(1.0, f"{kind}: trained in {train_time:.1f} s")
    return model


def train_all(
    data: TrainingData,
    *,
    kinds: Sequence[str] = KINDS,
    device: str = "auto",
    seed: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    **common: Any,
) -> dict[str, FieldSurrogate]:
    """Train several kinds (default: all) on the same data; the baselines are always included.

    Parameters
    ----------
    options : per-kind options, e.g. ``{"neural-field": {"epochs": 2000}}``.
    **common : options given to every kind that accepts them (e.g. ``epochs``, ``on_epoch``).

    Returns
    -------
    kind -> trained model, in the order of ``kinds`` (baselines appended when missing).
    """
    from physapp.surrogates.models import model_class

    order = list(dict.fromkeys([*kinds, "linear", "nearest"]))
    models: dict[str, FieldSurrogate] = {}
    for i, kind in enumerate(order):
        cls = model_class(kind)
        opts = {k: v for k, v in common.items()
                if k in cls.OPTIONS or k in ("on_epoch", "field_scaling")}
        opts.update((options or {}).get(kind, {}))
        sub = scaled(progress, i / len(order), (i + 1) / len(order))
        models[kind] = train_surrogate(
            kind, data, device=device, seed=seed, cancel=cancel,
            progress=lambda f, m, _k=kind, _s=sub: _s(f, f"{_k}: {m}"), **opts)
    return models


def evaluate(model: FieldSurrogate, data: TrainingData, *, chunk: int = 64) -> dict[str, Any]:
    """Held-out scores of ``model`` on ``data``.

    Returns
    -------
    ``{"fields": {name: {"rel_l2", "max_abs"[, "coverage95"]}}, "rel_l2_mean",
    ["coverage95"], ["coords": {...}], "latency_ms"}``: the relative L2 error is
    ||pred - true|| / ||true|| over all samples, nodes and components; the coverage is the share
    of nodal values (of components that vary across the training set) inside mean +- 1.96 std.
    """
    if data.n_samples == 0:
        return {}
    pred = model.predict_arrays(data.X, include_coords=True, chunk=chunk)
    out: dict[str, Any] = {"fields": {}}
    hits = total = 0
    for name in model.field_names:
        true = data.fields[name].astype(np.float64)
        p = pred[name].astype(np.float64)
        err = p - true
        entry: dict[str, float] = {
            "rel_l2": _rel(err, true),
            "max_abs": float(np.max(np.abs(err))) if err.size else 0.0,
        }
        std_name = f"{name}_std"
        if std_name in pred:
            varying = model.varying_mask(name)
            e = np.abs(err)[:, varying]
            s = pred[std_name].astype(np.float64)[:, varying]
            scale = float(np.sqrt(np.mean(true**2))) if true.size else 0.0
            inside = e <= 1.96 * s + 1e-9 * scale
            entry["coverage95"] = float(inside.mean()) if inside.size else 1.0
            if e.size:  # no varying component (a field that is 0 everywhere): undefined
                entry["mean_std_over_rmse"] = float(np.sqrt(np.mean(s**2)
                                                            / max(np.mean(e**2), 1e-300)))
            hits += int(inside.sum())
            total += inside.size
        out["fields"][name] = entry
    out["rel_l2_mean"] = float(np.mean([f["rel_l2"] for f in out["fields"].values()]))
    if total:
        out["coverage95"] = hits / total
    if "coords" in pred and model.coords_vary:
        true = data.coords.astype(np.float64)
        err = pred["coords"][..., : true.shape[-1]].astype(np.float64) - true
        out["coords"] = {"rel_l2": _rel(err, true - true.mean(axis=(0, 1))),
                         "max_abs": float(np.max(np.abs(err)))}
    # single-query latency (what a slider drag costs)
    params = dict(zip(model.param_names, data.X[0], strict=True))
    model.predict(params)  # warm-up
    times = []
    for _ in range(3):
        times.append(model.predict(params).meta["latency_ms"])
    out["latency_ms"] = float(np.median(times))
    return out


def _rel(err: np.ndarray, true: np.ndarray) -> float:
    den = float(np.linalg.norm(true))
    num = float(np.linalg.norm(err))
    if den == 0.0:
        return 0.0 if num == 0.0 else math.inf
    return num / den


def metrics_table(models: Mapping[str, FieldSurrogate], fields: Sequence[str] | None = None
                  ) -> str:
    """A plain-text table of the held-out metrics: one row per model and field."""
    lines = [f"{'model':<13} {'field':<14} {'rel L2':>9} {'max abs':>10} {'cov95':>6} "
             f"{'train s':>8} {'pred ms':>8}"]
    for kind, model in models.items():
        m = model.metrics or {}
        names = [f for f in (fields or model.field_names) if f in m.get("fields", {})]
        if not names:
            lines.append(f"{kind:<13} {'(no held-out samples)':<14}")
            continue
        for j, name in enumerate(names):
            f = m["fields"][name]
            cov = f"{f['coverage95']:.3f}" if "coverage95" in f else "-"
            tail = (f"{m.get('train_time_s', float('nan')):>8.2f} "
                    f"{m.get('latency_ms', float('nan')):>8.2f}") if j == 0 else ""
            lines.append(f"{kind if j == 0 else '':<13} {name:<14} {f['rel_l2'] * 100:>8.3f}% "
                         f"{f['max_abs']:>10.3g} {cov:>6} {tail}")
    return "\n".join(lines)

"""Deep ensembles of mesh-agnostic models: mean and spread, coverage, held-out scores.

The mesh-agnostic models (:mod:`physapp.surrogates.models.mesh_agnostic`) train ``members``
networks from different seeds (initialisation and data order); the prediction is their mean and
``<field>_std`` their standard deviation, shown like the GP's. :func:`coverage` is the share of
true nodal values inside mean +- z std; :func:`evaluate_samples` scores a model on samples with
their own meshes (:class:`~physapp.surrogates.samples.MeshSamples`) and
:func:`train_on_samples` is the ``train_surrogate`` of such data. Imports torch lazily.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.models.mesh_agnostic import MeshFieldSurrogate
    from physapp.surrogates.samples import MeshSample, MeshSamples

#: members of a deep ensemble by default (>= 3: two members give a poor spread)
DEFAULT_MEMBERS = 3
Z95 = 1.959963984540054


def ensemble_stats(outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(members, ...) predictions -> (mean, population standard deviation)."""
    a = np.asarray(outputs, np.float64)
    if a.shape[0] < 1:
        raise PhysappError("An ensemble needs at least one member.")
    return a.mean(0), a.std(0)


def coverage(pred: np.ndarray, std: np.ndarray, true: np.ndarray, z: float = Z95,
             mask: np.ndarray | None = None) -> float:
    """Share of values with |pred - true| <= z std (over ``mask`` when given)."""
    err = np.abs(np.asarray(pred, np.float64) - np.asarray(true, np.float64))
    s = np.asarray(std, np.float64)
    inside = err <= z * s + 1e-12 * (np.sqrt(np.mean(np.square(true))) if np.size(true) else 0)
    if mask is not None:
        inside = inside[mask]
    return float(inside.mean()) if inside.size else 1.0


def evaluate_samples(model: MeshFieldSurrogate, samples: Sequence[MeshSample],
                     fields: Sequence[str] | None = None) -> dict[str, Any]:
    """Held-out scores on samples that bring their own meshes.

    Returns ``{"fields": {name: {"rel_l2", "max_abs", "coverage95"}}, "rel_l2_mean",
    "coverage95", "latency_ms"}``: relative L2 over all samples, nodes and components; coverage of
    the ensemble's 95 % band (mean +- 1.96 std).
    """
    if not samples:
        return {}
    names = list(fields or model.field_names)
    num = dict.fromkeys(names, 0.0)
    den = dict.fromkeys(names, 0.0)
    mx = dict.fromkeys(names, 0.0)
    hits = dict.fromkeys(names, 0)
    tot = dict.fromkeys(names, 0)
    times = []
    for s in samples:
        t0 = time.perf_counter()
        res = model.predict_on_mesh(s.params, s.mesh, s.inputs or None)
        times.append(time.perf_counter() - t0)
        for n in names:
            true = np.asarray(s.outputs[n], np.float64)
            p = np.asarray(res.point_data[n], np.float64).reshape(true.shape)
            sd = np.asarray(res.point_data[f"{n}_std"], np.float64).reshape(true.shape)
            err = p - true
            num[n] += float(np.sum(err**2))
            den[n] += float(np.sum(true**2))
            mx[n] = max(mx[n], float(np.max(np.abs(err))) if err.size else 0.0)
            scale = float(np.sqrt(np.mean(true**2))) if true.size else 0.0
            inside = np.abs(err) <= Z95 * sd + 1e-9 * scale
            hits[n] += int(inside.sum())
            tot[n] += inside.size
    out: dict[str, Any] = {"fields": {}}
    for n in names:
        rel = (math.sqrt(num[n] / den[n]) if den[n] > 0 else (0.0 if num[n] == 0 else math.inf))
        out["fields"][n] = {"rel_l2": rel, "max_abs": mx[n],
                            "coverage95": hits[n] / max(tot[n], 1)}
    out["rel_l2_mean"] = float(np.mean([f["rel_l2"] for f in out["fields"].values()]))
    out["coverage95"] = sum(hits.values()) / max(sum(tot.values()), 1)
    out["latency_ms"] = float(np.median(times) * 1e3)
    return out


def train_on_samples(kind: str, samples: MeshSamples, *, device: str = "auto", seed: int = 0,
                     progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                     **options: Any) -> MeshFieldSurrogate:
    """Train a mesh-agnostic model (``"transolver"`` or ``"geo-field"``) on the training part of
    ``samples`` and score it on the held-out part (``model.metrics``). The device falls back to
    the CPU when the GPU is missing or runs out of memory (notice in ``model.notices``)."""
    from physapp.surrogates.device import resolve_device, with_cpu_fallback
    from physapp.surrogates.models import model_class
    from physapp.surrogates.models.mesh_agnostic import MeshFieldSurrogate

    cls = model_class(kind)
    if not issubclass(cls, MeshFieldSurrogate):
        raise PhysappError(f"A {kind} surrogate needs samples on one mesh topology; choose "
                           "transolver or geo-field for samples with different meshes.")
    from physapp.surrogates.scaling import study_scaling

    scaling = options.pop("field_scaling", None)
    if scaling is None:
        scaling = study_scaling(samples.study_id)
    learn, scaling = scale_samples(samples, scaling) if scaling else (samples, {})
    dev, notice = resolve_device(device)
    t0 = time.perf_counter()
    model, _, oom = with_cpu_fallback(
        lambda d: cls.fit_samples(learn, device=d, seed=seed, progress=progress,
                                  cancel=cancel, **options), dev, what=f"{kind} training")
    train_s = time.perf_counter() - t0
    model.field_scaling = dict(scaling)  # predictions are scaled back (base._unscale)
    model.notices.extend(n for n in (notice, oom) if n)
    train, test = samples.split()
    model.metrics = evaluate_samples(model, test) if test else {}
    model.metrics.update(n_train=len(train), n_test=len(test), train_time_s=round(train_s, 4))
    progress(1.0, f"{kind}: trained in {train_s:.1f} s")
    return model


def scale_samples(samples: MeshSamples, spec: Mapping[str, Any]
                  ) -> tuple[MeshSamples, dict[str, Any]]:
    """``samples`` with the outputs a study's ``field_scaling`` declares in scaled form (see
    :mod:`physapp.surrogates.scaling`: e.g. stresses / traction) and the spec used; the samples
    unchanged and ``{}`` when the spec cannot apply (a parameter it needs is unknown, or a scale is
    zero for some sample), so such data trains on raw fields."""
    from types import SimpleNamespace

    from physapp.surrogates.samples import MeshSample, MeshSamples
    from physapp.surrogates.scaling import check_spec, factors, rule_for

    view = SimpleNamespace(param_names=samples.param_names, fixed=samples.fixed, X=samples.X,
                           fields=dict.fromkeys(samples.output_names))
    try:
        check_spec(spec, view)
    except PhysappError:
        return samples, {}
    out = []
    for s in samples.samples:
        row = [{**samples.fixed, **s.params}]
        outputs = {}
        for name, arr in s.outputs.items():
            rule = rule_for(spec, name)
            if rule is None:
                outputs[name] = arr
                continue
            offset, scale = factors(rule, row)
            outputs[name] = (np.asarray(arr, np.float64) - offset[0]) / scale[0]
        out.append(MeshSample(s.mesh, s.params, outputs, s.inputs, s.key_quantities, s.name))
    return (MeshSamples(out, samples.param_names, samples.output_names, samples.input_names,
                        dict(samples.units), samples.is_test.copy(), samples.bounds.copy(),
                        samples.study_id, dict(samples.fixed)), dict(spec))


def train_all_on_samples(samples: MeshSamples, kinds: Sequence[str] | None = None, *,
                         device: str = "auto", seed: int = 0,
                         progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                         options: Mapping[str, Mapping[str, Any]] | None = None,
                         ) -> tuple[dict[str, MeshFieldSurrogate], dict[str, str]]:
    """Every kind of ``kinds`` (default: the built-in and plug-in kinds) that learns from samples
    with their own meshes, trained on ``samples`` and scored on the held-out part; returns
    (kind -> model, skipped kind -> why). ``options``: per-kind training options."""
    from physapp.core.progress import scaled
    from physapp.surrogates.models import MESH_KINDS, all_kinds, model_class
    from physapp.surrogates.models.mesh_agnostic import MeshFieldSurrogate

    names = list(dict.fromkeys(kinds or [*all_kinds(), *MESH_KINDS]))
    usable, skipped = [], {}
    for kind in names:
        try:
            cls = model_class(kind)
        except PhysappError as exc:
            skipped[kind] = str(exc)
            continue
        if issubclass(cls, MeshFieldSurrogate):
            usable.append(kind)
        else:
            skipped[kind] = ("needs every sample on one mesh topology (a morphed sweep); these "
                             "samples have their own meshes")
    models = {}
    for i, kind in enumerate(usable):
        sub = scaled(progress, i / len(usable), (i + 1) / len(usable))
        models[kind] = train_on_samples(
            kind, samples, device=device, seed=seed, cancel=cancel,
            progress=lambda f, m, _k=kind, _s=sub: _s(f, f"{_k}: {m}"),
            **dict((options or {}).get(kind, {})))
    return models, skipped

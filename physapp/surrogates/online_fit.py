"""The POD-GP of a learn-while-solving run and its error estimates (see
:mod:`physapp.surrogates.online`).

* :func:`fit_pod_gp`: the POD recomputed from every sample, the GP hyper-parameters
  warm-started from the previous model (matched by field and mode rank).
* :func:`loo_error`: the GP's closed-form leave-one-out residuals of the POD coefficients plus
  the leave-one-out POD truncation residual, in physical units, as ||error|| / ||field||.
* :func:`calibrated_error`: the integrated predictive variance over the design space,
  calibrated by the leave-one-out z-scores (or by a held-back stream, :func:`stream_ratios`).
* :func:`local_calibration`, :func:`measured_error`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from physapp.core.progress import NEVER, CancelToken


def fit_pod_gp(data: Any, *, fields: Sequence[str] | None = None, prev: Any = None,
               iters: int = 200, restarts: int = 3, seed: int = 0, device: str = "cpu",
               cancel: CancelToken = NEVER) -> Any:
    """A POD-GP surrogate of ``fields`` (default: all) of ``data`` (physical units; the study's
    field scaling is applied as in :func:`~physapp.surrogates.training.train_surrogate`).

    ``prev``: a previous model of the same fields whose GP hyper-parameters start the fit (the
    mode of the same rank of the same field takes its predecessor's; new modes a default)."""
    import torch

    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.gp import BatchedGP
    from physapp.surrogates.models.base import ModelInfo, check_options
    from physapp.surrogates.models.pod import PodGPSurrogate, PodSet
    from physapp.surrogates.scaling import scale_data, study_scaling

    if fields is not None:
        data = TrainingData(data.study_id, data.param_names, data.bounds, dict(data.fixed),
                            data.mesh, data.X, data.coords,
                            {k: data.fields[k] for k in fields}, dict(data.units),
                            np.zeros(data.n_samples, dtype=bool), dict(data.key_quantities),
                            data.scaled_out)
    scaling = study_scaling(data.study_id)
    sdata = scale_data(data, scaling) if scaling else data
    opts = check_options(PodGPSurrogate, {"epochs": int(iters), "restarts": int(restarts)})
    info = ModelInfo.from_data(sdata, log_inputs=True)
    pod = PodSet.fit(sdata, info, energy=opts["energy"], max_modes=opts["max_modes"],
                     device=device)
    cancel.check()
    gp = None
    if pod.total_rank:
        coeffs = pod.coefficients(sdata, info)
        xn = torch.as_tensor(info.normalise(sdata.X), dtype=torch.float64, device=device)
        gp = BatchedGP.fit(xn, coeffs, kernel=opts["kernel"], trend=opts["trend"],
                           restarts=opts["restarts"], iters=opts["epochs"], lr=opts["lr"],
                           noise_floor=opts["noise_floor"], seed=seed, cancel=cancel,
                           init=_warm_start(prev, pod, xn.shape[1]))
    model = PodGPSurrogate(info, device, opts, pod, gp)
    model.field_scaling = dict(scaling or {})
    return model


def _warm_start(prev: Any, pod: Any, d: int) -> dict[str, Any] | None:
    """Raw GP hyper-parameters for the outputs of ``pod`` from those of ``prev`` (matched by
    field and mode rank)."""
    import torch

    gp = getattr(prev, "gp", None)
    if gp is None or gp.x.shape[1] != d:
        return None
    from physapp.surrogates.gp import LOG_LS_RANGE, LOG_SF2_RANGE, _sn2_range, _unbounded

    old = prev.pod.slices()
    parts: dict[str, list[Any]] = {"log_ls": [], "log_sf2": [], "log_sn2": []}
    default = {
        "log_ls": _unbounded(torch.full((d,), math.log(0.5), dtype=torch.float64),
                             *LOG_LS_RANGE),
        "log_sf2": _unbounded(torch.zeros(1, dtype=torch.float64), *LOG_SF2_RANGE)[0],
        "log_sn2": _unbounded(torch.full((1,), math.log(1e-3), dtype=torch.float64),
                              *_sn2_range(gp.noise_floor))[0],
    }
    for name, b in pod.bases.items():
        sl = old.get(name)
        for k in range(b.rank):
            j = None if sl is None or k >= sl.stop - sl.start else sl.start + k
            for key in parts:
                parts[key].append(default[key] if j is None else
                                  gp.raw[key][j].detach().cpu().to(torch.float64))
    if not parts["log_sf2"]:
        return None
    return {k: torch.stack(v) for k, v in parts.items()}


# ------------------------------------------------------------------------------------------------
def loo_error(model: Any, data: Any, field_name: str, *, boot: int = 200, seed: int = 0
              ) -> tuple[float, float, np.ndarray]:
    """Leave-one-out estimate of the relative L2 error of ``field_name`` of a POD-GP ``model``
    fitted on ``data`` (the same samples, in the same order; physical units).

    Returns (relative L2 error over all samples, its bootstrap standard deviation, per-sample
    squared error in physical units)."""
    import torch

    from physapp.surrogates.scaling import factors, rule_for
    from physapp.surrogates.scaling import rows as value_rows

    gp, pod = model.gp, model.pod
    basis = pod.bases[field_name]
    sl = pod.slices()[field_name]
    n = data.n_samples
    true = np.asarray(data.fields[field_name], dtype=np.float64).reshape(n, -1)
    with torch.no_grad():
        if gp is None or sl.stop == sl.start:
            coef_err = np.zeros(n)
        else:
            idx = torch.arange(sl.start, sl.stop, device=gp.L.device)
            L = gp.L[idx]
            kinv_diag = torch.cholesky_inverse(L).diagonal(dim1=-2, dim2=-1)  # (m, n)
            r = gp.alpha[idx] / kinv_diag * gp.y_scale[idx].unsqueeze(1)  # (m, n)
            coef_err = r.pow(2).sum(0).cpu().numpy()
        trunc = float(basis.residual_var.double().sum())
    err2 = coef_err + trunc  # learned (scaled) units
    rule = rule_for(model.field_scaling or {}, field_name)
    if rule is not None:
        _, scale = factors(rule, value_rows(data))
        err2 = err2 * scale**2
    tot2 = (true**2).sum(1)
    rel = math.sqrt(err2.sum() / max(tot2.sum(), 1e-300))
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n, size=(boot, n))
    boots = np.sqrt(err2[picks].sum(1) / np.maximum(tot2[picks].sum(1), 1e-300))
    return rel, float(boots.std()), err2


def calibrated_error(model: Any, data: Any, field_name: str, probe: np.ndarray, *,
                     boot: int = 200, seed: int = 0, stream: np.ndarray | None = None,
                     min_stream: int = 8) -> tuple[float, float, float]:
    """Expected relative L2 error of ``field_name`` over the design space: the model's
    predictive variance integrated over the mesh at the ``probe`` designs (uniform in the
    bounds), scaled by the leave-one-out calibration of the GP (mean of squared LOO residual /
    LOO variance over the samples, the largest tenth trimmed), plus the POD truncation
    residual, over the predicted field's norm. It is robust to where the samples are (active
    designs crowd the edges, whose LOO residuals are extrapolations).

    ``stream``: squared error / predicted variance of earlier models at the designs solved
    after them (:func:`stream_ratios`: a held-back stream, the prequential check of online
    learning). With at least ``min_stream`` of them (the last 48 are used) they calibrate
    the variance, truncation included, instead of the leave-one-out ratios.

    Returns (estimate, bootstrap std, calibration factor)."""
    import torch

    from physapp.surrogates.active import field_variance

    gp, pod = model.gp, model.pod
    sl = pod.slices()[field_name]
    trunc = float(pod.bases[field_name].residual_var.double().sum())
    if gp is None or sl.stop == sl.start:
        ratios = np.ones(data.n_samples)
        var = np.zeros(len(probe))
        noise = 0.0
    else:
        with torch.no_grad():
            idx = torch.arange(sl.start, sl.stop, device=gp.L.device)
            kd = torch.cholesky_inverse(gp.L[idx]).diagonal(dim1=-2, dim2=-1)  # (m, n)
            r2 = (gp.alpha[idx] / kd).pow(2).sum(0)
            v = (1.0 / kd).sum(0)
            ratios = (r2 / v.clamp_min(1e-300)).cpu().numpy()
            noise = float((gp.hyper()["noise_var"][idx] * gp.y_scale[idx].pow(2)).sum())
        var = field_variance(model, field_name, probe)
    scale2 = _std_scale(model, field_name, probe)
    pred = model.predict_arrays(probe)[field_name].astype(np.float64).reshape(len(probe), -1)
    den = float((pred**2).sum())

    def estimate(c: float) -> float:
        return math.sqrt(max(float((scale2 * (c * (var + noise) + trunc)).sum()), 0.0)
                         / max(den, 1e-300))

    def trimmed(x: np.ndarray) -> float:
        x = np.sort(x)
        return float(x[: max(1, int(math.ceil(0.9 * len(x))))].mean())

    if stream is not None and len(stream) >= min_stream:
        ratios = np.asarray(stream[-48:], dtype=np.float64)
        # the stream's ratios count the truncation residual with the variance
        var, noise, trunc = var + trunc, noise, 0.0
    c = trimmed(ratios)
    rng = np.random.default_rng(seed)
    boots = [estimate(trimmed(ratios[rng.integers(0, len(ratios), len(ratios))]))
             for _ in range(boot)]
    return estimate(c), float(np.std(boots)), c


def stream_ratios(model: Any, data: Any, field_name: str) -> np.ndarray:
    """Per sample of ``data`` (designs the model was not fitted on): squared error of the
    field (physical units, summed over the nodes) over the model's predicted variance there
    (integrated GP variance + noise + POD truncation residual)."""
    import torch

    from physapp.surrogates.active import field_variance

    gp, pod = model.gp, model.pod
    sl = pod.slices()[field_name]
    trunc = float(pod.bases[field_name].residual_var.double().sum())
    noise = 0.0
    var = np.zeros(data.n_samples)
    if gp is not None and sl.stop > sl.start:
        with torch.no_grad():
            noise = float((gp.hyper()["noise_var"][sl] * gp.y_scale[sl].pow(2)).sum())
        var = field_variance(model, field_name, data.X)
    expected = _std_scale(model, field_name, data.X) * (var + noise + trunc)
    pred = model.predict_arrays(data.X)[field_name].astype(np.float64)
    true = np.asarray(data.fields[field_name], dtype=np.float64)
    err2 = ((pred - true) ** 2).reshape(data.n_samples, -1).sum(1)
    return err2 / np.maximum(expected, 1e-300)


def loo_ratios(model: Any, field_name: str) -> np.ndarray:
    """Per training sample: its squared leave-one-out residual over the GP's leave-one-out
    variance, summed over the field's POD coefficients (about 1 where the GP is calibrated,
    larger where it understates its error)."""
    import torch

    gp = model.gp
    sl = model.pod.slices()[field_name]
    if gp is None or sl.stop == sl.start:
        return np.ones(0 if gp is None else gp.x.shape[0])
    with torch.no_grad():
        idx = torch.arange(sl.start, sl.stop, device=gp.L.device)
        kd = torch.cholesky_inverse(gp.L[idx]).diagonal(dim1=-2, dim2=-1)
        r2 = (gp.alpha[idx] / kd).pow(2).sum(0)
        v = (1.0 / kd).sum(0)
        return (r2 / v.clamp_min(1e-300)).cpu().numpy()


def local_calibration(model: Any, field_name: str, X: np.ndarray, *, lo: float = 0.1,
                      hi: float = 100.0) -> np.ndarray:
    """Per row of ``X``: the leave-one-out ratio (:func:`loo_ratios`) of the nearest training
    sample in the model's normalised inputs, clipped to [lo, hi]: where the GP has been
    surprised, its variance is trusted less (as the leave-one-out term of MEPE-style adaptive
    sampling)."""
    ratios = loo_ratios(model, field_name)
    if len(ratios) == 0:
        return np.ones(len(X))
    xt = model.gp.x.cpu().numpy()
    xq = model.normalise(np.atleast_2d(X))
    d = ((xq[:, None, :] - xt[None, :, :]) ** 2).sum(-1)
    return np.clip(ratios[np.argmin(d, axis=1)], lo, hi)


def measured_error(model: Any, test: Any, field_name: str) -> float:
    """Relative L2 error of ``field_name`` on the samples of ``test`` (TrainingData)."""
    pred = model.predict_arrays(test.X)[field_name].astype(np.float64)
    true = np.asarray(test.fields[field_name], dtype=np.float64)
    return float(np.linalg.norm(pred - true) / max(np.linalg.norm(true), 1e-300))


def _std_scale(model: Any, field_name: str, X: np.ndarray) -> np.ndarray:
    """Per design, the square of the physical scale of the learned field (1 when unscaled)."""
    from physapp.surrogates.scaling import factors, rule_for

    rule = rule_for(model.field_scaling or {}, field_name)
    if rule is None:
        return np.ones(len(X))
    rows = []
    for x in X:
        r = dict(model.fixed)
        r.update(zip(model.param_names, map(float, x), strict=True))
        rows.append(r)
    return factors(rule, rows)[1] ** 2

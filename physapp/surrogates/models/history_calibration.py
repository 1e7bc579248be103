"""Calibrated uncertainty bands of the history surrogates (#18): leave-one-history-out scaling.

The GP variances of a history model, carried through its POD basis, are the spread of the POD
coefficients only; they leave out the truncated modes and treat the coefficients as independent,
so the raw +-1.96 std band of a field or curve history held well under 95 % of held-out values
(0.3-0.6 measured). As the steady POD-GP does with its leave-one-out POD residuals, the bands are
calibrated on the training histories themselves, never on the held-out ones:

1. for every training history i, the GP is conditioned on the other histories only (the same
   hyperparameters: one Cholesky factorisation, no re-fit) and predicts history i at every
   frame -- a prediction of a design the model has not seen (for the phase-aligned kind the
   phase of history i comes from its phase GP conditioned on the others too);
2. per field and per curve, the ratio z = |error| / std over every frame and varying node of
   those left-out predictions;
3. the factor that puts 95 % of the ratios inside +-1.96 std (a split-conformal quantile) scales
   that output's standard deviations from then on (``arrays["f_std_scale"]``,
   ``arrays["c_std_scale"]``).

The basis itself is not re-computed without history i (as in the steady models' GP part), so the
factors are slightly optimistic when the POD truncation error dominates. numpy + torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: at most this many ratios per output enter the quantile (a random subset)
MAX_RATIOS = 200_000
Z95 = 1.959964


def _conditioned(gp: Any, keep: np.ndarray) -> Any:
    """``gp`` with the same hyperparameters, conditioned on the training rows ``keep`` only."""
    from physapp.surrogates.gp import BatchedGP

    return BatchedGP(gp.x[keep], gp.y[keep], gp.raw, kernel=gp.kernel,
                     noise_floor=gp.noise_floor, trend=gp.trend)


def loo_gp(gp: Any, rows_per_design: int, i: int) -> Any:
    """``gp`` (training rows grouped per design, ``rows_per_design`` each) without design ``i``."""
    n_rows = gp.x.shape[0]
    keep = np.ones(n_rows, dtype=bool)
    keep[i * rows_per_design:(i + 1) * rows_per_design] = False
    return _conditioned(gp, keep)


def _factor(z: list[np.ndarray], rng: np.random.Generator) -> float:
    allz = np.concatenate([a.ravel() for a in z]) if z else np.zeros(0)
    allz = allz[np.isfinite(allz)]
    if allz.size == 0:
        return 1.0
    if allz.size > MAX_RATIOS:
        allz = rng.choice(allz, MAX_RATIOS, replace=False)
    q = float(np.quantile(allz, 0.95))
    return float(np.clip(q / Z95, 1e-3, 1e6)) if q > 0 else 1.0


def calibrate(model: Any, data: Any, xn: np.ndarray, x: np.ndarray, y: np.ndarray,
              Y: np.ndarray, Cs: np.ndarray) -> dict[str, float]:
    """Set ``model.arrays["f_std_scale"]`` / ``["c_std_scale"]`` from left-out training
    histories (see the module docstring). ``xn`` (n, p) the normalised designs, ``x``/``y`` the
    GP's training rows (grouped per design), ``Y`` (n, F, W) the scaled fields, ``Cs`` (n, F, C)
    the scaled curves. Returns the factors by output name (also in ``model.metrics``)."""
    import torch

    n, F = Y.shape[:2]
    if model.gp is None or n < 3:
        return {}
    rows = len(x) // n
    a = model.arrays
    nc = model.n_curve
    widths = model._widths()
    starts = np.cumsum([0] + [w for _, w in widths])
    masks = [np.asarray(model.varying_mask(name)).reshape(-1) for name, _ in widths]
    zf: list[list[np.ndarray]] = [[] for _ in widths]
    zc: list[list[np.ndarray]] = [[] for _ in model.curve_names]
    f_basis = a["f_basis"]
    tiny_f = 1e-9 * max(float(np.sqrt(np.mean(Y**2))), 1e-300)
    for i in range(n):
        sub = loo_gp(model.gp, rows, i)
        if model.SPACE_TIME:
            with torch.no_grad():
                m, v = sub.predict(torch.as_tensor(xn[i:i + 1], dtype=torch.float64),
                                   include_noise=False)
            m, v = m.cpu().numpy(), v.cpu().numpy()
        else:
            m, v = model._predict_frames(xn[i:i + 1], gp=sub, leave_out=i)
        if model.FIELD_GP and f_basis.shape[0]:
            if model.SPACE_TIME:
                pred = (a["f_mean"] + m[:, nc:] @ f_basis).reshape(F, -1)
                std = np.sqrt(v[:, nc:] @ f_basis**2).reshape(F, -1)
            else:
                pred = a["f_mean"] + m[:, nc:] @ f_basis
                std = np.sqrt(v[:, nc:] @ f_basis**2)
            err = np.abs(pred - Y[i])
            for j, (s0, s1) in enumerate(zip(starts[:-1], starts[1:], strict=True)):
                mk = masks[j]
                zf[j].append(err[:, s0:s1][:, mk] / (std[:, s0:s1][:, mk] + tiny_f))
        if nc:
            if model.SPACE_TIME:
                cp = (a["k_mean"] + m[:, :nc] @ a["k_basis"]).reshape(F, -1)
                cstd = np.sqrt(v[:, :nc] @ a["k_basis"] ** 2).reshape(F, -1)
            else:
                cp, cstd = m[:, :nc], np.sqrt(v[:, :nc])
            cerr = np.abs(cp - Cs[i])
            tiny_c = 1e-9 * max(float(np.abs(Cs).max()), 1e-300)
            for j in range(len(model.curve_names)):
                zc[j].append(cerr[:, j] / (cstd[:, j] + tiny_c))
    rng = np.random.default_rng(0)
    f_sc = np.array([_factor(z, rng) for z in zf]) if model.FIELD_GP else \
        np.ones(len(widths))
    c_sc = np.array([_factor(z, rng) for z in zc])
    a["f_std_scale"], a["c_std_scale"] = f_sc, c_sc
    out = {**{name: float(s) for (name, _), s in zip(widths, f_sc, strict=True)},
           **{f"curve {k}": float(s) for k, s in zip(model.curve_names, c_sc, strict=True)}}
    model.metrics = {**getattr(model, "metrics", {}), "std_scale": out}
    return out

"""The field-and-curve hybrid as an app model kind, ``field-curve`` (#22).

:class:`FieldCurveHistorySurrogate` wraps :class:`~physapp.surrogates.models.field_curve
.FieldCurveSurrogate` (a DeepONet: design branch, Transolver trunk over each design's nodes,
step trunk, curve head; a deep ensemble) so that it trains on the histories a sweep keeps
(``physapp train DATA --model field-curve``, ``physapp.train(data, "field-curve")``, Run > Train
surrogate) and answers like the other history kinds (``predict_history``, the last frame as a
single state, ``physapp predict``, the app's time slider and curve band).

* Every field of the histories is learned (the bottle: displacement (u_r, u_z) and von Mises),
  one output channel per component, each standardised by its RMS; every curve is one output of
  the curve head.
* Node coordinates that change with the design: the trunk reads each training design's own
  nodes; a new design's nodes come from a POD-GP of the coordinates on the parameters (as in
  the other history kinds), so predicting never meshes.
* The network's state at the first frame is zero (a load path from the unloaded state); a
  history that starts elsewhere (a transient from its initial state) is learned as its change
  from the training designs' mean first frame.
* Calibrated uncertainty (split conformal): ``calibration`` (default 20 %) of the training
  designs are kept out of the network's training; on them the normalised residual
  ``|error| / (ensemble std + floor)`` of every curve point (and of every nodal value of each
  field component) gives its 95 % quantile ``q``; the model's std is then
  ``q / 1.96 * (ensemble std + floor)``, so mean +- 1.96 std covers ~95 % of what the
  calibration designs saw (a 2-member ensemble's raw spread alone covered ~32 % of the bottle's
  held-out curve points). The floor (``floor`` x the output's RMS x the step coordinate) keeps
  the band from vanishing where the members agree by chance.

Training ends after ``epochs`` epochs or ``time_budget`` seconds (over all members), whichever
comes first. Saved with :mod:`physapp.surrogates.storage` (tensors + JSON).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.gp import load_gp, store_gp
from physapp.surrogates.models.base import ModelInfo, _np, check_options
from physapp.surrogates.models.history_model import (
    HistorySurrogate,
    fit_coords_gp,
    history_info,
)

#: a prediction band covering this share of the calibration designs' values
LEVEL = 0.95
Z95 = 1.959964


def _quantile(scores: np.ndarray) -> float:
    """The split-conformal quantile of ``scores`` at LEVEL (finite-sample corrected)."""
    s = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if s.size == 0:
        return Z95
    k = min(int(np.ceil((s.size + 1) * LEVEL)), s.size) - 1
    return float(max(s[k], 1e-6))


class FieldCurveHistorySurrogate(HistorySurrogate):
    """See the module docstring."""

    kind = "field-curve"
    MIN_SAMPLES = 4
    OPTIONS: ClassVar[dict[str, Any]] = {
        "epochs": 300, "time_budget": 600.0, "ensemble": 2, "nodes": 256, "batch": 8,
        "lr": 5e-3, "calibration": 0.2, "floor": 0.01, "width": 64, "layers": 2, "heads": 4,
        "slices": 16, "rank": 16, "latent": 64, "log_inputs": True, "max_modes": 24,
        "iters": 100, "kernel": "matern52",
    }
    NET_OPTIONS = ("width", "layers", "heads", "slices", "rank", "latent")

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any], *,
                 engine: Any, **kw: Any) -> None:
        super().__init__(info, device, options, gp=None, n_curve=0, **kw)
        self.engine = engine

    # -- layout of the network's channels --------------------------------------------------
    def _channels(self) -> list[tuple[str, int]]:
        """(field, components (0: scalar)) in channel order."""
        return [(name, self.info.field_shapes[name]) for name in self.field_names]

    def _measure(self, coords: np.ndarray) -> np.ndarray:
        """(q, P) lumped nodal measures of the reference topology at ``coords`` (q, P, dim)."""
        from physapp.core.mesh import MeshData
        from physapp.surrogates.models.mesh_geometry import nodal_measure

        m = self.mesh
        out = []
        for c in coords:
            pts = np.array(m.points, dtype=np.float64)
            pts[:, : c.shape[1]] = c
            out.append(nodal_measure(MeshData(pts, m.cells, {}, {}, m.dim)))
        return np.abs(np.asarray(out)) + 1e-30

    # -- training ----------------------------------------------------------------------------
    @classmethod
    def fit_history(cls, data: Any, *, device: str = "cpu", seed: int = 0,
                    progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                    **options: Any) -> FieldCurveHistorySurrogate:
        from physapp.surrogates.models.field_curve import FieldCurveSurrogate

        opts = check_options(cls, options)
        n, F = data.n_samples, data.n_frames
        if n < cls.MIN_SAMPLES:
            raise PhysappError(f"A {cls.kind} model needs at least {cls.MIN_SAMPLES} training "
                               f"histories; the data set has {n}.")
        info = history_info(data, bool(opts["log_inputs"]))
        xn = info.normalise(data.X)
        names = list(info.field_shapes)
        U = np.concatenate([data.fields[k].reshape(n, F, data.fields[k].shape[2], -1)
                            for k in names], axis=3).astype(np.float32)
        curve_names = sorted(data.curves)
        C = (np.stack([data.curves[k] for k in curve_names], axis=2) if curve_names
             else np.zeros((n, F, 0)))
        tn = (data.times - data.times[0]) / max(float(np.ptp(data.times)), 1e-300)
        # the network's state is zero at the first frame (the bottle's unloaded start); a
        # history that starts elsewhere is learned as its change from the training designs'
        # mean first frame
        u0, c0 = U[:, 0].mean(axis=0), C[:, 0].mean(axis=0)
        U, C = U - u0, C - c0
        arrays: dict[str, np.ndarray] = {"u0": u0.astype(np.float64), "c0": c0}
        progress(0.02, f"{cls.kind}: node coordinates of {n} designs")
        coords_gp = fit_coords_gp(info, data, xn, arrays, opts, seed, cancel)
        model = cls(info, device, opts, engine=None, times=data.times, curve_names=curve_names,
                    curve_units={k: data.curve_units.get(k, "") for k in curve_names},
                    time_label=data.time_label, time_unit=data.time_unit, arrays=arrays,
                    coords_gp=coords_gp)
        coords = np.asarray(data.coords, dtype=np.float64)
        measure = model._measure(coords)
        # split conformal: calibration designs are kept out of the network's training
        rng = np.random.default_rng(seed)
        frac = float(opts["calibration"])
        n_cal = max(1, int(round(frac * n))) if frac > 0 and n > cls.MIN_SAMPLES else 0
        order = rng.permutation(n)
        cal, fit = np.sort(order[:n_cal]), np.sort(order[n_cal:])
        engine = FieldCurveSurrogate(ensemble=int(opts["ensemble"]), device=device, seed=seed,
                                     **{k: opts[k] for k in cls.NET_OPTIONS})
        epochs, budget = int(opts["epochs"]), opts["time_budget"]
        total = epochs * int(opts["ensemble"])

        def report(i: int, loss: float) -> None:
            progress(0.05 + 0.85 * min(i / total, 1.0), f"{cls.kind}: epoch {i}/{total} "
                     f"loss {loss:.3g}")

        engine.fit(xn[fit], coords[fit], C[fit], U[fit], np.array([[0.0, 1.0]] * xn.shape[1]),
                   measure=measure[fit], steps=tn, epochs=epochs, lr=float(opts["lr"]),
                   batch=int(opts["batch"]), nodes=int(opts["nodes"]),
                   time_budget=None if budget is None or budget <= 0 else float(budget),
                   progress=report, cancel=cancel)
        model.engine = engine
        model.device = engine.device
        progress(0.92, f"{cls.kind}: calibrating the band on {n_cal} designs")
        cal_curve = np.full(len(curve_names), Z95)
        cal_field = np.full(U.shape[3], Z95)
        if n_cal:
            fc, fc_std, fu, fu_std = model._raw(xn[cal], coords[cal], measure[cal])
            for j in range(len(curve_names)):
                cal_curve[j] = _quantile(np.abs(fc[..., j] - C[cal][..., j]) / fc_std[..., j])
            for c in range(U.shape[3]):
                cal_field[c] = _quantile(np.abs(fu[..., c] - U[cal][..., c]) / fu_std[..., c])
        arrays.update(cal_curve=cal_curve, cal_field=cal_field)
        model.options["calibration_designs"] = int(n_cal)
        progress(1.0, f"{cls.kind}: {engine.epochs_run} epochs per member")
        return model

    # -- prediction --------------------------------------------------------------------------
    def _raw(self, xn: np.ndarray, coords: np.ndarray, measure: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(curves (q, F, K), their floored spread, fields (q, F, P, C), floored spread)."""
        e = self.engine
        pred = e.predict(xn, coords, measure)
        s = np.asarray(e.steps, dtype=np.float64)
        floor = float(self.options["floor"])
        curves = pred.curve if pred.curve.ndim == 3 else pred.curve[..., None]
        c_std = pred.curve_std if pred.curve_std.ndim == 3 else pred.curve_std[..., None]
        c_std = c_std + floor * e.f_scale[: curves.shape[2]] * s[None, :, None] + 1e-30
        f_std = (pred.field_std + floor * e.u_scale * s[None, :, None, None]) + 1e-30
        return curves, c_std, pred.fields, f_std

    def _history_arrays(self, xn: np.ndarray, with_std: bool
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        coords = self._coords(xn)
        curves, c_std, U, u_std = self._raw(xn, coords, self._measure(coords))
        q, F = U.shape[:2]
        a = self.arrays

        def flat(arr: np.ndarray) -> np.ndarray:  # (q, F, P, C) -> (q, F, W) field-major
            parts, c = [], 0
            for _, k in self._channels():
                w = max(k, 1)
                parts.append(arr[..., c:c + w].reshape(q, F, -1))
                c += w
            return np.concatenate(parts, axis=2)

        Y = flat(U + a["u0"])
        Ystd = flat(u_std * a["cal_field"] / Z95) if with_std else None
        return Y, Ystd, curves + a["c0"], c_std * a["cal_curve"] / Z95

    def _move(self, device: str) -> None:
        self.engine.nets = [net.to(device) for net in self.engine.nets]
        self.engine.device = device

    # -- persistence -------------------------------------------------------------------------
    def _tensors(self) -> tuple[dict[str, Any], dict[str, Any]]:
        import torch

        emeta, etensors = self.engine.state()
        emeta.pop("info", None)
        meta: dict[str, Any] = {
            "times": self.times.tolist(), "curve_names": list(self.curve_names),
            "curve_units": self.curve_units, "time_label": self.time_label,
            "time_unit": self.time_unit, "arrays": sorted(self.arrays), "engine": emeta}
        tensors = {f"a/{k}": torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
                   for k, v in self.arrays.items()}
        tensors.update({f"e/{k}": v for k, v in etensors.items()})
        store_gp(self.coords_gp, meta, "coords_gp", tensors, "cgp/")
        return meta, tensors

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, Any], device: str) -> FieldCurveHistorySurrogate:
        import torch

        from physapp.surrogates.models.field_curve import FieldCurveSurrogate

        arrays = {k: _np(tensors[f"a/{k}"]).astype(np.float64) for k in meta["arrays"]}
        engine = FieldCurveSurrogate.from_state(
            meta["engine"], {k[2:]: torch.as_tensor(v) for k, v in tensors.items()
                             if k.startswith("e/")}, device)
        coords_gp = load_gp(meta.get("coords_gp"), tensors, "cgp/", "cpu")
        times = np.asarray(meta["times"], dtype=np.float64)
        if times.ndim != 1 or len(times) < 2:
            raise ValueError("bad time grid")
        opts = {**cls.OPTIONS, **options}
        model = cls(info, engine.device, opts, engine=engine, times=times,
                    curve_names=meta["curve_names"], curve_units=meta["curve_units"],
                    time_label=meta["time_label"], time_unit=meta["time_unit"], arrays=arrays,
                    coords_gp=coords_gp)
        return model

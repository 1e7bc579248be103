"""History surrogates as app models (#18, #22): parameters -> the whole history of fields and
curves, trained on the histories a sweep keeps (:meth:`Dataset.history_data`).

Two kinds, both direct (no step-by-step rollout), both with a GP uncertainty:

* ``pod-history`` -- POD over the space-time snapshots (every frame of every training history is
  one snapshot of all fields), exact GPs (:class:`~physapp.surrogates.gp.BatchedGP`) on
  (parameters, time) for the POD coefficients and for the curves (scaled per curve); the
  algorithm of :class:`~physapp.surrogates.models.pod_history.PodTimeGP` (``align=False``). The
  GP trains on at most ``max_points`` (design, frame) pairs (every k-th frame).
* ``curve-gp`` -- one snapshot per design: the whole history of the fields, and separately the
  whole curves, each reduced by POD, GPs on the parameters for the coefficients (the baseline
  of :class:`~physapp.surrogates.models.curve_gp.CurveHistoryPodGP`, e.g. the bottle's top-load
  curve and displacement history).

Node coordinates that change with the design get a POD-GP of their own (on the parameters).
Standard deviations are the GP variances carried through the POD bases (coefficients taken as
independent). The model is a :class:`FieldSurrogate` whose single-state answer is the last
frame, so every place that loads models loads these too; :meth:`HistorySurrogate.predict_history`
gives the ``FieldHistory`` with ``meta["curve_std"]``. Saved through
:mod:`physapp.surrogates.storage` (tensors and JSON only). torch is imported lazily.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.gp import load_gp, store_gp
from physapp.surrogates.models.base import (
    COORDS,
    NON_NEGATIVE,
    FieldSurrogate,
    ModelInfo,
    _np,
    check_options,
)


def _pod(Y: np.ndarray, energy: float, max_modes: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (m,), basis (r, m)) of the rows ``Y`` (n, m)."""
    mean = Y.mean(axis=0)
    _, S, Vt = np.linalg.svd(Y - mean, full_matrices=False)
    var = S**2
    total = float(var.sum())
    r = int(np.searchsorted(np.cumsum(var) / total, energy) + 1) if total > 0 else 1
    r = max(1, min(r, len(S), int(max_modes)))
    return mean, Vt[:r]


def history_info(data: Any, log_inputs: bool) -> ModelInfo:
    """The ModelInfo of a history model of ``data`` (HistoryData; fields as at the last
    frame)."""
    last = {k: v[:, -1] for k, v in data.fields.items()}
    ns = SimpleNamespace(mesh=data.mesh, coords=data.coords, fields=last, bounds=data.bounds,
                         param_names=data.param_names, study_id=data.study_id,
                         fixed=data.fixed, units=data.units, scaled_out=())
    return ModelInfo.from_data(ns, log_inputs=log_inputs)


def fit_coords_gp(info: ModelInfo, data: Any, xn: np.ndarray, arrays: dict[str, np.ndarray],
                  opts: Mapping[str, Any], seed: int, cancel: CancelToken) -> Any:
    """A POD-GP of the node coordinates on the parameters when they vary with the design
    (``p_mean``, ``p_basis`` go into ``arrays``); None when they do not."""
    if not info.coords_vary:
        return None
    import torch

    from physapp.surrogates.gp import BatchedGP

    P = data.coords.reshape(len(xn), -1).astype(np.float64)
    p_mean, p_basis = _pod(P, 1 - 1e-10, opts["max_modes"])
    arrays.update(p_mean=p_mean, p_basis=p_basis)
    return BatchedGP.fit(torch.as_tensor(xn), torch.as_tensor((P - p_mean) @ p_basis.T),
                         kernel=opts["kernel"], restarts=1, iters=max(50, opts["iters"] // 2),
                         seed=seed, cancel=cancel)


#: arrays of at least this many values are stored in single precision
BIG_ARRAY = 65536


class HistorySurrogate(FieldSurrogate):
    """Base of the history kinds (see the module docstring)."""

    #: a history model: ``physapp train`` feeds it ``Dataset.history_data()``
    HISTORY: ClassVar[bool] = True
    uncertainty = True
    MIN_SAMPLES = 3
    SPACE_TIME: ClassVar[bool] = False
    OPTIONS: ClassVar[dict[str, Any]] = {
        "energy": 0.9999, "curve_energy": 0.99999, "max_modes": 24, "iters": 200,
        "restarts": 2, "kernel": "matern52", "max_points": 400, "log_inputs": True,
        "calibrate": True,
    }
    #: the fields come from the POD-GP (False: a kind predicts them otherwise, the GP has the
    #: curves only)
    FIELD_GP: ClassVar[bool] = True

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any], *,
                 times: np.ndarray, curve_names: Sequence[str], curve_units: Mapping[str, str],
                 time_label: str, time_unit: str, arrays: dict[str, np.ndarray], gp: Any,
                 coords_gp: Any, n_curve: int, extra_gps: dict[str, Any] | None = None
                 ) -> None:
        super().__init__(info, device, options)
        self.times = np.asarray(times, dtype=np.float64)
        self.curve_names = tuple(curve_names)
        self.curve_units = dict(curve_units)
        self.time_label, self.time_unit = time_label, time_unit
        self.arrays = arrays  # POD means/bases, curve scaling (numpy float64)
        self.gp, self.coords_gp = gp, coords_gp
        self.n_curve = int(n_curve)  # GP outputs that belong to the curves (first ones)
        #: further GPs of a kind (e.g. the phase-aligned kind's frequency and start phase)
        self.extra_gps: dict[str, Any] = dict(extra_gps or {})

    # -- layout -------------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return len(self.times)

    def _widths(self) -> list[tuple[str, int]]:
        return [(name, self.info.width(name)) for name in self.field_names]

    # -- training -----------------------------------------------------------------------------
    @classmethod
    def fit_history(cls, data: Any, *, device: str = "cpu", seed: int = 0,
                    progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                    **options: Any) -> HistorySurrogate:
        """Fit on ``data`` (a :class:`~physapp.surrogates.history_data.HistoryData`, training
        samples only)."""
        import torch

        from physapp.surrogates.gp import BatchedGP

        opts = check_options(cls, options)
        n, F = data.n_samples, data.n_frames
        if n < cls.MIN_SAMPLES:
            raise PhysappError(f"A {cls.kind} model needs at least {cls.MIN_SAMPLES} training "
                               f"histories; the data set has {n}.")
        info = history_info(data, bool(opts["log_inputs"]))
        names = list(info.field_shapes)
        # (n, F, W): every field flattened per frame, side by side, each divided by its own
        # spread (a heat flux of 1e4 W/m^2 must not drown a temperature of 1e1 K in the POD)
        f_scale = np.array([float(np.std(data.fields[k])) or 1.0 for k in names])
        Y = np.concatenate([data.fields[k].reshape(n, F, -1).astype(np.float64) / sc
                            for k, sc in zip(names, f_scale, strict=True)], axis=2)
        curve_names = sorted(data.curves)
        C = np.stack([data.curves[k] for k in curve_names], axis=2) if curve_names else \
            np.zeros((n, F, 0))
        c_mean = C.mean(axis=(0, 1)) if C.size else np.zeros(0)
        c_scale = C.std(axis=(0, 1)) if C.size else np.zeros(0)
        c_scale = np.where(c_scale > 1e-300, c_scale, 1.0)
        Cs = (C - c_mean) / c_scale
        xn = info.normalise(data.X)
        arrays: dict[str, np.ndarray] = {"c_mean": c_mean, "c_scale": c_scale,
                                         "f_scale": f_scale}
        extra_gps: dict[str, Any] = {}
        progress(0.05, f"{cls.kind}: POD of {n} histories x {F} frames")
        if not cls.FIELD_GP:  # the fields come from elsewhere (a network): curves only
            f_mean, f_basis = np.zeros(Y.shape[2]), np.zeros((0, Y.shape[2]))
        if cls.SPACE_TIME:
            f_mean, f_basis = _pod(Y.reshape(n, -1), opts["energy"], opts["max_modes"])
            a_f = (Y.reshape(n, -1) - f_mean) @ f_basis.T
            if Cs.shape[2]:
                k_mean, k_basis = _pod(Cs.reshape(n, -1), opts["curve_energy"],
                                       opts["max_modes"])
                a_c = (Cs.reshape(n, -1) - k_mean) @ k_basis.T
            else:
                k_mean, k_basis, a_c = np.zeros(0), np.zeros((0, 0)), np.zeros((n, 0))
            arrays.update(f_mean=f_mean, f_basis=f_basis, k_mean=k_mean, k_basis=k_basis)
            x, y = xn, np.concatenate([a_c, a_f], axis=1)
            n_curve = a_c.shape[1]
        else:
            if cls.FIELD_GP:
                f_mean, f_basis = _pod(Y.reshape(n * F, -1), opts["energy"], opts["max_modes"])
            a_f = ((Y.reshape(n * F, -1) - f_mean) @ f_basis.T).reshape(n, F, -1)
            arrays.update(f_mean=f_mean, f_basis=f_basis)
            stride = max(1, int(np.ceil(n * F / max(int(opts["max_points"]), n))))
            # every stride-th frame, shifted by one frame per design: together the designs
            # cover every frame (a short start-up transient too); as many rows per design
            m = len(np.arange(stride - 1, F, stride))
            sel = np.array([np.arange(i % stride, F, stride)[:m] for i in range(n)])  # (n, m)
            feats = cls._fit_time_features(data, xn, opts, extra_gps, seed, cancel)  # (n, F, k)
            rows = np.arange(n)[:, None]
            x = np.column_stack([np.repeat(xn, m, axis=0),
                                 feats[rows, sel].reshape(n * m, -1)])
            y = np.concatenate([Cs[rows, sel].reshape(n * m, -1),
                                a_f[rows, sel].reshape(n * m, -1)], axis=1)
            n_curve = Cs.shape[2]
        progress(0.1, f"{cls.kind}: fitting {y.shape[1]} GPs on {len(x)} points")

        def report(it: int, total: int, nll: float) -> None:
            if it % 20 == 0 or it == total:
                progress(0.1 + 0.8 * it / total, f"{cls.kind}: GP iteration {it}/{total} "
                         f"nll {nll:.3g}")

        gp = BatchedGP.fit(torch.as_tensor(x), torch.as_tensor(y), kernel=opts["kernel"],
                           restarts=opts["restarts"], iters=opts["iters"], seed=seed,
                           report=report, cancel=cancel) if y.shape[1] else None
        coords_gp = fit_coords_gp(info, data, xn, arrays, opts, seed, cancel)
        model = cls(info, device, opts, times=data.times, curve_names=curve_names,
                    curve_units={k: data.curve_units.get(k, "") for k in curve_names},
                    time_label=data.time_label, time_unit=data.time_unit, arrays=arrays, gp=gp,
                    coords_gp=coords_gp, n_curve=n_curve, extra_gps=extra_gps)
        model._fit_more(data, progress=progress, cancel=cancel, seed=seed)
        if opts.get("calibrate", True) and n >= cls.MIN_SAMPLES:
            from physapp.surrogates.models.history_calibration import calibrate

            progress(0.92, f"{cls.kind}: calibrating the bands on left-out training histories")
            calibrate(model, data, xn, x, y, Y, Cs)
        progress(1.0, f"{cls.kind}: {f_basis.shape[0]} field modes")
        return model

    # -- hooks of the kinds ---------------------------------------------------------------------
    @classmethod
    def _fit_time_features(cls, data: Any, xn: np.ndarray, opts: dict[str, Any],
                           extra_gps: dict[str, Any], seed: int, cancel: CancelToken
                           ) -> np.ndarray:
        """(n, F, k) inputs that stand for the time of every training frame (besides the
        parameters): the time scaled to [0, 1]. A kind may fit GPs of its own into
        ``extra_gps``."""
        tn = (data.times - data.times[0]) / max(float(np.ptp(data.times)), 1e-300)
        return np.broadcast_to(tn[None, :, None], (len(xn), len(tn), 1))

    def _time_features(self, xn: np.ndarray, *, leave_out: int | None = None) -> np.ndarray:
        """(q, F, k) the time inputs of the designs ``xn`` (their predicted phase for the
        phase-aligned kind; ``leave_out``: as if training design ``leave_out`` had not been
        seen, for the calibration)."""
        tn = (self.times - self.times[0]) / max(float(np.ptp(self.times)), 1e-300)
        return np.broadcast_to(tn[None, :, None], (len(xn), len(tn), 1))

    def _predict_frames(self, xn: np.ndarray, *, gp: Any = None, leave_out: int | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance (q * F, outputs) of the GP (``gp`` or the model's) at every frame of
        the designs ``xn``."""
        F = self.n_frames
        feats = self._time_features(xn, leave_out=leave_out)
        x = np.column_stack([np.repeat(xn, F, axis=0), feats.reshape(len(xn) * F, -1)])
        return self._gp(self.gp if gp is None else gp, x)

    def _fit_more(self, data: Any, **kw: Any) -> None:
        """Further training of a kind after the GPs (the neural-field kind's network)."""

    def _std_scales(self) -> tuple[np.ndarray, np.ndarray]:
        """(per field, per curve) factors of the GP standard deviations from the calibration
        (ones for a model saved before it)."""
        a = self.arrays
        fs = a.get("f_std_scale", np.ones(len(self.field_names)))
        cs = a.get("c_std_scale", np.ones(len(self.curve_names)))
        return np.asarray(fs, dtype=np.float64), np.asarray(cs, dtype=np.float64)

    @classmethod
    def fit(cls, data, **kw):  # noqa: ANN001 - the field-data entry point does not apply
        raise PhysappError(f"A {cls.kind} model learns histories: train it on a data set of a "
                           "history study (physapp train DATA --model " + cls.kind + ").")

    # -- prediction ----------------------------------------------------------------------------
    def _gp(self, gp: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        if gp is None:  # no GP outputs (a network kind without curves)
            return np.zeros((len(x), 0)), np.zeros((len(x), 0))

        with torch.no_grad():
            m, v = gp.predict(torch.as_tensor(x, dtype=torch.float64), include_noise=False)
        return m.cpu().numpy(), v.cpu().numpy()

    def _history_arrays(self, xn: np.ndarray, with_std: bool
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
        """(fields (q, F, W), their std or None, curves (q, F, C), curve std (q, F, C))."""
        a = self.arrays
        q, F = len(xn), self.n_frames
        nc = self.n_curve
        if self.SPACE_TIME:
            mean, var = self._gp(self.gp, xn)
            Y = (a["f_mean"] + mean[:, nc:] @ a["f_basis"]).reshape(q, F, -1)
            Ystd = (np.sqrt(var[:, nc:] @ a["f_basis"] ** 2).reshape(q, F, -1)
                    if with_std else None)
            if nc:
                Cs = (a["k_mean"] + mean[:, :nc] @ a["k_basis"]).reshape(q, F, -1)
                Cstd = np.sqrt(var[:, :nc] @ a["k_basis"] ** 2).reshape(q, F, -1)
            else:
                Cs = Cstd = np.zeros((q, F, 0))
        else:
            mean, var = self._predict_frames(xn)
            Y = (a["f_mean"] + mean[:, nc:] @ a["f_basis"]).reshape(q, F, -1)
            Ystd = (np.sqrt(var[:, nc:] @ a["f_basis"] ** 2).reshape(q, F, -1)
                    if with_std else None)
            Cs = mean[:, :nc].reshape(q, F, -1)
            Cstd = np.sqrt(var[:, :nc]).reshape(q, F, -1)
        curves = a["c_mean"] + Cs * a["c_scale"]
        f_sc, c_sc = self._std_scales()
        if Ystd is not None:
            Ystd = Ystd * np.repeat(f_sc, [w for _, w in self._widths()])
        return Y, Ystd, curves, Cstd * a["c_scale"] * c_sc

    def _coords(self, xn: np.ndarray) -> np.ndarray:
        if self.coords_gp is None:
            ref = np.asarray(self.mesh.points[:, : self.info.coord_dim], dtype=np.float64)
            return np.broadcast_to(ref, (len(xn), *ref.shape)).copy()
        mean, _ = self._gp(self.coords_gp, xn)
        a = self.arrays
        return (a["p_mean"] + mean @ a["p_basis"]).reshape(len(xn), -1, self.info.coord_dim)

    def _split(self, Y: np.ndarray) -> dict[str, np.ndarray]:
        """(q, F, W) -> name -> (q, F, n_points[, k])."""
        out, start = {}, 0
        q, F = Y.shape[:2]
        scale = self.arrays.get("f_scale", np.ones(len(self.field_names)))
        for (name, w), sc in zip(self._widths(), scale, strict=True):
            out[name] = Y[:, :, start:start + w].reshape(q, F, *self.info.shape(name)) * sc
            start += w
        return out

    def predict_history_arrays(self, X: np.ndarray, *, with_std: bool = False
                               ) -> dict[str, Any]:
        """Batch evaluation of designs ``X`` (q, p): ``{"fields": name -> (q, F, n[, k]),
        "fields_std" (with_std), "curves": name -> (q, F), "curves_std", "coords" (q, n, dim)}``."""
        xn = self.normalise(np.atleast_2d(np.asarray(X, dtype=np.float64)))
        Y, Ystd, C, Cstd = self._history_arrays(xn, with_std)
        fields = self._split(Y)
        for name in NON_NEGATIVE & set(fields):
            fields[name] = np.maximum(fields[name], 0.0)
        out = {"fields": fields,
               "curves": {k: C[:, :, j] for j, k in enumerate(self.curve_names)},
               "curves_std": {k: Cstd[:, :, j] for j, k in enumerate(self.curve_names)},
               "coords": self._coords(xn)}
        if with_std and Ystd is not None:
            out["fields_std"] = self._split(Ystd)
        return out

    def predict_history(self, params: Mapping[str, float], *, with_std: bool = False):
        """The predicted :class:`~physapp.core.history.FieldHistory` at ``params`` (missing
        parameters take their defaults); ``meta`` has ``curve_std`` (name -> (F,)), ``params``,
        ``out_of_range``, ``latency_ms``, ``model``, ``surrogate_id``, ``study``. With
        ``with_std`` the history also holds ``<field>_std`` fields."""
        from physapp.core.history import FieldHistory
        from physapp.core.mesh import MeshData

        t0 = time.perf_counter()
        x, out_of_range, values = self.parameter_vector(params)
        arr = self.predict_history_arrays(x[None], with_std=with_std)
        m = self.mesh
        pts = np.array(m.points, dtype=np.float64)
        pts[:, : self.info.coord_dim] = arr["coords"][0]
        mesh = MeshData(pts, m.cells, dict(m.boundaries), dict(m.subdomains), m.dim,
                        m.length_unit)
        data = {k: v[0] for k, v in arr["fields"].items()}
        units = dict(self.units)
        if with_std and "fields_std" in arr:
            for k, v in arr["fields_std"].items():
                data[f"{k}_std"] = v[0]
                units[f"{k}_std"] = self.units.get(k, "")
        meta = {"latency_ms": (time.perf_counter() - t0) * 1e3, "device": self.device,
                "out_of_range": out_of_range, "params": values, "model": self.kind,
                "surrogate_id": self.id, "study": self.study_id,
                "curve_std": {k: v[0] for k, v in arr["curves_std"].items()}}
        return FieldHistory(mesh, self.times, data, f"surrogate:{self.kind}", meta, units,
                            {k: v[0] for k, v in arr["curves"].items()}, self.curve_units,
                            self.time_label, self.time_unit)

    def _run(self, xn: np.ndarray, *, with_coords: bool, fields: list[str] | None = None
             ) -> dict[str, np.ndarray]:
        """The last frame (the single-state answer of every FieldSurrogate)."""
        Y, Ystd, _, _ = self._history_arrays(np.asarray(xn, dtype=np.float64), True)
        last = self._split(Y[:, -1:])
        std = self._split(Ystd[:, -1:]) if Ystd is not None else None
        out = {}
        for name in self.field_names:
            v = last[name][:, 0]
            if name in NON_NEGATIVE:
                v = np.maximum(v, 0.0)
            out[name] = v.astype(np.float32)
            if std is not None:
                out[f"{name}_std"] = std[name][:, 0].astype(np.float32)
        if with_coords and self.coords_vary:
            out[COORDS] = self._coords(xn).astype(np.float32)
        return out

    def _move(self, device: str) -> None:
        return None  # the GPs are small: they stay on the CPU

    # -- persistence ---------------------------------------------------------------------------
    def _tensors(self) -> tuple[dict[str, Any], dict[str, Any]]:
        import torch

        meta: dict[str, Any] = {
            "times": self.times.tolist(), "curve_names": list(self.curve_names),
            "curve_units": self.curve_units, "time_label": self.time_label,
            "time_unit": self.time_unit, "n_curve": self.n_curve,
            "arrays": sorted(self.arrays)}
        # the large arrays (POD bases of whole histories) in single precision: half the file,
        # ~1e-7 relative (read back as float64)
        tensors = {f"a/{k}": torch.from_numpy(np.ascontiguousarray(
            v, dtype=np.float32 if np.size(v) >= BIG_ARRAY else np.float64))
            for k, v in self.arrays.items()}
        meta["gp"] = None
        store_gp(self.gp, meta, "gp", tensors, "gp/")
        meta["extra_gps"] = {}
        for name, g in self.extra_gps.items():
            store_gp(g, meta["extra_gps"], name, tensors, f"xgp/{name}/")
        store_gp(self.coords_gp, meta, "coords_gp", tensors, "cgp/")
        return meta, tensors

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, Any], device: str) -> HistorySurrogate:
        arrays = {k: _np(tensors[f"a/{k}"]).astype(np.float64) for k in meta["arrays"]}
        gp = load_gp(meta["gp"], tensors, "gp/", "cpu")
        extra = {name: load_gp(xmeta, tensors, f"xgp/{name}/", "cpu")
                 for name, xmeta in meta.get("extra_gps", {}).items()}
        coords_gp = load_gp(meta.get("coords_gp"), tensors, "cgp/", "cpu")
        times = np.asarray(meta["times"], dtype=np.float64)
        if times.ndim != 1 or len(times) < 2:
            raise ValueError("bad time grid")
        return cls(info, "cpu", options, times=times, curve_names=meta["curve_names"],
                   curve_units=meta["curve_units"], time_label=meta["time_label"],
                   time_unit=meta["time_unit"], arrays=arrays, gp=gp, coords_gp=coords_gp,
                   n_curve=int(meta["n_curve"]), extra_gps=extra)


class PodHistorySurrogate(HistorySurrogate):
    """POD over space-time snapshots, GPs on (parameters, time)."""

    kind = "pod-history"
    SPACE_TIME = False


class CurveGPSurrogate(HistorySurrogate):
    """POD of whole histories (fields; curves apart), GPs on the parameters."""

    kind = "curve-gp"
    SPACE_TIME = True


def _rel(err: np.ndarray, true: np.ndarray) -> float:
    den = float(np.linalg.norm(true))
    num = float(np.linalg.norm(err))
    return (0.0 if num == 0 else float("inf")) if den == 0 else num / den


def evaluate_history(model: HistorySurrogate, data: Any) -> dict[str, Any]:
    """Held-out scores on ``data`` (HistoryData): per field the relative L2 error over every
    sample, frame and node and the share of varying nodal values inside mean +- 1.96 std
    (``coverage95``); per curve the relative L2 error and coverage; their means; the latency of
    one history prediction."""
    if data.n_samples == 0:
        return {}
    if not np.allclose(data.times, model.times, rtol=1e-6,
                       atol=1e-9 * max(float(np.abs(model.times).max()), 1e-300)):
        raise PhysappError("The held-out histories are on another time grid than the model's.")
    pred = model.predict_history_arrays(data.X, with_std=True)
    out: dict[str, Any] = {"fields": {}, "curves": {}}
    hits = total = 0
    for name in model.field_names:
        true = data.fields[name].astype(np.float64)
        p = pred["fields"][name]
        err = p - true
        mask = np.broadcast_to(model.varying_mask(name), true.shape[2:])
        out["fields"][name] = {"rel_l2": _rel(err, true), "max_abs": float(np.abs(err).max())}
        if "fields_std" not in pred:  # a kind without field bands (the neural field)
            continue
        e = np.abs(err)[:, :, mask]
        s = pred["fields_std"][name][:, :, mask]
        inside = e <= 1.96 * s + 1e-9 * float(np.sqrt(np.mean(true**2)))
        out["fields"][name]["coverage95"] = float(inside.mean()) if inside.size else 1.0
        hits, total = hits + int(inside.sum()), total + inside.size
    for name in model.curve_names:
        true = data.curves[name].astype(np.float64)
        err = pred["curves"][name] - true
        inside = np.abs(err) <= 1.96 * pred["curves_std"][name] + 1e-9 * np.abs(true).max()
        out["curves"][name] = {"rel_l2": _rel(err, true), "max_abs": float(np.abs(err).max()),
                               "coverage95": float(inside.mean())}
    out["rel_l2_mean"] = float(np.mean([f["rel_l2"] for f in out["fields"].values()]))
    if out["curves"]:
        out["curve_rel_l2_mean"] = float(np.mean([c["rel_l2"] for c in out["curves"].values()]))
        out["curve_coverage95"] = float(np.mean([c["coverage95"]
                                                 for c in out["curves"].values()]))
    if total:
        out["coverage95"] = hits / total
    params = dict(zip(model.param_names, data.X[0], strict=True))
    model.predict_history(params)
    lat = []
    for _ in range(3):
        lat.append(model.predict_history(params).meta["latency_ms"])
    out["latency_ms"] = float(np.median(lat))
    return out


def train_history(kind: str, data: Any, *, seed: int = 0, progress: ProgressFn = no_progress,
                  cancel: CancelToken = NEVER, **options: Any) -> HistorySurrogate:
    """Fit a history model of ``kind`` on ``data.train()`` and score it on ``data.test()``."""
    from physapp.surrogates.models import model_class

    cls = model_class(kind)
    if not getattr(cls, "HISTORY", False):
        raise PhysappError(f"'{kind}' is not a history model (pod-history, curve-gp, "
                           "pod-history-phase, neural-field-history).")
    t0 = time.perf_counter()
    model = cls.fit_history(data.train(), seed=seed, progress=progress, cancel=cancel,
                            **options)
    train_time = time.perf_counter() - t0
    test = data.test()
    scales = dict(getattr(model, "metrics", {}) or {}).get("std_scale")
    model.metrics = evaluate_history(model, test)
    if scales:
        model.metrics["std_scale"] = scales
    model.metrics.update(n_train=int((~data.is_test).sum()), n_test=test.n_samples,
                         train_time_s=round(train_time, 4), n_frames=data.n_frames,
                         left_out=list(data.left_out))
    return model

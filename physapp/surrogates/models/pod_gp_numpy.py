"""POD-GP prediction with numpy (no torch): the app evaluates its shipped models without
importing torch (issue #13).

A POD-GP model's prediction is linear algebra on small matrices: the GP posterior mean and
variance of every POD coefficient (:class:`NumpyGP`, the same formulas as
:class:`physapp.surrogates.gp.BatchedGP`: ARD Matérn-5/2 or RBF kernel, constant or linear trend
by generalised least squares, float64) and the POD reconstruction of the fields and their
standard deviations (float64, cast to float32 at the end, as the torch path does). Tensors come
from :func:`physapp.surrogates.ptzip.read_payload`. Training stays with torch; this class only
predicts. ``tests/surrogates/test_pod_gp_numpy.py`` checks it against the torch path to 1e-10.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from physapp.surrogates.models.base import COORDS, FieldSurrogate, ModelInfo

_SQRT5 = math.sqrt(5.0)
# the same bounds as physapp.surrogates.gp (kept in step by the equality test)
LOG_LS_RANGE = (math.log(1e-2), math.log(1e2))
LOG_SF2_RANGE = (math.log(1e-3), math.log(1e2))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _bounded(raw: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return lo + (hi - lo) * _sigmoid(raw)


def constrain(raw: Mapping[str, np.ndarray], noise_floor: float) -> dict[str, np.ndarray]:
    """Raw (unconstrained) hyperparameters -> length scales, signal and noise variances."""
    sn2 = (math.log(max(noise_floor, 1e-12)), math.log(1.0))
    return {
        "lengthscale": np.exp(_bounded(raw["log_ls"], *LOG_LS_RANGE)),
        "signal_var": np.exp(_bounded(raw["log_sf2"], *LOG_SF2_RANGE)),
        "noise_var": np.exp(_bounded(raw["log_sn2"], *sn2)),
    }


def kernel_matrix(kind: str, xa: np.ndarray, xb: np.ndarray, ls: np.ndarray, sf2: np.ndarray
                  ) -> np.ndarray:
    """(B, na, nb) batched ARD kernel (see physapp.surrogates.gp.kernel_matrix)."""
    a = xa[None] / ls[:, None, :]
    b = xb[None] / ls[:, None, :]
    d2 = np.maximum((a**2).sum(-1, keepdims=True) + (b**2).sum(-1)[:, None, :]
                    - 2.0 * a @ b.transpose(0, 2, 1), 0.0)
    if kind == "rbf":
        k = np.exp(-0.5 * d2)
    else:
        r = np.sqrt(np.maximum(d2, 1e-30))
        k = (1.0 + _SQRT5 * r + (5.0 / 3.0) * d2) * np.exp(-_SQRT5 * r)
    return sf2[:, None, None] * k


def _basis(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ones_like(x[:, :1]), x], 1)


def _solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """L X = B for a batch of lower-triangular L (B, n, n) and B (B, n, k)."""
    from scipy.linalg import solve_triangular

    out = np.empty(B.shape, dtype=np.float64)
    for i in range(L.shape[0]):
        out[i] = solve_triangular(L[i], B[i], lower=True, check_finite=False)
    return out


def _cho_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """(L L^T) X = B, batched."""
    from scipy.linalg import solve_triangular

    out = np.empty(B.shape, dtype=np.float64)
    for i in range(L.shape[0]):
        y = solve_triangular(L[i], B[i], lower=True, check_finite=False)
        out[i] = solve_triangular(L[i], y, lower=True, trans="T", check_finite=False)
    return out


def _cholesky(kind: str, x: np.ndarray, h: Mapping[str, np.ndarray]) -> np.ndarray:
    n = x.shape[0]
    eye = np.eye(n)
    k = kernel_matrix(kind, x, x, h["lengthscale"], h["signal_var"])
    k = k + (h["noise_var"][:, None, None] + 1e-10) * eye
    jitter = 0.0
    for _ in range(6):  # as the torch path: jitter for the whole batch when any factor fails
        try:
            return np.linalg.cholesky(k + jitter * eye)
        except np.linalg.LinAlgError:
            jitter = 1e-8 if jitter == 0.0 else jitter * 10.0
    raise np.linalg.LinAlgError("GP kernel matrix is not positive definite")


class NumpyGP:
    """``m`` exact GPs on the same inputs, factored once (float64): prediction only."""

    def __init__(self, meta: Mapping[str, Any], tensors: Mapping[str, np.ndarray]) -> None:
        self.kernel = str(meta["kernel"])
        self.trend = str(meta.get("trend", "constant"))
        self.noise_floor = float(meta["noise_floor"])
        x = np.asarray(tensors["x"], dtype=np.float64)
        y = np.asarray(tensors["y"], dtype=np.float64)
        raw = {k[4:]: np.asarray(v, dtype=np.float64) for k, v in tensors.items()
               if k.startswith("raw_")}
        self.x = x
        self.y_mean = y.mean(0)
        std = y.std(0) if len(y) > 1 else np.ones_like(self.y_mean)
        self.y_scale = np.where(std > 1e-30, std, 1.0)
        h = self.h = constrain(raw, self.noise_floor)
        ys = ((y - self.y_mean) / self.y_scale).T.copy()  # (m, n)
        self.L = _cholesky(self.kernel, x, h)
        if self.trend == "linear":
            H = np.broadcast_to(_basis(x), (self.L.shape[0], *_basis(x).shape))
            A = _solve_lower(self.L, H)  # (m, n, q)
            a = _solve_lower(self.L, ys[..., None])
            AtA = A.transpose(0, 2, 1) @ A
            self.LG = np.linalg.cholesky(AtA)
            self.beta = _cho_solve(self.LG, A.transpose(0, 2, 1) @ a)[..., 0]  # (m, q)
            self.A = A
            ys = ys - (H @ self.beta[..., None])[..., 0]
        self.alpha = _cho_solve(self.L, ys[..., None])[..., 0]  # (m, n)

    @property
    def n_outputs(self) -> int:
        return self.L.shape[0]

    def predict(self, xs: np.ndarray, *, include_noise: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance at ``xs`` (q, d): two (q, m) arrays in the output units."""
        xs = np.asarray(xs, dtype=np.float64)
        h = self.h
        ks = kernel_matrix(self.kernel, xs, self.x, h["lengthscale"], h["signal_var"])
        mean = (ks @ self.alpha[..., None])[..., 0]  # (m, q)
        v = _solve_lower(self.L, ks.transpose(0, 2, 1))  # (m, n, q)
        var = np.maximum(h["signal_var"][:, None] - (v**2).sum(1), 0.0)
        if self.trend == "linear":
            hs = _basis(xs)
            mean = mean + (hs @ self.beta.T).T
            R = hs.T[None] - self.A.transpose(0, 2, 1) @ v  # (m, nb, q)
            w = _solve_lower(self.LG, R)
            var = var + (w**2).sum(1)
        if include_noise:
            var = var + h["noise_var"][:, None]
        return mean.T * self.y_scale + self.y_mean, var.T * self.y_scale**2


class _Basis:
    """One field's POD basis in float64 (mean, modes, squared modes, residual variance)."""

    def __init__(self, tensors: Mapping[str, np.ndarray], prefix: str) -> None:
        self.mean = np.asarray(tensors[f"{prefix}/mean"], dtype=np.float64)
        self.modes = np.asarray(tensors[f"{prefix}/modes"], dtype=np.float64)
        self.residual_var = np.asarray(tensors[f"{prefix}/residual_var"], dtype=np.float64)
        if (self.mean.ndim != 1 or self.modes.ndim != 2 or self.residual_var.shape != self.mean.shape
                or self.modes.shape[0] != self.mean.shape[0]):
            raise ValueError(f"the POD basis '{prefix}' has inconsistent sizes (mean "
                             f"{self.mean.shape}, modes {self.modes.shape}, residual "
                             f"{self.residual_var.shape})")
        self.modes_sq_t = (self.modes**2).T.copy()

    @property
    def rank(self) -> int:
        return self.modes.shape[1]


class NumpyPodGPSurrogate(FieldSurrogate):
    """A saved POD-GP model evaluated with numpy: the same answers as
    :class:`~physapp.surrogates.models.pod.PodGPSurrogate`, without torch. Always on the CPU;
    it predicts only (no ``fit``, no saving)."""

    kind = "pod-gp"
    uncertainty = True
    MIN_SAMPLES = 3
    FIELD_SUBSET = True
    #: the predictor need not resolve a torch device for it (see physapp.gui.prediction)
    uses_torch = False

    def __init__(self, info: ModelInfo, options: dict[str, Any], bases: dict[str, _Basis],
                 gp: NumpyGP | None) -> None:
        super().__init__(info, "cpu", options)
        self.bases = bases
        self.gp = gp
        start = 0
        self._slices = {}
        for k, b in bases.items():
            self._slices[k] = slice(start, start + b.rank)
            start += b.rank

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, np.ndarray], device: str) -> NumpyPodGPSurrogate:
        bases = {k: _Basis(tensors, f"pod/{k}") for k in meta["pod"]["names"]}
        gp = None
        if meta.get("gp") is not None:
            gp = NumpyGP(meta["gp"], {k[3:]: v for k, v in tensors.items()
                                      if k.startswith("gp/")})
        return cls(info, options, bases, gp)

    def forward64(self, xn: np.ndarray, *, with_coords: bool,
                  fields: list[str] | None = None) -> dict[str, np.ndarray]:
        """Normalised parameters (m, p) -> name -> (m, width) float64 (the torch path's
        ``_forward``, which rounds the inputs to float32 first: so does this)."""
        xn = np.asarray(xn, dtype=np.float32).astype(np.float64)
        names = list(self.info.field_shapes)
        if with_coords and self.info.coords_vary:
            names.append(COORDS)
        shown = list(self.info.field_shapes)
        if fields is not None:
            names = [n for n in names if n in fields or n == COORDS]
            shown = [n for n in shown if n in fields]
        if self.gp is None:
            c = var = np.zeros((xn.shape[0], 0))
        else:
            c, var = self.gp.predict(xn)
        out: dict[str, np.ndarray] = {}
        for k in names:
            b, sl = self.bases[k], self._slices[k]
            out[k] = b.mean + c[:, sl] @ b.modes.T
        for k in shown:
            b, sl = self.bases[k], self._slices[k]
            v = (np.broadcast_to(b.residual_var, (xn.shape[0], b.residual_var.shape[0]))
                 if b.rank == 0 else b.residual_var + var[:, sl] @ b.modes_sq_t)
            out[f"{k}_std"] = np.sqrt(np.maximum(v, 0.0))
        return out

    def _run(self, xn: np.ndarray, *, with_coords: bool, fields: list[str] | None = None
             ) -> dict[str, np.ndarray]:
        res = self.forward64(xn, with_coords=with_coords, fields=fields)
        out = {}
        for k, v in res.items():
            base = k if (k == COORDS or k in self.info.field_shapes) else k[:-4]
            out[k] = v.reshape((len(xn), *self.info.shape(base))).astype(np.float32)
        return self._unscale(out, xn)

    def to(self, device: str) -> NumpyPodGPSurrogate:
        """Stays on the CPU (numpy)."""
        return self

    def _move(self, device: str) -> None:
        pass

"""Models on POD (principal component) coefficients, and the two baselines.

* ``pod-gp``: POD per field (and of the node coordinates when the geometry varies), one exact GP
  per retained coefficient (MMGP-style); the coefficient variances map back to a per-node
  standard deviation (sum of mode^2 x variance), plus the truncation residual variance estimated
  on the training snapshots by leave-one-out projection.
* ``pod-mlp``: an ensemble of small MLPs (different seeds) from parameters to POD coefficients;
  the spread of the members gives the standard deviation.
* ``linear``: least squares from parameters to the fields (the POD of a linear map is exact).
* ``nearest``: the training sample closest in normalised parameter space.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.models.base import COORDS, FieldSurrogate, ModelInfo, check_options
from physapp.surrogates.training import EpochReporter, lr_schedule

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from physapp.surrogates.data import TrainingData


def snapshots(data: TrainingData, info: ModelInfo, name: str) -> np.ndarray:
    """(n, width) flattened samples of a field (or of the coordinates)."""
    a = data.coords if name == COORDS else data.fields[name]
    return np.asarray(a, dtype=np.float32).reshape(data.n_samples, -1)


def output_names(info: ModelInfo) -> list[str]:
    """Fields the model learns: every field, plus the coordinates when they vary."""
    return [*info.field_shapes, *([COORDS] if info.coords_vary else [])]


@dataclass
class PodBasis:
    """POD of one field: ``y ~ mean + modes @ c``.

    Attributes
    ----------
    mean : (D,) mean snapshot; modes : (D, r) orthonormal modes; sing : (r,) singular values of
    the centred training snapshots; residual_var : (D,) mean squared truncation residual (per
    flattened component) of each training snapshot projected on a basis built without it.
    """

    mean: torch.Tensor
    modes: torch.Tensor
    sing: torch.Tensor
    residual_var: torch.Tensor
    n_train: int

    @classmethod
    def fit(cls, y: np.ndarray, *, energy: float, max_modes: int, device: str) -> PodBasis:
        import torch

        Y = torch.as_tensor(y, dtype=torch.float64, device=device)
        n = Y.shape[0]
        mean = Y.mean(0)
        Yc = Y - mean
        _, S, Vh = torch.linalg.svd(Yc, full_matrices=False)
        e = S.pow(2)
        total = float(e.sum())
        if total <= 0.0 or not math.isfinite(total):
            r = 0
        else:
            cum = torch.cumsum(e, 0) / total
            r = int(torch.searchsorted(cum, torch.tensor(energy, dtype=cum.dtype,
                                                         device=cum.device)).item()) + 1
            r = max(1, min(r, int(max_modes), int((S > S[0] * 1e-7).sum())))
        modes = Vh[:r].T.contiguous()
        if n >= 3 and r > 0:
            residual_var = _loo_residual_var(Y, r)
        else:
            residual_var = (Yc - (Yc @ modes) @ modes.T).pow(2).mean(0)
        f32 = torch.float32
        return cls(mean.to(f32), modes.to(f32), S[:r].to(f32), residual_var.to(f32), n)

    @property
    def rank(self) -> int:
        return self.modes.shape[1]

    def project(self, y: torch.Tensor) -> torch.Tensor:
        """(m, D) snapshots -> (m, r) coefficients."""
        return (y - self.mean) @ self.modes

    def reconstruct(self, c: torch.Tensor) -> torch.Tensor:
        """(m, r) coefficients -> (m, D) fields."""
        import torch

        if c.dim() == 2:
            return torch.addmm(self.mean, c, self.modes.T)
        return self.mean + c @ self.modes.T

    def variance(self, var: torch.Tensor) -> torch.Tensor:
        """(m, r) coefficient variances -> (m, D) field variances (+ truncation residual)."""
        if self.rank == 0:
            return self.residual_var.expand(var.shape[0], -1).clone()
        if getattr(self, "_modes_sq", None) is None or self._modes_sq.device != self.modes.device:
            self._modes_sq = self.modes.pow(2)
        import torch

        return torch.addmm(self.residual_var, var, self._modes_sq.T)

    def reconstruct64(self, c: torch.Tensor) -> torch.Tensor:
        """:meth:`reconstruct` in float64 ((m, r) float64 coefficients; the POD-GP path, which
        the torch-free evaluator in ``pod_gp_numpy`` reproduces to rounding)."""
        import torch

        mean, modes, _ = self._double()
        return torch.addmm(mean, c, modes.T)

    def variance64(self, var: torch.Tensor) -> torch.Tensor:
        """:meth:`variance` in float64."""
        import torch

        _, modes, residual = self._double()
        if self.rank == 0:
            return residual.expand(var.shape[0], -1).clone()
        return torch.addmm(residual, var, modes.pow(2).T)

    def _double(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        cached = getattr(self, "_f64", None)
        if cached is None or cached[1].device != self.modes.device:
            import torch

            cached = tuple(t.to(torch.float64) for t in (self.mean, self.modes,
                                                         self.residual_var))
            self._f64 = cached
        return cached

    def tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        return {f"{prefix}/mean": self.mean, f"{prefix}/modes": self.modes,
                f"{prefix}/sing": self.sing, f"{prefix}/residual_var": self.residual_var}

    @classmethod
    def restore(cls, tensors: Mapping[str, torch.Tensor], prefix: str, n_train: int, device: str
                ) -> PodBasis:
        g = {k: tensors[f"{prefix}/{k}"].to(device) for k in ("mean", "modes", "sing",
                                                              "residual_var")}
        mean, modes, sing, res = g["mean"], g["modes"], g["sing"], g["residual_var"]
        if (mean.dim() != 1 or modes.dim() != 2 or sing.dim() != 1 or res.dim() != 1
                or modes.shape[0] != mean.shape[0] or res.shape[0] != mean.shape[0]
                or sing.shape[0] != modes.shape[1]):
            raise ValueError(f"the POD basis '{prefix}' has inconsistent sizes (mean "
                             f"{tuple(mean.shape)}, modes {tuple(modes.shape)}, singular values "
                             f"{tuple(sing.shape)}, residual {tuple(res.shape)})")
        return cls(g["mean"], g["modes"], g["sing"], g["residual_var"], n_train)

    def to(self, device: str) -> PodBasis:
        return PodBasis(self.mean.to(device), self.modes.to(device), self.sing.to(device),
                        self.residual_var.to(device), self.n_train)


def _loo_residual_var(Y: torch.Tensor, r: int) -> torch.Tensor:
    """Mean squared leave-one-out POD residual per component: each snapshot is projected on the
    mean and ``r`` modes of the *other* snapshots (training residuals are optimistic: a basis
    reproduces its own snapshots better than new ones). Cost O(n^2 D) through the Gram matrix.

    Parameters
    ----------
    Y : (n, D) float64 snapshots; r : number of modes.
    """
    import torch

    n = Y.shape[0]
    K = Y @ Y.T
    m = n - 1
    C = torch.eye(m, dtype=Y.dtype, device=Y.device) - 1.0 / m
    acc = torch.zeros(Y.shape[1], dtype=Y.dtype, device=Y.device)
    for s in range(n):
        idx = torch.cat([torch.arange(s, device=Y.device), torch.arange(s + 1, n, device=Y.device)])
        Koo = K[idx][:, idx]
        lam, V = torch.linalg.eigh(C @ Koo @ C)
        lam, V = lam.flip(0), V.flip(1)
        keep = min(r, int((lam > lam[0].clamp_min(0) * 1e-12).sum()))
        g = C @ (K[idx, s] - Koo.mean(1))
        w = V[:, :keep] @ ((V[:, :keep].T @ g) / lam[:keep])
        Yo = Y[idx]
        res = (Y[s] - Yo.mean(0)) - Yo.T @ (C @ w)
        acc += res.pow(2)
    return acc / n


class PodSet:
    """One POD basis per output (fields, and the coordinates when they vary)."""

    def __init__(self, bases: dict[str, PodBasis]) -> None:
        self.bases = bases

    @classmethod
    def fit(cls, data: TrainingData, info: ModelInfo, *, energy: float, max_modes: int,
            device: str) -> PodSet:
        # node coordinates get a 10x smaller truncation error: a mesh must not wobble
        coords_energy = 1.0 - (1.0 - energy) / 10.0
        return cls({name: PodBasis.fit(snapshots(data, info, name),
                                       energy=coords_energy if name == COORDS else energy,
                                       max_modes=max_modes, device=device)
                    for name in output_names(info)})

    @property
    def ranks(self) -> dict[str, int]:
        return {k: b.rank for k, b in self.bases.items()}

    @property
    def total_rank(self) -> int:
        return sum(self.ranks.values())

    def slices(self) -> dict[str, slice]:
        out, start = {}, 0
        for k, b in self.bases.items():
            out[k] = slice(start, start + b.rank)
            start += b.rank
        return out

    def coefficients(self, data: TrainingData, info: ModelInfo) -> torch.Tensor:
        """(n, R) concatenated coefficients of every output."""
        import torch

        cols = []
        for name, b in self.bases.items():
            y = torch.as_tensor(snapshots(data, info, name), device=b.mean.device)
            cols.append(b.project(y))
        return torch.cat(cols, 1)

    def field_scales(self) -> torch.Tensor:
        """(R,) per coefficient: the RMS norm of its field's centred snapshots (loss weights)."""
        import torch

        parts = []
        for b in self.bases.values():
            s = float(torch.sqrt(b.sing.double().pow(2).sum() / max(b.n_train, 1)))
            parts.append(torch.full((b.rank,), s if s > 0 else 1.0))
        dev = next(iter(self.bases.values())).mean.device if self.bases else "cpu"
        return torch.cat(parts).to(dev) if parts else torch.zeros(0, device=dev)

    def reconstruct(self, c: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        sl = self.slices()
        if c.dtype.is_floating_point and c.element_size() == 8:
            return {k: self.bases[k].reconstruct64(c[..., sl[k]]) for k in names}
        return {k: self.bases[k].reconstruct(c[..., sl[k]]) for k in names}

    def std(self, var: torch.Tensor, names: list[str]) -> dict[str, torch.Tensor]:
        sl = self.slices()
        if var.element_size() == 8:
            return {f"{k}_std": self.bases[k].variance64(var[:, sl[k]]).clamp_min_(0).sqrt_()
                    for k in names}
        return {f"{k}_std": self.bases[k].variance(var[:, sl[k]]).clamp_min_(0).sqrt_()
                for k in names}

    def tensors(self) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        for k, b in self.bases.items():
            out.update(b.tensors(f"pod/{k}"))
        return out

    def meta(self) -> dict[str, Any]:
        return {"names": list(self.bases), "ranks": self.ranks,
                "n_train": {k: b.n_train for k, b in self.bases.items()}}

    @classmethod
    def restore(cls, meta: dict[str, Any], tensors: Mapping[str, torch.Tensor], device: str
                ) -> PodSet:
        return cls({k: PodBasis.restore(tensors, f"pod/{k}", meta["n_train"][k], device)
                    for k in meta["names"]})

    def to(self, device: str) -> PodSet:
        return PodSet({k: b.to(device) for k, b in self.bases.items()})


def _wanted(info: ModelInfo, with_coords: bool) -> list[str]:
    names = list(info.field_shapes)
    if with_coords and info.coords_vary:
        names.append(COORDS)
    return names


# ------------------------------------------------------------------------------------------------
class PodGPSurrogate(FieldSurrogate):
    """POD per field + one exact GP per retained coefficient (MMGP-style), with a std field."""

    kind = "pod-gp"
    uncertainty = True
    MIN_SAMPLES = 3
    #: a constant-mean GP (ordinary kriging) generalised better than an affine trend on the
    #: plate sweep of benchmarks/surrogates.py (u 0.93 % vs 1.04 %); energy: the fraction of
    #: the snapshot energy the POD keeps per field
    OPTIONS = {"kernel": "matern52", "trend": "constant", "restarts": 3, "epochs": 200,
               "lr": 0.05, "noise_floor": 1e-6, "energy": 0.99999, "max_modes": 32}

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any], pod: PodSet,
                 gp: Any) -> None:
        super().__init__(info, device, options)
        self.pod = pod
        self.gp = gp

    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> PodGPSurrogate:
        import torch

        from physapp.surrogates.gp import BatchedGP

        opts = check_options(cls, options)
        info = ModelInfo.from_data(data, log_inputs=True)
        progress(0.0, "POD of the training fields")
        pod = PodSet.fit(data, info, energy=opts["energy"], max_modes=opts["max_modes"],
                         device=device)
        cancel.check()
        coeffs = pod.coefficients(data, info)
        xn = torch.as_tensor(_normalise(info, data.X), dtype=torch.float64, device=device)
        gp = None
        if pod.total_rank:
            rep = EpochReporter(opts["epochs"], progress, cancel, options.get("on_epoch"),
                                label="iteration")

            def report(it: int, total: int, nll: float) -> None:
                if rep.due(it):
                    rep.report(it, nll)

            gp = BatchedGP.fit(xn, coeffs, kernel=opts["kernel"], trend=opts["trend"],
                               restarts=opts["restarts"],
                               iters=opts["epochs"], lr=opts["lr"],
                               noise_floor=opts["noise_floor"], seed=seed, report=report,
                               cancel=cancel)
        model = cls(info, device, opts, pod, gp)
        if gp is not None:
            model.history = rep.history
        return model

    FIELD_SUBSET = True

    def _forward(self, xn: torch.Tensor, *, with_coords: bool,
                 fields: list[str] | None = None) -> dict[str, torch.Tensor]:
        import torch

        names = _wanted(self.info, with_coords)
        shown = list(self.info.field_shapes)
        if fields is not None:  # only these fields (and the coordinates): a cheaper frame
            names = [n for n in names if n in fields or n == COORDS]
            shown = [n for n in shown if n in fields]
        m = xn.shape[0]
        if self.gp is None:
            c = torch.zeros(m, 0, dtype=torch.float64, device=xn.device)
            var = c
        else:  # float64 throughout (cast to float32 by _run), as the numpy evaluator does
            c, var = self.gp.predict(xn.double())
        out = self.pod.reconstruct(c, names)
        out.update(self.pod.std(var, shown))
        return out

    def _move(self, device: str) -> None:
        self.pod = self.pod.to(device)
        if self.gp is not None:
            self.gp = self.gp.to(device)

    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        meta: dict[str, Any] = {"pod": self.pod.meta(), "gp": None}
        tensors = self.pod.tensors()
        if self.gp is not None:
            gmeta, gt = self.gp.state()
            meta["gp"] = gmeta
            tensors.update({f"gp/{k}": v for k, v in gt.items()})
            h = self.gp.hyper()
            meta["hyperparameters"] = {k: v.detach().cpu().tolist() for k, v in h.items()}
        return meta, tensors

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> PodGPSurrogate:
        from physapp.surrogates.gp import BatchedGP

        pod = PodSet.restore(meta["pod"], tensors, device)
        gp = None
        if meta.get("gp") is not None:
            gp = BatchedGP.from_state(meta["gp"], {k[3:]: v for k, v in tensors.items()
                                                   if k.startswith("gp/")}, device)
        return cls(info, device, options, pod, gp)


def _normalise(info: ModelInfo, X: np.ndarray) -> np.ndarray:
    return info.normalise(X)


# ------------------------------------------------------------------------------------------------
class _Ensemble:
    """M independent MLPs evaluated together with batched matrix products."""

    def __init__(self, weights: list[torch.Tensor], biases: list[torch.Tensor]) -> None:
        self.weights = weights  # (M, in, out)
        self.biases = biases  # (M, 1, out)

    @classmethod
    def init(cls, members: int, sizes: list[int], seed: int, device: str) -> _Ensemble:
        import torch

        ws, bs = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            w = torch.empty(members, fan_in, fan_out)
            b = torch.empty(members, 1, fan_out)
            for j in range(members):
                g = torch.Generator().manual_seed(seed * 1000 + j * 17 + fan_out)
                bound = 1.0 / math.sqrt(fan_in)
                w[j].uniform_(-math.sqrt(3.0) * bound * math.sqrt(2.0),
                              math.sqrt(3.0) * bound * math.sqrt(2.0), generator=g)
                b[j].uniform_(-bound, bound, generator=g)
            ws.append(w.to(device))
            bs.append(b.to(device))
        return cls(ws, bs)

    def parameters(self) -> list[torch.Tensor]:
        return [*self.weights, *self.biases]

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """(m, in) or (M, m, in) -> (M, m, out)."""
        import torch

        h = x.expand(self.weights[0].shape[0], -1, -1) if x.dim() == 2 else x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = torch.nn.functional.silu(h)
        return h

    def tensors(self) -> dict[str, torch.Tensor]:
        out = {f"mlp/w{i}": w for i, w in enumerate(self.weights)}
        out.update({f"mlp/b{i}": b for i, b in enumerate(self.biases)})
        return out

    @classmethod
    def restore(cls, tensors: Mapping[str, torch.Tensor], n_layers: int, device: str
                ) -> _Ensemble:
        return cls([tensors[f"mlp/w{i}"].to(device) for i in range(n_layers)],
                   [tensors[f"mlp/b{i}"].to(device) for i in range(n_layers)])

    def to(self, device: str) -> _Ensemble:
        return _Ensemble([w.to(device) for w in self.weights], [b.to(device) for b in self.biases])


class PodMLPSurrogate(FieldSurrogate):
    """POD per field + an ensemble of small MLPs to the coefficients; member spread -> std."""

    kind = "pod-mlp"
    uncertainty = True
    OPTIONS = {"members": 5, "epochs": 3000, "hidden": 64, "layers": 3, "lr": 3e-3,
               "weight_decay": 1e-6, "energy": 0.9999, "max_modes": 32}

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any], pod: PodSet,
                 net: _Ensemble, scale: torch.Tensor) -> None:
        super().__init__(info, device, options)
        self.pod = pod
        self.net = net
        self.scale = scale

    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> PodMLPSurrogate:
        import torch

        opts = check_options(cls, options)
        info = ModelInfo.from_data(data)
        pod = PodSet.fit(data, info, energy=opts["energy"], max_modes=opts["max_modes"],
                         device=device)
        scale = pod.field_scales().float()
        target = pod.coefficients(data, info).float() / scale
        x = torch.as_tensor(2.0 * _normalise(info, data.X) - 1.0, dtype=torch.float32,
                            device=device)
        vx = vt = None
        if val is not None and val.n_samples:
            vx = torch.as_tensor(2.0 * _normalise(info, val.X) - 1.0, dtype=torch.float32,
                                 device=device)
            vt = pod.coefficients(val, info).float() / scale
        sizes = [x.shape[1], *[opts["hidden"]] * opts["layers"], max(pod.total_rank, 1)]
        net = _Ensemble.init(opts["members"], sizes, seed, device)
        params = net.parameters()
        for p in params:
            p.requires_grad_(True)
        epochs = int(opts["epochs"])
        opt = torch.optim.AdamW(params, lr=opts["lr"], weight_decay=opts["weight_decay"])
        sched = lr_schedule(opt, epochs)
        rep = EpochReporter(epochs, progress, cancel, options.get("on_epoch"))
        R = pod.total_rank
        for epoch in range(1, epochs + 1):
            rep.tick()
            opt.zero_grad()
            pred = net(x)[..., :R]
            loss = (pred - target).pow(2).mean() if R else pred.sum() * 0.0
            loss.backward()
            opt.step()
            sched.step()
            if rep.due(epoch):
                v = None
                if vx is not None and R:
                    with torch.no_grad():
                        v = float((net(vx)[..., :R].mean(0) - vt).pow(2).mean())
                rep.report(epoch, float(loss.detach()), v)
        for p in params:
            p.requires_grad_(False)
        model = cls(info, device, opts, pod, net, scale)
        model.history = rep.history
        return model

    def _forward(self, xn: torch.Tensor, *, with_coords: bool) -> dict[str, torch.Tensor]:
        names = _wanted(self.info, with_coords)
        R = self.pod.total_rank
        c = self.net(2.0 * xn - 1.0)[..., :R] * self.scale  # (M, m, R)
        cm = c.mean(0)
        dev = c - cm  # member deviations from the ensemble mean
        out: dict[str, torch.Tensor] = {}
        sl = self.pod.slices()
        M = c.shape[0]
        for k in names:
            b = self.pod.bases[k]
            out[k] = b.reconstruct(cm[:, sl[k]])  # the mean of the members (linear map)
            if k != COORDS:
                fd = dev[..., sl[k]] @ b.modes.T  # (M, m, D) member field deviations
                var = fd.pow(2).sum(0) / max(M - 1, 1) + b.residual_var
                out[f"{k}_std"] = var.sqrt()
        return out

    def _move(self, device: str) -> None:
        self.pod = self.pod.to(device)
        self.net = self.net.to(device)
        self.scale = self.scale.to(device)

    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        t = self.pod.tensors()
        t.update(self.net.tensors())
        t["scale"] = self.scale
        return {"pod": self.pod.meta(), "n_layers": len(self.net.weights)}, t

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> PodMLPSurrogate:
        return cls(info, device, options, PodSet.restore(meta["pod"], tensors, device),
                   _Ensemble.restore(tensors, meta["n_layers"], device),
                   tensors["scale"].to(device))


# ------------------------------------------------------------------------------------------------
class LinearSurrogate(FieldSurrogate):
    """Baseline: least squares from the normalised parameters (+ intercept) to every field."""

    kind = "linear"
    OPTIONS: dict[str, Any] = {}

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any],
                 weights: dict[str, torch.Tensor]) -> None:
        super().__init__(info, device, options)
        self.weights = weights  # name -> (p + 1, D)

    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> LinearSurrogate:
        import torch

        opts = check_options(cls, options)
        info = ModelInfo.from_data(data)
        A = np.column_stack([np.ones(data.n_samples), _normalise(info, data.X)])
        pinv = torch.as_tensor(np.linalg.pinv(A, rcond=1e-10), dtype=torch.float64,
                               device=device)
        weights = {}
        for name in output_names(info):
            cancel.check()
            y = torch.as_tensor(snapshots(data, info, name), dtype=torch.float64, device=device)
            weights[name] = (pinv @ y).float()
        progress(1.0, "least squares done")
        return cls(info, device, opts, weights)

    def _forward(self, xn: torch.Tensor, *, with_coords: bool) -> dict[str, torch.Tensor]:
        import torch

        a = torch.cat([torch.ones_like(xn[:, :1]), xn], 1)
        return {k: a @ self.weights[k] for k in _wanted(self.info, with_coords)}

    def _move(self, device: str) -> None:
        self.weights = {k: v.to(device) for k, v in self.weights.items()}

    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return {"names": list(self.weights)}, {f"w/{k}": v for k, v in self.weights.items()}

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> LinearSurrogate:
        return cls(info, device, options, {k: tensors[f"w/{k}"].to(device) for k in meta["names"]})


class NearestSurrogate(FieldSurrogate):
    """Baseline: the fields of the training sample nearest in normalised parameter space."""

    kind = "nearest"
    MIN_SAMPLES = 1
    OPTIONS: dict[str, Any] = {}

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any],
                 xn: torch.Tensor, store: dict[str, torch.Tensor]) -> None:
        super().__init__(info, device, options)
        self.xn = xn  # (n, p) float32
        self.store = store  # name -> (n, D)

    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> NearestSurrogate:
        import torch

        opts = check_options(cls, options)
        info = ModelInfo.from_data(data)
        xn = torch.as_tensor(_normalise(info, data.X), dtype=torch.float32, device=device)
        store = {name: torch.as_tensor(snapshots(data, info, name), device=device)
                 for name in output_names(info)}
        progress(1.0, f"stored {data.n_samples} samples")
        return cls(info, device, opts, xn, store)

    def _forward(self, xn: torch.Tensor, *, with_coords: bool) -> dict[str, torch.Tensor]:
        import torch

        idx = torch.cdist(xn.float(), self.xn).argmin(1)
        return {k: self.store[k][idx] for k in _wanted(self.info, with_coords)}

    def _move(self, device: str) -> None:
        self.xn = self.xn.to(device)
        self.store = {k: v.to(device) for k, v in self.store.items()}

    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        t = {f"y/{k}": v for k, v in self.store.items()}
        t["xn"] = self.xn
        return {"names": list(self.store)}, t

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> NearestSurrogate:
        return cls(info, device, options, tensors["xn"].to(device),
                   {k: tensors[f"y/{k}"].to(device) for k in meta["names"]})

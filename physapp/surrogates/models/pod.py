"""Models on POD (principal component) coefficients, and the two baselines.

* ``pod-gp``: POD per field (and of the node coordinates when the geometry varies), one exact GP
  per retained coefficient (MMGP-style); the coefficient variances map back to a per-node
  standard deviation (sum of mode^2 x variance), plus the truncation residual variance estimated
  on the training snapshots by leave-one-out projection.
* ``pod-mlp``: an ensemble of small MLPs (different seeds) from parameters to POD coefficients;
  the spread of the members gives the standard deviation.
* ``linear``: least squares from parameters to the fields (the POD of a linear map is exact).
* ``nearest``: the training sample closest in normalised parameter space.

The POD bases are :mod:`~physapp.surrogates.models.pod_basis`, the two baselines
:mod:`~physapp.surrogates.models.baselines`; their names are importable from here too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.gp import load_gp, store_gp
from physapp.surrogates.models.base import COORDS, FieldSurrogate, ModelInfo, check_options
from physapp.surrogates.models.baselines import LinearSurrogate, NearestSurrogate
from physapp.surrogates.models.pod_basis import (
    PodBasis,
    PodSet,
    _normalise,
    _wanted,
    output_names,
    snapshots,
)
from physapp.surrogates.training import EpochReporter, lr_schedule

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from physapp.surrogates.data import TrainingData

#: the bases live in pod_basis and the baselines in baselines; plugins import them from here
__all__ = ["LinearSurrogate", "NearestSurrogate", "PodBasis", "PodGPSurrogate",
           "PodMLPSurrogate", "PodSet", "_normalise", "_wanted", "output_names", "snapshots"]


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
        store_gp(self.gp, meta, "gp", tensors, "gp/")
        if self.gp is not None:
            h = self.gp.hyper()
            meta["hyperparameters"] = {k: v.detach().cpu().tolist() for k, v in h.items()}
        return meta, tensors

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> PodGPSurrogate:
        pod = PodSet.restore(meta["pod"], tensors, device)
        return cls(info, device, options, pod, load_gp(meta.get("gp"), tensors, "gp/", device))


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

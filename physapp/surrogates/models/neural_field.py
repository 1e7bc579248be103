"""Mesh-agnostic neural field: (node coordinates, parameters) -> fields at that node.

The network is a DeepONet-style product: a *trunk* MLP of the normalised coordinates (with random
Fourier features) and of the parameters gives ``rank`` features per point; a *branch* MLP of the
parameters gives a (rank x channels) matrix and a bias; a field channel is their product. Training
draws a random subset of nodes of a few samples per step; evaluation runs on any point set in
chunks, so a mesh of another topology (finer, coarser, re-meshed) can be queried directly
(:meth:`NeuralFieldSurrogate.predict_on_mesh`).

When the geometry varies, ``predict(params)`` needs the node coordinates of the reference topology
at ``params``: a small POD-GP of the coordinates provides them; the field network is then queried
at those predicted points. This module imports torch; it is loaded only when a neural field is
trained or loaded.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.results import FieldResult
from physapp.surrogates.gp import load_gp, store_gp
from physapp.surrogates.models.base import COORDS, FieldSurrogate, ModelInfo, check_options
from physapp.surrogates.models.pod_basis import PodBasis, _normalise, snapshots
from physapp.surrogates.training import EpochReporter, lr_schedule

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.data import TrainingData


class FieldNet(nn.Module):
    """Trunk (coordinates + Fourier features + parameters) x branch (parameters) network."""

    def __init__(self, n_coords: int, n_params: int, n_channels: int, *, width: int = 128,
                 depth: int = 3, rank: int = 64, fourier: int = 32, fourier_scale: float = 2.0,
                 branch_width: int = 64, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.n_channels = n_channels
        self.rank = rank
        self.register_buffer("freqs", torch.randn(n_coords, fourier, generator=g) * fourier_scale)
        sizes = [n_coords + 2 * fourier + n_params, *[width] * depth, rank]
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            self.trunk = _mlp(sizes)
            self.branch = _mlp([n_params, branch_width, branch_width,
                                rank * n_channels + n_channels])

    def forward(self, xc: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """xc (S, P, n_coords) normalised coordinates, mu (S, n_params) -> (S, P, channels)."""
        proj = 2.0 * math.pi * xc @ self.freqs
        feats = torch.cat([xc, torch.sin(proj), torch.cos(proj),
                           mu.unsqueeze(1).expand(-1, xc.shape[1], -1)], -1)
        t = self.trunk(feats)  # (S, P, rank)
        br = self.branch(mu)  # (S, rank * C + C)
        C = self.n_channels
        w = br[:, : self.rank * C].view(-1, self.rank, C) / math.sqrt(self.rank)
        return t @ w + br[:, self.rank * C:].unsqueeze(1)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class _CoordsGP:
    """POD + GP of the node coordinates (used only when the geometry varies)."""

    def __init__(self, basis: PodBasis, gp: Any) -> None:
        self.basis = basis
        self.gp = gp

    @classmethod
    def fit(cls, data: TrainingData, info: ModelInfo, device: str, seed: int,
            cancel: CancelToken) -> _CoordsGP:
        from physapp.surrogates.gp import BatchedGP

        basis = PodBasis.fit(snapshots(data, info, COORDS), energy=0.99999, max_modes=32,
                             device=device)
        c = basis.project(torch.as_tensor(snapshots(data, info, COORDS), device=device))
        xn = torch.as_tensor(_normalise(info, data.X), dtype=torch.float64, device=device)
        gp = BatchedGP.fit(xn, c, seed=seed, cancel=cancel) if basis.rank else None
        return cls(basis, gp)

    def __call__(self, xn: torch.Tensor) -> torch.Tensor:
        if self.gp is None:
            return self.basis.mean.expand(xn.shape[0], -1)
        mean, _ = self.gp.predict(xn.double())
        return self.basis.reconstruct(mean.float())

    def tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        t = self.basis.tensors("coords_pod")
        meta: dict[str, Any] = {"n_train": self.basis.n_train, "gp": None}
        store_gp(self.gp, meta, "gp", t, "coords_gp/")
        return meta, t

    @classmethod
    def restore(cls, meta: dict[str, Any], tensors: Mapping[str, torch.Tensor], device: str
                ) -> _CoordsGP:
        basis = PodBasis.restore(tensors, "coords_pod", meta["n_train"], device)
        return cls(basis, load_gp(meta["gp"], tensors, "coords_gp/", device))

    def to(self, device: str) -> _CoordsGP:
        return _CoordsGP(self.basis.to(device), None if self.gp is None else self.gp.to(device))


class NeuralFieldSurrogate(FieldSurrogate):
    """Mesh-agnostic neural field; answers on the reference topology or on any other mesh."""

    kind = "neural-field"
    OPTIONS = {"epochs": 3000, "width": 128, "depth": 3, "rank": 64, "fourier": 32,
               "fourier_scale": 2.0, "branch_width": 64, "points": 4096, "samples_per_step": 8,
               "lr": 5e-3, "weight_decay": 1e-6, "chunk": 65536}

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any], net: FieldNet,
                 norm: dict[str, torch.Tensor], coords_model: _CoordsGP | None) -> None:
        super().__init__(info, device, options)
        self.net = net.to(device).eval()
        self.norm = {k: v.to(device) for k, v in norm.items()}
        self.coords_model = coords_model
        self.channels = [(name, max(k, 1)) for name, k in info.field_shapes.items()]

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def prepare(cls, data: TrainingData, opts: dict[str, Any], device: str, seed: int,
                cancel: CancelToken = NEVER) -> tuple:
        """Everything training needs before its first step (:meth:`fit` and the distributed
        trainer, :mod:`physapp.surrogates.distributed`, share it): the untrained model with its
        normalisation and seeded network (in train mode), the normalised coordinates ``xc``
        (n, npts, axes), targets ``yt`` (n, npts, channels) and parameters ``mu`` (n, p) on
        ``device``, and ``(S, P)``: designs and points per step."""
        info = ModelInfo.from_data(data)
        coords = np.asarray(data.coords, dtype=np.float32)
        lo, hi = coords.min(axis=(0, 1)), coords.max(axis=(0, 1))
        span = hi - lo
        axes = np.flatnonzero(span > 1e-9 * max(float(span.max()), 1e-300))
        y = np.concatenate([np.asarray(a, np.float32).reshape(data.n_samples, info.n_points, -1)
                            for a in data.fields.values()], axis=2)
        mean = y.mean(axis=(0, 1))
        std = y.std(axis=(0, 1))
        # constant channels (e.g. u_z of a plane problem) output their mean exactly: scale 0
        std = np.where(std > 1e-7 * np.maximum(np.abs(y).max(axis=(0, 1)), 1e-300), std, 0.0)
        norm = {"axes": torch.as_tensor(axes, dtype=torch.int64),
                "lo": torch.as_tensor(lo[axes]), "span": torch.as_tensor(span[axes]),
                "y_mean": torch.as_tensor(mean), "y_std": torch.as_tensor(std)}
        net = FieldNet(len(axes), len(info.param_names), y.shape[2], width=opts["width"],
                       depth=opts["depth"], rank=opts["rank"], fourier=opts["fourier"],
                       fourier_scale=opts["fourier_scale"], branch_width=opts["branch_width"],
                       seed=seed).to(device)
        coords_model = (_CoordsGP.fit(data, info, device, seed, cancel)
                        if info.coords_vary else None)
        model = cls(info, device, opts, net, norm, coords_model)
        model.net.train()
        xc = model._norm_coords(torch.as_tensor(coords, device=device))  # (n, npts, da)
        yt = (torch.as_tensor(y, device=device) - model.norm["y_mean"]) / model._target_scale()
        mu = torch.as_tensor(2.0 * _normalise(info, data.X) - 1.0, dtype=torch.float32,
                             device=device)
        n, npts = yt.shape[:2]
        S = max(1, min(int(opts["samples_per_step"]), n))
        P = max(16, min(int(opts["points"]) // S, npts))
        return model, xc, yt, mu, (S, P)

    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> NeuralFieldSurrogate:
        opts = check_options(cls, options)
        model, xc, yt, mu, (S, P) = cls.prepare(data, opts, device, seed, cancel)
        vdata = model._val_set(val, seed) if val is not None and val.n_samples else None
        vdata = model._val_set(val, seed) if val is not None and val.n_samples else None
        n, npts = yt.shape[:2]
        epochs = int(opts["epochs"])
        opt = torch.optim.AdamW(model.net.parameters(), lr=opts["lr"],
                                weight_decay=opts["weight_decay"])
        sched = lr_schedule(opt, epochs)
        rep = EpochReporter(epochs, progress, cancel, options.get("on_epoch"))
        gen = torch.Generator(device="cpu").manual_seed(seed)
        running = None
        for epoch in range(1, epochs + 1):
            rep.tick()
            si = torch.randperm(n, generator=gen)[:S].to(device)
            pi = torch.randint(npts, (S, P), generator=gen).to(device)
            xb = xc[si.unsqueeze(1), pi]
            yb = yt[si.unsqueeze(1), pi]
            opt.zero_grad(set_to_none=True)
            loss = (model.net(xb, mu[si]) - yb).pow(2).mean()
            loss.backward()
            opt.step()
            sched.step()
            lv = float(loss.detach())
            running = lv if running is None else 0.9 * running + 0.1 * lv
            if rep.due(epoch):
                v = None
                if vdata is not None:
                    model.net.eval()
                    with torch.no_grad():
                        vx, vmu, vy = vdata
                        v = float((model.net(vx, vmu) - vy).pow(2).mean())
                    model.net.train()
                rep.report(epoch, running, v)
        model.net.eval()
        for p in model.net.parameters():
            p.requires_grad_(False)
        model.history = rep.history
        return model

    def _val_set(self, val: TrainingData, seed: int
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """A fixed subset (<= 8 samples x 2048 nodes) of the held-out data, normalised."""
        rng = np.random.default_rng(seed)
        si = rng.permutation(val.n_samples)[:8]
        pi = rng.permutation(self.info.n_points)[:2048]
        coords = np.asarray(val.coords, np.float32)[si][:, pi]
        y = np.concatenate([np.asarray(a, np.float32)[si][:, pi].reshape(len(si), len(pi), -1)
                            for a in val.fields.values()], axis=2)
        dev = self.device
        vx = self._norm_coords(torch.as_tensor(coords, device=dev))
        vy = (torch.as_tensor(y, device=dev) - self.norm["y_mean"]) / self._target_scale()
        vmu = torch.as_tensor(2.0 * _normalise(self.info, val.X[si]) - 1.0,
                              dtype=torch.float32, device=dev)
        return vx, vmu, vy

    def _target_scale(self) -> torch.Tensor:
        s = self.norm["y_std"]
        return torch.where(s > 0, s, torch.ones_like(s))

    def _norm_coords(self, pts: torch.Tensor) -> torch.Tensor:
        pts = pts[..., self.norm["axes"]]
        return 2.0 * (pts.float() - self.norm["lo"]) / self.norm["span"] - 1.0

    # -- evaluation -----------------------------------------------------------------------------
    def _eval_points(self, pts: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
        """Physical points (N, >= n_axes) and one parameter row mu (p,) -> (N, C) fields."""
        chunk = int(self.options.get("chunk", 65536))
        outs = []
        for s in range(0, pts.shape[0], chunk):
            xc = self._norm_coords(pts[s:s + chunk]).unsqueeze(0)
            outs.append(self.net(xc, mu.view(1, -1))[0])
        y = torch.cat(outs) if outs else torch.zeros(0, sum(c for _, c in self.channels),
                                                     device=pts.device)
        return y * self.norm["y_std"] + self.norm["y_mean"]

    def _split(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for name, k in self.channels:
            part = y[..., start:start + k]
            out[name] = part[..., 0] if self.info.field_shapes[name] == 0 else part
            start += k
        return out

    def _forward(self, xn: torch.Tensor, *, with_coords: bool) -> dict[str, torch.Tensor]:
        m = xn.shape[0]
        dim = self.info.coord_dim
        if self.coords_model is not None:
            pts_all = self.coords_model(xn).view(m, self.info.n_points, dim)
        else:
            ref = torch.as_tensor(np.asarray(self.mesh.points[:, :dim], np.float32),
                                  device=xn.device)
            pts_all = ref.unsqueeze(0).expand(m, -1, -1)
        mu = 2.0 * xn.float() - 1.0
        ys = torch.stack([self._eval_points(pts_all[i], mu[i]) for i in range(m)])
        out = self._split(ys)
        if with_coords and self.coords_model is not None:
            out[COORDS] = pts_all
        return out

    def predict_points(self, params: Mapping[str, float], points: np.ndarray
                       ) -> dict[str, np.ndarray]:
        """Fields at arbitrary physical ``points`` (N, 2 or 3): name -> (N[, k]) float32."""
        pts = np.asarray(points, dtype=np.float32)
        if pts.ndim != 2 or pts.shape[1] < self.info.coord_dim:
            raise ParameterError(
                f"points must be an (N, {self.info.coord_dim}) array, got shape {pts.shape}.")
        x, _, _ = self.parameter_vector(params)
        xn_np = self.normalise(x[None, :])
        xn = torch.as_tensor(xn_np, dtype=torch.float32)
        with torch.inference_mode():
            t = torch.as_tensor(pts, device=self.device)
            y = self._eval_points(t, 2.0 * xn[0].to(self.device) - 1.0)
            arrays = {k: v.cpu().numpy()[None] for k, v in self._split(y).items()}
        return {k: v[0] for k, v in self._unscale(arrays, xn_np).items()}

    def predict_on_mesh(self, params: Mapping[str, float], mesh: MeshData) -> FieldResult:
        """Fields at ``params`` on another mesh of the design (any topology, e.g. finer)."""
        t0 = time.perf_counter()
        _, out_of_range, values = self.parameter_vector(params)
        fields = self.predict_points(params, np.asarray(mesh.points))
        return self._result(mesh, fields, values, out_of_range, t0)

    def _move(self, device: str) -> None:
        self.net = self.net.to(device)
        self.norm = {k: v.to(device) for k, v in self.norm.items()}
        if self.coords_model is not None:
            self.coords_model = self.coords_model.to(device)

    # -- persistence ----------------------------------------------------------------------------
    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        t = {f"net/{k}": v for k, v in self.net.state_dict().items()}
        t.update({f"norm/{k}": v for k, v in self.norm.items()})
        meta: dict[str, Any] = {"n_coords": int(self.norm["axes"].numel()),
                                "n_channels": self.net.n_channels, "coords_model": None}
        if self.coords_model is not None:
            cm, ct = self.coords_model.tensors()
            meta["coords_model"] = cm
            t.update(ct)
        return meta, t

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> NeuralFieldSurrogate:
        o = options
        net = FieldNet(meta["n_coords"], len(info.param_names), meta["n_channels"],
                       width=o["width"], depth=o["depth"], rank=o["rank"], fourier=o["fourier"],
                       fourier_scale=o["fourier_scale"], branch_width=o["branch_width"])
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net/")})
        for p in net.parameters():
            p.requires_grad_(False)
        norm = {k[5:]: v for k, v in tensors.items() if k.startswith("norm/")}
        cm = (_CoordsGP.restore(meta["coords_model"], tensors, device)
              if meta.get("coords_model") is not None else None)
        return cls(info, device, o, net, norm, cm)

"""Field-and-curve hybrid: a DeepONet whose trunk is a Transolver over the mesh (#22).

In the spirit of the DeepONet-Transolver hybrid of the bottle top-load papers: one network
predicts, for a design ``mu``, the nodal field at every load step *and* the key-quantity curve
over the steps (the bottle's displacement history and its top-load curve).

* **branch**: an MLP of the design parameters (normalised to [0, 1]) -> a latent code ``z``;
* **mesh trunk**: every node's coordinates (normalised to [-1, 1]) with ``z`` broadcast, lifted
  and passed through Transolver blocks (:class:`physapp.surrogates.models.transolver
  .TransolverBlock`: physics attention over learned slices, tokens weighted by the lumped nodal
  measure) -> ``rank`` basis functions per field channel at every node, ``H(x)``;
* **step trunk**: an MLP of Fourier features of the step coordinate ``s`` in [0, 1] and ``z`` ->
  ``rank`` coefficients per channel, ``T(s)``;
* field ``u(x, s) = s * sum_r H_r(x) T_r(s)`` (a DeepONet inner product over the rank; the
  factor ``s`` makes the state at step 0 exactly zero, as for a load-stepped solve started
  unloaded);
* curve ``f(s) = s * g(z, pooled trunk, s)``: a second head reading the branch code, the
  measure-weighted mean of the trunk's node features (a pooled readout of the deformed mesh) and
  the step.

The tokens of the physics attention and the pooled readout are measure-weighted means, so the
network trains on random node subsets of each design (cheap) and predicts on all nodes. A deep
ensemble (``ensemble`` members from different seeds) gives the spread of the curve and the field.
Saved with :func:`physapp.surrogates.storage.save_surrogate` (tensors + JSON metadata, read back
with ``weights_only=True``); :meth:`FieldCurveSurrogate.load`. The app kind ``field-curve``
(:mod:`physapp.surrogates.models.field_curve_model`) wraps it for the histories a sweep keeps,
with a calibrated band; ``benchmarks/bottle.py --surrogate`` trains and scores it next to the
POD-GP baseline (:mod:`physapp.surrogates.models.curve_gp`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from physapp.surrogates.models.curve_gp import CurveHistoryPrediction
from physapp.surrogates.models.transolver import TransolverBlock

KIND = "field-curve"
N_FREQ = 4  # Fourier features of the step coordinate: s, sin/cos(pi k s), k = 1..N_FREQ


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.GELU())
    return nn.Sequential(*layers)


def _step_features(s: torch.Tensor) -> torch.Tensor:
    """(T,) step coordinates in [0, 1] -> (T, 1 + 2 N_FREQ)."""
    k = torch.arange(1, N_FREQ + 1, dtype=s.dtype, device=s.device) * math.pi
    return torch.cat([s[:, None], torch.sin(s[:, None] * k), torch.cos(s[:, None] * k)], -1)


class FieldCurveNet(nn.Module):
    """Branch (design) x Transolver trunk (mesh) x step trunk -> field history and curve."""

    def __init__(self, n_params: int, n_coords: int, n_channels: int, *, width: int = 64,
                 layers: int = 2, heads: int = 4, slices: int = 16, rank: int = 16,
                 latent: int = 64, seed: int = 0, n_curves: int = 1) -> None:
        super().__init__()
        self.n_channels, self.rank = n_channels, rank
        n_t = 1 + 2 * N_FREQ
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            self.branch = _mlp([n_params, latent, latent, latent])
            self.lift = _mlp([n_coords + latent, width, width])
            self.blocks = nn.ModuleList(TransolverBlock(width, heads, slices, 1)
                                        for _ in range(layers))
            self.node_head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width),
                                           nn.GELU(), nn.Linear(width, rank * n_channels))
            self.step_net = _mlp([n_t + latent, latent, latent, rank * n_channels])
            self.curve_head = _mlp([latent + width + n_t, latent, latent, max(n_curves, 1)])

    def forward(self, mu: torch.Tensor, coords: torch.Tensor, w: torch.Tensor,
                s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """mu (S, p), coords (S, P, d), w (S, P) nodal measures, s (T,) steps in [0, 1]
        -> fields (S, T, P, C), curves (S, T, K)."""
        S, P, _ = coords.shape
        T, C, R = len(s), self.n_channels, self.rank
        z = self.branch(mu)
        x = self.lift(torch.cat([coords, z[:, None, :].expand(-1, P, -1)], -1))
        for block in self.blocks:
            x = block(x, w)
        H = self.node_head(x).view(S, P, R, C)
        sf = _step_features(s)
        coef = self.step_net(torch.cat([sf[None].expand(S, -1, -1),
                                        z[:, None, :].expand(-1, T, -1)], -1)).view(S, T, R, C)
        fields = torch.einsum("sprc,strc->stpc", H, coef) / math.sqrt(R)
        fields = fields * s[None, :, None, None]
        pooled = (x * w[..., None]).sum(1) / (w.sum(1, keepdim=True) + 1e-12)  # (S, width)
        cin = torch.cat([z[:, None, :].expand(-1, T, -1), pooled[:, None, :].expand(-1, T, -1),
                         sf[None].expand(S, -1, -1)], -1)
        curve = self.curve_head(cin) * s[None, :, None]
        return fields, curve


class FieldCurveSurrogate:
    """Deep ensemble of :class:`FieldCurveNet` over a design space (see the module docstring).

    Data: designs ``X`` (n, p) within ``bounds`` (p, 2); node coordinates ``coords`` (n, P, d)
    per design (or (P, d) shared; one node numbering for every design); per design a curve
    (n, T) over the steps (or K curves, (n, T, K)) and a nodal field history (n, T, P, C);
    optional nodal measures
    (n, P) or (P,) (uniform when omitted); step coordinates ``steps`` (T,) (default: T points
    from 0 to 1).
    """

    OPTIONS: dict[str, Any] = {"width": 64, "layers": 2, "heads": 4, "slices": 16, "rank": 16,
                               "latent": 64}

    def __init__(self, ensemble: int = 1, device: str = "auto", seed: int = 0,
                 **options: Any) -> None:
        unknown = set(options) - set(self.OPTIONS)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; known: {sorted(self.OPTIONS)}")
        from physapp.surrogates.device import resolve_device

        self.options = {**self.OPTIONS, **options}
        self.ensemble, self.seed = int(ensemble), int(seed)
        self.device, notice = resolve_device(device)
        self.notices = [notice] if notice else []
        self.nets: list[FieldCurveNet] = []
        self.train_seconds = 0.0
        self.history: list[float] = []  # training loss per epoch (first member)
        self.epochs_run = 0  # epochs completed by the last member

    # ------------------------------------------------------------------ normalisation
    def _norm_x(self, X: np.ndarray) -> torch.Tensor:
        X = np.atleast_2d(np.asarray(X, np.float64))
        return torch.as_tensor((X - self.lo) / self.span, dtype=torch.float32,
                               device=self.device)

    def _norm_coords(self, coords: np.ndarray) -> torch.Tensor:
        c = 2.0 * (np.asarray(coords, np.float64) - self.c_lo) / self.c_span - 1.0
        return torch.as_tensor(c, dtype=torch.float32, device=self.device)

    def _norm_w(self, w: np.ndarray | None, n: int, P: int) -> torch.Tensor:
        if w is None:
            return torch.ones(n, P, device=self.device)
        w = np.asarray(w, np.float64)
        w = np.broadcast_to(w, (n, P)) if w.ndim == 1 else w
        w = w / w.mean(axis=1, keepdims=True)
        return torch.as_tensor(w, dtype=torch.float32, device=self.device)

    # ------------------------------------------------------------------ training
    def fit(self, X: np.ndarray, coords: np.ndarray, curves: np.ndarray, fields: np.ndarray,
            bounds: np.ndarray, *, measure: np.ndarray | None = None,
            steps: np.ndarray | None = None, epochs: int = 300, lr: float = 3e-3,
            batch: int = 8, nodes: int | None = 512, curve_weight: float = 1.0,
            time_budget: float | None = None,
            progress: Callable[[int, float], None] | None = None,
            cancel: Any = None) -> FieldCurveSurrogate:
        """Train ``ensemble`` members for ``epochs`` epochs each (Adam, cosine learning rate;
        each step: ``batch`` designs, a random subset of ``nodes`` nodes per design (all nodes
        when None); loss: mean squared error of the standardised field plus ``curve_weight``
        times that of the standardised curve). ``time_budget`` (s, over all members) ends
        training early (the learning-rate schedule follows the budget). ``cancel`` (a
        CancelToken) is checked at every optimiser step."""
        X = np.asarray(X, np.float64)
        n = len(X)
        fields = np.asarray(fields, np.float32)
        if fields.ndim == 3:
            fields = fields[..., None]
        _, T, P, C = fields.shape
        coords = np.asarray(coords, np.float64)
        if coords.ndim == 2:
            coords = np.broadcast_to(coords, (n, *coords.shape))
        curves = np.asarray(curves, np.float64)
        self.squeeze = curves.ndim == 2  # one curve: predictions are (q, T)
        curves = curves.reshape(n, T, -1)
        K = curves.shape[2]
        bounds = np.asarray(bounds, np.float64)
        self.lo, self.span = bounds[:, 0], np.where(bounds[:, 1] > bounds[:, 0],
                                                    bounds[:, 1] - bounds[:, 0], 1.0)
        flat = coords.reshape(-1, coords.shape[-1])
        self.c_lo = flat.min(axis=0)
        self.c_span = np.where(np.ptp(flat, axis=0) > 0, np.ptp(flat, axis=0), 1.0)
        self.steps = (np.linspace(0.0, 1.0, T) if steps is None
                      else np.asarray(steps, np.float64))
        self.u_scale = np.sqrt(np.mean(fields.astype(np.float64) ** 2, axis=(0, 1, 2))) + 1e-30
        f_rms = np.sqrt(np.mean(curves**2, axis=(0, 1))) if K else np.zeros(0)
        self.f_scale = np.where(f_rms > 0, f_rms, 1.0)
        self.shape = (T, P, C)
        dev = self.device
        mu = self._norm_x(X)
        xc = self._norm_coords(coords)
        w = self._norm_w(measure, n, P)
        s = torch.as_tensor(self.steps, dtype=torch.float32, device=dev)
        U = torch.as_tensor(fields / self.u_scale.astype(np.float32), device=dev)
        F = torch.as_tensor(curves / self.f_scale, dtype=torch.float32, device=dev)
        t0 = time.perf_counter()
        # learning rate: 5 % linear warm-up, then cosine decay over the member's progress, the
        # larger of its step fraction and (with a time budget) its share of the budget spent, so
        # a budget cut still ends at a small learning rate
        member_budget = None if time_budget is None else time_budget / self.ensemble
        steps_total = epochs * math.ceil(n / batch)
        self.nets = []
        for m in range(self.ensemble):
            net = FieldCurveNet(len(self.lo), coords.shape[-1], C, seed=self.seed + m,
                                n_curves=K, **self.options).to(dev)
            g = torch.Generator().manual_seed(self.seed + 1000 + m)
            opt = torch.optim.Adam(net.parameters(), lr=lr)
            net.train()
            t_m, step, done = time.perf_counter(), 0, False
            for ep in range(epochs):
                perm = torch.randperm(n, generator=g)
                total = 0.0
                for b in range(0, n, batch):
                    frac = step / steps_total
                    if member_budget is not None:
                        frac = max(frac, (time.perf_counter() - t_m) / member_budget)
                    if frac >= 1.0:
                        done = True
                        break
                    for group in opt.param_groups:
                        group["lr"] = lr * min(1.0, (frac + 1e-3) / 0.05) * 0.5 * (
                            1.0 + math.cos(math.pi * frac))
                    if cancel is not None:
                        cancel.check()
                    idx = perm[b:b + batch].to(dev)
                    if nodes is not None and nodes < P:
                        sel = torch.randperm(P, generator=g)[:nodes].to(dev)
                    else:
                        sel = torch.arange(P, device=dev)
                    pu, pf = net(mu[idx], xc[idx][:, sel], w[idx][:, sel], s)
                    loss = torch.mean((pu - U[idx][:, :, sel]) ** 2)
                    if K:
                        loss = loss + curve_weight * torch.mean((pf[..., :K] - F[idx]) ** 2)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    step += 1
                    total += float(loss.detach()) * len(idx)
                if done:
                    break
                if m == 0:
                    self.history.append(total / n)
                self.epochs_run = ep + 1
                if progress is not None:
                    progress(m * epochs + ep + 1, total / n)
            net.eval()
            self.nets.append(net)
        self.train_seconds = time.perf_counter() - t0
        return self

    # ------------------------------------------------------------------ prediction
    def predict(self, X: np.ndarray, coords: np.ndarray, measure: np.ndarray | None = None
                ) -> CurveHistoryPrediction:
        """Mean over the ensemble of the curves (q, T) and field histories (q, T, P, C) of
        the designs ``X`` (q, p) on nodes ``coords`` ((q, P, d) or shared (P, d)); ``curve_std``
        is the ensemble spread (zeros for one member); ``field_std`` likewise. Curves are
        (q, T, K) for a model trained on K curves given as (n, T, K)."""
        X = np.atleast_2d(np.asarray(X, np.float64))
        q = len(X)
        coords = np.asarray(coords, np.float64)
        if coords.ndim == 2:
            coords = np.broadcast_to(coords, (q, *coords.shape))
        P = coords.shape[1]
        mu, xc, w = self._norm_x(X), self._norm_coords(coords), self._norm_w(measure, q, P)
        s = torch.as_tensor(self.steps, dtype=torch.float32, device=self.device)
        us, fs = [], []
        with torch.no_grad():
            for net in self.nets:
                u_m, f_m = [], []
                for i in range(q):  # one design at a time: memory ~ T x P x rank
                    pu, pf = net(mu[i:i + 1], xc[i:i + 1], w[i:i + 1], s)
                    u_m.append(pu[0].cpu().numpy())
                    f_m.append(pf[0, :, : len(self.f_scale)].cpu().numpy())
                us.append(np.stack(u_m))
                fs.append(np.stack(f_m))
        U = np.stack(us).astype(np.float64) * self.u_scale
        F = np.stack(fs).astype(np.float64) * self.f_scale
        F_mean, F_std = F.mean(0), F.std(0)
        if self.squeeze:
            F_mean, F_std = F_mean[..., 0], F_std[..., 0]
        pred = CurveHistoryPrediction(F_mean, F_std, U.mean(0))
        pred.field_std = U.std(0)  # type: ignore[attr-defined]
        return pred

    # ------------------------------------------------------------------ storage
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """(JSON metadata, tensors) for :func:`physapp.surrogates.storage.save_surrogate`."""
        meta = {"kind": KIND, "options": self.options, "ensemble": len(self.nets),
                "seed": self.seed, "shape": list(self.shape), "squeeze": self.squeeze,
                "train_seconds": self.train_seconds,
                "info": {"study_id": getattr(self, "study_id", ""),
                         "param_names": list(getattr(self, "param_names", [])
                                             or [f"x{i}" for i in range(len(self.lo))]),
                         "fixed": {}, "bounds": np.stack([self.lo, self.lo + self.span], 1)}}
        tensors: dict[str, torch.Tensor] = {
            "lo": torch.as_tensor(self.lo), "span": torch.as_tensor(self.span),
            "c_lo": torch.as_tensor(self.c_lo), "c_span": torch.as_tensor(self.c_span),
            "steps": torch.as_tensor(self.steps), "u_scale": torch.as_tensor(self.u_scale),
            "f_scale": torch.as_tensor(np.atleast_1d(self.f_scale), dtype=torch.float64)}
        for m, net in enumerate(self.nets):
            for k, v in net.state_dict().items():
                tensors[f"net{m}.{k}"] = v
        return meta, tensors

    def save(self, path: str | os.PathLike) -> None:
        from physapp.surrogates.storage import save_surrogate

        save_surrogate(self, path)  # type: ignore[arg-type]

    @classmethod
    def from_state(cls, meta: dict[str, Any], tensors: dict[str, torch.Tensor],
                   device: str = "auto") -> FieldCurveSurrogate:
        self = cls(ensemble=int(meta["ensemble"]), device=device, seed=int(meta["seed"]),
                   **meta["options"])
        for k in ("lo", "span", "c_lo", "c_span", "steps", "u_scale"):
            setattr(self, k, tensors[k].cpu().numpy().astype(np.float64))
        self.f_scale = np.atleast_1d(tensors["f_scale"].cpu().numpy().astype(np.float64))
        self.squeeze = bool(meta.get("squeeze", True))
        self.shape = tuple(meta["shape"])
        self.train_seconds = float(meta.get("train_seconds", 0.0))
        info = meta.get("info", {})
        self.study_id, self.param_names = info.get("study_id", ""), info.get("param_names", [])
        T, P, C = self.shape
        for m in range(self.ensemble):
            net = FieldCurveNet(len(self.lo), len(self.c_lo), C, seed=self.seed + m,
                                n_curves=len(self.f_scale), **self.options)
            prefix = f"net{m}."
            net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items()
                                 if k.startswith(prefix)})
            self.nets.append(net.to(self.device).eval())
        return self

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "auto") -> FieldCurveSurrogate:
        """Read a model written by :meth:`save` (``torch.load(weights_only=True)``)."""
        from physapp.core.errors import PhysappError
        from physapp.surrogates.storage import read_model_file

        payload = read_model_file(path)
        if payload["meta"].get("kind") != KIND:
            raise PhysappError(f"'{os.fspath(path)}' holds a '{payload['meta'].get('kind')}' "
                               f"model, not a {KIND} model.")
        return cls.from_state(payload["meta"], payload["tensors"], device)

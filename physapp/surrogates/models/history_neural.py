"""Neural field with time as an input (#18): ``neural-field-history``.

The app's neural field (:class:`~physapp.surrogates.models.neural_field.FieldNet`: a trunk MLP
of the node coordinates with Fourier features and the inputs, times a branch MLP of the inputs)
with the time as one more input besides the parameters: (parameters, t, x) -> the fields at node
x and time t. Direct, never a step-by-step rollout: every frame of a predicted history is one
evaluation of the network at its time, so an error at one frame does not feed the next.

Training draws, per optimiser step, ``samples_per_step`` random (history, frame) pairs and
``points`` random nodes among them, from the histories a sweep keeps
(:meth:`~physapp.surrogates.dataset.Dataset.history_data`). The curves (drag, lift, peak
temperature ...) and node coordinates that move with the design come from the GPs every history
kind has (:class:`~physapp.surrogates.models.history_model.HistorySurrogate`: GPs on
(parameters, time) for the curves, with calibrated bands); the network gives the fields, without
a band (as the steady neural field). torch is imported with this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import torch

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.models.base import ModelInfo
from physapp.surrogates.models.history_model import HistorySurrogate
from physapp.surrogates.models.neural_field import FieldNet
from physapp.surrogates.training import lr_schedule


class NeuralFieldHistorySurrogate(HistorySurrogate):
    """(parameters, time, coordinates) -> fields; see the module docstring."""

    kind = "neural-field-history"
    FIELD_GP = False
    uncertainty = False  # no field bands (the curves have theirs)
    OPTIONS: ClassVar[dict[str, Any]] = {
        **HistorySurrogate.OPTIONS, "epochs": 2000, "width": 64, "depth": 3, "rank": 32,
        "fourier": 16, "fourier_scale": 2.0, "branch_width": 64, "points": 2048,
        "samples_per_step": 16, "lr": 5e-3, "weight_decay": 1e-6,
    }

    # -- training -----------------------------------------------------------------------------
    def _channels(self) -> list[tuple[str, int]]:
        return [(name, max(k, 1)) for name, k in self.info.field_shapes.items()]

    def _fit_more(self, data: Any, *, progress: ProgressFn = no_progress,
                  cancel: CancelToken = NEVER, seed: int = 0) -> None:
        o = self.options
        dev = self.device
        n, F = data.n_samples, data.n_frames
        npts = self.info.n_points
        # (n, F, npts, C) targets, standardised per channel
        y = np.concatenate([np.asarray(data.fields[name], np.float32).reshape(n, F, npts, k)
                            for name, k in self._channels()], axis=3)
        mean, std = y.mean(axis=(0, 1, 2)), y.std(axis=(0, 1, 2))
        std = np.where(std > 1e-7 * np.maximum(np.abs(y).max(axis=(0, 1, 2)), 1e-300), std, 0.0)
        coords = np.asarray(data.coords, np.float32)[..., : self.info.coord_dim]
        lo, hi = coords.min(axis=(0, 1)), coords.max(axis=(0, 1))
        span = hi - lo
        axes = np.flatnonzero(span > 1e-9 * max(float(span.max()), 1e-300))
        self.norm = {"axes": torch.as_tensor(axes, dtype=torch.int64),
                     "lo": torch.as_tensor(lo[axes]), "span": torch.as_tensor(span[axes]),
                     "y_mean": torch.as_tensor(mean), "y_std": torch.as_tensor(std)}
        self.norm = {k: v.to(dev) for k, v in self.norm.items()}
        self.net = FieldNet(len(axes), len(self.param_names) + 1, y.shape[3], width=o["width"],
                            depth=o["depth"], rank=o["rank"], fourier=o["fourier"],
                            fourier_scale=o["fourier_scale"], branch_width=o["branch_width"],
                            seed=seed).to(dev)
        xc = self._norm_coords(torch.as_tensor(coords, device=dev))  # (n, npts, da)
        yt = (torch.as_tensor(y, device=dev) - self.norm["y_mean"]) / self._target_scale()
        mu = torch.as_tensor(self._inputs(self.normalise(data.X)), dtype=torch.float32,
                             device=dev)  # (n, F, p + 1)
        S = max(1, min(int(o["samples_per_step"]), n * F))
        P = max(16, min(int(o["points"]) // S, npts))
        epochs = int(o["epochs"])
        opt = torch.optim.AdamW(self.net.parameters(), lr=o["lr"],
                                weight_decay=o["weight_decay"])
        sched = lr_schedule(opt, epochs)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        self.net.train()
        running = None
        for epoch in range(1, epochs + 1):
            pick = torch.randint(n * F, (S,), generator=gen)
            si, fi = (pick // F).to(dev), (pick % F).to(dev)
            pi = torch.randint(npts, (S, P), generator=gen).to(dev)
            xb = xc[si.unsqueeze(1), pi]
            yb = yt[si.unsqueeze(1), fi.unsqueeze(1), pi]
            opt.zero_grad(set_to_none=True)
            loss = (self.net(xb, mu[si, fi]) - yb).pow(2).mean()
            loss.backward()
            opt.step()
            sched.step()
            lv = float(loss.detach())
            running = lv if running is None else 0.95 * running + 0.05 * lv
            if epoch % 50 == 0 or epoch == epochs:
                cancel.check()
                progress(0.9 * epoch / epochs,
                         f"{self.kind}: network step {epoch}/{epochs}, loss {running:.3g}")
        self.net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)

    def _inputs(self, xn: np.ndarray) -> np.ndarray:
        """(q, F, p + 1) network inputs in [-1, 1]: the parameters and the time of every frame."""
        tn = (self.times - self.times[0]) / max(float(np.ptp(self.times)), 1e-300)
        q, F = len(xn), len(tn)
        return np.concatenate([np.broadcast_to(2 * xn[:, None, :] - 1, (q, F, xn.shape[1])),
                               np.broadcast_to(2 * tn[None, :, None] - 1, (q, F, 1))], axis=2)

    def _target_scale(self) -> torch.Tensor:
        s = self.norm["y_std"]
        return torch.where(s > 0, s, torch.ones_like(s))

    def _norm_coords(self, pts: torch.Tensor) -> torch.Tensor:
        pts = pts[..., self.norm["axes"]]
        return 2.0 * (pts.float() - self.norm["lo"]) / self.norm["span"] - 1.0

    # -- prediction ---------------------------------------------------------------------------
    def _history_arrays(self, xn: np.ndarray, with_std: bool):
        _, _, curves, cstd = super()._history_arrays(xn, False)
        q, F = len(xn), self.n_frames
        coords = self._coords(xn)  # (q, npts, dim)
        mu = self._inputs(xn)
        dev = self.device
        out = []
        with torch.inference_mode():
            for i in range(q):
                xc = self._norm_coords(torch.as_tensor(coords[i], dtype=torch.float32,
                                                       device=dev))
                m = torch.as_tensor(mu[i], dtype=torch.float32, device=dev)  # (F, p + 1)
                frames = [self.net(xc.unsqueeze(0), m[f:f + 1])[0] for f in range(F)]
                y = torch.stack(frames) * self.norm["y_std"] + self.norm["y_mean"]
                out.append(y.double().cpu().numpy())  # (F, npts, C)
        y = np.stack(out)  # (q, F, npts, C)
        f_scale = self.arrays["f_scale"]
        parts, c0 = [], 0
        for (_, k), sc in zip(self._channels(), f_scale, strict=True):
            parts.append(y[..., c0:c0 + k].reshape(q, F, -1) / sc)
            c0 += k
        return np.concatenate(parts, axis=2), None, curves, cstd

    def _move(self, device: str) -> None:
        self.net = self.net.to(device)
        self.norm = {k: v.to(device) for k, v in self.norm.items()}

    # -- persistence --------------------------------------------------------------------------
    def _tensors(self) -> tuple[dict[str, Any], dict[str, Any]]:
        meta, tensors = super()._tensors()
        meta["net"] = {"n_coords": int(self.norm["axes"].numel()),
                       "n_channels": self.net.n_channels}
        tensors.update({f"net/{k}": v.detach().cpu() for k, v in self.net.state_dict().items()})
        tensors.update({f"norm/{k}": v.detach().cpu() for k, v in self.norm.items()})
        return meta, tensors

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, Any], device: str) -> NeuralFieldHistorySurrogate:
        model = super()._restore(info, options, meta, tensors, device)
        o = model.options
        net = FieldNet(meta["net"]["n_coords"], len(info.param_names) + 1,
                       meta["net"]["n_channels"], width=o["width"], depth=o["depth"],
                       rank=o["rank"], fourier=o["fourier"], fourier_scale=o["fourier_scale"],
                       branch_width=o["branch_width"])
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net/")})
        for p in net.parameters():
            p.requires_grad_(False)
        model.net = net.eval()
        model.norm = {k[5:]: v for k, v in tensors.items() if k.startswith("norm/")}
        return model

"""Transolver: physics-attention over learned slices of the mesh's points (Wu et al., 2024).

Written from the paper's description. Every node carries a feature vector (its coordinates in
[-1, 1], its distance to the boundary, its normalised input fields and the global parameters
broadcast to every node), lifted to ``width`` channels by an MLP. Each layer then

1. assigns every node softly to ``slices`` learned slices per head (a softmax over slice logits
   computed from the node's features, with a learned temperature per head);
2. aggregates a token per slice as the weighted mean of the node features. The weights are the
   slice assignments times the node's lumped measure (area or volume), so a token approximates an
   integral over the domain rather than a sum over nodes: refining the mesh (or evaluating a
   subsample of it) leaves the tokens nearly unchanged, which is what lets a model trained on one
   element size answer on another (zero-shot super-resolution);
3. runs multi-head self-attention among the slice tokens (cost independent of the node count);
4. broadcasts the tokens back to the nodes with the same assignments,

followed by a pointwise MLP, with pre-norm residual connections; the global parameters also
scale and shift the normalised inputs of both (FiLM, zero-initialised). The cost is linear in the
node count. :class:`TransolverSurrogate` is a deep ensemble of such networks behind the mesh-agnostic
adapter (:mod:`physapp.surrogates.models.mesh_agnostic`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from physapp.surrogates.models.mesh_agnostic import MeshFieldSurrogate


class PhysicsAttention(nn.Module):
    """Slice, attend among slice tokens, deslice."""

    def __init__(self, width: int, heads: int, slices: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not a multiple of heads {heads}")
        self.heads, self.dh = heads, width // heads
        self.fx = nn.Linear(width, width)  # features aggregated into the tokens
        self.sx = nn.Linear(width, width)  # features the slice assignment reads
        self.slice = nn.Linear(self.dh, slices)
        nn.init.orthogonal_(self.slice.weight)
        self.temperature = nn.Parameter(torch.full((1, heads, 1, 1), 0.5))
        self.q = nn.Linear(self.dh, self.dh, bias=False)
        self.k = nn.Linear(self.dh, self.dh, bias=False)
        self.v = nn.Linear(self.dh, self.dh, bias=False)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """x (S, P, width), w (S, P) nodal measures -> (S, P, width)."""
        S, P, _ = x.shape
        H, dh = self.heads, self.dh
        fx = self.fx(x).view(S, P, H, dh).transpose(1, 2)  # (S, H, P, dh)
        sx = self.sx(x).view(S, P, H, dh).transpose(1, 2)
        a = torch.softmax(self.slice(sx) / self.temperature.clamp(min=0.05), -1)  # (S,H,P,M)
        aw = a * w[:, None, :, None]
        mass = aw.sum(2)  # (S, H, M)
        tok = torch.einsum("shpm,shpd->shmd", aw, fx) / (mass[..., None] + 1e-6)
        q, k, v = self.q(tok), self.k(tok), self.v(tok)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), -1)
        tok = att @ v  # (S, H, M, dh)
        y = torch.einsum("shpm,shmd->shpd", a, tok)
        return self.out(y.transpose(1, 2).reshape(S, P, H * dh))


class TransolverBlock(nn.Module):
    """Pre-norm physics-attention and MLP; with ``n_params`` the parameters also modulate both
    normalised inputs (scale and shift, FiLM), so every layer sees them, not only the lift."""

    def __init__(self, width: int, heads: int, slices: int, mlp_ratio: int,
                 n_params: int = 0) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(width)
        self.attn = PhysicsAttention(width, heads, slices)
        self.ln2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, width * mlp_ratio), nn.GELU(),
                                 nn.Linear(width * mlp_ratio, width))
        self.film = nn.Linear(n_params, 4 * width) if n_params else None
        if self.film is not None:
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, w: torch.Tensor, mu: torch.Tensor | None = None
                ) -> torch.Tensor:
        if self.film is None or mu is None:
            x = x + self.attn(self.ln1(x), w)
            return x + self.mlp(self.ln2(x))
        g1, b1, g2, b2 = self.film(mu)[:, None, :].chunk(4, -1)
        x = x + self.attn(self.ln1(x) * (1 + g1) + b1, w)
        return x + self.mlp(self.ln2(x) * (1 + g2) + b2)


class TransolverNet(nn.Module):
    """Node features + broadcast parameters -> lifted -> Transolver blocks -> fields."""

    def __init__(self, n_feats: int, n_params: int, n_enc: int, n_channels: int, *,
                 width: int = 64, layers: int = 3, heads: int = 4, slices: int = 32,
                 mlp_ratio: int = 1, film: bool = True, fourier: int = 0,
                 fourier_scale: float = 2.0, seed: int = 0) -> None:
        super().__init__()
        self.n_feats, self.n_params, self.n_enc, self.n_channels = (n_feats, n_params, n_enc,
                                                                    n_channels)
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("freqs", torch.randn(n_feats, fourier, generator=g) * fourier_scale)
        with torch.random.fork_rng(devices=[]):  # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            n_in = n_feats + 2 * fourier + n_params
            self.lift = nn.Sequential(nn.Linear(n_in, width), nn.GELU(), nn.Linear(width, width))
            self.blocks = nn.ModuleList(TransolverBlock(width, heads, slices, mlp_ratio,
                                                        n_params if film else 0)
                                        for _ in range(layers))
            self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(),
                                      nn.Linear(width, n_channels))

    def forward(self, feats: torch.Tensor, w: torch.Tensor, mu: torch.Tensor,
                enc: torch.Tensor) -> torch.Tensor:
        """feats (S, P, F), w (S, P), mu (S, p), enc (unused) -> (S, P, C)."""
        parts = [feats]
        if self.freqs.shape[1]:  # random Fourier features: sharper fields than raw coordinates
            proj = 2.0 * math.pi * feats @ self.freqs
            parts += [torch.sin(proj), torch.cos(proj)]
        x = torch.cat([*parts, mu[:, None, :].expand(-1, feats.shape[1], -1)], -1)
        x = self.lift(x)
        for block in self.blocks:
            x = block(x, w, mu)
        return self.head(x)

    def evaluate(self, feats: torch.Tensor, w: torch.Tensor, mu: torch.Tensor,
                 enc: torch.Tensor) -> torch.Tensor:
        """One sample on all its nodes: (n, F), (n,), (p,), (E,) -> (n, C)."""
        return self(feats[None], w[None], mu[None], enc[None])[0]


class TransolverSurrogate(MeshFieldSurrogate):
    """Deep ensemble of Transolvers: any mesh, per-node inputs, more data than POD-GP."""

    kind = "transolver"
    OPTIONS = {**MeshFieldSurrogate.COMMON_OPTIONS, "width": 64, "layers": 3, "heads": 4,
               "slices": 32, "mlp_ratio": 1, "film": True, "fourier": 0, "fourier_scale": 2.0}

    @classmethod
    def _make_net(cls, n_feats: int, n_params: int, n_enc: int, n_channels: int,
                  options: Mapping[str, Any], seed: int) -> nn.Module:
        o = options
        return TransolverNet(n_feats, n_params, n_enc, n_channels, width=int(o["width"]),
                             layers=int(o["layers"]), heads=int(o["heads"]),
                             slices=int(o["slices"]), mlp_ratio=int(o["mlp_ratio"]),
                             film=bool(o.get("film", False)), fourier=int(o.get("fourier", 0)),
                             fourier_scale=float(o.get("fourier_scale", 2.0)), seed=seed)

"""Geometry-aware neural field (a DeepONet whose branch encodes the geometry).

The *branch* reads the geometry encoding (the signed distance to the boundary sampled on a fixed
probe grid over the training bounding box, see
:mod:`physapp.surrogates.models.mesh_agnostic`) and the global parameters, and makes a latent
code; from it a linear head gives ``rank`` x channels coefficients and a bias per channel. The
*trunk* is queried at any point: it reads the point's features (coordinates in [-1, 1], distance
to the boundary, input fields) with random Fourier features, and the latent code (so the basis
itself adapts to the geometry, as in geometry-aware neural fields); a field channel is the product
of trunk and branch. Points are independent, so any point set of the geometry can be queried
(:meth:`GeoFieldSurrogate.predict_points`), in chunks, on a mesh of any resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.surrogates.models.mesh_agnostic import MeshFieldSurrogate
from physapp.surrogates.models.mesh_geometry import MeshGeometry


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)


class GeoFieldNet(nn.Module):
    """Branch (geometry encoding + parameters) x trunk (point features + latent)."""

    def __init__(self, n_feats: int, n_params: int, n_enc: int, n_channels: int, *,
                 width: int = 128, depth: int = 3, rank: int = 64, fourier: int = 32,
                 fourier_scale: float = 1.0, latent: int = 32, seed: int = 0,
                 chunk: int = 65536) -> None:
        super().__init__()
        self.n_feats, self.n_params, self.n_enc, self.n_channels = (n_feats, n_params, n_enc,
                                                                    n_channels)
        self.rank, self.chunk = rank, chunk
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("freqs", torch.randn(n_feats, fourier, generator=g) * fourier_scale)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.encoder = _mlp([n_enc + n_params, 2 * latent, 2 * latent, latent])
            self.branch = nn.Linear(latent, rank * n_channels + n_channels)
            self.trunk = _mlp([n_feats + 2 * fourier + latent, *[width] * depth, rank])

    def forward(self, feats: torch.Tensor, w: torch.Tensor, mu: torch.Tensor,
                enc: torch.Tensor) -> torch.Tensor:
        """feats (S, P, F), w (unused), mu (S, p), enc (S, E) -> (S, P, C)."""
        z = self.encoder(torch.cat([enc, mu], -1))  # (S, latent)
        br = self.branch(z)
        C = self.n_channels
        coef = br[:, : self.rank * C].view(-1, self.rank, C) / math.sqrt(self.rank)
        proj = 2.0 * math.pi * feats @ self.freqs
        t = self.trunk(torch.cat([feats, torch.sin(proj), torch.cos(proj),
                                  z[:, None, :].expand(-1, feats.shape[1], -1)], -1))
        return t @ coef + br[:, self.rank * C:].unsqueeze(1)

    def evaluate(self, feats: torch.Tensor, w: torch.Tensor, mu: torch.Tensor,
                 enc: torch.Tensor) -> torch.Tensor:
        """One sample, in chunks of points: (n, F) -> (n, C)."""
        outs = [self(feats[None, s:s + self.chunk], w[None, s:s + self.chunk], mu[None],
                     enc[None])[0] for s in range(0, feats.shape[0], self.chunk)]
        return torch.cat(outs) if outs else feats.new_zeros(0, self.n_channels)


class GeoFieldSurrogate(MeshFieldSurrogate):
    """Deep ensemble of geometry-aware neural fields: any mesh, query anywhere."""

    kind = "geo-field"
    OPTIONS = {**MeshFieldSurrogate.COMMON_OPTIONS, "samples_per_step": 8, "points": 512,
               "width": 128, "depth": 3, "rank": 64, "fourier": 32, "fourier_scale": 1.0,
               "latent": 32}

    @classmethod
    def _make_net(cls, n_feats: int, n_params: int, n_enc: int, n_channels: int,
                  options: Mapping[str, Any], seed: int) -> nn.Module:
        o = options
        return GeoFieldNet(n_feats, n_params, n_enc, n_channels, width=int(o["width"]),
                           depth=int(o["depth"]), rank=int(o["rank"]), fourier=int(o["fourier"]),
                           fourier_scale=float(o["fourier_scale"]), latent=int(o["latent"]),
                           seed=seed)

    def predict_points(self, params: Mapping[str, float], points: np.ndarray,
                       mesh: MeshData | None = None,
                       inputs: Mapping[str, np.ndarray] | None = None
                       ) -> dict[str, np.ndarray]:
        """Fields (and ``<field>_std``) at arbitrary ``points`` (N, dim) of the geometry of
        ``mesh`` (default: the mesh :meth:`predict` uses); ``inputs`` are the input fields at
        those points."""
        pts = np.asarray(points, np.float64)
        if pts.ndim != 2 or pts.shape[1] < self.dim:
            raise ParameterError(f"points must be an (N, {self.dim}) array, got {pts.shape}.")
        x, _, values = self.parameter_vector(params)
        xn = self.normalise(x[None, :])
        geom = self._geometry(mesh if mesh is not None else self._mesh_at(xn, values))
        probe = MeshGeometry(pts[:, : self.dim], np.ones(len(pts)), geom.boundary,
                             geom.centroids, geom.boundary_ids)
        probe.mesh = geom.mesh  # the boundary the geometric features of the points refer to
        feats, w = self._features(probe, inputs)
        with torch.inference_mode():
            mean, std = self._run_eval(feats, w, xn[0], self._encoding(geom))
        arrays = {k: v.numpy()[None] for k, v in self._split(torch.as_tensor(mean)).items()}
        arrays.update({k: v.numpy()[None] for k, v in
                       self._split(torch.as_tensor(std), "_std").items()})
        return {k: v[0] for k, v in self._unscale(arrays, xn).items()}

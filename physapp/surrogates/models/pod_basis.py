"""The POD (principal component) bases the POD surrogates share: one :class:`PodBasis` per
field (and of the node coordinates when the geometry varies), gathered in a :class:`PodSet`,
with the training snapshots they are fitted to. Torch is imported inside the methods (the module
loads without it)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from physapp.surrogates.models.base import COORDS, ModelInfo

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


def _normalise(info: ModelInfo, X: np.ndarray) -> np.ndarray:
    return info.normalise(X)

"""The two baseline surrogates: ``linear`` (least squares from the parameters to the fields; the
POD of a linear map is exact) and ``nearest`` (the training sample closest in normalised
parameter space)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.models.base import FieldSurrogate, ModelInfo, check_options
from physapp.surrogates.models.pod_basis import _normalise, _wanted, output_names, snapshots

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from physapp.surrogates.data import TrainingData


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

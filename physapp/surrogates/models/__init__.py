"""Field surrogate models: POD-GP, POD-MLP ensemble, neural field, and the linear and
nearest-neighbour baselines. Importing this package does not import torch.

Use :func:`physapp.surrogates.training.train_surrogate` to train one and
:mod:`physapp.surrogates.storage` to save and load it.
"""

from __future__ import annotations

from physapp.core.errors import PhysappError
from physapp.surrogates.models.base import FieldSurrogate, ModelInfo

__all__ = ["FieldSurrogate", "ModelInfo", "model_class", "KINDS"]

KINDS = ("pod-gp", "pod-mlp", "neural-field", "linear", "nearest")


def model_class(kind: str) -> type[FieldSurrogate]:
    """The class implementing ``kind``; a PhysappError names the known kinds otherwise."""
    if kind in ("pod-gp", "pod-mlp", "linear", "nearest"):
        from physapp.surrogates.models import pod

        return {"pod-gp": pod.PodGPSurrogate, "pod-mlp": pod.PodMLPSurrogate,
                "linear": pod.LinearSurrogate, "nearest": pod.NearestSurrogate}[kind]
    if kind == "neural-field":
        from physapp.surrogates.models.neural_field import NeuralFieldSurrogate

        return NeuralFieldSurrogate
    raise PhysappError(f"Unknown surrogate model '{kind}'; choose one of {', '.join(KINDS)}.")

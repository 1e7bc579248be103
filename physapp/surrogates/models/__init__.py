"""Field surrogate models: POD-GP, POD-MLP ensemble, neural field, and the linear and
nearest-neighbour baselines. Importing this package does not import torch.

Use :func:`physapp.surrogates.training.train_surrogate` to train one and
:mod:`physapp.surrogates.storage` to save and load it.
"""

from __future__ import annotations

from physapp.core.errors import PhysappError
from physapp.surrogates.models.base import FieldSurrogate, ModelInfo

__all__ = ["FieldSurrogate", "ModelInfo", "model_class", "all_kinds", "KINDS", "MESH_KINDS",
           "HISTORY_KINDS"]

#: the built-in kinds, declared in physapp/plugins/builtin.toml ([[surrogates]]); plugins add more
KINDS = ("pod-gp", "pod-mlp", "neural-field", "linear", "nearest")
#: built-in mesh-agnostic kinds (also in builtin.toml): they train on samples with different
#: meshes too (physapp.surrogates.models.mesh_agnostic); not in ``train_all``'s default set
MESH_KINDS = ("transolver", "geo-field")
#: built-in history kinds (builtin.toml; #18, #22): they train on the histories a sweep of a
#: history study keeps (physapp.surrogates.models.history_model)
HISTORY_KINDS = ("pod-history", "curve-gp", "field-curve", "pod-history-phase",
                 "neural-field-history")


def model_class(kind: str) -> type[FieldSurrogate]:
    """The class implementing ``kind`` (built-in or a plugin's ``[[surrogates]]``, found through
    :mod:`physapp.plugins`); a PhysappError names the known kinds otherwise."""
    from physapp.plugins import surrogate_class, surrogate_kinds

    try:
        return surrogate_class(kind)
    except KeyError:
        known = ", ".join(dict.fromkeys([*KINDS, *surrogate_kinds()]))
        raise PhysappError(f"Unknown surrogate model '{kind}'; choose one of {known}.") from None


def all_kinds() -> list[str]:
    """Built-in kinds and the architectures that plugins register."""
    from physapp.plugins import surrogate_kinds

    return list(dict.fromkeys([*KINDS, *surrogate_kinds()]))

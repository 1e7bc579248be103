"""MeshSamples: the contract for data whose samples have different meshes (#19).

``TrainingData`` (:mod:`physapp.surrogates.data`) holds samples on one mesh topology, which is what
POD needs. Mesh-agnostic models (Transolver, geometry-aware neural fields) instead learn from a list
of samples that each bring their own mesh: a topology-changing study's sweep (a plate with 1-4
holes), or a folder of result files that physapp did not make. Every producer of such data
(sweeps of topology-changing studies, ``physapp dataset import``, PLAID) yields ``MeshSamples``
and every mesh-agnostic model trains on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import MeshData


@dataclass(frozen=True)
class MeshSample:
    """One sample on its own mesh.

    ``params`` are the scalar inputs (design parameters), ``inputs`` nodal input fields (e.g. a
    conductivity field; may be empty), ``outputs`` the nodal fields to learn, each ``(n_points,)``
    or ``(n_points, k)``; ``key_quantities`` scalar outputs (a reaction force, a peak stress).
    """

    mesh: MeshData
    params: Mapping[str, float]
    outputs: Mapping[str, np.ndarray]
    inputs: Mapping[str, np.ndarray] = field(default_factory=dict)
    key_quantities: Mapping[str, float] = field(default_factory=dict)
    name: str = ""

    def __post_init__(self) -> None:
        n = self.mesh.n_points
        for kind in ("inputs", "outputs"):
            arrays = {}
            for key, value in getattr(self, kind).items():
                arr = np.ascontiguousarray(value, dtype=np.float32)
                if arr.shape[:1] != (n,):
                    raise PhysappError(f"sample {self.name or '?'}: {kind[:-1]} field {key!r} "
                                       f"has {arr.shape[0] if arr.ndim else 0} values for "
                                       f"{n} nodes.")
                arr.setflags(write=False)
                arrays[key] = arr
            object.__setattr__(self, kind, arrays)
        object.__setattr__(self, "params", {k: float(v) for k, v in self.params.items()})
        object.__setattr__(self, "key_quantities",
                           {k: float(v) for k, v in self.key_quantities.items()})


@dataclass
class MeshSamples:
    """Samples of one family with possibly different meshes.

    ``param_names``, ``input_names`` and ``output_names`` fix the order models use; ``units`` maps
    field and parameter names to units; ``is_test`` marks held-out samples; ``bounds`` (p, 2) is
    the range of each parameter (from the data when not given); ``study_id`` names the study the
    samples come from ("" for imported data).
    """

    samples: list[MeshSample]
    param_names: tuple[str, ...]
    output_names: tuple[str, ...]
    input_names: tuple[str, ...] = ()
    units: dict[str, str] = field(default_factory=dict)
    is_test: np.ndarray | None = None
    bounds: np.ndarray | None = None
    study_id: str = ""
    fixed: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.samples:
            raise PhysappError("The data set has no samples.")
        for s in self.samples:
            missing = ([p for p in self.param_names if p not in s.params]
                       + [f for f in self.output_names if f not in s.outputs]
                       + [f for f in self.input_names if f not in s.inputs])
            if missing:
                raise PhysappError(f"sample {s.name or '?'} lacks {', '.join(missing)}.")
        n = len(self.samples)
        self.is_test = (np.zeros(n, bool) if self.is_test is None
                        else np.asarray(self.is_test, bool).reshape(n))
        if self.bounds is None:
            X = self.X
            self.bounds = (np.column_stack([X.min(0), X.max(0)]) if X.size
                           else np.zeros((0, 2)))
        self.bounds = np.asarray(self.bounds, float).reshape(len(self.param_names), 2)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def X(self) -> np.ndarray:
        """(n, p) parameter values in ``param_names`` order."""
        return np.array([[s.params[p] for p in self.param_names] for s in self.samples],
                        dtype=np.float64).reshape(len(self.samples), len(self.param_names))

    def split(self) -> tuple[list[MeshSample], list[MeshSample]]:
        """(training samples, held-out samples)."""
        return ([s for s, t in zip(self.samples, self.is_test, strict=True) if not t],
                [s for s, t in zip(self.samples, self.is_test, strict=True) if t])

    def subset(self, indices: Sequence[int]) -> MeshSamples:
        idx = list(indices)
        return MeshSamples([self.samples[i] for i in idx], self.param_names, self.output_names,
                           self.input_names, dict(self.units), self.is_test[idx],
                           self.bounds.copy(), self.study_id, dict(self.fixed))

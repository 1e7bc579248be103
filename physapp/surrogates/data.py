"""TrainingData: the contract between datasets (sweeps on morphed meshes) and surrogate models.

Every sample lives on one support: the same node count and cells (the reference mesh's topology),
with its own node coordinates (the reference mesh morphed to that sample's geometry). Models learn
parameters -> (coordinates, fields); a prediction therefore moves the geometry too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import MeshData


@dataclass
class TrainingData:
    """Samples of one study on one mesh topology.

    Attributes
    ----------
    study_id : the study the samples come from.
    param_names : the varied (design) parameters, in the column order of ``X``.
    bounds : (p, 2) lower/upper bound of each varied parameter (the trained range).
    fixed : values of the study's other parameters (held fixed in every sample).
    mesh : the reference mesh (topology and reference coordinates) of the outputs.
    X : (n, p) parameter values, float64.
    coords : (n, n_points, dim) node coordinates of each sample, float32.
    fields : name -> (n, n_points) or (n, n_points, k) float32 nodal values.
    units : field name -> unit.
    is_test : (n,) True for held-out samples.
    key_quantities : name -> (n,) study key quantities of each sample (from the solver).
    scaled_out : parameters divided out of the fields by a physical field scaling
        (:mod:`physapp.surrogates.scaling`); models keep them on a linear input scale.
    """

    study_id: str
    param_names: tuple[str, ...]
    bounds: np.ndarray
    fixed: dict[str, float]
    mesh: MeshData
    X: np.ndarray
    coords: np.ndarray
    fields: dict[str, np.ndarray]
    units: dict[str, str] = field(default_factory=dict)
    is_test: np.ndarray | None = None
    key_quantities: dict[str, np.ndarray] = field(default_factory=dict)
    scaled_out: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.X = np.asarray(self.X, dtype=np.float64).reshape(len(self.X), -1)
        n, p = self.X.shape
        self.bounds = np.asarray(self.bounds, dtype=np.float64).reshape(p, 2)
        if len(self.param_names) != p:
            raise PhysappError(f"{len(self.param_names)} parameter names for {p} columns.")
        if self.is_test is None:
            self.is_test = np.zeros(n, dtype=bool)
        npts = self.mesh.n_points
        if self.coords.shape[:2] != (n, npts):
            raise PhysappError(f"coords has shape {self.coords.shape}, expected ({n}, {npts}, dim).")
        for name, arr in self.fields.items():
            if arr.shape[:2] != (n, npts):
                raise PhysappError(f"field {name!r} has shape {arr.shape}, expected ({n}, {npts}, ...).")
            if not np.all(np.isfinite(arr)):
                raise PhysappError(
                    f"field {name!r} contains NaN or infinite values (a failed solve?); "
                    "drop those samples before training."
                )

    @property
    def n_samples(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        from physapp.core.results import describe_fields

        n_test = int(np.sum(self.is_test))
        return (f"TrainingData({self.study_id!r}, {self.n_samples} samples "
                f"({self.n_samples - n_test} training / {n_test} held out), parameters "
                f"{', '.join(self.param_names)}, {self.mesh.n_points:,} points, fields: "
                f"{describe_fields(self.fields, self.units, 2)})")

    def subset(self, mask: np.ndarray) -> TrainingData:
        """The samples where ``mask`` is True (a boolean or index array)."""
        return TrainingData(self.study_id, self.param_names, self.bounds, dict(self.fixed),
                            self.mesh, self.X[mask], self.coords[mask],
                            {k: v[mask] for k, v in self.fields.items()}, dict(self.units),
                            self.is_test[mask], {k: v[mask] for k, v in self.key_quantities.items()},
                            self.scaled_out)

    def train(self) -> TrainingData:
        return self.subset(~self.is_test)

    def test(self) -> TrainingData:
        return self.subset(self.is_test)

"""FieldSurrogate: the common face of every trained field model.

A model maps design parameters to nodal fields (and node coordinates, when the geometry varies)
on the reference mesh topology. Subclasses implement ``fit``, ``_forward`` (normalised parameters
-> arrays), ``_tensors``/``_restore`` (persistence) and ``_move`` (device change).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.quantities import result_key_quantities
from physapp.core.results import FieldResult
from physapp.core.threads import limited

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from physapp.surrogates.data import TrainingData

COORDS = "coords"  #: key of predicted node coordinates in ``predict_arrays``
#: a positive parameter whose trained range spans this factor or more is learned on a log scale
LOG_RATIO = 4.0


@dataclass
class ModelInfo:
    """What every model knows about its data: parameters, fields, the reference mesh.

    Attributes
    ----------
    study_id, param_names, bounds (p, 2), fixed : as in TrainingData.
    field_shapes : field name -> number of components (0 for a scalar field).
    units : field name -> unit.
    mesh : reference mesh (points rounded to float32, the precision stored in model files).
    coord_dim : number of coordinate columns of the samples (2 or 3).
    coords_vary : True when the node coordinates differ between samples (geometric parameters).
    varying : field name -> bool mask (n_points[, k]) of the components that vary in training.
    defaults : value of each varied parameter when a query leaves it out (centre of its range).
    log_inputs : per parameter, True when the model sees it on a log scale (a positive range
        spanning a factor of LOG_RATIO or more, e.g. a length from 5 to 60 mm, and not divided
        out by the field scaling): responses to geometry vary far more evenly in log space.
        Empty for models saved before this existed (all linear).
    """

    study_id: str
    param_names: tuple[str, ...]
    bounds: np.ndarray
    fixed: dict[str, float]
    field_shapes: dict[str, int]
    units: dict[str, str]
    mesh: MeshData
    coord_dim: int
    coords_vary: bool
    varying: dict[str, np.ndarray] = field(default_factory=dict)
    defaults: dict[str, float] = field(default_factory=dict)
    log_inputs: tuple[bool, ...] = ()

    def normalise(self, X: np.ndarray) -> np.ndarray:
        """Parameter rows -> [0, 1] per column over the trained bounds (log columns in log)."""
        X = np.asarray(X, dtype=np.float64)
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        out = (X - lo) / np.where(hi > lo, hi - lo, 1.0)
        for j, on in enumerate(self.log_inputs):
            if on:
                out[..., j] = np.log(np.maximum(X[..., j], 1e-300) / lo[j]) / np.log(hi[j] / lo[j])
        return out

    def denormalise(self, Xn: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`normalise`."""
        Xn = np.asarray(Xn, dtype=np.float64)
        lo, hi = self.bounds[:, 0], self.bounds[:, 1]
        out = lo + Xn * np.where(hi > lo, hi - lo, 1.0)
        for j, on in enumerate(self.log_inputs):
            if on:
                out[..., j] = lo[j] * (hi[j] / lo[j]) ** Xn[..., j]
        return out

    @classmethod
    def from_data(cls, data: TrainingData, *, log_inputs: bool = False) -> ModelInfo:
        """``log_inputs``: learn positive parameters with wide ranges on a log scale (see the
        class docstring); models that regress exactly linear responses keep it off."""
        mesh = data.mesh
        ref = np.asarray(mesh.points, dtype=np.float32)
        coords = np.asarray(data.coords, dtype=np.float32)
        extent = float(np.ptp(ref, axis=0).max()) if len(ref) else 1.0
        coords_vary = bool(np.abs(coords - coords[:1]).max() > 1e-6 * max(extent, 1e-30))
        if not coords_vary:  # every sample has these coordinates: predictions use them
            ref = ref.copy()
            ref[:, : coords.shape[2]] = coords[0]
        mesh32 = MeshData(ref, mesh.cells, dict(mesh.boundaries), dict(mesh.subdomains),
                          mesh.dim, mesh.length_unit)
        shapes = {name: (0 if a.ndim == 2 else int(a.shape[2])) for name, a in data.fields.items()}
        varying = {}
        for name, a in data.fields.items():
            a64 = a.astype(np.float64)
            rms = float(np.sqrt(np.mean(a64**2))) if a.size else 0.0
            varying[name] = a64.std(axis=0) > 1e-6 * max(rms, 1e-300)
        bounds = np.asarray(data.bounds, dtype=np.float64)
        defaults = {n: float(0.5 * (lo + hi)) for n, (lo, hi) in zip(data.param_names, bounds,
                                                                     strict=True)}
        logs = tuple(bool(log_inputs and lo > 0 and hi >= LOG_RATIO * lo
                          and name not in data.scaled_out)
                     for name, (lo, hi) in zip(data.param_names, bounds, strict=True))
        return cls(data.study_id, tuple(data.param_names), bounds, dict(data.fixed), shapes,
                   {k: data.units.get(k, "") for k in data.fields}, mesh32, coords.shape[2],
                   coords_vary, varying, defaults, logs)

    @property
    def n_points(self) -> int:
        return self.mesh.n_points

    def width(self, name: str) -> int:
        """Flattened length of a field (n_points * components)."""
        k = self.coord_dim if name == COORDS else self.field_shapes[name]
        return self.n_points * max(k, 1)

    def shape(self, name: str) -> tuple[int, ...]:
        if name == COORDS:
            return (self.n_points, self.coord_dim)
        k = self.field_shapes[name]
        return (self.n_points,) if k == 0 else (self.n_points, k)

    def to_json(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id, "param_names": list(self.param_names),
            "bounds": self.bounds.tolist(), "fixed": self.fixed,
            "field_shapes": self.field_shapes, "units": self.units, "coord_dim": self.coord_dim,
            "coords_vary": self.coords_vary, "defaults": self.defaults,
            "log_inputs": list(self.log_inputs),
            "mesh": {"cell_types": [b.type for b in self.mesh.cells], "dim": self.mesh.dim,
                     "length_unit": self.mesh.length_unit,
                     "boundaries": list(self.mesh.boundaries),
                     "subdomains": list(self.mesh.subdomains)},
        }

    def tensors(self) -> dict[str, torch.Tensor]:
        import torch

        m = self.mesh
        out = {"mesh/points": torch.from_numpy(np.asarray(m.points, dtype=np.float32).copy())}
        for i, b in enumerate(m.cells):
            out[f"mesh/cells/{i}"] = torch.from_numpy(b.connectivity.astype(np.int32))
        for name, a in m.boundaries.items():
            out[f"mesh/boundary/{name}"] = torch.from_numpy(np.asarray(a, dtype=np.int32).copy())
        for name, a in m.subdomains.items():
            out[f"mesh/subdomain/{name}"] = torch.from_numpy(np.asarray(a, dtype=np.int32).copy())
        for name, a in self.varying.items():
            out[f"varying/{name}"] = torch.from_numpy(np.packbits(a.ravel()))
        return out

    @classmethod
    def restore(cls, meta: dict[str, Any], tensors: Mapping[str, Any]) -> ModelInfo:
        """From :meth:`to_json` and :meth:`tensors` (torch tensors or numpy arrays)."""
        mm = meta["mesh"]
        cells = tuple(CellBlock(t, _np(tensors[f"mesh/cells/{i}"]).astype(np.int64))
                      for i, t in enumerate(mm["cell_types"]))
        mesh = MeshData(_np(tensors["mesh/points"]), cells,
                        {n: _np(tensors[f"mesh/boundary/{n}"]) for n in mm["boundaries"]},
                        {n: _np(tensors[f"mesh/subdomain/{n}"]) for n in mm["subdomains"]},
                        mm["dim"], mm["length_unit"])
        info = cls(meta["study_id"], tuple(meta["param_names"]), np.asarray(meta["bounds"]),
                   dict(meta["fixed"]), {k: int(v) for k, v in meta["field_shapes"].items()},
                   dict(meta["units"]), mesh, int(meta["coord_dim"]), bool(meta["coords_vary"]),
                   defaults=dict(meta["defaults"]),
                   log_inputs=tuple(bool(v) for v in meta.get("log_inputs", ())))
        for name in info.field_shapes:
            shape = info.shape(name)
            bits = np.unpackbits(_np(tensors[f"varying/{name}"]))[: int(np.prod(shape))]
            info.varying[name] = bits.astype(bool).reshape(shape)
        return info



def _np(value: Any) -> np.ndarray:
    """A stored tensor as a numpy array (torch tensors from torch.load, numpy arrays from
    physapp.surrogates.ptzip)."""
    return value if isinstance(value, np.ndarray) else value.numpy()


#: fields that are never negative; predictions are clipped at zero
NON_NEGATIVE = {"von_mises"}


class FieldSurrogate:
    """A trained surrogate of one study: parameters -> nodal fields on the reference topology.

    Attributes
    ----------
    id : unique id of this trained model.
    kind : ``"pod-gp"``, ``"pod-mlp"``, ``"neural-field"``, ``"linear"`` or ``"nearest"``.
    metrics : held-out scores (see :func:`physapp.surrogates.training.evaluate`).
    device : where the tensors live (``"cpu"`` or ``"cuda:N"``).
    notices : messages about device fallbacks.
    options : the hyperparameters it was trained with (JSON-able).
    """

    kind: ClassVar[str] = ""
    #: True when predictions carry ``<field>_std`` standard-deviation fields
    uncertainty: ClassVar[bool] = False
    #: options ``fit`` accepts, with their defaults
    OPTIONS: ClassVar[dict[str, Any]] = {}
    MIN_SAMPLES: ClassVar[int] = 2

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any]) -> None:
        self.info = info
        self.device = device
        self.options = dict(options)
        self.id = f"{self.kind}/{info.study_id}/{uuid.uuid4().hex[:8]}"
        self.metrics: dict[str, Any] = {}
        self.notices: list[str] = []
        self.history: list[tuple[int, float, float | None]] = []
        #: physical scaling of fields (see physapp.surrogates.scaling); learned in scaled form
        self.field_scaling: dict[str, Any] = {}

    # -- description ----------------------------------------------------------------------------
    @property
    def study_id(self) -> str:
        return self.info.study_id

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.info.param_names

    @property
    def bounds(self) -> np.ndarray:
        return self.info.bounds

    @property
    def fixed(self) -> dict[str, float]:
        return self.info.fixed

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(self.info.field_shapes)

    @property
    def units(self) -> dict[str, str]:
        return self.info.units

    @property
    def mesh(self) -> MeshData:
        """The reference mesh (topology and reference coordinates)."""
        return self.info.mesh

    @property
    def coords_vary(self) -> bool:
        return self.info.coords_vary

    def varying_mask(self, name: str) -> np.ndarray:
        """Bool mask (n_points[, k]) of the components of ``name`` that vary in the training set."""
        return self.info.varying[name]

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.id} params={list(self.param_names)} "
                f"fields={list(self.field_names)} device={self.device}>")

    # -- parameters -----------------------------------------------------------------------------
    def parameter_vector(self, params: Mapping[str, float]) -> tuple[np.ndarray, list[str],
                                                                     dict[str, float]]:
        """Complete ``params`` with defaults; flag values outside the trained range.

        Returns
        -------
        x : (p,) varied parameter values; out_of_range : names outside the trained bounds (or
        fixed parameters given another value); values : all parameter values used.

        Raises
        ------
        ParameterError
            For unknown names or non-numeric values.
        """
        known = set(self.param_names) | set(self.fixed)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) {', '.join(unknown)} for this {self.kind} surrogate of "
                f"'{self.study_id}'; it knows: {', '.join(self.param_names)} (varied) and "
                f"{', '.join(self.fixed) or 'nothing else'} (fixed)."
            )
        values: dict[str, float] = {}
        for name, v in params.items():
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise ParameterError(f"Parameter {name}: '{v}' is not a number.") from None
            if not math.isfinite(f):
                raise ParameterError(f"Parameter {name} must be a finite number.")
            values[name] = f
        out: list[str] = []
        x = np.empty(len(self.param_names))
        for i, name in enumerate(self.param_names):
            x[i] = values.get(name, self.info.defaults.get(name, float(self.bounds[i].mean())))
            lo, hi = self.bounds[i]
            tol = 1e-9 * max(abs(lo), abs(hi), 1e-300)
            if not lo - tol <= x[i] <= hi + tol:
                out.append(name)
        for name, v in self.fixed.items():
            if name in values and not math.isclose(values[name], v, rel_tol=1e-9, abs_tol=1e-300):
                out.append(name)
        full = dict(self.fixed)
        full.update(zip(self.param_names, x.tolist(), strict=True))
        return x, out, full

    def normalise(self, X: np.ndarray) -> np.ndarray:
        """Scale parameter values to [0, 1] by the trained bounds (see ModelInfo.normalise)."""
        return self.info.normalise(X)

    # -- prediction -----------------------------------------------------------------------------
    #: models whose ``_forward`` accepts ``fields=`` and evaluates only those (cheaper)
    FIELD_SUBSET = False

    def predict(self, params: Mapping[str, float], fields: Sequence[str] | None = None
                ) -> FieldResult:
        """Fields at ``params`` on the reference topology (node coordinates predicted too).

        Missing parameters take their defaults (fixed values, or the centre of the trained range);
        values outside the trained range are listed in ``meta["out_of_range"]`` but answered.
        ``fields``: only these (and their std), when the model can skip the others (a display
        that shows one field while a slider moves); ``meta["partial"]`` is then True.
        """
        t0 = time.perf_counter()
        x, out_of_range, values = self.parameter_vector(params)
        subset = None
        if fields is not None and self.FIELD_SUBSET:
            sources = getattr(self.trained_study(), "dependent_field_sources", {})
            wanted = [*fields, *(s for f in fields for s in sources.get(f, ()))]
            subset = [f for f in dict.fromkeys(wanted) if f in self.info.field_shapes]
        with limited():  # a 2-thread BLAS call waits on a parked thread under contention
            arrays = self._run(self.normalise(x[None, :]), with_coords=True, fields=subset)
        points = arrays.pop(COORDS)[0] if COORDS in arrays else self.mesh.points
        return self._result(self._mesh_with(points), {k: v[0] for k, v in arrays.items()},
                            values, out_of_range, t0, partial=subset is not None)

    def _mesh_with(self, points: np.ndarray) -> MeshData:
        m = self.mesh
        if points is m.points:
            return m
        return MeshData(points, m.cells, m.boundaries, m.subdomains, m.dim, m.length_unit)

    def _result(self, mesh: MeshData, point_data: dict[str, np.ndarray], values: dict[str, float],
                out_of_range: list[str], t0: float, partial: bool = False) -> FieldResult:
        for name in NON_NEGATIVE & set(point_data):  # a regression can dip below zero
            point_data[name] = np.maximum(point_data[name], 0.0)
        units = {}
        for name in point_data:
            base = name[:-4] if name.endswith("_std") else name
            units[name] = self.units.get(base, "")
        meta = {
            "latency_ms": (time.perf_counter() - t0) * 1e3, "device": self.device,
            "out_of_range": out_of_range, "params": values, "model": self.kind,
            "surrogate_id": self.id, "study": self.study_id,
            "notice": " ".join(self.notices) if self.notices else "",
        }
        if partial:  # only the fields asked for (see predict)
            meta["partial"] = True
        result = FieldResult(mesh, point_data, f"surrogate:{self.kind}", meta, units)
        # the study's key quantities from the predicted fields, as a solve computes them
        kq, kunits, problems = result_key_quantities(self.trained_study(), result, values)
        extra = {"key_quantities": kq, "key_units": kunits}
        if problems and not partial:  # a partial prediction lacks fields by design
            extra["key_quantity_problems"] = problems
        return replace(result, meta={**result.meta, **extra})

    def trained_study(self) -> Any:
        """The study this model was trained for, or None where it is not registered (looked up
        once; its ``field_quantities``/``derived_quantities`` make the key quantities)."""
        if not hasattr(self, "_trained_study"):
            try:
                from physapp.studies import get_study

                self._trained_study = get_study(self.study_id)
            except Exception:  # noqa: BLE001 - a raw model or a plugin that is not here
                self._trained_study = None
        return self._trained_study

    def predict_arrays(self, X: np.ndarray, *, include_coords: bool = False, chunk: int = 64
                       ) -> dict[str, np.ndarray]:
        """Batch evaluation: parameter rows ``X`` (m, p) -> name -> (m, n_points[, k]) float32.

        Includes ``<field>_std`` for uncertainty-capable models and, with ``include_coords``,
        the node coordinates under ``"coords"`` (m, n_points, dim).
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if X.shape[1] != len(self.param_names):
            raise ParameterError(
                f"Expected {len(self.param_names)} parameter columns "
                f"({', '.join(self.param_names)}), got {X.shape[1]}.")
        Xn = self.normalise(X)
        parts: list[dict[str, np.ndarray]] = []
        with limited():
            for s in range(0, len(Xn), chunk):
                parts.append(self._run(Xn[s:s + chunk], with_coords=include_coords))
        if not parts:
            return {}
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if include_coords and COORDS not in out:
            ref = np.asarray(self.mesh.points[:, : self.info.coord_dim], dtype=np.float32)
            out[COORDS] = np.broadcast_to(ref, (len(X), *ref.shape)).copy()
        return out

    def _run(self, xn: np.ndarray, *, with_coords: bool, fields: list[str] | None = None
             ) -> dict[str, np.ndarray]:
        """Evaluate under inference mode, falling back to the CPU on a GPU out-of-memory error."""
        import torch

        from physapp.surrogates.device import empty_cache, is_oom

        def go() -> dict[str, np.ndarray]:
            with torch.inference_mode():
                t = torch.as_tensor(xn, dtype=torch.float32, device=self.device)
                res = (self._forward(t, with_coords=with_coords) if fields is None else
                       self._forward(t, with_coords=with_coords, fields=fields))
                out = {}
                for k, v in res.items():
                    base = k if (k == COORDS or k in self.info.field_shapes) else k[:-4]
                    shape = (len(xn), *self.info.shape(base))
                    out[k] = v.reshape(shape).to("cpu", torch.float32).numpy()
                return out

        try:
            return self._unscale(go(), xn)
        except Exception as exc:
            if self.device == "cpu" or not is_oom(exc):
                raise
        empty_cache()
        self.to("cpu")
        self.notices.append("GPU out of memory during prediction; the model moved to the CPU.")
        return self._unscale(go(), xn)

    def _unscale(self, arrays: dict[str, np.ndarray], xn: np.ndarray) -> dict[str, np.ndarray]:
        """The fields in their units, then those the study computes from others (below)."""
        hook = getattr(self.trained_study(), "dependent_fields", None)
        if not self.field_scaling and hook is None:
            return arrays
        X = self.info.denormalise(xn)
        rows = []
        for x in X:
            r = dict(self.fixed)
            r.update(zip(self.param_names, map(float, x), strict=True))
            rows.append(r)
        if self.field_scaling:
            from physapp.surrogates.scaling import unscale

            arrays = unscale(arrays, self.field_scaling, rows)
        if hook is not None:  # fields that follow exactly from others (the airfoil's potential
            # flow: pressure from the velocity by Bernoulli) replace the learned ones
            try:
                arrays.update(hook(arrays, rows))
            except Exception as exc:  # noqa: BLE001 - a plugin's hook: keep the learned fields
                note = f"The study's dependent_fields failed ({type(exc).__name__}: {exc})."
                if note not in self.notices:
                    self.notices.append(note)
        return arrays

    def to(self, device: str) -> FieldSurrogate:
        """Move the model's tensors to ``device`` (in place); returns self."""
        self._move(device)
        self.device = device
        return self

    # -- to implement ---------------------------------------------------------------------------
    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> FieldSurrogate:
        raise NotImplementedError

    def _forward(self, xn: torch.Tensor, *, with_coords: bool) -> dict[str, torch.Tensor]:
        """Normalised parameters (m, p) -> name -> (m, width) or (m, n_points, k) tensors."""
        raise NotImplementedError

    def _move(self, device: str) -> None:
        raise NotImplementedError

    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Model-specific JSON-able metadata and tensors."""
        raise NotImplementedError

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> FieldSurrogate:
        raise NotImplementedError

    # -- persistence helpers (used by physapp.surrogates.storage) -------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Everything needed to rebuild the model: JSON-able metadata and CPU tensors."""
        meta, tensors = self._tensors()
        full_meta = {"kind": self.kind, "id": self.id, "options": self.options,
                     "metrics": self.metrics, "info": self.info.to_json(), "model": meta,
                     "history": [list(h) for h in self.history],
                     "field_scaling": self.field_scaling}
        out = {f"info/{k}": v for k, v in self.info.tensors().items()}
        out.update({f"model/{k}": v.detach().to("cpu").contiguous() for k, v in tensors.items()})
        return full_meta, out

    @classmethod
    def from_state(cls, meta: dict[str, Any], tensors: Mapping[str, torch.Tensor], device: str
                   ) -> FieldSurrogate:
        info = ModelInfo.restore(meta["info"], {k[5:]: v for k, v in tensors.items()
                                                if k.startswith("info/")})
        model_t = {k[6:]: v for k, v in tensors.items() if k.startswith("model/")}
        model = cls._restore(info, dict(meta.get("options", {})), meta["model"], model_t, device)
        model.id = meta["id"]
        model.metrics = dict(meta.get("metrics", {}))
        model.history = [tuple(h) for h in meta.get("history", [])]
        model.field_scaling = dict(meta.get("field_scaling", {}))
        return model


def check_options(cls: type[FieldSurrogate], options: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults of ``cls.OPTIONS`` updated with ``options`` (``on_epoch`` is not stored)."""
    out = dict(cls.OPTIONS)
    for k, v in options.items():
        if k == "on_epoch":
            continue
        if k not in out:
            raise PhysappError(f"Unknown option '{k}' for a {cls.kind} surrogate.")
        out[k] = v
    return out

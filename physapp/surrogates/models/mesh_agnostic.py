"""Mesh-agnostic surrogates: the common adapter of the Transolver and the geometry-aware field.

A mesh-agnostic model reads a mesh (node coordinates, a lumped nodal measure, the distance of
every node to the boundary), optional nodal input fields and the global parameters, and returns
nodal fields on *that* mesh: the meshes of the training samples may all differ (a
:class:`~physapp.surrogates.samples.MeshSamples` of a topology-changing study or of imported
files), and a prediction can be asked on any other mesh (a finer one: zero-shot
super-resolution). :class:`MeshFieldSurrogate` turns such a network into a
:class:`~physapp.surrogates.models.base.FieldSurrogate`:

* training from ``MeshSamples`` (:meth:`MeshFieldSurrogate.fit_samples`) or from fixed-topology
  ``TrainingData`` (:meth:`MeshFieldSurrogate.fit`, so ``train_surrogate`` and the app's training
  path work unchanged); when the node coordinates vary with the parameters (a morphed
  fixed-topology study), a POD-GP of the coordinates gives the mesh at new parameters, as for the
  neural field;
* a deep ensemble (option ``members``, >= 3 by default): the prediction is the members' mean and
  ``<field>_std`` their spread (:mod:`physapp.surrogates.ensemble`);
* normalisation per field (mean and standard deviation over all training nodes) and per input
  field; coordinates scaled to [-1, 1] over the training bounding box;
* a geometry encoding: the signed distance to the boundary sampled on a fixed probe grid over the
  training bounding box. Its distance to the nearest training geometry, relative to the spacing of
  the training geometries, is reported in ``meta["geometry_distance"]``; above
  :data:`FAR_FACTOR` the prediction carries a warning (``meta["far_from_training"]``), as the POD
  path flags parameters outside the trained range;
* a drag-time path: ``predict(params, fields=[...])`` (what the app asks while a slider moves) on
  a mesh of more than :data:`SUBSAMPLE_MIN` nodes evaluates the network on a fixed subsample of
  :data:`SUBSAMPLE_POINTS` nodes (boundary nodes first) and fills every other node from its nearest
  evaluated node; the complete prediction once the slider rests runs on every node;
* persistence through :mod:`physapp.surrogates.storage` (tensors and JSON only).

What the model reads of a mesh (boundary, nodal measure, signed distance) is
:mod:`~physapp.surrogates.models.mesh_geometry` (torch-free); training is
:mod:`~physapp.surrogates.models.mesh_training`; their public names are importable from here.

Subclasses give the network (``_make_net``) and its JSON description.
"""


from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.results import FieldResult
from physapp.surrogates.models.base import COORDS, FieldSurrogate, ModelInfo
from physapp.surrogates.models.mesh_geometry import (
    MeshGeometry,
    boundary_facets,
    boundary_node_ids,
    boundary_samples,
    nodal_measure,
    probe_grid,
)
from physapp.surrogates.models.mesh_training import (
    autocast,
    fit_mesh_model,
    info_of,
    training_samples,
)

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.samples import MeshSamples

#: names that moved to mesh_geometry / mesh_training, importable from here as before
__all__ = ["BOX_REACH", "FAR_FACTOR", "FAR_FLOOR", "SUBSAMPLE_MIN", "SUBSAMPLE_POINTS",
           "MeshFieldSurrogate", "MeshGeometry", "boundary_facets", "boundary_node_ids",
           "boundary_samples", "nodal_measure", "probe_grid", "training_samples"]

#: meshes above this many nodes are subsampled for drag-time predictions (``fields=`` given)
SUBSAMPLE_MIN = 20_000
#: nodes evaluated during a drag on a large mesh
SUBSAMPLE_POINTS = 1024
#: a geometry whose encoding lies this many training spacings away from every training one warns
FAR_FACTOR = 3.0
#: floor of that spacing, as an RMS signed distance relative to the bounding-box diagonal
FAR_FLOOR = 0.01
#: a mesh reaching this fraction of the training box diagonal beyond that box warns
BOX_REACH = 0.05

# -- the adapter -------------------------------------------------------------------------------
class MeshFieldSurrogate(FieldSurrogate):
    """Base of mesh-agnostic models: an ensemble of networks ``net(feats, w, mu, enc)``.

    ``feats`` (S, P, F) are per-node features (coordinates in [-1, 1], distance to the boundary,
    normalised input fields), ``w`` (S, P) the nodes' lumped measure, ``mu`` (S, p) the
    parameters in [-1, 1] and ``enc`` (S, E) the geometry encoding; the output (S, P, C) is the
    normalised fields. ``net.evaluate(feats, w, mu, enc)`` evaluates one sample on all its nodes.
    """

    uncertainty = True
    FIELD_SUBSET = True
    MIN_SAMPLES = 2
    #: options shared by every mesh-agnostic model (subclasses add their network's)
    COMMON_OPTIONS: ClassVar[dict[str, Any]] = {
        "members": 3, "epochs": 600, "lr": 2e-3, "weight_decay": 1e-5, "samples_per_step": 4,
        "points": 512, "calibrate": 0.15, "geo_features": True,
    }

    def __init__(self, info: ModelInfo, device: str, options: dict[str, Any],
                 nets: list[nn.Module], norm: dict[str, torch.Tensor],
                 input_names: tuple[str, ...] = (), coords_model: Any = None) -> None:
        super().__init__(info, device, options)
        self.nets = [n.to(device).eval() for n in nets]
        self.norm = {k: v.to(device) for k, v in norm.items()}
        self.input_names = tuple(input_names)
        self.coords_model = coords_model
        self.channels = [(name, max(k, 1)) for name, k in info.field_shapes.items()]
        self.mesher = None  #: optional callable params -> MeshData (a study's own mesher)
        self._geom_cache: list[tuple[MeshData, MeshGeometry]] = []
        self._sub_cache: list[tuple[int, int, np.ndarray, np.ndarray]] = []
        self.boundary_ref = boundary_node_ids(info.mesh)

    # -- subclasses -----------------------------------------------------------------------------
    @classmethod
    def _make_net(cls, n_feats: int, n_params: int, n_enc: int, n_channels: int,
                  options: Mapping[str, Any], seed: int) -> nn.Module:
        raise NotImplementedError

    # -- sizes and normalisation ----------------------------------------------------------------
    @property
    def n_members(self) -> int:
        return len(self.nets)

    @property
    def dim(self) -> int:
        return self.info.coord_dim

    def _geometry(self, mesh: MeshData) -> MeshGeometry:
        for m, g in self._geom_cache:
            if m is mesh:
                return g
        ids = None
        if (mesh.n_points == self.info.mesh.n_points and mesh.cells is self.info.mesh.cells):
            ids = self.boundary_ref  # a morph of the reference mesh: same boundary nodes
        g = MeshGeometry.of(mesh, self.dim, ids)
        self._geom_cache = [(mesh, g), *self._geom_cache[:3]]
        return g

    def _encoding(self, geom: MeshGeometry) -> np.ndarray:
        """Signed distances at the probe grid, divided by the training box diagonal (cached
        with the geometry: successive frames on one mesh pay for it once)."""
        enc = geom.__dict__.get("_enc")
        if enc is None:
            probes = self.norm["probes"].cpu().numpy().astype(np.float64)
            enc = (geom.signed_distance(probes) / float(self.norm["diag"])).astype(np.float32)
            geom._enc = enc
        return enc

    def _features(self, geom: MeshGeometry, inputs: Mapping[str, np.ndarray] | None,
                  ids: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(n, F) node features and (n,) weights (of the nodes ``ids`` only when given)."""
        key = (None if ids is None else len(ids), None if ids is None else int(ids[0]))
        cache = geom.__dict__.setdefault("_feats", {})
        if not inputs and key in cache:  # features without inputs depend on the mesh only
            return cache[key]
        out = self._features_of(geom, inputs, ids)
        if not inputs:
            cache.clear()
            cache[key] = out
        return out

    def _features_of(self, geom: MeshGeometry, inputs: Mapping[str, np.ndarray] | None,
                     ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        pts = geom.points if ids is None else geom.points[ids]
        lo = self.norm["lo"].cpu().numpy()
        span = self.norm["span"].cpu().numpy()
        xc = 2.0 * (pts - lo) / span - 1.0
        wd = geom.wall_distance(pts) / float(self.norm["diag"])
        cols = [xc, (4.0 * wd)[:, None]]
        if self.options.get("geo_features"):
            bf = geom.boundary_features()
            cols.append(bf if ids is None else bf[ids])
        if self.input_names:
            if inputs is None:
                raise ParameterError(
                    f"This model needs the input field(s) {', '.join(self.input_names)}.")
            mean = self.norm["in_mean"].cpu().numpy()
            std = self.norm["in_std"].cpu().numpy()
            start = 0
            for name in self.input_names:
                if name not in inputs:
                    raise ParameterError(f"The input field '{name}' is missing.")
                a = np.asarray(inputs[name], np.float64).reshape(len(geom.points), -1)
                a = a if ids is None else a[ids]
                k = a.shape[1]
                cols.append((a - mean[start:start + k]) / std[start:start + k])
                start += k
        w = geom.measure if ids is None else geom.measure[ids]
        return np.concatenate(cols, 1).astype(np.float32), w.astype(np.float32)

    def _mu(self, xn: np.ndarray) -> np.ndarray:
        return (2.0 * np.asarray(xn, np.float64) - 1.0).astype(np.float32)

    def _target_scale(self) -> torch.Tensor:
        s = self.norm["y_std"]
        return torch.where(s > 0, s, torch.ones_like(s))

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def fit(cls, data: TrainingData, *, device: str, seed: int = 0,
            progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
            val: TrainingData | None = None, **options: Any) -> MeshFieldSurrogate:
        """Train on fixed-topology samples (every sample as its own mesh); a POD-GP of the node
        coordinates predicts the mesh at new parameters when the geometry varies."""
        info = ModelInfo.from_data(data)
        samples = training_samples(data)
        vals = training_samples(val) if val is not None and val.n_samples else None
        coords_model = None
        if info.coords_vary:
            from physapp.surrogates.models.neural_field import _CoordsGP

            coords_model = _CoordsGP.fit(data, info, device, seed, cancel)
        return fit_mesh_model(cls, info, samples, (), device=device, seed=seed,
                              progress=progress, cancel=cancel, val=vals,
                              coords_model=coords_model, **options)

    @classmethod
    def fit_samples(cls, samples: MeshSamples, *, device: str = "cpu", seed: int = 0,
                    progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                    reference: int = 0, **options: Any) -> MeshFieldSurrogate:
        """Train on the training part of ``samples`` (meshes may all differ); the held-out part
        is the validation set of the progress reports. ``reference``: index of the training
        sample whose mesh :meth:`predict` answers on (any mesh via :meth:`predict_on_mesh`)."""
        train, test = samples.split()
        if len(train) < cls.MIN_SAMPLES:
            raise PhysappError(f"A {cls.kind} surrogate needs at least {cls.MIN_SAMPLES} "
                               f"training samples; the data set has {len(train)}.")
        info = info_of(samples, train, reference)
        rows = [(s.mesh, np.array([s.params[p] for p in samples.param_names]), s.inputs,
                 s.outputs) for s in train]
        vals = [(s.mesh, np.array([s.params[p] for p in samples.param_names]), s.inputs,
                 s.outputs) for s in test] or None
        return fit_mesh_model(cls, info, rows, samples.input_names, device=device, seed=seed,
                              progress=progress, cancel=cancel, val=vals,
                              ref_inputs=train[reference].inputs, **options)

    # -- evaluation -----------------------------------------------------------------------------
    def _eval(self, feats: np.ndarray, w: np.ndarray, xn: np.ndarray, enc: np.ndarray
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (n, C) in physical (scaled) units over the members."""
        dev = self.device
        f = torch.as_tensor(feats, device=dev)
        wt = torch.as_tensor(w, device=dev)
        mu = torch.as_tensor(self._mu(xn), device=dev)
        e = torch.as_tensor(enc, device=dev)
        with autocast(dev):
            outs = torch.stack([net.evaluate(f, wt, mu, e) for net in self.nets]).float()
        # constant channels (u_z of a plane problem: std 0) return their mean exactly
        mean = outs.mean(0) * self.norm["y_std"] + self.norm["y_mean"]
        std = (outs.std(0, unbiased=False) if len(self.nets) > 1 else torch.zeros_like(outs[0]))
        std = std * self.norm["y_std"] * self.norm["std_scale"]
        return mean, std

    def _split(self, y: torch.Tensor, suffix: str = "") -> dict[str, torch.Tensor]:
        out, start = {}, 0
        for name, k in self.channels:
            part = y[..., start:start + k]
            out[name + suffix] = part[..., 0] if self.info.field_shapes[name] == 0 else part
            start += k
        return out

    def _far(self, enc: np.ndarray, points: np.ndarray) -> float:
        """Distance of the geometry to the training ones, in units where FAR_FACTOR warns: the
        distance of ``enc`` to the nearest training encoding over the median spacing of the
        training encodings, or the reach of ``points`` beyond the training bounding box (5 % of
        its diagonal warns), whichever is larger."""
        train = self.norm["train_enc"].cpu().numpy()
        d = np.sqrt(np.mean((train - enc[None]) ** 2, axis=1)).min()
        ratio = float(d / max(float(self.norm["enc_spacing"]), FAR_FLOOR))
        if not len(points):
            return ratio
        lo = self.norm["lo"].cpu().numpy()
        hi = lo + self.norm["span"].cpu().numpy()
        p_lo, p_hi = points.min(0), points.max(0)
        if np.all(p_lo >= lo) and np.all(p_hi <= hi):
            return ratio  # inside the training box (the common case: no per-node work)
        excess = np.maximum(np.maximum(lo - points, points - hi), 0.0)
        reach = float(np.linalg.norm(excess, axis=1).max())
        return max(ratio, FAR_FACTOR * reach / (BOX_REACH * float(self.norm["diag"])))

    def _subsample(self, geom: MeshGeometry) -> tuple[np.ndarray, np.ndarray]:
        """(evaluated node ids, nearest evaluated node of every node), cached per topology."""
        n = len(geom.points)
        for key_n, key_b, ids, near in self._sub_cache:
            if key_n == n and key_b == len(geom.boundary_ids):
                return ids, near
        from scipy.spatial import cKDTree

        rng = np.random.default_rng(0)
        b = geom.boundary_ids
        b = b if len(b) <= SUBSAMPLE_POINTS // 2 else rng.choice(b, SUBSAMPLE_POINTS // 2,
                                                                 replace=False)
        rest = np.setdiff1d(np.arange(n), b)
        ids = np.sort(np.concatenate([b, rng.choice(rest, SUBSAMPLE_POINTS - len(b),
                                                    replace=False)]))
        near = ids[cKDTree(geom.points[ids]).query(geom.points, k=1)[1]]
        self._sub_cache = [(n, len(geom.boundary_ids), ids, near), *self._sub_cache[:3]]
        return ids, near

    def predict_on_mesh(self, params: Mapping[str, float], mesh: MeshData,
                        inputs: Mapping[str, np.ndarray] | None = None, *,
                        fields: Sequence[str] | None = None, subsample: bool = False
                        ) -> FieldResult:
        """Fields at ``params`` on ``mesh`` (any mesh of the family: another topology, a finer
        one). ``inputs``: the nodal input fields on ``mesh`` (required when the model has some).
        ``subsample``: evaluate a subsample of a large mesh and fill the rest from the nearest
        evaluated node (drag frames)."""
        t0 = time.perf_counter()
        x, out_of_range, values = self.parameter_vector(params)
        xn = self.normalise(x[None, :])
        geom = self._geometry(mesh)
        enc = self._encoding(geom)
        ids = near = None
        if subsample and len(geom.points) > SUBSAMPLE_MIN:
            ids, near = self._subsample(geom)
        feats, w = self._features(geom, inputs, ids)
        with torch.inference_mode():
            mean, std = self._run_eval(feats, w, xn[0], enc)
        if near is not None:
            pos = np.searchsorted(ids, near)
            mean, std = mean[pos], std[pos]
        arrays = {k: v[None] for k, v in self._split(torch.as_tensor(mean)).items()}
        arrays.update({k: v[None] for k, v in self._split(torch.as_tensor(std), "_std").items()})
        arrays = {k: v.numpy() for k, v in arrays.items()}
        if fields is not None:
            keep = set(fields) | {f"{f}_std" for f in fields}
            arrays = {k: v for k, v in arrays.items() if k in keep} or arrays
        arrays = self._unscale(arrays, xn)
        res = self._result(mesh, {k: v[0] for k, v in arrays.items()}, values, out_of_range, t0,
                           partial=fields is not None or near is not None)
        return self._annotate(res, enc, geom.points, len(feats))

    def _run_eval(self, feats: np.ndarray, w: np.ndarray, xn: np.ndarray, enc: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        from physapp.surrogates.device import empty_cache, is_oom

        try:
            mean, std = self._eval(feats, w, xn, enc)
        except Exception as exc:
            if self.device == "cpu" or not is_oom(exc):
                raise
            empty_cache()
            self.to("cpu")
            self.notices.append("GPU out of memory during prediction; the model moved to the CPU.")
            mean, std = self._eval(feats, w, xn, enc)
        return mean.float().cpu().numpy(), std.float().cpu().numpy()

    def _annotate(self, res: FieldResult, enc: np.ndarray, points: np.ndarray, n_eval: int
                  ) -> FieldResult:
        """``res`` with the geometry distance (and a warning when far) in its meta."""
        ratio = self._far(enc, points)
        meta = dict(res.meta, geometry_distance=ratio, evaluated_nodes=int(n_eval))
        if ratio > FAR_FACTOR:
            meta["far_from_training"] = True
            warn = (f"This geometry is far from the training geometries ({ratio:.1f}x their "
                    "spacing): the prediction is an extrapolation; verify it with a solve.")
            meta["notice"] = " ".join(n for n in (meta.get("notice", ""), warn) if n)
        return FieldResult(res.mesh, res.point_data, res.source, meta, res.units)

    def _mesh_at(self, xn: np.ndarray, params: Mapping[str, float]) -> MeshData:
        if self.coords_model is not None:
            with torch.inference_mode():
                pts = self.coords_model(torch.as_tensor(xn, dtype=torch.float32,
                                                        device=self.device))
            pts = pts.view(self.info.n_points, self.dim).cpu().numpy()
            return self._mesh_with(np.column_stack(
                [pts, np.zeros((len(pts), 3 - self.dim))]) if self.dim < 3 else pts)
        if self.mesher is not None:
            return self.mesher(params)
        return self.mesh

    def predict(self, params: Mapping[str, float], fields: Sequence[str] | None = None
                ) -> FieldResult:
        """Fields at ``params`` on the mesh at ``params`` (predicted coordinates of a morphed
        study, the ``mesher``'s mesh, or the reference mesh). ``fields`` given (a slider
        frame): only those, on a subsample of a large mesh (see the module docstring)."""
        x, _, values = self.parameter_vector(params)
        xn = self.normalise(x[None, :])
        mesh = self._mesh_at(xn, values)
        inputs = self._ref_inputs() if mesh.n_points == self.info.n_points else None
        return self.predict_on_mesh(params, mesh, inputs, fields=fields,
                                    subsample=fields is not None)

    def _forward(self, xn: torch.Tensor, *, with_coords: bool,
                 fields: list[str] | None = None) -> dict[str, torch.Tensor]:
        outs: dict[str, list[torch.Tensor]] = {}
        for row in xn.cpu().numpy().astype(np.float64):
            mesh = self._mesh_at(row[None], {})
            geom = self._geometry(mesh)
            feats, w = self._features(geom, self._ref_inputs())
            mean, std = self._eval(feats, w, row, self._encoding(geom))
            d = self._split(mean)
            d.update(self._split(std, "_std"))
            if with_coords and self.coords_model is not None:
                d[COORDS] = torch.from_numpy(np.array(geom.points, np.float32))
            for k, v in d.items():
                outs.setdefault(k, []).append(v)
        return {k: torch.stack(v) for k, v in outs.items()}

    def _ref_inputs(self) -> dict[str, np.ndarray] | None:
        if not self.input_names:
            return None
        ref = self.norm["ref_inputs"].cpu().numpy()
        return {name: ref[:, i] for i, name in enumerate(self.input_names)}

    def _move(self, device: str) -> None:
        self.nets = [n.to(device) for n in self.nets]
        self.norm = {k: v.to(device) for k, v in self.norm.items()}
        if self.coords_model is not None:
            self.coords_model = self.coords_model.to(device)

    # -- persistence ----------------------------------------------------------------------------
    def _tensors(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        t: dict[str, torch.Tensor] = {}
        for i, net in enumerate(self.nets):
            t.update({f"net{i}/{k}": v for k, v in net.state_dict().items()})
        t.update({f"norm/{k}": v for k, v in self.norm.items()})
        first = self.nets[0]
        meta: dict[str, Any] = {"members": len(self.nets), "input_names": list(self.input_names),
                                "n_feats": first.n_feats, "n_params": first.n_params,
                                "n_enc": first.n_enc, "n_channels": first.n_channels,
                                "coords_model": None}
        if self.coords_model is not None:
            cm, ct = self.coords_model.tensors()
            meta["coords_model"] = cm
            t.update(ct)
        return meta, t

    @classmethod
    def _restore(cls, info: ModelInfo, options: dict[str, Any], meta: dict[str, Any],
                 tensors: Mapping[str, torch.Tensor], device: str) -> MeshFieldSurrogate:
        opts = dict(cls.OPTIONS)
        opts["geo_features"] = False  # files from before the option: coordinates and distance
        opts.update(options)
        nets = []
        for i in range(int(meta["members"])):
            net = cls._make_net(meta["n_feats"], meta["n_params"], meta["n_enc"],
                                meta["n_channels"], opts, 0)
            prefix = f"net{i}/"
            net.load_state_dict({k[len(prefix):]: v for k, v in tensors.items()
                                 if k.startswith(prefix)})
            for p in net.parameters():
                p.requires_grad_(False)
            nets.append(net)
        norm = {k[5:]: v for k, v in tensors.items() if k.startswith("norm/")}
        cm = None
        if meta.get("coords_model") is not None:
            from physapp.surrogates.models.neural_field import _CoordsGP

            cm = _CoordsGP.restore(meta["coords_model"], tensors, device)
        return cls(info, device, opts, nets, norm, tuple(meta.get("input_names", ())), cm)

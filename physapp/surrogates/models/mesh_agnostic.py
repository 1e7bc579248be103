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

Subclasses give the network (``_make_net``) and its JSON description.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.regions import CORNERS, FACETS, _cells_geometry
from physapp.core.results import FieldResult
from physapp.surrogates.models.base import COORDS, FieldSurrogate, ModelInfo, check_options
from physapp.surrogates.training import EpochReporter, lr_schedule

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.samples import MeshSamples

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


# -- geometry ----------------------------------------------------------------------------------
def boundary_facets(mesh: MeshData) -> list[np.ndarray]:
    """Corner-node facets that belong to exactly one domain cell (vectorised), one array per
    facet size."""
    groups: dict[int, list[np.ndarray]] = {}
    for block in mesh.cells:
        base = block.type.rstrip("0123456789")
        conn = block.connectivity[:, : CORNERS[base]]
        for face in FACETS[base]:
            groups.setdefault(len(face), []).append(conn[:, list(face)])
    out = []
    for faces in groups.values():
        f = np.concatenate(faces)
        _, first, counts = np.unique(np.sort(f, axis=1), axis=0, return_index=True,
                                     return_counts=True)
        out.append(f[first[counts == 1]])
    return out


def boundary_node_ids(mesh: MeshData) -> np.ndarray:
    """Corner nodes of the boundary facets (every node when there are none)."""
    ids = [f.ravel() for f in boundary_facets(mesh)]
    out = np.unique(np.concatenate(ids)) if ids else np.zeros(0, np.int64)
    return out if len(out) else np.arange(mesh.n_points)


def boundary_samples(mesh: MeshData, dim: int) -> np.ndarray:
    """Points on the boundary: the corner nodes and, on every facet, points between them (so
    distances to the boundary depend little on the element size)."""
    pts = np.asarray(mesh.points, np.float64)[:, :dim]
    out = [pts[boundary_node_ids(mesh)]]
    for f in boundary_facets(mesh):
        p = pts[f]  # (m, k, dim)
        if f.shape[1] == 2:
            for t in (0.25, 0.5, 0.75):
                out.append((1 - t) * p[:, 0] + t * p[:, 1])
        else:
            out.append(p.mean(1))
            for a in range(f.shape[1]):
                out.append(0.5 * (p[:, a] + p[:, (a + 1) % f.shape[1]]))
    return np.concatenate(out)


def nodal_measure(mesh: MeshData) -> np.ndarray:
    """Lumped nodal area/volume: each cell's measure shared equally by its nodes."""
    vols, _ = _cells_geometry(mesh)
    out = np.zeros(mesh.n_points)
    start = 0
    for block in mesh.cells:
        conn = block.connectivity
        v = vols[start:start + len(conn)]
        start += len(conn)
        np.add.at(out, conn.ravel(), np.repeat(v / conn.shape[1], conn.shape[1]))
    return out


@dataclass
class MeshGeometry:
    """What the networks read of one mesh: coordinates, nodal measure, boundary."""

    points: np.ndarray  #: (n, d) float64
    measure: np.ndarray  #: (n,) lumped nodal measure, mean 1
    boundary: np.ndarray  #: (b, d) points on the boundary (see boundary_samples)
    centroids: np.ndarray  #: (c, d) cell centroids (inside test of the signed distance)
    boundary_ids: np.ndarray  #: (b,) node ids of ``boundary``

    @classmethod
    def of(cls, mesh: MeshData, dim: int, boundary_ids: np.ndarray | None = None
           ) -> MeshGeometry:
        pts = np.asarray(mesh.points, np.float64)[:, :dim]
        m = nodal_measure(mesh)
        m = m / max(float(m.mean()), 1e-300)
        ids = boundary_node_ids(mesh) if boundary_ids is None else boundary_ids
        _, cents = _cells_geometry(mesh)
        g = cls(pts, m, boundary_samples(mesh, dim), cents[:, :dim], ids)
        g.simplices = (_simplices(mesh, dim), pts)
        g.mesh = mesh
        return g

    def boundary_features(self) -> np.ndarray:
        """Geometric node features (:mod:`~physapp.surrogates.models.geo_features`), cached."""
        out = self.__dict__.get("_bfeat")
        if out is None:
            from physapp.surrogates.models.geo_features import boundary_features

            out = self._bfeat = boundary_features(self.mesh, self.points.shape[1],
                                                  points=self.points, boundary=self.boundary)
        return out

    def wall_distance(self, points: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        if not hasattr(self, "_btree"):
            self._btree = cKDTree(self.boundary)
        return self._btree.query(points, k=1)[0]

    def signed_distance(self, probes: np.ndarray) -> np.ndarray:
        """Distance to the boundary, negative inside the domain."""
        d_b = self.wall_distance(probes)
        return np.where(self.inside(probes), -d_b, d_b)

    def inside(self, probes: np.ndarray) -> np.ndarray:
        """True for probes in a cell (exact for simplices and quads split in two; other cells
        count a probe inside when their centroid is nearer than the boundary)."""
        from scipy.spatial import cKDTree

        simplices, verts = self.simplices
        if simplices is None:
            if not hasattr(self, "_ctree"):
                self._ctree = cKDTree(self.centroids)
            return self._ctree.query(probes, k=1)[0] < self.wall_distance(probes)
        if not hasattr(self, "_stree"):
            self._stree = cKDTree(verts[simplices].mean(1))
        k = min(8, len(simplices))
        _, cand = self._stree.query(probes, k=k)
        cand = cand.reshape(len(probes), k)
        v = verts[simplices[cand]]  # (m, k, d+1, d)
        T = np.swapaxes(v[..., 1:, :] - v[..., :1, :], -1, -2)  # (m, k, d, d)
        rhs = probes[:, None, :] - v[..., 0, :]
        det = np.linalg.det(T)
        ok = np.abs(det) > 1e-300
        lam = np.zeros_like(rhs)
        lam[ok] = np.linalg.solve(T[ok], rhs[ok][..., None])[..., 0]
        bary = np.concatenate([1.0 - lam.sum(-1, keepdims=True), lam], -1)
        return ((bary >= -1e-9).all(-1) & ok).any(-1)

    simplices: Any = (None, None)  #: (simplex corner ids, points) of the cells, or None
    mesh: Any = None  #: the mesh itself (geometric features)


#: corner sets splitting a cell into simplices
_SPLIT = {"triangle": ((0, 1, 2),), "quad": ((0, 1, 2), (0, 2, 3)), "tetra": ((0, 1, 2, 3),)}


def _simplices(mesh: MeshData, dim: int) -> np.ndarray | None:
    """Every cell as simplices of dimension ``dim`` (None when a cell type cannot be split)."""
    out = []
    for block in mesh.cells:
        split = _SPLIT.get(block.type.rstrip("0123456789"))
        if split is None or len(split[0]) != dim + 1:
            return None
        out.extend(block.connectivity[:, list(s)] for s in split)
    return np.concatenate(out)


def probe_grid(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Fixed probe points over the (5 % enlarged) box: 16 per axis in 2D, 8 in 3D."""
    d = len(lo)
    n = 16 if d <= 2 else 8
    pad = 0.05 * (hi - lo)
    axes = [np.linspace(a - p, b + p, n) for a, b, p in zip(lo, hi, pad, strict=True)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, d)


# -- the adapter -------------------------------------------------------------------------------
@dataclass
class _Prepared:
    """One sample as tensors: node features, measure weights, targets, parameters, encoding."""

    feats: torch.Tensor  # (n, F)
    w: torch.Tensor  # (n,)
    y: torch.Tensor | None  # (n, C) normalised targets
    mu: torch.Tensor  # (p,)
    enc: torch.Tensor  # (E,)


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
        return cls._fit(info, samples, (), device=device, seed=seed, progress=progress,
                        cancel=cancel, val=vals, coords_model=coords_model, **options)

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
        info = _info_of(samples, train, reference)
        rows = [(s.mesh, np.array([s.params[p] for p in samples.param_names]), s.inputs,
                 s.outputs) for s in train]
        vals = [(s.mesh, np.array([s.params[p] for p in samples.param_names]), s.inputs,
                 s.outputs) for s in test] or None
        model = cls._fit(info, rows, samples.input_names, device=device, seed=seed,
                         progress=progress, cancel=cancel, val=vals,
                         ref_inputs=train[reference].inputs, **options)
        return model

    @classmethod
    def _fit(cls, info: ModelInfo, rows: list, input_names: Sequence[str], *, device: str,
             seed: int, progress: ProgressFn, cancel: CancelToken, val: list | None,
             coords_model: Any = None, ref_inputs: Mapping[str, np.ndarray] | None = None,
             **options: Any) -> MeshFieldSurrogate:
        opts = check_options(cls, options)
        t0 = time.perf_counter()
        dim = info.coord_dim
        geoms = _shared_geometries([r[0] for r in rows], dim)
        allpts = np.concatenate([g.points for g in geoms])
        lo, hi = allpts.min(0), allpts.max(0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        diag = float(np.linalg.norm(hi - lo)) or 1.0
        C = sum(max(k, 1) for k in info.field_shapes.values())
        Y = [np.concatenate([np.asarray(r[3][f], np.float64).reshape(len(g.points), -1)
                             for f in info.field_shapes], 1) for r, g in zip(rows, geoms,
                                                                               strict=True)]
        ycat = np.concatenate(Y)
        y_mean, y_std = ycat.mean(0), ycat.std(0)
        y_std = np.where(y_std > 1e-7 * np.maximum(np.abs(ycat).max(0), 1e-300), y_std, 0.0)
        norm: dict[str, torch.Tensor] = {
            "lo": torch.as_tensor(lo), "span": torch.as_tensor(span),
            "diag": torch.tensor(diag, dtype=torch.float64),
            "y_mean": torch.as_tensor(y_mean, dtype=torch.float32),
            "y_std": torch.as_tensor(y_std, dtype=torch.float32),
            "probes": torch.as_tensor(probe_grid(lo, hi)),
            "std_scale": torch.tensor(1.0),
        }
        if input_names:
            icat = np.concatenate([np.concatenate(
                [np.asarray(r[2][f], np.float64).reshape(len(g.points), -1)
                 for f in input_names], 1) for r, g in zip(rows, geoms, strict=True)])
            i_std = icat.std(0)
            norm["in_mean"] = torch.as_tensor(icat.mean(0))
            norm["in_std"] = torch.as_tensor(np.where(i_std > 0, i_std, 1.0))
            ref = ref_inputs or rows[0][2]
            norm["ref_inputs"] = torch.as_tensor(np.concatenate(
                [np.asarray(ref[f], np.float32).reshape(info.n_points, -1)
                 for f in input_names], 1))
        model = cls(info, device, opts, [], norm, tuple(input_names), coords_model)
        # prepared samples (features computed once; identical geometries share them)
        prep = [model._prepare(g, r[2], info.normalise(r[1][None])[0], y)
                for r, g, y in zip(rows, geoms, Y, strict=True)]
        encs = torch.stack([p.enc for p in prep])
        model.norm["train_enc"] = encs.to(device)
        model.norm["enc_spacing"] = torch.tensor(_spacing(encs.numpy()), dtype=torch.float32)
        vprep = None
        if val:
            vgeoms = _shared_geometries([r[0] for r in val[:4]], dim)
            vprep = [model._prepare(g, r[2], info.normalise(r[1][None])[0], np.concatenate(
                [np.asarray(r[3][f], np.float64).reshape(len(g.points), -1)
                 for f in info.field_shapes], 1)) for r, g in zip(val[:4], vgeoms, strict=True)]
        n_members = max(1, int(opts["members"]))
        epochs = int(opts["epochs"])
        # calibration samples: held out of every member, they scale the ensemble's spread
        frac = float(opts["calibrate"] or 0.0)
        n_cal = (max(2, round(frac * len(prep))) if frac > 0 and n_members > 1
                 and len(prep) >= 8 else 0)
        order = np.random.default_rng(seed).permutation(len(prep))
        cal = [prep[i] for i in order[:n_cal]]
        fit_set = [prep[i] for i in sorted(order[n_cal:])]
        rep = EpochReporter(epochs * n_members, progress, cancel, options.get("on_epoch"))
        for m in range(n_members):
            net = cls._make_net(prep[0].feats.shape[1], len(info.param_names), encs.shape[1], C,
                                opts, seed + 1000 * m).to(device)
            model._train_member(net, fit_set, vprep, opts, seed + 1000 * m, rep, m * epochs)
            net.eval()
            for p in net.parameters():
                p.requires_grad_(False)
            model.nets.append(net)
        if cal:
            model.norm["std_scale"] = torch.tensor(model._calibration(cal), dtype=torch.float32,
                                                   device=device)
        model.history = rep.history
        model.norm["n_calibration"] = torch.tensor(n_cal)
        model.metrics = {"fit_s": round(time.perf_counter() - t0, 3)}
        return model

    def _calibration(self, cal: list[_Prepared]) -> float:
        """Factor on the members' spread that puts 95 % of the calibration samples' nodal errors
        inside mean +- 1.96 std (channels that vary only)."""
        ratios = []
        live = self.norm["y_std"] > 0
        with torch.no_grad():
            for s in cal:
                outs = torch.stack([net.evaluate(s.feats, s.w, s.mu, s.enc) for net in self.nets])
                err = (outs.mean(0) - s.y).abs()[:, live]
                std = outs.std(0, unbiased=False)[:, live]
                ratios.append((err / (std + 1e-6)).flatten())
        r = torch.cat(ratios)
        if r.numel() == 0:
            return 1.0
        return float(min(max(torch.quantile(r.float().cpu()[:1_000_000], 0.95) / 1.96, 0.1),
                         1e3))

    def _prepare(self, geom: MeshGeometry, inputs: Mapping[str, np.ndarray], xn: np.ndarray,
                 y: np.ndarray | None) -> _Prepared:
        feats, w = self._features(geom, inputs)
        dev = self.device
        yt = None
        if y is not None:
            yt = ((torch.as_tensor(y, dtype=torch.float32) - self.norm["y_mean"].cpu())
                  / self._target_scale().cpu()).to(dev)
        return _Prepared(torch.as_tensor(feats, device=dev), torch.as_tensor(w, device=dev), yt,
                         torch.as_tensor(self._mu(xn), device=dev),
                         torch.as_tensor(self._encoding(geom), device=dev))

    def _train_member(self, net: nn.Module, prep: list[_Prepared], vprep: list | None,
                      opts: Mapping[str, Any], seed: int, rep: EpochReporter, offset: int
                      ) -> None:
        epochs = int(opts["epochs"])
        n = len(prep)
        S = max(1, min(int(opts["samples_per_step"]), n))
        P = int(opts["points"])
        opt = torch.optim.AdamW(net.parameters(), lr=float(opts["lr"]),
                                weight_decay=float(opts["weight_decay"]))
        sched = lr_schedule(opt, epochs)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        dev = self.device
        running = None
        net.train()
        for epoch in range(1, epochs + 1):
            rep.tick()
            si = torch.randperm(n, generator=gen)[:S].tolist()
            if P > 0:
                feats, ws, ys = [], [], []
                for i in si:
                    s = prep[i]
                    k = s.feats.shape[0]
                    idx = (torch.randint(k, (P,), generator=gen) if k > P
                           else torch.arange(k).repeat(math.ceil(P / k))[:P]).to(dev)
                    feats.append(s.feats[idx])
                    ws.append(s.w[idx])
                    ys.append(s.y[idx])
                ft, wt, yt, mask = torch.stack(feats), torch.stack(ws), torch.stack(ys), None
            else:  # every node of each sample, padded (weight 0, masked out of the loss)
                ft, wt, yt, mask = _padded([prep[i] for i in si])
            mu = torch.stack([prep[i].mu for i in si])
            enc = torch.stack([prep[i].enc for i in si])
            opt.zero_grad(set_to_none=True)
            with _autocast(dev):
                out = net(ft, wt, mu, enc)
            err = (out.float() - yt).pow(2)
            loss = err.mean() if mask is None else (err.mean(-1) * mask).sum() / mask.sum()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            lv = float(loss.detach())
            running = lv if running is None else 0.9 * running + 0.1 * lv
            if rep.due(offset + epoch):
                v = None
                if vprep:
                    net.eval()
                    with torch.no_grad():
                        v = float(np.mean([
                            (net.evaluate(s.feats, s.w, s.mu, s.enc) - s.y).pow(2).mean().item()
                            for s in vprep]))
                    net.train()
                rep.report(offset + epoch, running, v)

    # -- evaluation -----------------------------------------------------------------------------
    def _eval(self, feats: np.ndarray, w: np.ndarray, xn: np.ndarray, enc: np.ndarray
              ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (n, C) in physical (scaled) units over the members."""
        dev = self.device
        f = torch.as_tensor(feats, device=dev)
        wt = torch.as_tensor(w, device=dev)
        mu = torch.as_tensor(self._mu(xn), device=dev)
        e = torch.as_tensor(enc, device=dev)
        with _autocast(dev):
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


def _autocast(device: str) -> Any:
    """bfloat16 mixed precision on a GPU (no loss scaling needed); a no-op on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=str(device).startswith("cuda"))


def _padded(batch: Sequence[_Prepared]) -> tuple[torch.Tensor, ...]:
    """Features, weights, targets and node mask of samples padded to the largest one."""
    n = max(s.feats.shape[0] for s in batch)
    ref = batch[0]
    S = len(batch)
    ft = ref.feats.new_zeros((S, n, ref.feats.shape[1]))
    wt = ref.w.new_zeros((S, n))
    yt = ref.y.new_zeros((S, n, ref.y.shape[1]))
    mask = ref.w.new_zeros((S, n))
    for j, s in enumerate(batch):
        k = s.feats.shape[0]
        ft[j, :k], wt[j, :k], yt[j, :k], mask[j, :k] = s.feats, s.w, s.y, 1.0
    return ft, wt, yt, mask


def _spacing(encs: np.ndarray) -> float:
    """Median RMS distance of each training encoding to its nearest other one."""
    uniq = np.unique(np.round(encs, 6), axis=0)
    if len(uniq) < 2:
        return 0.0
    d = np.sqrt(((uniq[:, None, :] - uniq[None, :, :]) ** 2).mean(-1))
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(1)))


def _shared_geometries(meshes: Sequence[MeshData], dim: int) -> list[MeshGeometry]:
    """Geometry of each mesh; meshes with the same points and cells share one."""
    out: list[MeshGeometry] = []
    seen: dict[tuple, MeshGeometry] = {}
    bids: dict[int, np.ndarray] = {}
    for m in meshes:
        key = (m.n_points, id(m.cells), hash(np.asarray(m.points, np.float32).tobytes()))
        if key not in seen:
            ids = bids.get(id(m.cells))
            if ids is None:
                ids = bids[id(m.cells)] = boundary_node_ids(m)
            seen[key] = MeshGeometry.of(m, dim, ids)
        out.append(seen[key])
    return out


def training_samples(data: TrainingData) -> list:
    """Fixed-topology samples as (mesh, params, inputs, outputs) rows (one mesh per sample;
    samples with equal coordinates share one mesh object)."""
    rows = []
    ref = data.mesh
    cache: dict[bytes, MeshData] = {}
    for i in range(data.n_samples):
        c = np.asarray(data.coords[i], np.float32)
        key = c.tobytes()
        if key not in cache:
            pts = np.zeros((len(c), 3))
            pts[:, : c.shape[1]] = c
            cache[key] = MeshData(pts, ref.cells, dict(ref.boundaries), dict(ref.subdomains),
                                  ref.dim, ref.length_unit)
        rows.append((cache[key], data.X[i], {}, {k: v[i] for k, v in data.fields.items()}))
    return rows


def _info_of(samples: MeshSamples, train: list, reference: int) -> ModelInfo:
    ref = train[reference].mesh
    dim = 2 if ref.dim == 2 and np.allclose(ref.points[:, 2], 0.0) else 3
    mesh32 = MeshData(np.asarray(ref.points, np.float32), ref.cells, dict(ref.boundaries),
                      dict(ref.subdomains), ref.dim, ref.length_unit)
    shapes = {}
    for name in samples.output_names:
        a = train[reference].outputs[name]
        shapes[name] = 0 if a.ndim == 1 else int(a.shape[1])
    varying = {n: np.ones((ref.n_points,) if k == 0 else (ref.n_points, k), bool)
               for n, k in shapes.items()}
    bounds = np.asarray(samples.bounds, np.float64)
    defaults = {n: float(0.5 * (lo + hi)) for n, (lo, hi) in zip(samples.param_names, bounds,
                                                                 strict=True)}
    return ModelInfo(samples.study_id, tuple(samples.param_names), bounds, dict(samples.fixed),
                     shapes, {k: samples.units.get(k, "") for k in shapes}, mesh32, dim, False,
                     varying, defaults, ())

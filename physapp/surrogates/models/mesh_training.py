"""Training of the mesh-agnostic surrogates (:mod:`physapp.surrogates.models.mesh_agnostic`).

:func:`fit_mesh_model` normalises the samples (coordinates to the training box, targets and
input fields to zero mean and unit spread), computes every sample's features and geometry
encoding once, trains the ensemble's members (random node subsets, AdamW with the shared
learning-rate schedule) and scales the members' spread on held-out calibration samples so that
95 % of their nodal errors lie inside mean +- 1.96 std. :func:`training_samples` and
:func:`info_of` turn fixed-topology ``TrainingData`` and ``MeshSamples`` into its rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from physapp.core.mesh import MeshData
from physapp.core.progress import CancelToken, ProgressFn
from physapp.surrogates.models.base import ModelInfo, check_options
from physapp.surrogates.models.mesh_geometry import MeshGeometry, probe_grid, shared_geometries
from physapp.surrogates.training import EpochReporter, lr_schedule

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.models.mesh_agnostic import MeshFieldSurrogate
    from physapp.surrogates.samples import MeshSamples


@dataclass
class Prepared:
    """One sample as tensors: node features, measure weights, targets, parameters, encoding."""

    feats: torch.Tensor  # (n, F)
    w: torch.Tensor  # (n,)
    y: torch.Tensor | None  # (n, C) normalised targets
    mu: torch.Tensor  # (p,)
    enc: torch.Tensor  # (E,)


def fit_mesh_model(cls: type[MeshFieldSurrogate], info: ModelInfo, rows: list,
                   input_names: Sequence[str], *, device: str, seed: int, progress: ProgressFn,
                   cancel: CancelToken, val: list | None, coords_model: Any = None,
                   ref_inputs: Mapping[str, np.ndarray] | None = None,
                   **options: Any) -> MeshFieldSurrogate:
    """Train a ``cls`` ensemble on ``rows`` of (mesh, parameters, inputs, outputs); ``val`` rows
    (the first 4) give the validation loss of the progress reports."""
    opts = check_options(cls, options)
    t0 = time.perf_counter()
    dim = info.coord_dim
    geoms = shared_geometries([r[0] for r in rows], dim)
    norm, Y = _normalisation(info, rows, geoms, input_names, ref_inputs)
    C = sum(max(k, 1) for k in info.field_shapes.values())
    model = cls(info, device, opts, [], norm, tuple(input_names), coords_model)
    # prepared samples (features computed once; identical geometries share them)
    prep = [prepare_sample(model, g, r[2], info.normalise(r[1][None])[0], y)
            for r, g, y in zip(rows, geoms, Y, strict=True)]
    encs = torch.stack([p.enc for p in prep])
    model.norm["train_enc"] = encs.to(device)
    model.norm["enc_spacing"] = torch.tensor(_spacing(encs.numpy()), dtype=torch.float32)
    vprep = None
    if val:
        vgeoms = shared_geometries([r[0] for r in val[:4]], dim)
        vprep = [prepare_sample(model, g, r[2], info.normalise(r[1][None])[0], _targets(info, r, g))
                 for r, g in zip(val[:4], vgeoms, strict=True)]
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
        _train_member(net, fit_set, vprep, opts, seed + 1000 * m, rep, m * epochs, device)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        model.nets.append(net)
    if cal:
        model.norm["std_scale"] = torch.tensor(_calibration(model, cal), dtype=torch.float32,
                                               device=device)
    model.history = rep.history
    model.norm["n_calibration"] = torch.tensor(n_cal)
    model.metrics = {"fit_s": round(time.perf_counter() - t0, 3)}
    return model


def _targets(info: ModelInfo, row: tuple, geom: MeshGeometry) -> np.ndarray:
    """(n, C) output fields of a row, every field's components side by side."""
    return np.concatenate([np.asarray(row[3][f], np.float64).reshape(len(geom.points), -1)
                           for f in info.field_shapes], 1)


def _normalisation(info: ModelInfo, rows: list, geoms: list[MeshGeometry],
                   input_names: Sequence[str], ref_inputs: Mapping[str, np.ndarray] | None
                   ) -> tuple[dict[str, torch.Tensor], list[np.ndarray]]:
    """The model's ``norm`` tensors (coordinate box, probe grid, target and input scaling) and
    the rows' targets."""
    allpts = np.concatenate([g.points for g in geoms])
    lo, hi = allpts.min(0), allpts.max(0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    diag = float(np.linalg.norm(hi - lo)) or 1.0
    Y = [_targets(info, r, g) for r, g in zip(rows, geoms, strict=True)]
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
    return norm, Y


def _calibration(model: MeshFieldSurrogate, cal: list[Prepared]) -> float:
    """Factor on the members' spread that puts 95 % of the calibration samples' nodal errors
    inside mean +- 1.96 std (channels that vary only)."""
    ratios = []
    live = model.norm["y_std"] > 0
    with torch.no_grad():
        for s in cal:
            outs = torch.stack([net.evaluate(s.feats, s.w, s.mu, s.enc) for net in model.nets])
            err = (outs.mean(0) - s.y).abs()[:, live]
            std = outs.std(0, unbiased=False)[:, live]
            ratios.append((err / (std + 1e-6)).flatten())
    r = torch.cat(ratios)
    if r.numel() == 0:
        return 1.0
    return float(min(max(torch.quantile(r.float().cpu()[:1_000_000], 0.95) / 1.96, 0.1),
                     1e3))


def prepare_sample(model: MeshFieldSurrogate, geom: MeshGeometry,
                   inputs: Mapping[str, np.ndarray] | None, xn: np.ndarray,
                   y: np.ndarray | None) -> Prepared:
    """One sample as tensors on the model's device (targets normalised when given)."""
    feats, w = model._features(geom, inputs)
    dev = model.device
    yt = None
    if y is not None:
        yt = ((torch.as_tensor(y, dtype=torch.float32) - model.norm["y_mean"].cpu())
              / model._target_scale().cpu()).to(dev)
    return Prepared(torch.as_tensor(feats, device=dev), torch.as_tensor(w, device=dev), yt,
                     torch.as_tensor(model._mu(xn), device=dev),
                     torch.as_tensor(model._encoding(geom), device=dev))


def _train_member(net: nn.Module, prep: list[Prepared], vprep: list | None,
                  opts: Mapping[str, Any], seed: int, rep: EpochReporter, offset: int,
                  dev: str) -> None:
    """Train one member on random node subsets (option ``points``; 0: every node, padded) of
    ``samples_per_step`` samples per step."""
    epochs = int(opts["epochs"])
    n = len(prep)
    S = max(1, min(int(opts["samples_per_step"]), n))
    P = int(opts["points"])
    opt = torch.optim.AdamW(net.parameters(), lr=float(opts["lr"]),
                            weight_decay=float(opts["weight_decay"]))
    sched = lr_schedule(opt, epochs)
    gen = torch.Generator(device="cpu").manual_seed(seed)
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
        with autocast(dev):
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


def autocast(device: str) -> Any:
    """bfloat16 mixed precision on a GPU (no loss scaling needed); a no-op on the CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=str(device).startswith("cuda"))


def _padded(batch: Sequence[Prepared]) -> tuple[torch.Tensor, ...]:
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


def info_of(samples: MeshSamples, train: list, reference: int) -> ModelInfo:
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

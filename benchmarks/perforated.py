"""Topology-changing study (#19): held-out accuracy of mesh-agnostic models on the perforated plate.

Run: .venv/bin/python benchmarks/perforated.py [--data holes.h5] [--samples 200] [--epochs 2000]
                                               [--members 3] [--kinds transolver] [--ablation]

A sweep of the ``perforated-plate`` study (1-4 holes at the default centres, so the number of
holes changes the mesh topology; hole diameter 5-30 mm and traction 10-100 MPa varied; 5 mm
elements refined towards the holes; Latin hypercube, 20 % of the designs held out) meshes every
design on its own (a data set with per-sample meshes, format 2). ``--data`` keeps the data set
between runs (made when the file is missing). Each model trains on the training designs and is
scored on the held-out ones, on their own meshes: relative L2 of the displacement and the von
Mises stress over all nodes, the von Mises error on the nodes within one diameter of a hole edge
(where the stress concentrates), the mean relative error of each design's peak von Mises, the
coverage of the ensemble's 95 % band and the training time. Issue #19's targets: von Mises rel L2
<= 5 % with <= 200 training designs, coverage between 0.85 and 0.99. ``--ablation`` adds the same
model without the geometric node features (coordinates and wall distance only: the state before
them), the diagnosis of where the error was.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

#: the swept parameters (the hole centres stay at the study's defaults)
VARY = ("n_holes", "diameter", "traction")
BOUNDS = {"diameter": (0.005, 0.03), "traction": (10e6, 100e6)}
MESH_SIZE = 0.005
#: training options of the table (CPU; full meshes of ~2000 nodes)
OPTIONS = {"transolver": {"members": 3, "epochs": 1500},
           "geo-field": {"members": 3, "epochs": 1500}}


def make_data(path: Path, n: int, workers: int = 1):
    """The sweep's samples (each on its own mesh) restricted to displacement and von Mises."""
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.samples import MeshSample, MeshSamples

    t0 = time.perf_counter()
    if not path.exists():
        ds = Dataset.create(path, "perforated-plate", n, seed=0, test_fraction=0.2, vary=VARY,
                            fixed={"mesh_size": MESH_SIZE}, bounds=BOUNDS, order=1)
        run_sweep(ds, workers=workers)
    s = Dataset.open(path).mesh_samples()
    outs = ("displacement", "von_mises")
    rows = [MeshSample(x.mesh, x.params, {k: x.outputs[k] for k in outs}, x.inputs, {}, x.name)
            for x in s.samples]
    return (MeshSamples(rows, s.param_names, outs, (), dict(s.units), s.is_test.copy(),
                        s.bounds.copy(), s.study_id, dict(s.fixed)),
            time.perf_counter() - t0)


def hole_scores(model, samples) -> tuple[float, float]:
    """(von Mises rel L2 on the nodes within one diameter of a hole edge, mean relative error of
    the peak von Mises per design)."""
    from physapp.studies import get_study
    from physapp.studies.perforated_plate import hole_centres

    study = get_study("perforated-plate")
    num = den = 0.0
    peaks = []
    for s in samples:
        values = study.check({"mesh_size": MESH_SIZE, **s.params})
        c = np.array(hole_centres(values))
        pts = np.asarray(s.mesh.points)[:, :2]
        d = values["diameter"]
        near = np.min(np.linalg.norm(pts[:, None] - c[None], axis=2), 1) < 1.5 * d
        pred = model.predict_on_mesh(s.params, s.mesh).point_data["von_mises"]
        true = s.outputs["von_mises"]
        num += float(np.sum((pred[near] - true[near]) ** 2))
        den += float(np.sum(true[near] ** 2))
        peaks.append(abs(pred.max() - true.max()) / true.max())
    return float(np.sqrt(num / den)), float(np.mean(peaks))


def topology_table(data_path: str = "", samples: int = 200, kinds: str = "transolver",
                   epochs: int = 0, members: int = 0, ablation: bool = False,
                   workers: int = 1) -> dict:
    """Train and score ``kinds`` on the perforated-plate sweep; print the table."""
    import tempfile

    import torch

    from physapp.surrogates.ensemble import train_on_samples

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(data_path) if data_path else Path(tmp) / "holes.h5"
        data, t_data = make_data(path, samples, workers)
        train, test = data.split()
        nodes = [s.mesh.n_points for s in data.samples]
        print(f"\n== perforated plate (topology changes with n_holes 1-4): {len(train)} train / "
              f"{len(test)} held-out designs, each meshed on its own ({min(nodes)}-{max(nodes)} "
              f"nodes), varied {', '.join(VARY)}; data {t_data:.0f} s; torch "
              f"{torch.__version__}, {torch.get_num_threads()} thread(s)")
        print(f"{'model':<24} {'rel L2 u':>9} {'vM':>8} {'vM holes':>9} {'peak vM':>8} "
              f"{'cov u':>6} {'cov vM':>7} {'train s':>8} {'cpu s':>6}")
        runs = [(k, True) for k in kinds.split(",") if k]
        if ablation:
            runs += [(k, False) for k in kinds.split(",") if k]
        for kind, geo in runs:
            opts = dict(OPTIONS.get(kind, {}), geo_features=geo)
            if epochs:
                opts["epochs"] = epochs
            if members:
                opts["members"] = members
            c0 = time.process_time()
            model = train_on_samples(kind, data, device="cpu", **opts)
            cpu = time.process_time() - c0  # training and scoring: what an idle core takes
            f = model.metrics["fields"]
            near, peak = hole_scores(model, test)
            name = f"{kind} {opts['members']}x{opts['epochs']}" + ("" if geo else " no-geo")
            vm = f["von_mises"]
            ok = "ok" if vm["rel_l2"] <= 0.05 and 0.85 <= vm["coverage95"] <= 0.99 else "MISSED"
            print(f"{name:<24} {f['displacement']['rel_l2'] * 100:>8.2f}% "
                  f"{vm['rel_l2'] * 100:>7.2f}% {near * 100:>8.2f}% {peak * 100:>7.2f}% "
                  f"{f['displacement']['coverage95']:>6.3f} {vm['coverage95']:>7.3f} "
                  f"{model.metrics['train_time_s']:>8.0f} {cpu:>6.0f}  {ok}", flush=True)
            out[name] = model
    print("targets (#19): von Mises rel L2 <= 5 %, 95 % coverage in [0.85, 0.99]; timings on a "
          "shared machine are 2-5x an idle one's")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="", help="data set file (kept; made when missing)")
    parser.add_argument("--samples", type=int, default=200, help="designs (80 %% train)")
    parser.add_argument("--epochs", type=int, default=0, help="training steps (0: table's)")
    parser.add_argument("--members", type=int, default=0, help="ensemble members (0: table's)")
    parser.add_argument("--kinds", default="transolver")
    parser.add_argument("--ablation", action="store_true",
                        help="also train without the geometric node features")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, help="sweep worker processes")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    topology_table(args.data, args.samples, args.kinds, args.epochs, args.members,
                   args.ablation, args.workers)


if __name__ == "__main__":
    main()

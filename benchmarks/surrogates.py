"""Field surrogates: held-out accuracy, GP coverage, training time and latency of every model kind.

Run: .venv/bin/python benchmarks/surrogates.py [--threads 1] [--device auto] [--quick]

Per study (plate-with-hole, L-bracket) it trains POD-GP, the POD-MLP ensemble, the neural field
and the linear and nearest-neighbour baselines on a design sweep and prints, per model, the
held-out relative L2 error of the displacement and the von Mises stress, the 95 % coverage
(uncertainty models), the training time, the single-query latency and the speed-up over the
reference solve (mesh + P1 solve) of the same design (latencies: best of 7 queries). Fields are learned in the scaled form the
study declares (``physapp.surrogates.scaling``, e.g. u / (t/E)); "pod-gp raw" is the POD-GP on
raw fields for comparison. A second table gives the latency on a ~100k-node mesh.

Data: when ``physapp.surrogates.dataset`` and ``physapp.compute.sweep`` are importable the sweep
goes through them (``DATASET_STUDIES``: geometric and load parameters, meshes morphed from one
reference, 64 designs to train from and 16 more held out; the plate varies every design
parameter); otherwise only non-geometric parameters vary (load, material)
on one mesh, and the held-out designs are a Latin hypercube inside the central 80 % of the ranges. The 100k-node set is built from 4 solves (one per Poisson's ratio)
scaled exactly: the plate's P1 solution is linear in the traction and in 1/E (plane stress,
traction-loaded), so u = u1(nu) t/(t1 E/E1) and stresses = s1(nu) t/t1 for t > 0.

Mesh-agnostic models (#19; ``--sections`` picks the tables, ``--kinds`` the models of the first):
the Transolver and the geometry-aware field sit in the study tables next to POD-GP (same data,
same held-out designs). ``superres``: each plate design meshed by gmsh on its own (the meshes
differ, a MeshSamples), trained at one element size and scored on the held-out designs solved
at that size and at half of it (zero-shot super-resolution: the ratio of the two errors).
``topology``: the topology-changing perforated plate (``benchmarks/perforated.py``: 160 / 40
designs with their own meshes, von Mises target <= 5 %).
``neural-latency``: the slider-to-field time of the mesh-agnostic models on the ~100k-node plate
while a slider drags (``predict(params, fields=[...])``: a 1024-node subsample, the rest filled
from the nearest evaluated node) and when it rests (every node); "no GPU" when there is none.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import qmc

from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study
from physapp.surrogates.data import TrainingData

#: sweeps through the data-set module: geometric parameters on morphed meshes
DATASET_STUDIES = {
    "plate-with-hole": {  # every design parameter (the element size is not one)
        "vary": ("radius", "width", "length", "traction", "youngs_modulus", "poissons_ratio"),
        "bounds": {"traction": (10e6, 100e6), "youngs_modulus": (70e9, 210e9),
                   "poissons_ratio": (0.2, 0.4)},
        "fixed": {"mesh_size": 0.005},
    },
    "l-bracket": {
        "vary": ("thickness", "arm_x", "load", "load_angle"),
        "bounds": {"thickness": (0.008, 0.016), "arm_x": (0.08, 0.14), "load": (1e3, 2e4),
                   "load_angle": (-135.0, -45.0)},
        "fixed": {"mesh_size": 0.006},
    },
}
#: fallback sweeps (no data-set module): load and material only, on one mesh
STUDIES = {
    "plate-with-hole": {
        "vary": {"traction": (10e6, 100e6), "youngs_modulus": (70e9, 210e9),
                 "poissons_ratio": (0.2, 0.4)},
        "fixed": {"mesh_size": 0.005},
    },
    "l-bracket": {
        "vary": {"load": (1e3, 2e4), "load_angle": (-135.0, -45.0),
                 "youngs_modulus": (70e9, 210e9), "poissons_ratio": (0.2, 0.4)},
        "fixed": {"mesh_size": 0.006},
    },
}


def _dataset_module_data(study_id: str, n: int, seed: int, folder: Path, workers: int,
                         test_fraction: float = 0.2) -> TrainingData | None:
    """Training data through the sweep data-set module, or None when it is not available."""
    try:
        from physapp.compute.sweep import run_sweep
        from physapp.surrogates.dataset import Dataset
    except ImportError:
        return None
    cfg = DATASET_STUDIES[study_id]
    path = folder / f"{study_id}.h5"
    try:  # any mismatch with the data-set module falls back to the simple sweep
        ds = Dataset.create(path, study_id, n, seed=seed, test_fraction=test_fraction,
                            vary=cfg["vary"],
                            fixed=cfg["fixed"], bounds=cfg["bounds"], order=1, overwrite=True)
        run_sweep(ds, workers=workers)
        return Dataset.open(path).training_data()
    except Exception as exc:  # noqa: BLE001
        print(f"  (dataset module present but not usable here: {type(exc).__name__}: {exc}; "
              "falling back to a non-geometric sweep)")
        return None


def sweep_data(study_id: str, n_train: int, n_test: int, seed: int = 0) -> TrainingData:
    """Non-geometric sweep on one mesh: Latin hypercube training set, interior held-out set."""
    cfg = STUDIES[study_id]
    study = get_study(study_id)
    names = tuple(cfg["vary"])
    bounds = np.array([cfg["vary"][k] for k in names], dtype=float)
    base = study.check(cfg["fixed"])
    mesh = study.build_mesh(base)
    u = np.vstack([qmc.LatinHypercube(d=len(names), seed=seed).random(n_train),
                   0.1 + 0.8 * qmc.LatinHypercube(d=len(names), seed=seed + 1).random(n_test)])
    X = bounds[:, 0] + u * (bounds[:, 1] - bounds[:, 0])
    solver = ReferenceSolver(order=1)
    results = [solver.solve(study, dict(base, **dict(zip(names, x, strict=True))), mesh=mesh)
               for x in X]
    m = results[0].mesh
    fields = {k: np.stack([r.point_data[k] for r in results]) for k in results[0].point_data}
    coords = np.broadcast_to(m.points[:, : m.dim].astype(np.float32),
                             (len(X), m.n_points, m.dim)).copy()
    return TrainingData(study_id, names, bounds, {k: v for k, v in base.items() if k not in names},
                        m, X, coords, fields, dict(results[0].units),
                        np.arange(len(X)) >= n_train)


def reference_time(study_id: str, params: dict[str, float], repeats: int = 2) -> float:
    """Seconds for the reference solver (meshing included) on one design; the best of repeats."""
    study = get_study(study_id)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        ReferenceSolver(order=1).solve(study, params)
        best = min(best, time.perf_counter() - t0)
    return best


def latency_ms(model, params: dict[str, float], repeats: int = 7) -> float:
    """Best of ``repeats`` single-query latencies (the machine may be shared: the minimum is the
    least disturbed measurement)."""
    model.predict(params)
    return float(np.min([model.predict(params).meta["latency_ms"] for _ in range(repeats)]))


#: training options of the mesh-agnostic models in the study tables (short CPU runs)
MESH_OPTIONS = {"transolver": {"epochs": 500, "members": 3},
                "geo-field": {"epochs": 500, "members": 3}}


def study_table(study_id: str, n_train: int, n_test: int, device: str, nf_epochs: int,
                folder: Path, workers: int, kinds: tuple[str, ...] | None = None) -> None:
    from physapp.surrogates.models import KINDS
    from physapp.surrogates.training import train_all

    t0 = time.perf_counter()
    data = _dataset_module_data(study_id, n_train + n_test, 0, folder, workers,
                                n_test / (n_train + n_test))
    source = "dataset module, morphed meshes"
    if data is None:
        data = sweep_data(study_id, n_train, n_test)
        source = "non-geometric sweep"
    t_data = time.perf_counter() - t0
    test = data.test()
    design = dict(data.fixed, **dict(zip(data.param_names, test.X[0], strict=True)))
    t_ref = reference_time(study_id, design)
    print(f"\n== {study_id}: {data.train().n_samples} train / {test.n_samples} held-out designs "
          f"({source}, {data.mesh.n_points} nodes, P1; data {t_data:.0f} s), varied: "
          f"{', '.join(data.param_names)}; reference solve {t_ref * 1e3:.0f} ms")
    options = {"neural-field": {"epochs": nf_epochs}, **MESH_OPTIONS}
    models = train_all(data, kinds=kinds or KINDS, device=device, options=options)
    from physapp.surrogates.scaling import study_scaling
    from physapp.surrogates.training import train_surrogate

    if study_scaling(study_id) and "pod-gp" in models:  # the same GP on raw fields
        models["pod-gp raw"] = train_surrogate("pod-gp", data, device=device, field_scaling={})
    print(f"{'model':<13} {'rel L2 u':>9} {'rel L2 vM':>10} {'max|err| vM':>12} {'cov95':>6} "
          f"{'train s':>8} {'pred ms':>8} {'speed-up':>9}  POD ranks")
    for kind, model in models.items():
        m = model.metrics
        f = m["fields"]
        cov = f"{m['coverage95']:.3f}" if "coverage95" in m else "-"
        lat = latency_ms(model, design)
        ranks = getattr(getattr(model, "pod", None), "ranks", None)
        rank_txt = " ".join(f"{k}:{v}" for k, v in ranks.items()) if ranks else ""
        print(f"{kind:<13} {f['displacement']['rel_l2'] * 100:>8.3f}% "
              f"{f['von_mises']['rel_l2'] * 100:>9.3f}% {f['von_mises']['max_abs']:>12.3g} "
              f"{cov:>6} {m['train_time_s']:>8.2f} {lat:>8.2f} {t_ref * 1e3 / lat:>8.0f}x  "
              f"{rank_txt}")


def big_plate_data(n_per_nu: int = 6, mesh_size: float = 0.0005
                   ) -> tuple[TrainingData, float, dict[str, float]]:
    """Plate (~100k nodes at the default ``mesh_size``): 4 solves (one per Poisson's ratio),
    scaled exactly in t and E."""
    study = get_study("plate-with-hole")
    base = study.check({"mesh_size": mesh_size, "width": 0.21, "length": 0.42})
    t0 = time.perf_counter()
    mesh = study.build_mesh(base)
    t_mesh = time.perf_counter() - t0
    t1, e1 = 10e6, 100e9
    nus = (0.2, 0.27, 0.33, 0.4)
    solves, t_solve = [], np.inf
    for nu in nus:
        t0 = time.perf_counter()
        solves.append(ReferenceSolver(order=1).solve(
            study, dict(base, traction=t1, youngs_modulus=e1, poissons_ratio=nu), mesh=mesh))
        t_solve = min(t_solve, time.perf_counter() - t0)
    rng = np.random.default_rng(0)
    X, fields = [], {}
    for nu, res in zip(nus, solves, strict=True):
        for t, e in zip(rng.uniform(10e6, 100e6, n_per_nu), rng.uniform(70e9, 210e9, n_per_nu),
                        strict=True):
            X.append((t, e, nu))
            for k, v in res.point_data.items():
                s = t / t1 * (e1 / e if k == "displacement" else 1.0)
                fields.setdefault(k, []).append((v * s).astype(np.float32))
    X = np.array(X)
    is_test = np.zeros(len(X), bool)
    is_test[n_per_nu - 1::n_per_nu] = True
    m = solves[0].mesh
    coords = np.broadcast_to(m.points[:, :2].astype(np.float32), (len(X), m.n_points, 2)).copy()
    data = TrainingData("plate-with-hole", ("traction", "youngs_modulus", "poissons_ratio"),
                        np.array([[10e6, 100e6], [70e9, 210e9], [0.2, 0.4]]),
                        {k: v for k, v in base.items()
                         if k not in ("traction", "youngs_modulus", "poissons_ratio")},
                        m, X, coords, {k: np.stack(v) for k, v in fields.items()},
                        dict(solves[0].units), is_test)
    design = dict(base, traction=5e7, youngs_modulus=1.5e11, poissons_ratio=0.3)
    return data, t_mesh + t_solve, design


def latency_table(device: str, nf_epochs: int, folder: Path) -> None:
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    t0 = time.perf_counter()
    data, t_ref, design = big_plate_data()
    print(f"\n== latency at {data.mesh.n_points} nodes (plate-with-hole P1, "
          f"{data.train().n_samples} train designs from 4 solves, data {time.perf_counter() - t0:.0f}"
          f" s); reference mesh + solve {t_ref:.1f} s")
    print(f"{'model':<13} {'pred ms':>8} {'target':>8} {'speed-up':>9} {'train s':>8} "
          f"{'file MB':>8} {'rel L2 vM':>10}")
    targets = {"pod-gp": 10.0, "pod-mlp": 10.0, "linear": 10.0, "nearest": 10.0,
               "neural-field": 1000.0}
    for kind in ("pod-gp", "pod-mlp", "linear", "nearest", "neural-field"):
        opts = {"epochs": nf_epochs} if kind == "neural-field" else {}
        model = train_surrogate(kind, data, device=device, **opts)
        lat = latency_ms(model, design, repeats=5)
        path = save_surrogate(model, folder / f"big-{kind}.pt")
        ok = "ok" if lat <= targets[kind] else "MISSED"
        print(f"{kind:<13} {lat:>8.1f} {targets[kind]:>6.0f}{ok:>3} {t_ref * 1e3 / lat:>8.0f}x "
              f"{model.metrics['train_time_s']:>8.1f} {path.stat().st_size / 1e6:>8.2f} "
              f"{model.metrics['fields']['von_mises']['rel_l2'] * 100:>9.3f}%")


def plate_samples(designs: np.ndarray, names: tuple[str, ...], mesh_size: float,
                  is_test: np.ndarray):
    """Plate designs each meshed by gmsh and solved on their own mesh (a MeshSamples)."""
    from physapp.surrogates.samples import MeshSample, MeshSamples

    study = get_study("plate-with-hole")
    solver = ReferenceSolver(order=1)
    samples = []
    for x in designs:
        p = study.check({"mesh_size": mesh_size, **dict(zip(names, x, strict=True))})
        r = solver.solve(study, p)
        samples.append(MeshSample(r.mesh, dict(zip(names, x, strict=True)),
                                  {k: r.point_data[k] for k in ("displacement", "von_mises")}))
    return MeshSamples(samples, names, ("displacement", "von_mises"),
                       units=dict(r.units), is_test=is_test, study_id="plate-with-hole",
                       fixed={"mesh_size": mesh_size})


#: zero-shot super-resolution: geometric and load parameters of the plate
SUPERRES = {"vary": {"radius": (0.01, 0.04), "traction": (10e6, 100e6)},
            "fixed": {"width": 0.2, "length": 0.4}, "h": 0.01}


def superres_table(device: str, n_train: int, n_test: int, epochs: int,
                   kinds: tuple[str, ...] = ("transolver", "geo-field")) -> dict:
    """Train on designs meshed at h, score held-out designs at h and at h/2."""
    from physapp.surrogates.ensemble import evaluate_samples, train_on_samples

    cfg = SUPERRES
    names = (*cfg["vary"], *cfg["fixed"])
    bounds = np.array(list(cfg["vary"].values()))
    u = np.vstack([qmc.LatinHypercube(d=len(bounds), seed=0).random(n_train),
                   0.1 + 0.8 * qmc.LatinHypercube(d=len(bounds), seed=1).random(n_test)])
    X = bounds[:, 0] + u * (bounds[:, 1] - bounds[:, 0])
    X = np.column_stack([X, np.tile(list(cfg["fixed"].values()), (len(X), 1))])
    t0 = time.perf_counter()
    h = cfg["h"]
    data = plate_samples(X, names, h, np.arange(len(X)) >= n_train)
    fine = plate_samples(X[n_train:], names, h / 2, np.ones(n_test, bool)).samples
    n_c = np.mean([s.mesh.n_points for s in data.samples])
    n_f = np.mean([s.mesh.n_points for s in fine])
    print(f"\n== zero-shot super-resolution (plate-with-hole, each design meshed on its own): "
          f"{n_train} train / {n_test} held-out designs, varied radius and traction; trained at "
          f"h = {h * 1e3:.0f} mm (~{n_c:.0f} nodes), scored at h and h/2 (~{n_f:.0f} nodes); "
          f"data {time.perf_counter() - t0:.0f} s")
    print(f"{'model':<11} {'rel L2 u h':>11} {'u h/2':>8} {'ratio':>6}  {'vM h':>8} "
          f"{'vM h/2':>8} {'ratio':>6}  {'cov95 h':>7} {'train s':>8}")
    out = {}
    for kind in kinds:
        model = train_on_samples(kind, data, device=device, epochs=epochs)
        coarse = model.metrics
        fm = evaluate_samples(model, fine)
        ru = fm["fields"]["displacement"]["rel_l2"] / coarse["fields"]["displacement"]["rel_l2"]
        rv = fm["fields"]["von_mises"]["rel_l2"] / coarse["fields"]["von_mises"]["rel_l2"]
        print(f"{kind:<11} {coarse['fields']['displacement']['rel_l2'] * 100:>10.2f}% "
              f"{fm['fields']['displacement']['rel_l2'] * 100:>7.2f}% {ru:>6.2f}  "
              f"{coarse['fields']['von_mises']['rel_l2'] * 100:>7.2f}% "
              f"{fm['fields']['von_mises']['rel_l2'] * 100:>7.2f}% {rv:>6.2f}  "
              f"{coarse['coverage95']:>7.3f} {coarse['train_time_s']:>8.1f}")
        out[kind] = model
    return out


def neural_latency_table(models: dict, device: str, repeats: int = 7) -> None:
    """Drag (subsample) and rest (every node) latency of mesh-agnostic models at ~100k nodes."""
    import torch

    study = get_study("plate-with-hole")
    params = {"radius": 0.025, "traction": 5e7, **SUPERRES["fixed"]}
    t0 = time.perf_counter()
    mesh = study.build_mesh(study.check({**params, "mesh_size": 0.0005}))
    gpu = "" if torch.cuda.is_available() else " (no GPU)"
    print(f"\n== mesh-agnostic latency at {mesh.n_points} nodes (plate-with-hole, mesh "
          f"{time.perf_counter() - t0:.0f} s), device {device}{gpu}, "
          f"{torch.get_num_threads()} thread(s); median of {repeats}")
    print(f"{'model':<11} {'drag ms':>8} {'cpu ms':>7} {'nodes':>6} {'target':>7} "
          f"{'rest ms':>8} {'cpu ms':>7} {'first ms':>9}   (cpu ms: this process's CPU time per "
          "frame, what an idle core would take)")
    for kind, model in models.items():
        model.to(device)
        model.mesher = lambda _p, m=mesh: m
        t1 = time.perf_counter()
        model.predict(params)  # first call: geometry of the new mesh (cached afterwards)
        first = (time.perf_counter() - t1) * 1e3
        drag, rest, drag_cpu, rest_cpu = [], [], [], []
        for i in range(repeats):
            p = dict(params, traction=params["traction"] * (1 + 0.01 * i))
            c0 = time.process_time()
            r = model.predict(p, fields=["von_mises"])
            drag_cpu.append((time.process_time() - c0) * 1e3)
            drag.append(r.meta["latency_ms"])
            nodes = r.meta["evaluated_nodes"]
        for i in range(3):
            c0 = time.process_time()
            rest.append(model.predict(dict(params, traction=4e7 + i)).meta["latency_ms"])
            rest_cpu.append((time.process_time() - c0) * 1e3)
        d = float(np.median(drag))
        print(f"{kind:<11} {d:>8.1f} {np.median(drag_cpu):>7.1f} {nodes:>6} "
              f"{100:>5}{'ok' if d <= 100 else ' MISSED':>2} {np.median(rest):>8.0f} "
              f"{np.median(rest_cpu):>7.0f} {first:>9.0f}")
        model.mesher = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quick", action="store_true", help="fewer designs and epochs")
    parser.add_argument("--workers", type=int, default=1, help="sweep worker processes")
    parser.add_argument("--sections", default="studies,latency",
                        help="comma-separated tables: studies, latency, superres, neural-latency, "
                             "topology (default: studies,latency)")
    parser.add_argument("--study", default="", help="only this study in the study tables")
    parser.add_argument("--kinds", default="",
                        help="models of the study tables, e.g. pod-gp,transolver,geo-field "
                             "(default: the POD kinds, the neural field and the baselines)")
    args = parser.parse_args()
    sections = {x.strip() for x in args.sections.split(",") if x.strip()}
    kinds = tuple(k.strip() for k in args.kinds.split(",") if k.strip()) or None

    import torch

    from physapp.surrogates.device import resolve_device

    torch.set_num_threads(args.threads)
    device, notice = resolve_device(args.device)
    print(f"device {device}{' (' + notice + ')' if notice else ''}, torch {torch.__version__}, "
          f"{args.threads} thread(s)")
    # at most 64 solver samples to train from; 16 more designs held out for the errors
    n_train, n_test, nf_epochs = (24, 8, 1000) if args.quick else (64, 16, 1500)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "studies" in sections:
            for study_id in STUDIES:
                if args.study in ("", study_id):
                    study_table(study_id, n_train, n_test, device, nf_epochs, folder,
                                args.workers, kinds)
        if "latency" in sections:
            latency_table(device, 300, folder)  # a few epochs: this table is about latency
        neural = {}
        if "superres" in sections:
            neural = superres_table(device, *((16, 6, 300) if args.quick else (32, 8, 700)))
        elif "neural-latency" in sections:  # latency only: briefly trained models will do
            print("\n(latency only: models trained for 20 epochs; their errors mean nothing)")
            neural = superres_table(device, 8, 2, 20)
        if "neural-latency" in sections:
            neural_latency_table(neural, device)
        if "topology" in sections:  # the perforated plate: benchmarks/perforated.py
            from perforated import topology_table

            topology_table(epochs=300 if args.quick else 0, members=1 if args.quick else 0)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()

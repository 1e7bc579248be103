"""Slow-down under contention: every path quiet and with a 2-thread numpy job running beside it.

Paths (each in a fresh process started the way the app starts it, so its thread pools are the
ones the app gets): a 2D P2 plate solve (~14k DOFs), a 3D P2 cantilever solve (~55k DOFs, AMG-CG),
a sweep of the plate on two worker processes (seconds per design) and a POD-GP prediction at
~101k nodes (the numpy path the app uses for shipped models). The "loaded" column starts a
background process that multiplies 400x400 matrices in a loop with two BLAS threads (the
"other 2-thread job") before the path starts, and stops it afterwards. Each figure is the best of
a few repeats (the machine is shared: the best is the least disturbed). ``/proc/loadavg`` is
printed with each row because other jobs on the machine change the baseline.

Goal (#16): no path slows down more than 2.5x under the load.

Run: .venv/bin/python benchmarks/contention.py [--paths solve2d,solve3d,sweep,predict]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD_CODE = """
import os, numpy as np
a = np.random.default_rng(0).random((400, 400))
while True:
    a = a @ a
    a /= np.abs(a).max()
"""


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def path_solve2d() -> float:
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("plate-with-hole")
    params = study.check({"mesh_size": 0.0035})
    mesh = study.build_mesh(params)
    solver = ReferenceSolver(order=2, check_p1=False)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        res = solver.solve(study, params, mesh=mesh)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"dofs": res.meta["n_dofs"]}), file=sys.stderr)
    return best


def path_solve3d() -> float:
    from physapp.core.study import ElasticSetup, Material, Support, Traction
    from physapp.geometry.cantilever import mesh_cantilever
    from physapp.solvers.elasticity3d import solve_solid

    mesh = mesh_cantilever(0.5, 0.05, 0.02, 0.006)
    setup = ElasticSetup("3d", Material(210e9, 0.3), (Support("fixed", (0, 1, 2)),),
                         tractions=(Traction("tip", (0.0, 0.0, -1e5)),))
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        sol = solve_solid(mesh, setup, order=2)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"dofs": sol.stats["n_dofs"], "method": sol.stats.get("method")}),
          file=sys.stderr)
    return best


def path_sweep() -> float:
    """Seconds per design of a 12-design plate sweep on two workers (start-up included)."""
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset

    n = 12
    with tempfile.TemporaryDirectory() as tmp:
        ds = Dataset.create(Path(tmp) / "s.h5", "plate-with-hole", n, "lhs", 0, 0.25,
                            vary=["radius", "traction", "youngs_modulus"], order=2)
        t0 = time.perf_counter()
        s = run_sweep(ds, 2)
        return (time.perf_counter() - t0) / max(s.done_total, 1)


def _pod_gp_model(folder: Path):
    """A POD-GP of smooth synthetic fields on a ~101k-node triangle grid, saved and loaded back
    (loading gives the numpy predictor the app uses)."""
    import numpy as np

    from physapp.core.mesh import CellBlock, MeshData
    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.storage import load_surrogate, save_surrogate
    from physapp.surrogates.training import train_surrogate

    k = 318
    xs, ys = np.meshgrid(np.linspace(0, 1, k), np.linspace(0, 1, k))
    pts = np.column_stack([xs.ravel(), ys.ravel(), np.zeros(k * k)])
    idx = np.arange(k * k).reshape(k, k)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    tris = np.concatenate([np.column_stack([a, b, d]), np.column_stack([a, d, c])])
    mesh = MeshData(pts, (CellBlock("triangle", tris),), {}, {}, 2)
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (24, 3))
    u = np.stack([np.stack([np.sin(3 * x[0] * pts[:, 0]) * (1 + x[1]), x[2] * pts[:, 1] ** 2,
                            np.zeros(len(pts))], 1) for x in X]).astype(np.float32)
    vm = np.stack([np.cos(2 * x[0] + pts[:, 0] * x[1]) + x[2] * pts[:, 1] for x in X]).astype(np.float32)
    coords = np.broadcast_to(pts[:, :2].astype(np.float32), (len(X), len(pts), 2)).copy()
    data = TrainingData("plate-with-hole", ("radius", "traction", "youngs_modulus"),
                        np.array([[0, 1], [0, 1], [0, 1]], float), {}, mesh, X, coords,
                        {"displacement": u, "von_mises": vm}, {"displacement": "m", "von_mises": "Pa"},
                        np.arange(len(X)) % 6 == 5)
    model = train_surrogate("pod-gp", data, device="cpu")
    path = save_surrogate(model, folder / "big.pt")
    return load_surrogate(path)


def path_predict() -> float:
    """Best-of-20 latency (s) of one POD-GP prediction at ~101k nodes."""
    cache = Path(tempfile.gettempdir()) / "physapp-contention-podgp"
    cache.mkdir(exist_ok=True)
    model = _pod_gp_model(cache)
    best = float("inf")
    for i in range(20):
        t0 = time.perf_counter()
        model.predict({"radius": 0.3 + 0.01 * i, "traction": 0.5, "youngs_modulus": 0.5})
        best = min(best, time.perf_counter() - t0)
    return best


PATHS = {"solve2d": ("2D solve (plate P2)", path_solve2d),
         "solve3d": ("3D solve (cantilever P2)", path_solve3d),
         "sweep": ("sweep, 2 workers (s/design)", path_sweep),
         "predict": ("POD-GP predict 101k nodes", path_predict)}


def _run_path(name: str) -> tuple[float, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(k, None)  # measure the thread pools the app chooses itself
    out = subprocess.run([sys.executable, __file__, "path", name], capture_output=True,
                         text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed:\n{out.stderr[-3000:]}")
    info = " ".join(line for line in out.stderr.splitlines() if line.startswith("{"))
    return float(out.stdout.strip().splitlines()[-1]), info


def _start_load() -> subprocess.Popen:
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    p = subprocess.Popen([sys.executable, "-c", LOAD_CODE], env=env)
    time.sleep(1.5)  # let it reach its loop
    return p


def main() -> None:
    names = (sys.argv[sys.argv.index("--paths") + 1].split(",") if "--paths" in sys.argv
             else list(PATHS))
    print(f"{os.cpu_count()} cores; loaded = a 2-thread numpy matmul loop running beside the path")
    print(f"{'path':30s} {'quiet s':>9s} {'loaded s':>9s} {'slow-down':>9s} {'goal':>5s}  "
          f"{'loadavg quiet / loaded':24s} info")
    for name in names:
        label = PATHS[name][0]
        la_q = _loadavg()
        quiet, info = _run_path(name)
        load = _start_load()
        try:
            la_l = _loadavg()
            loaded, _ = _run_path(name)
        finally:
            load.kill()
            load.wait()
        ratio = loaded / quiet
        ok = "ok" if ratio <= 2.5 else "MISS"
        print(f"{label:30s} {quiet:9.3f} {loaded:9.3f} {ratio:8.2f}x {ok:>5s}  "
              f"{la_q:>11s} / {la_l:<11s} {info}", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "path":
        print(PATHS[sys.argv[2]][1]())
    else:
        main()

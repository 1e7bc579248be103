"""Sweep throughput: designs per minute with 1 and 2 local worker processes (and through Dask).

Plate with a hole (P2, default mesh), radius/traction/E varied, ``--samples`` designs per run,
each run on a fresh data set, start-up of the workers included. Every figure comes from a fresh
process running the sweep of the checkout it is given, so ``--before REV`` (a git revision of
this repository, e.g. ``main``) measures the code before a change beside the code now, in the
same run and under the same load. ``--loaded`` adds the same runs with a 2-thread numpy matmul
loop running beside the sweep (the "other job" of #16). ``--dask`` adds a Dask LocalCluster row.
``/proc/loadavg`` is printed: on a shared machine compare figures of one run only. The first row
counts designs per minute of CPU time (morph and solve one after the other in one process),
which the machine's load hardly changes.

Goals (#16): >= 1.8x from 1 to 2 local workers (2 cores); >= 4x designs per minute against the
code before the per-design reuse (morph factors, topology, region look-ups).

Run: .venv/bin/python benchmarks/sweep_scaling.py [--samples N] [--before REV] [--loaded] [--dask]
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
VARY = ["radius", "traction", "youngs_modulus"]
LOAD_CODE = """
import numpy as np
a = np.random.default_rng(0).random((400, 400))
while True:
    a = a @ a
    a /= np.abs(a).max()
"""


def measure(workers: int, n: int) -> float:
    """Designs per minute of an ``n``-design plate sweep on ``workers`` local processes
    (``0``: a Dask LocalCluster of two single-threaded workers)."""
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset

    with tempfile.TemporaryDirectory() as tmp:
        ds = Dataset.create(Path(tmp) / "s.h5", "plate-with-hole", n, "lhs", 0, 0.25,
                            vary=VARY, order=2)
        if workers == 0:
            from distributed import Client, LocalCluster

            from physapp.compute.cluster import run_sweep_on

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None) as cluster, \
                    Client(cluster) as client:
                t0 = time.perf_counter()
                s = run_sweep_on(ds, client)
                return 60.0 * s.done_total / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        s = run_sweep(ds, workers)
        return 60.0 * s.done_total / (time.perf_counter() - t0)


def measure_cpu(n: int) -> float:
    """Designs per minute of CPU time: the designs morphed and solved one after the other in this
    process (after one warm-up design), counted in CPU seconds (hardly affected by the load)."""
    from physapp.compute.sweep import solve_candidates
    from physapp.geometry.morph import Morpher
    from physapp.solvers.reference import ReferenceSolver
    from physapp.surrogates.dataset import Dataset

    with tempfile.TemporaryDirectory() as tmp:
        ds = Dataset.create(Path(tmp) / "s.h5", "plate-with-hole", n + 1, "lhs", 0, 0.25,
                            vary=VARY, order=2)
        morpher = Morpher(ds.study, ds.reference_values, ds.reference_mesh,
                          valid_ranges=ds.valid_ranges)
        solver = ReferenceSolver(2, check_p1=False, check_memory=False)
        solve_candidates(morpher, solver, ds.study, [ds.values(0)], 2)
        t0 = time.process_time()
        for i in range(1, n + 1):
            solve_candidates(morpher, solver, ds.study, [ds.values(i)], 2)
        return 60.0 * n / (time.process_time() - t0)


def _tree(rev: str, tmp: str) -> Path:
    out = Path(tmp) / "before"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def _run(tree: Path, workers: int, n: int, loaded: bool) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree))
    load = None
    if loaded:
        load = subprocess.Popen([sys.executable, "-c", LOAD_CODE],
                                env=dict(os.environ, OPENBLAS_NUM_THREADS="2",
                                         OMP_NUM_THREADS="2"))
        time.sleep(1.5)
    try:
        # this file from ``tree`` when it has it (the code measured), else this one
        script = tree / "benchmarks" / "sweep_scaling.py"
        script = script if script.exists() and "def measure_cpu" in script.read_text() else __file__
        out = subprocess.run([sys.executable, str(script), "measure", str(workers), str(n)],
                             env=env, capture_output=True, text=True, check=False, cwd=tree)
    finally:
        if load is not None:
            load.kill()
            load.wait()
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def _loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    args = sys.argv[1:]
    n = int(args[args.index("--samples") + 1]) if "--samples" in args else 16
    before = args[args.index("--before") + 1] if "--before" in args else None
    modes = [False, True] if "--loaded" in args else [False]
    rows = [-1, 1, 2] + ([0] if "--dask" in args else [])
    print(f"plate-with-hole P2, {n} designs per run, varying {', '.join(VARY)}; designs/min "
          f"(worker start-up included); {os.cpu_count()} cores; loadavg at start {_loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("now", ROOT)] + ([(f"before ({before})", _tree(before, tmp))] if before else [])
        results: dict[tuple, float] = {}
        for loaded in modes:
            for workers in rows:
                for name, tree in trees:  # interleaved: both see the same load
                    results[(name, workers, loaded)] = _run(tree, workers, n, loaded)
    head = f"{'executor':22s}"
    for loaded in modes:
        tag = "loaded" if loaded else "quiet"
        for name, _ in trees:
            head += f" {name + ' ' + tag:>22s}"
        if before:
            head += f" {'speed-up ' + tag:>16s}"
    if len(modes) == 2:
        head += f" {'loaded/quiet now':>17s}"
    print(head)
    for workers in rows:
        label = ("dask LocalCluster x2" if workers == 0 else "1 process, per CPU-min"
                 if workers < 0 else f"local processes x{workers}")
        line = f"{label:22s}"
        for loaded in modes:
            for name, _ in trees:
                line += f" {results[(name, workers, loaded)]:>22.1f}"
            if before:
                ratio = results[("now", workers, loaded)] / results[(trees[1][0], workers, loaded)]
                line += f" {ratio:>15.2f}x"
        if len(modes) == 2:
            slow = results[("now", workers, False)] / results[("now", workers, True)]
            line += f" {slow:>16.2f}x"
        print(line)
    print(f"loadavg at end {_loadavg()}")
    print(json.dumps({f"{k[0]}|{k[1]}|{'loaded' if k[2] else 'quiet'}": round(v, 2)
                      for k, v in results.items()}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "measure":
        w = int(sys.argv[2])
        print(measure_cpu(int(sys.argv[3])) if w < 0 else measure(w, int(sys.argv[3])))
    else:
        main()

"""Sweep throughput: samples per minute with 1 and 2 local worker processes and through Dask.

Plate with a hole (P2, default mesh), radius/traction/E varied, 16 samples per run, each run on a
fresh data set. Goal: >= 1.8x from 1 to 2 local workers (2 cores here).

Run: .venv/bin/python benchmarks/sweep_scaling.py [--samples N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from physapp.compute.cluster import run_sweep_on
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset

    n = int(sys.argv[sys.argv.index("--samples") + 1]) if "--samples" in sys.argv else 16
    vary = ["radius", "traction", "youngs_modulus"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        def fresh(name):
            return Dataset.create(Path(tmp) / f"{name}.h5", "plate-with-hole", n, "lhs", 0, 0.25,
                                  vary=vary, order=2)

        for workers in (1, 2):
            ds = fresh(f"local{workers}")
            t0 = time.perf_counter()
            s = run_sweep(ds, workers)
            rows.append((f"local processes x{workers}", s.done_total, time.perf_counter() - t0))
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            ds = fresh("dask")
            t0 = time.perf_counter()
            s = run_sweep_on(ds, client)
            rows.append(("dask LocalCluster x2", s.done_total, time.perf_counter() - t0))
    print(f"plate-with-hole P2, {n} samples, varying {', '.join(vary)}")
    print(f"{'executor':24s} {'done':>5s} {'time s':>8s} {'samples/min':>12s} {'speed-up':>9s}")
    base = rows[0][1] / rows[0][2]
    for name, done, t in rows:
        rate = done / t
        print(f"{name:24s} {done:5d} {t:8.1f} {rate * 60:12.1f} {rate / base:8.2f}x")


if __name__ == "__main__":
    main()

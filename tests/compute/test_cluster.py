"""Sweeps through a real Dask LocalCluster (loopback) and a ProcessPoolExecutor."""

import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from physapp.compute.cluster import connect, run_sweep_on
from physapp.core import PhysappError
from physapp.surrogates.dataset import Dataset

COARSE = {"mesh_size": 0.02}


def _dataset(path, n):
    return Dataset.create(path, "plate-with-hole", n, "lhs", 0, 0.25,
                          vary=["traction", "youngs_modulus", "radius"], fixed=COARSE, order=1)


def test_dask_sweep_survives_a_killed_worker_and_writes_each_sample_once(tmp_path):
    from distributed import Client, LocalCluster

    ds = _dataset(tmp_path / "d.h5", 12)
    writes = []
    original = ds.write_sample

    def counting(i, *args, **kw):
        writes.append(i)
        return original(i, *args, **kw)

    ds.write_sample = counting
    killed = []

    def progress(frac, msg):
        if writes and not killed:  # after the first result: kill one worker process
            pids = client.run(os.getpid)
            victim = sorted(pids.values())[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster, Client(cluster) as client:
        summary = run_sweep_on(ds, client, progress=progress)
    assert killed, "the test did not kill a worker"
    assert summary.done_total == 12 and summary.failed_total == 0
    assert sorted(writes) == list(range(12))  # every sample exactly once
    data = Dataset.open(tmp_path / "d.h5").training_data()
    assert data.n_samples == 12 and np.all(np.isfinite(data.fields["von_mises"]))


def test_process_pool_executor_gives_the_same_samples(tmp_path):
    ds = _dataset(tmp_path / "p.h5", 4)
    with ProcessPoolExecutor(max_workers=2) as pool:
        summary = run_sweep_on(ds, pool)
    assert summary.done_total == 4
    # resuming finds nothing to do
    assert run_sweep_on(Dataset.open(tmp_path / "p.h5"), None).solved == 0


def test_unreachable_scheduler_times_out_with_a_message():
    t0 = time.perf_counter()
    with pytest.raises(PhysappError, match="Could not reach the Dask scheduler.*locally"):
        connect("tcp://127.0.0.1:9", timeout=2)
    assert time.perf_counter() - t0 < 30

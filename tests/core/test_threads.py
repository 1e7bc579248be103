"""Thread pools sized to the usable cores and never spinning (physapp.core.threads, #16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from physapp.core import threads

ROOT = Path(__file__).resolve().parents[2]


def test_others_running_reads_the_instantaneous_count_less_this_process():
    assert threads.others_running("3.10 2.00 1.50 4/231 999") == 3
    assert threads.others_running("0.00 0.00 0.00 1/80 5") == 0
    assert threads.others_running("garbage") == 0


def test_usable_cores_follow_the_affinity_mask():
    n = threads.usable_cores()
    assert n == min(len(os.sched_getaffinity(0)), n)  # never above the affinity mask
    assert 1 <= n <= (os.cpu_count() or 1)
    assert 1 <= threads.free_cores() <= n


def test_compute_threads_default_and_override(monkeypatch):
    monkeypatch.delenv("PHYSAPP_THREADS", raising=False)
    assert threads.compute_threads() == threads.COMPUTE_THREADS == 1
    monkeypatch.setenv("PHYSAPP_THREADS", "64")
    assert threads.compute_threads() == threads.usable_cores()  # capped at the usable cores
    monkeypatch.setenv("PHYSAPP_THREADS", "nonsense")
    assert threads.compute_threads() == 1


def test_single_thread_env_keeps_the_users_choice_unless_forced():
    env = threads.single_thread_env({"OMP_NUM_THREADS": "3", "OMP_WAIT_POLICY": "ACTIVE"})
    assert env["OMP_NUM_THREADS"] == "3" and env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["OMP_WAIT_POLICY"] == "ACTIVE"  # the user's, not the default
    assert env["KMP_BLOCKTIME"] == "0"
    forced = threads.single_thread_env({"OMP_NUM_THREADS": "3"}, force=True)
    assert all(forced[k] == "1" for k in threads.THREAD_VARS)


def test_limited_sizes_the_blas_pool_inside_and_restores_it():
    pytest.importorskip("threadpoolctl")
    original = threads.pool_sizes()["blas"]
    threads.set_pools(2)
    try:
        assert threads.pool_sizes()["blas"] == 2
        with threads.limited(1):
            assert threads.pool_sizes()["blas"] == 1
            a = np.arange(9.0).reshape(3, 3)
            assert float((a @ a)[2, 2]) == 6 * 2 + 7 * 5 + 8 * 8
        assert threads.pool_sizes()["blas"] == 2
    finally:
        threads.set_pools(original)


def test_import_sets_non_spinning_defaults_before_numpy_loads():
    env = {k: v for k, v in os.environ.items()
           if k not in threads.ENV_DEFAULTS and k not in threads.THREAD_VARS}
    env["PYTHONPATH"] = str(ROOT)
    code = ("import sys, os, json, physapp; "
            "print(json.dumps([{k: os.environ.get(k) for k in "
            "('OMP_WAIT_POLICY', 'KMP_BLOCKTIME', 'OPENBLAS_THREAD_TIMEOUT')}, "
            "'numpy' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    values, numpy_loaded = json.loads(out.stdout)
    assert values == threads.ENV_DEFAULTS  # the package sets the same defaults as the module
    assert numpy_loaded is False  # so they are in place before OpenBLAS starts its threads

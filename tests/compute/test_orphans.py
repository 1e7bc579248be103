"""Worker processes die with their parent, whatever kills it (#14)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).parents[2]


def _start_sweep(tmp_path):
    out = tmp_path / "s.h5"
    proc = subprocess.Popen(
        [sys.executable, "-m", "physapp", "sweep", "plate-with-hole", "--samples", "200",
         "--vary", "radius,traction", "--set", "mesh_size=0.01", "--order", "2", "--workers",
         "2", "--no-morph-check", "--out", str(out), "-q"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until both workers have started solving
        workers = [c for c in parent.children(recursive=True)
                   if "spawn_main" in " ".join(_cmdline(c))]
        if len(workers) >= 2 and out.exists():
            break
        time.sleep(0.2)
    time.sleep(2.0)
    children = parent.children(recursive=True)
    assert len(children) >= 2, "the sweep did not start its workers"
    return proc, children


def _cmdline(p):
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def _survivors(children, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.1)
    return [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_kill_9_of_a_sweep_parent_leaves_no_process(tmp_path):
    proc, children = _start_sweep(tmp_path)
    t0 = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    left = _survivors(children, within=2.0)
    assert not left, [(_cmdline(c), time.monotonic() - t0) for c in left]


def test_sigterm_exits_143_cleanly(tmp_path):
    proc, children = _start_sweep(tmp_path)
    os.kill(proc.pid, signal.SIGTERM)
    code = proc.wait(30)
    err = proc.stderr.read()
    assert code == 143, err
    assert "terminated" in err and "Traceback" not in err
    assert "leaked semaphore" not in err
    assert not _survivors(children, within=2.0)
    # the data set stays readable and resumable
    from physapp.surrogates.dataset import Dataset

    ds = Dataset.open(tmp_path / "s.h5")
    assert ds.counts()["pending"] > 0

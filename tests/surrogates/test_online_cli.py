"""``physapp train-online``: bad input refused with a clear message; a run killed (SIGKILL)
mid-way keeps its data set, and the rerun continues it without solving any design twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from physapp.cli import main
from physapp.cli_online import parse_target
from physapp.surrogates.dataset import DONE, Dataset

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["train-online", "thick-cylinder", "--vary", "inner_radius,pressure", "--set",
        "mesh_size=0.05", "--order", "1", "--workers", "0", "--test", "0", "--no-morph-check"]


def test_target_parsing():
    assert parse_target("2%") == pytest.approx(0.02)
    assert parse_target("0.02") == pytest.approx(0.02)
    assert parse_target("5") == pytest.approx(0.05)


@pytest.mark.parametrize("bad, words", [(["--target", "0%", "--budget", "10"], "above 0 %"),
                                        (["--target", "2%", "--budget", "0"], "at least 1")])
def test_zero_target_or_budget_is_refused(tmp_path, capsys, bad, words):
    code = main([*ARGS, *bad, "--out", str(tmp_path / "m.pt"), "--json"])
    assert code == 1
    assert words in json.loads(capsys.readouterr().out)["error"]
    assert not (tmp_path / "m.h5").exists()


def _done(path: Path) -> np.ndarray:
    try:
        with h5py.File(path, "r", locking=False) as f:
            return f["samples/status"][()]
    except (OSError, KeyError):
        return np.zeros(0)


def test_a_killed_run_resumes_without_repeating_a_design(tmp_path):
    data, out = tmp_path / "d.h5", tmp_path / "m.pt"
    cmd = [sys.executable, "-m", "physapp", *ARGS, "--target", "0.0001%", "--budget", "10",
           "--data", str(data), "--out", str(out), "--json", "-q"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        t0 = time.monotonic()
        while (_done(data) == DONE).sum() < 3:
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() - t0 < 60
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    first = Dataset.open(data)
    n_first = int((first.status == DONE).sum())
    assert 3 <= n_first < 10 and not out.exists()
    done_rows = np.flatnonzero(first.status == DONE)
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    again = Dataset.open(data)
    assert report["stopped"] == "budget" and "budget of 10" in report["message"]
    assert report["solved_this_run"] == 10 - n_first  # nothing solved twice
    np.testing.assert_array_equal(again.X[done_rows], first.X[done_rows])
    solved = again.X[again.status == DONE]
    assert len(solved) == 10 and len(np.unique(solved.round(12), axis=0)) == 10
    assert out.exists()

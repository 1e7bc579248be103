"""The training job runs in a child process: events arrive in order, Cancel stops it cleanly,
and a job that is killed takes its sweep workers with it and leaves the data set readable."""

import os
import time

import pytest

from physapp.compute.training_job import TrainPlan, TrainProcess
from physapp.surrogates.dataset import Dataset


def _plan(tmp_path, n=6, kind="linear", workers=1, mesh_size=0.01):
    return TrainPlan("plate-with-hole", kind, n, "lhs", ("traction", "radius"),
                     {"mesh_size": mesh_size}, 1, workers, "cpu", tmp_path / "d.h5",
                     tmp_path / "m.pt")


def _running_in_group(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (killed orphans wait for init)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry))
    return out


def _run_until(proc, stop, timeout=120.0):
    events, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        for ev in proc.poll():
            events.append(ev)
            if stop(ev):
                return events
        if proc.finished:
            return events
        time.sleep(0.02)
    raise TimeoutError(events[-3:])


def test_a_run_reports_steps_progress_and_the_saved_model(tmp_path):
    proc = TrainProcess(_plan(tmp_path))
    proc.start()
    events = _run_until(proc, lambda ev: ev[0] in ("done", "failed"))
    kinds = [ev[0] for ev in events]
    assert kinds[-1] == "done", events[-1]
    steps = [ev[1] for ev in events if ev[0] == "step"]
    assert steps == [0, 1, 2]
    assert any(ev[0] == "progress" and ev[2].startswith("6/6 done") for ev in events)
    path, summary = events[-1][1], events[-1][2]
    assert os.path.exists(path) and summary["kind"] == "linear"
    assert summary["metrics"]["n_train"] + summary["metrics"]["n_test"] == 6
    assert proc.wait(10) and proc.finished


def test_cancel_stops_the_sweep_and_keeps_the_solved_designs(tmp_path):
    plan = _plan(tmp_path, n=12)
    proc = TrainProcess(plan)
    proc.start()
    _run_until(proc, lambda ev: ev[0] == "progress" and ev[2].startswith("1/12"))
    proc.cancel()
    events = _run_until(proc, lambda ev: ev[0] in ("cancelled", "done", "failed"), 30)
    assert events[-1] == ("cancelled",) and not proc.killed  # it stopped by itself
    counts = Dataset.open(plan.dataset_path).counts()
    assert 1 <= counts["done"] < 12 and counts["done"] + counts["pending"] == 12


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads process groups from /proc")
def test_a_killed_job_takes_its_workers_along_and_the_data_set_stays_readable(tmp_path):
    plan = _plan(tmp_path, n=8, workers=2)
    proc = TrainProcess(plan, grace=0.0)  # no time to stop by itself
    proc.start()
    _run_until(proc, lambda ev: ev[0] == "progress" and ev[2].startswith("1/8"))
    pgid = proc.pid
    proc.cancel()
    events = _run_until(proc, lambda ev: ev[0] == "cancelled", 30)
    assert events[-1] == ("cancelled",) and proc.killed
    time.sleep(0.5)
    assert _running_in_group(pgid) == []  # nothing of the job's process group still runs
    counts = Dataset.open(plan.dataset_path).counts()
    assert counts["done"] >= 1 and counts["done"] + counts["pending"] + counts["failed"] == 8

"""Job runner (child process, cancel) and latest-wins worker."""

import threading
import time

import pytest

from physapp.compute.jobs import ProcessJobRunner
from physapp.compute.latest import LatestWinsWorker
from physapp.compute.tasks import solve_study
from physapp.core import ParameterError


def wait_final(runner, timeout=60.0):
    end = time.monotonic() + timeout
    progress = []
    while time.monotonic() < end:
        for ev in runner.poll():
            if ev.kind == "progress":
                progress.append(ev)
            else:
                return ev, progress
        time.sleep(0.01)
    raise AssertionError("job did not finish")


@pytest.fixture
def runner():
    r = ProcessJobRunner(preload=("physapp.compute.tasks",))
    yield r
    r.shutdown()


def test_solve_in_child_process_reports_progress_and_result(runner):
    runner.submit(solve_study, "plate-with-hole", {"mesh_size": 0.01})
    ev, progress = wait_final(runner)
    assert ev.kind == "done", ev.message
    assert ev.result.meta["n_dofs"] > 1000 and "von_mises" in ev.result.point_data
    # the child reports each stage of the solve, in order, never running backwards
    messages = [p.message for p in progress]
    assert any("Assembling" in m for m in messages) and any("Solving" in m for m in messages)
    fractions = [p.fraction for p in progress]
    assert all(b >= a - 1e-9 for a, b in zip(fractions, fractions[1:], strict=False))
    assert not runner.busy


def test_cancel_is_immediate_and_next_job_works(runner):
    runner.submit(solve_study, "plate-with-hole", {"mesh_size": 0.0005})  # ~1M DOF: seconds
    time.sleep(1.5)
    assert runner.busy
    t0 = time.monotonic()
    runner.cancel()
    assert time.monotonic() - t0 < 2.0
    ev, _ = wait_final(runner)
    assert ev.kind == "cancelled"
    runner.submit(solve_study, "plate-with-hole", {"mesh_size": 0.01})
    ev, _ = wait_final(runner)
    assert ev.kind == "done"


def test_bad_input_in_child_is_a_user_error(runner):
    runner.submit(solve_study, "plate-with-hole", {"radius": 0.07, "width": 0.1})
    ev, _ = wait_final(runner)
    assert ev.kind == "error" and ev.user_error
    assert "does not fit" in ev.message


def test_latest_wins_skips_stale_requests():
    started, results, errors = [], [], []
    gate = threading.Event()

    def slow(x):
        started.append(x)
        gate.wait(5)
        if x == "bad":
            raise ParameterError("bad value")
        return x * 2

    w = LatestWinsWorker(slow, lambda i, r: results.append((i, r)), lambda i, m: errors.append(m))
    w.submit(1)
    time.sleep(0.1)  # 1 is running now; 2..9 queue up and replace each other
    ids = [w.submit(k) for k in range(2, 10)]
    gate.set()
    assert w.wait_idle(5)
    assert started == [1, 9]
    assert results == [(1, 2), (ids[-1], 18)]
    w.submit("bad")
    assert w.wait_idle(5)
    assert errors == ["bad value"]
    w.close()


def _refuse():
    raise RuntimeError("this object cannot be rebuilt here")


class _Unreadable:
    def __reduce__(self):
        return (_refuse, ())


def unreadable_result(*, progress, cancel):
    return _Unreadable()


def test_results_arrive_on_the_runners_thread_and_an_unreadable_one_is_an_error(runner):
    """Events are received (and unpickled) on the runner's own thread, so a large result does
    not stall the caller's (GUI) thread (#16); one that cannot be rebuilt fails its job."""
    runner.submit(unreadable_result)
    ev, _ = wait_final(runner)
    assert ev.kind == "error" and "could not be received" in ev.message
    assert "cannot be rebuilt here" in ev.message and not runner.busy
    names = {t.name for t in threading.enumerate()}
    assert "physapp-job-events" in names  # the receiving thread, still serving the worker
    runner.submit(solve_study, "plate-with-hole", {"mesh_size": 0.02})  # the worker still works
    ev, _ = wait_final(runner)
    assert ev.kind == "done" and ev.result.meta["n_dofs"] > 100

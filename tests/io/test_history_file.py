"""History files (io.history): streaming writer, lazy reader, a file cut short by a kill."""

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from physapp.core.history_sink import MemoryHistorySink
from physapp.core.mesh import CellBlock, MeshData
from physapp.io.history import (
    GROW,
    H5Frames,
    HistoryFileError,
    HistoryWriter,
    SpillingHistorySink,
    read_history,
    write_history,
)


def _mesh():
    pts = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], float)
    return MeshData(pts, (CellBlock("triangle", [[0, 1, 2], [1, 3, 2]]),),
                    boundaries={"left": np.array([[0, 2]])}, subdomains={"all": np.array([0, 1])},
                    point_sets={"corner": np.array([3])})


def _frames(n):
    t = np.linspace(0.0, 2.0, n)
    T = np.outer(np.sin(t), np.arange(4.0))              # T(t, node) = sin(t) * node
    u = np.stack([T, -T, 0 * T], axis=2)
    return t, T, u


def _stream(sink, n):
    t, T, u = _frames(n)
    sink.begin(_mesh(), source="test", units={"T": "degC"}, curve_units={"q": "W"},
               meta={"dt": 0.1, "arr": np.arange(2)})
    for i in range(n):
        sink.append(t[i], {"T": T[i], "u": u[i]}, {"q": 3 * t[i]})
    return t, T, u


def test_round_trip_is_lazy_and_matches_memory(tmp_path):
    n = GROW + 5                                          # crosses a growth block
    w = HistoryWriter(tmp_path / "h.h5")
    t, T, u = _stream(w, n)
    assert w.n_steps == n
    h = w.end(meta={"stopped": ""})
    assert isinstance(h.point_data["T"], H5Frames) and h.point_data["T"].shape == (n, 4)
    assert h.complete and h.n_steps == n and h.meta["dt"] == 0.1 and h.meta["arr"] == [0, 1]
    assert h.units["T"] == "degC" and h.curve_units["q"] == "W"
    np.testing.assert_allclose(h.times, t)
    np.testing.assert_allclose(h.frame(7).point_data["T"], T[7], rtol=1e-6)
    np.testing.assert_allclose(h.probe("T", 3), T[:, 3], rtol=1e-6)
    np.testing.assert_allclose(h.probe("u", 2), np.sqrt(2) * np.abs(T[:, 2]), rtol=1e-6)
    np.testing.assert_allclose(h.curves["q"], 3 * t)
    np.testing.assert_allclose(h.point_data["u"][[5, 2]], u[[5, 2]], rtol=1e-6)
    assert h.mesh.point_sets["corner"].tolist() == [3] and "left" in h.mesh.boundaries
    # one colour range for the whole history, stored as it streams
    r = h.meta["field_ranges"]
    assert r["T"] == pytest.approx([T.min(), T.max()], rel=1e-6)
    assert r["u[1]"] == pytest.approx([-T.max(), -T.min()], rel=1e-6)
    assert r["u"][1] == pytest.approx(np.sqrt(2) * np.abs(T).max(), rel=1e-6)
    mem = MemoryHistorySink()
    _stream(mem, n)
    hm = mem.end()
    assert hm.meta["field_ranges"]["T"] == pytest.approx(r["T"], rel=1e-6)
    np.testing.assert_allclose(np.asarray(h.point_data["u"]), hm.point_data["u"])
    back = pickle.loads(pickle.dumps(h))                  # pickles as plain arrays
    np.testing.assert_allclose(back.point_data["T"], T, rtol=1e-6)
    # a whole in-memory history written and read eagerly
    write_history(hm, tmp_path / "m.h5")
    he = read_history(tmp_path / "m.h5", lazy=False)
    assert isinstance(he.point_data["T"], np.ndarray)
    np.testing.assert_allclose(he.point_data["T"], T, rtol=1e-6)


def test_writer_not_ended_opens_with_its_steps_and_incomplete(tmp_path):
    w = HistoryWriter(tmp_path / "h.h5")
    t, T, _ = _stream(w, 3)
    w.close()                                            # no end(): as after a cancel
    h = read_history(tmp_path / "h.h5")
    assert h.n_steps == 3 and not h.complete
    np.testing.assert_allclose(h.point_data["T"][2], T[2], rtol=1e-6)
    with pytest.raises(IndexError):
        h.point_data["T"][3]                             # capacity beyond the steps is hidden


_CHILD = r"""
import sys, time, numpy as np
from physapp.core.mesh import CellBlock, MeshData
from physapp.io.history import HistoryWriter
n = 2000
pts = np.random.default_rng(0).random((n, 2))
mesh = MeshData(pts, (CellBlock("triangle", [[0, 1, 2]]),))
w = HistoryWriter(sys.argv[1])
w.begin(mesh, source="child")
for i in range(100000):
    w.append(0.5 * i, {"T": np.full(n, float(i))}, {"i": float(i)})
    print(i, flush=True)
"""


def test_killed_writer_leaves_a_file_with_its_steps(tmp_path):
    path = tmp_path / "killed.h5"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    p = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE,
                         env=env, text=True)
    try:
        last = -1
        deadline = time.monotonic() + 30
        while last < 40 and time.monotonic() < deadline:  # killed mid-stream, not at a step end
            last = int(p.stdout.readline())
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    h = read_history(path)
    assert not h.complete and h.n_steps >= last + 1
    for i in (0, h.n_steps // 2, h.n_steps - 1):       # every counted step is whole
        assert h.times[i] == 0.5 * i and h.curves["i"][i] == i
        np.testing.assert_array_equal(h.point_data["T"][i], float(i))


def test_not_a_history_file(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_bytes(b"not hdf5 at all")
    with pytest.raises(HistoryFileError, match="not a readable history"):
        read_history(bad)
    with pytest.raises(HistoryFileError, match="No history"):
        read_history(tmp_path / "missing.h5")


def test_a_history_larger_than_its_memory_share_spills_to_disk():
    small = SpillingHistorySink(limit_bytes=1e9)
    _stream(small, 6)
    kept = small.end()
    assert isinstance(kept.point_data["T"], np.ndarray) and small.spilled_to is None
    big = SpillingHistorySink(limit_bytes=4 * 4 * 3 * 4)  # three frames of T and u, then disk
    t, T, u = _stream(big, 6)
    h = big.end(meta={"x": 1})
    assert isinstance(h.point_data["T"], H5Frames) and not big.spilled_to.exists()
    assert h.n_steps == 6 and h.meta["x"] == 1 and h.complete
    np.testing.assert_allclose(np.asarray(h.point_data["u"]), u, rtol=1e-6)
    np.testing.assert_allclose(h.curves["q"], 3 * t)
    assert h.meta["field_ranges"]["T"] == pytest.approx([T.min(), T.max()], rel=1e-6)



def _write_holding_a_step(path: str, gates: list) -> None:
    """The solve's process: step 0; once the test has read it, the lock held as in the middle
    of step 1 until the test says go; step 1; end."""
    t, T, u = _frames(2)
    w = HistoryWriter(path)
    w.begin(_mesh(), source="solver:test", units={"T": "K", "u": "m"})
    w.append(t[0], {"T": T[0], "u": u[0]}, {"c": 0.0})
    gates[0].set()
    gates[4].wait(30)  # the test has read the file between the two steps
    with w._held():
        gates[1].set()
        gates[2].wait(30)
        w._append(t[1], {"T": T[1], "u": u[1]}, {"c": 1.0})
    gates[3].wait(30)
    w.end()


def test_a_reader_waits_for_the_step_being_written_and_the_lock_goes_with_the_writer(tmp_path):
    """The app reads a history while its solve's process writes it (#14): a reader never
    reads the file while a step is being written (the writer's lock on <file>.lock), and
    once the writer closed the file nothing waits any more (the lock file is gone)."""
    import multiprocessing
    import threading

    from physapp.io.step_lock import lock_path

    path = tmp_path / "h.h5"
    mp = multiprocessing.get_context("spawn")
    gates = [mp.Event() for _ in range(5)]
    proc = mp.Process(target=_write_holding_a_step, args=(str(path), gates))
    proc.start()
    try:
        assert gates[0].wait(60)
        lazy = read_history(path)  # between two steps: at once
        assert lazy.n_steps == 1 and lock_path(path).is_file()
        gates[4].set()  # now the writer starts step 1 and holds the lock
        assert gates[1].wait(30)  # the writer is in the middle of step 1
        # (HDF5 shares one file object per process: an open handle would keep its stale
        # steps, which is why the app releases its live handle before reading; see read())
        lazy.point_data["T"]._file.close()  # its next frame opens the file again
        seen: list[int] = []
        reader = threading.Thread(target=lambda: seen.append(read_history(path).n_steps))
        frame = threading.Thread(target=lambda: seen.append(len(lazy.point_data["T"][0])))
        reader.start()
        frame.start()
        reader.join(0.5)
        frame.join(0.5)
        assert reader.is_alive() and frame.is_alive() and seen == []  # both wait
        gates[2].set()
        reader.join(30)
        frame.join(30)
        assert sorted(seen) == [2, 4]  # the whole new step; the frame of the 4 nodes
        lazy.point_data["T"]._file.close()
        gates[3].set()
        proc.join(30)
        assert proc.exitcode == 0 and not lock_path(path).exists()
        h = read_history(path)
        assert h.complete and h.n_steps == 2
        np.testing.assert_allclose(np.asarray(h.point_data["T"][1]), _frames(2)[1][1])
    finally:
        for gate in gates:
            gate.set()
        proc.join(10)

"""The newest step of a transient solve on screen while it runs (#18): `history_jobs.live` reads
the file its writer is still filling, at most once a second, and the final read after the solve
sees every step (HDF5 shares one file object per process: the live handle is released first).
Qt-free fakes of the window: no solve, no GL."""

from __future__ import annotations

import multiprocessing
import time
from types import SimpleNamespace

import numpy as np

from physapp.core.mesh import CellBlock, MeshData
from physapp.core.transient import TimeAxis
from physapp.gui import history_jobs
from physapp.io.history import HistoryWriter


class _Playback:
    def __init__(self) -> None:
        self.history = None
        self.model = SimpleNamespace(step=0)

    def set_history(self, history, step=None) -> None:
        self.history = history
        self.model.step = history.n_steps - 1 if step is None else step

    def clear(self) -> None:
        self.history = None


def _mesh() -> MeshData:
    return MeshData(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
                    (CellBlock("triangle", np.array([[0, 1, 2]])),), {}, {}, 2)


def _write(path: str, steps: list, gates: list) -> None:
    """The solve's process: a step, then wait for the test, ... (``steps`` per gate)."""
    writer = HistoryWriter(path)
    writer.begin(_mesh(), source="test", units={"T": "K"})
    k = 0
    for n, (done, go) in zip(steps, gates, strict=True):
        for _ in range(n):
            writer.append(float(k), {"T": np.full(3, float(k))}, {"c": float(k)})
            k += 1
        done.set()
        go.wait(30)
    writer.end(complete=True)


def test_live_steps_follow_the_writer_and_the_final_read_sees_all():
    shown = []
    window = SimpleNamespace(playback=_Playback(), field=("T", "T", "K"),
                             viewport=SimpleNamespace(show_result=lambda r, f: shown.append(r)))
    ctrl = SimpleNamespace(window=window)
    path = history_jobs.job_for(ctrl, SimpleNamespace(transient=TimeAxis()),
                                (None, "s", {}, 1))[-1]
    mp = multiprocessing.get_context("spawn")
    gates = [(mp.Event(), mp.Event()) for _ in range(2)]
    proc = mp.Process(target=_write, args=(path, [2, 1], gates))
    proc.start()
    try:
        assert gates[0][0].wait(30)
        ctrl._live_t = time.monotonic()
        history_jobs.live(ctrl)  # within a second of the last look: nothing yet
        assert window.playback.history is None
        ctrl._live_t = 0.0
        history_jobs.live(ctrl)
        h = window.playback.history
        assert h.n_steps == 2 and not h.complete and len(shown) == 1  # the grid built once
        assert window.playback.model.step == 1
        np.testing.assert_allclose(np.asarray(h.point_data["T"][1]), 1.0)
        gates[0][1].set()
        assert gates[1][0].wait(30)
        ctrl._live_t = 0.0
        history_jobs.live(ctrl)
        assert window.playback.history.n_steps == 3 and len(shown) == 1  # in place from now
        gates[1][1].set()
        proc.join(30)
        final, result = history_jobs.read(ctrl, path)  # not the live handle's stale steps
        assert final.complete and final.n_steps == 3
        np.testing.assert_allclose(result.point_data["T"], 2.0)
    finally:
        for _, go in gates:
            go.set()
        proc.join(10)
        history_jobs.cleanup(ctrl)

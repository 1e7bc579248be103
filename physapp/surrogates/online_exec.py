"""Where the designs of a learn-while-solving run are solved (see
:mod:`physapp.surrogates.online`): this process (:class:`InlineExecutor`), local worker processes
at a lower priority with one BLAS thread each (:class:`ProcessExecutor`) or a Dask cluster
(:class:`DaskExecutor`). Each gives back ``("done", i, payload, s)`` or ``("failed", i, message,
s)`` tuples from ``poll()``. :func:`solve_designs` solves a test set with one of them.
"""

from __future__ import annotations

import os
import queue
import time
from typing import Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

#: niceness added to local worker processes (the app's predictions and GUI come first)
WORKER_NICE = 10


def background(niceness: int) -> None:
    """Run this process in the background: ``niceness`` lower priority and one BLAS/torch
    thread (the app's predictions and GUI come first)."""
    if niceness and hasattr(os, "nice"):
        try:
            os.nice(int(niceness))
        except OSError:  # pragma: no cover - not allowed: the normal priority
            pass
    import torch  # noqa: F401 - its pool is sized below with the others

    from physapp.core.threads import configure_worker

    configure_worker(1)


class InlineExecutor:
    """Solve in this process, ``capacity`` designs per poll (as if as many workers finished
    together): tests, benchmarks and ``--workers 0``."""

    def __init__(self, setup: dict, capacity: int = 1) -> None:
        self.setup = setup
        self.capacity = max(1, int(capacity))
        self._todo: list[tuple[int, list[dict]]] = []
        self._tools: tuple[Any, Any] | None = None

    def free(self) -> int:
        return self.capacity - len(self._todo)

    def busy(self) -> int:
        return len(self._todo)

    def submit(self, i: int, candidates: list[dict]) -> None:
        self._todo.append((i, candidates))

    def poll(self, timeout: float, cancel: CancelToken = NEVER) -> list[tuple]:
        from physapp.compute.sweep import solve_candidates

        if self._tools is None:
            from physapp.solvers.reference import ReferenceSolver
            from physapp.surrogates.morph import Morpher

            s = self.setup
            self._tools = (Morpher(s["study"], s["reference_values"], s["reference_mesh"],
                                   valid_ranges=s["valid_ranges"]),
                           ReferenceSolver(s["order"], check_p1=False, check_memory=False))
        morpher, solver = self._tools
        out = []
        while self._todo:
            cancel.check()
            i, cand = self._todo.pop(0)
            t0 = time.perf_counter()
            try:
                payload = solve_candidates(morpher, solver, self.setup["study"], cand,
                                           self.setup["reference_mesh"].dim)
                out.append(("done", i, payload, time.perf_counter() - t0))
            except PhysappError as exc:
                out.append(("failed", i, str(exc), time.perf_counter() - t0))
        return out

    def close(self, kill: bool = False) -> None:
        self._todo.clear()


def _nice_worker_main(wid: int, tasks: Any, results: Any, setup: dict, niceness: int) -> None:
    """A sweep worker (:func:`physapp.compute.sweep._worker_main`) at a lower priority."""
    if niceness and hasattr(os, "nice"):
        try:
            os.nice(int(niceness))
        except OSError:  # pragma: no cover - not allowed: run at the normal priority
            pass
    from physapp.compute.sweep import _worker_main

    _worker_main(wid, tasks, results, setup)


class ProcessExecutor:
    """Local worker processes (spawned, one BLAS thread each, ``niceness`` lower priority)."""

    def __init__(self, setup: dict, workers: int, niceness: int = WORKER_NICE) -> None:
        import multiprocessing as mp

        self.setup = setup
        self.capacity = max(1, int(workers))
        self.niceness = niceness
        self._ctx = mp.get_context("spawn")
        self._results = self._ctx.Queue()
        self._pool: dict[int, dict] = {}
        self._queue: list[tuple[int, list[dict]]] = []
        self._next = 0
        self.deaths = 0
        for _ in range(self.capacity):
            self._spawn()

    def _spawn(self) -> None:
        from physapp.compute.sweep import _single_threaded_children

        with _single_threaded_children(1, force=True):
            tasks = self._ctx.Queue()
            proc = self._ctx.Process(target=_nice_worker_main, daemon=True,
                                     args=(self._next, tasks, self._results, self.setup,
                                           self.niceness), name=f"physapp-online-{self._next}")
            proc.start()
        self._pool[self._next] = {"proc": proc, "tasks": tasks, "task": None, "ready": False}
        self._next += 1

    def busy(self) -> int:
        return len(self._queue) + sum(w["task"] is not None for w in self._pool.values())

    def free(self) -> int:
        return self.capacity - self.busy()

    def submit(self, i: int, candidates: list[dict]) -> None:
        self._queue.append((i, candidates))
        self._dispatch()

    def _dispatch(self) -> None:
        for w in self._pool.values():
            if w["ready"] and w["task"] is None and self._queue:
                i, cand = self._queue.pop(0)
                w["task"] = i
                w["tasks"].put((i, cand))

    def poll(self, timeout: float, cancel: CancelToken = NEVER) -> list[tuple]:
        out: list[tuple] = []
        deadline = time.monotonic() + timeout
        while True:
            self._dispatch()
            try:
                msg = self._results.get(timeout=max(0.0, min(0.1, deadline - time.monotonic())))
            except queue.Empty:
                out.extend(self._reap())
                if out or time.monotonic() >= deadline:
                    return out
                cancel.check()
                continue
            kind, wid = msg[0], msg[1]
            if kind == "broken":
                raise PhysappError(f"A worker could not start: {msg[2]}")
            if kind == "ready":
                if wid in self._pool:
                    self._pool[wid]["ready"] = True
                continue
            if wid in self._pool:
                self._pool[wid]["task"] = None
            out.append((kind, msg[2], msg[3], msg[4]))
            deadline = min(deadline, time.monotonic() + 0.05)  # collect what else arrived

    def _reap(self) -> list[tuple]:
        """Workers that died: their design is failed, a new worker replaces them."""
        out = []
        for wid, w in list(self._pool.items()):
            if w["proc"].is_alive():
                continue
            self.deaths += 1
            code = w["proc"].exitcode
            if not w["ready"]:
                raise PhysappError(f"A worker process could not start (exit code {code}).")
            if w["task"] is not None:
                out.append(("failed", w["task"], f"The worker process stopped unexpectedly "
                            f"(exit code {code}); it may have run out of memory.", float("nan")))
            del self._pool[wid]
            if self.deaths > 8:
                raise PhysappError(f"Worker processes died {self.deaths} times (last exit code "
                                   f"{code}); use fewer workers or a coarser mesh.")
            self._spawn()
        return out

    def close(self, kill: bool = False) -> None:
        for w in self._pool.values():
            proc = w["proc"]
            if not kill and proc.is_alive():
                w["tasks"].put(None)
                proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            w["tasks"].cancel_join_thread()
            w["tasks"].close()
        self._pool.clear()
        self._results.cancel_join_thread()
        self._results.close()


class DaskExecutor:
    """Tasks on a Dask cluster (a ``distributed.Client``); ``capacity`` tasks at a time."""

    def __init__(self, setup: dict, client: Any, capacity: int | None = None) -> None:
        self.client = client
        setup = dict(setup, key=f"online:{id(self)}:{time.time()}")
        self._setup = client.scatter(setup, broadcast=True)
        if capacity is None or capacity < 1:
            try:
                capacity = sum(int(w.get("nthreads", 1)) for w in
                               client.scheduler_info()["workers"].values())
            except Exception:  # noqa: BLE001 - an unusual client: one at a time
                capacity = 1
        self.capacity = max(1, int(capacity))
        self._futures: dict[Any, int] = {}

    def busy(self) -> int:
        return len(self._futures)

    def free(self) -> int:
        return self.capacity - len(self._futures)

    def submit(self, i: int, candidates: list[dict]) -> None:
        from physapp.compute.cluster import solve_sample

        self._futures[self.client.submit(solve_sample, self._setup, candidates, pure=False)] = i

    def poll(self, timeout: float, cancel: CancelToken = NEVER) -> list[tuple]:
        deadline = time.monotonic() + timeout
        while True:
            done = [f for f in self._futures if f.done()]
            if done or time.monotonic() >= deadline:
                break
            cancel.check()
            time.sleep(0.05)
        out = []
        for fut in done:
            i = self._futures.pop(fut)
            try:
                kind, payload, elapsed = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, a killed task ...
                kind, payload, elapsed = "failed", f"the task was lost: {exc}", float("nan")
            out.append((kind, i, payload, elapsed))
        return out

    def close(self, kill: bool = False) -> None:
        for fut in self._futures:
            fut.cancel()
        self._futures.clear()


def solve_setup(ds: Any) -> dict:
    """What a worker needs to morph and solve the designs of data set ``ds``."""
    return {"study": ds.study, "reference_values": ds.reference_values,
            "reference_mesh": ds.reference_mesh, "valid_ranges": ds.valid_ranges,
            "order": ds.order}


def random_designs(ds: Any, n: int, seed: int = 0) -> np.ndarray:
    """``n`` random designs (uniform in the bounds, buildable) independent of the plan."""
    from physapp.surrogates import doe

    accept = doe.feasibility(ds.study, doe.Design(ds.param_names, ds.bounds, dict(ds.fixed)))
    rng = np.random.default_rng([int(seed), 4242])
    out: list[np.ndarray] = []
    for _ in range(200 * max(n, 1)):
        row = ds.bounds[:, 0] + rng.random(len(ds.param_names)) * np.ptp(ds.bounds, axis=1)
        if accept(row):
            out.append(row)
            if len(out) == n:
                break
    return np.array(out).reshape(-1, len(ds.param_names))


def solve_designs(ds: Any, executor: Any, X: np.ndarray, *, progress: ProgressFn = no_progress,
                  cancel: CancelToken = NEVER) -> Any:
    """Solve the designs ``X`` (not stored in the data set: a test set) with ``executor``;
    the solved ones as TrainingData (failures are left out)."""
    from physapp.surrogates.data import TrainingData

    todo = list(range(len(X)))
    got: dict[int, dict] = {}
    running: set[int] = set()
    key = -1_000_000  # ids that cannot be data set rows
    while todo or running:
        cancel.check()
        while todo and executor.free() > 0:
            j = todo.pop(0)
            values = dict(ds.fixed)
            values.update(zip(ds.param_names, map(float, X[j]), strict=True))
            executor.submit(key - j, [values])
            running.add(key - j)
        for kind, i, payload, _ in executor.poll(0.5, cancel):
            if i not in running:  # a design of the run still in flight when it stopped
                continue
            running.discard(i)
            if kind == "done":
                got[key - i] = payload
            progress(1.0, f"Measuring the error: {len(X) - len(todo) - len(running)}/"
                     f"{len(X)} test designs solved")
    idx = sorted(got)
    if not idx:
        raise PhysappError("None of the test designs could be solved.")
    p = [got[j] for j in idx]
    fields = {k: np.stack([q["fields"][k] for q in p]).astype(np.float32) for k in p[0]["fields"]}
    from physapp.core.mesh import MeshData

    ref = ds.reference_mesh
    c0 = np.asarray(p[0]["coords"], dtype=np.float64)
    pts = np.zeros((len(c0), ref.points.shape[1]))
    pts[:, : c0.shape[1]] = c0
    mesh = MeshData(pts, (p[0]["cells"],), dict(p[0]["boundaries"]), {}, ref.dim,
                    ref.length_unit)
    return TrainingData(ds.study_id, ds.param_names, ds.bounds, dict(ds.fixed), mesh, X[idx], np.stack([q["coords"] for q in p]), fields,
                        dict(p[0]["units"]), np.ones(len(idx), dtype=bool))

"""Solve the pending samples of a dataset in worker processes (Qt-free).

Each worker (a *spawned* process) builds the dataset's morpher once, then for every sample it is
given: morphs the reference mesh to the sample's geometry and solves it with the reference solver.
The parent process is the only writer of the dataset file: it stores each result as it arrives,
so an interrupted sweep keeps every finished sample and a new sweep resumes with the rest.
Cancelling (or Ctrl-C) stops handing out samples and terminates the workers at once.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physapp.core.errors import Cancelled, PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

#: a sweep gives up when workers die this many times (e.g. every sample runs out of memory)
MAX_WORKER_DEATHS = 8


@dataclass(frozen=True)
class SweepSummary:
    """Outcome of :func:`run_sweep`: samples solved and failed in this run, and overall."""

    solved: int  # finished in this run
    failed: int  # failed in this run
    elapsed: float  # seconds
    done_total: int
    failed_total: int
    pending_total: int
    replaced: int = 0  # solved at a replacement point (the planned one could not be morphed)


def solve_candidates(morpher: Any, solver: Any, study: Any, candidates: list[dict],
                     dim: int, frames: int | None = None) -> dict:
    """Morph the reference mesh to the first candidate point that can be morphed (the planned
    point, then its replacements) and solve it; the payload a dataset stores for the sample.
    Without a morpher (``None``: a study whose topology changes) the planned point is meshed
    afresh. A study whose solve is a history (a ``TimeAxis``, or a load-stepped result with
    ``meta["history"]``) also gives ``"history"``: its fields and curves at ``frames`` evenly
    spaced times (:func:`physapp.surrogates.history_data.resample_history`); the fields are the
    last step's. Raises PhysappError (GeometryError when no candidate can be morphed, ...)."""
    from physapp.core.errors import GeometryError, ParameterError, SolverError

    refusal, chosen, mesh = None, None, None
    if morpher is None:
        chosen, candidates = candidates[0], candidates[:1]
    for values in candidates if morpher is not None else ():
        try:
            mesh = morpher.morph(values, explain=False)
        except (GeometryError, ParameterError) as exc:
            refusal = refusal or exc
            continue
        chosen = values
        break
    if chosen is None:
        extra = len(candidates) - 1
        raise GeometryError(f"{refusal}" + (
            f" ({extra} replacement point(s) could not be morphed either.)" if extra else ""))
    from physapp.core.transient import time_axis
    from physapp.surrogates.history_data import DEFAULT_FRAMES, resample_history

    history = None
    if time_axis(study) is not None:
        history = solver.solve_history(study, chosen, mesh=mesh)
        if history.n_steps == 0:
            raise SolverError("The solve stopped before its first step.")
        res = history.frame(-1)
        res = type(res)(res.mesh, res.point_data, res.source,
                        {**res.meta, "key_quantities": dict(history.meta.get("key_quantities",
                                                                             {}))}, res.units)
    else:
        res = solver.solve(study, chosen, mesh=mesh)
        history = res.meta.get("history")
    if history is not None:
        history = resample_history(history, frames or DEFAULT_FRAMES)
    return {
        "coords": res.mesh.points[:, :dim].astype("float32"),
        "fields": dict(res.point_data),
        "units": dict(res.units),
        "key_quantities": dict(res.meta.get("key_quantities", {})),
        "cells": res.mesh.cells[0],
        "boundaries": dict(res.mesh.boundaries),
        "values": None if chosen is candidates[0] else chosen,
        "history": history,
    }


def _worker_main(wid: int, tasks: Any, results: Any, setup: dict) -> None:
    """Worker process: build the morpher, then morph and solve the samples it is sent."""
    import signal
    import traceback

    from physapp.core.lifetime import die_with_parent

    die_with_parent()  # the parent killed (even kill -9): do not linger as an orphan
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    try:
        from physapp.geometry.morph import Morpher
        from physapp.solvers.reference import ReferenceSolver

        study = setup["study"]
        morpher = (Morpher(study, setup["reference_values"], setup["reference_mesh"],
                           valid_ranges=setup["valid_ranges"])
                   if setup.get("fixed_topology", True) else None)  # else: mesh every sample
        solver = ReferenceSolver(setup["order"], check_p1=False, check_memory=False)
        dim = setup["reference_mesh"].dim
    except Exception as exc:  # noqa: BLE001 - reported, the sweep stops
        results.put(("broken", wid, f"{type(exc).__name__}: {exc}"))
        return
    import multiprocessing as mp

    results.put(("ready", wid))
    parent = mp.parent_process()
    while True:
        try:
            item = tasks.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return  # the parent was killed: do not linger as an orphan
            continue
        if item is None:
            return
        i, candidates = item
        t0 = time.perf_counter()
        try:
            payload = solve_candidates(morpher, solver, study, candidates, dim,
                                       setup.get("history_frames"))
            results.put(("done", wid, i, payload, time.perf_counter() - t0))
        except PhysappError as exc:
            results.put(("failed", wid, i, str(exc), time.perf_counter() - t0))
        except Exception as exc:  # noqa: BLE001 - a bug in one sample must not stop the sweep
            tb = traceback.format_exc(limit=3).strip().splitlines()[-1]
            results.put(("failed", wid, i, f"internal error: {type(exc).__name__}: {exc} ({tb})",
                         time.perf_counter() - t0))


@contextlib.contextmanager
def _single_threaded_children(n_workers: int, force: bool = False) -> Iterator[None]:
    """Workers started inside inherit one BLAS/OpenMP thread each (unless the user chose; with
    ``force`` whatever was chosen) and pools that do not spin (physapp.core.threads)."""
    from physapp.core.threads import ENV_DEFAULTS, THREAD_VARS, single_thread_env

    saved = {k: os.environ.get(k) for k in (*THREAD_VARS, *ENV_DEFAULTS)}
    if n_workers > 1 or force:
        os.environ.update(single_thread_env(force=force))
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class _Worker:
    def __init__(self, ctx, wid: int, results, setup: dict) -> None:
        self.wid = wid
        self.tasks = ctx.Queue()
        self.proc = ctx.Process(target=_worker_main, args=(wid, self.tasks, results, setup),
                                daemon=True, name=f"physapp-sweep-{wid}")
        self.proc.start()
        self.task: int | None = None
        self.ready = False

    def stop(self, kill: bool) -> None:
        if not kill and self.proc.is_alive():
            self.tasks.put(None)
            self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.terminate()
            self.proc.join(timeout=5)
            if self.proc.is_alive():
                self.proc.kill()
                self.proc.join(timeout=5)
        self.tasks.cancel_join_thread()
        self.tasks.close()


def _eta(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_sweep(
    dataset: Any,
    workers: int | None = None,
    *,
    retry_failed: bool = False,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> SweepSummary:
    """Solve the pending samples of ``dataset`` (a Dataset or a path) in worker processes.

    Parameters
    ----------
    dataset : :class:`~physapp.surrogates.dataset.Dataset` or the path of its file.
    workers : number of worker processes (default: ``os.cpu_count()``, at most one per sample).
    retry_failed : also solve the samples that failed before.
    progress : receives ``(fraction, "k/n done, f failed, ETA t")`` after every sample.
    cancel : stops the sweep (workers are terminated; finished samples are kept).

    A sample whose planned point cannot be morphed is solved at the first morphable of its
    replacement points (:meth:`Dataset.alternates`) when the dataset allows it. A sample whose
    morph or solve still fails (GeometryError, SolverError, ...) is stored as failed with its
    message and the sweep goes on. Raises Cancelled when cancelled or interrupted.
    """
    import multiprocessing as mp

    from physapp.surrogates.dataset import Dataset

    if not isinstance(dataset, Dataset):
        dataset = Dataset.open(Path(dataset))
    if workers is not None and workers < 1:
        raise PhysappError(f"The number of workers must be at least 1 (got {workers}).")
    t0 = time.perf_counter()
    todo = deque(int(i) for i in dataset.pending(retry_failed))
    total = len(todo)
    n_workers = max(1, min(int(workers or os.cpu_count() or 1), total))
    solved = failed = replaced = 0

    def summary() -> SweepSummary:
        c = dataset.counts()
        return SweepSummary(solved, failed, time.perf_counter() - t0, c["done"], c["failed"],
                            c["pending"], replaced)

    if total == 0:
        progress(1.0, "Nothing to do: every sample is solved")
        return summary()
    setup = {"study": dataset.study, "reference_values": dataset.reference_values,
             "reference_mesh": dataset.reference_mesh, "valid_ranges": dataset.valid_ranges,
             "order": dataset.order, "fixed_topology": dataset.fixed_topology,
             "history_frames": dataset.history_frames}
    ctx = mp.get_context("spawn")  # fork is unsafe with threads (Qt, gmsh, BLAS) in the parent
    results = ctx.Queue()
    pool: dict[int, _Worker] = {}
    next_id = 0
    deaths = 0
    kill = True
    progress(0.0, f"0/{total} done, starting {n_workers} worker(s)")
    try:
        with _single_threaded_children(n_workers):
            for _ in range(n_workers):
                pool[next_id] = _Worker(ctx, next_id, results, setup)
                next_id += 1
        while todo or any(w.task is not None for w in pool.values()):
            cancel.check()
            for w in pool.values():
                if w.ready and w.task is None and todo:
                    w.task = todo.popleft()
                    w.tasks.put((w.task, [dataset.values(w.task), *dataset.alternates(w.task)]))
            try:
                msg = results.get(timeout=0.2)
            except queue.Empty:
                for wid, w in list(pool.items()):
                    if w.proc.is_alive():
                        continue
                    deaths += 1
                    code = w.proc.exitcode
                    if not w.ready:
                        raise PhysappError(
                            f"A sweep worker process could not start (exit code {code}). When "
                            "calling run_sweep from a script, guard it with "
                            "`if __name__ == '__main__':` (workers are spawned)."
                        ) from None
                    if w.task is not None:
                        dataset.write_failure(w.task, (
                            f"The worker process stopped unexpectedly (exit code {code}); it "
                            "may have run out of memory."))
                        failed += 1
                    w.stop(kill=True)
                    del pool[wid]
                    if deaths > MAX_WORKER_DEATHS:
                        raise PhysappError(
                            f"Worker processes died {deaths} times (last exit code {code}); "
                            "the samples may need more memory than available: use fewer "
                            "workers or a coarser mesh."
                        ) from None
                    with _single_threaded_children(n_workers):
                        pool[next_id] = _Worker(ctx, next_id, results, setup)
                    next_id += 1
                continue
            kind, wid = msg[0], msg[1]
            if kind == "broken":
                raise PhysappError(f"A sweep worker could not start: {msg[2]}")
            if kind == "ready":
                if wid in pool:
                    pool[wid].ready = True
                continue
            i, elapsed = msg[2], msg[4]
            if kind == "done":
                p = msg[3]
                try:
                    dataset.write_sample(i, p["coords"], p["fields"], p["units"],
                                         p["key_quantities"], p["cells"], p["boundaries"],
                                         elapsed, p["values"], history=p.get("history"))
                    solved += 1
                    replaced += p["values"] is not None
                except PhysappError as exc:
                    dataset.write_failure(i, str(exc), elapsed)
                    failed += 1
            else:
                dataset.write_failure(i, msg[3], elapsed)
                failed += 1
            if wid in pool:
                pool[wid].task = None
            k = solved + failed
            spent = time.perf_counter() - t0
            eta = spent / k * (total - k)
            more = f", {replaced} replaced" if replaced else ""
            progress(k / total, f"{k}/{total} done, {failed} failed{more}, ETA {_eta(eta)}")
        kill = False
    except KeyboardInterrupt:
        raise Cancelled(_cancel_message(dataset)) from None
    except Cancelled:
        raise Cancelled(_cancel_message(dataset)) from None
    finally:
        for w in pool.values():
            w.stop(kill=kill)
        results.cancel_join_thread()
        results.close()
    return summary()


def _cancel_message(dataset: Any) -> str:
    c = dataset.counts()
    return (f"Sweep cancelled: {c['done']} of {len(dataset.status)} samples are done and kept; "
            "run the sweep again to resume.")

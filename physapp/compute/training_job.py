"""Sweep and train a surrogate in a child process that Cancel stops at once (Qt-free).

:func:`run_plan` plans (or resumes) a data set, solves its designs and trains and saves a model.
:class:`TrainProcess` runs it in a spawned child process of its own process group and reports
events through a queue the owner polls (the GUI from a timer):

``("step", i)``, ``("progress", fraction, message)``, ``("epoch", epoch, loss, val)``,
``("done", model path, summary dict)``, ``("failed", message)``, ``("cancelled",)``.

Cancel first asks the job to stop (the sweep stops its workers and keeps every finished design,
training stops at its next iteration); a job that has not stopped ``grace`` seconds later (a
long solve, a factorisation, a gmsh call) is killed with its whole process group, sweep workers
included. Finished designs are in the data set file either way: each one is written when solved.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import signal
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from physapp.core.errors import Cancelled, PhysappError
from physapp.core.progress import NEVER, CancelToken

#: seconds a cancelled job may take to stop by itself before it is killed
CANCEL_GRACE_S = 3.0


@dataclass(frozen=True)
class TrainPlan:
    """Everything the job needs (plain values: it is sent to another process)."""

    study_id: str
    kind: str
    n: int
    method: str
    vary: tuple[str, ...]
    fixed: Mapping[str, float]
    order: int
    workers: int
    device: str
    dataset_path: Path
    model_path: Path
    resume: bool = False
    seed: int = 0
    test_fraction: float = 0.2
    options: Mapping[str, Any] = field(default_factory=dict)
    scheduler: str = ""  # a Dask scheduler address: the sweep runs there ("" = local processes)


def run_plan(plan: TrainPlan, *, step, progress, on_epoch, cancel: CancelToken = NEVER
             ) -> tuple[Any, Path]:
    """Plan (or resume) the data set, solve it, train and save the model; raises Cancelled or
    PhysappError. Returns (model, saved path)."""
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    step(0)
    plan.dataset_path.parent.mkdir(parents=True, exist_ok=True)
    if plan.resume and plan.dataset_path.exists():
        ds = Dataset.open(plan.dataset_path)
        progress(1.0, f"Resuming {plan.dataset_path.name}")
    else:
        ds = Dataset.create(plan.dataset_path, plan.study_id, plan.n, plan.method, plan.seed,
                            plan.test_fraction, vary=list(plan.vary), fixed=dict(plan.fixed),
                            order=plan.order, progress=progress, cancel=cancel)
    cancel.check()
    step(1)
    if plan.scheduler:
        from physapp.compute.cluster import connect, run_sweep_on

        progress(0.0, f"Connecting to the Dask scheduler at {plan.scheduler}")
        with connect(plan.scheduler) as client:
            summary = run_sweep_on(ds, client, progress=progress, cancel=cancel)
    else:
        summary = run_sweep(ds, plan.workers, progress=progress, cancel=cancel)
    if summary.done_total < 3:
        raise PhysappError(
            f"Only {summary.done_total} of {ds.n_samples} designs could be solved ("
            f"{summary.failed_total} failed); a surrogate needs at least 3. The first failure: "
            f"{ds.failures()[0][2] if ds.failures() else 'none'}")
    step(2)
    from physapp.surrogates.models import model_class

    if getattr(model_class(plan.kind), "HISTORY", False):  # pod-history, curve-gp (#18, #22)
        from physapp.surrogates.models.history_model import train_history

        model = train_history(plan.kind, ds.history_data(), seed=plan.seed, progress=progress,
                              cancel=cancel, **dict(plan.options))
    elif not ds.fixed_topology and plan.kind in _mesh_kinds():  # own meshes per sample (#19)
        from physapp.surrogates.ensemble import train_on_samples

        model = train_on_samples(plan.kind, ds.mesh_samples(), device=plan.device,
                                 seed=plan.seed, progress=progress, cancel=cancel,
                                 **dict(plan.options))
    else:
        model = train_surrogate(plan.kind, ds.training_data(), device=plan.device,
                                progress=progress, cancel=cancel, on_epoch=on_epoch,
                                **dict(plan.options))
    cancel.check()
    plan.model_path.parent.mkdir(parents=True, exist_ok=True)
    path = save_surrogate(model, plan.model_path)
    return model, path


def _mesh_kinds() -> tuple[str, ...]:
    from physapp.surrogates.models import MESH_KINDS

    return tuple(MESH_KINDS)


class _EventToken(CancelToken):
    """A cancel token backed by a multiprocessing event (set by the parent process)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self._mp_event = event

    @property
    def cancelled(self) -> bool:
        return self._mp_event.is_set()

    def check(self) -> None:
        if self._mp_event.is_set():
            raise Cancelled("Cancelled by the user.")


def _child(plan: TrainPlan, events: Any, stop: Any) -> None:
    from physapp.core.lifetime import die_with_parent

    die_with_parent()  # the app killed: training and its sweep workers go too
    if hasattr(os, "setpgrp"):  # one group with the sweep's workers: a kill stops them all
        os.setpgrp()
    put = events.put
    try:
        model, path = run_plan(
            plan, step=lambda i: put(("step", int(i))),
            progress=lambda f, m: put(("progress", float(f), str(m))),
            on_epoch=lambda e, loss, val: put(
                ("epoch", int(e), float(loss), None if val is None else float(val))),
            cancel=_EventToken(stop))
    except Cancelled:
        put(("cancelled",))
    except PhysappError as exc:
        put(("failed", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - a bug: reported, the app keeps running
        traceback.print_exc()
        put(("failed", f"Training failed unexpectedly: {type(exc).__name__}: {exc}"))
    else:
        put(("done", str(path), {"kind": str(model.kind),
                                 "metrics": dict(getattr(model, "metrics", {}) or {})}))
    events.close()
    events.join_thread()  # everything sent before the process ends


class TrainProcess:
    """One :func:`run_plan` in a spawned child process; :meth:`poll` returns its events."""

    def __init__(self, plan: TrainPlan, grace: float = CANCEL_GRACE_S) -> None:
        ctx = mp.get_context("spawn")  # fork is unsafe with Qt/VTK threads in the parent
        self.plan = plan
        self.grace = grace
        self._events = ctx.Queue()
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=_child, args=(plan, self._events, self._stop),
                                 name="physapp-train", daemon=False)  # it starts sweep workers
        self._cancel_at: float | None = None
        self.finished = False
        self.killed = False

    def start(self) -> None:
        self._proc.start()

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.is_alive()

    def cancel(self) -> None:
        """Ask the job to stop; :meth:`poll` kills it if it has not after ``grace`` seconds."""
        if self._cancel_at is None and not self.finished:
            self._stop.set()
            self._cancel_at = time.monotonic()

    #: the ``failed`` message when the child died without a word (``{code}``: its exit code)
    DIED = ("The training process stopped unexpectedly (exit code {code}); it may have run out "
            "of memory. Try fewer designs or a coarser mesh.")
    #: the events after which the child sends nothing more
    LAST = ("done", "failed", "cancelled")

    def poll(self) -> list[tuple]:
        """Events since the last call. Never blocks (the GUI polls from a timer): a finished
        child exits by itself and is reaped by a later call. A job that was killed or died
        reports ``cancelled`` or ``failed`` (:attr:`DIED`) once."""
        out: list[tuple] = []
        if self.finished or self._drain(out):
            self._proc.join(timeout=0)
            return out
        if self._cancel_at is not None and time.monotonic() - self._cancel_at > self.grace:
            self.kill()
            out.append(("cancelled",))
        elif not self._proc.is_alive():
            self._proc.join(timeout=0)
            if self._drain(out):  # the last events may have arrived since
                return out
            self.finished = True
            code = self._proc.exitcode
            out.append(("cancelled",) if self._cancel_at is not None else (
                "failed", self.DIED.format(code=code)))
        return out

    def _drain(self, out: list[tuple]) -> bool:
        """Append the queued events to ``out``; True (and finished) at the last one."""
        while True:
            try:
                ev = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError):
                return False
            out.append(ev)
            if ev[0] in self.LAST:
                self.finished = True
                return True

    def kill(self) -> None:
        """Stop the job now, sweep workers included."""
        pid = self._proc.pid
        if pid is not None and self._proc.is_alive():
            try:
                if hasattr(os, "killpg"):
                    os.killpg(pid, signal.SIGKILL)
                else:  # pragma: no cover - Windows: the workers end when their pipes break
                    self._proc.kill()
            except (ProcessLookupError, PermissionError):
                self._proc.kill()
            self.killed = True
        self._proc.join(timeout=5)
        self.finished = True

    def wait(self, timeout: float) -> bool:
        """Block until the process ended (tests); True when it did."""
        self._proc.join(timeout)
        return not self._proc.is_alive()

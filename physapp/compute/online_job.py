"""Learn while solving in a child process that the app polls (Qt-free).

:class:`OnlineProcess` runs :func:`physapp.surrogates.online.run_online` in a spawned child of
its own process group (as :class:`~physapp.compute.training_job.TrainProcess`, whose cancel,
kill and poll it shares) at a lower priority with one BLAS/torch thread, and reports events:

``("progress", fraction, message)``, ``("step", step dict, view dict)`` after every refit (the
view has the solved and failed designs, a sample of candidates and the model's std there),
``("model", path, estimate)`` when a better model was saved for the app to swap in,
``("done", model path, summary dict)``, ``("failed", message)``, ``("cancelled", message)``.

Pause stops handing out new designs (those being solved finish); resume continues.
"""

from __future__ import annotations

import dataclasses
import os
import time
import traceback
from pathlib import Path
from typing import Any

from physapp.compute.training_job import CANCEL_GRACE_S, TrainProcess, _EventToken
from physapp.core.errors import Cancelled, PhysappError

#: niceness of the learning process (its solve workers add physapp.surrogates.online.WORKER_NICE)
JOB_NICE = 5
#: a live model is saved for the app when the estimate improved by this factor ...
SWAP_GAIN = 0.8
#: ... and at most this often (a model of every field takes a fit of its own)
SWAP_EVERY_S = 10.0


def _child(cfg: Any, data_path: Path, model_path: Path, live_path: Path, events: Any,
           stop: Any, pause: Any) -> None:
    from physapp.core.lifetime import die_with_parent

    die_with_parent()
    if hasattr(os, "setpgrp"):
        os.setpgrp()
    import numpy as np

    from physapp.surrogates.online import background, fit_pod_gp, run_online, training_data

    background(JOB_NICE)  # lower priority, one thread: the app's predictions come first
    from physapp.surrogates.storage import save_surrogate

    put = events.put
    best = {"estimate": float("inf"), "t": 0.0}
    cancel = _EventToken(stop)

    def on_step(step: Any, model: Any, extra: dict) -> None:
        view = {k: (np.asarray(v).tolist() if isinstance(v, np.ndarray) else v)
                for k, v in extra.items()}
        put(("step", dataclasses.asdict(step), view))
        now = time.monotonic()
        if step.estimate < SWAP_GAIN * best["estimate"] and now - best["t"] > SWAP_EVERY_S:
            from physapp.surrogates.dataset import Dataset

            full = fit_pod_gp(training_data(Dataset.open(data_path)), seed=cfg.seed,
                              cancel=cancel)
            full.metrics = {"online": {"estimated_rel_l2": step.estimate,
                                       "field": cfg.field, "solves": step.solves}}
            save_surrogate(full, live_path)
            best.update(estimate=step.estimate, t=time.monotonic())
            put(("model", str(live_path), float(step.estimate)))

    try:
        res = run_online(cfg, data_path, model_path,
                         progress=lambda f, m: put(("progress", float(f), str(m))),
                         on_step=on_step, cancel=cancel, paused=pause.is_set)
    except Cancelled as exc:  # its message says how many designs are kept, and where
        put(("cancelled", str(exc)))
    except PhysappError as exc:
        put(("failed", str(exc)))
    except BaseException as exc:  # noqa: BLE001 - a bug: reported, the app keeps running
        traceback.print_exc()
        put(("failed", f"Learning failed unexpectedly: {type(exc).__name__}: {exc}"))
    else:
        put(("done", str(res.model_path), {
            "stopped": res.stopped, "message": res.message, "estimate": res.estimate,
            "measured": res.measured, "solves": res.history[-1].solves}))
    events.close()
    events.join_thread()  # every event is in the pipe
    # leave at once: the workers are stopped and the data set closed; an interpreter shutdown
    # with torch loaded takes seconds on a busy machine, while the app waits to reap us
    os._exit(0)


class OnlineProcess(TrainProcess):
    """One learning run in a spawned child process; :meth:`poll` (of
    :class:`~physapp.compute.training_job.TrainProcess`) returns its events."""

    DIED = ("The learning process stopped unexpectedly (exit code {code}); it may have run out "
            "of memory. Every solved design is kept in the data set.")

    def __init__(self, cfg: Any, data_path: Path, model_path: Path, live_path: Path,
                 grace: float = CANCEL_GRACE_S) -> None:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        self.plan = cfg
        self.grace = grace
        self._events = ctx.Queue()
        self._stop = ctx.Event()
        self._pause = ctx.Event()
        self._proc = ctx.Process(target=_child, name="physapp-online", daemon=False,
                                 args=(cfg, Path(data_path), Path(model_path), Path(live_path),
                                       self._events, self._stop, self._pause))
        self._cancel_at: float | None = None
        self.finished = False
        self.killed = False

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    @property
    def paused(self) -> bool:
        return self._pause.is_set()

"""Run long work in a child process that Cancel can stop at once (Qt-free).

:class:`ProcessJobRunner` keeps one warm worker process. ``submit`` sends a picklable callable;
the worker calls it with ``progress=`` and ``cancel=`` keyword arguments and sends back progress
events and the result. ``cancel`` terminates the process (a direct factorisation or a gmsh call
cannot be interrupted otherwise) and the next job starts a fresh one. The owner calls ``poll``
(the GUI does so from a timer on its own thread) and receives :class:`JobEvent` objects.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import queue
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from physapp.core.errors import Cancelled, PhysappError
from physapp.core.progress import NEVER


@dataclass(frozen=True)
class JobEvent:
    """``kind`` is one of ``progress``, ``done``, ``error``, ``cancelled``."""

    kind: str
    job_id: int
    fraction: float = 0.0
    message: str = ""
    result: Any = None
    user_error: bool = False


def _worker_main(tasks: mp.Queue, events: mp.Queue, preload: tuple[str, ...]) -> None:
    import importlib

    from physapp.core.lifetime import die_with_parent

    die_with_parent()  # the app killed: the solve (or export, or import) stops too
    for name in preload:  # pay import costs before the first job, not during it
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a failed preload resurfaces in the job itself
            pass
    while True:
        item = tasks.get()
        if item is None:
            return
        job_id, fn, args, kwargs = item

        def progress(fraction: float, message: str, job_id: int = job_id) -> None:
            events.put(("progress", job_id, float(fraction), str(message)))

        try:
            result = fn(*args, progress=progress, cancel=NEVER, **kwargs)
            events.put(("done", job_id, result))
        except Cancelled as exc:
            events.put(("cancelled", job_id, str(exc)))
        except PhysappError as exc:
            events.put(("error", job_id, str(exc), True))
        except Exception as exc:  # noqa: BLE001 - reported to the user, worker keeps running
            tb = traceback.format_exc(limit=8)
            events.put(("error", job_id, f"{type(exc).__name__}: {exc}\n{tb}", False))


class ProcessJobRunner:
    """One job at a time in a persistent, killable child process."""

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        self._ctx = mp.get_context("spawn")  # fork is unsafe with Qt/VTK threads in the parent
        self._preload = preload
        self._ids = itertools.count(1)
        self._proc: mp.process.BaseProcess | None = None
        self._tasks: mp.Queue | None = None
        self._events: mp.Queue | None = None
        self._running: int | None = None
        self._pending: list[JobEvent] = []
        # the worker's events are received (read from the pipe and unpickled) on a thread: a
        # large result (a million-cell mesh) does not stall the owner's thread while it arrives
        self._inbox: queue.Queue = queue.Queue()
        self._receiver: _Receiver | None = None

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def running_job(self) -> int | None:
        return self._running

    def start(self) -> None:
        """Start the worker now (warm-up) rather than at the first submit."""
        if self._proc is None or not self._proc.is_alive():
            self._tasks, self._events = self._ctx.Queue(), self._ctx.Queue()
            self._inbox = queue.Queue()
            self._receiver = _Receiver(self._events, self._inbox)
            self._proc = self._ctx.Process(
                target=_worker_main, args=(self._tasks, self._events, self._preload), daemon=True
            )
            try:
                self._proc.start()
            except Exception:
                self._proc = None
                raise

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> int:
        """Queue ``fn(*args, progress=..., cancel=..., **kwargs)``; one job runs at a time."""
        if self._running is not None:
            raise RuntimeError("a job is already running; cancel it first")
        self.start()
        job_id = next(self._ids)
        self._running = job_id
        self._tasks.put((job_id, fn, args, kwargs))
        return job_id

    def cancel(self) -> None:
        """Stop the running job at once by terminating the worker process."""
        if self._running is None:
            return
        job_id, self._running = self._running, None
        self._kill()
        self._pending.append(JobEvent("cancelled", job_id, message="Cancelled by the user."))

    def poll(self) -> list[JobEvent]:
        """Events since the last call (non-blocking). A worker that died is reported as an error."""
        out, self._pending = self._pending, []
        while self._events is not None:
            try:
                raw = self._inbox.get_nowait()
            except queue.Empty:
                break
            out.append(self._event(raw))
        if (self._running is not None and self._proc is not None and not self._proc.is_alive()
                and not self._receiver.busy(self._inbox)):
            job_id, self._running = self._running, None
            code = self._proc.exitcode
            self._kill()
            import signal

            try:
                how = f"killed by {signal.Signals(-code).name}" if code and code < 0 else \
                    f"exit code {code}"
            except ValueError:
                how = f"exit code {code}"
            out.append(JobEvent("error", job_id, message=(
                f"The worker process stopped unexpectedly ({how}); it may have run out of "
                "memory, or a library crashed on this input. Try a coarser mesh."),
                user_error=True))
        return out

    def _event(self, raw: tuple) -> JobEvent:
        kind, job_id = raw[0], raw[1]
        if kind == "lost":  # the receiving thread could not read an event: the job fails
            job_id, self._running = self._running, None
            return JobEvent("error", job_id or 0, message=(
                f"The worker's answer could not be received ({raw[2]})."))
        if kind in ("done", "error", "cancelled") and job_id == self._running:
            self._running = None
        if kind == "progress":
            return JobEvent(kind, job_id, raw[2], raw[3])
        if kind == "done":
            return JobEvent(kind, job_id, 1.0, result=raw[2])
        if kind == "error":
            return JobEvent(kind, job_id, message=raw[2], user_error=raw[3])
        return JobEvent(kind, job_id, message=raw[2])

    def _kill(self) -> None:
        self._stop_receiver()
        _stop(self._proc, self._tasks, self._events, graceful=False)
        self._proc = self._tasks = self._events = None

    def _stop_receiver(self) -> None:
        if self._receiver is not None:
            self._receiver.stop()
            self._receiver = None

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the worker: it is asked to exit (2 s), then terminated. ``wait=False``: that
        happens on a background thread and this returns at once (closing a window must not keep
        the GUI thread waiting; a worker still alive when Python exits is terminated then)."""
        busy, self._running = self._running is not None, None
        proc, tasks, events = self._proc, self._tasks, self._events
        self._proc = self._tasks = self._events = None
        self._stop_receiver()
        if proc is None:
            return
        if wait:
            _stop(proc, tasks, events)
        elif busy:  # a job runs: the worker cannot read the request; terminated now (fast)
            _stop(proc, tasks, events, graceful=False)
        else:
            threading.Thread(target=_stop, args=(proc, tasks, events), daemon=True,
                             name="physapp-job-reaper").start()


class _Receiver:
    """Moves a worker's events from its queue into ``inbox`` on a daemon thread (the pipe is
    read and the result unpickled there). :meth:`stop` returns within one short wait, before
    the queue is closed."""

    WAIT = 0.05

    def __init__(self, events, inbox: queue.Queue) -> None:
        self._events, self._inbox = events, inbox
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="physapp-job-events")
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                raw = self._events.get(timeout=self.WAIT)
            except queue.Empty:
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be unpickled
                if self._stopping.is_set() or isinstance(exc, (OSError, EOFError)):
                    return  # the queue closed under us, or the worker died (poll reports it)
                raw = ("lost", None, f"{type(exc).__name__}: {exc}")
            self._inbox.put(raw)

    def busy(self, inbox: queue.Queue) -> bool:
        """True while events sent by a worker are still to be moved (one died after sending:
        they are delivered before its death is reported)."""
        if not inbox.empty():
            return True
        try:
            return self._thread.is_alive() and bool(self._events._poll(0))  # noqa: SLF001
        except (OSError, ValueError):
            return False

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=2 * self.WAIT)


def _stop(proc, tasks, events, *, graceful: bool = True) -> None:
    """End a worker process (asked first when ``graceful``) and close its queues."""
    if proc is not None:
        if graceful and proc.is_alive() and tasks is not None:
            try:
                tasks.put(None)
                proc.join(timeout=2)
            except (OSError, ValueError):  # a queue already closed
                pass
        proc.terminate()
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout=5)
    # queues may be corrupt after a terminate mid-write: start afresh
    for q in (tasks, events):
        if q is not None:
            q.cancel_join_thread()
            q.close()

"""Latest-wins evaluation on one background thread (Qt-free).

``submit`` replaces any request that has not started yet, so a fast slider drag never queues
stale work; each result carries its request id so the receiver can drop results older than the
last one it applied.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

from physapp.core.errors import PhysappError


class LatestWinsWorker:
    """Evaluate ``fn(request)`` on a daemon thread; newer requests replace waiting ones.

    ``on_result(id, result)`` and ``on_error(id, message)`` are called on the worker thread: a GUI
    forwards them to its own thread (e.g. through a Qt signal).
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        on_result: Callable[[int, Any], None],
        on_error: Callable[[int, str], None],
    ) -> None:
        self._fn, self._on_result, self._on_error = fn, on_result, on_error
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._pending: tuple[int, Any] | None = None
        self._closed = False
        self._idle = True
        self._thread = threading.Thread(target=self._loop, daemon=True, name="latest-wins")
        self._thread.start()

    def submit(self, request: Any) -> int:
        with self._cond:
            job_id = next(self._ids)
            self._pending = (job_id, request)
            self._cond.notify()
            return job_id

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until nothing is pending or running (for tests and shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and self._idle, timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._closed:
                    return
                job_id, request = self._pending
                self._pending, self._idle = None, False
            try:
                result = self._fn(request)
            except PhysappError as exc:
                self._on_error(job_id, str(exc))
            except Exception as exc:  # noqa: BLE001 - a bad request must not kill the worker
                self._on_error(job_id, f"{type(exc).__name__}: {exc}")
            else:
                self._on_result(job_id, result)
            with self._cond:
                self._idle = True
                self._cond.notify_all()

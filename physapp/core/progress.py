"""Progress reporting and cooperative cancellation for long work.

Long work takes ``progress`` (a callable ``(fraction, message)``) and ``cancel`` (a
:class:`CancelToken`) and calls :func:`CancelToken.check` at each natural step. Work that cannot be
interrupted runs in a child process which the job runner can stop (see :mod:`physapp.compute`).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from physapp.core.errors import Cancelled


class ProgressFn(Protocol):
    def __call__(self, fraction: float, message: str) -> None: ...


def no_progress(fraction: float, message: str) -> None:
    """Progress callback that ignores everything (the default)."""


class CancelToken:
    """A thread-safe flag that long work polls; :meth:`check` raises :class:`Cancelled` once set."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class NeverCancel(CancelToken):
    """A token nobody can set; the default for callers that do not cancel."""

    def cancel(self) -> None:  # pragma: no cover - guard against misuse
        raise RuntimeError("NeverCancel cannot be cancelled")


NEVER = NeverCancel()


@contextmanager
def sigint_cancels() -> Iterator[CancelToken]:
    """A token that the first Ctrl-C sets (the work stops cleanly at its next check); a second
    Ctrl-C raises KeyboardInterrupt at once. The previous SIGINT handler is back on exit. For
    long commands in the main thread (``physapp sweep``, ``physapp train --online``)."""
    token = CancelToken()

    def on_sigint(signum, frame) -> None:
        if token.cancelled:
            raise KeyboardInterrupt
        token.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield token
    finally:
        signal.signal(signal.SIGINT, previous)


def scaled(progress: ProgressFn, start: float, stop: float) -> ProgressFn:
    """Map a sub-task's 0..1 progress into ``start..stop`` of the parent's progress."""

    def report(fraction: float, message: str) -> None:
        progress(start + (stop - start) * min(max(fraction, 0.0), 1.0), message)

    return report

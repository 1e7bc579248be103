"""A lock between a history file's writer and its readers in other processes (#14).

The app shows the newest step of a transient solve while the solve's process still writes the
file (``gui/history_jobs.live``). HDF5 does not support reading a file while another process
changes it (outside SWMR mode, which forbids the attribute updates the writer makes): a read
that meets a half-written object header or chunk index may fail, or worse. So the writer holds
an exclusive lock on ``<file>.lock`` while it changes the file (each step, up to its flush), and
a reader holds a shared lock on it while it reads, if that lock file exists (the writer removes
it when it closes the file; a killed writer's lock is released by the system).

Advisory locks (``fcntl.flock``); where there are none (Windows) or the file system refuses
them, reading and writing go on without (the writer's step-at-a-time layout still applies).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of the history file ``path``."""
    p = Path(path)
    return p.with_name(p.name + ".lock")


def _flock(fd: int, op: int) -> bool:
    try:
        fcntl.flock(fd, op)
        return True
    except OSError:  # a file system without locks: go on without
        return False


class WriterLock:
    """The writer's side: :meth:`held` around each change of the file; :meth:`close` at the
    end (removes the lock file)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = lock_path(path)
        self._fd: int | None = None
        if fcntl is not None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:
                self._fd = None

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        locked = self._fd is not None and _flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if locked:
                _flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self._fd)
        self._fd = None


@contextlib.contextmanager
def reading(path: str | os.PathLike) -> Iterator[None]:
    """A reader's side: a shared lock while its writer lives (waits for the step being
    written), nothing once the writer closed the file."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(lock_path(path), os.O_RDONLY)
    except OSError:  # no lock file: no writer
        yield
        return
    try:
        _flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)  # releases the lock

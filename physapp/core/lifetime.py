"""Child processes never outlive their parent (Linux; elsewhere the watchdog alone).

:func:`die_with_parent` is called first thing in every worker process (sweep workers, the GUI's
job runner, training, isolated readers). It asks the kernel to send SIGKILL when the parent dies
(``prctl(PR_SET_PDEATHSIG)``) and starts a watchdog thread that checks twice a second that the
parent is alive (it also covers a parent that is not the direct one, e.g. with the forkserver, and
systems without prctl). Either way the worker is gone within about a second of its parent dying by
any signal, ``kill -9`` included.
"""

from __future__ import annotations

import os
import signal
import threading
import time

PR_SET_PDEATHSIG = 1
_STARTED: set[int] = set()


def _prctl_pdeathsig() -> bool:
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _alive(pid: int, started: float | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if started is None:
        return True
    try:  # the pid may have been reused by an unrelated process
        import psutil

        return abs(psutil.Process(pid).create_time() - started) < 1.0
    except Exception:  # noqa: BLE001 - psutil missing or the process just went away
        return _alive(pid, None)


def _create_time(pid: int) -> float | None:
    try:
        import psutil

        return psutil.Process(pid).create_time()
    except Exception:  # noqa: BLE001
        return None


def die_with_parent(parent_pid: int | None = None, interval: float = 0.5) -> None:
    """Make this process die (SIGKILL) within ``interval`` s of ``parent_pid`` dying.

    ``parent_pid`` defaults to the direct parent. Safe to call more than once.
    """
    ppid = os.getppid() if parent_pid is None else int(parent_pid)
    if ppid in _STARTED:
        return
    _STARTED.add(ppid)
    if ppid == os.getppid():
        _prctl_pdeathsig()
    started = _create_time(ppid)
    if not _alive(ppid, started) or (parent_pid is None and os.getppid() != ppid):
        os.kill(os.getpid(), signal.SIGKILL)  # the parent died before we got here

    def watch() -> None:
        while True:
            time.sleep(interval)
            if not _alive(ppid, started):
                os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="physapp-parent-watchdog", daemon=True).start()


class Terminated(BaseException):
    """Raised in the main thread on SIGTERM (see :func:`terminate_cleanly`): unwinds like Ctrl-C
    so worker processes are stopped and files closed; the CLI then exits 143."""


def terminate_cleanly() -> None:
    """Turn SIGTERM into :class:`Terminated` in the main thread (CLI commands)."""

    def handler(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
        raise Terminated()

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        pass

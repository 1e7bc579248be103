"""Run untrusted work (reading and meshing a user's file) in a child process.

:func:`run_isolated` calls ``fn(*args, **kwargs)`` in a fresh child process with an address-space
limit (``RLIMIT_AS``) and a time limit, and returns its result or raises its exception. A native
crash of the child (a segmentation fault in a C/C++ reader, an abort) raises
:class:`ChildCrashed` with a message naming the work; running out of the memory limit raises
:class:`~physapp.core.memory.MemoryLimitError`; passing the time limit raises
:class:`ChildTimeout`. The caller (the CLI, the app) keeps running either way.

Children come from a ``forkserver`` (a clean server process forked per job, with the readers
already imported, so a job starts in a few milliseconds). A daemonic process cannot have
multiprocessing children (the GUI's job runner is one), and children of a user's script would
re-run it, so there the child is a plain ``python -c`` subprocess speaking the same protocol over
an inherited socket.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from physapp.core.errors import Cancelled, PhysappError
from physapp.core.memory import MemoryLimitError, human, limit_bytes
from physapp.core.progress import NEVER, CancelToken, ProgressFn

#: modules the forkserver imports once, so that isolated reads start fast
PRELOAD = ["physapp.io.readers", "meshio", "numpy"]
_CTX: Any = None


class ChildCrashed(PhysappError):
    """The isolated child died without an answer (native crash or killed); ``signal_name`` is
    e.g. ``SIGSEGV``."""

    def __init__(self, message: str, signal_name: str = "") -> None:
        super().__init__(message)
        self.signal_name = signal_name


class ChildTimeout(PhysappError):
    """The isolated child ran past its time limit and was stopped."""


def _context():
    global _CTX
    if _CTX is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        _CTX = ctx
    return _CTX


def _vm_size() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_memory(memory: int | None) -> None:
    if not memory:
        return
    try:
        import resource

        # the budget comes on top of what the (preloaded) interpreter already maps
        cap = _vm_size() + int(memory)
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ImportError, ValueError, OSError):
        pass


def _child(conn: Connection, fn: Callable, args: tuple, kwargs: dict, memory: int | None,
           parent_pid: int, want_progress: bool, env: dict | None = None,
           cwd: str | None = None) -> None:
    """Body of the child: run ``fn`` and send ('ok', result) or ('err', exception)."""
    from physapp.core.lifetime import die_with_parent

    die_with_parent(parent_pid)
    if env is not None:  # the forkserver started with the environment of its first use
        os.environ.clear()
        os.environ.update(env)
    if cwd is not None:
        try:
            os.chdir(cwd)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _limit_memory(memory)
    if want_progress:
        def progress(fraction: float, message: str) -> None:
            try:
                conn.send(("progress", float(fraction), str(message)))
            except (OSError, ValueError, pickle.PicklingError):
                pass

        kwargs = {**kwargs, "progress": progress}
    try:
        result = fn(*args, **kwargs)
        msg: tuple = ("ok", result)
    except MemoryError:
        msg = ("memory", "")
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        msg = ("err", exc)
    try:
        conn.send(msg)
    except MemoryError:
        conn.send(("memory", ""))
    except Exception as exc:  # noqa: BLE001 - e.g. an exception that cannot be pickled
        err = msg[1] if msg[0] == "err" else exc
        cls = PhysappError if isinstance(err, PhysappError) else RuntimeError
        conn.send(("err", cls(f"{type(err).__name__}: {err}")))
    conn.close()


def _subprocess_main(fd: int) -> None:
    """Entry of the ``python -c`` child (used from daemonic processes)."""
    conn = Connection(fd)
    _child(conn, *conn.recv())
    os._exit(0)


class _Handle:
    """A started child: multiprocessing.Process or subprocess.Popen behind one face."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc

    def alive(self) -> bool:
        if isinstance(self.proc, subprocess.Popen):
            return self.proc.poll() is None
        return self.proc.is_alive()

    def exitcode(self) -> int | None:
        if isinstance(self.proc, subprocess.Popen):
            return self.proc.poll()
        return self.proc.exitcode

    def wait(self, timeout: float) -> None:
        if isinstance(self.proc, subprocess.Popen):
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            self.proc.join(timeout)

    def kill(self) -> None:
        if self.alive():
            try:
                self.proc.kill()
            except (OSError, ValueError):
                pass
        self.wait(5)


def _forkserver_safe() -> bool:
    """Multiprocessing children re-run the main script (as ``__mp_main__``): safe for ``python -m``
    mains and physapp's own entry points, not for a user's script without a main guard."""
    if mp.current_process().daemon:
        return False  # daemonic processes may not have multiprocessing children
    main = sys.modules.get("__main__")
    if main is None or getattr(main, "__spec__", None) is not None:
        return True
    path = getattr(main, "__file__", None)
    return path is None or os.path.basename(path) in ("physapp", "physapp.exe", "physapp-script.py")


def _start(fn: Callable, args: tuple, kwargs: dict, memory: int | None,
           want_progress: bool) -> tuple[_Handle, Connection]:
    me = os.getpid()
    if _forkserver_safe():
        ctx = _context()
        parent_end, child_end = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_child, name="physapp-isolated",
                           args=(child_end, fn, args, kwargs, memory, me, want_progress,
                                 dict(os.environ), os.getcwd()))
        proc.start()
        child_end.close()
        return _Handle(proc), parent_end
    parent_end, child_end = mp.Pipe(duplex=True)
    fd = child_end.fileno()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    code = ("import sys; from physapp.core.isolate import _subprocess_main; "
            "_subprocess_main(int(sys.argv[1]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(fd)], pass_fds=(fd,), env=env,
                            stdin=subprocess.DEVNULL)
    child_end.close()
    parent_end.send((fn, args, kwargs, memory, me, want_progress, None, None))
    return _Handle(proc), parent_end


def _signal_name(code: int | None) -> str:
    if code is None:
        return "no exit status"
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


def run_isolated(fn: Callable[..., Any], *args: Any, timeout: float | None = None,
                 memory: int | None = None, what: str = "The isolated job",
                 progress: ProgressFn | None = None, cancel: CancelToken = NEVER,
                 **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a child process; its result, or its exception re-raised.

    Parameters
    ----------
    fn : a picklable (module-level) callable; with ``progress`` given it is also called with
        ``progress=`` (messages are forwarded to the caller's function).
    timeout : seconds before the child is killed and :class:`ChildTimeout` raised (None: none).
    memory : bytes of address space the job may add (default: :func:`limit_bytes`; 0: no limit).
    what : how messages name the job when the child crashes ("The reader of 'part.stl' (STL)").
    cancel : checked ten times a second; the child is killed and Cancelled raised.
    """
    if memory is None:
        memory = limit_bytes()
    handle, conn = _start(fn, args, kwargs, memory or None, progress is not None)
    t0 = time.monotonic()
    try:
        while True:
            ready = False
            try:
                ready = conn.poll(0.1)
            except (OSError, EOFError):
                ready = False
            if ready:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    msg = None
                except Exception as exc:  # noqa: BLE001 - the result could not be unpickled
                    raise ChildCrashed(f"{what} sent back a result that cannot be read "
                                       f"({type(exc).__name__}: {exc}).") from None
                if msg is None:
                    handle.wait(2)
                    raise _crashed(what, handle.exitcode())
                if msg[0] == "progress":
                    if progress is not None:
                        progress(msg[1], msg[2])
                    continue
                if msg[0] == "ok":
                    return msg[1]
                if msg[0] == "memory":
                    raise MemoryLimitError(
                        f"{what} needed more than the {human(memory)} of memory available to it "
                        "(the file is too large for this computer, or corrupt).")
                raise msg[1]
            if cancel.cancelled:
                raise Cancelled()
            if not handle.alive():
                if conn.poll(0):
                    continue  # its last message arrived as it exited
                raise _crashed(what, handle.exitcode())
            if timeout is not None and time.monotonic() - t0 > timeout:
                raise ChildTimeout(f"{what} did not finish within {timeout:g} s and was stopped; "
                                   "the file may be corrupt or too large.")
    finally:
        handle.kill()
        conn.close()


def _crashed(what: str, code: int | None) -> ChildCrashed:
    name = _signal_name(code)
    if code == -signal.SIGKILL:
        return ChildCrashed(f"{what} was killed ({name}); it may have run out of memory. Try a "
                            "coarser element size or a smaller file.", name)
    return ChildCrashed(f"{what} crashed ({name}); the file is probably corrupt or in a variant "
                        "physapp cannot read. Export it again, or in another format.", name)

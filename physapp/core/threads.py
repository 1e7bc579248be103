"""Thread pools sized to the cores this process can really use, and never spinning.

numpy's OpenBLAS, the OpenMP runtime torch and pyamg load, and torch's intra-op pool each start
one thread per core by default and, between calls, keep them spinning for a while. On a machine
that other jobs keep busy (sweep workers on every core, the user's other programs) this goes
badly: a 2-thread BLAS call waits at its barrier for a thread the scheduler has parked behind the
other job, so a 6 ms prediction took 256 ms and a 0.13 s solve 2-3 s (#16). The remedies:

- :func:`apply_env_defaults` (called when ``physapp`` is imported, before numpy or torch load)
  makes idle OpenMP threads sleep at once (``OMP_WAIT_POLICY=PASSIVE``, ``KMP_BLOCKTIME=0``)
  and OpenBLAS's idle threads sleep after a short spin (``OPENBLAS_THREAD_TIMEOUT``); it never
  overrides what the user set.
- :func:`usable_cores` counts the cores the process may run on (CPU affinity, and a cgroup CPU
  quota as in containers), not the machine's; :func:`free_cores` also subtracts the runnable
  tasks of other processes right now.
- :func:`set_pools` / :func:`limited` size the BLAS and OpenMP pools (threadpoolctl) and torch's
  pool at run time, where the libraries are already loaded. The solver and the prediction paths
  run their BLAS work single-threaded (:data:`COMPUTE_THREADS`): their dense operations are small
  (AMG aggregates, supernodes of 2D factorisations, a ``(1, r) @ (r, n)`` POD reconstruction),
  so a second thread gains nothing quietly and costs a great deal under contention
  (benchmarks/contention.py measures both).
- worker processes (sweeps, learn-while-solving) run one thread per pool when several of them
  share the machine: :func:`single_thread_env` for the environment they are started with,
  :func:`configure_worker` inside them.

``PHYSAPP_THREADS`` (an integer) overrides the size chosen for the compute paths.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator

#: environment defaults that stop idle pools from spinning (set unless the user chose)
ENV_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0", "OPENBLAS_THREAD_TIMEOUT": "4"}
#: thread-count variables of the pools (BLAS, OpenMP, MKL, numexpr-style)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: BLAS/OpenMP threads for the solver and prediction paths (see the module text)
COMPUTE_THREADS = 1

_controller = None
_seen_torch = False


def apply_env_defaults(environ: dict | None = None) -> None:
    """Set :data:`ENV_DEFAULTS` in ``environ`` (default ``os.environ``) where unset."""
    env = os.environ if environ is None else environ
    for k, v in ENV_DEFAULTS.items():
        env.setdefault(k, v)


def _cgroup_quota() -> float | None:
    """CPUs allowed by a cgroup v2 (``cpu.max``) or v1 (``cfs_quota/period``) quota, if any."""
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        q = int(open("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read())
        p = int(open("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read())
        if q > 0 and p > 0:
            return q / p
    except (OSError, ValueError):
        pass
    return None


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        n = min(n, max(1, math.ceil(quota)))
    return max(1, n)


def others_running(loadavg: str | None = None) -> int:
    """Runnable tasks of other processes now (``/proc/loadavg``'s running count less this one);
    0 where it cannot tell."""
    try:
        text = loadavg if loadavg is not None else open("/proc/loadavg").read()
        running = int(text.split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return 0
    return max(0, running - 1)


def free_cores() -> int:
    """Usable cores not taken by other runnable tasks right now (at least 1)."""
    return max(1, usable_cores() - others_running())


def compute_threads() -> int:
    """Threads for the BLAS/OpenMP pools of the solver and prediction paths:
    ``PHYSAPP_THREADS`` when set (capped at :func:`usable_cores`), else :data:`COMPUTE_THREADS`."""
    raw = os.environ.get("PHYSAPP_THREADS", "").strip()
    if raw:
        try:
            return max(1, min(int(raw), usable_cores()))
        except ValueError:
            pass
    return COMPUTE_THREADS


def _threadpool_controller():
    global _controller, _seen_torch
    if _seen_torch != ("torch" in sys.modules):  # torch brings its own OpenMP runtime
        _seen_torch, _controller = "torch" in sys.modules, None
    if _controller is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # without threadpoolctl: only the environment applies
            return None
        _controller = ThreadpoolController()
    return _controller


def pool_sizes() -> dict[str, int]:
    """Current size of each loaded pool: ``blas``, ``openmp`` (the largest of each kind) and
    ``torch`` (when torch is imported)."""
    out: dict[str, int] = {}
    ctl = _threadpool_controller()
    if ctl is not None:
        ctl = type(ctl)()  # libraries loaded since the first look
        for lib in ctl.lib_controllers:
            out[lib.user_api] = max(out.get(lib.user_api, 0), int(lib.num_threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        out["torch"] = int(torch.get_num_threads())
    return out


def set_pools(n: int) -> None:
    """Size every loaded BLAS and OpenMP pool and torch's intra-op pool to ``n`` threads."""
    global _controller
    n = max(1, int(n))
    _controller = None  # see libraries loaded since the last call
    ctl = _threadpool_controller()
    if ctl is not None:
        for lib in ctl.lib_controllers:
            with contextlib.suppress(Exception):
                lib.set_num_threads(n)
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextlib.contextmanager
def limited(n: int | None = None) -> Iterator[None]:
    """BLAS and OpenMP pools of at most ``n`` threads (default :func:`compute_threads`) inside
    the block; the previous sizes come back after it."""
    n = compute_threads() if n is None else max(1, int(n))
    torch = sys.modules.get("torch")
    torch_before = torch.get_num_threads() if torch is not None else n
    if torch_before > n:
        torch.set_num_threads(n)
    ctl = _threadpool_controller()
    try:
        if ctl is None:
            yield
        else:
            with ctl.limit(limits=n):
                yield
    finally:
        if torch_before > n:
            torch.set_num_threads(torch_before)


def single_thread_env(environ: dict | None = None, force: bool = False) -> dict:
    """``environ`` (default a copy of ``os.environ``) with one thread per pool and the
    non-spinning defaults; the user's own thread settings stay unless ``force``."""
    env = dict(os.environ if environ is None else environ)
    for k in THREAD_VARS:
        if force:
            env[k] = "1"
        else:
            env.setdefault(k, "1")
    apply_env_defaults(env)
    return env


def configure_worker(threads: int = 1) -> None:
    """Inside a worker process that shares the machine with others: every pool ``threads``
    wide (environment for libraries loaded later, threadpoolctl and torch for loaded ones)."""
    for k in THREAD_VARS:
        os.environ[k] = str(threads)
    apply_env_defaults()
    set_pools(threads)

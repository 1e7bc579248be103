"""Sweeps on any concurrent.futures-style executor, including a Dask distributed cluster.

``run_sweep_on(dataset, executor)`` submits one task per pending sample to ``executor`` (anything
with ``submit(fn, *args) -> future`` whose futures have ``done()``, ``result()`` and ``cancel()``:
a ``ProcessPoolExecutor``, a ``distributed.Client`` ...) and, as in :func:`physapp.compute.sweep.
run_sweep`, the calling process is the only writer of the dataset: each result is stored as it
arrives, at most once per sample (a task that Dask re-runs after a worker died is written once).
``connect(address)`` opens a Dask client with a time-out and a clear message.

Workers must have physapp installed (same version). Each worker process builds the dataset's
morpher once and keeps it for the following samples.
"""

from __future__ import annotations

import time
from typing import Any

from physapp.compute.sweep import SweepSummary, _cancel_message, _eta, solve_candidates
from physapp.core.errors import Cancelled, PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

_CACHE: dict[str, Any] = {}


def connect(address: str, timeout: float = 10.0):
    """A ``distributed.Client`` for the scheduler at ``address`` (``tcp://host:8786``)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - a dependency, but be clear if it is missing
        raise PhysappError("Dask is not installed: pip install 'dask[distributed]'.") from None
    check_address(address)
    _refused_at_once(address)
    import gc
    import sys

    hook = sys.unraisablehook  # a Client that failed to connect complains from __del__
    sys.unraisablehook = lambda unraisable: None
    try:
        return Client(address, timeout=f"{timeout}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        gc.collect()
        raise PhysappError(
            f"Could not reach the Dask scheduler at {address} within {timeout:g} s ({exc}). "
            "Check the address and that the scheduler is running, or run the sweep locally "
            "(leave out --scheduler)."
        ) from None
    finally:
        gc.collect()
        sys.unraisablehook = hook


SCHEMES = ("tcp", "tls", "ws", "wss", "ucx", "inproc")


def _refused_at_once(address: str) -> None:
    """A TCP address where nothing listens is refused at once (Dask retries it for its whole
    timeout): one plain connection attempt first; an unreachable host is left to Dask."""
    import socket

    scheme, sep, rest = str(address).strip().partition("://")
    if sep and scheme != "tcp":
        return
    host, _, port = (rest if sep else scheme).rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2.0):
            return
    except ConnectionRefusedError:
        raise PhysappError(
            f"Could not reach the Dask scheduler at {address}: nothing listens there (connection "
            "refused). Check the address and that the scheduler is running, or run the sweep "
            "locally (leave out --scheduler).") from None
    except (OSError, ValueError):
        return  # slow or unreachable: Dask tries with its own timeout


def check_address(address: str) -> None:
    """Refuse at once what cannot be a scheduler address (Dask would try it for seconds)."""
    text = str(address).strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    host, colon, port = rest.rpartition(":")
    ok = scheme in SCHEMES and (scheme == "inproc" or (
        colon and host and port.isdigit() and 0 < int(port) < 65536))
    if not ok:
        raise PhysappError(
            f"'{address}' is not a Dask scheduler address; expected tcp://HOST:PORT (e.g. "
            "tcp://127.0.0.1:8786), or leave out --scheduler to solve on this computer.")


def solve_sample(setup: dict, candidates: list[dict]) -> tuple[str, Any, float]:
    """Morph and solve one sample (runs on a worker): ``("done", payload, s)`` or
    ``("failed", message, s)``."""
    from physapp.geometry.morph import Morpher
    from physapp.solvers.reference import ReferenceSolver

    t0 = time.perf_counter()
    key = setup["key"]
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = (Morpher(setup["study"], setup["reference_values"],
                               setup["reference_mesh"], valid_ranges=setup["valid_ranges"])
                       if setup.get("fixed_topology", True) else None,
                       ReferenceSolver(setup["order"], check_p1=False, check_memory=False))
    morpher, solver = _CACHE[key]
    try:
        payload = solve_candidates(morpher, solver, setup["study"], candidates,
                                   setup["reference_mesh"].dim, setup.get("history_frames"))
    except PhysappError as exc:
        return "failed", str(exc), time.perf_counter() - t0
    return "done", payload, time.perf_counter() - t0


def run_sweep_on(dataset: Any, executor: Any, *, retry_failed: bool = False,
                 progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                 poll: float = 0.1) -> SweepSummary:
    """Solve the pending samples of ``dataset`` on ``executor`` (see the module docstring)."""
    from physapp.surrogates.dataset import Dataset

    if not isinstance(dataset, Dataset):
        dataset = Dataset.open(dataset)
    t0 = time.perf_counter()
    todo = [int(i) for i in dataset.pending(retry_failed)]
    total = len(todo)
    if total == 0:
        progress(1.0, "Nothing to do: every sample is solved")
        c = dataset.counts()
        return SweepSummary(0, 0, 0.0, c["done"], c["failed"], c["pending"])
    setup = {"key": f"{dataset.path}:{id(dataset)}:{time.time()}", "study": dataset.study,
             "reference_values": dataset.reference_values,
             "reference_mesh": dataset.reference_mesh, "valid_ranges": dataset.valid_ranges,
             "order": dataset.order, "fixed_topology": dataset.fixed_topology,
             "history_frames": dataset.history_frames}
    if hasattr(executor, "scatter"):  # Dask: ship the (large) set-up once to every worker
        setup_arg = executor.scatter(setup, broadcast=True)
    else:
        setup_arg = setup
    extra = {"pure": False} if hasattr(executor, "scatter") else {}  # Dask would merge equal tasks
    futures = {executor.submit(solve_sample, setup_arg,
                               [dataset.values(i), *dataset.alternates(i)], **extra): i
               for i in todo}
    written: set[int] = set()
    solved = failed = replaced = 0
    progress(0.0, f"0/{total} done on {type(executor).__name__}")
    try:
        while futures:
            cancel.check()
            finished = [f for f in futures if f.done()]
            if not finished:
                time.sleep(poll)
                continue
            for fut in finished:
                i = futures.pop(fut)
                if i in written:
                    continue
                try:
                    kind, payload, elapsed = fut.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker, a killed task ...
                    kind, payload, elapsed = "failed", f"the task was lost: {exc}", 0.0
                if kind == "done":
                    dataset.write_sample(i, payload["coords"], payload["fields"],
                                         payload["units"], payload["key_quantities"],
                                         payload["cells"], payload["boundaries"], elapsed,
                                         payload["values"], history=payload.get("history"))
                    solved += 1
                    replaced += payload["values"] is not None
                else:
                    dataset.write_failure(i, payload, elapsed)
                    failed += 1
                written.add(i)
                k = solved + failed
                eta = (time.perf_counter() - t0) / k * (total - k)
                progress(k / total, f"{k}/{total} done, {failed} failed, ETA {_eta(eta)}")
    except (Cancelled, KeyboardInterrupt):
        for fut in futures:
            fut.cancel()
        raise Cancelled(_cancel_message(dataset)) from None
    c = dataset.counts()
    return SweepSummary(solved, failed, time.perf_counter() - t0, c["done"], c["failed"],
                        c["pending"], replaced)

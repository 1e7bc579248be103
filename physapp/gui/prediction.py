"""Surrogate models off the GUI thread: loading and latest-wins prediction, bridged to Qt.

Two worker threads do the work: one loads model files (``physapp.surrogates.storage``) one after
another, one evaluates the selected model (a :class:`~physapp.compute.latest.LatestWinsWorker`). torch enters the process only
there, lazily, the first time a model is loaded or trained: importing this module imports neither
torch nor any surrogate module.

A POD-GP model (every shipped model) is evaluated with numpy
(:mod:`physapp.surrogates.models.pod_gp_numpy`): opening a study with its shipped surrogate does
not import torch at all. For other models, torch and the surrogate modules are imported on the
loader thread (:func:`load_library`,
before the first model is loaded), so opening a study with its shipped surrogate never stalls
the GUI thread for the seconds torch takes. PySide6's import hook (``builtins.__import__`` is
``shibokensupport``'s ``__feature_import__``) is not thread-safe: importing torch through it on a
worker while the GUI thread ran Qt code aborted the process ("none_dealloc") about one time in
three (PySide6 6.12). :func:`load_library` therefore imports with the hook bypassed (Python's own
``__import__``, kept by PySide as ``builtins.__orig_import__``) for the duration of the import;
physapp uses no ``from __feature__ import`` selections, the only thing the hook is for.
:func:`preload` still imports on the calling thread (the training dialog, before a run).

A fast slider drag submits a prediction per value change; a request still waiting is replaced by
the newer one, so at most one runs and one waits. Results come back to the GUI thread through
queued Qt signals with their request id; the receiver drops results older than the last one it
applied. The GUI thread never calls into a model: it holds the object only to hand it back to the
worker, and reads the plain :class:`ModelSummary` made on the worker thread.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from physapp.compute.latest import LatestWinsWorker
from physapp.core.errors import PhysappError
from physapp.core.results import FieldResult
from physapp.gui.relay import ThreadRelay

#: torch threads in the app process (predictions only; see preload)
PREDICT_THREADS = 1
#: imported on the GUI thread before models are loaded (see the module docstring)
PREDICT_MODULES = (
    "torch", "physapp.surrogates.device", "physapp.surrogates.data",
    "physapp.surrogates.scaling", "physapp.surrogates.gp", "physapp.surrogates.models.base",
    "physapp.surrogates.models.pod", "physapp.surrogates.models.neural_field",
    "physapp.surrogates.storage", "physapp.surrogates.training",
    "scipy.spatial", "physapp.surrogates.models.mesh_agnostic",
    "physapp.surrogates.models.transolver", "physapp.surrogates.models.geo_field",
    "physapp.surrogates.models.history_model",
)
#: imported on the loader thread before a model that needs no torch (POD-GP) is loaded
NUMPY_MODULES = (
    "scipy.linalg", "physapp.surrogates.ptzip", "physapp.surrogates.models.base",
    "physapp.surrogates.models.pod_gp_numpy", "physapp.surrogates.storage",
    "physapp.surrogates.scaling", "physapp.surrogates.device", "physapp.surrogates.models",
)
#: imported on the loader thread after a model is loaded: modules the GUI needs later (a probe
#: click, the split view) and that start-up does not wait for
WARM_MODULES = ("scipy.spatial", "physapp.solvers.interpolate")
#: ... and before a training run (data set, sampling, morphing, the sweep's process pool)
TRAIN_MODULES = PREDICT_MODULES + (
    "h5py", "scipy.stats", "scipy.spatial", "scipy.sparse.linalg", "scipy.sparse.csgraph",
    "physapp.surrogates.doe", "physapp.geometry.morph", "physapp.surrogates.dataset",
    "physapp.compute.sweep", "physapp.geometry.gmsh_session", "multiprocessing.queues",
    "multiprocessing.synchronize", "multiprocessing.resource_tracker",
    "multiprocessing.popen_spawn_posix",
)


_LIBRARY_LOCK = threading.Lock()


def load_library(modules: Sequence[str] = PREDICT_MODULES) -> tuple[float, str]:
    """:func:`preload` on a worker thread: PySide6's (thread-unsafe) import hook is bypassed
    while the modules are imported (see the module docstring). Returns (seconds, problem)."""
    import builtins

    with _LIBRARY_LOCK:
        if all(name in sys.modules for name in modules):
            return 0.0, ""
        hooked = builtins.__import__
        plain = getattr(builtins, "__orig_import__", None)
        if plain is not None:
            builtins.__import__ = plain
        try:
            return preload(modules)
        finally:
            if plain is not None:
                builtins.__import__ = hooked


def preload(modules: Sequence[str] = PREDICT_MODULES) -> tuple[float, str]:
    """Import ``modules`` now, on the calling (GUI) thread; returns (seconds spent, message):
    the message is empty unless torch itself is missing."""
    t0 = time.perf_counter()
    for name in modules:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            if name == "torch":
                return time.perf_counter() - t0, (
                    f"Surrogate models need PyTorch, which cannot be imported here ({exc}). "
                    "Install it (pip install torch) to use them.")
            # optional pieces (another platform's multiprocessing module, a module not in
            # this version): the worker imports what it really needs
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() > PREDICT_THREADS:
        # the app process only predicts (training runs in a child process): one thread per
        # small prediction, leaving the other cores to rendering (software OpenGL uses them)
        torch.set_num_threads(PREDICT_THREADS)
    return time.perf_counter() - t0, ""


@dataclass(frozen=True)
class ModelSummary:
    """What the GUI shows about a loaded surrogate (plain Python: safe on any thread)."""

    kind: str
    model_id: str
    study_id: str
    param_names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]
    fixed: Mapping[str, float]
    field_names: tuple[str, ...]
    uncertainty: bool
    metrics: Mapping[str, Any]
    device: str
    notices: tuple[str, ...]
    n_points: int
    coords_vary: bool

    @classmethod
    def of(cls, model: Any) -> ModelSummary:
        """Read ``model`` (a FieldSurrogate; call on the thread that owns it)."""
        return cls(
            kind=str(model.kind), model_id=str(model.id), study_id=str(model.study_id),
            param_names=tuple(model.param_names),
            bounds=tuple((float(lo), float(hi)) for lo, hi in model.bounds),
            fixed=dict(model.fixed), field_names=tuple(model.field_names),
            uncertainty=bool(model.uncertainty), metrics=dict(model.metrics or {}),
            device=str(model.device), notices=tuple(model.notices),
            n_points=int(model.mesh.n_points), coords_vary=bool(model.coords_vary),
        )


@dataclass(frozen=True)
class LoadedModel:
    """A model object (opaque to the GUI thread) and its summary."""

    model: Any
    summary: ModelSummary


@dataclass(frozen=True)
class Prediction:
    """One evaluated request: ``t_submit`` is the ``perf_counter`` time of the slider change."""

    request_id: int
    key: str
    result: FieldResult
    t_submit: float
    notice: str = ""
    device: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


def resolve(spec: str) -> tuple[str, str | None]:
    """``physapp.surrogates.device.resolve_device`` (imported here, on a worker thread)."""
    from physapp.surrogates.device import resolve_device

    return resolve_device(spec)


def load_model(path: str, study_id: str, param_names: Sequence[str], device: str) -> LoadedModel:
    """Load, check and warm up a model file (worker thread; raises PhysappError for the user).
    A POD-GP model is evaluated with numpy (torch is not needed for it)."""
    from physapp.surrogates.storage import load_surrogate

    model = load_surrogate(path, study_id=study_id, param_names=param_names, device=device,
                           numpy=True)
    model.predict({})  # warm-up: the first call pays for kernel set-up, not the first drag
    return LoadedModel(model, ModelSummary.of(model))


class SurrogatePredictor(QObject):
    """Loads models and evaluates predictions on two worker threads; reports through signals.

    ``predicted(Prediction)``, ``prediction_failed(id, message)``, ``loaded(load_id, key,
    LoadedModel)``, ``load_failed(load_id, key, message)``. Counters for tests and the status
    bar: ``submitted`` (requests), ``evaluated`` (predictions actually run).
    """

    predicted = Signal(object)
    prediction_failed = Signal(int, str)
    loaded = Signal(int, str, object)
    load_failed = Signal(int, str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.submitted = 0
        self.evaluated = 0
        self._lock = threading.Lock()
        self._devices: dict[str, tuple[str, str | None]] = {}
        self._load_keys: dict[int, str] = {}
        queued = Qt.ConnectionType.QueuedConnection  # also when emitted on this thread
        self._pred_relay = ThreadRelay(self)
        self._pred_relay.result.connect(self._on_predicted, queued)
        self._pred_relay.error.connect(self.prediction_failed, queued)
        self._load_relay = ThreadRelay(self)
        self._load_relay.result.connect(self._on_loaded, queued)
        self._load_relay.error.connect(self._on_load_error, queued)
        self._predictor = LatestWinsWorker(self._predict, self._pred_relay.send_result,
                                           self._pred_relay.send_error)
        # loads are rare and each one is wanted (a file the user picked): a queue, not latest-wins
        self._loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="surrogate-load")
        self._load_ids = itertools.count(1)
        self._loads: set[Future] = set()

    # -- GUI thread -----------------------------------------------------------------------------
    def load(self, key: str, path: str, study_id: str, param_names: Sequence[str],
             device: str) -> int:
        """Load ``path`` for ``study_id`` on the loader thread (loads run one after another);
        ``loaded`` or ``load_failed`` reports with the returned id."""
        return self._start_load(key, (key, str(path), study_id, tuple(param_names), device))

    def adopt(self, key: str, model: Any) -> int:
        """A model made in this process (e.g. just trained): summarise it on the loader thread."""
        return self._start_load(key, (key, model, None, None, None))

    def _start_load(self, key: str, request: tuple) -> int:
        load_id = next(self._load_ids)
        self._load_keys[load_id] = key
        future = self._loader.submit(self._load, request)
        self._loads.add(future)
        future.add_done_callback(lambda f, i=load_id: self._load_done(i, f))
        self._loader.submit(load_library, WARM_MODULES)  # after it: nothing waits for these
        return load_id

    def _load_done(self, load_id: int, future: Future) -> None:  # loader thread (or this one)
        self._loads.discard(future)
        if future.cancelled():
            return
        exc = future.exception()
        if exc is None:
            self._load_relay.send_result(load_id, future.result())
        elif isinstance(exc, PhysappError):
            self._load_relay.send_error(load_id, str(exc))
        else:
            self._load_relay.send_error(load_id, f"{type(exc).__name__}: {exc}")

    def submit(self, key: str, model: Any, params: Mapping[str, float], device: str,
               t_submit: float, check: Callable[[], Any] | None = None,
               fields: Sequence[str] | None = None) -> int:
        """Predict ``params`` with ``model`` (latest wins); returns the request id. ``check``
        (e.g. the study's cross-parameter check) runs first on the worker; its PhysappError
        is reported as a failed prediction. ``fields``: only these, where the model can
        (``meta["partial"]``), for frames while a slider moves."""
        self.submitted += 1
        return self._predictor.submit((key, model, dict(params), device, t_submit, check,
                                       None if fields is None else tuple(fields)))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until both workers are idle (tests)."""
        wait(list(self._loads), timeout)
        return not self._loads and self._predictor.wait_idle(timeout)

    def close(self) -> None:
        self._pred_relay.closed = self._load_relay.closed = True
        self._predictor.close()
        self._loader.shutdown(wait=False, cancel_futures=True)

    def _on_predicted(self, request_id: int, payload: Prediction) -> None:
        self.predicted.emit(replace(payload, request_id=request_id))

    def _on_loaded(self, load_id: int, payload: object) -> None:
        self.loaded.emit(load_id, self._load_keys.pop(load_id, ""), payload)

    def _on_load_error(self, load_id: int, message: str) -> None:
        self.load_failed.emit(load_id, self._load_keys.pop(load_id, ""), message)

    # -- worker threads -------------------------------------------------------------------------
    def _device(self, spec: str) -> tuple[str, str | None]:
        with self._lock:
            if spec not in self._devices:
                self._devices[spec] = resolve(spec)
            return self._devices[spec]

    def _load(self, request: tuple) -> LoadedModel:
        key, source, study_id, names, device = request
        if not isinstance(source, str):  # adopt(): already a model
            return LoadedModel(source, ModelSummary.of(source))
        load_library(NUMPY_MODULES)  # the same care for the modules of the numpy path
        from physapp.surrogates.storage import numpy_capable

        if not numpy_capable(source):  # a POD-GP model predicts with numpy: no torch at all
            _seconds, problem = load_library()  # torch, here and not on the GUI thread
            if problem:
                raise PhysappError(problem)
        return load_model(source, study_id, names, device)

    def _predict(self, request: tuple) -> Prediction:
        key, model, params, spec, t_submit, check, fields = request
        if check is not None:
            check()
        if getattr(model, "uses_torch", True):
            device, notice = self._device(spec)
        elif str(spec or "auto").strip().lower() in ("auto", "cpu"):
            device, notice = "cpu", None  # evaluated with numpy: no torch device to resolve
        else:  # a GPU asked for by name: say whether it exists, and that this model stays
            load_library()
            device, notice = self._device(spec)
            if device != "cpu":
                notice = (f"POD-GP models are evaluated with numpy on the CPU; {device} serves "
                          "the other models.")
            device = "cpu"
        if model.device != device:  # the device setting changed since it was loaded
            model.to(device)
        self.evaluated += 1
        result = model.predict(params) if fields is None else model.predict(params, fields)
        notes = [n for n in (notice, result.meta.get("notice", "")) if n]
        return Prediction(0, key, result, t_submit, " ".join(dict.fromkeys(notes)),
                          str(result.meta.get("device", device)))

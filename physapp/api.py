"""The scripting API: studies, solves, sweeps, training, prediction and export, without a display.

``import physapp`` exposes these names lazily (nothing heavy is imported until one is used)::

    import physapp

    result = physapp.solve("plate-with-hole", {"radius": 0.01})
    physapp.export(result, "plate.vtu")
    data = physapp.sweep("thick-cylinder", "cyl.h5", samples=16, workers=0)
    model = physapp.train(data, "pod-gp", out="cyl.pt")
    pred = physapp.predict(model, {"pressure": 2e8})

Every function raises :class:`physapp.PhysappError` (with a message saying what to fix) for bad
input; values are SI (m, Pa, W, K).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:  # pragma: no cover
    from physapp.core.results import FieldResult
    from physapp.core.study import Study
    from physapp.plugins import PluginInfo
    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.models.base import FieldSurrogate

__all__ = ["studies", "get_study", "solve", "sweep", "open_dataset", "train", "load_model",
           "predict", "export", "read_mesh", "plugins"]


def studies() -> list[str]:
    """Ids of every registered study (built-in and from plugins)."""
    from physapp.studies import list_studies

    return [s.spec.id for s in list_studies()]


def get_study(study: str | Study) -> Study:
    """The study registered as ``study`` (a study object passes through)."""
    if not isinstance(study, str):
        return study
    from physapp.studies import get_study as _get

    return _get(study)


def solve(study: str | Study, params: Mapping[str, float] | None = None, *, order: int = 2,
          progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> FieldResult:
    """Solve ``study`` at ``params`` (others keep their defaults) with the reference solver.

    Returns the :class:`~physapp.core.results.FieldResult`: ``mesh``, ``point_data`` (every
    field), ``units`` and ``meta["key_quantities"]`` (peak von Mises, max displacement, ...).
    """
    from physapp.solvers.reference import ReferenceSolver

    s = get_study(study)
    values = s.check(dict(params or {}))
    return ReferenceSolver(order=order).solve(s, values, progress=progress, cancel=cancel)


class _InProcess:
    """A minimal executor that runs each task at once in this process (``workers=0``)."""

    def submit(self, fn: Any, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


def sweep(study: str | Study, path: str | os.PathLike, samples: int = 32, *,
          vary: Sequence[str] | None = None, fixed: Mapping[str, float] | None = None,
          bounds: Mapping[str, tuple[float, float]] | None = None, sampler: str = "lhs",
          seed: int = 0, test_fraction: float = 0.2, order: int = 2, workers: int | None = 0,
          resume: bool = False, overwrite: bool = False, progress: ProgressFn = no_progress,
          cancel: CancelToken = NEVER) -> Dataset:
    """Plan a design of experiments and solve every sample into the HDF5 data set ``path``.

    Parameters
    ----------
    vary, fixed, bounds : which parameters vary, values of the fixed ones, narrower ranges.
    workers : ``0`` (the default) solves in this process, which runs safely in a plain
        script; ``N >= 1`` spawns N worker processes and ``None`` one per usable CPU; then a
        script must guard its top level with ``if __name__ == "__main__":`` since spawned
        workers import it again (as scikit-learn's ``n_jobs``: parallel only when asked).
    resume : continue an existing data set (solve its pending samples).

    Returns the :class:`~physapp.surrogates.dataset.Dataset` (``training_data()`` for training).
    """
    from physapp.surrogates.dataset import Dataset

    path = Path(path)
    if resume and path.exists():
        data = Dataset.open(path)
    else:
        data = Dataset.create(path, get_study(study), samples, sampler, seed, test_fraction,
                              vary=vary, fixed=fixed, bounds=bounds, order=order,
                              overwrite=overwrite, progress=progress, cancel=cancel)
    if workers == 0:
        from physapp.compute.cluster import run_sweep_on

        run_sweep_on(data, _InProcess(), progress=progress, cancel=cancel, poll=0.0)
    else:
        from physapp.compute.sweep import run_sweep

        run_sweep(data, workers, progress=progress, cancel=cancel)
    return Dataset.open(path)


def open_dataset(path: str | os.PathLike) -> Dataset:
    """An existing sweep data set."""
    from physapp.surrogates.dataset import Dataset

    return Dataset.open(path)


def _training_data(data: Any) -> TrainingData:
    if isinstance(data, (str, os.PathLike)):
        data = open_dataset(data)
    return data.training_data() if hasattr(data, "training_data") else data


def train(data: Any, model: str = "pod-gp", *, out: str | os.PathLike | None = None,
          device: str = "auto", seed: int = 0, progress: ProgressFn = no_progress,
          cancel: CancelToken = NEVER, **options: Any) -> FieldSurrogate:
    """Train a surrogate of kind ``model`` on a data set (a Dataset, its path or TrainingData).

    ``model``: ``pod-gp``, ``pod-mlp``, ``neural-field``, ``linear``, ``nearest`` or a plugin's
    architecture; ``options`` are the model's (e.g. ``epochs=200``). The history kinds
    ``pod-history`` and ``curve-gp`` take a data set of a history study (or its
    ``history_data()``); their ``predict_history(params)`` gives the predicted history. Held-out scores are in
    ``model.metrics``; with ``out`` the model is also saved there.
    """
    from physapp.surrogates.models import model_class
    from physapp.surrogates.training import train_surrogate

    if getattr(model_class(model), "HISTORY", False):  # pod-history, curve-gp (#18, #22)
        from physapp.surrogates.dataset import Dataset
        from physapp.surrogates.models.history_model import train_history

        hist = data if hasattr(data, "times") else (
            data if isinstance(data, Dataset) else Dataset.open(data)).history_data()
        trained = train_history(model, hist, seed=seed, progress=progress, cancel=cancel,
                                **options)
    else:
        trained = train_surrogate(model, _training_data(data), device=device, seed=seed,
                                  progress=progress, cancel=cancel, **options)
    if out is not None:
        from physapp.surrogates.storage import save_surrogate

        save_surrogate(trained, out)
    return trained


def load_model(path_or_study: str | os.PathLike, *, device: str = "auto") -> FieldSurrogate:
    """A saved model file, or for a study id the pre-trained model shipped for it (built-in
    ``resources/surrogates`` or a plugin's ``[[models]]``)."""
    from physapp.surrogates.storage import load_surrogate

    path = Path(path_or_study)
    if not path.exists() and not str(path_or_study).endswith(".pt"):
        from physapp.plugins import shipped_models

        found = shipped_models(str(path_or_study))
        if not found:
            raise PhysappError(f"'{path_or_study}' is neither a model file nor a study with a "
                               "shipped model.")
        path = found[0]
    return load_surrogate(path, device=device)


def predict(model: Any, params: Mapping[str, float] | None = None) -> FieldResult:
    """Evaluate a surrogate (an object, a model file or a study id) at ``params``. Parameters
    left out take the study's defaults, as in :func:`solve` (the centre of the trained range
    only where the study is unknown or its default lies outside that range)."""
    if not hasattr(model, "predict"):
        model = load_model(model)
    return model.predict(with_study_defaults(model, params))


def with_study_defaults(model: Any, params: Mapping[str, float] | None) -> dict[str, float]:
    """``params`` completed with the defaults of the model's study for the varied parameters it
    leaves out, where those defaults lie inside the model's trained range."""
    values = dict(params or {})
    try:
        spec = get_study(model.study_id).spec
    except Exception:  # noqa: BLE001 - unknown study (raw model): the model's own defaults
        return values
    defaults = {p.name: float(p.default) for p in spec.parameters}
    for name, (lo, hi) in zip(model.param_names, model.bounds, strict=True):
        if name not in values and name in defaults and lo <= defaults[name] <= hi:
            values[name] = defaults[name]
    return values


def export(result: FieldResult, path: str | os.PathLike) -> Path:
    """Write a result (solve or prediction) with every field; the format follows the extension
    (``.vtu``, ``.xdmf``, ``.vtk``, ``.stl``, ``.ply`` and those of plugin writers). Atomic."""
    from physapp.io.export import write_mesh

    return write_mesh(result, path)


def read_mesh(path: str | os.PathLike, **options: Any):
    """``(MeshData, ImportReport)`` of a mesh or CAD file (built-in or plugin readers)."""
    from physapp.io.readers import read_mesh as _read

    return _read(path, **options)


def plugins() -> list[PluginInfo]:
    """Every plugin found (the built-in one first), with contributions and errors."""
    from physapp.plugins import all_plugins

    return list(all_plugins(refresh=True))

"""Datasets of reference solves on morphs of one mesh, stored in HDF5 (h5py).

A dataset file holds the plan (every parameter row, the train/test split, the varied
parameters with their bounds, the fixed values, the solver order and the reference mesh) from the
moment it is created, and then, sample by sample, the node coordinates and fields of each solve
on the reference mesh morphed to that sample's geometry (see :mod:`physapp.geometry.morph`).

Writes are crash-safe per sample. Per-sample arrays are contiguous and allocated when the first
result arrives, so later writes change raw data only, never the file's structure; the arrays of a
sample are written and flushed before its status is set to done. A killed process therefore
leaves every finished sample readable and a half-written one still pending (it is redone).

Layout (format version 2; version 1 files, which lack ``fixed_topology``, are read as fixed)::

    /               attrs format="physapp-dataset", version, study_id, order, method, seed,
                    fixed_topology, ...
    /plan           X (n, p) solved points, X_planned (n, p), is_test (n,), param_names,
                    bounds (p, 2), range_bounds (p, 2); attrs fixed, reference_values,
                    valid_ranges, notes (JSON), replace_unmorphable
    /reference      points, cells/<i> (attr type), boundaries/<name>, subdomains/<name>
    /samples        status (n,) 0 pending / 1 done / 2 failed, message (n,), elapsed (n,),
                    replaced (n,) 1 where the planned point was replaced (not morphable)
                    coords (n, n_out, dim), fields/<name>, key_quantities/<name>
    /support        the solver's output topology: cells (attr type), boundaries/<name>

A study whose mesh topology changes with its parameters (``Study.fixed_topology = False``, e.g.
the perforated plate's number of holes) is not morphed: each sample is meshed afresh and carries
its own mesh, so ``coords``, ``fields`` and ``/support`` are replaced by one group per sample::

    /samples/meshes/<i>   points (n_i, dim), cells/0 (attr type), boundaries/<name>,
                          fields/<name> (n_i, ...) float32, inputs/<name> (input fields)
    /samples              key_quantities/<name> (n,); attrs field_units (JSON)

Data physapp did not make (``physapp dataset import``, :mod:`physapp.surrogates.external`) is
stored the same way by :meth:`Dataset.from_mesh_samples` (study_id "" or the source's name; plan
attrs ``param_units`` and ``input_names``; every sample done).

Histories (format version 3; #18, #22): a sweep of a study whose solve is a history keeps, per
sample, the fields at ``history_frames`` (root attr) times spread evenly over its span and the
curves at those times (:func:`physapp.surrogates.history_data.resample_history`)::

    /samples/history      attrs frames, time_label, time_unit, units, curve_units (JSON)
                          times (n, F), complete (n,) int8, fields/<name> (n, F, n_out[, k])
                          float32, curves/<name> (n, F)

written with the sample (before it is marked done). :meth:`Dataset.history_data` reads them.

A sample's group is written (and flushed) before its status is set to done; a group left by an
interrupted write is replaced when the sample is solved again. :meth:`Dataset.mesh_samples`
reads either layout as :class:`~physapp.surrogates.samples.MeshSamples`;
:func:`size_batches` groups samples of similar node counts for training.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.mesh import MeshData
from physapp.core.study import Study
from physapp.surrogates.data import TrainingData
from physapp.surrogates.dataset_create import DatasetCreateMixin
from physapp.surrogates.dataset_format import (  # noqa: F401 - importable here as before
    _CORNERS,
    _EDGES,
    DONE,
    FAILED,
    FORMAT,
    MESSAGE_BYTES,
    PENDING,
    READABLE,
    VERSION,
    _early,
    _fmt,
    _h5py,
    _has_param,
    _read_cells,
    _read_mesh,
    _read_sample_mesh,
    _with_points,
    _write_mesh,
    size_batches,
    support_points,
)
from physapp.surrogates.dataset_write import DatasetWriterMixin
from physapp.surrogates.history_data import HistoryData
from physapp.surrogates.samples import MeshSamples


class Dataset(DatasetCreateMixin, DatasetWriterMixin):
    """A dataset file: its plan in memory, samples read and written on demand.

    Use :meth:`create` for a new file and :meth:`open` for an existing one. The file is opened
    only for the duration of each read or write, so several objects (and processes reading) may
    refer to the same file; only one process should write at a time (the sweep's parent).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._load()

    # -- creation ------------------------------------------------------------------------------


    @classmethod
    def open(cls, path: str | os.PathLike) -> Dataset:
        """Open an existing dataset file (clear PhysappError if it is not one)."""
        return cls(path)

    # -- reading --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _file(self, mode: str = "r") -> Iterator[Any]:
        h5py = _h5py()
        try:
            f = h5py.File(self.path, mode)
        except FileNotFoundError:
            raise PhysappError(f"No dataset file {self.path}.") from None
        except OSError as exc:
            raise PhysappError(
                f"Cannot read {self.path} as a dataset (not an HDF5 file, truncated, or in use "
                f"by another writer): {exc}"
            ) from None
        try:
            yield f
        finally:
            f.close()

    def _load(self) -> None:
        with self._file() as f:
            if f.attrs.get("format") != FORMAT:
                raise PhysappError(f"{self.path} is not a physapp dataset.")
            version = int(f.attrs.get("version", -1))
            if version not in READABLE:
                raise PhysappError(
                    f"{self.path} is a physapp dataset of format version {version}; this physapp "
                    f"reads versions {', '.join(map(str, READABLE))}. Recreate it with this "
                    "version."
                )
            self.version = version
            self.fixed_topology = bool(f.attrs.get("fixed_topology", True))
            from physapp.surrogates.history_data import DEFAULT_FRAMES

            self.history_frames = int(f.attrs.get("history_frames", DEFAULT_FRAMES))
            try:
                a = f.attrs
                self.study_id = str(a["study_id"])
                self.order = int(a["order"])
                self.method = str(a["method"])
                self.seed = int(a["seed"])
                self.test_fraction = float(a["test_fraction"])
                plan = f["plan"]
                self.X = plan["X"][()]
                self.is_test = plan["is_test"][()].astype(bool)
                self.param_names = tuple(s.decode() if isinstance(s, bytes) else str(s)
                                         for s in plan["param_names"][()])
                self.bounds = plan["bounds"][()]
                self.range_bounds = plan["range_bounds"][()]
                self.fixed = json.loads(plan.attrs["fixed"])
                self.reference_values = json.loads(plan.attrs["reference_values"])
                self.valid_ranges = {k: tuple(v) for k, v in
                                     json.loads(plan.attrs["valid_ranges"]).items()}
                self.notes = list(json.loads(plan.attrs["notes"]))
                self.reference_mesh = _read_mesh(f["reference"])
                self.replace_unmorphable = bool(plan.attrs["replace_unmorphable"])
                self.X_planned = plan["X_planned"][()]
                self.param_units = dict(json.loads(plan.attrs.get("param_units", "{}")))
                self.input_names = tuple(json.loads(plan.attrs.get("input_names", "[]")))
                self.sample_names = list(json.loads(plan.attrs.get("sample_names", "[]")))
                self.status = f["samples/status"][()].astype(np.int8)
                self.replaced = f["samples/replaced"][()].astype(bool)
                self._messages = f["samples/message"][()]
            except (KeyError, ValueError, OSError) as exc:
                raise PhysappError(
                    f"{self.path} is an incomplete or damaged dataset ({exc}); recreate it."
                ) from None
        if self.X.shape != (len(self.status), len(self.param_names)):
            raise PhysappError(f"{self.path}: the plan and the sample table disagree; recreate it.")

    def refresh(self) -> None:
        """Re-read the sample status (after another process wrote to the file)."""
        with self._file() as f:
            self.status = f["samples/status"][()].astype(np.int8)
            self._messages = f["samples/message"][()]
            self.replaced = f["samples/replaced"][()].astype(bool)
            self.X = f["plan/X"][()]

    @property
    def n_samples(self) -> int:
        return len(self.X)

    def __repr__(self) -> str:
        c = self.counts()
        state = ", ".join(f"{v} {k}" for k, v in c.items() if v) or "empty"
        kind = "" if self.fixed_topology else ", samples with their own meshes"
        return (f"Dataset({self.path.name!r}, {self.study_id!r}, {self.n_samples} samples "
                f"({state}), parameters {', '.join(self.param_names)}, P{self.order}{kind})")

    @property
    def study(self) -> Study:
        from physapp.studies import get_study

        return get_study(self.study_id)

    def values(self, i: int) -> dict[str, float]:
        """All parameter values of sample ``i`` (varied + fixed)."""
        out = dict(self.fixed)
        out.update({n: float(v) for n, v in zip(self.param_names, self.X[i], strict=True)})
        return out

    def alternates(self, i: int, k: int = 8) -> list[dict[str, float]]:
        """Up to ``k`` replacement points for sample ``i`` (used when its planned point cannot be
        morphed): uniform in the bounds, buildable by the study, the same on every call."""
        if not self.replace_unmorphable:
            return []
        from physapp.surrogates import doe as _doe

        study = self.study
        design = _doe.Design(self.param_names, self.bounds, dict(self.fixed))
        accept = _doe.feasibility(study, design)
        rng = np.random.default_rng([self.seed, 7919, int(i)])
        out: list[dict[str, float]] = []
        for _ in range(50 * k):
            row = self.bounds[:, 0] + rng.random(len(self.param_names)) * np.ptp(self.bounds,
                                                                                   axis=1)
            row = _doe.snap_integers(row[None], self.bounds,
                                     _doe.integer_mask(study, self.param_names))[0]
            if accept(row):
                out.append(design.values(row))
                if len(out) == k:
                    break
        return out

    def message(self, i: int) -> str:
        return self._messages[i].decode("utf-8", errors="replace")

    def counts(self) -> dict[str, int]:
        """Number of pending, done and failed samples."""
        return {"pending": int((self.status == PENDING).sum()),
                "done": int((self.status == DONE).sum()),
                "failed": int((self.status == FAILED).sum())}

    def pending(self, retry_failed: bool = False) -> np.ndarray:
        """Indices of the samples still to solve (and the failed ones with ``retry_failed``)."""
        todo = self.status == PENDING
        if retry_failed:
            todo |= self.status == FAILED
        return np.flatnonzero(todo)

    def failures(self) -> list[tuple[int, dict[str, float], str]]:
        """(index, parameter values, message) of every failed sample."""
        return [(int(i), self.values(i), self.message(i))
                for i in np.flatnonzero(self.status == FAILED)]

    def support_mesh(self) -> MeshData:
        """The output topology of the samples with the reference geometry's coordinates."""
        with self._file() as f:
            if "support" not in f:
                raise PhysappError(f"{self.path} has no finished sample yet.")
            return self._support(f)

    def _support(self, f) -> MeshData:
        g = f["support"]
        cells = _read_cells(g["cells"])
        block = cells[0]
        n_out = int(g.attrs["n_points"])
        pts = support_points(self.reference_mesh.points, block.type, block.connectivity, n_out)
        return MeshData(pts, cells, {k: v[()] for k, v in g["boundaries"].items()},
                        dict(self.reference_mesh.subdomains), self.reference_mesh.dim,
                        self.reference_mesh.length_unit)

    def key_quantities(self) -> dict[str, np.ndarray]:
        """Each key quantity per sample (NaN until the sample is solved); {} when none."""
        with self._file() as f:
            group = f["samples"].get("key_quantities")
            if group is None:
                return {}
            return {name: np.asarray(group[name][()], dtype=float) for name in group}

    def training_data(self, include_failed: bool = False) -> TrainingData:
        """The finished samples as :class:`TrainingData` (coordinates and fields per sample).

        Failed samples have no fields and are left out; ``include_failed=True`` asks for them
        too and is refused while any sample failed (see :meth:`failures`). A data set whose
        samples have their own meshes (a topology-changing study) is refused: POD models need one
        topology; :meth:`mesh_samples` gives its samples to mesh-agnostic models.
        """
        if not self.fixed_topology:
            why = ("the study changes its topology (e.g. the number of holes)" if
                   self.method != "import" else "they were imported from result files")
            raise PhysappError(
                f"The samples of {self.path.name} ({self.study_id or 'imported data'}) have "
                f"different meshes: {why}, so a POD model, which needs one mesh morphed to "
                "every design, cannot learn them. Train a mesh-agnostic model instead (e.g. "
                "--model transolver; `physapp train --help` lists the models).")
        done = self._done_for_training(include_failed)
        with self._file() as f:
            s = f["samples"]
            mesh = self._support(f)
            coords = s["coords"][done]
            fields = {k: v[done] for k, v in s["fields"].items()}
            units = dict(json.loads(s["fields"].attrs["units"]))
            kq = {k: v[done] for k, v in s["key_quantities"].items()}
        return TrainingData(
            study_id=self.study_id, param_names=self.param_names, bounds=self.bounds,
            fixed=dict(self.fixed), mesh=mesh, X=self.X[done], coords=coords, fields=fields,
            units=units, is_test=self.is_test[done].copy(), key_quantities=kq,
        )

    def mesh_samples(self, include_failed: bool = False) -> MeshSamples:
        """The finished samples as :class:`~physapp.surrogates.samples.MeshSamples`: each with
        its own mesh (the support mesh at the sample's coordinates for a fixed-topology data
        set), its varied parameters, its fields as outputs and its key quantities.

        The same checks as :meth:`training_data` (at least 3 done, a training and a test sample).
        """
        from physapp.surrogates.samples import MeshSample, MeshSamples

        done = self._done_for_training(include_failed)
        samples = []
        with self._file() as f:
            s = f["samples"]
            if self.fixed_topology:
                support = self._support(f)
                units = dict(json.loads(s["fields"].attrs["units"]))
            else:
                units = dict(json.loads(s.attrs["field_units"]))
            kq_all = {k: v[()] for k, v in s["key_quantities"].items()}
            for i in done:
                if self.fixed_topology:
                    pts = s["coords"][i].astype(np.float64)
                    mesh = _with_points(support, pts)
                    fields = {k: v[i] for k, v in s["fields"].items()}
                else:
                    g = s["meshes"][str(i)]
                    mesh = _read_sample_mesh(g, self.reference_mesh)
                    fields = {k: v[()] for k, v in g["fields"].items()}
                    inputs = {k: v[()] for k, v in g["inputs"].items()} if "inputs" in g else {}
                name = (self.sample_names[i] if i < len(self.sample_names)
                        else f"sample {i}")
                samples.append(MeshSample(
                    mesh, {n: float(v) for n, v in zip(self.param_names, self.X[i], strict=True)},
                    fields, inputs if not self.fixed_topology else {},
                    key_quantities={k: float(v[i]) for k, v in kq_all.items()}, name=name))
        if self.param_units:
            units.update(self.param_units)
        else:
            units.update({n: self.study.spec.parameter(n).unit for n in self.param_names
                          if _has_param(self.study_id, n)})
        return MeshSamples(samples, self.param_names, tuple(sorted(samples[0].outputs)),
                           self.input_names, units=units, is_test=self.is_test[done].copy(),
                           bounds=self.bounds.copy(), study_id=self.study_id,
                           fixed=dict(self.fixed))

    def node_counts(self) -> np.ndarray:
        """(n,) node count of every sample's output mesh (0 where it is not done)."""
        out = np.zeros(self.n_samples, dtype=np.int64)
        with self._file() as f:
            s = f["samples"]
            for i in np.flatnonzero(self.status == DONE):
                if self.fixed_topology:
                    out[i] = s["coords"].shape[1]
                else:
                    out[i] = s["meshes"][str(i)]["points"].shape[0]
        return out

    def _done_for_training(self, include_failed: bool) -> np.ndarray:
        self.refresh()
        done = np.flatnonzero(self.status == DONE)
        failed = int((self.status == FAILED).sum())
        if include_failed and failed:
            raise ParameterError(
                f"{failed} sample(s) failed and have no fields; retry them "
                "(physapp sweep --resume --retry-failed) or leave them out."
            )
        if len(done) < 3:
            raise PhysappError(
                f"Only {len(done)} of {self.n_samples} samples are done; at least 3 are needed "
                "to train (run or resume the sweep)."
            )
        if not self.is_test[done].any() or self.is_test[done].all():
            raise PhysappError(
                "The finished samples include no test sample (or no training sample); finish "
                "the sweep or create the dataset with more samples."
            )
        return done

    # -- writing (one writer at a time) ------------------------------------------------------


    @property
    def has_history(self) -> bool:
        """True when the samples carry histories (a sweep of a history study)."""
        with self._file() as f:
            return "samples/history" in f

    def history_data(self) -> HistoryData:
        """The finished samples' histories (:class:`~physapp.surrogates.history_data.
        HistoryData`): samples with an incomplete history or another time grid than most are
        left out (``left_out`` says which and why); the same checks as :meth:`training_data`."""
        from physapp.surrogates.history_data import HistoryData, common_grid

        if not self.has_history:
            raise PhysappError(
                f"{self.path.name} holds no histories: its study ({self.study_id}) solves "
                "one state, or the sweep was made before histories were kept (format "
                f"version {self.version}); sweep again, or train a field model.")
        done = self._done_for_training(False)
        with self._file() as f:
            s = f["samples"]
            g = s["history"]
            times = g["times"][()][done]
            complete = g["complete"][()][done].astype(bool)
            keep, grid = common_grid(times, complete)
            notes = []
            for i, ok, comp in zip(done, keep, complete, strict=True):
                if not ok:
                    why = "its history is incomplete" if not comp else "another time span"
                    notes.append(f"sample {int(i)} left out: {why}")
            idx = done[keep]
            fields = {k: v[idx] for k, v in g["fields"].items()}
            curves = {k: v[idx] for k, v in g["curves"].items()}
            coords = s["coords"][idx]
            mesh = self._support(f)
            units = dict(json.loads(g.attrs["units"]))
            curve_units = dict(json.loads(g.attrs["curve_units"]))
            label, unit = str(g.attrs["time_label"]), str(g.attrs["time_unit"])
        is_test = self.is_test[idx].copy()
        if len(idx) < 3 or is_test.all() or not is_test.any():
            raise PhysappError(
                f"Only {len(idx)} complete histories on one time grid, "
                f"{int(is_test.sum())} of them held out; at least 3 with a training and a test "
                "sample are needed (" + "; ".join(notes[:3]) + ").")
        return HistoryData(self.study_id, self.param_names, self.bounds.copy(), dict(self.fixed),
                           mesh, self.X[idx].copy(), grid, coords, fields, curves, units,
                           curve_units, is_test, label, unit, notes)


    def summary(self) -> str:
        """One line: study, samples done/failed/pending, split."""
        c = self.counts()
        return (f"{self.study_id}: {self.n_samples} samples ({int(self.is_test.sum())} test), "
                f"{c['done']} done, {c['failed']} failed, {c['pending']} pending; varies "
                f"{', '.join(self.param_names)}")

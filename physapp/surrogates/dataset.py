"""Datasets of reference solves on morphs of one mesh, stored in HDF5 (h5py).

A dataset file holds the plan (every parameter row, the train/test split, the varied
parameters with their bounds, the fixed values, the solver order and the reference mesh) from the
moment it is created, and then, sample by sample, the node coordinates and fields of each solve
on the reference mesh morphed to that sample's geometry (see :mod:`physapp.surrogates.morph`).

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
import datetime
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import Study
from physapp.surrogates import doe
from physapp.surrogates.data import TrainingData
from physapp.surrogates.history_data import HistoryData
from physapp.surrogates.samples import MeshSamples

FORMAT = "physapp-dataset"
VERSION = 3
#: versions this physapp reads (1: before per-sample meshes, read as fixed topology; 2: before
#: histories, read as having none)
READABLE = (1, 2, 3)
PENDING, DONE, FAILED = 0, 1, 2
MESSAGE_BYTES = 500

#: midside nodes of quadratic cells: local corner pairs (meshio / VTK order)
_EDGES = {
    "triangle6": ((0, 1), (1, 2), (2, 0)),
    "tetra10": ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3)),
}
_CORNERS = {"triangle": 3, "triangle6": 3, "tetra": 4, "tetra10": 4}


def support_points(reference: np.ndarray, cell_type: str, conn: np.ndarray,
                   n_points: int) -> np.ndarray:
    """Coordinates of an output mesh's nodes from its corner nodes' coordinates ``reference``:
    corners are the input nodes, midside nodes (P2) the midpoints of their straight edges."""
    nc = _CORNERS[cell_type]
    pts = np.full((n_points, reference.shape[1]), np.nan)
    pts[conn[:, :nc]] = reference[conn[:, :nc]]
    for k, (a, b) in enumerate(_EDGES.get(cell_type, ())):
        pts[conn[:, nc + k]] = 0.5 * (reference[conn[:, a]] + reference[conn[:, b]])
    return pts


def _h5py():
    import h5py

    return h5py


def _early(h5py) -> Any:
    """Creation properties: contiguous storage allocated at once, never filled (sparse file)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return dcpl


def _write_mesh(group, mesh: MeshData) -> None:
    group.attrs["dim"] = mesh.dim
    group.attrs["length_unit"] = mesh.length_unit
    group.create_dataset("points", data=mesh.points)
    cells = group.create_group("cells")
    for i, block in enumerate(mesh.cells):
        ds = cells.create_dataset(str(i), data=block.connectivity)
        ds.attrs["type"] = block.type
    bnd = group.create_group("boundaries")
    for name, facets in mesh.boundaries.items():
        bnd.create_dataset(name, data=facets)
    sub = group.create_group("subdomains")
    for name, ids in mesh.subdomains.items():
        sub.create_dataset(name, data=ids)


def _read_cells(group) -> tuple[CellBlock, ...]:
    return tuple(CellBlock(str(group[k].attrs["type"]), group[k][()])
                 for k in sorted(group, key=int))


def _read_mesh(group) -> MeshData:
    return MeshData(
        group["points"][()], _read_cells(group["cells"]),
        {k: v[()] for k, v in group["boundaries"].items()},
        {k: v[()] for k, v in group["subdomains"].items()},
        int(group.attrs["dim"]), str(group.attrs["length_unit"]),
    )


def _read_sample_mesh(group, reference: MeshData) -> MeshData:
    """A sample's own output mesh (a subdomain of the reference that holds every cell, e.g.
    "plate", holds every cell of the sample too)."""
    cells = _read_cells(group["cells"])
    n_cells = sum(len(c) for c in cells)
    subs = {k: np.arange(n_cells) for k, v in reference.subdomains.items()
            if len(v) == reference.n_cells}
    return MeshData(group["points"][()].astype(np.float64), cells,
                    {k: v[()] for k, v in group["boundaries"].items()}, subs, reference.dim,
                    reference.length_unit)


def _with_points(mesh: MeshData, points: np.ndarray) -> MeshData:
    return MeshData(points, mesh.cells, dict(mesh.boundaries), dict(mesh.subdomains), mesh.dim,
                    mesh.length_unit)


def _has_param(study_id: str, name: str) -> bool:
    from physapp.studies import get_study

    try:
        get_study(study_id).spec.parameter(name)
    except (KeyError, PhysappError):
        return False
    return True


def size_batches(node_counts: Sequence[int], max_points: int) -> list[list[int]]:
    """Indices grouped into batches of samples of similar size (for mesh-agnostic training).

    Samples are sorted by node count and cut greedily so that a batch padded to its largest
    sample holds at most ``max_points`` nodes (a sample larger than that is a batch of its own).
    Every index appears exactly once.
    """
    counts = np.asarray(node_counts, dtype=np.int64)
    if max_points < 1:
        raise ParameterError(f"max_points must be at least 1 (got {max_points}).")
    batches: list[list[int]] = []
    current: list[int] = []
    for i in np.argsort(counts, kind="stable"):
        if current and (len(current) + 1) * counts[i] > max_points:
            batches.append(current)
            current = []
        current.append(int(i))
    if current:
        batches.append(current)
    return batches


def _fmt(study: Study, name: str, value: float) -> str:
    p = study.spec.parameter(name)
    unit = p.shown_unit
    return f"{value * p.scale:.4g}{' ' + unit if unit else ''}"


class Dataset:
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
    def create(
        cls,
        path: str | os.PathLike,
        study: Study | str,
        n: int,
        method: str = "lhs",
        seed: int = 0,
        test_fraction: float = 0.2,
        vary: Sequence[str] | None = None,
        fixed: Mapping[str, float] | None = None,
        bounds: Mapping[str, tuple[float, float]] | None = None,
        order: int = 2,
        *,
        reference: Mapping[str, float] | None = None,
        overwrite: bool = False,
        check_morph: bool = True,
        history_frames: int | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> Dataset:
        """Plan a dataset and write the plan (no solve yet).

        Parameters
        ----------
        path : the HDF5 file to write.
        study : a study or its id.
        n : number of samples.
        method : ``"lhs"`` (Latin hypercube) or ``"sobol"`` (scrambled Sobol).
        seed : seed of the sampler and of the train/test split.
        test_fraction : fraction of samples held out for testing.
        vary : parameters to vary (default: all design parameters not in ``fixed``).
        fixed : values of parameters held fixed (the rest keep their defaults).
        bounds : narrower bounds (name -> (lower, upper)) for varied parameters.
        order : element order of the reference solver (1 or 2).
        reference : values of the reference geometry (default: the study defaults, or the
            middle of the bounds when a default lies outside them).
        overwrite : replace an existing file.
        check_morph : find the range of each varied geometric parameter over which the
            reference mesh can be morphed (:func:`~physapp.surrogates.morph.valid_range`); default
            bounds are narrowed to it (see :attr:`notes`), explicit bounds beyond it are refused.
            Since the ranges hold one parameter at a time, a combination of values can still be
            refused: such a sample is then replaced during the sweep by the first morphable of
            up to 8 other points drawn for it (:meth:`alternates`, reproducible); ``replaced``
            marks them and ``X_planned`` keeps the original plan.
        history_frames : frames kept per sample of a study whose solve is a history (default
            :func:`~physapp.surrogates.history_data.default_frames`).

        Rows the study refuses (e.g. a hole too large for the plate) are replaced by further
        draws of the sampler, so that every planned sample can be built.
        """
        from physapp.studies import get_study
        from physapp.surrogates.morph import Morpher, valid_range

        path = Path(path)
        if isinstance(study, str):
            study = get_study(study)
        if order not in (1, 2):
            raise ParameterError(f"The element order must be 1 or 2 (got {order}).")
        if path.exists() and not overwrite:
            raise PhysappError(
                f"{path} already exists: choose another file, resume it, or overwrite it."
            )
        if n < 3:
            raise ParameterError(f"A dataset needs at least 3 samples (got {n}).")
        from physapp.surrogates.history_data import DEFAULT_FRAMES

        frames = DEFAULT_FRAMES if history_frames is None else int(history_frames)
        if not 2 <= frames <= 100_000:
            raise ParameterError(f"history_frames must be between 2 and 100000 (got {frames}).")
        is_test = doe.split(n, test_fraction, seed)
        doe.check_method(method)
        design = doe.resolve_design(study, vary, fixed, bounds)
        fixed_topology = bool(getattr(study, "fixed_topology", True))
        if not fixed_topology:
            check_morph = False  # every sample is meshed afresh: nothing is morphed
        user_bounds = set(bounds or {})
        spec_bounds = np.array([[study.spec.parameter(p).lower, study.spec.parameter(p).upper]
                                for p in design.names])
        ref = dict(design.fixed)
        for name, (lo, hi) in zip(design.names, design.bounds, strict=True):
            default = study.spec.parameter(name).default
            ref[name] = default if lo <= default <= hi else 0.5 * (lo + hi)
        for name, value in (reference or {}).items():
            if name not in design.names:
                raise ParameterError(f"reference: {name} is not a varied parameter.")
            ref[name] = float(value)
        ref = study.check(ref)
        if history_frames is None:  # the study may ask for more (a fast periodic flow)
            from physapp.surrogates.history_data import default_frames

            frames = default_frames(study, ref)
        cancel.check()
        progress(0.0, "Meshing the reference geometry")
        mesh = study.build_mesh(ref, progress=scaled(progress, 0.0, 0.1), cancel=cancel)
        notes: list[str] = []
        ranges: dict[str, tuple[float, float]] = {}
        geometric = [nm for nm in design.names if study.spec.parameter(nm).geometric]
        box = design.bounds.copy()
        if check_morph and geometric:
            morpher = Morpher(study, ref, mesh)
            for i, name in enumerate(geometric):
                k = design.names.index(name)
                lo, hi = box[k]
                sub = scaled(progress, 0.1 + 0.85 * i / len(geometric),
                             0.1 + 0.85 * (i + 1) / len(geometric))
                a, b = valid_range(study, ref, name, morpher=morpher, lower=lo, upper=hi,
                                   progress=sub, cancel=cancel)
                ranges[name] = (a, b)
                if (a, b) == (lo, hi):
                    continue
                span = (f"[{_fmt(study, name, a)}, {_fmt(study, name, b)}]")
                if name in user_bounds:
                    raise ParameterError(
                        f"The reference mesh can be morphed only for {name} within {span} "
                        f"(others at the reference); narrow its bounds "
                        f"[{_fmt(study, name, lo)}, {_fmt(study, name, hi)}] to that range."
                    )
                box[k] = (a, b)
                notes.append(
                    f"{name}: range [{_fmt(study, name, lo)}, {_fmt(study, name, hi)}] narrowed "
                    f"to {span}, where the study can build it and the reference mesh can be "
                    "morphed to it (others at the reference)"
                )
        design = doe.Design(design.names, box, design.fixed)
        progress(0.95, "Sampling")
        rows, rejected = doe.sample_feasible(box, n, method, seed, doe.feasibility(study, design),
                                             integers=doe.integer_mask(study, design.names))
        if rejected:
            notes.append(f"{rejected} sampled point(s) the study cannot build were replaced by "
                         "further draws")
        tmp = path.with_name(path.name + ".tmp")
        h5py = _h5py()
        try:
            with h5py.File(tmp, "w") as f:
                a = f.attrs
                a["format"], a["version"] = FORMAT, VERSION
                a["fixed_topology"] = fixed_topology
                a["history_frames"] = frames
                a["study_id"], a["order"] = study.spec.id, order
                a["method"], a["seed"], a["test_fraction"] = method, seed, test_fraction
                a["created"] = datetime.datetime.now().isoformat(timespec="seconds")
                from physapp import __version__

                a["physapp_version"] = __version__
                plan = f.create_group("plan")
                plan.create_dataset("X", data=rows)
                plan.create_dataset("X_planned", data=rows)
                plan.attrs["replace_unmorphable"] = bool(check_morph)
                plan.create_dataset("is_test", data=is_test)
                plan.create_dataset("param_names", data=list(design.names),
                                    dtype=h5py.string_dtype())
                plan.create_dataset("bounds", data=box)
                plan.create_dataset("range_bounds", data=spec_bounds)
                plan.attrs["fixed"] = json.dumps(design.fixed)
                plan.attrs["reference_values"] = json.dumps(ref)
                plan.attrs["valid_ranges"] = json.dumps(ranges)
                plan.attrs["notes"] = json.dumps(notes)
                _write_mesh(f.create_group("reference"), mesh)
                s = f.create_group("samples")
                s.create_dataset("status", data=np.zeros(n, dtype=np.int8))
                s.create_dataset("message", data=np.zeros(n, dtype=f"S{MESSAGE_BYTES}"))
                s.create_dataset("elapsed", data=np.full(n, np.nan))
                s.create_dataset("replaced", data=np.zeros(n, dtype=np.int8))
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        progress(1.0, f"Planned {n} samples")
        return cls(path)

    @classmethod
    def from_mesh_samples(cls, path: str | os.PathLike, data: MeshSamples, *,
                          overwrite: bool = False, notes: Sequence[str] = (),
                          source: str = "") -> Dataset:
        """Write samples that each have their own mesh (e.g. imported result files) as a
        complete data set (every sample done); ``source`` is stored as the study id when the
        samples name none."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise PhysappError(f"{path} already exists: choose another file or overwrite it.")
        n = len(data)
        names = tuple(data.param_names)
        all_fields = [*data.output_names, *data.input_names]
        units = {k: data.units.get(k, "") for k in all_fields}
        kq_names = sorted({k for s in data.samples for k in s.key_quantities})
        h5py = _h5py()
        tmp = path.with_name(path.name + ".tmp")
        try:
            with h5py.File(tmp, "w") as f:
                a = f.attrs
                a["format"], a["version"], a["fixed_topology"] = FORMAT, VERSION, False
                a["study_id"], a["order"] = data.study_id or source, 0
                a["method"], a["seed"] = "import", 0
                a["test_fraction"] = float(np.mean(data.is_test))
                a["created"] = datetime.datetime.now().isoformat(timespec="seconds")
                from physapp import __version__

                a["physapp_version"] = __version__
                plan = f.create_group("plan")
                X = data.X
                plan.create_dataset("X", data=X)
                plan.create_dataset("X_planned", data=X)
                plan.create_dataset("is_test", data=data.is_test)
                plan.create_dataset("param_names", data=list(names), dtype=h5py.string_dtype())
                plan.create_dataset("bounds", data=data.bounds)
                plan.create_dataset("range_bounds", data=data.bounds)
                plan.attrs["replace_unmorphable"] = False
                plan.attrs["fixed"] = json.dumps(dict(data.fixed))
                plan.attrs["reference_values"] = json.dumps({})
                plan.attrs["valid_ranges"] = json.dumps({})
                plan.attrs["notes"] = json.dumps(list(notes))
                plan.attrs["param_units"] = json.dumps({k: data.units.get(k, "") for k in names})
                plan.attrs["input_names"] = json.dumps(list(data.input_names))
                plan.attrs["output_names"] = json.dumps(list(data.output_names))
                plan.attrs["sample_names"] = json.dumps([smp.name for smp in data.samples])
                _write_mesh(f.create_group("reference"), data.samples[0].mesh)
                s = f.create_group("samples")
                s.create_dataset("status", data=np.full(n, DONE, dtype=np.int8))
                s.create_dataset("message", data=np.zeros(n, dtype=f"S{MESSAGE_BYTES}"))
                s.create_dataset("elapsed", data=np.full(n, np.nan))
                s.create_dataset("replaced", data=np.zeros(n, dtype=np.int8))
                s.attrs["field_units"] = json.dumps(units)
                kq = s.create_group("key_quantities")
                for k in kq_names:
                    kq.create_dataset(k, data=np.array(
                        [smp.key_quantities.get(k, np.nan) for smp in data.samples]))
                meshes = s.create_group("meshes")
                for i, smp in enumerate(data.samples):
                    g = meshes.create_group(str(i))
                    m = smp.mesh
                    g.create_dataset("points", data=m.points[:, : max(m.dim, 2)])
                    cg = g.create_group("cells")
                    for k, block in enumerate(m.cells):
                        c = cg.create_dataset(str(k), data=block.connectivity)
                        c.attrs["type"] = block.type
                    b = g.create_group("boundaries")
                    for name, facets in m.boundaries.items():
                        b.create_dataset(name, data=facets)
                    fg = g.create_group("fields")
                    for name in data.output_names:
                        fg.create_dataset(name, data=smp.outputs[name])
                    ig = g.create_group("inputs")
                    for name in data.input_names:
                        ig.create_dataset(name, data=smp.inputs[name])
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return cls(path)

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

    def write_sample(self, i: int, coords: np.ndarray, fields: Mapping[str, np.ndarray],
                     units: Mapping[str, str], key_quantities: Mapping[str, float],
                     cells: CellBlock, boundaries: Mapping[str, np.ndarray],
                     elapsed: float = float("nan"),
                     values: Mapping[str, float] | None = None,
                     history: Mapping[str, Any] | None = None) -> None:
        """Store a finished sample: node coordinates (n_out, dim), fields, key quantities.

        ``cells``/``boundaries`` are the output mesh's topology (kept from the first sample;
        later samples must match it). ``values`` are the parameters actually solved when they
        replace the planned point (see :meth:`alternates`). ``history`` is the sample's history
        resampled by :func:`~physapp.surrogates.history_data.resample_history` (fixed-topology
        data sets only).
        """
        row = None
        if values is not None:
            row = np.array([float(values[n]) for n in self.param_names])
            if np.array_equal(row, self.X[i]):
                row = None
        h5py = _h5py()
        coords = np.asarray(coords, dtype=np.float32)
        with self._file("r+") as f:
            s = f["samples"]
            if not self.fixed_topology:
                self._write_own_mesh(f, i, coords, fields, units, key_quantities, cells,
                                     boundaries)
            elif "support" not in f:
                self._create_outputs(f, h5py, coords, fields, units, key_quantities, cells,
                                     boundaries)
            if self.fixed_topology:
                self._write_on_support(f, i, coords, fields, cells)
                for name, ds in s["key_quantities"].items():
                    ds[i] = float(key_quantities.get(name, np.nan))
                if history is not None:
                    self._write_history(f, h5py, i, history, len(coords))
            s["elapsed"][i] = elapsed
            s["message"][i] = b""
            if row is not None:
                f["plan/X"][i] = row
                s["replaced"][i] = 1
            f.flush()  # every array of the sample is on disk before it is marked done
            s["status"][i] = DONE
            f.flush()
        self.status[i] = DONE
        self._messages[i] = b""
        if row is not None:
            self.X[i] = row
            self.replaced[i] = True

    def _write_on_support(self, f, i, coords, fields, cells) -> None:
        s, sup = f["samples"], f["support"]
        if coords.shape != s["coords"].shape[1:] or not np.array_equal(
                sup["cells/0"][()], cells.connectivity):
            raise PhysappError(
                f"Sample {i}: its mesh topology differs from the dataset's (the morph did "
                "not preserve the reference mesh)."
            )
        missing = set(s["fields"]) ^ set(fields)
        if missing:
            raise PhysappError(f"Sample {i}: fields {sorted(missing)} differ from the "
                               "dataset's.")
        s["coords"][i] = coords
        for name, arr in fields.items():
            s["fields"][name][i] = np.asarray(arr, dtype=np.float32)

    def _write_history(self, f, h5py, i: int, history: Mapping[str, Any], n_out: int) -> None:
        s = f["samples"]
        times = np.asarray(history["times"], dtype=np.float64)
        frames = len(times)
        if "history" not in s:
            g = s.create_group("history")
            g.attrs["frames"] = frames
            g.attrs["time_label"] = str(history.get("time_label", "time"))
            g.attrs["time_unit"] = str(history.get("time_unit", "s"))
            g.attrs["units"] = json.dumps(dict(history.get("units", {})))
            g.attrs["curve_units"] = json.dumps(dict(history.get("curve_units", {})))
            g.create_dataset("times", data=np.full((self.n_samples, frames), np.nan))
            g.create_dataset("complete", data=np.zeros(self.n_samples, dtype=np.int8))
            fg = g.create_group("fields")
            for name, arr in history["fields"].items():
                fg.create_dataset(name, shape=(self.n_samples, *np.shape(arr)),
                                  dtype=np.float32, dcpl=_early(h5py))
            cg = g.create_group("curves")
            for name in history["curves"]:
                cg.create_dataset(name, data=np.full((self.n_samples, frames), np.nan))
            f.attrs["version"] = max(int(f.attrs.get("version", VERSION)), 3)
        g = s["history"]
        if frames != int(g.attrs["frames"]):
            raise PhysappError(f"Sample {i}: its history has {frames} frames, the data set's "
                               f"{int(g.attrs['frames'])}.")
        if set(g["fields"]) ^ set(history["fields"]):
            raise PhysappError(f"Sample {i}: history fields {sorted(history['fields'])} differ "
                               f"from the data set's {sorted(g['fields'])}.")
        for name, arr in history["fields"].items():
            arr = np.asarray(arr, dtype=np.float32)
            if arr.shape != g["fields"][name].shape[1:] or arr.shape[1] != n_out:
                raise PhysappError(f"Sample {i}: history field {name} has shape {arr.shape}, "
                                   f"the data set's {g['fields'][name].shape[1:]}.")
            g["fields"][name][i] = arr
        for name, ds in g["curves"].items():
            ds[i] = np.asarray(history["curves"].get(name, np.full(frames, np.nan)), float)
        g["times"][i] = times
        g["complete"][i] = int(bool(history.get("complete", True)))

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

    def _write_own_mesh(self, f, i, coords, fields, units, key_quantities, cells,
                        boundaries) -> None:
        """A sample with its own mesh: one group, replaced if an interrupted write left one."""
        s = f["samples"]
        if "field_units" not in s.attrs:  # the first sample fixes the fields and quantities
            s.attrs["field_units"] = json.dumps({k: units.get(k, "") for k in fields})
            if "key_quantities" in s:
                del s["key_quantities"]
            kq = s.create_group("key_quantities")
            for name in key_quantities:
                kq.create_dataset(name, data=np.full(self.n_samples, np.nan))
        known = set(json.loads(s.attrs["field_units"]))
        if known ^ set(fields):
            raise PhysappError(f"Sample {i}: fields {sorted(known ^ set(fields))} differ from "
                               "the dataset's.")
        meshes = s.require_group("meshes")
        if str(i) in meshes:
            del meshes[str(i)]
        g = meshes.create_group(str(i))
        g.create_dataset("points", data=coords)
        c = g.create_group("cells").create_dataset("0", data=cells.connectivity)
        c.attrs["type"] = cells.type
        b = g.create_group("boundaries")
        for name, facets in boundaries.items():
            b.create_dataset(name, data=facets)
        fg = g.create_group("fields")
        for name, arr in fields.items():
            arr = np.asarray(arr, dtype=np.float32)
            if arr.shape[:1] != (len(coords),):
                raise PhysappError(f"Sample {i}: field {name} has {arr.shape[0]} values for "
                                   f"{len(coords)} nodes.")
            fg.create_dataset(name, data=arr)
        for name, ds in s["key_quantities"].items():
            ds[i] = float(key_quantities.get(name, np.nan))

    def _create_outputs(self, f, h5py, coords, fields, units, key_quantities, cells,
                        boundaries) -> None:
        n = self.n_samples
        nc = _CORNERS[cells.type]
        ref = self.reference_mesh.points[:, : coords.shape[1]]
        conn = cells.connectivity
        if conn[:, :nc].max() >= len(ref):
            raise PhysappError("The output mesh's corner nodes are not the input mesh's nodes.")
        mid = support_points(coords.astype(np.float64), cells.type, conn, len(coords))
        scale = float(np.ptp(coords, axis=0).max())
        if not np.allclose(mid, coords, rtol=0.0, atol=1e-5 * scale):
            raise PhysappError("The output mesh's midside nodes are not the midpoints of its "
                               "edges; this dataset format cannot store it.")
        s = f["samples"]
        for name in ("coords", "fields", "key_quantities", "history"):  # an interrupted 1st write
            if name in s:
                del s[name]
        shape = (n, *coords.shape)
        s.create_dataset("coords", shape=shape, dtype=np.float32,
                         dcpl=_early(h5py))
        g = s.create_group("fields")
        for name, arr in fields.items():
            shp = (n, *np.shape(arr))
            g.create_dataset(name, shape=shp, dtype=np.float32, dcpl=_early(h5py))
        g.attrs["units"] = json.dumps({k: units.get(k, "") for k in fields})
        kq = s.create_group("key_quantities")
        for name in key_quantities:
            kq.create_dataset(name, data=np.full(n, np.nan))
        sup = f.create_group("support")
        sup.attrs["n_points"] = coords.shape[0]
        c = sup.create_group("cells").create_dataset("0", data=cells.connectivity)
        c.attrs["type"] = cells.type
        b = sup.create_group("boundaries")
        for name, facets in boundaries.items():
            b.create_dataset(name, data=facets)
        f.flush()

    def write_failure(self, i: int, message: str, elapsed: float = float("nan")) -> None:
        """Mark sample ``i`` failed with a (truncated) message."""
        raw = message.encode("utf-8")[:MESSAGE_BYTES]
        with self._file("r+") as f:
            s = f["samples"]
            s["message"][i] = raw
            s["elapsed"][i] = elapsed
            f.flush()
            s["status"][i] = FAILED
            f.flush()
        self.status[i] = FAILED
        self._messages[i] = raw

    def mark_pending(self, indices: Sequence[int] | np.ndarray) -> None:
        """Set samples back to pending (they are solved again by the next sweep)."""
        idx = np.unique(np.asarray(indices, dtype=np.int64))
        with self._file("r+") as f:
            st = f["samples/status"]
            for i in idx:
                st[int(i)] = PENDING
            f.flush()
        self.status[idx] = PENDING

    def summary(self) -> str:
        """One line: study, samples done/failed/pending, split."""
        c = self.counts()
        return (f"{self.study_id}: {self.n_samples} samples ({int(self.is_test.sum())} test), "
                f"{c['done']} done, {c['failed']} failed, {c['pending']} pending; varies "
                f"{', '.join(self.param_names)}")

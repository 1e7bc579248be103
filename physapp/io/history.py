"""FieldHistory files: an HDF5 writer that streams one step at a time and a lazy reader.

The writer (:class:`HistoryWriter`, a ``core.history_sink.HistorySink``) appends each step to
resizable chunked datasets (one chunk per step and field), updates the ``n_steps`` attribute and
flushes. Datasets grow in blocks of ``GROW`` steps with every chunk of a block allocated at once,
so an ordinary step writes raw data and one attribute only, never the file's structure: a process
killed at any moment leaves a file that opens with the steps it had finished (the reader trusts
``n_steps``, not the datasets' lengths). The reader (:func:`read_history`) returns a
``FieldHistory`` whose ``point_data`` are :class:`H5Frames`: array-likes that read one frame (or
one node's history) at a time, so a history larger than memory plays from disk.

Layout (format version 1)::

    /            attrs format="physapp-history", version, n_steps, complete, source, time_label,
                 time_unit, meta, units, curve_units (JSON)
    /mesh        points, cells/<i> (attr type), boundaries/<name>, subdomains/<name>,
                 edges/<name>, point_sets/<name>; attrs dim, length_unit
    /times       (capacity,) float64
    /fields/<f>  (capacity, n_points[, k]) float32, chunks (1, n_points[, k])
    /curves/<c>  (capacity,) float64 (NaN where a curve has no value)
    /ranges      (n_keys, 2) float64: min and max of every field (vector: magnitude and each
                 component; attr keys) over the steps written, for one colour range at once
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.history import FieldHistory
from physapp.core.history_sink import frame_ranges, merge_ranges, range_keys
from physapp.core.mesh import CellBlock, MeshData
from physapp.io.step_lock import WriterLock, reading

FORMAT = "physapp-history"
VERSION = 1
#: steps allocated at a time (the only moments the file's structure changes while streaming)
GROW = 16


class HistoryFileError(PhysappError):
    """A history file that cannot be read (not one, damaged, or from a newer version)."""


def _h5py():
    import h5py

    return h5py


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, tuple)):
        return list(value)
    return str(value)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, allow_nan=True)


def _write_mesh(group, mesh: MeshData) -> None:
    group.attrs["dim"] = mesh.dim
    group.attrs["length_unit"] = mesh.length_unit
    group.create_dataset("points", data=np.asarray(mesh.points))
    cells = group.create_group("cells")
    for i, block in enumerate(mesh.cells):
        ds = cells.create_dataset(str(i), data=np.asarray(block.connectivity))
        ds.attrs["type"] = block.type
    for key in ("boundaries", "subdomains", "edges", "point_sets"):
        g = group.create_group(key)
        for name, values in getattr(mesh, key).items():
            g.create_dataset(name, data=np.asarray(values))


def _read_mesh(group) -> MeshData:
    cells = group["cells"]
    blocks = tuple(CellBlock(str(cells[k].attrs["type"]), cells[k][()])
                   for k in sorted(cells, key=int))
    regions = {key: {k: v[()] for k, v in group[key].items()} if key in group else {}
               for key in ("boundaries", "subdomains", "edges", "point_sets")}
    return MeshData(group["points"][()], blocks, regions["boundaries"], regions["subdomains"],
                    int(group.attrs["dim"]), str(group.attrs["length_unit"]),
                    regions["edges"], regions["point_sets"])


class HistoryWriter:
    """Streams a history to ``path`` (HDF5), one flushed step per :meth:`append`.

    Use as a sink (``begin`` / ``append`` / ``end``), or as a context manager, or call
    :meth:`close` (the file then stays marked incomplete unless ``end`` was called).
    ``compression`` is an h5py filter name (``"lzf"``, ``"gzip"``) or None.
    """

    def __init__(self, path: str | os.PathLike, *, compression: str | None = None) -> None:
        self.path = Path(path)
        self.compression = compression
        self._f = None
        self._n = 0
        self._cap = 0
        self._fields: dict[str, Any] = {}
        self._curves: dict[str, Any] = {}
        self._lock: WriterLock | None = None  # held while the file changes (step_lock)

    def _held(self):
        return self._lock.held() if self._lock is not None else contextlib.nullcontext()

    # -- sink protocol -------------------------------------------------------------------------
    def begin(self, mesh: MeshData, *, source: str, units=None, curve_units=None,
              time_label: str = "time", time_unit: str = "s", meta=None) -> None:
        if self._f is not None:
            raise RuntimeError("begin() called twice")
        self._lock = WriterLock(self.path)  # before the file: a reader that sees it waits
        try:
            with self._lock.held():
                self._begin(mesh, source=source, units=units, curve_units=curve_units,
                            time_label=time_label, time_unit=time_unit, meta=meta)
        except BaseException:
            self._lock.close()
            self._lock = None
            raise

    def _begin(self, mesh: MeshData, *, source: str, units=None, curve_units=None,
               time_label: str = "time", time_unit: str = "s", meta=None) -> None:
        h5py = _h5py()
        self.mesh = mesh
        try:
            f = h5py.File(self.path, "w", libver="earliest")
        except OSError as exc:
            raise PhysappError(f"Cannot write the history file '{self.path}': {exc}") from None
        self._f = f
        a = f.attrs
        a["format"], a["version"], a["n_steps"], a["complete"] = FORMAT, VERSION, 0, False
        a["source"], a["time_label"], a["time_unit"] = source, time_label, time_unit
        a["meta"] = _dumps(dict(meta or {}))
        a["units"] = _dumps(dict(units or {}))
        a["curve_units"] = _dumps(dict(curve_units or {}))
        _write_mesh(f.create_group("mesh"), mesh)
        f.create_group("fields")
        f.create_group("curves")
        self._times = self._dataset("/", "times", (), np.float64, 1024)
        f.flush()

    @property
    def n_steps(self) -> int:
        return self._n

    def _dataset(self, group: str, name: str, tail: tuple[int, ...], dtype, chunk_steps: int):
        h5py = _h5py()
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)  # a block's chunks exist before writes
        fill = np.nan if dtype is np.float64 else None
        ds = self._f[group].create_dataset(
            name, shape=(self._cap, *tail), maxshape=(None, *tail), dtype=dtype,
            chunks=(chunk_steps, *tail), dcpl=dcpl, fillvalue=fill,
            compression=self.compression if group == "fields" else None)
        return ds

    def _grow(self, need: int) -> None:
        if need <= self._cap:
            return
        self._cap = max(need, self._cap + GROW)
        for ds in (self._times, *self._fields.values(), *self._curves.values()):
            ds.resize(self._cap, axis=0)

    def append(self, time: float, point_data: Mapping[str, np.ndarray],
               curves: Mapping[str, float] | None = None) -> None:
        if self._f is None:
            raise RuntimeError("append() before begin() (or after end())")
        with self._held():  # readers in other processes wait for the whole step
            self._append(time, point_data, curves)

    def _append(self, time: float, point_data: Mapping[str, np.ndarray],
                curves: Mapping[str, float] | None) -> None:
        n = self._n
        if not self._fields:
            for name, values in point_data.items():
                arr = np.asarray(values)
                if arr.shape[0] != self.mesh.n_points:
                    raise ValueError(f"field {name!r} has {arr.shape[0]} values for "
                                     f"{self.mesh.n_points} nodes")
                self._fields[name] = self._dataset("fields", name, arr.shape, np.float32, 1)
            keys = [k for name, v in point_data.items() for k in range_keys(name, v)]
            self._range_ds = self._f.create_dataset("ranges", shape=(len(keys), 2),
                                                    dtype=np.float64, fillvalue=np.nan)
            self._range_ds.attrs["keys"] = _dumps(keys)
            self._range_keys, self._ranges = keys, {}
        elif set(point_data) != set(self._fields):
            raise ValueError(f"step {n} has fields {sorted(point_data)}; the history has "
                             f"{sorted(self._fields)}")
        for name in (curves or {}):
            if name not in self._curves:
                self._curves[name] = self._dataset("curves", name, (), np.float64, GROW)
        self._grow(n + 1)
        for name, values in point_data.items():
            self._fields[name][n] = np.asarray(values, dtype=np.float32)
        for name, value in (curves or {}).items():
            self._curves[name][n] = float(value)
        self._times[n] = float(time)
        merge_ranges(self._ranges, frame_ranges(point_data))
        self._range_ds[...] = np.array([self._ranges[k] for k in self._range_keys])
        self._f.flush()  # data of step n on disk before it is counted
        self._n = n + 1
        self._f.attrs["n_steps"] = self._n
        self._f.flush()

    def end(self, *, complete: bool = True, meta: Mapping[str, Any] | None = None) -> FieldHistory:
        """Mark the file complete (or not), add ``meta``, close it and read it back lazily."""
        if self._f is None:
            raise RuntimeError("end() before begin()")
        with self._held():
            a = self._f.attrs
            if meta:
                a["meta"] = _dumps({**json.loads(a["meta"]), **dict(meta)})
            a["complete"] = bool(complete)
        self.close()
        return read_history(self.path)

    def close(self) -> None:
        if self._f is not None:
            with self._held():
                try:
                    self._f.flush()
                finally:
                    self._f.close()
                    self._f = None
        if self._lock is not None:  # the file is whole: readers need not wait any more
            self._lock.close()
            self._lock = None

    def __enter__(self) -> HistoryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _OpenFile:
    """One read-only handle shared by a history's lazy arrays (re-opened after unpickling)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._f = None
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._f is None:
                # no HDF5 file lock: a history may be read while its writer is still alive
                self._f = _h5py().File(self.path, "r", locking=False)
            return self._f

    def close(self) -> None:
        with self._lock:
            if self._f is not None:
                self._f.close()
                self._f = None

    def __getstate__(self) -> dict:
        return {"path": self.path}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"])

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown
        try:
            self.close()
        except Exception:
            pass


class H5Frames:
    """An array-like view ``(n_steps, n_points[, k])`` of one field in a history file.

    Indexing reads only what is asked for (``frames[i]`` one frame, ``frames[:n, node]`` one
    node's history); ``np.asarray(frames)`` reads everything.
    """

    def __init__(self, file: _OpenFile, key: str, shape: tuple[int, ...], dtype) -> None:
        self._file = file
        self._key = key
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def _norm(self, key):
        """Clip the step index to the steps the file has (capacity beyond is unwritten)."""
        n = self.shape[0]
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) else (key, ())
        if isinstance(first, (int, np.integer)):
            if not -n <= first < n:
                raise IndexError(f"step {first} of {n}")
            first = int(first) % n
        elif isinstance(first, slice):
            first = slice(*first.indices(n))
        elif first is Ellipsis:
            first, rest = slice(0, n), (Ellipsis, *rest)
        else:
            idx = np.asarray(first)
            if idx.dtype == bool:
                idx = np.flatnonzero(idx)
            first = np.where(idx < 0, idx + n, idx)
            if first.size and (first.min() < 0 or first.max() >= n):
                raise IndexError(f"step index out of range for {n} steps")
        return first, rest

    def __getitem__(self, key) -> np.ndarray:
        first, rest = self._norm(key)
        with reading(self._file.path):  # not while a writer in another process changes it
            ds = self._file.get()[self._key]
            if isinstance(first, np.ndarray):  # h5py wants increasing unique indices
                order = np.unique(first)
                block = ds[(order, *rest)]
                return np.asarray(block)[np.searchsorted(order, first)]
            return np.asarray(ds[(first, *rest)])

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        a = self[0: self.shape[0]]
        return a if dtype is None else a.astype(dtype)

    def __repr__(self) -> str:
        return f"H5Frames({self._file.path.name}:{self._key}, shape={self.shape})"


def history_file(history: FieldHistory) -> Path | None:
    """The file a lazily read history's frames come from (None for one in memory)."""
    for values in history.point_data.values():
        if isinstance(values, H5Frames):
            return values._file.path
    return None


def read_history(path: str | os.PathLike, *, lazy: bool = True) -> FieldHistory:
    """Read a history file: every finished step, also of a file whose writer was killed
    (``complete`` is then False), or whose writer is still adding steps (read between two
    of them: see :mod:`physapp.io.step_lock`). ``lazy=False`` loads every frame into memory."""
    with reading(path):
        return _read_history(Path(path), lazy)


def _read_history(path: Path, lazy: bool) -> FieldHistory:
    if not path.is_file():
        raise HistoryFileError(f"No history file '{path}'.")
    handle = _OpenFile(path)
    try:
        f = handle.get()
    except OSError as exc:
        raise HistoryFileError(f"'{path.name}' is not a readable history file ({exc}).") from None
    try:
        a = f.attrs
        if a.get("format") != FORMAT:
            raise HistoryFileError(f"'{path.name}' is not a physapp history file.")
        if int(a["version"]) > VERSION:
            raise HistoryFileError(f"'{path.name}' is history format {int(a['version'])}; this "
                                   f"physapp reads up to {VERSION}: update physapp.")
        fields = {k: v for k, v in f["fields"].items()}
        lengths = [len(f["times"])] + [len(v) for v in fields.values()]
        n = max(0, min([int(a["n_steps"]), *lengths]))
        mesh = _read_mesh(f["mesh"])
        times = f["times"][:n]
        meta = json.loads(a["meta"])
        if "ranges" in f and n:
            keys = json.loads(f["ranges"].attrs["keys"])
            meta["field_ranges"] = {k: [float(x) for x in row]
                                    for k, row in zip(keys, f["ranges"][()], strict=False)}
        curves = {k: v[:n] for k, v in f["curves"].items()}
        if lazy:
            point_data = {k: H5Frames(handle, f"fields/{k}", (n, *v.shape[1:]), v.dtype)
                          for k, v in fields.items()}
        else:
            point_data = {k: v[:n] for k, v in fields.items()}
        history = FieldHistory(
            mesh, times, point_data, str(a["source"]), meta=meta,
            units=json.loads(a["units"]), curves=curves,
            curve_units=json.loads(a["curve_units"]), time_label=str(a["time_label"]),
            time_unit=str(a["time_unit"]), complete=bool(a["complete"]))
    except HistoryFileError:
        handle.close()
        raise
    except (KeyError, ValueError, OSError, TypeError) as exc:
        handle.close()
        raise HistoryFileError(f"'{path.name}' is a damaged history file ({exc}).") from None
    if not lazy:
        handle.close()
    return history


def write_history(history: FieldHistory, path: str | os.PathLike, *,
                  compression: str | None = None) -> Path:
    """Write a whole history (e.g. an in-memory one) to ``path``, frame by frame."""
    from physapp.io.export import atomic_write

    def write(tmp: str) -> None:
        w = HistoryWriter(tmp, compression=compression)
        w.begin(history.mesh, source=history.source, units=history.units,
                curve_units=history.curve_units, time_label=history.time_label,
                time_unit=history.time_unit, meta=history.meta)
        for i in range(history.n_steps):
            w.append(float(history.times[i]),
                     {k: np.asarray(v[i]) for k, v in history.point_data.items()},
                     {k: float(v[i]) for k, v in history.curves.items()})
        w._f.attrs["complete"] = bool(history.complete)
        w.close()

    return atomic_write(path, write)


#: a history kept in memory may use at most this share of the memory available when it starts
MEMORY_SHARE = 0.25


class SpillingHistorySink:
    """Frames in memory until they would use more than ``limit_bytes`` (default: a quarter of
    the available memory, or ``$PHYSAPP_HISTORY_MEMORY``, e.g. ``2G``), then on to a temporary HDF5
    file, so a history larger than memory streams to disk instead of failing. The returned
    history is in memory, or lazy on that file (unlinked at once: the open handle keeps it
    readable until the history goes)."""

    def __init__(self, limit_bytes: float | None = None) -> None:
        from physapp.core.history_sink import MemoryHistorySink

        if limit_bytes is None:
            env = os.environ.get("PHYSAPP_HISTORY_MEMORY", "").strip()
            if env:
                from physapp.core.memory import parse_size

                limit_bytes = float(parse_size(env))
            else:
                from physapp.core.memory import available_bytes

                limit_bytes = MEMORY_SHARE * available_bytes()
        self.limit = float(limit_bytes)
        self._memory = MemoryHistorySink()
        self._writer: HistoryWriter | None = None
        self._head: tuple = ((), {})
        self._bytes = 0
        self.spilled_to: Path | None = None

    def begin(self, mesh: MeshData, **kw) -> None:
        self._head = ((mesh,), kw)
        self._memory.begin(mesh, **kw)

    @property
    def n_steps(self) -> int:
        return self._writer.n_steps if self._writer is not None else self._memory.n_steps

    def append(self, time: float, point_data, curves=None) -> None:
        if self._writer is not None:
            self._writer.append(time, point_data, curves)
            return
        self._bytes += sum(4 * np.asarray(v).size for v in point_data.values())
        if self._bytes <= self.limit:
            self._memory.append(time, point_data, curves)
            return
        import tempfile

        fd, name = tempfile.mkstemp(prefix="physapp-history-", suffix=".h5")
        os.close(fd)
        self.spilled_to = Path(name)
        self._writer = HistoryWriter(self.spilled_to)
        args, kw = self._head
        self._writer.begin(*args, **kw)
        done = self._memory.end()
        for i in range(done.n_steps):
            self._writer.append(float(done.times[i]),
                                {k: v[i] for k, v in done.point_data.items()},
                                {k: float(v[i]) for k, v in done.curves.items()})
        self._memory = None
        self._writer.append(time, point_data, curves)

    def end(self, *, complete: bool = True, meta=None) -> FieldHistory:
        if self._writer is None:
            return self._memory.end(complete=complete, meta=meta)
        history = self._writer.end(complete=complete, meta=meta)
        try:
            self.spilled_to.unlink()  # the history's open handle keeps the data readable
        except OSError:
            pass
        return history

"""Data physapp did not make: a folder of result files, one per sample, as :class:`MeshSamples`.

``physapp dataset import FOLDER --inputs k --outputs T --params params.csv --out data.h5``
reads every VTU, legacy VTK, XDMF or Gmsh MSH file of the folder (meshes may differ from file to
file) through the isolated reader (:func:`physapp.io.readers.read_mesh` in a child process, so a
file that crashes a reader is one problem, not the end of the import). The user names which
point arrays are *inputs* (e.g. a conductivity field), which are *outputs* (the fields to learn)
and where the scalar *parameters* come from: a CSV with one row per file (a column ``file`` names
it) or each file's field data.

Units may be written in an array's or a column's name, ``T [K]`` or ``T (K)``; the name without
the unit is what the user declares. Every problem of a file (unreadable, an array missing or not
given at the nodes, NaN or infinite values, a unit that differs from the other files', a missing
or non-numeric parameter, no CSV row) is listed with the file's name; the other files are
imported. ``strict=True`` refuses the whole import instead when any file has a problem.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.surrogates.samples import MeshSample, MeshSamples

#: result formats read from a folder (others are listed as skipped)
SUFFIXES = (".vtu", ".vtk", ".xdmf", ".xmf", ".msh")
#: CSV columns that may name the file of a row
FILE_COLUMNS = ("file", "filename", "file_name", "path", "name", "sample")
MIN_SAMPLES = 3
_UNIT = re.compile(r"^\s*(.*?)\s*(?:\[([^\]]*)\]|\(([^)]*)\))\s*$")


class ImportRefused(PhysappError):
    """The import was refused; ``problems`` lists every file's problem."""

    def __init__(self, message: str, problems: Sequence[FileProblem] = ()) -> None:
        self.problems = list(problems)
        listed = "".join(f"\n  {p}" for p in self.problems[:50])
        more = (f"\n  ... and {len(self.problems) - 50} more" if len(self.problems) > 50 else "")
        super().__init__(message + listed + more)


@dataclass(frozen=True)
class FileProblem:
    """Why one file (or one CSV row) was left out."""

    file: str
    problem: str

    def __str__(self) -> str:
        return f"{self.file}: {self.problem}"


@dataclass
class FolderImport:
    """The imported samples, the files they come from and the problems of the others."""

    samples: MeshSamples | None
    files: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        n = len(self.files)
        sizes = [s.mesh.n_points for s in self.samples.samples] if self.samples else [0]
        text = (f"imported {n} file(s) ({min(sizes)}-{max(sizes)} nodes)"
                if n else "imported no file")
        if self.problems:
            text += f"; {len(self.problems)} left out"
        if self.skipped:
            text += f"; {len(self.skipped)} other file(s) ignored"
        return text


def split_unit(name: str) -> tuple[str, str | None]:
    """``"T [K]"`` -> ``("T", "K")``; ``"T"`` -> ``("T", None)``."""
    m = _UNIT.match(name)
    if m and m.group(1):
        return m.group(1), (m.group(2) if m.group(2) is not None else m.group(3)).strip()
    return name.strip(), None


# -- reading one file (in the isolated child) ------------------------------------------------


def read_result_file(path: str, length_unit: str = "m") -> dict:
    """Mesh, point arrays, cell-array names and scalar field data of one result file.

    Runs in the isolated child (:func:`read_results`). Point arrays are mapped onto the nodes of
    the mesh :func:`~physapp.io.readers.read_mesh` builds (coincident nodes merged, unused nodes
    dropped) by matching coordinates."""
    from scipy.spatial import cKDTree

    from physapp.io.readers import UNIT_TO_M, ImportError_, _meshio_read, read_mesh

    mesh, report = read_mesh(path, length_unit=length_unit, isolate=False)
    raw = _meshio_read(Path(path))
    pts = np.asarray(raw.points, dtype=np.float64)
    if pts.shape[1] == 2:
        pts = np.column_stack([pts, np.zeros(len(pts))])
    pts = pts[:, :3] * UNIT_TO_M[length_unit]
    point_data = {}
    if raw.point_data:
        dist, idx = cKDTree(pts).query(mesh.points)
        scale = float(np.ptp(mesh.points, axis=0).max()) or 1.0
        if np.any(dist > 1e-9 * scale):
            raise ImportError_(f"'{Path(path).name}': the point arrays cannot be matched to the "
                               "mesh nodes.")
        for name, arr in raw.point_data.items():
            arr = np.asarray(arr)
            if name.startswith("gmsh:") or arr.dtype.kind not in "fiub" or len(arr) != len(pts):
                continue
            point_data[name] = arr[idx].astype(np.float64)
    cell_names = sorted(k for k in getattr(raw, "cell_data", {}) if not k.startswith("gmsh:"))
    field_data = {}
    for name, arr in getattr(raw, "field_data", {}).items():
        a = np.asarray(arr)
        if a.size == 1 and a.dtype.kind in "fiu":
            field_data[name] = float(a.reshape(-1)[0])
    return {"mesh": mesh, "point_data": point_data, "cell_data": cell_names,
            "field_data": field_data, "notes": list(report.repairs)}


def read_results(path: Path, length_unit: str, *, isolate: bool = True,
                 timeout: float | None = None) -> dict:
    """:func:`read_result_file` in an isolated child (a crash or a hang is a clear error)."""
    if not isolate:
        return read_result_file(str(path), length_unit)
    from physapp.core.isolate import ChildCrashed, run_isolated
    from physapp.io.readers import ImportError_

    if timeout is None:
        timeout = _timeout()
    try:
        return run_isolated(read_result_file, str(path), length_unit, timeout=timeout,
                            what=f"Reading '{path.name}'")
    except ChildCrashed as exc:
        raise ImportError_(f"the reader crashed on this file ({exc.signal_name or exc}); it is "
                           "probably corrupt.") from None


def read_many(paths: Sequence[str], length_unit: str,
              progress: ProgressFn = no_progress) -> list[dict | str]:
    """:func:`read_result_file` for several files (in one isolated child): per file its result
    or the message of its PhysappError."""
    from physapp.core.errors import PhysappError as _Error

    out: list[dict | str] = []
    for k, path in enumerate(paths):
        progress(k / len(paths), f"Reading {Path(path).name}")
        try:
            out.append(read_result_file(path, length_unit))
        except _Error as exc:
            out.append(_strip_name(str(exc), Path(path).name))
    return out


def _read_folder(files: list[Path], length_unit: str, isolate: bool, progress: ProgressFn,
                 cancel: CancelToken, chunk: int = 32) -> list[dict | str]:
    """Every file's result or problem. Isolated: chunks of files in one child each; a chunk
    whose child crashes or hangs is read again file by file, so that only the culprit fails."""
    if not isolate:
        out = []
        for k, path in enumerate(files):
            cancel.check()
            progress(k / len(files), f"Reading {path.name} ({k + 1}/{len(files)})")
            out.extend(read_many([str(path)], length_unit))
        return out
    from physapp.core.isolate import run_isolated

    out = []
    for start in range(0, len(files), chunk):
        part = files[start:start + chunk]
        sub = scaled(progress, start / len(files), (start + len(part)) / len(files))
        try:
            out.extend(run_isolated(read_many, [str(p) for p in part], length_unit,
                                    timeout=_timeout() * len(part), cancel=cancel,
                                    what=f"Reading {len(part)} result file(s)", progress=sub))
        except PhysappError as exc:
            from physapp.core.errors import Cancelled

            if isinstance(exc, Cancelled):
                raise
            for path in part:  # find the file that crashed the reader
                cancel.check()
                try:
                    out.append(read_results(path, length_unit, isolate=True))
                except Cancelled:
                    raise
                except PhysappError as err:
                    out.append(_strip_name(str(err), path.name))
    return out


def _timeout() -> float:
    try:
        return float(os.environ.get("PHYSAPP_READ_TIMEOUT", "") or 300.0)
    except ValueError:
        return 300.0


# -- parameters --------------------------------------------------------------------------------


def read_params_csv(path: Path) -> tuple[dict[str, dict[str, float]], dict[str, str],
                                         list[FileProblem]]:
    """(file name -> {parameter: value}, parameter -> unit, problems of rows) from a CSV whose
    column ``file`` (or filename, path, name, sample) names each row's file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise PhysappError(f"Cannot read the parameter table '{path}': {exc}.") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise PhysappError(f"The parameter table '{path.name}' is empty.")
    header = [c.strip() for c in rows[0]]
    lowered = [split_unit(h)[0].lower() for h in header]
    col = next((lowered.index(c) for c in FILE_COLUMNS if c in lowered), None)
    if col is None:
        raise PhysappError(
            f"The parameter table '{path.name}' has no column naming the files: add a column "
            f"'file' (columns found: {', '.join(header)}).")
    names, units = [], {}
    for k, h in enumerate(header):
        if k == col:
            continue
        base, unit = split_unit(h)
        if not base:
            raise PhysappError(f"The parameter table '{path.name}': column {k + 1} has no name.")
        if base in names:
            raise PhysappError(f"The parameter table '{path.name}' has the column '{base}' "
                               "twice.")
        names.append(base)
        units[base] = unit or ""
    table: dict[str, dict[str, float]] = {}
    problems = []
    for line, row in enumerate(rows[1:], start=2):
        where = f"{path.name} line {line}"
        if len(row) != len(header):
            problems.append(FileProblem(
                row[col].strip() if len(row) > col else where,
                f"{where} has {len(row)} values for {len(header)} columns"))
            continue
        fname = row[col].strip()
        values, bad = {}, []
        cols = [k for k in range(len(header)) if k != col]
        for name, k in zip(names, cols, strict=True):
            try:
                v = float(row[k])
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                bad.append(f"{name} = '{row[k].strip()}'")
            values[name] = v
        if bad:
            problems.append(FileProblem(fname or where, f"{where}: parameter(s) not a finite "
                                        f"number: {', '.join(bad)}"))
            continue
        if fname in table:
            problems.append(FileProblem(fname, f"{where}: a second row for this file"))
            continue
        table[fname] = values
    return table, units, problems


# -- the import ----------------------------------------------------------------------------


def import_folder(
    folder: str | os.PathLike,
    inputs: Sequence[str] = (),
    outputs: Sequence[str] = (),
    params: str | os.PathLike | Sequence[str] | None = None,
    *,
    length_unit: str = "m",
    strict: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
    isolate: bool = True,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> FolderImport:
    """Read a folder of result files as :class:`MeshSamples` (see the module docstring).

    Parameters
    ----------
    folder : the folder; every file with a suffix of :data:`SUFFIXES` is one sample.
    inputs, outputs : names of the point arrays that are input fields and output fields
        (without their unit).
    params : a CSV file (one row per file), or the names of scalars in each file's field data;
        None: every scalar of the field data that all files have.
    length_unit : unit of the coordinates in the files.
    strict : refuse the import when any file has a problem (else those files are left out).
    test_fraction, seed : the random held-out split of the imported samples.

    Raises :class:`ImportRefused` (with every problem) when fewer than 3 files can be imported,
    or with ``strict`` when any file has a problem; PhysappError for a wrong folder or table.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise PhysappError(f"'{folder}' is not a folder.")
    inputs = [split_unit(n)[0] for n in inputs]
    outputs = [split_unit(n)[0] for n in outputs]
    from physapp.surrogates.plaid_io import is_plaid_folder

    if is_plaid_folder(folder):
        return _import_plaid(folder, inputs, outputs, params, strict, test_fraction, seed,
                             isolate, progress, cancel)
    if not outputs:
        raise PhysappError("Name at least one output field (--outputs), e.g. --outputs "
                           "temperature.")
    both = sorted(set(inputs) & set(outputs))
    if both:
        raise PhysappError(f"{', '.join(both)} is named both as an input and as an output.")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    skipped = sorted(p.name for p in folder.iterdir() if p.is_file()
                     and p.suffix.lower() not in SUFFIXES and p.suffix.lower() not in (".csv",
                                                                                        ".h5"))
    if not files:
        raise PhysappError(f"'{folder}' holds no result file ({', '.join(SUFFIXES)}).")
    table, param_units, problems = None, {}, []
    param_names: list[str] | None = None
    if isinstance(params, (str, os.PathLike)) and str(params).lower().endswith(".csv"):
        csv_path = Path(params)
        if not csv_path.is_absolute() and not csv_path.exists():
            csv_path = folder / csv_path
        if not csv_path.is_file():
            raise PhysappError(f"The parameter table '{params}' does not exist.")
        table, param_units, problems = read_params_csv(csv_path)
        param_names = list(param_units)
    elif params is not None:
        names = [params] if isinstance(params, str) else list(params)
        param_names = [split_unit(n)[0] for n in names for n in str(n).split(",") if n.strip()]
    read: list[tuple[Path, dict]] = []
    got_all = _read_folder(files, length_unit, isolate, scaled(progress, 0.0, 0.9), cancel)
    for path, got in zip(files, got_all, strict=True):
        if isinstance(got, str):
            problems.append(FileProblem(path.name, got))
        else:
            read.append((path, got))
    progress(0.9, "Checking the files")
    bad_rows = {p.file for p in problems}  # their row's problem is listed already
    samples, names_ok = _build_samples(read, inputs, outputs, table, param_names, problems,
                                       bad_rows)
    if table is not None:
        known = {p.name for p in files} | {p.stem for p in files}
        for fname in table:
            if fname not in known and Path(fname).name not in known:
                problems.append(FileProblem(fname, "named in the parameter table, but there is "
                                            "no such result file in the folder"))
    problems = _merge(problems)
    result = FolderImport(None, [n for n, _ in samples], problems, skipped)
    if strict and problems:
        raise ImportRefused(f"Import refused: {len(problems)} problem(s) in '{folder.name}' "
                            "(without --strict the other files are imported):", problems)
    if len(samples) < MIN_SAMPLES:
        raise ImportRefused(
            f"Import refused: only {len(samples)} of {len(files)} file(s) can be used, at least "
            f"{MIN_SAMPLES} are needed." + (" Problems:" if problems else ""), problems)
    is_test = _split(len(samples), test_fraction, seed)
    units = dict(names_ok["units"])
    units.update({p: param_units.get(p, names_ok["param_units"].get(p, "")) for p in
                  names_ok["params"]})
    result.samples = MeshSamples([s for _, s in samples], tuple(names_ok["params"]),
                                 tuple(outputs), tuple(inputs), units=units, is_test=is_test)
    progress(1.0, result.summary())
    return result


def _split(n: int, test_fraction: float, seed: int) -> np.ndarray:
    n_test = max(1, int(round(test_fraction * n))) if test_fraction > 0 else 0
    is_test = np.zeros(n, dtype=bool)
    if n_test and n - n_test >= 2:
        is_test[np.random.default_rng(seed).permutation(n)[:n_test]] = True
    return is_test


def _import_plaid(folder, inputs, outputs, params, strict, test_fraction, seed, isolate,
                  progress, cancel) -> FolderImport:
    """A PLAID data set (``infos.yaml`` + ``data/``): :mod:`physapp.surrogates.plaid_io`."""
    from physapp.surrogates.plaid_io import read_plaid

    if isinstance(params, (str, os.PathLike)) and str(params).lower().endswith(".csv"):
        raise PhysappError(f"'{folder.name}' is a PLAID data set: its parameters are its global "
                           "scalars; name them (--params a,b) instead of a CSV table.")
    names = None
    if params is not None:
        names = [split_unit(n)[0] for n in ([params] if isinstance(params, str) else params)
                 for n in str(n).split(",") if n.strip()]
    data, found = read_plaid(folder, inputs or None, outputs or None, names, isolate=isolate,
                             progress=progress, cancel=cancel)
    problems = [FileProblem(label, text) for label, text in found]
    if strict and problems:
        raise ImportRefused(f"Import refused: {len(problems)} problem(s) in '{folder.name}' "
                            "(without --strict the other samples are imported):", problems)
    n = len(data) if data is not None else 0
    if n < MIN_SAMPLES:
        raise ImportRefused(f"Import refused: only {n} sample(s) of the PLAID data set "
                            f"'{folder.name}' can be used, at least {MIN_SAMPLES} are needed."
                            + (" Problems:" if problems else ""), problems)
    if not data.is_test.any() or data.is_test.all():  # no usable train/test splits
        data.is_test = _split(n, test_fraction, seed)
    result = FolderImport(data, [s.name for s in data.samples], problems)
    progress(1.0, result.summary())
    return result


def _strip_name(message: str, name: str) -> str:
    for prefix in (f"'{name}': ", f"'{name}' "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _arrays(point_data: Mapping[str, np.ndarray]) -> dict[str, tuple[str, str | None]]:
    """Declared name -> (name in the file, unit or None)."""
    out = {}
    for raw in point_data:
        base, unit = split_unit(raw)
        out.setdefault(base, (raw, unit))
    return out


def _merge(problems: list[FileProblem]) -> list[FileProblem]:
    """One entry per file (its problems joined), in the order files were first named."""
    out: dict[str, list[str]] = {}
    for p in problems:
        out.setdefault(p.file, []).append(p.problem)
    return [FileProblem(f, "; ".join(v)) for f, v in out.items()]


def _build_samples(read, inputs, outputs, table, param_names, problems, bad_rows=frozenset()):
    """Check every read file; (list of (file name, MeshSample)), the names and units in use."""
    wanted = [*inputs, *outputs]
    # the unit of each array and parameter: the one most files give (mixed units are problems)
    votes: dict[str, Counter] = {n: Counter() for n in wanted}
    field_votes: dict[str, Counter] = {}
    for _, got in read:
        arrays = _arrays(got["point_data"])
        for n in wanted:
            if n in arrays:
                votes[n][arrays[n][1] or ""] += 1
        for raw in got["field_data"]:
            base, unit = split_unit(raw)
            field_votes.setdefault(base, Counter())[unit or ""] += 1
    unit_of = {n: (votes[n].most_common(1)[0][0] if votes[n] else "") for n in wanted}
    if table is None and param_names is None:  # every scalar all readable files have
        param_names = sorted(n for n, c in field_votes.items() if sum(c.values()) == len(read))
    param_names = list(param_names or [])
    field_unit = {n: (field_votes[n].most_common(1)[0][0] if n in field_votes else "")
                  for n in param_names}
    dims = Counter(got["mesh"].dim for _, got in read)
    dim = dims.most_common(1)[0][0] if dims else 0
    samples = []
    for path, got in read:
        issues = []
        mesh: MeshData = got["mesh"]
        if mesh.dim != dim:
            issues.append(f"a {mesh.dim}D mesh where the other files have {dim}D meshes")
        arrays = _arrays(got["point_data"])
        values = {}
        for n in wanted:
            if n not in arrays:
                where = (" (it is cell data: physapp needs values at the nodes)"
                         if any(split_unit(c)[0] == n for c in got["cell_data"]) else "")
                kind = "input" if n in inputs else "output"
                issues.append(f"no point array '{n}' ({kind}){where}")
                continue
            raw, unit = arrays[n]
            if (unit or "") != unit_of[n]:
                issues.append(f"'{n}' is in {unit or 'no unit'} where the other files give "
                              f"{unit_of[n] or 'no unit'} (mixed units)")
                continue
            arr = got["point_data"][raw]
            bad = int((~np.isfinite(arr)).sum())
            if bad:
                issues.append(f"'{n}' has {bad} NaN or infinite value(s)")
                continue
            values[n] = arr[:, 0] if arr.ndim == 2 and arr.shape[1] == 1 else arr
        params = {}
        if table is not None:
            row = table.get(path.name, table.get(path.stem))
            if row is None and path.name not in bad_rows and path.stem not in bad_rows:
                issues.append("no row in the parameter table")
            elif row is None:
                continue  # the problem of its row is listed
            else:
                params = row
        else:
            fd = {split_unit(k)[0]: (v, split_unit(k)[1] or "") for k, v in
                  got["field_data"].items()}
            missing = [p for p in param_names if p not in fd]
            if missing:
                issues.append(f"no parameter {', '.join(missing)} in its field data "
                              "(inconsistent parameters)")
            for p in param_names:
                if p in fd:
                    v, unit = fd[p]
                    if unit != field_unit[p]:
                        issues.append(f"parameter '{p}' is in {unit or 'no unit'} where the "
                                      f"other files give {field_unit[p] or 'no unit'} "
                                      "(mixed units)")
                    elif not math.isfinite(v):
                        issues.append(f"parameter '{p}' is not a finite number")
                    params[p] = v
        if issues:
            problems.append(FileProblem(path.name, "; ".join(issues)))
            continue
        try:
            sample = MeshSample(mesh, {p: params[p] for p in param_names},
                                {n: values[n] for n in outputs},
                                {n: values[n] for n in inputs}, name=path.name)
        except PhysappError as exc:
            problems.append(FileProblem(path.name, str(exc)))
            continue
        samples.append((path.name, sample))
    names = {"params": param_names, "units": unit_of, "param_units": field_unit}
    return samples, names


def import_to_dataset(folder: str | os.PathLike, out: str | os.PathLike, *,
                      overwrite: bool = False, progress: ProgressFn = no_progress,
                      cancel: CancelToken = NEVER, **options) -> tuple[FolderImport, Path]:
    """:func:`import_folder` and write the samples as a data set file (HDF5, format 2) that
    ``physapp train`` and :meth:`~physapp.surrogates.dataset.Dataset.mesh_samples` read."""
    from physapp.surrogates.dataset import Dataset

    out = Path(out)
    if out.exists() and not overwrite:
        raise PhysappError(f"{out} already exists: choose another file or overwrite it.")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise PhysappError(f"Cannot write '{out}': the folder '{out.parent}' does not exist.")
    result = import_folder(folder, progress=scaled(progress, 0.0, 0.9), cancel=cancel, **options)
    notes = [str(p) for p in result.problems]
    progress(0.9, f"Writing {out.name}")
    Dataset.from_mesh_samples(out, result.samples, overwrite=overwrite, notes=notes,
                              source=f"import:{Path(folder).name}")
    progress(1.0, f"Wrote {out.name}: {result.summary()}")
    return result, out


def import_for_gui(folder: str, out: str, options: Mapping, *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> dict:
    """The GUI's import job (runs in the job runner's child): a picklable summary of
    :func:`import_to_dataset` (an existing ``out`` is replaced: the file dialog asked)."""
    result, path = import_to_dataset(folder, out, overwrite=True, progress=progress,
                                     cancel=cancel, **dict(options))
    return {"out": str(path), "files": list(result.files), "summary": result.summary(),
            "problems": [str(p) for p in result.problems],
            "n_test": int(result.samples.is_test.sum())}

"""Export results: meshes with all fields (meshio), surfaces, and CSV tables.

Every file is written to a temporary file in the destination folder and moved over the target
with :func:`os.replace`, so a reader never sees a half-written file and a failed write (folder
not writable, disk full) leaves an existing file untouched. Errors the user can fix raise
:class:`~physapp.core.errors.PhysappError` naming the path.

Formats: ``.vtu``, ``.xdmf`` (data inline, one self-contained file), ``.vtk`` (legacy) carry the
volume/plane mesh with every field as point data; ``.stl`` and ``.ply`` carry the outer surface
(triangles; PLY also the fields, vectors split into ``name_x``, ``name_y``, ``name_z``). Other
extensions are looked up among plugin writers (``physapp.plugins.find_writer(ext)``, a callable
``writer(path, result)``) when that hook exists.
"""

from __future__ import annotations

import csv
import errno
import io
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.quantities import FROM_FIELDS, builtin_quantities, key_unit
from physapp.core.results import FieldResult

#: extension -> (meshio format, what it holds)
MESH_FORMATS: dict[str, tuple[str, str]] = {
    ".vtu": ("vtu", "VTK unstructured grid, all fields"),
    ".xdmf": ("xdmf", "XDMF (data inline), all fields"),
    ".vtk": ("vtk", "legacy VTK, all fields"),
    ".stl": ("stl", "outer surface (triangles, no fields)"),
    ".ply": ("ply", "outer surface with the fields"),
}
TABLE_FORMATS = (".csv",)
SURFACE_EXTS = (".stl", ".ply")
_COMPONENTS = "xyz"

#: faces of volume cells as local corner indices (meshio / VTK node order); quads split later
_FACES: dict[str, tuple[tuple[int, ...], ...]] = {
    "tetra": ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)),
    "hexahedron": ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6),
                   (3, 0, 4, 7)),
    "wedge": ((0, 2, 1), (3, 4, 5), (0, 1, 4, 3), (1, 2, 5, 4), (2, 0, 3, 5)),
    "pyramid": ((0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)),
}
_BASE = {"tetra10": "tetra", "hexahedron20": "hexahedron", "hexahedron27": "hexahedron",
         "wedge15": "wedge", "pyramid13": "pyramid"}
_SPLIT_TRI6 = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2], [3, 4, 5]])


# -- atomic writing -------------------------------------------------------------------------------
def check_folder(path: str | os.PathLike) -> Path:
    """``path`` as a Path after checking its folder exists and is writable (nothing written)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise PhysappError(f"Cannot write '{path}': it is a folder; give a file name.")
    if not folder.is_dir():
        raise PhysappError(f"Cannot write '{path}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PhysappError(f"Cannot write '{path}': the folder '{folder}' is not writable.")
    return path


def _os_message(path: Path, exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        why = "the disk is full (or the file size limit was reached)"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        why = f"the folder '{path.parent}' is not writable"
    else:
        why = exc.strerror or str(exc)
    return f"Cannot write '{path}': {why}. Nothing was changed."


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path`` and move it over ``path``.

    On any failure the temporary file is removed and an existing ``path`` is left as it was;
    ``OSError`` (not writable, disk full) becomes a :class:`PhysappError` naming ``path``.
    """
    path = check_folder(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        # the real extension last: writers that go by the name (plugins) still see it
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.part-", suffix=path.suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise PhysappError(_os_message(path, exc)) from None
    try:
        write(tmp)
        if os.path.exists(path):  # keep the existing file's permissions
            try:
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
            except OSError:
                pass
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except OSError as exc:
        raise PhysappError(_os_message(path, exc)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    return atomic_write(path, write)


# -- meshes ---------------------------------------------------------------------------------------
def supported_extensions() -> list[str]:
    """Extensions :func:`write_mesh` accepts (built-in first, then plugin writers if known)."""
    exts = list(MESH_FORMATS)
    plugins = _plugins_module()
    lister = getattr(plugins, "writer_extensions", None) if plugins else None
    if callable(lister):
        try:
            exts += [e for e in lister() if e not in exts]
        except Exception:  # noqa: BLE001 - a broken plugin must not break export
            pass
    return exts


def _plugins_module():
    try:
        import physapp.plugins as plugins
    except Exception:  # noqa: BLE001
        return None
    return plugins


def _plugin_writer(ext: str) -> Callable[[str, FieldResult], None] | None:
    plugins = _plugins_module()
    finder = getattr(plugins, "find_writer", None) if plugins else None
    if not callable(finder):
        return None
    try:
        return finder(ext)
    except PhysappError:
        raise
    except Exception:  # noqa: BLE001 - treated as "no writer"
        return None


def _unknown(path: Path) -> PhysappError:
    return PhysappError(
        f"Cannot write '{path.name}': unknown extension '{path.suffix or '(none)'}'. "
        f"Supported: {', '.join(supported_extensions())}.")


def check_mesh_path(path: str | os.PathLike) -> Path:
    """Raise before any work when ``path`` has an unknown extension or an unusable folder."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in MESH_FORMATS and _plugin_writer(ext) is None:
        raise _unknown(path)
    return check_folder(path)


def to_meshio(result: FieldResult):
    """The volume (or plane) mesh of ``result`` with every field as point data."""
    import meshio

    mesh = result.mesh
    cells = [(b.type, np.asarray(b.connectivity)) for b in mesh.cells]
    point_data = {name: np.asarray(v) for name, v in result.point_data.items()}
    return meshio.Mesh(np.asarray(mesh.points, dtype=np.float64), cells, point_data=point_data)


def surface_triangles(result_or_mesh: Any) -> np.ndarray:
    """Outer surface of a mesh as triangles ``(n, 3)`` of node indices, outward for solids.

    2D meshes: their own cells as triangles (quadratic triangles split through the mid-side
    nodes). 3D meshes: the faces that belong to exactly one cell (corner nodes only).
    """
    mesh = getattr(result_or_mesh, "mesh", result_or_mesh)
    tris: list[np.ndarray] = []
    if mesh.dim < 3:
        for b in mesh.cells:
            c = np.asarray(b.connectivity)
            if b.type == "triangle":
                tris.append(c)
            elif b.type == "triangle6":
                tris.append(c[:, _SPLIT_TRI6].reshape(-1, 3))
            elif b.type in ("quad", "quad8", "quad9"):
                tris += [c[:, [0, 1, 2]], c[:, [0, 2, 3]]]
        return np.concatenate(tris).astype(np.int64) if tris else np.zeros((0, 3), np.int64)
    faces: list[np.ndarray] = []
    for b in mesh.cells:
        base = _BASE.get(b.type, b.type)
        if base not in _FACES:
            continue
        c = np.asarray(b.connectivity)
        for face in _FACES[base]:
            f = c[:, list(face)]
            if f.shape[1] == 3:
                f = np.column_stack([f, np.full(len(f), -1)])
            faces.append(f)
    if not faces:
        return np.zeros((0, 3), np.int64)
    allf = np.concatenate(faces)
    key = np.sort(np.where(allf < 0, np.iinfo(np.int64).max, allf), axis=1)
    _, inverse, counts = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    outer = allf[counts[inverse.ravel()] == 1]
    tri = outer[outer[:, 3] < 0][:, :3]
    quad = outer[outer[:, 3] >= 0]
    return np.concatenate([tri, quad[:, [0, 1, 2]], quad[:, [0, 2, 3]]]).astype(np.int64)


def to_surface(result: FieldResult, *, with_fields: bool = True):
    """The outer surface as a meshio triangle mesh on the nodes it uses (3D points); with
    ``with_fields`` the fields as point data, vectors split into components."""
    import meshio

    tris = surface_triangles(result)
    if len(tris) == 0:
        raise PhysappError("This mesh has no surface to export (no 2D or 3D cells).")
    used, local = np.unique(tris, return_inverse=True)
    pts = np.asarray(result.mesh.points, dtype=np.float64)[used]
    if pts.shape[1] == 2:
        pts = np.column_stack([pts, np.zeros(len(pts))])
    point_data: dict[str, np.ndarray] = {}
    if with_fields:
        for name, values in result.point_data.items():
            v = np.asarray(values, dtype=np.float32)[used]
            safe = _ply_name(name)
            if v.ndim == 1:
                point_data[safe] = v
            else:
                xyz = name.startswith("displacement") and v.shape[1] <= 3
                for k in range(v.shape[1]):
                    point_data[f"{safe}_{_COMPONENTS[k] if xyz else k}"] = v[:, k].copy()
    conn = local.reshape(-1, 3).astype(np.int32)
    return meshio.Mesh(pts, [("triangle", conn)], point_data=point_data)


def _ply_name(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


def write_mesh(result: FieldResult, path: str | os.PathLike) -> Path:
    """Write ``result`` to ``path``; the format follows the extension (see :data:`MESH_FORMATS`
    and plugin writers). Atomic: a failure leaves an existing file unchanged."""
    import meshio

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in MESH_FORMATS:
        writer = _plugin_writer(ext)
        if writer is None:
            raise _unknown(path)
        return atomic_write(path, lambda tmp: writer(tmp, result))
    check_folder(path)
    if ext == ".xdmf":
        mesh = to_meshio(result)

        def write(tmp: str) -> None:
            meshio.xdmf.write(tmp, mesh, data_format="XML")  # one file: no companion .h5
    elif ext in SURFACE_EXTS:
        mesh = to_surface(result, with_fields=ext == ".ply")

        def write(tmp: str) -> None:
            meshio.write(tmp, mesh, file_format=MESH_FORMATS[ext][0], binary=True)
    else:
        mesh = to_meshio(result)

        def write(tmp: str) -> None:
            meshio.write(tmp, mesh, file_format=MESH_FORMATS[ext][0])
    return atomic_write(path, write)


# -- tables ---------------------------------------------------------------------------------------
def key_quantities(result: FieldResult, key_units: Mapping[str, str] | None = None
                   ) -> tuple[dict[str, float], dict[str, str]]:
    """(values, units) of the key quantities of ``result``: those its solver or surrogate
    computed (``meta["key_quantities"]``, see :mod:`physapp.core.quantities`), or for a result
    without them the built-in peaks of its fields. A unit comes from ``key_units`` (the study's
    declaration, ``StudySpec.key_units``), else the result's ``meta["key_units"]``, else the
    unit of the field a built-in peak is read from."""
    meta = result.meta
    kq = {k: float(v) for k, v in (meta.get("key_quantities") or {}).items()}
    given = dict(meta.get("key_units") or {})
    if not kq:
        kq = builtin_quantities(result.point_data)
        given.update({k: result.units[f] for k, (f, _) in FROM_FIELDS.items()
                      if k in kq and result.units.get(f)})
    declared = dict(key_units or {})
    units = {k: declared.get(k) or given.get(k) or key_unit(k) for k in kq}
    return kq, units


def _num(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, float, np.integer, np.floating)):
        f = float(v)
        return repr(f) if math.isfinite(f) else ("nan" if math.isnan(f) else str(f))
    return v


def results_rows(
    params: Mapping[str, float],
    result: FieldResult | None = None,
    *,
    study_id: str = "",
    param_units: Mapping[str, str] | None = None,
    compare: Mapping[str, Any] | None = None,
    key_units: Mapping[str, str] | None = None,
) -> list[list[Any]]:
    """Rows (header first) of the parameters, key quantities and compare metrics:
    ``kind, name, value, unit``; values in SI units, full precision. ``key_units``: the study's
    declared units of its key quantities (``StudySpec.key_units``)."""
    rows: list[list[Any]] = [["kind", "name", "value", "unit"]]
    if study_id:
        rows.append(["study", "id", study_id, ""])
    if result is not None:
        rows.append(["source", "source", result.source, ""])
    units = param_units or {}
    for name, value in params.items():
        rows.append(["parameter", name, _num(value), units.get(name, "")])
    if result is not None:
        kq, kunits = key_quantities(result, key_units)
        for name, value in kq.items():
            rows.append(["key_quantity", name, _num(value), kunits.get(name, "")])
    _flatten(rows, "", compare or {}, "")
    return rows


def _flatten(rows: list[list[Any]], prefix: str, value: Any, unit: str) -> None:
    """Nested compare metrics as ``compare`` rows named ``a.b.c``; a ``unit`` entry of a
    mapping goes to the unit column of its siblings."""
    if isinstance(value, Mapping):
        unit = str(value.get("unit", unit) or "")
        for key, v in value.items():
            if key == "unit":
                continue
            _flatten(rows, f"{prefix}.{key}" if prefix else str(key), v, unit)
        return
    if isinstance(value, (list, tuple)):
        value = " ".join(str(_num(v)) for v in value)
    elif value is None:
        value = ""
    rows.append(["compare", prefix, _num(value), unit])


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
    return buf.getvalue()


def write_csv(rows: Iterable[Sequence[Any]], path: str | os.PathLike) -> Path:
    """Write rows as CSV (comma separated, header first) atomically."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_FORMATS:
        raise PhysappError(f"Cannot write '{path.name}': a table is written as .csv "
                           f"(got '{path.suffix or '(none)'}').")
    return write_text(path, csv_text(rows))


def write_results_csv(path: str | os.PathLike, params: Mapping[str, float],
                      result: FieldResult | None = None, **kw: Any) -> Path:
    """CSV of the parameters and key quantities (and ``compare`` metrics) of one design."""
    return write_csv(results_rows(params, result, **kw), path)


# -- jobs for the app's export process (positional arguments, progress and cancel keywords) --------
def mesh_job(result: FieldResult, path: str, *, progress: Callable[[float, str], None]
             = lambda f, m: None, cancel: Any = None) -> str:
    """:func:`write_mesh` as a job of the job runner; returns the written path."""
    progress(0.1, f"Writing {Path(path).name}")
    return str(write_mesh(result, path))

"""Write a FieldHistory as a time series others read (#18).

- ``.pvd`` + a folder of ``.vtu`` files (one per step): ParaView opens the ``.pvd`` as a series.
- ``.xdmf`` + ``.h5`` (meshio's ``TimeSeriesWriter``): ParaView, VisIt, meshio read it.
- ``.h5``: physapp's own history file (``io.history``), which the app opens and plays.
- ``.csv``: the curves over time (one column per curve, with units).

Frames are read one at a time, so a history larger than memory exports from disk. Every writer
goes through a temporary name and renames at the end (``.pvd``: the step files are written into
their folder first, the ``.pvd`` index last).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.history import FieldHistory

HISTORY_FORMATS = (".h5", ".pvd", ".xdmf", ".csv")


def _no_progress(fraction: float, message: str) -> None:
    pass


def check_history_path(path: str | os.PathLike) -> Path:
    """The output path of a history (its folder exists and is writable, a known extension)."""
    from physapp.io.export import check_folder

    path = Path(path)
    if path.suffix.lower() not in HISTORY_FORMATS:
        raise PhysappError(f"Cannot write a history to '{path.name}': use one of "
                           f"{', '.join(HISTORY_FORMATS)} (a time series: .pvd of VTU files, "
                           "XDMF with HDF5, physapp's .h5, or the curves as .csv).")
    check_folder(path)
    return path


def _cells(history: FieldHistory) -> list[tuple[str, np.ndarray]]:
    return [(b.type, np.asarray(b.connectivity)) for b in history.mesh.cells]


def _frame_data(history: FieldHistory, i: int) -> dict[str, np.ndarray]:
    return {k: np.asarray(v[i]) for k, v in history.point_data.items()}


def write_pvd(history: FieldHistory, path: str | os.PathLike, *,
              progress: Callable[[float, str], None] = _no_progress) -> Path:
    """``path`` (``.pvd``) indexing ``<stem>/<stem>_<step>.vtu``, one file per step."""
    import meshio

    from physapp.io.export import atomic_write

    path = Path(path)
    folder = path.with_suffix("")
    tmp_folder = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp_folder, ignore_errors=True)
    tmp_folder.mkdir()
    entries = []
    points, cells = np.asarray(history.mesh.points), _cells(history)
    try:
        for i in range(history.n_steps):
            name = f"{folder.name}_{i:05d}.vtu"
            meshio.write(tmp_folder / name, meshio.Mesh(points, cells,
                                                        point_data=_frame_data(history, i)),
                         file_format="vtu")
            entries.append(f'    <DataSet timestep={quoteattr(repr(float(history.times[i])))} '
                           f'group="" part="0" file={quoteattr(folder.name + "/" + name)}/>')
            progress((i + 1) / max(history.n_steps, 1), f"Step {i + 1} of {history.n_steps}")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp_folder, folder)
    except BaseException:
        shutil.rmtree(tmp_folder, ignore_errors=True)
        raise
    text = ('<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" '
            'byte_order="LittleEndian">\n  <Collection>\n' + "\n".join(entries) +
            "\n  </Collection>\n</VTKFile>\n")
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_xdmf_series(history: FieldHistory, path: str | os.PathLike, *,
                      progress: Callable[[float, str], None] = _no_progress) -> Path:
    """``path`` (``.xdmf``) with its data in ``<stem>.h5`` next to it (meshio TimeSeriesWriter)."""
    import meshio

    path = Path(path).absolute()
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    try:
        # meshio writes the .h5 into the working directory (not next to the .xdmf): write from
        # the target folder (exports run in the CLI or the job runner's child, one at a time)
        with contextlib.chdir(path.parent), meshio.xdmf.TimeSeriesWriter(tmp.name) as writer:
            writer.write_points_cells(np.asarray(history.mesh.points), _cells(history))
            for i in range(history.n_steps):
                writer.write_data(float(history.times[i]), point_data=_frame_data(history, i))
                progress((i + 1) / max(history.n_steps, 1), f"Step {i + 1} of {history.n_steps}")
        # the .xdmf names its .h5: rewrite that reference for the final name
        text = tmp.read_text(encoding="utf-8").replace(tmp.with_suffix(".h5").name,
                                                      path.with_suffix(".h5").name)
        os.replace(tmp.with_suffix(".h5"), path.with_suffix(".h5"))
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_suffix(".h5")):
            if leftover.exists():
                leftover.unlink()
    return path


def curve_rows(history: FieldHistory) -> list[list]:
    """Header row (with units) and one row per step: time, then every curve."""
    names = list(history.curves)
    unit = lambda u: f" ({u})" if u else ""  # noqa: E731
    head = [f"{history.time_label}{unit(history.time_unit)}",
            *(f"{n}{unit(history.curve_units.get(n, ''))}" for n in names)]
    rows = [head]
    for i in range(history.n_steps):
        rows.append([float(history.times[i]), *(float(history.curves[n][i]) for n in names)])
    return rows


def write_curves_csv(history: FieldHistory, path: str | os.PathLike) -> Path:
    from physapp.io.export import write_csv

    return write_csv(curve_rows(history), path)


def write_history_file(history: FieldHistory, path: str | os.PathLike, *,
                       progress: Callable[[float, str], None] = _no_progress) -> Path:
    """Write ``history`` in the format of ``path``'s extension (see :data:`HISTORY_FORMATS`)."""
    path = check_history_path(path)
    ext = path.suffix.lower()
    if ext == ".pvd":
        return write_pvd(history, path, progress=progress)
    if ext == ".xdmf":
        return write_xdmf_series(history, path, progress=progress)
    if ext == ".csv":
        return write_curves_csv(history, path)
    from physapp.io.history import write_history

    return write_history(history, path)

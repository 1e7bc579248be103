"""Write FieldResults to mesh files through meshio, atomically (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import meshio
import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.results import FieldResult

#: file extensions the result writer accepts, with meshio's format names
RESULT_FORMATS = {".vtu": "vtu", ".vtk": "vtk", ".xdmf": "xdmf", ".msh": "gmsh"}


def to_meshio(result: FieldResult) -> meshio.Mesh:
    """A meshio mesh with every field of ``result`` as point data (vectors as (n, 3))."""
    mesh = result.mesh
    cells = [(b.type, np.asarray(b.connectivity)) for b in mesh.cells]
    point_data = {name: np.asarray(v) for name, v in result.point_data.items()}
    return meshio.Mesh(np.asarray(mesh.points), cells, point_data=point_data)


def check_output_path(path: str | os.PathLike) -> tuple[Path, str]:
    """Return ``(path, meshio format)`` or raise before any work is done on a hopeless path."""
    path = Path(path)
    fmt = RESULT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PhysappError(
            f"Cannot write '{path.name}': unknown extension '{path.suffix}'. "
            f"Use one of {', '.join(RESULT_FORMATS)}."
        )
    folder = path.parent
    if not folder.is_dir():
        raise PhysappError(f"Cannot write '{path}': the folder '{folder}' does not exist.")
    if not os.access(folder, os.W_OK):
        raise PhysappError(f"Cannot write '{path}': the folder '{folder}' is not writable.")
    return path, fmt


def write_result(result: FieldResult, path: str | os.PathLike) -> Path:
    """Write ``result`` to ``path`` (format from the extension); never leaves a half-written file."""
    path, fmt = check_output_path(path)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise PhysappError(f"Cannot write in '{folder}': {exc.strerror}.") from None
    try:
        meshio.write(tmp, to_meshio(result), file_format=fmt)
        os.replace(tmp, path)
    except OSError as exc:
        raise PhysappError(f"Writing '{path}' failed: {exc.strerror or exc}.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path

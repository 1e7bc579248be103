"""Write FieldResults to mesh files through meshio, atomically (temporary file, then rename)."""

from __future__ import annotations

import os
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
    """Write ``result`` to ``path`` (format from the extension); never leaves a half-written file.
    XDMF keeps its data inside the one file (no companion .h5 with a temporary name)."""
    from physapp.io.export import atomic_write

    path, fmt = check_output_path(path)
    mesh = to_meshio(result)

    def write(tmp: str) -> None:
        if fmt == "xdmf":
            meshio.xdmf.write(tmp, mesh, data_format="XML")
        else:
            meshio.write(tmp, mesh, file_format=fmt)

    return atomic_write(path, write)

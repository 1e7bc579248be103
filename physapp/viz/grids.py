"""MeshData / FieldResult -> pyvista grids for display.

Quadratic triangles ("triangle6") are split into four linear triangles through their mid-side
nodes. The colour is then interpolated linearly between *all* P2 nodes, so the field seen on
screen uses every nodal value the solver computed (the peak stress at the hole included) and no
VTK quadratic-cell tessellation settings are involved.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult

# meshio node order of triangle6: corners 0 1 2, mid-sides 3 (0-1), 4 (1-2), 5 (2-0)
_TRI6_SPLIT = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2], [3, 4, 5]])

#: SI unit -> (factor, unit) used for display: engineers read stresses in MPa, lengths in mm
DISPLAY_UNITS: dict[str, tuple[float, str]] = {"Pa": (1e-6, "MPa"), "m": (1e3, "mm")}


def display_triangles(mesh: MeshData) -> np.ndarray:
    """All 2D cells of ``mesh`` as linear triangles ``(n, 3)`` for display."""
    tris = []
    for block in mesh.cells:
        conn = block.connectivity
        if block.type == "triangle":
            tris.append(conn)
        elif block.type == "triangle6":
            tris.append(conn[:, _TRI6_SPLIT].reshape(-1, 3))
        elif block.type in ("quad", "quad8", "quad9"):
            quad = conn[:, :4]
            tris.append(np.concatenate([quad[:, [0, 1, 2]], quad[:, [0, 2, 3]]]))
        else:
            raise ValueError(f"cannot display cells of type {block.type!r}")
    return np.concatenate(tris).astype(np.int64)


#: volume cells are handed to VTK as they are (meshio and VTK share these node orders);
#: VTK draws their outer surface
VTK_VOLUME_TYPES = {
    "tetra": pv.CellType.TETRA,
    "tetra10": pv.CellType.QUADRATIC_TETRA,
    "hexahedron": pv.CellType.HEXAHEDRON,
    "wedge": pv.CellType.WEDGE,
    "pyramid": pv.CellType.PYRAMID,
}


def display_cells(mesh: MeshData) -> tuple[np.ndarray, np.ndarray]:
    """VTK ``(cells, types)`` arrays for display: 2D cells as linear triangles, 3D cells as is."""
    if mesh.dim < 3:
        tris = display_triangles(mesh)
        cells = np.column_stack([np.full(len(tris), 3, dtype=np.int64), tris]).ravel()
        return cells, np.full(len(tris), pv.CellType.TRIANGLE, dtype=np.uint8)
    parts, types = [], []
    for block in mesh.cells:
        if block.type not in VTK_VOLUME_TYPES:
            raise ValueError(f"cannot display cells of type {block.type!r}")
        conn = block.connectivity
        parts.append(np.column_stack([np.full(len(conn), conn.shape[1]), conn]).ravel())
        types.append(np.full(len(conn), VTK_VOLUME_TYPES[block.type], dtype=np.uint8))
    return np.concatenate(parts).astype(np.int64), np.concatenate(types)


def mesh_to_grid(mesh: MeshData) -> pv.UnstructuredGrid:
    """An UnstructuredGrid for display on (a copy of) the mesh's points."""
    cells, types = display_cells(mesh)
    return pv.UnstructuredGrid(cells, types, np.array(mesh.points, dtype=np.float64))


def display_unit(unit: str) -> tuple[float, str]:
    """The factor and unit a field in ``unit`` is shown in (unchanged when unknown)."""
    return DISPLAY_UNITS.get(unit, (1.0, unit))


def field_for_display(result: FieldResult, name: str, unit: str) -> tuple[np.ndarray, str]:
    """Scalar values of field ``name`` converted to the display unit, and that unit."""
    factor, shown = display_unit(unit)
    return (result.scalar(name).astype(np.float64) * factor), shown


def same_topology(grid: pv.UnstructuredGrid, mesh: MeshData) -> bool:
    """True when ``grid`` was built from a mesh with the same points count and cells as ``mesh``.

    Successive solves of an unchanged geometry produce equal (not identical) meshes; comparing the
    connectivity lets the viewport write arrays in place instead of rebuilding the actor.
    """
    if grid.n_points != mesh.n_points or grid.n_cells != mesh.n_cells * (4 if _split(mesh) else 1):
        return False
    cells, types = display_cells(mesh)
    return bool(np.array_equal(grid.celltypes, types) and np.array_equal(grid.cells, cells))


def _split(mesh: MeshData) -> bool:
    return any(b.type == "triangle6" for b in mesh.cells)

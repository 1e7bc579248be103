"""MeshData / FieldResult -> pyvista grids for display.

Quadratic triangles ("triangle6") are split into four linear triangles through their mid-side
nodes. The colour is then interpolated linearly between *all* P2 nodes, so the field seen on
screen uses every nodal value the solver computed (the peak stress at the hole included) and no
VTK quadratic-cell tessellation settings are involved.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from physapp.core.display_mesh import known
from physapp.core.labels import KEY_LABELS, key_label, pretty_unit  # noqa: F401 (re-exported)
from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult

# meshio node order of triangle6: corners 0 1 2, mid-sides 3 (0-1), 4 (1-2), 5 (2-0)
_TRI6_SPLIT = np.array([[0, 3, 5], [3, 1, 4], [5, 4, 2], [3, 4, 5]])

#: THE table of display units (colour bar, probe, line plot, metrics, key quantities, figures):
#: SI unit -> choices ``(factor, shown unit, from)``, the first whose ``from`` the quantity's
#: largest magnitude reaches wins. Solid stresses (MPa-sized) read in MPa; flow pressures
#: (0.01-1 Pa) in Pa, where MPa would print 1e-07. Unknown magnitude: the first choice.
DISPLAY_UNITS: dict[str, tuple[tuple[float, str, float], ...]] = {
    "Pa": ((1e-6, "MPa", 1e4), (1.0, "Pa", 0.0)),
    "m": ((1e3, "mm", 0.0),),
    "1": ((1.0, "", 0.0),),  # dimensionless (Cp): no unit shown
}


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
    """An UnstructuredGrid for display on (a copy of) the mesh's points. A solid whose cell
    arrays were found off the GUI thread (:func:`~physapp.core.display_mesh.known`) is wrapped
    around them without a copy (#16)."""
    points = np.array(mesh.points, dtype=np.float64)
    ready = known(mesh) if mesh.dim == 3 else None
    if ready is None:
        cells, types = display_cells(mesh)
        return pv.UnstructuredGrid(cells, types, points)
    from vtkmodules.util.numpy_support import numpy_to_vtk
    from vtkmodules.vtkCommonDataModel import vtkCellArray

    cells = vtkCellArray()
    cells.SetData(numpy_to_vtk(ready.offsets, deep=False),
                  numpy_to_vtk(ready.cell_nodes(mesh), deep=False))
    grid = pv.UnstructuredGrid()
    grid.points = points
    grid.SetCells(numpy_to_vtk(ready.types, deep=False), cells)
    return grid


def display_unit(unit: str, magnitude: float | None = None) -> tuple[float, str]:
    """The factor and unit a quantity in ``unit`` whose largest magnitude is ``magnitude`` is
    shown in (:data:`DISPLAY_UNITS`; unchanged when the unit is not listed). Without a magnitude
    (or a zero / non-finite one) the first choice: MPa for Pa."""
    choices = DISPLAY_UNITS.get(unit)
    if not choices:
        return 1.0, pretty_unit(unit)  # "degC" -> "°C" (:mod:`physapp.core.labels`)
    if magnitude is not None and np.isfinite(magnitude) and magnitude != 0:
        for factor, shown, start in choices:
            if abs(magnitude) >= start:
                return factor, shown
    return choices[0][0], choices[0][1]


def field_magnitude(result: FieldResult, name: str) -> float | None:
    """The largest finite ``|value|`` of field ``name`` of ``result`` (None when absent/empty)."""
    try:
        values = np.abs(np.asarray(result.scalar(name), dtype=np.float64))
    except (KeyError, ValueError, IndexError):
        return None
    values = values[np.isfinite(values)]
    return float(values.max()) if values.size else None


def field_display_unit(result: FieldResult | None, name: str, unit: str) -> tuple[float, str]:
    """The factor and unit field ``name`` (in ``unit``) of ``result`` is shown in: chosen from
    the field's own magnitude, so colour bar, probe and line plot of one field agree."""
    if unit not in DISPLAY_UNITS or len(DISPLAY_UNITS[unit]) == 1 or result is None:
        return display_unit(unit)
    return display_unit(unit, field_magnitude(result, name))


def field_for_display(result: FieldResult, name: str, unit: str) -> tuple[np.ndarray, str]:
    """Scalar values of field ``name`` converted to the display unit, and that unit."""
    values = result.scalar(name).astype(np.float64)
    finite = np.abs(values[np.isfinite(values)])
    factor, shown = display_unit(unit, float(finite.max()) if finite.size else None)
    return values * factor, shown


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


def coarse_surface(points: np.ndarray, triangles: np.ndarray, target_points: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """A coarser triangulation of a surface whose nodes are a subset of the original ones
    (vertex clustering, Rossignac-Borrel, with an existing node as each cluster's
    representative). Returns ``(ids, faces)``: original node ids ``(k,)`` and triangles
    ``(m, 3)`` indexing ``ids``; a field on the fine mesh shows on the coarse one as
    ``values[ids]``.

    Nodes are binned on a uniform grid whose spacing gives about ``target_points`` occupied
    bins over the surface area; each bin keeps the node nearest its nodes' mean (a node of the
    open boundary when the bin has one), triangles are mapped to the kept nodes, and collapsed
    or repeated triangles are dropped.
    """
    tri = np.asarray(triangles, dtype=np.int64)
    used = np.unique(tri)
    p = np.asarray(points, dtype=np.float64)
    a, b, c = p[tri[:, 0]], p[tri[:, 1]], p[tri[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()
    if len(used) <= target_points or area <= 0:
        local = np.searchsorted(used, tri)
        return used, local
    h = np.sqrt(area / target_points)
    q = p[used]
    key3 = np.floor((q - q.min(axis=0)) / h).astype(np.int64)
    span = key3.max(axis=0) + 1
    key = (key3[:, 0] * span[1] + key3[:, 1]) * span[2] + key3[:, 2]
    _, cluster = np.unique(key, return_inverse=True)
    n_cl = int(cluster.max()) + 1
    counts = np.bincount(cluster, minlength=n_cl)[:, None]
    mean = np.stack([np.bincount(cluster, q[:, k], n_cl) for k in range(3)], axis=1) / counts
    dist = np.linalg.norm(q - mean[cluster], axis=1)
    # nodes on the surface's open boundary (a 2D part's outline) represent their bin first, so
    # the outline does not shrink by half a bin
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    e, counts = np.unique(edges, axis=0, return_counts=True)
    border = np.isin(used, e[counts == 1])
    dist = dist + np.where(border, 0.0, 4.0 * h)
    order = np.lexsort((dist, cluster))  # by cluster, nearest first
    first = order[np.r_[True, cluster[order][1:] != cluster[order][:-1]]]
    rep_of_cluster = np.empty(n_cl, dtype=np.int64)
    rep_of_cluster[cluster[first]] = np.arange(n_cl)
    node_to_local = np.full(int(used.max()) + 1, -1, dtype=np.int64)
    node_to_local[used] = rep_of_cluster[cluster]
    t = node_to_local[tri]
    keep = (t[:, 0] != t[:, 1]) & (t[:, 1] != t[:, 2]) & (t[:, 0] != t[:, 2])
    t = t[keep]
    _, unique_rows = np.unique(np.sort(t, axis=1), axis=0, return_index=True)
    return used[first], t[np.sort(unique_rows)]


def result_to_pyvista(result: FieldResult) -> pv.UnstructuredGrid:
    """``result`` as a pyvista grid for scripts (:meth:`FieldResult.to_pyvista`): the cells as
    they are (no display split), every field as point data, ``field_data["units"]`` the fields'
    units as ``name=unit`` and ``field_data["source"]`` where the result comes from."""
    from physapp.io.results import to_meshio

    grid = pv.from_meshio(to_meshio(result))
    grid.field_data["units"] = [f"{k}={v}" for k, v in result.units.items()] or [""]
    grid.field_data["source"] = [result.source]
    return grid

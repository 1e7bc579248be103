"""The HDF5 layout of a data set (:mod:`physapp.surrogates.dataset`): format and version, sample
states, meshes written and read as groups (a sample's own mesh or the support's coordinates),
and the batch sizes of a variable-mesh data set."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from physapp.core.errors import ParameterError, PhysappError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.study import Study

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

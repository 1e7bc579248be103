"""MeshData: an immutable mesh with named boundary and subdomain regions.

Cell type names follow meshio ("triangle", "triangle6", "tetra", ...). Arrays are made read-only on
construction so a mesh can be shared between the model, workers and views without copies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

#: Number of nodes of each supported cell type, and its topological dimension.
CELL_INFO: dict[str, tuple[int, int]] = {
    "line": (2, 1),
    "line3": (3, 1),
    "triangle": (3, 2),
    "triangle6": (6, 2),
    "quad": (4, 2),
    "quad8": (8, 2),
    "quad9": (9, 2),
    "tetra": (4, 3),
    "tetra10": (10, 3),
    "hexahedron": (8, 3),
    "hexahedron20": (20, 3),
    "hexahedron27": (27, 3),
    "wedge": (6, 3),
    "wedge15": (15, 3),
    "pyramid": (5, 3),
    "pyramid13": (13, 3),
}


def _frozen(a: np.ndarray, dtype) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=dtype)
    a.setflags(write=False)
    return a


@dataclass(frozen=True)
class CellBlock:
    """Cells of one type: ``connectivity`` is ``(n_cells, nodes_per_cell)`` node indices."""

    type: str
    connectivity: np.ndarray

    def __post_init__(self) -> None:
        if self.type not in CELL_INFO:
            raise ValueError(f"unsupported cell type {self.type!r}")
        conn = _frozen(self.connectivity, np.int64)
        if conn.ndim != 2 or conn.shape[1] != CELL_INFO[self.type][0]:
            raise ValueError(f"{self.type} connectivity must have {CELL_INFO[self.type][0]} columns")
        object.__setattr__(self, "connectivity", conn)

    @property
    def dim(self) -> int:
        return CELL_INFO[self.type][1]

    def __len__(self) -> int:
        return self.connectivity.shape[0]


@dataclass(frozen=True)
class MeshData:
    """Points, domain cells and named regions.

    Parameters
    ----------
    points : ``(n, 3)`` coordinates (2D meshes have z = 0).
    cells : domain cell blocks (all of dimension ``dim``).
    boundaries : region name -> ``(m, k)`` boundary facets as node indices (corner nodes).
    subdomains : region name -> indices of domain cells (into the concatenation of ``cells``).
    dim : topological dimension of the domain cells.
    length_unit : unit of the coordinates.
    edges : region name -> ``(m, 2)`` line segments (corner nodes) of a 3D part's edges (CAD
        edges); in 2D the edges are the boundaries.
    point_sets : region name -> node indices (CAD vertices, node sets of a deck).
    """

    points: np.ndarray
    cells: tuple[CellBlock, ...]
    boundaries: Mapping[str, np.ndarray] = field(default_factory=dict)
    subdomains: Mapping[str, np.ndarray] = field(default_factory=dict)
    dim: int = 0
    length_unit: str = "m"
    edges: Mapping[str, np.ndarray] = field(default_factory=dict)
    point_sets: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pts = np.asarray(self.points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[1] not in (2, 3):
            raise ValueError("points must be (n, 2) or (n, 3)")
        if pts.shape[1] == 2:
            pts = np.column_stack([pts, np.zeros(len(pts))])
        object.__setattr__(self, "points", _frozen(pts, np.float64))
        object.__setattr__(self, "cells", tuple(self.cells))
        if not self.cells:
            raise ValueError("a mesh needs at least one cell block")
        dims = {b.dim for b in self.cells}
        if len(dims) != 1:
            raise ValueError(f"domain cells of mixed dimension {sorted(dims)}")
        if self.dim == 0:
            object.__setattr__(self, "dim", dims.pop())
        frozen_b = {k: _frozen(v, np.int64) for k, v in self.boundaries.items()}
        frozen_s = {k: _frozen(v, np.int64) for k, v in self.subdomains.items()}
        object.__setattr__(self, "boundaries", MappingProxyType(frozen_b))
        object.__setattr__(self, "subdomains", MappingProxyType(frozen_s))
        for name in ("edges", "point_sets"):
            object.__setattr__(self, name, MappingProxyType(
                {k: _frozen(v, np.int64) for k, v in dict(getattr(self, name, {}) or {}).items()}))

    def __getstate__(self) -> dict:
        # mappingproxy cannot be pickled; workers send meshes across processes
        return {**self.__dict__, "boundaries": dict(self.boundaries),
                "subdomains": dict(self.subdomains), "edges": dict(self.edges),
                "point_sets": dict(self.point_sets)}

    def __setstate__(self, state: dict) -> None:
        state = {"edges": {}, "point_sets": {}, **state}  # pickles from before these fields
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()

    @property
    def n_points(self) -> int:
        return self.points.shape[0]

    def __repr__(self) -> str:
        cells = ", ".join(f"{len(b):,} {b.type}" for b in self.cells)
        regions = [*self.boundaries, *self.subdomains]
        more = f"; regions: {', '.join(regions[:8])}" + (" ..." if len(regions) > 8 else "") \
            if regions else ""
        return (f"MeshData({self.n_points:,} points, {cells}, {self.dim}D, "
                f"unit {self.length_unit}{more})")

    @property
    def n_cells(self) -> int:
        return sum(len(b) for b in self.cells)

    def cell_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for b in self.cells:  # several blocks of one type (e.g. one per Gmsh entity) add up
            counts[b.type] = counts.get(b.type, 0) + len(b)
        return counts

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.points.min(axis=0), self.points.max(axis=0)

    def boundary_nodes(self, name: str) -> np.ndarray:
        """Unique node indices of a named boundary region."""
        if name not in self.boundaries:
            known = ", ".join(self.boundaries) or "none"
            raise KeyError(f"No boundary region named '{name}' (regions: {known}).")
        return np.unique(self.boundaries[name])

    def region_kind(self, name: str) -> str:
        """``"face"`` / ``"edge"`` (boundary facets in 3D / 2D), ``"edge"`` (3D line regions),
        ``"point"``, ``"subdomain"``; KeyError naming the regions when there is none."""
        if name in self.boundaries:
            return "face" if self.dim == 3 else "edge"
        if name in self.edges:
            return "edge"
        if name in self.point_sets:
            return "point"
        if name in self.subdomains:
            return "subdomain"
        known = ", ".join([*self.boundaries, *self.edges, *self.point_sets, *self.subdomains])
        raise KeyError(f"No region named '{name}' (regions: {known or 'none'}).")

    def region_nodes(self, name: str) -> np.ndarray:
        """Unique node indices of any named region (corner nodes of facets and edges)."""
        kind = self.region_kind(name)
        if kind == "point":
            return np.unique(self.point_sets[name])
        if kind == "subdomain":
            offsets = np.cumsum([0] + [len(b) for b in self.cells])
            conn = [b.connectivity for b in self.cells]
            idx = np.asarray(self.subdomains[name])
            nodes = [conn[k][idx[(idx >= offsets[k]) & (idx < offsets[k + 1])] - offsets[k]]
                     for k in range(len(conn))]
            return np.unique(np.concatenate([n.ravel() for n in nodes]))
        src = self.boundaries if name in self.boundaries else self.edges
        return np.unique(src[name])

"""A tiny text mesh format, ``.ptm`` (plugin example of a reader and a writer).

One record per line, ``#`` starts a comment, indices are 0-based::

    ptm 1                         # format and version
    dim 2                         # topological dimension
    v x y z                       # a node (one line per node)
    c triangle6 n0 n1 n2 ...      # a cell: meshio cell type and its nodes
    b inner n0 n1                 # a boundary facet of the region "inner" (corner nodes)
    f von_mises 1                 # a nodal field with 1 component; then one line per node
    1.5e6
    ...

The reader returns :class:`physapp.core.mesh.MeshData` (fields are ignored); the writer writes a
:class:`physapp.core.results.FieldResult` with every field. Plugin code may import physapp's
public modules and numpy.
"""

from __future__ import annotations

import os
from collections import defaultdict

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import CellBlock, MeshData


def read_ptm(path: str | os.PathLike) -> MeshData:
    """Read a ``.ptm`` file; a clear PhysappError names the line of a malformed record."""
    points: list[list[float]] = []
    cells: dict[str, list[list[int]]] = defaultdict(list)
    facets: dict[str, list[list[int]]] = defaultdict(list)
    dim = 0
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    i = 0
    while i < len(lines):
        text = lines[i].split("#", 1)[0].split()
        i += 1
        if not text:
            continue
        tag, rest = text[0], text[1:]
        try:
            if tag == "ptm":
                if rest and int(rest[0]) > 1:
                    raise PhysappError(f"{os.fspath(path)}: .ptm version {rest[0]} is newer "
                                       "than this reader (1).")
            elif tag == "dim":
                dim = int(rest[0])
            elif tag == "v":
                points.append([float(x) for x in rest[:3]] + [0.0] * (3 - len(rest[:3])))
            elif tag == "c":
                cells[rest[0]].append([int(n) for n in rest[1:]])
            elif tag == "b":
                facets[rest[0]].append([int(n) for n in rest[1:]])
            elif tag == "f":
                i += len(points)  # field values: not part of the mesh
            else:
                raise ValueError(f"unknown record '{tag}'")
        except (ValueError, IndexError) as exc:
            raise PhysappError(f"{os.fspath(path)}, line {i}: malformed .ptm record "
                               f"({exc}).") from None
    if not points or not cells:
        raise PhysappError(f"{os.fspath(path)}: a .ptm file needs 'v' and 'c' records.")
    n = len(points)
    blocks = []
    for ctype, conn in cells.items():
        a = np.asarray(conn, dtype=np.int64)
        if a.min() < 0 or a.max() >= n:
            raise PhysappError(f"{os.fspath(path)}: {ctype} cells refer to missing nodes.")
        blocks.append(CellBlock(ctype, a))
    return MeshData(np.asarray(points), tuple(blocks),
                    {k: np.asarray(v, dtype=np.int64) for k, v in facets.items()}, {}, dim)


def write_ptm(path: str | os.PathLike, result) -> None:
    """Write a FieldResult (mesh, regions and every nodal field) as ``.ptm``."""
    mesh = result.mesh
    out = ["ptm 1", f"# written by the pressure_vessel plugin ({result.source})", f"dim {mesh.dim}"]
    out += [f"v {x!r} {y!r} {z!r}" for x, y, z in np.asarray(mesh.points, dtype=float).tolist()]
    for block in mesh.cells:
        out += [f"c {block.type} " + " ".join(map(str, row))
                for row in np.asarray(block.connectivity).tolist()]
    for name, fac in mesh.boundaries.items():
        out += [f"b {name} " + " ".join(map(str, row)) for row in np.asarray(fac).tolist()]
    for name, values in result.point_data.items():
        a = np.asarray(values, dtype=np.float64).reshape(mesh.n_points, -1)
        out.append(f"f {name} {a.shape[1]}")
        out += [" ".join(repr(float(v)) for v in row) for row in a]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def read_ptm_fields(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """The nodal fields stored in a ``.ptm`` file: name -> (n,) or (n, k)."""
    with open(path, encoding="utf-8") as f:
        lines = [ln.split("#", 1)[0].split() for ln in f.read().splitlines()]
    n = sum(1 for ln in lines if ln and ln[0] == "v")
    out, i = {}, 0
    while i < len(lines):
        ln = lines[i]
        i += 1
        if ln and ln[0] == "f":
            a = np.asarray([[float(v) for v in row] for row in lines[i:i + n]])
            out[ln[1]] = a[:, 0] if int(ln[2]) == 1 else a
            i += n
    return out

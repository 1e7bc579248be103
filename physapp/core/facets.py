"""Boundary facets of a mesh's cells, found with array sorts (no Python loop over facets).

A facet (a face of a 3D cell, an edge of a 2D cell, given by its corner nodes) is on the boundary
when exactly one cell has it. The facets are keyed by their sorted corner nodes, packed into one
integer when the node count allows (else sorted row-wise with ``lexsort``), and counted after one
sort. The order is the one a scan of the cells gives (block by block, facet by facet, cell by
cell: the first cell that has a facet places it), so the result does not depend on how it is
found; each facet keeps its nodes in the order of the cell that has it (outward for cells with
positive volume).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def _base(cell_type: str) -> str:
    return cell_type.rstrip("0123456789")


def _once(keys: np.ndarray, n_nodes: int) -> np.ndarray:
    """Positions of the rows of ``keys`` (sorted corner nodes) that occur exactly once,
    ascending."""
    m, k = keys.shape
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    n = max(int(n_nodes), 1)
    if n ** k < 2**62:  # one integer per facet: a 1D sort
        packed = keys[:, 0].astype(np.int64)
        for j in range(1, k):
            packed = packed * n + keys[:, j]
        order = np.argsort(packed, kind="stable")
        s = packed[order]
        new = np.empty(m, dtype=bool)
        new[0] = True
        np.not_equal(s[1:], s[:-1], out=new[1:])
    else:
        order = np.lexsort(keys.T[::-1])
        s = keys[order]
        new = np.empty(m, dtype=bool)
        new[0] = True
        np.any(s[1:] != s[:-1], axis=1, out=new[1:])
    start = np.flatnonzero(new)
    counts = np.diff(np.append(start, m))
    return np.sort(order[start[counts == 1]])


def boundary_facet_groups(blocks: Iterable[tuple[str, np.ndarray]], facets: dict,
                          corners: dict, n_nodes: int | None = None,
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Boundary facets of ``blocks`` ((cell type, connectivity) pairs), one group per corner
    count: a list of ``(rows, first)`` where ``rows`` holds the facets' nodes and ``first`` the
    position of each in the scan order of all facets, the groups in the order their first facet
    comes. ``facets``/``corners`` are the tables of :mod:`physapp.core.regions` by linear type."""
    rows: dict[int, list[np.ndarray]] = {}
    where: dict[int, list[np.ndarray]] = {}
    pos = 0
    top = -1
    for cell_type, conn in blocks:
        base = _base(cell_type)
        c = np.asarray(conn)[:, : corners[base]]
        if len(c):
            top = max(top, int(c.max()))
        for f in facets[base]:
            rows.setdefault(len(f), []).append(c[:, list(f)])
            where.setdefault(len(f), []).append(pos + np.arange(len(c), dtype=np.int64))
            pos += len(c)
    n = top + 1 if n_nodes is None else max(int(n_nodes), top + 1)
    groups = []
    for k in rows:
        r = np.concatenate(rows[k])
        w = np.concatenate(where[k])
        keep = _once(np.sort(r, axis=1), n)
        groups.append((r[keep], w[keep]))
    groups = [g for g in groups if len(g[0])]
    groups.sort(key=lambda g: int(g[1][0]))
    return groups


def in_scan_order(groups: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """The facets of :func:`boundary_facet_groups` as one list of node arrays, in scan order."""
    if not groups:
        return []
    if len(groups) == 1:
        return list(groups[0][0])
    first = np.concatenate([w for _, w in groups])
    which = np.concatenate([np.full(len(w), i) for i, (_, w) in enumerate(groups)])
    local = np.concatenate([np.arange(len(w)) for _, w in groups])
    order = np.argsort(first, kind="stable")
    return [groups[which[i]][0][local[i]] for i in order]


def select(groups: list[tuple[np.ndarray, np.ndarray]], on: np.ndarray,
           ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The facets of ``groups`` whose nodes are all ``on`` (a boolean per node), grouped alike."""
    out = []
    for r, w in groups:
        keep = on[r].all(axis=1)
        if keep.any():
            out.append((r[keep], w[keep]))
    out.sort(key=lambda g: int(g[1][0]))
    return out

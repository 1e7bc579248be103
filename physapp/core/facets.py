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


def sorted_columns(cols: list[np.ndarray]) -> list[np.ndarray]:
    """The columns of a facet's nodes, sorted row by row (min, ..., max) with a sorting network
    (cheaper than ``np.sort(axis=1)`` on rows of two to four numbers)."""
    if len(cols) == 2:
        return [np.minimum(*cols), np.maximum(*cols)]
    if len(cols) == 3:
        a, b, c = cols
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        mid = np.maximum(lo, c)
        return [np.minimum(lo, c), np.minimum(mid, hi), np.maximum(mid, hi)]
    if len(cols) == 4:
        a, b, c, d = cols
        a, b = np.minimum(a, b), np.maximum(a, b)
        c, d = np.minimum(c, d), np.maximum(c, d)
        a, c = np.minimum(a, c), np.maximum(a, c)
        b, d = np.minimum(b, d), np.maximum(b, d)
        return [a, np.minimum(b, c), np.maximum(b, c), d]
    s = np.sort(np.column_stack(cols), axis=1)
    return [s[:, j] for j in range(s.shape[1])]


def seen_once(keys: list[list[np.ndarray]], n: int) -> np.ndarray:
    """Positions (ascending) of the facets that occur exactly once among ``keys`` (per facet
    segment, its sorted node columns), counted over all segments."""
    k = len(keys[0])
    if n ** k < 2**62:  # one integer per facet: a 1D sort
        parts = []
        for cols in keys:
            packed = cols[0].astype(np.int64)
            for col in cols[1:]:
                packed *= n
                packed += col
            parts.append(packed)
        return _once_packed(np.concatenate(parts))
    rows = np.concatenate([np.column_stack(cols) for cols in keys])  # too many nodes to pack
    m = len(rows)
    order = np.lexsort(rows.T[::-1])
    s = rows[order]
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.any(s[1:] != s[:-1], axis=1, out=new[1:])
    start = np.flatnonzero(new)
    counts = np.diff(np.append(start, m))
    return np.sort(order[start[counts == 1]])


def _hash(v: np.ndarray, bits: int) -> np.ndarray:
    """Multiplicative hash of int64 keys into ``bits`` bits (as non-negative int64)."""
    h = np.ascontiguousarray(v).view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    h >>= np.uint64(64 - bits)
    return h.view(np.int64)


def _once_packed(packed: np.ndarray) -> np.ndarray:
    """Positions (ascending) of the values that occur once in ``packed`` (int64 keys).

    A plain sort finds the values (it is several times faster than ``argsort``); a bit table
    indexed by a hash of the keys picks the few positions that may hold one of them, and an exact
    look-up keeps those that do."""
    s = np.sort(packed)
    if len(s) < 2:
        return np.arange(len(s), dtype=np.int64)
    dup = s[1:] == s[:-1]
    once = np.ones(len(s), dtype=bool)
    once[1:] &= ~dup
    once[:-1] &= ~dup
    values = s[once]
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    bits = int(min(max(int(np.ceil(np.log2(len(values)))) + 6, 16), 27))
    table = np.zeros(1 << bits, dtype=bool)
    table[_hash(values, bits)] = True
    cand = np.flatnonzero(table[_hash(packed, bits)])
    pc = packed[cand]
    i = np.searchsorted(values, pc)
    i[i == len(values)] = 0
    return cand[values[i] == pc]


def boundary_facet_groups(blocks: Iterable[tuple[str, np.ndarray]], facets: dict,
                          corners: dict, n_nodes: int | None = None,
                          ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Boundary facets of ``blocks`` ((cell type, connectivity) pairs), one group per corner
    count: a list of ``(rows, first)`` where ``rows`` holds the facets' nodes and ``first`` the
    position of each in the scan order of all facets, the groups in the order their first facet
    comes. ``facets``/``corners`` are the tables of :mod:`physapp.core.regions` by linear type."""
    keys: dict[int, list[list[np.ndarray]]] = {}
    segs: dict[int, list[tuple[np.ndarray, tuple, int]]] = {}  # (corner nodes, facet, scan pos)
    pos = 0
    top = -1
    for cell_type, conn in blocks:
        base = _base(cell_type)
        c = np.asarray(conn)[:, : corners[base]]
        if not len(c):
            continue
        top = max(top, int(c.max()))
        for f in facets[base]:
            keys.setdefault(len(f), []).append(sorted_columns([c[:, j] for j in f]))
            segs.setdefault(len(f), []).append((c, tuple(f), pos))
            pos += len(c)
    n = top + 1 if n_nodes is None else max(int(n_nodes), top + 1)
    groups = []
    for k in keys:
        keep = seen_once(keys[k], n)
        sizes = np.array([len(c) for c, _, _ in segs[k]])
        starts = np.concatenate([[0], np.cumsum(sizes)])
        seg = np.searchsorted(starts, keep, side="right") - 1
        rows = np.empty((len(keep), k), dtype=np.result_type(*(c for c, _, _ in segs[k])))
        first = np.empty(len(keep), dtype=np.int64)
        for i in np.unique(seg):
            sel = np.flatnonzero(seg == i)
            c, f, p = segs[k][i]
            cell = keep[sel] - starts[i]
            rows[sel] = c[cell][:, list(f)]
            first[sel] = p + cell
        groups.append((rows, first))
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


def facets_in(rows: np.ndarray, among: list[np.ndarray], n_nodes: int) -> np.ndarray:
    """For each facet of ``rows`` (corner nodes, one per row), whether a facet of ``among`` (arrays
    of facets, any corner counts) has the same nodes in any order."""
    rows = np.asarray(rows)
    keep = np.zeros(len(rows), dtype=bool)
    if not len(rows):
        return keep
    k = rows.shape[1]
    same = [np.asarray(a) for a in among if len(a) and np.asarray(a).shape[1] == k]
    if not same:
        return keep
    key = np.sort(rows, axis=1)
    other = np.sort(np.concatenate(same), axis=1)
    n = max(int(n_nodes), int(key.max()) + 1, int(other.max()) + 1)
    if n ** k < 2**62:
        def pack(a):
            out = a[:, 0].astype(np.int64)
            for j in range(1, k):
                out = out * n + a[:, j]
            return out
        return np.isin(pack(key), pack(other))
    table = set(map(tuple, other.tolist()))
    return np.array([tuple(r) in table for r in key.tolist()], dtype=bool)

"""Fast check that a closed triangle surface does not intersect itself (#14).

gmsh's surface classification and volume meshing do not return on a surface whose triangles
cross each other, so :func:`physapp.geometry.cad.mesh_closed_surface` refuses such a surface
first. The check is vectorised numpy:

1. Broad phase: every triangle's axis-aligned bounding box is binned into a uniform grid (cell
   size about the size of most triangles, grown while the boxes would fill too many cells); two
   triangles are a candidate pair when they share a cell and their boxes overlap. Each pair is
   kept in one cell only (the one holding the low corner of the boxes' overlap), so no pair is
   tested twice and no ``unique`` over pairs is needed.
2. Narrow phase, exact up to round-off:

   * triangles without a common vertex: rejected at once when one lies strictly on one side of
     the other's plane; otherwise they cross when an edge of one passes through the other
     (orientation tests with signed volumes; touching is not crossing). Coplanar pairs are
     ignored (they do not make gmsh loop and a closed surface rarely has them);
   * triangles sharing one vertex V: they overlap beyond V when each reaches the other's plane
     on the far side of V in the same direction along the planes' common line;
   * neighbours sharing an edge are never flagged.

The result is the number of crossing pairs and a point of one crossing, for the message.
"""

from __future__ import annotations

import numpy as np

#: most grid cells a triangle's box may cover in total, per triangle, before the cells grow
_ENTRIES_PER_TRIANGLE = 12
#: candidate pairs generated at once (bounds the memory of the broad phase)
_CHUNK_PAIRS = 4_000_000


def _grid_entries(lo: np.ndarray, hi: np.ndarray):
    """(triangle index, cell key) of every grid cell a triangle's box covers, each triangle's
    first cell (integer coordinates) and the number of cells along each axis."""
    m = len(lo)
    ext = (hi - lo).max(axis=1)
    origin = lo.min(axis=0)
    span = float((hi.max(axis=0) - origin).max())
    h = float(np.percentile(ext, 90)) if m else 1.0
    h = max(h, span / 2**20, 1e-300)
    while True:
        i0 = np.floor((lo - origin) / h).astype(np.int64)
        i1 = np.floor((hi - origin) / h).astype(np.int64)
        cnt = i1 - i0 + 1
        per = cnt[:, 0] * cnt[:, 1] * cnt[:, 2]
        if per.astype(float).sum() <= _ENTRIES_PER_TRIANGLE * m + 1000:
            break
        h *= 1.5
    total = int(per.sum())
    tid = np.repeat(np.arange(m), per)
    k = np.arange(total) - np.repeat(np.cumsum(per) - per, per)
    cx, cy = cnt[tid, 0], cnt[tid, 1]
    cell = i0[tid] + np.column_stack([k % cx, (k // cx) % cy, k // (cx * cy)])
    n = cell.max(axis=0) + 1 if total else np.ones(3, dtype=np.int64)
    key = cell[:, 0] + n[0] * (cell[:, 1] + n[1] * cell[:, 2])
    return tid, key, i0, n


def candidate_pairs(lo: np.ndarray, hi: np.ndarray):
    """Yield arrays (a, b), a < b, of triangles whose bounding boxes overlap; each pair once."""
    tid, key, i0, n = _grid_entries(lo, hi)
    order = np.argsort(key, kind="stable")
    tid, key = tid[order].astype(np.int32), key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    # entry at position p of a group of size s pairs with the s - 1 - p entries after it
    pos = np.arange(len(key)) - np.repeat(starts, sizes)
    after = (np.repeat(sizes, sizes) - 1 - pos).astype(np.int64)
    csum = np.cumsum(after)
    begin = 0
    while begin < len(key):
        base = csum[begin - 1] if begin else 0
        end = max(int(np.searchsorted(csum, base + _CHUNK_PAIRS, side="right")), begin + 1)
        cnt = after[begin:end]
        first = np.repeat(np.arange(begin, end, dtype=np.int32), cnt)
        second = first + 1 + (np.arange(len(first), dtype=np.int32)
                              - np.repeat((np.cumsum(cnt) - cnt).astype(np.int32), cnt))
        begin = end
        a, b = tid[first], tid[second]
        keep = (lo[a, 0] <= hi[b, 0]) & (lo[b, 0] <= hi[a, 0])
        a, b, first = a[keep], b[keep], first[keep]
        keep = ((lo[a, 1] <= hi[b, 1]) & (lo[b, 1] <= hi[a, 1])
                & (lo[a, 2] <= hi[b, 2]) & (lo[b, 2] <= hi[a, 2]))
        a, b, first = a[keep], b[keep], first[keep]
        # the pair's one cell: the one holding the low corner of the boxes' overlap
        low = np.maximum(i0[a], i0[b])
        keep = key[first] == low[:, 0] + n[0] * (low[:, 1] + n[1] * low[:, 2])
        a, b = a[keep], b[keep]
        yield np.minimum(a, b), np.maximum(a, b)


def _orient(a, b, c, d):
    """Six times the signed volume of (a, b, c, d), row by row."""
    return np.einsum("ij,ij->i", np.cross(b - a, c - a), d - a)


def _crossing_disjoint(P, Q):
    """For triangles P, Q (k, 3, 3) with no common corner, each reaching across the other's
    plane: whether an edge of one passes through the other, and the point where it does."""
    hit = np.zeros(len(P), dtype=bool)
    where = np.full((len(P), 3), np.nan)
    for tri, other in ((P, Q), (Q, P)):
        a, b, c = other[:, 0], other[:, 1], other[:, 2]
        for i, j in ((0, 1), (1, 2), (2, 0)):
            p, q = tri[:, i], tri[:, j]
            op, oq = _orient(a, b, c, p), _orient(a, b, c, q)
            s1, s2, s3 = _orient(p, q, a, b), _orient(p, q, b, c), _orient(p, q, c, a)
            cross = (op * oq < 0) & (((s1 > 0) & (s2 > 0) & (s3 > 0))
                                     | ((s1 < 0) & (s2 < 0) & (s3 < 0)))
            new = cross & ~hit
            if new.any():
                t = (op / np.where(cross, op - oq, 1.0))[:, None]
                where[new] = (p + t * (q - p))[new]
            hit |= cross
    return hit, where


def _crossing_one_shared(P, Q):
    """Triangles P, Q (k, 3, 3) whose corner 0 is the same point V, each reaching across the
    other's plane: whether they overlap beyond V, and a point of the overlap."""
    v = P[:, 0]
    nP = np.cross(P[:, 1] - v, P[:, 2] - v)
    nQ = np.cross(Q[:, 1] - v, Q[:, 2] - v)

    def reach(T, n_other):
        """Where T's edge opposite V meets the other plane."""
        d1 = np.einsum("ij,ij->i", T[:, 1] - v, n_other)
        d2 = np.einsum("ij,ij->i", T[:, 2] - v, n_other)
        t = (d1 / np.where(d1 != d2, d1 - d2, 1.0))[:, None]
        return T[:, 1] + t * (T[:, 2] - T[:, 1])

    xP, xQ = reach(P, nQ), reach(Q, nP)
    # both lie on the planes' common line through V: the triangles overlap when they point the
    # same way, from V to the nearer of the two points
    hit = np.einsum("ij,ij->i", xP - v, xQ - v) > 0
    near = np.where((np.linalg.norm(xP - v, axis=1) < np.linalg.norm(xQ - v, axis=1))[:, None],
                    xP, xQ)
    return hit, 0.5 * (v + near)


def _straddles(T, sharedT, origin, normal, tol):
    """Whether the corners of T (k, 3, 3) that are not shared lie clearly on both sides of the
    plane through ``origin`` with unit ``normal`` (more than ``tol`` away)."""
    d = np.einsum("kij,kj->ki", T - origin[:, None], normal)
    up, down = (d > tol) & ~sharedT, (d < -tol) & ~sharedT
    return (up[:, 0] | up[:, 1] | up[:, 2]) & (down[:, 0] | down[:, 1] | down[:, 2])


def self_intersections(points, triangles) -> tuple[int, np.ndarray | None]:
    """Number of pairs of triangles of a surface that cross each other, and a point of one
    crossing (None when there is none).

    ``triangles`` index ``points`` (finite); coincident points must already be merged
    (neighbours are recognised by common point indices). A corner closer than 1e-9 of the
    surface's size to the other triangle's plane counts as on it, so nearly coplanar
    triangles (a flat face split into a fan) are never flagged by round-off."""
    pts = np.asarray(points, dtype=float)
    tri = np.asarray(triangles, dtype=np.int64)
    if len(tri) < 2:
        return 0, None
    corners = pts[tri]
    lo, hi = corners.min(axis=1), corners.max(axis=1)
    tol = 1e-9 * float(np.linalg.norm(hi.max(axis=0) - lo.min(axis=0)))
    normal = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    length = np.linalg.norm(normal, axis=1)
    normal /= np.where(length > 0, length, 1.0)[:, None]
    count, example = 0, None
    for a, b in candidate_pairs(lo, hi):
        ta, tb = tri[a], tri[b]
        same = ta[:, :, None] == tb[:, None, :]  # (k, 3, 3): corner i of a is corner j of b
        sa = same[:, :, 0] | same[:, :, 1] | same[:, :, 2]
        sb = same[:, 0] | same[:, 1] | same[:, 2]
        shared = sa[:, 0].astype(np.int8) + sa[:, 1] + sa[:, 2]
        keep = shared <= 1  # edge neighbours only touch (or fold, which is left to gmsh)
        a, b, same, sa, sb, shared = a[keep], b[keep], same[keep], sa[keep], sb[keep], shared[keep]
        A, B = corners[a], corners[b]
        live = (_straddles(B, sb, A[:, 0], normal[a], tol)
                & _straddles(A, sa, B[:, 0], normal[b], tol))
        sel = np.flatnonzero(live & (shared == 0))
        if len(sel):
            hit, where = _crossing_disjoint(A[sel], B[sel])
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
        sel = np.flatnonzero(live & (shared == 1))
        if len(sel):
            ia, ib = sa[sel].argmax(axis=1), sb[sel].argmax(axis=1)  # the common corner's place
            rows = np.arange(len(sel))[:, None]
            P = A[sel][rows, (ia[:, None] + np.arange(3)) % 3]  # common corner first
            Q = B[sel][rows, (ib[:, None] + np.arange(3)) % 3]
            hit, where = _crossing_one_shared(P, Q)
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
    return count, example

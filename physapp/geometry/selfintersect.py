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
     (orientation tests with signed volumes; touching is not crossing);
   * triangles sharing one vertex V: they overlap beyond V when each reaches the other's plane
     on the far side of V in the same direction along the planes' common line;
   * coplanar triangles (corners within 1e-9 of the surface's size of the other's plane): with no
     common corner they overlap when, seen along the normal, an edge of one crosses an edge of
     the other or a corner of one lies inside the other; with one common corner, when their
     angles at it overlap;
   * neighbours sharing an edge cross only when folded onto each other (the far corner of one
     in the other's plane, on the same side of the common edge).

The result is the number of crossing pairs and a point of one crossing, for the message. The
work grows with the pairs of overlapping boxes: on surfaces where they are far more than the
triangles (thousands of slivers fanning round one vertex) the check gives up at once
(:class:`CheckTooCostly`) rather than take minutes.
"""

from __future__ import annotations

import numpy as np

#: most grid cells a triangle's box may cover in total, per triangle, before the cells grow
_ENTRIES_PER_TRIANGLE = 12
#: candidate pairs generated at once (bounds the memory of the broad phase)
_CHUNK_PAIRS = 4_000_000
#: most pairs of triangles sharing a grid cell that are examined (a few seconds); beyond it the
#: check is not made (fans of thousands of slivers round one vertex, as on a fine CAD cylinder)
MAX_CELL_PAIRS = 15_000_000


class CheckTooCostly(Exception):
    """The surface's triangles overlap in too many grid cells for the check to be quick."""


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
    """Yield arrays (a, b), a < b, of triangles whose bounding boxes overlap; each pair once.
    Raises :class:`CheckTooCostly` (before any work) when the grid gives too many pairs."""
    tid, key, i0, n = _grid_entries(lo, hi)
    order = np.argsort(key, kind="stable")
    tid, key = tid[order].astype(np.int32), key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    sizes = np.diff(np.r_[starts, len(key)])
    # entry at position p of a group of size s pairs with the s - 1 - p entries after it
    pos = np.arange(len(key)) - np.repeat(starts, sizes)
    after = (np.repeat(sizes, sizes) - 1 - pos).astype(np.int64)
    csum = np.cumsum(after)
    if len(csum) and csum[-1] > MAX_CELL_PAIRS:
        raise CheckTooCostly(f"{int(csum[-1])} pairs of triangles share grid cells")
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


def _folded(A, B, sharedA, sharedB, normalA, tol):
    """Edge neighbours A, B (k, 3, 3) folded onto each other: B's far corner in A's plane (within
    ``tol``) and on the same side of the common edge as A's. Their centroids, for the message."""
    rows = np.arange(len(A))
    a_far, b_far = A[rows, (~sharedA).argmax(axis=1)], B[rows, (~sharedB).argmax(axis=1)]
    first = sharedA.argmax(axis=1)
    u = A[rows, first]
    v = A[rows, 3 - (~sharedA).argmax(axis=1) - first]  # the other common corner
    flat = np.abs(np.einsum("ij,ij->i", b_far - u, normalA)) <= tol
    e = v - u
    same_side = np.einsum("ij,ij->i", np.cross(e, a_far - u), np.cross(e, b_far - u)) > 0
    return flat & same_side, (A.mean(axis=1) + B.mean(axis=1)) / 2


def _sides(T, sharedT, origin, normal, tol):
    """Whether the corners of T (k, 3, 3) that are not shared lie clearly on both sides of the
    plane through ``origin`` with unit ``normal`` (more than ``tol`` away), and whether they all
    lie in it (within ``tol``)."""
    d = np.einsum("kij,kj->ki", T - origin[:, None], normal)
    up, down = (d > tol) & ~sharedT, (d < -tol) & ~sharedT
    off = (np.abs(d) > tol) & ~sharedT
    return ((up[:, 0] | up[:, 1] | up[:, 2]) & (down[:, 0] | down[:, 1] | down[:, 2]),
            ~(off[:, 0] | off[:, 1] | off[:, 2]))


def _common_first(T, sharedT):
    """Triangles T (k, 3, 3) with their one shared corner moved first (order kept)."""
    first = sharedT.argmax(axis=1)
    return T[np.arange(len(T))[:, None], (first[:, None] + np.arange(3)) % 3]


def _wedges_overlap(P, Q, normal, tol2):
    """Coplanar triangles P, Q (k, 3, 3) whose corner 0 is the same point V overlap exactly when
    their angles at V do: an edge of one from V points strictly into the other's angle."""
    v = P[:, 0]
    p1, p2, q1, q2 = P[:, 1] - v, P[:, 2] - v, Q[:, 1] - v, Q[:, 2] - v

    def turn(x, y):  # sign of x -> y about the normal, 0 within round-off
        t = np.einsum("ij,ij->i", np.cross(x, y), normal)
        return np.where(np.abs(t) > tol2, np.sign(t), 0.0)

    def inside(d, e1, e2):  # d strictly inside the angle from e1 to e2 (below 180 degrees)
        s = turn(e1, e2)
        return (s != 0) & (turn(e1, d) == s) & (turn(d, e2) == s)

    hit = inside(q1, p1, p2) | inside(q2, p1, p2) | inside(p1, q1, q2) | inside(p2, q1, q2)
    return hit, (P.mean(axis=1) + Q.mean(axis=1)) / 2


def _overlap_in_plane(A, B, sharedA, sharedB, normalA, tol2):
    """Coplanar triangles A, B (k, 3, 3) without a common corner: whether they overlap (an
    edge of one crosses an edge of the other, or a corner of one lies inside the other), seen
    along the normal's largest component; ``tol2`` is the smallest 2D cross product taken as
    non-zero."""
    keep = np.array([[1, 2], [0, 2], [0, 1]])[np.abs(normalA).argmax(axis=1)][:, None, :]
    a2 = np.take_along_axis(A, np.broadcast_to(keep, (len(A), 3, 2)), axis=2)
    b2 = np.take_along_axis(B, np.broadcast_to(keep, (len(B), 3, 2)), axis=2)

    def orient(p, q, r):
        o = (q[:, 0] - p[:, 0]) * (r[:, 1] - p[:, 1]) - (q[:, 1] - p[:, 1]) * (r[:, 0] - p[:, 0])
        return np.where(np.abs(o) > tol2, np.sign(o), 0.0)

    hit = np.zeros(len(A), dtype=bool)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        for k, m in ((0, 1), (1, 2), (2, 0)):
            p, q, r, s = a2[:, i], a2[:, j], b2[:, k], b2[:, m]
            hit |= ((orient(p, q, r) * orient(p, q, s) < 0)
                    & (orient(r, s, p) * orient(r, s, q) < 0))
    for t, other, shared in ((b2, a2, sharedB), (a2, b2, sharedA)):
        for c in range(3):
            x = t[:, c]
            s1, s2, s3 = (orient(other[:, 0], other[:, 1], x), orient(other[:, 1], other[:, 2], x),
                          orient(other[:, 2], other[:, 0], x))
            hit |= ~shared[:, c] & (s1 != 0) & (s1 == s2) & (s2 == s3)
    return hit, (A.mean(axis=1) + B.mean(axis=1)) / 2


def self_intersections(points, triangles) -> tuple[int, np.ndarray | None]:
    """Number of pairs of triangles of a surface that cross each other, and a point of one
    crossing (None when there is none).

    ``triangles`` index ``points`` (finite); coincident points must already be merged
    (neighbours are recognised by common point indices). A corner closer than 1e-9 of the
    surface's size to the other triangle's plane counts as on it, so nearly coplanar
    triangles (a flat face split into a fan) are never flagged by round-off. Raises
    :class:`CheckTooCostly` when the boxes of too many triangles overlap for a quick check."""
    pts = np.asarray(points, dtype=float)
    tri = np.asarray(triangles, dtype=np.int64)
    if len(tri) < 2:
        return 0, None
    corners = pts[tri]
    lo, hi = corners.min(axis=1), corners.max(axis=1)
    diag = float(np.linalg.norm(hi.max(axis=0) - lo.min(axis=0)))
    tol = 1e-9 * diag
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
        edge = np.flatnonzero(shared == 2)
        if len(edge):
            hit, where = _folded(corners[a[edge]], corners[b[edge]], sa[edge], sb[edge],
                                 normal[a[edge]], tol)
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
        keep = shared <= 1
        a, b, same, sa, sb, shared = a[keep], b[keep], same[keep], sa[keep], sb[keep], shared[keep]
        A, B = corners[a], corners[b]
        cross_b, flat_b = _sides(B, sb, A[:, 0], normal[a], tol)
        cross_a, flat_a = _sides(A, sa, B[:, 0], normal[b], tol)
        live = cross_a & cross_b
        sel = np.flatnonzero(flat_a & flat_b & (shared == 0))
        if len(sel):
            hit, where = _overlap_in_plane(A[sel], B[sel], sa[sel], sb[sel], normal[a[sel]],
                                           tol * diag)
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
        sel = np.flatnonzero(flat_a & flat_b & (shared == 1))
        if len(sel):
            hit, where = _wedges_overlap(_common_first(A[sel], sa[sel]),
                                         _common_first(B[sel], sb[sel]), normal[a[sel]],
                                         tol * diag)
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
        sel = np.flatnonzero(live & (shared == 0))
        if len(sel):
            hit, where = _crossing_disjoint(A[sel], B[sel])
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
        sel = np.flatnonzero(live & (shared == 1))
        if len(sel):
            hit, where = _crossing_one_shared(_common_first(A[sel], sa[sel]),
                                              _common_first(B[sel], sb[sel]))
            count += int(hit.sum())
            if example is None and hit.any():
                example = where[np.flatnonzero(hit)[0]]
    return count, example

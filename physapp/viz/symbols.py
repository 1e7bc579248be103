"""Support and load symbols of an elasticity set-up (#13), as pyvista geometry.

Cones for fixed displacement components (tip on the surface, pointing into the part along the
fixed direction; a symmetry support fixes the component normal to its plane), arrows for
pressures (along the normal: into the part for a positive pressure), tractions and forces (along
their vector; the tip on the surface when they push, the tail when they pull). Symbols sit at up to :data:`PER_REGION` points spread over
each region (farthest-point sampling of facet centres) and are sized by the part's diagonal.

Qt-free; the GUI adds the two PolyData to its plotter (:mod:`physapp.gui.setup_symbols`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv

from physapp.core.mesh import MeshData

PER_REGION = 14  # symbols per region at most
ARROW_LENGTH = 0.09  # of the part's diagonal
CONE_HEIGHT = 0.035
SUPPORT_COLOR = "#1f5fbf"
LOAD_COLOR = "#d62728"


@dataclass(frozen=True)
class Symbols:
    """Cones of the supports and arrows of the loads (either may be empty)."""

    supports: pv.PolyData
    loads: pv.PolyData
    n_supports: int  # symbols (cones) drawn
    n_loads: int  # arrows drawn


def _corners(mesh: MeshData, facets: np.ndarray) -> np.ndarray:
    k = facets.shape[1]
    if mesh.dim == 2 or k in (2, 3):
        return facets[:, : (2 if mesh.dim == 2 else 3)]
    return facets[:, :3] if k == 6 else facets[:, :4]


def cell_index(mesh: MeshData) -> tuple:
    """What :func:`region_anchors` needs to find the cell behind a facet: the corner
    connectivity (padded with -1), cell centroids and a node -> cells index. Build it once per
    mesh (O(n log n)); each lookup is then O(cells per node)."""
    conn, cents = _cell_centres(mesh)
    flat = conn.ravel()
    order = np.argsort(flat, kind="stable")
    return conn, cents, order, flat[order]


def _cell_centres(mesh: MeshData) -> tuple[np.ndarray, np.ndarray]:
    """(corner connectivity padded with -1, centroid) of every domain cell."""
    corners = {"triangle": 3, "quad": 4, "tetra": 4, "hexahedron": 8, "wedge": 6,
               "pyramid": 5}
    blocks, cents = [], []
    width = 8
    for b in mesh.cells:
        n = corners.get(b.type.rstrip("0123456789"))
        if n is None:
            continue
        c = b.connectivity[:, :n]
        blocks.append(np.pad(c, ((0, 0), (0, width - n)), constant_values=-1))
        cents.append(mesh.points[c].mean(axis=1))
    if not blocks:
        return np.zeros((0, width), dtype=np.int64), np.zeros((0, 3))
    return np.concatenate(blocks), np.concatenate(cents)


def _outward(mesh: MeshData, facets: np.ndarray, centres: np.ndarray,
             normals: np.ndarray, cells) -> np.ndarray:
    """``normals`` flipped to point out of the part (away from the cell each facet bounds)."""
    conn, cell_centres, order, keys = cells
    width = conn.shape[1] if conn.ndim == 2 else 1
    out = normals.copy()
    for i, f in enumerate(facets):
        a, b = np.searchsorted(keys, f[0], "left"), np.searchsorted(keys, f[0], "right")
        cand = order[a:b] // width  # the cells at the facet's first node
        rows = cand[np.isin(conn[cand], f).sum(axis=1) == len(f)]
        inner = cell_centres[rows[0]] if len(rows) else mesh.points.mean(axis=0)
        if np.dot(out[i], centres[i] - inner) < 0:
            out[i] = -out[i]
    return out


def _spread(points: np.ndarray, k: int) -> np.ndarray:
    """Indices of up to ``k`` points spread over ``points`` (farthest-point sampling)."""
    n = len(points)
    if n <= k:
        return np.arange(n)
    chosen = [int(np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1)))]
    dist = np.linalg.norm(points - points[chosen[0]], axis=1)
    for _ in range(k - 1):
        j = int(np.argmax(dist))
        chosen.append(j)
        dist = np.minimum(dist, np.linalg.norm(points - points[j], axis=1))
    return np.asarray(chosen)


def region_anchors(mesh: MeshData, region: str, k: int = PER_REGION, cells=None
                   ) -> tuple[np.ndarray, np.ndarray] | None:
    """Up to ``k`` points spread over a region and the outward unit normal there (zero where a
    region has none: 3D edges and points). None for an unknown region."""
    pts = np.asarray(mesh.points, dtype=np.float64)
    if region in mesh.boundaries:
        facets = _corners(mesh, np.asarray(mesh.boundaries[region]))
        if not len(facets):
            return None
        p = pts[facets]
        centres = p.mean(axis=1)
        pick = _spread(centres, k)
        facets, p, centres = facets[pick], p[pick], centres[pick]
        if facets.shape[1] == 2:
            t = p[:, 1] - p[:, 0]
            n = np.column_stack([t[:, 1], -t[:, 0], np.zeros(len(t))])
        else:
            n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        n = _outward(mesh, facets, centres, n, cells if cells is not None else cell_index(mesh))
        return centres, n
    if region in mesh.edges:
        seg = np.asarray(mesh.edges[region])[:, :2]
        centres = pts[seg].mean(axis=1)
    elif region in mesh.point_sets:
        centres = pts[np.unique(np.asarray(mesh.point_sets[region]))]
    else:
        return None
    centres = centres[_spread(centres, k)]
    return centres, np.zeros_like(centres)


def _glyphs(starts: list, dirs: list, geom: pv.PolyData, size: float) -> pv.PolyData:
    if not starts:
        return pv.PolyData()
    cloud = pv.PolyData(np.asarray(starts, dtype=np.float64))
    cloud["dir"] = np.asarray(dirs, dtype=np.float64)
    return cloud.glyph(orient="dir", scale=False, factor=size, geom=geom)


def _unit(v) -> np.ndarray | None:
    v = np.zeros(3) + np.pad(np.asarray(v, dtype=np.float64), (0, 3 - len(v)))
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else None


def setup_symbols(mesh: MeshData, setup, cells=None) -> Symbols:
    """The symbols of ``setup`` (an ``ElasticSetup`` or anything with ``supports``,
    ``pressures``, ``tractions``, ``nodal_forces``) on ``mesh``; ``cells``: the mesh's
    :func:`cell_index` when the caller keeps it."""
    lo, hi = mesh.bounds()
    diag = float(np.linalg.norm(np.asarray(hi) - np.asarray(lo))) or 1.0
    arrow, cone = ARROW_LENGTH * diag, CONE_HEIGHT * diag
    cells = cell_index(mesh) if cells is None else cells
    centre = np.asarray(mesh.points, dtype=np.float64).mean(axis=0)
    cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def anchors(region):
        if region not in cache:
            cache[region] = region_anchors(mesh, region, cells=cells)
        return cache[region]

    c_starts, c_dirs = [], []
    for s in getattr(setup, "supports", ()):
        found = anchors(s.region)
        if found is None:
            continue
        at, normals = found
        comps = list(s.components)
        if s.symmetry:
            mean = normals.mean(axis=0)
            comps = [int(np.argmax(np.abs(mean)))] if np.any(mean) else []
        for p, n in zip(at, normals, strict=True):
            out = n if np.any(n) else _unit(p - centre)
            for c in comps:
                e = np.zeros(3)
                e[c] = 1.0
                side = 1.0 if out is None or np.dot(out, e) >= 0 else -1.0
                # base outside, tip on the surface: the cone points into the part
                c_starts.append(p)
                c_dirs.append(-side * e)
    a_starts, a_dirs = [], []

    def add_arrows(region, direction=None, sign=1.0):
        found = anchors(region)
        if found is None:
            return
        at, normals = found
        for p, n in zip(at, normals, strict=True):
            d = direction if direction is not None else (sign * -n if np.any(n) else None)
            if d is None:
                continue
            # pushing: the tip on the surface; pulling (along the outward normal): the tail
            pulls = np.any(n) and float(np.dot(d, n)) > 1e-6
            a_starts.append(p if pulls else p - arrow * d)
            a_dirs.append(d)

    for pr in getattr(setup, "pressures", ()):
        if pr.value != 0:
            add_arrows(pr.region, sign=1.0 if pr.value > 0 else -1.0)
    for t in (*getattr(setup, "tractions", ()), *getattr(setup, "nodal_forces", ())):
        d = _unit(t.vector)
        if d is not None:
            add_arrows(t.region, direction=d)
    # a cone of height 1 whose tip is at the origin, base towards -x (glyphs orient +x)
    cone_geom = pv.Cone(center=(-0.5, 0.0, 0.0), direction=(1.0, 0.0, 0.0), height=1.0,
                        radius=0.35, resolution=16)
    # the arrow's tail at the origin: glyphs start at the tail and end at the surface
    arrow_geom = pv.Arrow(start=(0.0, 0.0, 0.0), direction=(1.0, 0.0, 0.0), tip_length=0.3,
                          tip_radius=0.09, shaft_radius=0.03, scale=1.0)
    cones = _glyphs(c_starts, c_dirs, cone_geom, cone)
    arrows = _glyphs(a_starts, a_dirs, arrow_geom, arrow)
    return Symbols(cones, arrows, len(c_starts), len(a_starts))

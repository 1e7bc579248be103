"""Support and load symbols of an elasticity set-up (#13), as pyvista geometry.

Cones for fixed displacement components (tip on the surface, pointing into the part along the
fixed direction; a symmetry support fixes the component normal to its plane), arrows for
pressures (along the normal: into the part for a positive pressure), tractions and forces (along
their vector; the tip on the surface when they push, the tail when they pull). Symbols sit at up to :data:`PER_REGION` points spread over
each region (farthest-point sampling of facet centres) and are sized by the part's diagonal.

Heat set-ups (:func:`heat_symbols`): discs flat on the surface for fixed temperatures, arrows
into the part for a heat flux in (out for a negative one), arrows out of the part for convection
(heat leaves to the fluid). Flow set-ups (:func:`flow_symbols`): arrows along prescribed
velocities (inlets, moving lids), grey discs on no-slip walls, arrows out of the outlets (regions
named "outlet..."; other unlisted regions are do-nothing too but not marked).

Qt-free; the GUI adds the PolyData to its plotter (:mod:`physapp.gui.setup_symbols`).
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
FIXED_T_COLOR = "#7b2d8e"  # fixed temperature (a constraint, like a support)
HEAT_FLUX_COLOR = "#e8590c"
CONVECTION_COLOR = "#0b9aa8"
WALL_COLOR = "#5f6b73"
OUTLET_COLOR = "#2b8a3e"


@dataclass(frozen=True)
class Symbols:
    """Cones of the supports and arrows of the loads (either may be empty)."""

    supports: pv.PolyData
    loads: pv.PolyData
    n_supports: int  # symbols (cones) drawn
    n_loads: int  # arrows drawn
    #: further groups (name, geometry, colour): heat and flow boundary conditions
    extra: tuple[tuple[str, pv.PolyData, str], ...] = ()


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


class _Placer:
    """Anchors of regions on one mesh (cached) and arrows / cones / discs placed at them."""

    def __init__(self, mesh: MeshData, cells=None) -> None:
        lo, hi = mesh.bounds()
        diag = float(np.linalg.norm(np.asarray(hi) - np.asarray(lo))) or 1.0
        self.mesh, self.arrow, self.cone = mesh, ARROW_LENGTH * diag, CONE_HEIGHT * diag
        self.cells = cell_index(mesh) if cells is None else cells
        self.centre = np.asarray(mesh.points, dtype=np.float64).mean(axis=0)
        self._cache: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def anchors(self, region: str):
        if region not in self._cache:
            self._cache[region] = region_anchors(self.mesh, region, cells=self.cells)
        return self._cache[region]

    def arrows(self, region: str, starts: list, dirs: list, direction=None,
               sign: float = 1.0) -> None:
        """Arrows on ``region`` along ``direction`` (else ``sign`` x the inward normal)."""
        found = self.anchors(region)
        if found is None:
            return
        for p, n in zip(*found, strict=True):
            d = direction if direction is not None else (sign * -n if np.any(n) else None)
            if d is None:
                continue
            # pushing: the tip on the surface; pulling (along the outward normal): the tail
            pulls = np.any(n) and float(np.dot(d, n)) > 1e-6
            starts.append(p if pulls else p - self.arrow * d)
            dirs.append(d)

    def discs(self, region: str, starts: list, dirs: list) -> None:
        """Flat markers lying on ``region`` (oriented by its normal; 3D edges and points: by
        the direction from the part's centre)."""
        found = self.anchors(region)
        if found is None:
            return
        for p, n in zip(*found, strict=True):
            d = n if np.any(n) else _unit(p - self.centre)
            starts.append(p)
            dirs.append(d if d is not None else np.array([0.0, 0.0, 1.0]))


def _arrow_geom() -> pv.PolyData:
    # the arrow's tail at the origin: glyphs start at the tail and end at the surface
    return pv.Arrow(start=(0.0, 0.0, 0.0), direction=(1.0, 0.0, 0.0), tip_length=0.3,
                    tip_radius=0.09, shaft_radius=0.03, scale=1.0)


def _disc_geom() -> pv.PolyData:
    # a thin cylinder along x (glyphs orient +x = the normal), centred on the surface
    return pv.Cylinder(center=(0.0, 0.0, 0.0), direction=(1.0, 0.0, 0.0), radius=0.5,
                       height=0.12, resolution=20)


def setup_symbols(mesh: MeshData, setup, cells=None) -> Symbols:
    """The symbols of ``setup`` on ``mesh``: an ``ElasticSetup`` (or anything with
    ``supports``, ``pressures``, ``tractions``, ``nodal_forces``), a heat set-up (``fixed``,
    ``fluxes``, ``convections``) or a flow set-up (``velocity``, ``walls``); ``cells``: the
    mesh's :func:`cell_index` when the caller keeps it."""
    place = _Placer(mesh, cells)
    c_starts, c_dirs = [], []
    for s in getattr(setup, "supports", ()):
        found = place.anchors(s.region)
        if found is None:
            continue
        at, normals = found
        comps = list(s.components)
        if s.symmetry:
            mean = normals.mean(axis=0)
            comps = [int(np.argmax(np.abs(mean)))] if np.any(mean) else []
        for p, n in zip(at, normals, strict=True):
            out = n if np.any(n) else _unit(p - place.centre)
            for c in comps:
                e = np.zeros(3)
                e[c] = 1.0
                side = 1.0 if out is None or np.dot(out, e) >= 0 else -1.0
                # base outside, tip on the surface: the cone points into the part
                c_starts.append(p)
                c_dirs.append(-side * e)
    a_starts, a_dirs = [], []
    for pr in getattr(setup, "pressures", ()):
        if pr.value != 0:
            place.arrows(pr.region, a_starts, a_dirs, sign=1.0 if pr.value > 0 else -1.0)
    for t in (*getattr(setup, "tractions", ()), *getattr(setup, "nodal_forces", ())):
        d = _unit(t.vector)
        if d is not None:
            place.arrows(t.region, a_starts, a_dirs, direction=d)
    # a cone of height 1 whose tip is at the origin, base towards -x (glyphs orient +x)
    cone_geom = pv.Cone(center=(-0.5, 0.0, 0.0), direction=(1.0, 0.0, 0.0), height=1.0,
                        radius=0.35, resolution=16)
    cones = _glyphs(c_starts, c_dirs, cone_geom, place.cone)
    arrows = _glyphs(a_starts, a_dirs, _arrow_geom(), place.arrow)
    extra = (*heat_symbols(place, setup), *flow_symbols(place, setup))
    return Symbols(cones, arrows, len(c_starts), len(a_starts), extra)


def heat_symbols(place: _Placer, setup) -> list[tuple[str, pv.PolyData, str]]:
    """Fixed temperatures (discs), heat fluxes (arrows in for heat in) and convection (arrows
    out) of a heat set-up; empty for other set-ups."""
    groups = []
    starts, dirs = [], []
    for f in getattr(setup, "fixed", ()):
        place.discs(f.region, starts, dirs)
    if starts:
        groups.append(("fixed_temperature", _glyphs(starts, dirs, _disc_geom(), 1.8 * place.cone),
                       FIXED_T_COLOR))
    starts, dirs = [], []
    for q in getattr(setup, "fluxes", ()):
        if q.value != 0:  # heat in: along the inward normal
            place.arrows(q.region, starts, dirs, sign=1.0 if q.value > 0 else -1.0)
    if starts:
        groups.append(("heat_flux", _glyphs(starts, dirs, _arrow_geom(), place.arrow),
                       HEAT_FLUX_COLOR))
    starts, dirs = [], []
    for c in getattr(setup, "convections", ()):
        if c.h > 0:  # heat leaves to the fluid: along the outward normal
            place.arrows(c.region, starts, dirs, sign=-1.0)
    if starts:
        groups.append(("convection", _glyphs(starts, dirs, _arrow_geom(), 0.8 * place.arrow),
                       CONVECTION_COLOR))
    return groups


def flow_symbols(place: _Placer, setup) -> list[tuple[str, pv.PolyData, str]]:
    """Prescribed velocities (arrows along them), no-slip walls (discs) and outlets (arrows
    out) of a flow set-up; empty for other set-ups."""
    groups = []
    starts, dirs = [], []
    for bc in getattr(setup, "velocity", ()):
        d = _unit(bc.value)
        if d is not None:
            place.arrows(bc.region, starts, dirs, direction=d)
    if starts:
        groups.append(("inflow", _glyphs(starts, dirs, _arrow_geom(), place.arrow), LOAD_COLOR))
    starts, dirs = [], []
    for w in getattr(setup, "walls", ()):
        place.discs(w, starts, dirs)
    if starts:
        groups.append(("walls", _glyphs(starts, dirs, _disc_geom(), place.cone),
                       WALL_COLOR))
    starts, dirs = [], []
    if hasattr(setup, "walls"):
        for name in place.mesh.boundaries:
            if name.lower().startswith("outlet"):
                place.arrows(name, starts, dirs, sign=-1.0)
    if starts:
        groups.append(("outlet", _glyphs(starts, dirs, _arrow_geom(), place.arrow),
                       OUTLET_COLOR))
    return groups

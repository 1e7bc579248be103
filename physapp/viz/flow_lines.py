"""Streamlines and velocity arrows of a 2D flow result (pyvista, no Qt).

Used by the GUI's flow view options (:mod:`physapp.gui.flow_view`) on the GUI thread: each call
takes a few tens of milliseconds on the shipped flow meshes (streamlines are integrated with
``streamlines_from_source`` on the result's own triangles, no resampling).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from physapp.core.results import FieldResult

VELOCITY = "velocity"
N_SEEDS = 20  # seed points along the seed line
N_ARROWS = 28
MAX_STEPS = 400  # integration steps per streamline and direction (bounds the time)  # arrows across the longer side of the region they cover


def has_velocity(result: FieldResult | None) -> bool:
    """True when ``result`` has a vector velocity field (a flow study)."""
    if result is None:
        return False
    u = result.point_data.get(VELOCITY)
    return u is not None and np.ndim(u) == 2 and np.shape(u)[1] >= 2


def velocity_grid(result: FieldResult, grid: pv.UnstructuredGrid | None = None
                  ) -> pv.UnstructuredGrid:
    """``grid`` (made from the result's mesh when None) with the velocity as its vectors."""
    if grid is None:
        from physapp.viz.grids import mesh_to_grid

        grid = mesh_to_grid(result.mesh)
    u = np.zeros((result.mesh.n_points, 3))
    v = np.asarray(result.point_data[VELOCITY], dtype=np.float64)
    u[:, : v.shape[1]] = v
    grid.point_data[VELOCITY] = u
    grid.set_active_vectors(VELOCITY)
    return grid


def _body_box(grid: pv.UnstructuredGrid) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box of the finest cells (5 %): where the mesh is refined, i.e. around a body
    or along the walls that matter."""
    sizes = grid.compute_cell_sizes(length=False, area=True, volume=False)["Area"]
    centres = grid.cell_centers().points
    fine = centres[sizes <= np.quantile(sizes, 0.05)]
    return fine.min(axis=0), fine.max(axis=0)


def is_closed(grid: pv.UnstructuredGrid) -> bool:
    """True when no flow enters through the left side of the domain (a cavity)."""
    lo, hi = grid.bounds[0], grid.bounds[1]
    u = grid.point_data[VELOCITY]
    inlet = grid.points[:, 0] <= lo + 1e-6 * (hi - lo)
    top = float(np.linalg.norm(u, axis=1).max()) or 1.0
    return not (inlet.any() and float(u[inlet, 0].max()) > 1e-3 * top)


def auto_seed_line(grid: pv.UnstructuredGrid) -> tuple[np.ndarray, np.ndarray]:
    """Where streamlines start when the user has placed no line.

    A flow that enters the domain (channel, far field): a line across the flow upstream of
    the refined region (the body), one body size ahead of it and three body sizes high, kept
    inside the domain. A closed flow (cavity): the vertical centre line, which crosses the
    vortices.
    """
    lo, hi = np.asarray(grid.bounds[0::2]), np.asarray(grid.bounds[1::2])
    size = hi - lo
    if is_closed(grid):
        x = 0.5 * (lo[0] + hi[0])
        pad = 0.01 * size[1]
        return np.array([x, lo[1] + pad, 0.0]), np.array([x, hi[1] - pad, 0.0])
    blo, bhi = _body_box(grid)
    body = max(float(np.max(bhi[:2] - blo[:2])), 1e-12)
    x = max(float(blo[0]) - body, lo[0] + 0.01 * size[0])
    mid = 0.5 * float(blo[1] + bhi[1])
    half = 1.5 * body + 0.5 * float(bhi[1] - blo[1])
    y0, y1 = max(mid - half, lo[1] + 0.005 * size[1]), min(mid + half, hi[1] - 0.005 * size[1])
    return np.array([x, y0, 0.0]), np.array([x, y1, 0.0])


def streamlines(grid: pv.UnstructuredGrid, line: tuple[np.ndarray, np.ndarray],
                n_seeds: int = N_SEEDS) -> pv.PolyData:
    """Streamlines through ``n_seeds`` points along ``line``: both ways from the seeds in a
    through-flow, one way round (one lap at most) in a closed flow. Runge-Kutta 2 with steps
    of one cell and a bounded length keep it to tens of milliseconds."""
    a, b = (np.array(p, dtype=float) for p in line)
    a[2] = b[2] = 0.0
    seeds = pv.Line(a, b, resolution=max(n_seeds - 1, 1))
    lo, hi = np.asarray(grid.bounds[0::2]), np.asarray(grid.bounds[1::2])
    size = float(np.linalg.norm(hi - lo))
    closed = is_closed(grid)
    top = float(np.abs(grid[VELOCITY]).max()) or 1.0
    out = grid.streamlines_from_source(
        seeds, vectors=VELOCITY, integration_direction="forward" if closed else "both",
        integrator_type=2, max_steps=MAX_STEPS, initial_step_length=1.0, step_unit="cl",
        max_length=(2.5 if closed else 4.0) * size, terminal_speed=1e-9 * top)
    return _one_lap(out) if closed else out


def _one_lap(lines: pv.PolyData) -> pv.PolyData:
    """Each closed streamline cut where it first comes back to its start (repeated laps
    would draw thick rings around a vortex centre)."""
    pts = np.asarray(lines.points)
    conn = np.asarray(lines.lines)
    keep: list[np.ndarray] = []
    i = 0
    while i < len(conn):
        n = int(conn[i])
        ids = conn[i + 1:i + 1 + n]
        i += n + 1
        p = pts[ids]
        step = np.linalg.norm(np.diff(p, axis=0), axis=1)
        travelled = np.concatenate([[0.0], np.cumsum(step)])
        back = np.linalg.norm(p - p[0], axis=1)
        tol = 2.0 * (float(np.median(step)) if len(step) else 0.0)
        # back near the start after having gone round (travelled well beyond the distance)
        done = np.nonzero((back < tol) & (travelled > 10 * tol))[0]
        keep.append(ids[: int(done[0]) + 1] if len(done) else ids)
    if not keep:
        return lines
    cells = np.concatenate([np.concatenate([[len(k)], k]) for k in keep])
    return pv.PolyData(pts, lines=cells)


def arrows(grid: pv.UnstructuredGrid, region: tuple[np.ndarray, np.ndarray] | None = None,
           n: int = N_ARROWS) -> pv.PolyData:
    """Velocity arrows on an even lattice over ``region`` (lo, hi; the refined region widened
    when None) so they do not crowd where the mesh is fine; the longest arrow is one lattice
    spacing long (the 95th percentile speed; faster ones at most 1.2 spacings)."""
    if region is None:
        region = arrow_region(grid)
    lo, hi = (np.asarray(p, dtype=float) for p in region)
    span = hi[:2] - lo[:2]
    h = float(max(span)) / n
    # lattice points at the centres of h x h squares, arrows centred on them: none sticks out
    nx, ny = (max(int(round(s / h)), 1) for s in span)
    xs = lo[0] + (np.arange(nx) + 0.5) * span[0] / nx
    ys = lo[1] + (np.arange(ny) + 0.5) * span[1] / ny
    X, Y = np.meshgrid(xs, ys)
    probe = pv.PolyData(np.column_stack([X.ravel(), Y.ravel(), np.zeros(X.size)]))
    sampled = probe.sample(grid)
    inside = np.asarray(sampled["vtkValidPointMask"], dtype=bool)
    pts = pv.PolyData(sampled.points[inside])
    u = np.asarray(sampled[VELOCITY])[inside]
    speed = np.linalg.norm(u, axis=1)
    # a lid or a jet would make the other arrows invisible: the 95th percentile speed gets
    # one spacing, faster ones at most 1.2 spacings
    top = float(np.quantile(speed, 0.95)) if speed.size else 0.0
    if top <= 0:
        return pv.PolyData()
    pts[VELOCITY] = u
    pts["scale"] = np.minimum(speed / top, 1.2) * h
    return pts.glyph(orient=VELOCITY, scale="scale", factor=1.0, geom=_flat_arrow())


def _flat_arrow() -> pv.PolyData:
    """A flat arrow in the xy plane from (-0.5, 0) to (0.5, 0): three triangles, cheap to
    glyph."""
    w, t, tl = 0.04, 0.14, 0.35  # shaft half width, tip half width, tip length
    pts = np.array([[0, -w, 0], [1 - tl, -w, 0], [1 - tl, w, 0], [0, w, 0],
                    [1 - tl, -t, 0], [1, 0, 0], [1 - tl, t, 0]], dtype=float)
    pts[:, 0] -= 0.5  # centred on its point
    faces = np.array([3, 0, 1, 2, 3, 0, 2, 3, 3, 4, 5, 6])
    return pv.PolyData(pts, faces)


def arrow_region(grid: pv.UnstructuredGrid) -> tuple[np.ndarray, np.ndarray]:
    """The domain, or for a large far field (the body much smaller than the domain) the
    neighbourhood of the body (four body sizes around it)."""
    lo, hi = np.asarray(grid.bounds[0::2]), np.asarray(grid.bounds[1::2])
    blo, bhi = _body_box(grid)
    body = float(np.max(bhi[:2] - blo[:2]))
    if body * 8 > float(np.min(hi[:2] - lo[:2])):
        return lo, hi
    c = 0.5 * (blo + bhi)
    r = 2.0 * body + 0.5 * (bhi - blo)
    return np.maximum(c - r, lo), np.minimum(c + r, hi)

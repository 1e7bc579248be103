"""Streamlines and arrows of 2D velocity fields with known stream lines (#17)."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from physapp.viz import flow_lines


def _grid(u, lo=(-1.0, -1.0), hi=(1.0, 1.0), n=41) -> pv.UnstructuredGrid:
    img = pv.ImageData(dimensions=(n, n, 1), origin=(*lo, 0.0),
                       spacing=((hi[0] - lo[0]) / (n - 1), (hi[1] - lo[1]) / (n - 1), 1.0))
    grid = img.cast_to_unstructured_grid().triangulate()
    x, y = grid.points[:, 0], grid.points[:, 1]
    grid.point_data["velocity"] = np.column_stack([*u(x, y), np.zeros_like(x)])
    grid.set_active_vectors("velocity")
    return grid


def _polylines(poly: pv.PolyData) -> list[np.ndarray]:
    conn, out, i = np.asarray(poly.lines), [], 0
    while i < len(conn):
        n = conn[i]
        out.append(np.asarray(poly.points)[conn[i + 1:i + 1 + n]])
        i += n + 1
    return out


def test_a_cavity_cell_gives_closed_streamlines_of_one_lap():
    # psi = sin(pi x) sin(pi y) on the unit square: no flow through the walls, one vortex
    def u(x, y):
        return (np.pi * np.sin(np.pi * x) * np.cos(np.pi * y),
                -np.pi * np.cos(np.pi * x) * np.sin(np.pi * y))

    grid = _grid(u, lo=(0, 0), hi=(1, 1), n=61)
    assert flow_lines.is_closed(grid)
    a, b = flow_lines.auto_seed_line(grid)
    assert a[0] == b[0] == 0.5  # the vertical centre line
    lines = _polylines(flow_lines.streamlines(grid, (a, b)))
    assert len(lines) >= 10
    checked = 0
    for p in lines:
        psi = np.sin(np.pi * p[:, 0]) * np.sin(np.pi * p[:, 1])
        if not 0.1 < psi[0] < 0.95:  # the centre (a point) and the walls (no flow)
            continue
        checked += 1
        assert np.ptp(psi) < 0.02 * psi[0]  # stays on its contour of psi
        assert np.linalg.norm(p[-1] - p[0]) < 0.05  # went round ...
        side = np.sign(p[1:, 0] - 0.5)
        assert np.count_nonzero(np.diff(side[side != 0])) <= 1  # ... once
    assert checked >= 5


def test_uniform_flow_is_seeded_at_the_inflow_and_stays_straight():
    grid = _grid(lambda x, y: (np.ones_like(x), np.zeros_like(x)), lo=(0, 0), hi=(4, 1))
    assert not flow_lines.is_closed(grid)
    a, b = flow_lines.auto_seed_line(grid)
    assert a[0] < 0.1 and a[1] < b[1]
    for p in _polylines(flow_lines.streamlines(grid, (a, b))):
        assert np.ptp(p[:, 1]) < 1e-9 and p[:, 0].max() > 3.9


def test_arrows_point_along_the_flow_and_the_longest_is_one_spacing():
    grid = _grid(lambda x, y: (np.ones_like(x), np.zeros_like(x)), lo=(0, 0), hi=(4, 1))
    arrows = flow_lines.arrows(grid, n=20)
    pts = np.asarray(arrows.points)
    assert arrows.n_points > 0 and np.ptp(pts[:, 2]) == 0
    # 20 x 5 arrows, 4/20 = 0.2 long along x (the speed is uniform), centred on their
    # squares: all inside the domain
    assert arrows.n_cells == 3 * 20 * 5
    assert pts[:, 0].min() >= 0.0 and pts[:, 0].max() <= 4.0
    assert pts[:, 1].min() >= 0.0 and pts[:, 1].max() <= 1.0
    first = pts[:7]  # the first arrow's seven points
    assert np.ptp(first[:, 0]) == pytest.approx(0.2) and np.ptp(pts[:, 0]) == pytest.approx(4.0)

"""A 3D view of an axisymmetric result (#13): the r-z section revolved about the z axis.

Only what is seen is built: the section's outline swept through the angle (quads) and, for a
sector, the two cut faces (the section's triangles at 0 and at the sector's angle). Scalars are
copied to every ring; the displacement (u_r, u_z) becomes (u_r cos t, u_r sin t, u_z), so the
warped view works. 3D coordinates are (r cos t, r sin t, z): z stays the axis.
"""

from __future__ import annotations

import numpy as np

from physapp.core.mesh import CellBlock, MeshData
from physapp.core.results import FieldResult
from physapp.viz.grids import display_triangles

DEG_PER_SEGMENT = 7.5


def _outline(tris: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Edges used by one triangle (the section's outline), without those on the axis."""
    edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
    uniq, counts = np.unique(edges, axis=0, return_counts=True)
    out = uniq[counts == 1]
    tol = 1e-9 * max(float(np.ptp(r)), 1e-300)
    on_axis = (np.abs(r[out[:, 0]]) <= tol) & (np.abs(r[out[:, 1]]) <= tol)
    return out[~on_axis]


def revolve(result: FieldResult, angle: float = 270.0) -> FieldResult:
    """``result`` (2D, x = r, y = z) revolved through ``angle`` degrees (360: closed)."""
    mesh = result.mesh
    angle = float(min(max(angle, 1.0), 360.0))
    full = angle >= 360.0
    n_seg = max(8, int(round(angle / DEG_PER_SEGMENT)))
    theta = np.radians(np.linspace(0.0, angle, n_seg + 1))
    pts = np.asarray(mesh.points, dtype=np.float64)
    r, z = pts[:, 0], pts[:, 1]
    n = len(pts)
    c, s = np.cos(theta), np.sin(theta)
    points = np.column_stack([np.outer(c, r).ravel(), np.outer(s, r).ravel(),
                              np.tile(z, n_seg + 1)])
    tris = display_triangles(mesh)
    edges = _outline(tris, r)
    k = np.arange(n_seg)[:, None] * n
    a, b = edges[:, 0][None, :] + k, edges[:, 1][None, :] + k
    quads = np.stack([a, b, b + n, a + n], axis=-1).reshape(-1, 4)
    blocks = [CellBlock("quad", quads)]
    if not full:  # the cut faces of the sector
        blocks.append(CellBlock("triangle", np.concatenate([tris, tris + n_seg * n])))
    out_mesh = MeshData(points, blocks, length_unit=mesh.length_unit, dim=2)
    data = {}
    for name, arr in result.point_data.items():
        if arr.ndim == 2 and arr.shape[1] in (2, 3) and name.startswith("displacement"):
            ur, uz = arr[:, 0].astype(np.float64), arr[:, 1].astype(np.float64)
            data[name] = np.column_stack([np.outer(c, ur).ravel(), np.outer(s, ur).ravel(),
                                          np.tile(uz, n_seg + 1)])
        elif arr.ndim == 1:
            data[name] = np.tile(arr, n_seg + 1)
        else:
            data[name] = np.tile(arr, (n_seg + 1, 1))
    return FieldResult(out_mesh, data, result.source,
                       {**result.meta, "revolved": angle}, result.units)

"""Speed of the self-intersection check of closed surfaces before gmsh fills them (#14).

Prints, for spheres of growing size (pyvista, clean), a cube with coplanar fans and two
interpenetrating spheres and CAD-like cylinders (long slivers, fanned caps): triangles, candidate pairs of the broad phase, crossing pairs found,
wall and CPU seconds of :func:`physapp.geometry.selfintersect.self_intersections`, and the load.

Usage::

    python benchmarks/selfintersect.py            # up to ~200k triangles
"""

from __future__ import annotations

import os
import time

import numpy as np
import pyvista as pv

from physapp.geometry.selfintersect import CheckTooCostly, candidate_pairs, self_intersections


def _surface(poly):
    poly = poly.triangulate().clean()
    return np.asarray(poly.points, float), poly.faces.reshape(-1, 4)[:, 1:].astype(np.int64)


def cad_cylinder(n: int, fan_from_rim: bool):
    """A unit cylinder as CAD exporters write it: n long slivers round the side, each cap a fan
    of n slivers from its centre or from one rim point."""
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.column_stack([np.cos(t), np.sin(t)])
    pts = np.vstack([np.column_stack([ring, np.zeros(n)]), np.column_stack([ring, np.ones(n)]),
                     [[0, 0, 0], [0, 0, 1]]])
    i = np.arange(n)
    j = (i + 1) % n
    side = np.vstack([np.column_stack([i, j, n + j]), np.column_stack([i, n + j, n + i])])
    if fan_from_rim:
        k = np.arange(1, n - 1)
        bot = np.column_stack([np.zeros(n - 2, int), k + 1, k])
        top = np.column_stack([np.full(n - 2, n), n + k, n + k + 1])
        pts = pts[:2 * n]
    else:
        bot = np.column_stack([np.full(n, 2 * n), j, i])
        top = np.column_stack([np.full(n, 2 * n + 1), n + i, n + j])
    return pts, np.vstack([side, bot, top])


def cases():
    for n_theta, n_phi in ((100, 52), (224, 113), (300, 170), (450, 225)):
        yield f"sphere {n_theta}x{n_phi}", _surface(pv.Sphere(theta_resolution=n_theta,
                                                              phi_resolution=n_phi))
    yield "cube, 64x64 squares a face", _surface(pv.Box(level=63, quads=True))
    a = _surface(pv.Sphere(theta_resolution=224, phi_resolution=113))
    yield "two spheres overlapping", (np.vstack([a[0], a[0] + 0.3]),
                                      np.vstack([a[1], a[1] + len(a[0])]))
    for n in (500, 2000):
        yield f"cylinder {n} slivers, centre fans", cad_cylinder(n, False)
        yield f"cylinder {n} slivers, rim fans", cad_cylinder(n, True)


def main() -> None:
    print(f"load (1/5/15 min): {' '.join(open('/proc/loadavg').read().split()[:3])}, "
          f"{os.cpu_count()} cores")
    print(f"{'surface':32s} {'triangles':>9s} {'cand. pairs':>11s} {'crossing':>8s} "
          f"{'wall s':>7s} {'cpu s':>6s}")
    for name, (pts, tri) in cases():
        corners = pts[tri]
        try:
            n_pairs = sum(len(a) for a, _ in candidate_pairs(corners.min(axis=1),
                                                            corners.max(axis=1)))
        except CheckTooCostly as exc:
            print(f"{name:32s} {len(tri):9d}  check skipped: {exc}")
            continue
        best = None
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            count, _ = self_intersections(pts, tri)
            w, c = time.perf_counter() - w0, time.process_time() - c0
            best = (w, c) if best is None or w < best[0] else best
        print(f"{name:32s} {len(tri):9d} {n_pairs:11d} {count:8d} {best[0]:7.3f} {best[1]:6.3f}")
    print(f"load after: {' '.join(open('/proc/loadavg').read().split()[:3])}")


if __name__ == "__main__":
    main()

"""Plate with a hole: time by stage and Kirsch accuracy as the mesh is refined.

Run: .venv/bin/python benchmarks/plate_solve.py
"""

from __future__ import annotations

import time

import numpy as np

from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study


def main() -> None:
    study = get_study("plate-with-hole")
    base = {"width": 0.5, "length": 1.0, "radius": 0.0125, "traction": 1e6}  # a/W = 0.025
    print(f"{'order':>5} {'h [mm]':>7} {'DOFs':>9} {'mesh s':>7} {'asm s':>7} {'solve s':>8} "
          f"{'CG it':>6} {'total s':>8} {'peak/S':>7}")
    for order in (1, 2):
        for h in (0.02, 0.01, 0.005, 0.0025):
            params = dict(base, mesh_size=h)
            t0 = time.perf_counter()
            res = ReferenceSolver(order=order).solve(study, params)
            total = time.perf_counter() - t0
            p = res.mesh.points
            top = np.argmin(np.hypot(p[:, 0], p[:, 1] - base["radius"]))
            m = res.meta
            print(f"{order:>5} {h * 1e3:>7.2f} {m['n_dofs']:>9} {m['t_mesh']:>7.3f} "
                  f"{m['t_assembly']:>7.3f} {m['t_solve']:>8.3f} {m['iterations']:>6} "
                  f"{total:>8.3f} {res.point_data['sigma_xx'][top] / 1e6:>7.4f}")


if __name__ == "__main__":
    main()

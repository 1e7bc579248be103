"""Bottle top-load study (#22): DOFs, load steps, Newton iterations and wall time per design,
with the key quantities; a mesh-convergence row for the default design.

Run: .venv/bin/python benchmarks/bottle.py  [--quick]

Target (issue #22, this 2-core machine): <= 60 s per design at the study's default mesh.
"""

from __future__ import annotations

import sys
import time

from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study

DESIGNS = [
    ("bottle-top-load", "default (t 0.35, 35 deg, waist 1.5, base 20)", {}),
    ("bottle-top-load", "thin wall t 0.25 mm", {"wall_thickness": 0.25e-3}),
    ("bottle-top-load", "thick wall t 0.5 mm", {"wall_thickness": 0.5e-3}),
    ("bottle-top-load", "flat shoulder 22 deg", {"shoulder_angle": 22.0}),
    ("bottle-top-load", "steep shoulder 55 deg", {"shoulder_angle": 55.0}),
    ("bottle-top-load", "deep waist 3 mm, base 35 mm", {"waist_depth": 3e-3,
                                                        "base_height": 0.035}),
    ("bottle-top-load-2v", "2-variable family default", {}),
    ("bottle-top-load", "default, fine mesh 0.5 mm", {"mesh_size": 0.5e-3}),
]


def main(quick: bool = False) -> None:
    designs = DESIGNS[:2] if quick else DESIGNS
    print(f"{'design':<44} {'DOFs':>6} {'steps':>5} {'cuts':>4} {'Newton':>6} {'wall s':>6}  "
          f"{'peak N':>7} {'at mm':>6} {'k0 kN/m':>7}  complete")
    for study_id, label, params in designs:
        study = get_study(study_id)
        t0 = time.perf_counter()
        res = ReferenceSolver(order=2).solve(study, params)
        wall = time.perf_counter() - t0
        h = res.meta["history"]
        kq = res.meta["key_quantities"]
        print(f"{label:<44} {res.meta['n_dofs']:>6} {h.meta['n_steps']:>5} "
              f"{h.meta['step_cuts']:>4} {h.meta['newton_iterations']:>6} {wall:>6.1f}  "
              f"{kq['peak_top_load']:>7.1f} {kq['displacement_at_peak'] * 1e3:>6.2f} "
              f"{kq['initial_stiffness'] / 1e3:>7.1f}  {h.complete}"
              + ("" if h.complete else f" ({h.meta['stopped']})"), flush=True)


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)

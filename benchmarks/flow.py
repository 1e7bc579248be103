"""Flow studies: DOFs, Newton iterations, solve time and key quantities, and the shipped
surrogates' held-out errors and prediction latency.

Run: .venv/bin/python benchmarks/flow.py

Targets (issue #17, this 2-core machine): DFG 2D-1 at >= 50k unknowns in <= 10 s, potential flow
around the airfoil in <= 1 s; surrogate held-out error of velocity and pressure <= 3 %.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    ("cylinder-in-channel", "DFG 2D-1 (study default)", {}),
    ("cylinder-in-channel", "DFG 2D-1, >= 50k unknowns", {"mesh_size": 0.025}),
    ("airfoil", "NACA 2412, 4 deg, potential", {}),
    ("airfoil", "NACA 0012, 4 deg, potential", {"camber": 0.0}),
    ("airfoil", "NACA 2412, 4 deg, NS Re = 1000", {"model": "navier-stokes", "reynolds": 1000}),
    ("lid-driven-cavity", "cavity Re = 100 (Ghia)", {}),
    ("lid-driven-cavity", "cavity Re = 1000", {"reynolds": 1000.0, "mesh_size": 0.025}),
]
REFERENCE = {
    "DFG 2D-1": "ref cd 5.57954, cl 0.010619, dp 0.117520 (Schaefer & Turek 1996)",
    "NACA 0012": "ref cl 0.48 (inviscid, 2 pi (1 + 0.77 t) alpha)",
    "cavity Re = 100": "ref centre (0.6172, 0.7344), psi -0.1034 (Ghia et al. 1982)",
    "cavity Re = 1000": "ref centre (0.5313, 0.5625), psi -0.1179 (Ghia et al. 1982)",
}


def solves() -> None:
    print(f"{'case':<34} {'DOFs':>7} {'Newton':>6} {'LU':>3} {'mesh s':>6} {'solve s':>7} "
          f"{'total s':>7}  key quantities")
    for study_id, label, params in CASES:
        study = get_study(study_id)
        t0 = time.perf_counter()
        res = ReferenceSolver().solve(study, params)
        total = time.perf_counter() - t0
        m = res.meta
        kq = ", ".join(f"{k} {v:.5g}" for k, v in m["key_quantities"].items())
        print(f"{label:<34} {m['n_dofs']:>7} {m.get('newton_iterations', 0):>6} "
              f"{m.get('factorisations', 1):>3} {m['t_mesh']:>6.2f} {m['t_solve']:>7.2f} "
              f"{total:>7.2f}  {kq}")
        for key, ref in REFERENCE.items():
            if label.split(" (")[0].split(",")[0] == key:
                print(f"{'':<34} {ref}")


def surrogates() -> None:
    import numpy as np

    from physapp.surrogates.storage import load_surrogate

    print()
    print(f"{'surrogate':<22} {'MB':>5} {'train/test':>10} {'velocity':>9} {'pressure':>9} "
          f"{'median ms':>9}")
    for study_id in ("cylinder-in-channel", "airfoil", "lid-driven-cavity"):
        path = ROOT / "physapp" / "resources" / "surrogates" / study_id / "pod-gp.pt"
        if not path.exists():
            print(f"{study_id:<22} (not shipped)")
            continue
        model = load_surrogate(path)
        f = model.metrics.get("fields", {})
        study = get_study(study_id)
        params = {k: v for k, v in study.spec.defaults().items()
                  if k in model.param_names}
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            model.predict(params)
            times.append(time.perf_counter() - t0)
        n = model.metrics.get("n_train", "?"), model.metrics.get("n_test", "?")
        print(f"{study_id:<22} {path.stat().st_size / 1e6:>5.2f} {n[0]!s:>5}/{n[1]!s:<4} "
              f"{100 * f.get('velocity', {}).get('rel_l2', math.nan):>8.2f}% "
              f"{100 * f.get('pressure', {}).get('rel_l2', math.nan):>8.2f}% "
              f"{1e3 * float(np.median(times)):>9.1f}")
        for name, err in model.metrics.get("key_quantities", {}).items():
            print(f"{'':<22} held-out {name}: {100 * err:.2f} % (GP on the key quantity)")


if __name__ == "__main__":
    solves()
    surrogates()

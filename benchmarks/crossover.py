"""Direct factorisation vs AMG-CG per physics and dimension: where does each win?

For each kind of system the solvers produce (2D plane-stress elasticity, axisymmetric
elasticity, 2D heat, 3D heat, all P2 on a rectangle / box refined step by step) the condensed
system is captured from a real solve and solved both ways by
:func:`physapp.solvers.linear.solve_spd` (one BLAS thread, as the app runs). The table gives
both CPU times (the process's CPU seconds: both paths run on one thread, so this is their work
and, unlike wall-clock time, hardly depends on what else the machine runs), the DOFs, the
factor's estimated memory, the answers' agreement and the crossover: the largest size at which
the direct solve was still faster. These numbers set
``physapp.solvers.linear.DIRECT_MAX_DOFS`` (3D elasticity's 40k comes from
benchmarks/solver_scaling.py's cantilevers). Each time is the best of two runs; the load is printed
(``/proc/loadavg``).

Run: .venv/bin/python benchmarks/crossover.py [--quick]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from physapp.core.study import (
    ElasticSetup,
    FixedTemperature,
    HeatFlux,
    HeatSetup,
    Material,
    Support,
    Traction,
)
from physapp.solvers import elasticity2d as e2
from physapp.solvers import heat as ht
from physapp.solvers import linear as lin

QUICK = "--quick" in sys.argv


def _capture(module, fn):
    """Run ``fn`` with ``module.solve_spd`` spied: the system it passes (A, b, modes, dim)."""
    got = {}
    real = module.solve_spd

    def spy(A, b, modes=None, **kw):
        got.update(A=A, b=b, modes=modes, dim=kw.get("dim", 2))
        return real(A, b, modes, method="direct", **{k: v for k, v in kw.items()
                                                      if k != "method"})

    module.solve_spd = spy
    try:
        fn()
    finally:
        module.solve_spd = real
    return got


def elastic2d(h: float, analysis: str):
    from physapp.geometry.shapes2d import mesh_rectangle

    mesh = mesh_rectangle(0.1, 0.0, 1.1, 0.5, h)
    setup = ElasticSetup(analysis, Material(200e9, 0.3), (Support("left", (0, 1)),),
                         tractions=(Traction("right", (1e6, -1e5)),))
    return _capture(e2, lambda: e2.solve_plane(mesh, setup, order=2))


def heat(h: float, dim: int):
    if dim == 2:
        from physapp.geometry.shapes2d import mesh_rectangle

        mesh = mesh_rectangle(0.0, 0.0, 1.0, 0.5, h)
        setup = HeatSetup("planar", 20.0, (FixedTemperature("left", 0.0),),
                          (HeatFlux("right", 1e3),), source=1e4)
    else:
        from physapp.geometry.cantilever import mesh_cantilever

        mesh = mesh_cantilever(0.5, 0.05, 0.02, h, threads=1)
        setup = HeatSetup("3d", 20.0, (FixedTemperature("fixed", 0.0),),
                          (HeatFlux("tip", 1e3),), source=1e4)
    return _capture(ht, lambda: ht.solve_heat(mesh, setup, order=2))


ELASTIC_SIZES = [0.04, 0.028, 0.02, 0.01] if not QUICK else [0.04, 0.02]
CASES = {
    ("elasticity", 2): (lambda h: elastic2d(h, "plane_stress"), ELASTIC_SIZES),
    ("axisymmetric", 2): (lambda h: elastic2d(h, "axisymmetric"), ELASTIC_SIZES),
    ("heat", 2): (lambda h: heat(h, 2), [0.02, 0.01, 0.005, 0.0035] if not QUICK else [0.02, 0.01]),
    ("heat", 3): (lambda h: heat(h, 3), [0.008, 0.006, 0.004] if not QUICK else [0.008]),
}


def best_of(system: dict, dim: int, method: str, n: int = 2) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(n):
        t0 = time.process_time()
        out = lin.solve_spd(system["A"], system["b"], system["modes"], dim=dim, method=method,
                            rtol=1e-10)
        best = min(best, time.process_time() - t0)
    return best, out


def main() -> None:
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"direct (SuperLU, MMD) vs AMG-CG (pyamg SA, rtol 1e-10), P2; loadavg at start {load}")
    print(f"{'physics':13s} {'dim':>3s} {'DOFs':>8s} {'direct cpu s':>12s} {'amg-cg cpu s':>12s} "
          f"{'its':>4s} {'faster':>7s} {'est. GB':>8s} {'|xd-xi|/|xd|':>13s}")
    for (physics, dim), (make, sizes) in CASES.items():
        last_direct = 0
        for h in sizes:
            s = make(h)
            A = s["A"]
            n = A.shape[0]
            td, (xd, _) = best_of(s, dim, "direct")
            ti, (xi, si) = best_of(s, dim, "amg-cg")
            est = lin.direct_memory_estimate(n, A.nnz, dim) / 1e9
            err = float(np.linalg.norm(xd - xi) / np.linalg.norm(xd))
            faster = "direct" if td < ti else "amg-cg"
            if td < ti:
                last_direct = n
            print(f"{physics:13s} {dim:>3d} {n:>8d} {td:>12.3f} {ti:>12.3f} "
                  f"{si['iterations']:>4d} {faster:>7s} {est:>8.3f} {err:>13.1e}", flush=True)
        key = lin.crossover_key(physics, dim)
        print(f"  -> direct still faster up to {last_direct} DOFs; "
              f"DIRECT_MAX_DOFS[{key}] = {lin.DIRECT_MAX_DOFS[key]}")
    print(f"loadavg at end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()

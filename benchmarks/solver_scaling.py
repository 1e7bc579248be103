"""3D cantilever (0.5 x 0.05 x 0.02 m, 100 N tip load): time by stage and peak memory, P1 / P2.

Each case runs in a fresh subprocess so ru_maxrss is that case's peak. The meshes are written to
benchmarks/out/cantilever_<h>.msh so other solvers can be run on identical meshes. The plain
scikit-fem path (default quadrature, ``linear_elasticity`` on ``Basis(mesh, ElementVector(...))``)
is timed on the same meshes for the assembly ratio; it is skipped for the largest P2 case.

Run: .venv/bin/python benchmarks/solver_scaling.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
#: (order, element size, run the plain scikit-fem path too)
CASES = [(1, 0.0019, True), (2, 0.004, True), (2, 0.0025, False)] if "--quick" not in sys.argv else [(2, 0.004, False), (2, 0.0025, False)]
L, B, H, P = 0.5, 0.05, 0.02, 100.0


def run_case(order: int, size: float) -> dict:
    import resource

    import numpy as np

    from physapp.core.study import ElasticSetup, Material, Support, Traction
    from physapp.geometry.cantilever import mesh_cantilever
    from physapp.solvers.elasticity3d import solve_solid

    OUT.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    mesh = mesh_cantilever(L, B, H, size, write_to=OUT / f"cantilever_{size * 1e3:g}mm.msh")
    t_mesh = time.perf_counter() - t0
    setup = ElasticSetup("3d", Material(210e9, 0.3), (Support("fixed", (0, 1, 2)),),
                         tractions=(Traction("tip", (0.0, 0.0, -P / (B * H))),))
    sol = solve_solid(mesh, setup, order=order)
    total = time.perf_counter() - t0
    s = sol.stats
    tip = sol.out_mesh.points[:, 0] > L - 1e-9
    w = -float(np.mean(sol.fields["displacement"][tip, 2]))
    return dict(order=order, size=size, dofs=s["n_dofs"], tets=s["n_elements"], t_mesh=t_mesh,
                t_asm=s["t_assembly"], t_amg=s["t_amg"], t_cg=s["t_solve"] - s["t_amg"],
                its=s["iterations"], t_post=s["t_post"], total=total, tip=w,
                peak_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)


def run_plain(order: int, size: float) -> dict:
    """Plain scikit-fem assembly (default quadrature) on the mesh written by run_case."""
    import resource

    import numpy as np
    import skfem
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    from physapp.geometry.cantilever import mesh_cantilever

    mesh = mesh_cantilever(L, B, H, size)
    m = skfem.MeshTet(np.ascontiguousarray(mesh.points.T),
                      np.ascontiguousarray(mesh.cells[0].connectivity.T))
    t0 = time.perf_counter()
    el = skfem.ElementTetP1() if order == 1 else skfem.ElementTetP2()
    basis = skfem.Basis(m, skfem.ElementVector(el))
    K = linear_elasticity(*lame_parameters(210e9, 0.3)).assemble(basis)
    t = time.perf_counter() - t0
    return dict(t_plain=t, dofs_plain=K.shape[0],
                peak_plain_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6)


def _sub(kind: str, order: int, size: float) -> dict:
    out = subprocess.run([sys.executable, __file__, kind, str(order), str(size)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    eb = P * L**3 / (3 * 210e9 * B * H**3 / 12)
    print(f"cantilever {L} x {B} x {H} m, 100 N tip load (-z), Euler-Bernoulli tip {eb:.4e} m; "
          f"{os.cpu_count()} cores; each case in a fresh process")
    head = (f"{'P':>2} {'h mm':>5} {'DOFs':>8} {'tets':>8} {'mesh s':>7} {'asm s':>6} "
            f"{'amg s':>6} {'cg s':>6} {'its':>4} {'post s':>6} {'asm+sol':>7} {'total s':>7} "
            f"{'peak GB':>7} {'tip/EB':>7} {'plain asm s':>11} {'ratio':>6} {'plain GB':>8}")
    print(head)
    for order, size, plain in CASES:
        r = _sub("case", order, size)
        q = _sub("plain", order, size) if plain else None
        asm_sol = r["t_asm"] + r["t_amg"] + r["t_cg"]
        pl = (f"{q['t_plain']:>11.2f} {q['t_plain'] / r['t_asm']:>5.1f}x {q['peak_plain_gb']:>8.2f}"
              if q else f"{'skipped':>11} {'-':>6} {'-':>8}")
        print(f"{order:>2} {size * 1e3:>5.2f} {r['dofs']:>8} {r['tets']:>8} {r['t_mesh']:>7.2f} "
              f"{r['t_asm']:>6.2f} {r['t_amg']:>6.2f} {r['t_cg']:>6.2f} {r['its']:>4} "
              f"{r['t_post']:>6.2f} {asm_sol:>7.2f} {r['total']:>7.2f} {r['peak_gb']:>7.2f} "
              f"{r['tip'] / eb:>7.4f} {pl}", flush=True)
    print("targets: P1 ~200k total < 8 s; P2 ~170k asm+solve < 5 s; P2 ~600k total < 40 s and "
          "peak < 6 GB. total = mesh + assembly + AMG + CG + stress recovery.")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] in ("case", "plain"):
        fn = run_case if sys.argv[1] == "case" else run_plain
        print(json.dumps(fn(int(sys.argv[2]), float(sys.argv[3]))))
    else:
        main()

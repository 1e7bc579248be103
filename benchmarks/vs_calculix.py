"""physapp against CalculiX on the identical tet10 cantilever mesh (#16).

gmsh meshes the cantilever (0.5 x 0.05 x 0.02 m) with second-order tetrahedra and writes it as
an MSH file. physapp reads that file (``read_mesh``) and a CalculiX deck is written from what it
read: the same nodes and C3D10 elements (meshio/VTK node order, which is C3D10's), the clamped
face ``fixed`` as a node set, and the 100 N tip load (-z) as the consistent nodal forces of a
uniform traction on the quadratic tip triangles (corner nodes 0, mid-side nodes a third of the
triangle's force each). ``ccx`` (Debian package calculix-ccx, default SPOOLES solver,
``OMP_NUM_THREADS=2``) and physapp's P2 solve (``solve_solid``, in a fresh process reading the
same file) then run one after the other; the table gives the DOFs, both wall times (physapp: the
whole process and the solve alone), the ratio, both tip deflections (mean z displacement of the
tip face's nodes) and both peak memories (``wait4`` resource usage of each process).
``--loaded`` repeats every case with a 2-thread numpy matmul loop running beside it.
Without ``ccx`` on the PATH the CalculiX columns are skipped with a line saying so.

Run: .venv/bin/python benchmarks/vs_calculix.py [--size 0.004[,0.0025]] [--loaded]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).resolve().parent / "out"
L, B, H, P, E, NU = 0.5, 0.05, 0.02, 100.0, 210e9, 0.3
LOAD_CODE = """
import numpy as np
a = np.random.default_rng(0).random((400, 400))
while True:
    a = a @ a
    a /= np.abs(a).max()
"""


def write_mesh(size: float, path: Path) -> None:
    """The cantilever meshed by gmsh with tet10 elements, regions fixed / tip / solid."""
    import gmsh

    gmsh.initialize(["-noenv"])
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("cantilever")
        vol = gmsh.model.occ.addBox(0, 0, 0, L, B, H)
        gmsh.model.occ.synchronize()
        for _, tag in gmsh.model.getEntities(2):
            cx = gmsh.model.occ.getCenterOfMass(2, tag)[0]
            if abs(cx) < 1e-9 or abs(cx - L) < 1e-9:
                name = "fixed" if abs(cx) < 1e-9 else "tip"
                gmsh.model.setPhysicalName(2, gmsh.model.addPhysicalGroup(2, [tag]), name)
        gmsh.model.setPhysicalName(3, gmsh.model.addPhysicalGroup(3, [vol]), "solid")
        gmsh.option.setNumber("Mesh.MeshSizeMin", size)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.option.setNumber("Mesh.Algorithm3D", 10)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.setOrder(2)
        gmsh.option.setNumber("Mesh.Binary", 1)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()


def _read(path: Path):
    from physapp.io.readers import read_mesh

    mesh, _ = read_mesh(path, isolate=False)
    return mesh


#: tetra10 mid-side node k + 4 sits on the edge between these corners (meshio/VTK = C3D10 order)
TET10_EDGES = ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))


def face_nodes(mesh, region: str) -> tuple[np.ndarray, np.ndarray]:
    """(k, 6) quadratic triangles of a boundary region (corners, then mid-side nodes of the edges
    01, 12, 02) and the sorted unique nodes they hold."""
    tets = next(b.connectivity for b in mesh.cells if b.type == "tetra10")
    n = len(mesh.points)
    mid = {}
    for k, (a, b) in enumerate(TET10_EDGES):
        lo, hi = np.minimum(tets[:, a], tets[:, b]), np.maximum(tets[:, a], tets[:, b])
        mid.update(zip((lo * n + hi).tolist(), tets[:, 4 + k].tolist(), strict=True))
    tri = np.asarray(mesh.boundaries[region])[:, :3]
    cols = [tri[:, 0], tri[:, 1], tri[:, 2]]
    for a, b in ((0, 1), (1, 2), (0, 2)):
        key = np.minimum(tri[:, a], tri[:, b]) * n + np.maximum(tri[:, a], tri[:, b])
        cols.append(np.array([mid[int(v)] for v in key]))
    faces = np.column_stack(cols)
    return faces, np.unique(faces)


def write_deck(mesh, deck: Path) -> None:
    """The CalculiX deck of ``mesh`` (tetra10, regions fixed and tip)."""
    tets = next(b.connectivity for b in mesh.cells if b.type == "tetra10")
    pts = mesh.points
    tip_faces, tip = face_nodes(mesh, "tip")
    _, fixed = face_nodes(mesh, "fixed")
    traction = P / (B * H)
    force = np.zeros(len(pts))
    a, b, c = (pts[tip_faces[:, k]] for k in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    for k in range(3, 6):
        np.add.at(force, tip_faces[:, k], traction * area / 3.0)
    with open(deck, "w") as f:
        f.write("*NODE, NSET=NALL\n")
        for i, (x, y, z) in enumerate(pts[:, :3], start=1):
            f.write(f"{i}, {x:.17g}, {y:.17g}, {z:.17g}\n")
        f.write("*ELEMENT, TYPE=C3D10, ELSET=EALL\n")
        for i, row in enumerate(tets + 1, start=1):
            f.write(f"{i}, " + ", ".join(map(str, row)) + "\n")
        for name, nodes in (("NFIX", fixed), ("NTIP", tip)):
            f.write(f"*NSET, NSET={name}\n")
            for s in range(0, len(nodes), 12):
                f.write(", ".join(str(v + 1) for v in nodes[s:s + 12]) + "\n")
        f.write(f"*MATERIAL, NAME=STEEL\n*ELASTIC\n{E:.6g}, {NU}\n"
                "*SOLID SECTION, ELSET=EALL, MATERIAL=STEEL\n"
                "*BOUNDARY\nNFIX, 1, 3\n*STEP\n*STATIC\n*CLOAD\n")
        for node in np.flatnonzero(force):
            f.write(f"{node + 1}, 3, {-force[node]:.17g}\n")
        f.write("*NODE PRINT, NSET=NTIP\nU\n*END STEP\n")


def _run_child(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float, str]:
    """Run ``cmd``; (wall s, peak resident GB, stdout), reaped with os.wait4 so the peak memory
    is this child's own."""
    t0 = time.perf_counter()
    with open(cwd / "stdout.txt", "w") as so, open(cwd / "stderr.txt", "w") as se:
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=so, stderr=se)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    out = (cwd / "stdout.txt").read_text()
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}):\n"
                           f"{(cwd / 'stderr.txt').read_text()[-2000:]}\n{out[-2000:]}")
    return wall, usage.ru_maxrss / 1e6, out


def ccx_tip(dat: Path) -> float:
    """Mean z displacement of the printed tip nodes in a CalculiX .dat file."""
    uz = []
    for line in dat.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4:
            try:
                int(parts[0])
                uz.append(float(parts[3]))
            except ValueError:
                continue
    return -float(np.mean(uz))


def physapp_case(msh: str) -> dict:
    """In a fresh process: read the file, solve P2, report DOFs, solve time and tip deflection."""
    from physapp.core.study import ElasticSetup, Material, Support, Traction
    from physapp.solvers.elasticity3d import solve_solid

    mesh = _read(Path(msh))
    setup = ElasticSetup("3d", Material(E, NU), (Support("fixed", (0, 1, 2)),),
                         tractions=(Traction("tip", (0.0, 0.0, -P / (B * H))),))
    t0 = time.perf_counter()
    sol = solve_solid(mesh, setup, order=2)
    t_solve = time.perf_counter() - t0
    # the nodes of the tip face (corners and mid-side), the ones CalculiX prints
    tip = sol.out_mesh.points[:, 0] > L - 1e-9 * L
    if int(tip.sum()) != len(face_nodes(mesh, "tip")[1]):
        raise RuntimeError("physapp's tip face has other nodes than the file's")
    w = -float(np.mean(sol.fields["displacement"][tip, 2]))
    return {"dofs": int(sol.stats["n_dofs"]), "t_solve": t_solve, "tip": w,
            "method": sol.stats.get("method", "")}


def _load() -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", LOAD_CODE],
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2"))
    time.sleep(1.5)
    return p


def run(size: float, loaded: bool, ccx: str | None, work: Path) -> dict:
    msh = OUT / f"cantilever_tet10_{size * 1e3:g}mm.msh"
    if not msh.exists():
        OUT.mkdir(exist_ok=True)
        write_mesh(size, msh)
    load = _load() if loaded else None
    try:
        row = {"size": size}
        if ccx is not None:
            deck = work / "cantilever.inp"
            write_deck(_read(msh), deck)
            env = dict(os.environ, OMP_NUM_THREADS="2")
            t, peak, _ = _run_child([ccx, "-i", "cantilever"], env, work)
            row.update(ccx_s=t, ccx_gb=peak, ccx_tip=ccx_tip(work / "cantilever.dat"))
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        t, peak, out = _run_child([sys.executable, __file__, "physapp", str(msh)], env, work)
        row.update(json.loads(out.strip().splitlines()[-1]), app_s=t, app_gb=peak)
        return row
    finally:
        if load is not None:
            load.kill()
            load.wait()


def main() -> None:
    args = sys.argv[1:]
    sizes = ([float(s) for s in args[args.index("--size") + 1].split(",")] if "--size" in args
             else [0.004])
    ccx = shutil.which("ccx")
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"cantilever {L} x {B} x {H} m, tet10, {P:g} N tip load; {os.cpu_count()} cores; "
          f"loadavg at start {load}")
    if ccx is None:
        print("ccx (CalculiX) is not installed: CalculiX columns skipped "
              "(apt-get install calculix-ccx)")
    print(f"{'load':7s} {'h mm':>5s} {'DOFs':>8s} {'ccx s':>7s} {'physapp s (proc/solve)':>23s} "
          f"{'ratio':>6s} {'ccx tip m':>11s} {'physapp tip m':>13s} {'rel diff':>9s} "
          f"{'peak GB ccx/physapp':>20s} {'method':>7s}")
    for size in sizes:
        for loaded in ([False, True] if "--loaded" in args else [False]):
            with tempfile.TemporaryDirectory() as tmp:
                r = run(size, loaded, ccx, Path(tmp))
            has = "ccx_s" in r
            ccx_s = f"{r['ccx_s']:7.1f}" if has else f"{'-':>7s}"
            ratio = f"{r['ccx_s'] / r['app_s']:5.2f}x" if has else f"{'-':>6s}"
            ctip = f"{r['ccx_tip']:11.5e}" if has else f"{'-':>11s}"
            diff = f"{abs(r['tip'] / r['ccx_tip'] - 1):9.1e}" if has else f"{'-':>9s}"
            mem = (f"{r['ccx_gb']:.2f} / {r['app_gb']:.2f}" if has else f"- / {r['app_gb']:.2f}")
            print(f"{'loaded' if loaded else 'quiet':7s} {size * 1e3:5.2f} {r['dofs']:8d} "
                  f"{ccx_s} {r['app_s']:11.1f} / {r['t_solve']:9.1f} {ratio} {ctip} "
                  f"{r['tip']:13.5e} {diff} {mem:>20s} {r['method']:>7s}", flush=True)
    print(f"loadavg at end {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "physapp":
        print(json.dumps(physapp_case(sys.argv[2])))
    else:
        main()

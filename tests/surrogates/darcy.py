"""A Darcy-type operator-learning data set made with physapp's own heat solver (#19).

-div(k grad u) = f on the unit square, u = 0 on the boundary; k is a random two-phase field
(3 or 12, a thresholded smooth random field), given as an input point array; the source f is a
scalar parameter. Each sample is a structured triangle mesh of its own resolution, written as
one result file; ``params.csv`` names the files. Used by the import tests; the benchmark can make
a larger set: ``python tests/surrogates/darcy.py OUT_FOLDER --samples 200 --sizes 16,24,32``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import meshio
import numpy as np

from physapp.core import FixedTemperature, HeatSetup
from physapp.core.mesh import CellBlock, MeshData
from physapp.solvers.heat import solve_heat

K_LOW, K_HIGH = 3.0, 12.0


def unit_square(n: int) -> MeshData:
    """Structured triangles on [0, 1]^2 with n cells a side; regions 'boundary', 'low'/'high'
    are added by :func:`darcy_sample`."""
    x, y = np.meshgrid(np.linspace(0, 1, n + 1), np.linspace(0, 1, n + 1))
    pts = np.column_stack([x.ravel(), y.ravel()])
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(), idx[1:, :-1].ravel()
    tri = np.vstack([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    edges = np.vstack([np.column_stack([idx[0, :-1], idx[0, 1:]]),
                       np.column_stack([idx[-1, :-1], idx[-1, 1:]]),
                       np.column_stack([idx[:-1, 0], idx[1:, 0]]),
                       np.column_stack([idx[:-1, -1], idx[1:, -1]])])
    return MeshData(pts, (CellBlock("triangle", tri),), {"boundary": edges}, dim=2)


def random_phase(rng: np.random.Generator):
    """A smooth random field (a few Fourier modes); > 0 is the conductive phase."""
    kx, ky = rng.integers(1, 4, size=(2, 5))
    amp, phase = rng.normal(size=5), rng.uniform(0, 2 * np.pi, size=5)

    def field(p):
        return sum(a * np.cos(np.pi * (i * p[:, 0] + j * p[:, 1]) + f)
                   for a, i, j, f in zip(amp, kx, ky, phase, strict=True))

    return field


def darcy_sample(n: int, source: float, seed: int) -> tuple[MeshData, np.ndarray, np.ndarray]:
    """(mesh, nodal conductivity k, solution u) of one sample."""
    mesh = unit_square(n)
    phase = random_phase(np.random.default_rng(seed))
    tri = mesh.cells[0].connectivity
    high = phase(mesh.points[tri].mean(axis=1)) > 0
    mesh = MeshData(mesh.points, mesh.cells, mesh.boundaries,
                    {"high": np.flatnonzero(high), "low": np.flatnonzero(~high)}, 2)
    setup = HeatSetup("planar", {"high": K_HIGH, "low": K_LOW},
                      fixed=(FixedTemperature("boundary", 0.0),), source=source)
    sol = solve_heat(mesh, setup, order=1)
    k_nodes = np.where(phase(mesh.points) > 0, K_HIGH, K_LOW)
    return mesh, k_nodes, sol.fields["temperature"]


def write_darcy_folder(folder, sizes=(8, 10, 12, 8, 10, 12), formats=None) -> list[dict]:
    """One file per sample (meshes differ) and params.csv; returns what was written."""
    folder.mkdir(parents=True, exist_ok=True)
    formats = formats or ["vtu"] * len(sizes)
    written = []
    for i, (n, fmt) in enumerate(zip(sizes, formats, strict=True)):
        source = 0.5 + 0.25 * i
        mesh, k, u = darcy_sample(n, source, seed=i)
        name = f"darcy_{i:02d}.{fmt}"
        m = meshio.Mesh(mesh.points[:, :2] if fmt == "xdmf" else mesh.points,
                        [("triangle", mesh.cells[0].connectivity)],
                        point_data={"k[W/(m.K)]": k, "u[K]": u})
        kw = {"file_format": "gmsh", "binary": True} if fmt == "msh" else {}
        meshio.write(folder / name, m, **kw)
        written.append({"file": name, "source": source, "n": n, "points": mesh.points, "k": k,
                        "u": u})
    with open(folder / "params.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "source [W/m^3]"])
        for row in written:
            w.writerow([row["file"], row["source"]])
    return written


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="folder to write")
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--sizes", default="16,24,32", help="cells per side, cycled over samples")
    a = p.parse_args(argv)
    sizes = [int(x) for x in a.sizes.split(",")]
    write_darcy_folder(Path(a.out), [sizes[i % len(sizes)] for i in range(a.samples)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

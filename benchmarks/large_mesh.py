"""Opening and rotating a ~1M-cell mesh: import time and frame times in the app's viewport.

Run (needs an X server; the GUI tests' Xvfb works):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/large_mesh.py [--cells 1.1e6]
        [--reads 3] [--mesh FILE.msh]

A box is meshed with gmsh (HXT, tetrahedra) to about ``--cells`` cells and written as a binary
MSH 4.1 file (or ``--mesh`` names one). The script then times what the app does with such a file:
``read_mesh`` as the app calls it (in an isolated child process: meshio, checks, boundary facets,
regions; ``--reads`` times, median shown, with the load average), building the display grid, the
first render, and 36 rotation frames (10 degrees each, the camera moved as a mouse drag moves it)
with a field shown, in the app's own
:class:`~physapp.gui.viewport.Viewport` (1200 x 900) — VTK draws the outer surface only (the
mapper extracts it once), and a new field is written in place into the existing grid.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def make_mesh(cells: float, path: Path) -> None:
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    h = (1.08 / cells) ** (1 / 3)  # measured: about 1.08 / h^3 tetrahedra in this box
    with gmsh_model("big"):
        gmsh.model.occ.addBox(0, 0, 0, 1, 0.5, 0.5)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="solid")
        for tag in range(1, 7):
            gmsh.model.addPhysicalGroup(2, [tag], name=f"face{tag}")
        gmsh.option.setNumber("Mesh.MeshSizeMax", h)
        gmsh.option.setNumber("Mesh.Algorithm3D", 10)  # HXT
        gmsh.option.setNumber("General.NumThreads", 2)
        gmsh.model.mesh.generate(3)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.Binary", 1)
        gmsh.write(str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=float, default=1.1e6)
    parser.add_argument("--reads", type=int, default=3,
                        help="times the file is read (the median is shown, and each read)")
    parser.add_argument("--mesh", type=Path, default=None,
                        help="read this MSH file instead of meshing a box")
    args = parser.parse_args(argv)

    import pyvista as pv
    from PySide6.QtWidgets import QApplication

    from physapp.core.results import FieldResult
    from physapp.gui.viewport import Viewport
    from physapp.io.readers import read_mesh

    pv.global_theme.multi_samples = 0
    app = QApplication.instance() or QApplication([])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = args.mesh or Path(tmp) / "big.msh"
        if args.mesh is None:
            t0 = time.perf_counter()
            make_mesh(args.cells, path)
            rows.append(("mesh with gmsh (not part of opening)", time.perf_counter() - t0))
        size_mb = path.stat().st_size / 1e6
        reads = []
        load0 = os.getloadavg()[0]
        for _ in range(max(args.reads, 1)):
            t0 = time.perf_counter()
            mesh, report = read_mesh(path)  # as the app reads: in an isolated child process
            reads.append(time.perf_counter() - t0)
        load = (load0 + os.getloadavg()[0]) / 2
        rows.append((f"read_mesh ({size_mb:.0f} MB file), median", float(np.median(reads))))
    n_cells = sum(len(b.connectivity) for b in mesh.cells)
    vp = Viewport()
    vp.resize(1200, 900)
    vp.show()
    app.processEvents()
    x = mesh.points[:, 0]
    result = FieldResult(mesh, {"temperature": (20 + 80 * x).astype(np.float64)}, "benchmark",
                         {}, {"temperature": "K"})
    t0 = time.perf_counter()
    vp.show_result(result, ("temperature", "Temperature", "K"))
    app.processEvents()
    rows.append(("display grid + first render", time.perf_counter() - t0))
    frames = []
    for _ in range(36):
        t0 = time.perf_counter()
        vp.plotter.camera.Azimuth(10.0)
        vp.plotter.render()
        frames.append(time.perf_counter() - t0)
        app.processEvents()
    field2 = FieldResult(mesh, {"temperature": (20 + 80 * mesh.points[:, 1])}, "benchmark", {},
                         {"temperature": "K"})
    t0 = time.perf_counter()
    vp.show_result(field2, ("temperature", "Temperature", "K"))
    rows.append(("new field written in place + render", time.perf_counter() - t0))
    n_surface = vp.grid.extract_surface(algorithm="dataset_surface").n_cells
    vp.close_viewport()

    print(f"\n{mesh.n_points:,} nodes, {n_cells:,} cells ({', '.join(f'{k} {v:,}' for k, v in mesh.cell_counts().items())})")
    print(f"drawn: the outer surface, {n_surface:,} triangles")
    print(f"{'step':<42} {'seconds':>8}")
    for name, sec in rows:
        print(f"{name:<42} {sec:>8.2f}")
    print(f"reads: {', '.join(f'{r:.2f}' for r in reads)} s at load {load:.1f} "
          f"({os.cpu_count()} cores)")
    f = np.array(frames) * 1e3
    print(f"\nrotation: {len(f)} frames, median {np.median(f):.0f} ms, 90th percentile "
          f"{np.percentile(f, 90):.0f} ms ({1e3 / np.median(f):.1f} frames per second)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

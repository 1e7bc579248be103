"""Right answers and clear messages from `info` and the readers on awkward files (#14)."""

import os
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest

from physapp.core.mesh import CellBlock, MeshData
from physapp.io.readers import ImportError_, read_mesh

ROOT = Path(__file__).parents[2]
TET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], float)


def test_cell_counts_add_up_over_blocks(tmp_path):
    pts = np.vstack([TET, TET + [2, 0, 0]])
    mesh = MeshData(pts, (CellBlock("tetra", np.array([[0, 1, 2, 3]])),
                          CellBlock("tetra", np.array([[4, 5, 6, 7]]))), {}, {}, 3)
    assert mesh.cell_counts() == {"tetra": 2} and mesh.n_cells == 2
    # a Gmsh 4.1 file with two triangle blocks (two surfaces): 45 + 66 triangles
    rng = np.random.default_rng(0)
    blocks = []
    for n, x0 in ((45, 0.0), (66, 10.0)):
        p = np.column_stack([rng.random(n + 2) + x0, rng.random(n + 2), np.zeros(n + 2)])
        blocks.append((p, n))
    pts = np.vstack([b[0] for b in blocks])
    from scipy.spatial import Delaunay

    cells, start = [], 0
    for p, n in blocks:
        tri = Delaunay(p[:, :2]).simplices[:n] + start
        cells.append(("triangle", tri))
        start += len(p)
    path = tmp_path / "two.msh"
    meshio.write(path, meshio.Mesh(pts, cells), file_format="gmsh22", binary=False)
    _, report = read_mesh(path, isolate=False)
    assert report.cells == {"triangle": 45 + 66}
    # and a Gmsh 4.1 file written by gmsh itself with two surfaces
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    path41 = tmp_path / "two41.msh"
    with gmsh_model("two"):
        gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
        gmsh.model.occ.addRectangle(2, 0, 0, 1, 2)
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.25)
        gmsh.model.mesh.generate(2)
        n = sum(len(gmsh.model.mesh.getElements(2, t)[1][0]) for _, t in
                gmsh.model.getEntities(2))
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.write(str(path41))
    _, report = read_mesh(path41, isolate=False)
    assert report.cells == {"triangle": n}


def test_multi_body_step_keeps_its_subdomains(tmp_path):
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    path = tmp_path / "three.step"
    with gmsh_model("t"):
        for k in range(3):
            gmsh.model.occ.addBox(3 * k, 0, 0, 1, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.write(str(path))
    mesh, report = read_mesh(path, size=0.0005, length_unit="mm")
    assert set(report.subdomains) == {"body_1", "body_2", "body_3"}
    assert sum(report.subdomains.values()) == mesh.n_cells
    # each body's cells lie in its own box
    for name, cells in mesh.subdomains.items():
        k = int(name.split("_")[1]) - 1
        x = mesh.points[mesh.cells[0].connectivity[cells]][..., 0]
        assert x.min() >= 3e-3 * k - 1e-9 and x.max() <= 3e-3 * k + 1e-3 + 1e-9


F3GRID = """* FLAC3D grid
* GRIDPOINTS
G 1 0 0 0
G 2 1 0 0
G 3 1 1 0
G 4 0 1 0
G 5 0 0 1
G 6 1 0 1
G 7 1 1 1
G 8 0 1 1
G 9 0.5 0.5 -1
G 10 2 0 0
G 11 2 0 1
G 12 0 0 2
G 13 1 0 2
G 14 0 1 2
G 15 0.5 0.5 3
* ZONES
Z B8 1 1 2 4 5 3 8 6 7
Z P5 2 1 4 2 9 3
Z W6 3 2 3 6 10 7 11
Z T4 4 12 13 14 15
* ZONE GROUPS
ZGROUP "rock" SLOT 1
1 2
ZGROUP "soil" SLOT 1
3 4
* FACES
F Q4 1 1 2 6 5
* FACE GROUPS
FGROUP "bottom" SLOT 1
1
"""


def test_flac3d_with_four_cell_kinds_and_groups(tmp_path):
    path = tmp_path / "mixed.f3grid"
    path.write_text(F3GRID)
    mesh, report = read_mesh(path)
    assert report.cells == {"hexahedron": 1, "pyramid": 1, "wedge": 1, "tetra": 1}
    assert report.subdomains == {"rock": 2, "soil": 2}
    assert report.boundaries["bottom"] == 1  # the one quad face of the group


def test_legacy_vtk_with_vtktypeint64_and_polydata(tmp_path):
    good = tmp_path / "ids.vtk"
    good.write_text("# vtk DataFile Version 4.2\nvtk output\nASCII\nDATASET UNSTRUCTURED_GRID\n"
                    "POINTS 4 double\n0 0 0 1 0 0 0 1 0 0 0 1\nCELLS 1 5\n4 0 1 2 3\n"
                    "CELL_TYPES 1\n10\nPOINT_DATA 4\nSCALARS ids vtktypeint64 1\n"
                    "LOOKUP_TABLE default\n0 1 2 3\n")
    mesh, report = read_mesh(good)
    assert report.cells == {"tetra": 1} and mesh.n_points == 4
    poly = tmp_path / "surface.vtk"
    poly.write_text("# vtk DataFile Version 3.0\ns\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n"
                    "0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 1 2\n")
    with pytest.raises(ImportError_, match="POLYDATA file .* not a volume mesh"):
        read_mesh(poly)


def _step_header():
    return ("ISO-10303-21;\nHEADER;\nFILE_DESCRIPTION((''),'2;1');\nENDSEC;\nDATA;\n"
            "#1=CARTESIAN_POINT('',(0.,0.,0.));\n")


@pytest.mark.parametrize("name, content, message", [
    ("random.step", os.urandom(4000), "is not a STEP file"),
    ("truncated.step", _step_header().encode(), "found no geometry .* truncated or corrupt"),
    ("random.igs", os.urandom(4000), "found no geometry"),
    ("random.brep", b"hello", "is not a BREP file"),
])
def test_unreadable_cad_is_called_unreadable(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImportError_, match=message) as info:
        read_mesh(path)
    assert "no solid bodies" not in str(info.value)


def test_sparse_2gb_step_is_refused_at_once(tmp_path):
    path = tmp_path / "sparse.step"
    with open(path, "wb") as fh:
        fh.truncate(2 * 1024**3)
    with pytest.raises(ImportError_, match="is not a STEP file"):
        read_mesh(path)


def test_truncated_surfaces(tmp_path):
    stl = tmp_path / "cut.stl"
    stl.write_bytes(b"solid binary".ljust(80) + (12).to_bytes(4, "little") + bytes(316))
    with pytest.raises(ImportError_, match="announces 12 triangles .* truncated"):
        read_mesh(stl)
    for binary in (True, False):
        ply = tmp_path / f"cut{binary}.ply"
        m = meshio.Mesh(TET, [("triangle", np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3],
                                                     [1, 2, 3]], dtype=np.int32))])
        meshio.write(ply, m, binary=binary)
        ply.write_bytes(ply.read_bytes()[:-20])
        with pytest.raises(ImportError_, match="truncated") as err:
            read_mesh(ply)
        assert "buffer size" not in str(err.value) and "Error" not in str(err.value)
        if binary:  # 4 faces of a uint8 length and 3 int32 indices: 4 x 13 bytes, 20 cut off
            assert "4 face items, expected 52 bytes of face data, found 32" in str(err.value)


def test_cli_prints_one_line_without_meshio_noise(tmp_path):
    poly = tmp_path / "surface.vtk"
    poly.write_text("# vtk DataFile Version 3.0\ns\nASCII\nDATASET POLYDATA\nPOINTS 3 float\n"
                    "0 0 0 1 0 0 0 1 0\nPOLYGONS 1 4\n3 0 1 2\n")
    bad = tmp_path / "bad.vtu"
    bad.write_text("<VTKFile><garbage")
    procs = []
    for path in (poly, bad, tmp_path / "random.igs"):
        if not path.exists():
            path.write_bytes(os.urandom(3000))
        # the three commands run side by side (each is a Python start and physapp's imports)
        procs.append(subprocess.Popen([sys.executable, "-m", "physapp", "info", str(path)],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}))
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 1
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("physapp: error:"), stderr


def test_scheduler_that_is_not_an_address_is_refused_before_anything(tmp_path):
    out = tmp_path / "x.h5"
    r = subprocess.run([sys.executable, "-m", "physapp", "sweep", "plate-with-hole", "--out",
                        str(out), "--samples", "4", "--scheduler", "notaurl"],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 1 and "not a Dask scheduler address" in r.stderr
    assert "Exception ignored" not in r.stderr and not out.exists()

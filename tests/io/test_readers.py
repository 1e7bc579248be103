"""Reading real and generated mesh/CAD files: counts, regions, repairs and clear refusals."""

from pathlib import Path

import meshio
import numpy as np
import pytest

from physapp.io.readers import ImportError_, read_mesh

DATA = Path(__file__).parents[1] / "data" / "meshes"


@pytest.mark.parametrize("name, dim, cells, regions", [
    ("square.msh", 2, {"triangle": 184}, {"left", "right", "top"}),
    ("box.msh", 3, {"tetra": 1105}, {"front", "back", "top"}),
    ("beams.msh", 3, {"tetra": 851}, {"fixed"}),
    ("mixedtriquad.msh", 2, {"triangle": 16, "quad": 36}, {"boundary"}),
    ("quadraticsphere.msh", 3, {"tetra10": 640}, {"boundary"}),
    ("cylinder.med", 3, {"pyramid": 18, "tetra": 63}, {"boundary"}),
    ("hch_strct.4.meshb", 3, {"hexahedron": 144, "wedge": 96}, {"ref_1", "ref_2", "ref_3"}),
    ("uniform.vtk", 3, {"hexahedron": 729}, {f"face_{k}" for k in range(1, 7)}),
])
def test_real_files(name, dim, cells, regions):
    mesh, report = read_mesh(DATA / name)
    assert mesh.dim == dim and mesh.cell_counts() == cells
    assert regions <= set(mesh.boundaries)
    assert report.n_points == mesh.n_points and report.cells == cells


def test_sphere_volume_and_box_regions_sizes():
    mesh, _ = read_mesh(DATA / "quadraticsphere.msh")
    p = mesh.points
    t = mesh.cells[0].connectivity[:, :4]
    vol = np.abs(np.einsum("ij,ij->i", p[t[:, 1]] - p[t[:, 0]],
                           np.cross(p[t[:, 2]] - p[t[:, 0]], p[t[:, 3]] - p[t[:, 0]]))).sum() / 6
    assert 0.95 * np.pi / 6 < vol < np.pi / 6  # straight-sided corner tets: slightly less
    box, _ = read_mesh(DATA / "box.msh")
    for name in ("front", "back", "top"):
        assert len(box.boundaries[name]) == 104


def _box():
    mesh, _ = read_mesh(DATA / "box.msh")
    return mesh


@pytest.mark.parametrize("ext, kwargs", [
    (".msh", {"file_format": "gmsh22", "binary": False}),
    (".msh", {"file_format": "gmsh22", "binary": True}),
    (".msh", {"file_format": "gmsh", "binary": False}),
    (".msh", {"file_format": "gmsh", "binary": True}),
    (".vtu", {}),
    (".vtk", {"binary": False}),
    (".vtk", {"binary": True}),
    (".vtk", {"file_format": "vtk42", "binary": False}),
    (".xdmf", {}),
    (".inp", {}),
    (".med", {}),
    (".nas", {}),
    (".mesh", {}),
    (".su2", {}),
])
def test_generated_formats_round_trip(tmp_path, ext, kwargs):
    src = _box()
    t = src.cells[0].connectivity
    m = meshio.Mesh(src.points, [("tetra", t)])
    if ext == ".inp":
        m.point_sets = {"front_nodes": np.unique(src.boundaries["front"])}
        m.cell_sets = {"solid": [np.arange(len(t))]}
    path = tmp_path / f"box{ext}"
    m.write(path, **kwargs)
    mesh, report = read_mesh(path)
    assert mesh.dim == 3 and mesh.cell_counts() == {"tetra": 1105}
    assert mesh.n_points == 358
    assert len(mesh.boundaries["boundary"]) == 624
    if ext == ".inp":
        assert len(mesh.boundaries["front_nodes"]) == 104 and len(mesh.subdomains["solid"]) == 1105
    else:  # no regions in the file: six flat faces of the cube
        assert {f"face_{k}" for k in range(1, 7)} <= set(mesh.boundaries)


def test_closed_stl_is_filled_and_open_one_refused(tmp_path):
    box = _box()
    surf = box.boundaries["boundary"]
    path = tmp_path / "box.stl"
    meshio.Mesh(box.points * 1000, [("triangle", surf)]).write(path)  # in mm
    mesh, report = read_mesh(path, size=0.2)
    assert mesh.dim == 3 and report.length_unit == "mm"
    lo, hi = mesh.bounds()
    np.testing.assert_allclose(hi - lo, 1.0, rtol=1e-6)
    meshio.Mesh(box.points, [("triangle", surf[:-3])]).write(tmp_path / "open.stl")
    with pytest.raises(ImportError_, match="not closed"):
        read_mesh(tmp_path / "open.stl")


def test_step_part_volume(tmp_path):
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    path = tmp_path / "part.step"
    with gmsh_model("step"):
        a = gmsh.model.occ.addBox(0, 0, 0, 100, 40, 20)  # mm
        b = gmsh.model.occ.addCylinder(50, 20, 0, 0, 0, 20, 10)
        gmsh.model.occ.cut([(3, a)], [(3, b)])
        gmsh.model.occ.synchronize()
        gmsh.write(str(path))
    mesh, report = read_mesh(path, size=0.005)
    p = mesh.points
    t = mesh.cells[0].connectivity[:, :4]
    vol = np.abs(np.einsum("ij,ij->i", p[t[:, 1]] - p[t[:, 0]],
                           np.cross(p[t[:, 2]] - p[t[:, 0]], p[t[:, 3]] - p[t[:, 0]]))).sum() / 6
    exact = (0.1 * 0.04 * 0.02) - np.pi * 0.01**2 * 0.02
    assert vol == pytest.approx(exact, rel=0.01)
    assert report.format == "STEP" and len([k for k in mesh.boundaries if k.startswith("face_")]) == 7


def test_repairs_are_reported(tmp_path):
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 0, 0], [5, 5, 0]], float)
    cells = [("triangle", np.array([[0, 1, 2], [4, 3, 2]]))]
    meshio.Mesh(pts, cells).write(tmp_path / "dup.vtu")
    mesh, report = read_mesh(tmp_path / "dup.vtu")
    assert mesh.n_points == 4
    assert any("merged 1" in r for r in report.repairs)
    assert any("dropped 1" in r for r in report.repairs)


@pytest.mark.parametrize("content, match", [
    (None, "does not exist"),
    (b"", "is empty"),
    (b"$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n10\n1 0 0", "truncated|corrupt|Could not"),
    (b"this is not a mesh at all\n", "Could not read|not in a format|truncated"),
])
def test_bad_files_give_clear_messages(tmp_path, content, match):
    path = tmp_path / "bad.msh"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportError_, match=match):
        read_mesh(path)


def test_surface_mesh_in_3d_and_faces_only_cad_are_refused(tmp_path):
    box = _box()
    meshio.Mesh(box.points, [("triangle", box.boundaries["boundary"])]).write(tmp_path / "s.vtu")
    with pytest.raises(ImportError_, match="surface mesh in 3D"):
        read_mesh(tmp_path / "s.vtu")
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    with gmsh_model("faces"):
        gmsh.model.occ.addRectangle(0, 0, 0, 10, 10)
        gmsh.model.occ.synchronize()
        gmsh.write(str(tmp_path / "face.brep"))
    with pytest.raises(ImportError_, match="no solid bodies"):
        read_mesh(tmp_path / "face.brep")


def test_info_command(tmp_path):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "physapp", "info", str(DATA / "box.msh"),
                          "--json"], capture_output=True, text=True, check=True)
    info = json.loads(out.stdout)
    assert info["cells"] == {"tetra": 1105} and info["boundaries"]["front"] == 104
    bad = subprocess.run([sys.executable, "-m", "physapp", "info", str(tmp_path / "nope.vtu")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


def test_reversed_cells_are_reported_as_a_repair():
    _, report = read_mesh(DATA / "cylinder.med")  # its tets read with negative volume
    assert any("reversed node order" in r for r in report.repairs)
    _, clean = read_mesh(DATA / "box.msh")
    assert not any("reversed" in r for r in clean.repairs)


def test_reversed_and_flat_tetrahedra_are_counted_and_refused(tmp_path):
    """Two tets (volumes 1/6 and 1/3), the second listed inside out: one reversed cell; the
    second made flat: refused."""
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=float)
    path = tmp_path / "two.vtu"
    meshio.write(path, meshio.Mesh(pts, [("tetra", np.array([[0, 1, 2, 3], [2, 1, 3, 4]]))]))
    _, report = read_mesh(path, isolate=False)
    assert "1 cell(s) with reversed node order" in " ".join(report.repairs)
    flat = pts.copy()
    flat[4] = [0.25, 0.25, 0.5]  # on the plane x + y + z = 1 of nodes 1, 2, 3
    meshio.write(path, meshio.Mesh(flat, [("tetra", np.array([[0, 1, 2, 3], [1, 2, 3, 4]]))]))
    with pytest.raises(ImportError_, match="1 degenerate tetra cell"):
        read_mesh(path, isolate=False)


@pytest.mark.parametrize("version", [4.1, 2.2])
def test_partitioned_gmsh_meshes_are_merged(tmp_path, version):
    """A mesh saved partitioned (MPI runs write these) reads as the whole mesh; MSH 4's
    partitioned entities are merged by gmsh with a repair notice."""
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    whole, parts = tmp_path / "whole.msh", tmp_path / f"parts{version}.msh"
    with gmsh_model("partitioned"):
        gmsh.model.occ.addBox(0, 0, 0, 1, 2, 1)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="solid")
        gmsh.model.addPhysicalGroup(2, [1], name="x0")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.3)
        gmsh.model.mesh.generate(3)
        gmsh.option.setNumber("Mesh.MshFileVersion", version)
        gmsh.write(str(whole))
        gmsh.model.mesh.partition(3)
        gmsh.write(str(parts))
    ref, _ = read_mesh(whole)
    mesh, report = read_mesh(parts)
    assert mesh.n_points == ref.n_points and mesh.cell_counts() == ref.cell_counts()
    assert {"solid"} <= set(mesh.subdomains) and "x0" in mesh.boundaries
    assert len(mesh.boundaries["x0"]) == len(ref.boundaries["x0"])
    if version == 4.1:
        assert any("partitioned into 3 parts" in r for r in report.repairs)


def test_progress_through_the_read_stages_and_cancel():
    """The read reports its stages in order (reading, boundary, checks, done) and stops at the
    first stage boundary once cancelled."""
    from physapp.core.errors import Cancelled
    from physapp.core.progress import CancelToken

    seen = []
    mesh, _ = read_mesh(DATA / "box.msh", isolate=False,
                        progress=lambda f, msg: seen.append((f, msg)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert [m for _, m in seen] == ["Reading box.msh", "Finding the boundary",
                                    "Checking the cells", "Read 358 nodes, 1105 cells"]
    assert mesh.n_cells == 1105

    token = CancelToken()

    def cancel_on_first(f, msg):
        token.cancel()

    with pytest.raises(Cancelled):
        read_mesh(DATA / "box.msh", isolate=False, progress=cancel_on_first, cancel=token)


def test_cube_without_groups_splits_into_its_six_unit_faces(tmp_path):
    """box.msh saved without its groups: the boundary splits at the 90 degree edges into the
    six faces of the unit cube, each flat with area 1, numbered by their first facet."""
    m = meshio.read(DATA / "box.msh")
    path = tmp_path / "cube.vtu"
    meshio.write(path, meshio.Mesh(m.points, [("tetra", m.cells_dict["tetra"])]))
    mesh, report = read_mesh(path, isolate=False)
    faces = [k for k in mesh.boundaries if k.startswith("face_")]
    assert faces == [f"face_{k}" for k in range(1, 7)]
    assert "split into 6 face(s)" in " ".join(report.notes)
    p = mesh.points
    for name in faces:
        f = mesh.boundaries[name]
        area = 0.5 * np.linalg.norm(np.cross(p[f[:, 1]] - p[f[:, 0]], p[f[:, 2]] - p[f[:, 0]]),
                                    axis=1).sum()
        assert area == pytest.approx(1.0, rel=1e-12)
        assert np.ptp(p[f.ravel()], axis=0).min() == 0.0  # flat: one coordinate constant
    assert len(mesh.boundaries["boundary"]) == sum(len(mesh.boundaries[k]) for k in faces)

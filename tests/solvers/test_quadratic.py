"""Quadratic meshes from files (tri6, quad8, quad9, tet10, hex20, ...) keep their curved edges.

NAFEMS LE1 (sigma_yy at D = 92.7 MPa) on gmsh tri6 / quad8 / quad9 meshes with curved ellipses,
Cook's membrane (v = 23.96 at the mid-point of the loaded edge) and steady heat in a tet10 sphere
against closed forms. The meshes are made by tests/data/meshes/make_quadratic.py.
"""

from pathlib import Path

import numpy as np
import pytest

from physapp.core import CellBlock, ElasticSetup, Material, MeshData, Pressure, Support, Traction
from physapp.core.errors import SolverError
from physapp.core.study import FixedTemperature, HeatSetup
from physapp.io.readers import read_mesh
from physapp.solvers.elasticity2d import solve_plane
from physapp.solvers.heat import solve_heat
from physapp.solvers.reference import ReferenceSolver
from physapp.solvers.simplices import split_to_simplices
from physapp.studies.imported import ImportedPartStudy, PartSetup

MESHES = Path(__file__).parents[1] / "data" / "meshes"


def _nearest(points, x, y):
    i = int(np.argmin(np.hypot(points[:, 0] - x, points[:, 1] - y)))
    assert np.hypot(points[i, 0] - x, points[i, 1] - y) < 1e-9
    return i


@pytest.mark.parametrize("kind", ["tri6", "quad8", "quad9"])
def test_nafems_le1_on_quadratic_meshes(kind):
    mesh, _ = read_mesh(MESHES / f"le1_{kind}.msh")
    assert mesh.cells[0].type == {"tri6": "triangle6"}.get(kind, kind)
    part = PartSetup(material="custom",
                     material_overrides={"youngs_modulus": 210e9, "poissons_ratio": 0.3},
                     supports=[{"region": "x_axis", "components": [1]},
                               {"region": "y_axis", "components": [0]}],
                     loads=[{"kind": "pressure", "region": "outer", "value": -10e6}],
                     analysis="plane_stress")
    res = ReferenceSolver(order=2).solve(ImportedPartStudy(mesh, part), {})
    d = _nearest(res.mesh.points, 2.0, 0.0)
    assert res.point_data["sigma_yy"][d] / 1e6 == pytest.approx(92.7, rel=0.02)
    assert res.meta["curved"] is True


@pytest.mark.parametrize("kind", ["quad8", "tri6"])
def test_cook_membrane(kind):
    mesh, _ = read_mesh(MESHES / f"cook_{kind}.msh")
    if kind == "quad8":
        mesh = split_to_simplices(mesh)
    setup = ElasticSetup("plane_stress", Material(1.0, 1 / 3), (Support("left", (0, 1)),),
                         tractions=(Traction("right", (0.0, 1.0), total=True),))
    sol = solve_plane(mesh, setup, order=2)
    i = _nearest(sol.out_mesh.points, 48.0, 52.0)
    assert sol.fields["displacement"][i, 1] == pytest.approx(23.96, rel=0.01)


def test_curved_geometry_is_kept_for_heat_in_a_tet10_sphere():
    # -k lap T = q in a ball of radius R with T = 0 outside: T(0) = q R^2 / (6 k)
    mesh, _ = read_mesh(MESHES / "quadraticsphere.msh")
    setup = HeatSetup("3d", 2.0, fixed=(FixedTemperature("boundary", 0.0),), source=12.0)
    sol = solve_heat(mesh, setup, order=2)
    assert sol.stats["curved"]
    i = int(np.argmin(np.linalg.norm(sol.out_mesh.points, axis=1)))
    r_face = np.linalg.norm(sol.out_mesh.points[np.unique(sol.out_mesh.boundaries["boundary"])],
                            axis=1)
    R = 0.5
    assert r_face == pytest.approx(R, abs=1e-6)
    assert sol.fields["temperature"][i] == pytest.approx(12.0 * R**2 / 12.0, rel=2e-3)
    # the heat leaving the sphere (positive out) equals the heat made in it (volume of the curved mesh)
    assert sol.stats["heat_rates"]["boundary"] == pytest.approx(12.0 * 4 / 3 * np.pi * R**3,
                                                                  rel=1e-3)


def _box_hex20(n=2):
    """A unit cube of hexahedron20 cells (meshio order) with the six faces as regions."""
    import skfem

    m = skfem.MeshHex.init_tensor(*[np.linspace(0, 1, n + 1)] * 3)
    p = m.p.T
    cells = []
    order = ((0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (1, 1, 1), (0, 1, 1))
    edges = ((0, 1), (1, 2), (2, 3), (3, 0), (4, 5), (5, 6), (6, 7), (7, 4), (0, 4), (1, 5),
             (2, 6), (3, 7))
    key = {tuple(np.round(x * 2 * n).astype(int)): i for i, x in enumerate(p)}
    pts = [tuple(x) for x in p]
    h = 1.0 / n

    def node(x):
        k = tuple(np.round(np.asarray(x) * 2 * n).astype(int))
        if k not in key:
            key[k] = len(pts)
            pts.append(tuple(x))
        return key[k]

    for i in range(n):
        for j in range(n):
            for k in range(n):
                c = [np.array([i + a, j + b, k + d]) * h for a, b, d in order]
                ids = [node(x) for x in c] + [node(0.5 * (c[a] + c[b])) for a, b in edges]
                cells.append(ids)
    P = np.array(pts)
    conn = np.array(cells)
    faces = ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7))
    quads = np.concatenate([conn[:, list(f)] for f in faces])
    c = P[quads].mean(axis=1)
    regions = {}
    for ax in range(3):
        regions["xyz"[ax] + "min"] = quads[np.isclose(c[:, ax], 0)]
        regions["xyz"[ax] + "max"] = quads[np.isclose(c[:, ax], 1)]
    return MeshData(P, (CellBlock("hexahedron20", conn),), regions, {}, 3)


def test_hex20_box_uniaxial_patch_in_elasticity_and_heat():
    mesh = _box_hex20(2)
    split = split_to_simplices(mesh)
    assert split.cells[0].type == "tetra10" and split.n_cells == 24 * 8
    setup = ElasticSetup("3d", Material(210e9, 0.3),
                         (Support("xmin", symmetry=True), Support("ymin", symmetry=True),
                          Support("zmin", symmetry=True)),
                         tractions=(Traction("xmax", (5e6, 0.0, 0.0)),))
    res = ReferenceSolver(order=2)
    from physapp.solvers.elasticity3d import solve_solid

    sol = solve_solid(split, setup, order=2)
    np.testing.assert_allclose(sol.fields["sigma_xx"], 5e6, rtol=1e-6)
    heat = solve_heat(split, HeatSetup("3d", 3.0, fixed=(FixedTemperature("xmin", 0.0),
                                                          FixedTemperature("xmax", 6.0))))
    np.testing.assert_allclose(heat.fields["temperature"], 6.0 * heat.out_mesh.points[:, 0],
                               atol=1e-9)
    assert res.order == 2


def test_mixed_orders_and_unknown_cells_are_named():
    tri = MeshData(np.array([[0, 0], [1, 0], [0, 1], [1, 1], [0.5, 0], [0.5, 0.5], [0, 0.5]]),
                   (CellBlock("triangle6", [[0, 1, 2, 4, 5, 6]]), CellBlock("quad", [[1, 3, 2, 0]])))
    with pytest.raises(SolverError, match="linear cells \\(quad\\).*quadratic cells \\(triangle6\\)"):
        split_to_simplices(tri)
    mixed = MeshData(tri.points, (CellBlock("triangle6", [[0, 1, 2, 4, 5, 6]]),
                                  CellBlock("triangle", [[1, 3, 2]])))
    with pytest.raises(SolverError, match="mixes linear and quadratic"):
        solve_heat(mixed, HeatSetup("planar", 1.0, convections=()))


def _hollow_sphere_octant(a, b, size):
    """Octant of a hollow sphere, second-order tetrahedra with nodes on the true spheres."""
    import gmsh

    from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

    with gmsh_model("octant"):
        occ = gmsh.model.occ
        shell, _ = occ.cut([(3, occ.addSphere(0, 0, 0, b))], [(3, occ.addSphere(0, 0, 0, a))])
        part, _ = occ.intersect(shell, [(3, occ.addBox(0, 0, 0, 2 * b, 2 * b, 2 * b))])
        occ.synchronize()
        for _, s in gmsh.model.getBoundary(part, oriented=False):
            c = occ.getCenterOfMass(2, s)
            name = ("xmin" if abs(c[0]) < 1e-9 else "ymin" if abs(c[1]) < 1e-9 else "zmin"
                    if abs(c[2]) < 1e-9 else "inner" if np.linalg.norm(c) < 0.5 * (a + b)
                    else "outer")
            gmsh.model.addPhysicalGroup(2, [s], name=name)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(3)
        gmsh.model.mesh.setOrder(2)
        return extract_mesh(3)


def test_curved_tet10_elasticity_thick_sphere():
    # Lame: hollow sphere a < r < b under inner pressure p
    a, b, E, nu, p = 1.0, 2.0, 1e9, 0.3, 1e6
    u_a = p * a**3 / (E * (b**3 - a**3)) * ((1 - 2 * nu) * a + (1 + nu) * b**3 / (2 * a**2))
    mesh = _hollow_sphere_octant(a, b, 0.5)
    assert mesh.cells[0].type == "tetra10"
    from physapp.solvers.elasticity3d import solve_solid

    setup = ElasticSetup("3d", Material(E, nu), tuple(Support(n, symmetry=True)
                                                     for n in ("xmin", "ymin", "zmin")),
                         pressures=(Pressure("inner", p),))
    sol = solve_solid(mesh, setup, order=2)
    assert sol.stats["curved"]
    pts = sol.out_mesh.points
    inner = np.abs(np.linalg.norm(pts, axis=1) - a) < 1e-6
    assert inner.sum() > 10  # the P2 nodes of the inner face are on the sphere
    ur = np.einsum("ij,ij->i", sol.fields["displacement"][inner], pts[inner]) / a
    assert np.mean(ur) == pytest.approx(u_a, rel=0.01)


def _hex_sector(path, complete: bool):
    """Quarter annulus 1 < r < 2, 0.5 thick, of curved hexahedron27 (or hexahedron20) cells."""
    import gmsh

    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.model.add("sector")
        occ = gmsh.model.occ
        ring, _ = occ.cut([(2, occ.addDisk(0, 0, 0, 2, 2))], [(2, occ.addDisk(0, 0, 0, 1, 1))])
        sec, _ = occ.intersect(ring, [(2, occ.addRectangle(0, 0, 0, 3, 3))])
        occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.35)
        gmsh.option.setNumber("Mesh.RecombineAll", 1)
        gmsh.option.setNumber("Mesh.Algorithm", 8)
        ext = occ.extrude(sec, 0, 0, 0.5, numElements=[2], recombine=True)
        occ.synchronize()
        vol = [e for e in ext if e[0] == 3]
        for _, s in gmsh.model.getBoundary(vol, oriented=False):
            c = occ.getCenterOfMass(2, s)
            if 1e-9 < c[2] < 0.5 - 1e-9 and c[0] > 1e-9 and c[1] > 1e-9:
                gmsh.model.addPhysicalGroup(2, [s], name="inner" if np.hypot(c[0], c[1]) < 1.5
                                            else "outer")
        gmsh.model.addPhysicalGroup(3, [v for _, v in vol], name="solid")
        gmsh.model.mesh.generate(3)
        gmsh.option.setNumber("Mesh.SecondOrderIncomplete", 0 if complete else 1)
        gmsh.model.mesh.setOrder(2)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()
    return path


@pytest.mark.parametrize("kind", ["hexahedron20", "hexahedron27"])
def test_curved_hexahedra_conduction_in_a_thick_cylinder(tmp_path, kind):
    # T = ln(r) / ln(2) between T(1) = 0 and T(2) = 1
    path = _hex_sector(tmp_path / "sector.msh", complete=kind == "hexahedron27")
    mesh, _ = read_mesh(path)
    assert mesh.cells[0].type == kind
    setup = HeatSetup("3d", 1.0, fixed=(FixedTemperature("inner", 0.0),
                                        FixedTemperature("outer", 1.0)))
    errors = {}
    for order in (1, 2):
        sol = solve_heat(split_to_simplices(mesh), setup, order=order)
        r = np.hypot(*sol.out_mesh.points[:, :2].T)
        errors[order] = np.abs(sol.fields["temperature"] - np.log(r) / np.log(2.0)).max()
        assert sol.stats["curved"] is (order == 2)
    assert errors[2] < 5e-4 < errors[1] / 5


def test_axisymmetric_lame_cylinder_on_quad8(tmp_path):
    # thick cylinder a < r < b under inner pressure, axially restrained (plane strain): Lame
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model
    from physapp.solvers.simplices import split_to_simplices as split

    a, b, h, E, nu, p = 0.1, 0.2, 0.05, 200e9, 0.3, 100e6
    with gmsh_model("tube"):
        gmsh.model.occ.addRectangle(a, 0, 0, b - a, h)
        gmsh.model.occ.synchronize()
        for _, c in gmsh.model.getEntities(1):
            x, y, _ = gmsh.model.occ.getCenterOfMass(1, c)
            name = ("inner" if abs(x - a) < 1e-9 else "outer" if abs(x - b) < 1e-9 else
                    "bottom" if abs(y) < 1e-9 else "top")
            gmsh.model.addPhysicalGroup(1, [c], name=name)
        gmsh.model.addPhysicalGroup(2, [1], name="wall")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.02)
        gmsh.option.setNumber("Mesh.RecombineAll", 1)
        gmsh.option.setNumber("Mesh.SecondOrderIncomplete", 1)
        gmsh.model.mesh.generate(2)
        gmsh.model.mesh.setOrder(2)
        path = tmp_path / "tube.msh"
        gmsh.write(str(path))
    mesh, _ = read_mesh(path)
    assert mesh.cells[0].type == "quad8"
    setup = ElasticSetup("axisymmetric", Material(E, nu),
                         (Support("bottom", (1,)), Support("top", (1,))),
                         pressures=(Pressure("inner", p),))
    sol = solve_plane(split(mesh), setup, order=2)
    c1, c2 = p * a**2 / (b**2 - a**2), p * a**2 * b**2 / (b**2 - a**2)
    u_a = (1 + nu) / E * ((1 - 2 * nu) * c1 * a + c2 / a)
    pts = sol.out_mesh.points
    inner = np.isclose(pts[:, 0], a)
    np.testing.assert_allclose(sol.fields["displacement"][inner, 0], u_a, rtol=1e-3)
    np.testing.assert_allclose(sol.fields["sigma_hoop"][inner], c1 + c2 / a**2, rtol=0.01)


def _straight_quadratic(cell_type, corners):
    """One straight-sided quadratic cell (meshio order): mid-side nodes at edge midpoints."""
    from physapp.solvers.simplices import EDGE_MIDS

    pts = [np.asarray(c, float) for c in corners]
    n_mid = len(EDGE_MIDS[cell_type])
    for a, b, _ in EDGE_MIDS[cell_type]:
        pts.append(0.5 * (pts[a] + pts[b]))
    if cell_type == "hexahedron27":  # face centres in VTK order, then the body centre
        for face in ((0, 3, 7, 4), (1, 2, 6, 5), (0, 1, 5, 4), (3, 2, 6, 7), (0, 1, 2, 3),
                     (4, 5, 6, 7)):
            pts.append(np.mean([pts[k] for k in face], axis=0))
        pts.append(np.mean(pts[:8], axis=0))
    conn = np.arange(len(pts))[None]
    assert len(pts) == len(corners) + n_mid + (7 if cell_type == "hexahedron27" else 0)
    return MeshData(np.array(pts), (CellBlock(cell_type, conn),), {}, {}, 3)


@pytest.mark.parametrize("cell_type,corners,volume", [
    ("wedge15", [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1)], 0.5),
    ("pyramid13", [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0.5, 0.5, 1)], 1 / 3),
    ("hexahedron27", [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1),
                      (1, 1, 1), (0, 1, 1)], 1.0),
])
def test_quadratic_cells_split_into_valid_tetra10(cell_type, corners, volume):
    mesh = _straight_quadratic(cell_type, corners)
    split = split_to_simplices(mesh)
    conn = split.cells[0].connectivity
    p = split.points
    # straight geometry: every tetra10 mid-side node is the midpoint of its edge
    for k, (a, b) in enumerate(((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))):
        np.testing.assert_allclose(p[conn[:, 4 + k]], 0.5 * (p[conn[:, a]] + p[conn[:, b]]),
                                   atol=1e-12)
    v = np.einsum("ij,ij->i", np.cross(p[conn[:, 1]] - p[conn[:, 0]], p[conn[:, 2]] - p[conn[:, 0]]),
                  p[conn[:, 3]] - p[conn[:, 0]]) / 6
    assert np.all(np.abs(v) > 0) and np.abs(v).sum() == pytest.approx(volume)

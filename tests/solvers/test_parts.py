"""Imported parts with real set-ups: NAFEMS LE10 from a STEP file (edge support by a selector),
a two-material heat problem with a source in one region, stable CAD names, bad input."""

import numpy as np
import pytest

from physapp.core.errors import ParameterError
from physapp.core.regions import describe, select
from physapp.geometry.benchmarks import write_le10_step
from physapp.io.readers import read_mesh
from physapp.solvers.reference import ReferenceSolver
from physapp.studies.imported import ImportedPartStudy, PartSetup


def plane(point, normal, **kw):
    return {"select": "plane", "point": point, "normal": normal, **kw}


@pytest.fixture(scope="module")
def le10_step(tmp_path_factory):
    return write_le10_step(tmp_path_factory.mktemp("le10") / "le10.step")


def test_nafems_le10_from_step_with_an_edge_support_by_selector(le10_step):
    mesh, _ = read_mesh(le10_step, size=0.3, order=2)
    part = PartSetup(
        material="custom", material_overrides={"youngs_modulus": 210e9, "poissons_ratio": 0.3},
        supports=[{"select": plane([0, 0, 0], [1, 0, 0]), "components": [0]},
                  {"select": plane([0, 0, 0], [0, 1, 0]), "components": [1]},
                  {"region": "face_4", "components": [0, 1]},
                  {"region": "face_10", "components": [0, 1]},
                  # line EE': the mid-plane edge of the outer face, u_z = 0
                  {"select": plane([0, 0, 0], [0, 0, 1], kind="edge", on="face_4", pieces=1),
                   "components": [2]}],
        loads=[{"kind": "pressure", "select": plane([0, 0, 0.3], [0, 0, 1]), "value": 1e6}])
    study = ImportedPartStudy(mesh, part)
    assert any("kind edge) matched" in r and "1 piece" in r for r in study.selection_reports)
    res = ReferenceSolver(order=2).solve(study, {})
    assert res.meta["curved"]
    pts = res.mesh.points
    d = int(np.argmin(np.linalg.norm(pts - [2.0, 0.0, 0.3], axis=1)))
    assert np.linalg.norm(pts[d] - [2.0, 0.0, 0.3]) < 1e-9
    assert res.point_data["sigma_yy"][d] / 1e6 == pytest.approx(-5.38, rel=0.02)


def test_cad_names_survive_remeshing_and_meshing_is_deterministic(le10_step):
    a, _ = read_mesh(le10_step, size=0.4)
    b, _ = read_mesh(le10_step, size=0.25)
    a2, _ = read_mesh(le10_step, size=0.4)
    assert a.n_points == a2.n_points and a.n_cells == a2.n_cells
    np.testing.assert_array_equal(a.cells[0].connectivity, a2.cells[0].connectivity)
    assert b.n_points > a.n_points
    for kind in ("boundaries", "edges", "point_sets", "subdomains"):
        assert set(getattr(a, kind)) == set(getattr(b, kind))
    da, db = ({r["name"]: r for r in describe(m)} for m in (a, b))
    for name, r in da.items():  # the same CAD entity: same centroid and kind at both sizes
        assert r["kind"] == db[name]["kind"]
        np.testing.assert_allclose(r["centroid"], db[name]["centroid"], atol=0.05)
    assert da["face_6"]["normal"] == [0.0, 0.0, 1.0] and da["face_6"]["size"] == pytest.approx(
        np.pi * (3.25 * 2.75 - 2.0) / 4, rel=0.01)


def test_local_refinement_makes_smaller_elements_near_the_region(le10_step):
    plain, _ = read_mesh(le10_step, size=0.4)
    fine, _ = read_mesh(le10_step, size=0.4,
                        refine=[{"regions": ["edge_1"], "size": 0.05, "growth": 1.3}])
    near = lambda m: np.sum(np.linalg.norm(m.points[:, :2] - [2.0, 0.0], axis=1) < 0.2)  # noqa: E731
    assert near(fine) > 4 * near(plain)
    curved, _ = read_mesh(le10_step, size=0.4, curvature=24)  # 24 elements per full circle
    assert near(curved) > near(plain)
    with pytest.raises(Exception, match="no CAD region named 'edge_99'"):
        read_mesh(le10_step, size=0.4, refine=[{"regions": ["edge_99"], "size": 0.05}])


def _discs(a, b, size):
    import gmsh

    from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

    with gmsh_model("discs"):
        occ = gmsh.model.occ
        outer, inner = occ.addDisk(0, 0, 0, b, b), occ.addDisk(0, 0, 0, a, a)
        out, _ = occ.fragment([(2, outer)], [(2, inner)])
        occ.synchronize()
        for _, s in out:
            mass = occ.getMass(2, s)
            gmsh.model.addPhysicalGroup(2, [s], name="core" if mass < np.pi * a * a * 1.01
                                        else "ring")
        curves = [c for _, c in gmsh.model.getEntities(1)
                  if abs(occ.getMass(1, c) - 2 * np.pi * b) < 1e-6 * b]
        gmsh.model.addPhysicalGroup(1, curves, name="outer")
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.model.mesh.generate(2)
        gmsh.model.mesh.setOrder(2)
        return extract_mesh(2)


def test_two_material_discs_with_a_source_in_the_core_only():
    # an insulated wire: core r < a (k1, source q), insulation a < r < b (k2), convection outside
    a, b, k1, k2, q, h, t_inf = 0.01, 0.03, 400.0, 0.2, 2e6, 15.0, 20.0
    t_b = t_inf + q * a**2 / (2 * h * b)
    t_a = t_b + q * a**2 / (2 * k2) * np.log(b / a)
    t_0 = t_a + q * a**2 / (4 * k1)
    mesh = _discs(a, b, 0.004)
    part = PartSetup(physics="heat", material="custom", material_overrides={"conductivity": 1.0},
                     regions={"core": {"conductivity": k1}, "ring": {"conductivity": k2}},
                     loads=[{"kind": "source", "region": "core", "value": q},
                            {"kind": "convection", "region": "outer", "h": h, "t_inf": t_inf}])
    res = ReferenceSolver(order=2).solve(ImportedPartStudy(mesh, part), {})
    pts, T = res.mesh.points, res.point_data["temperature"]
    r = np.linalg.norm(pts[:, :2], axis=1)
    assert T[np.argmin(r)] == pytest.approx(t_0, rel=0.01)
    assert T[np.argmin(np.abs(r - a))] == pytest.approx(t_a, rel=0.01)
    assert T[np.argmax(r)] == pytest.approx(t_b, rel=0.01)


def test_wrong_kind_loads_and_empty_selectors_are_refused(le10_step):
    mesh, _ = read_mesh(le10_step, size=0.4)
    bad = PartSetup(supports=[{"region": "face_3", "components": [0, 1, 2]}],
                    loads=[{"kind": "pressure", "region": "point_2", "value": 1.0}])
    with pytest.raises(ParameterError, match="cannot go on 'point_2' \\(point\\).*applies to: face"):
        ImportedPartStudy(mesh, bad)
    with pytest.raises(ParameterError, match="matched nothing.*0.7 m"):
        select(mesh, plane([0, 0, 1.0], [0, 0, 1]))
    # a point selector on a whole face matches every node of it: reported, and refused when
    # the set-up expects one piece
    with pytest.raises(ParameterError, match="matched \\d+ nodes in \\d+ pieces, expected 1"):
        select(mesh, plane([0, 0, 0.3], [0, 0, 1], kind="point", pieces=1))


def _two_blocks(dim, order):
    """Two unit blocks side by side along x (subdomains a, b), faces 'left' (x = 0) and 'right'
    (x = 2)."""
    import gmsh

    from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

    with gmsh_model("blocks"):
        occ = gmsh.model.occ
        if dim == 2:
            a, b = occ.addRectangle(0, 0, 0, 1, 1), occ.addRectangle(1, 0, 0, 1, 1)
        else:
            a, b = occ.addBox(0, 0, 0, 1, 1, 1), occ.addBox(1, 0, 0, 1, 1, 1)
        occ.fragment([(dim, a)], [(dim, b)])
        occ.synchronize()
        for _, e in gmsh.model.getEntities(dim):
            x = occ.getCenterOfMass(dim, e)[0]
            gmsh.model.addPhysicalGroup(dim, [e], name="a" if x < 1 else "b")
        for _, e in gmsh.model.getEntities(dim - 1):
            x = occ.getCenterOfMass(dim - 1, e)[0]
            if abs(x) < 1e-9 or abs(x - 2) < 1e-9:
                gmsh.model.addPhysicalGroup(dim - 1, [e], name="left" if x < 1 else "right")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.4)
        gmsh.model.mesh.generate(dim)
        gmsh.model.mesh.setOrder(order)
        return extract_mesh(dim)


@pytest.mark.parametrize("dim,order", [(2, 1), (2, 2), (3, 1), (3, 2)])
def test_a_material_per_region_in_series(dim, order):
    # bars in series under a uniform traction s: u(2) = s (1/E_a + 1/E_b) (nu = 0: exact)
    s, e_a, e_b = 1e6, 100e9, 25e9
    mesh = _two_blocks(dim, order)
    def at(x, comps):
        return {"select": {"select": "point", "at": x}, "components": comps}

    # u_x = 0 on the left face; rigid motions across it held at corner points
    supports = [{"region": "left", "components": [0]}, at([0, 0, 0], [1, 2][: dim - 1])]
    if dim == 3:
        supports += [at([0, 1, 0], [2]), at([0, 0, 1], [1])]
    part = PartSetup(material="custom", material_overrides={"youngs_modulus": e_a,
                                                            "poissons_ratio": 0.0},
                     regions={"b": {"youngs_modulus": e_b}}, supports=supports,
                     loads=[{"kind": "traction", "region": "right",
                             "vector": [s, 0.0, 0.0][:dim]}],
                     analysis="3d" if dim == 3 else "plane_stress")
    res = ReferenceSolver(order=order).solve(ImportedPartStudy(mesh, part), {})
    pts, u = res.mesh.points, res.point_data["displacement"]
    right = np.isclose(pts[:, 0], 2.0)
    np.testing.assert_allclose(u[right, 0], s * (1 / e_a + 1 / e_b), rtol=1e-5)
    np.testing.assert_allclose(res.point_data["sigma_xx"], s, rtol=1e-4)

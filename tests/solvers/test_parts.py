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

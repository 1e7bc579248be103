"""P1 on a mesh too coarse for bending is flagged with an estimated error and a suggestion."""

import numpy as np
import pytest

from physapp.core import CellBlock, MeshData
from physapp.solvers.p1check import zz_estimate
from physapp.solvers.reference import ReferenceSolver
from physapp.studies.imported import ImportedPartStudy, PartSetup


def _hex_cantilever(nx=10, ny=1, nz=1, L=10.0, h=1.0):
    """A cantilever of hexahedra (meshio order), faces 'root' (x = 0) and 'tip' (x = L)."""
    xs, ys, zs = (np.linspace(0, L, nx + 1), np.linspace(0, h, ny + 1), np.linspace(0, h, nz + 1))
    idx = np.arange(len(xs) * len(ys) * len(zs)).reshape(len(xs), len(ys), len(zs))
    pts = np.array([[x, y, z] for x in xs for y in ys for z in zs])
    cells = []
    for i in range(nx):
        for j in range(ny):
            for k in range(nz):
                cells.append([idx[i, j, k], idx[i + 1, j, k], idx[i + 1, j + 1, k],
                              idx[i, j + 1, k], idx[i, j, k + 1], idx[i + 1, j, k + 1],
                              idx[i + 1, j + 1, k + 1], idx[i, j + 1, k + 1]])
    quads = lambda a: np.array([[a[j, k], a[j + 1, k], a[j + 1, k + 1], a[j, k + 1]]  # noqa: E731
                                for j in range(ny) for k in range(nz)])
    return MeshData(pts, (CellBlock("hexahedron", cells),),
                    {"root": quads(idx[0]), "tip": quads(idx[-1])}, {}, 3)


def _setup():
    return PartSetup(material="custom", material_overrides={"youngs_modulus": 210e9,
                                                            "poissons_ratio": 0.3},
                     supports=[{"region": "root", "components": [0, 1, 2]}],
                     loads=[{"kind": "force", "region": "tip", "vector": [0, 0, -1e4]}])


def test_p1_on_a_coarse_bending_mesh_is_flagged():
    study = ImportedPartStudy(_hex_cantilever(), _setup())
    res = ReferenceSolver(order=1).solve(study, {})
    est = res.meta["p1_error_estimate"]
    p2 = ReferenceSolver(order=2).solve(study, {})
    u1 = np.linalg.norm(res.point_data["displacement"], axis=1).max()
    u2 = np.linalg.norm(p2.point_data["displacement"], axis=1).max()
    assert est == pytest.approx(1 - u1 / u2, rel=1e-3) and est > 0.3
    assert any("too stiff" in w and "order 2" in w for w in res.meta["warnings"])
    assert p2.meta["p1_error_estimate"] is None  # P2 solves are not checked


def test_p1_on_a_fine_enough_mesh_is_not_flagged():
    # uniaxial tension: P1 is exact, nothing to report
    setup = _setup()
    setup.loads = [{"kind": "force", "region": "tip", "vector": [1e4, 0, 0]}]
    setup.supports = [{"region": "root", "components": [0, 1, 2]}]
    res = ReferenceSolver(order=1).solve(ImportedPartStudy(_hex_cantilever(4, 2, 2, L=4.0),
                                                           setup), {})
    assert not any("too stiff" in w for w in res.meta["warnings"])


def test_stress_recovery_estimate_is_zero_for_a_constant_stress_and_large_in_bending():
    from physapp.solvers.elasticity3d import solve_solid
    from physapp.solvers.simplices import split_to_simplices

    study = ImportedPartStudy(_hex_cantilever(), _setup())
    mesh = split_to_simplices(study.mesh)
    sol = solve_solid(mesh, study.setup({}), order=1)
    E, nu = 210e9, 0.3
    lam_mu = (E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu)))
    assert zz_estimate(sol.out_mesh, sol.fields, lam_mu) > 0.2
    # uniaxial tension held without constraining the lateral contraction: constant stress
    def at(x, comps):
        return {"select": {"select": "point", "at": x}, "components": comps}

    setup = _setup()
    setup.loads = [{"kind": "force", "region": "tip", "vector": [1e4, 0, 0]}]
    setup.supports = [{"region": "root", "symmetry": True}, at([0, 0, 0], [1, 2]),
                      at([0, 1, 0], [2]), at([0, 0, 1], [1])]
    tension = ImportedPartStudy(_hex_cantilever(), setup)
    mesh = split_to_simplices(tension.mesh)
    sol = solve_solid(mesh, tension.setup({}), order=1)
    np.testing.assert_allclose(sol.fields["sigma_xx"], 1e4, rtol=1e-6)
    assert zz_estimate(sol.out_mesh, sol.fields, lam_mu) < 1e-6

"""Quad / hexahedron meshes are split conformingly and solved exactly on uniform-stress patches."""

import numpy as np
import pytest
import skfem

from physapp.core import CellBlock, ElasticSetup, Material, MeshData, Support, Traction
from physapp.solvers.elasticity2d import solve_plane
from physapp.solvers.elasticity3d import solve_solid
from physapp.solvers.simplices import split_to_simplices

STEEL = Material(210e9, 0.3)


def _regions(points, facets, dim):
    c = points[facets].mean(axis=1)
    lo, hi = points.min(axis=0), points.max(axis=0)
    out = {}
    for axis in range(dim):
        out["xyz"[axis] + "min"] = facets[np.isclose(c[:, axis], lo[axis])]
        out["xyz"[axis] + "max"] = facets[np.isclose(c[:, axis], hi[axis])]
    return out


def hex_box(n=3, distort=0.0, seed=0):
    m = skfem.MeshHex.init_tensor(*[np.linspace(0, 1, n + 1)] * 3)
    p = m.p.T.copy()
    inner = np.all((p > 1e-9) & (p < 1 - 1e-9), axis=1)
    p[inner] += distort * np.random.default_rng(seed).uniform(-1, 1, (inner.sum(), 3)) / n
    # shuffle node numbers so face diagonals are chosen inconsistently by any local rule
    perm = np.random.default_rng(seed).permutation(len(p))
    inv = np.argsort(perm)
    t = inv[m.t.T]
    p = p[perm]
    quads = inv[m.facets[:, m.boundary_facets()].T]
    # skfem's hex ordering differs from meshio's: rebuild meshio order from coordinates
    t = _meshio_hex_order(p, t)
    return MeshData(p, (CellBlock("hexahedron", t),), _regions(p, quads, 3), {}, 3)


def _meshio_hex_order(p, t):
    out = np.empty_like(t)
    for i, cell in enumerate(t):
        c = p[cell]
        mid = c.mean(axis=0)
        rel = c - mid
        bottom = cell[rel[:, 2] < 0]
        top = cell[rel[:, 2] > 0]
        for j, grp in enumerate((bottom, top)):
            ang = np.arctan2(p[grp, 1] - mid[1], p[grp, 0] - mid[0])
            out[i, 4 * j: 4 * j + 4] = grp[np.argsort(ang)]
    return out


@pytest.mark.parametrize("distort", [0.0, 0.25])
def test_hex_mesh_uniaxial_patch_is_exact(distort):
    mesh = hex_box(3, distort)
    split = split_to_simplices(mesh)
    assert split.cells[0].type == "tetra" and split.n_cells == 24 * 27
    # conforming: every interior triangle is shared by exactly two tets
    t = split.cells[0].connectivity
    faces = np.sort(np.concatenate([t[:, [0, 1, 2]], t[:, [0, 1, 3]], t[:, [0, 2, 3]],
                                    t[:, [1, 2, 3]]]), axis=1)
    _, counts = np.unique(faces, axis=0, return_counts=True)
    n_boundary = sum(len(v) for v in split.boundaries.values())
    assert np.sum(counts == 1) == n_boundary and set(np.unique(counts)) <= {1, 2}
    setup = ElasticSetup("3d", STEEL, (Support("xmin", symmetry=True), Support("ymin", symmetry=True),
                                       Support("zmin", symmetry=True)),
                         tractions=(Traction("xmax", (5e6, 0.0, 0.0)),))
    sol = solve_solid(split, setup, order=1)
    np.testing.assert_allclose(sol.fields["sigma_xx"], 5e6, rtol=1e-6)
    np.testing.assert_allclose(sol.fields["sigma_yy"], 0.0, atol=1e-6 * 5e6)
    ux = sol.fields["displacement"][: mesh.n_points, 0]
    np.testing.assert_allclose(ux, 5e6 / 210e9 * mesh.points[:, 0], atol=1e-9 * 5e6 / 210e9)


def test_quad_mesh_is_split_and_solved():
    m = skfem.MeshQuad.init_tensor(np.linspace(0, 2, 9), np.linspace(0, 1, 5))
    p = m.p.T
    facets = m.facets[:, m.boundary_facets()].T
    mesh = MeshData(p, (CellBlock("quad", m.t.T),), _regions(p, facets, 2), {"all": np.arange(32)}, 2)
    split = split_to_simplices(mesh)
    assert split.cells[0].type == "triangle" and split.n_cells == 64
    assert len(split.subdomains["all"]) == 64 and split.n_points == mesh.n_points
    setup = ElasticSetup("plane_stress", STEEL, (Support("xmin", symmetry=True),
                                                 Support("ymin", symmetry=True)),
                         (Traction("xmax", (1e6, 0.0)),))
    sol = solve_plane(split, setup, order=2)
    np.testing.assert_allclose(sol.fields["sigma_xx"], 1e6, rtol=1e-6)

"""Geometric node features of the mesh-agnostic models (#19): oracles from an annulus.

On a ring a <= r <= b the boundary is two circles: around the hole (r = a) the curvature seen from
the domain is +1/a and ``s = 1 / (1 + kappa d)`` is exactly a / r (the variable of Kirsch's
solution); on the outer circle it is -1/b. The direction to the nearest boundary is radial.
"""

import numpy as np

from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.models.geo_features import (
    _node_curvature,
    boundary_features,
    n_features,
    oriented_edges,
)

A, B = 1.0, 3.0


def _annulus(nr=12, nt=96, flip=False):
    r = np.linspace(A, B, nr)
    t = np.linspace(0, 2 * np.pi, nt, endpoint=False)
    R, T = np.meshgrid(r, t, indexing="ij")
    pts = np.column_stack([(R * np.cos(T)).ravel(), (R * np.sin(T)).ravel(), np.zeros(R.size)])
    idx = np.arange(nr * nt).reshape(nr, nt)
    tris = []
    for i in range(nr - 1):
        for j in range(nt):
            a, b = idx[i, j], idx[i, (j + 1) % nt]
            c, d = idx[i + 1, j], idx[i + 1, (j + 1) % nt]
            tris += [(a, b, d), (a, d, c)]
    tris = np.array(tris)
    if flip:  # clockwise cells: the orientation is fixed per cell
        tris = tris[:, ::-1]
    return MeshData(pts, [CellBlock("triangle", tris)], {}, {}, 2)


def test_ring_gives_a_over_r_radial_directions_and_signed_curvatures():
    for flip in (False, True):
        mesh = _annulus(flip=flip)
        pts = mesh.points[:, :2]
        r = np.linalg.norm(pts, axis=1)
        edges = oriented_edges(mesh)
        assert len(edges) == 2 * 96
        kappa = _node_curvature(pts, edges)
        assert np.allclose(kappa[np.isclose(r, A)], 1 / A, rtol=0.01)
        assert np.allclose(kappa[np.isclose(r, B)], -1 / B, rtol=0.01)
        f = boundary_features(mesh, 2)
        assert f.shape == (mesh.n_points, n_features(2))
        inner = r < 0.5 * (A + B)  # nearer the hole than the outer circle
        assert np.allclose(f[inner, 4], A / r[inner], atol=0.01)
        assert np.allclose(f[inner, :2], pts[inner] / r[inner, None], atol=0.05)
        # cos 2theta, sin 2theta of the radial direction
        theta = np.arctan2(pts[inner, 1], pts[inner, 0])
        assert np.allclose(f[inner, 2], np.cos(2 * theta), atol=0.1)
        assert np.allclose(f[inner, 3], np.sin(2 * theta), atol=0.1)


def test_features_hardly_depend_on_the_element_size():
    coarse, fine = _annulus(12, 96), _annulus(23, 192)
    q = np.array([[1.5, 0.2], [0.1, -2.0], [-2.4, 1.0]])
    fc = boundary_features(coarse, 2, points=q)
    ff = boundary_features(fine, 2, points=q)
    assert np.allclose(fc, ff, atol=0.02)

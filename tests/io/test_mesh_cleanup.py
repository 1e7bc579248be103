"""The boundary split into faces at sharp edges (connected sets of a graph) against a flood fill
that grows each face facet by facet, on real meshes of triangles, quads, wedges and pyramids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physapp.core.facets import boundary_facet_groups, in_scan_order
from physapp.core.regions import CORNERS, FACETS
from physapp.io.mesh_cleanup import _feature_faces
from physapp.io.readers import read_mesh

DATA = Path(__file__).parents[1] / "data" / "meshes"


def _flood(pts, facets, dim, angle):
    """Label facets by growing from each unlabelled one over neighbours (shared node in 2D,
    shared edge in 3D) whose normals differ by less than ``angle``."""
    n = []
    for f in facets:
        if dim == 2:
            t = pts[f[1], :2] - pts[f[0], :2]
            v = np.array([-t[1], t[0], 0.0])
        else:
            v = np.cross(pts[f[1]] - pts[f[0]], pts[f[2]] - pts[f[0]])
        n.append(v / max(np.linalg.norm(v), 1e-300))

    def ring(f):
        if dim == 2:
            return [(int(v),) for v in f]
        return [tuple(sorted((int(f[k]), int(f[(k + 1) % len(f)])))) for k in range(len(f))]

    shared: dict = {}
    for i, f in enumerate(facets):
        for key in ring(f):
            shared.setdefault(key, []).append(i)
    cos = np.cos(np.radians(angle))
    label = [-1] * len(facets)
    current = 0
    for seed in range(len(facets)):
        if label[seed] >= 0:
            continue
        label[seed], stack = current, [seed]
        while stack:
            i = stack.pop()
            for key in ring(facets[i]):
                for j in shared[key]:
                    d = float(np.dot(n[i], n[j]))
                    if label[j] < 0 and abs(d) >= cos and d > 0:
                        label[j] = current
                        stack.append(j)
        current += 1
    return label


@pytest.mark.parametrize("name, angle", [("hch_strct.4.meshb", 30.0), ("cylinder.med", 30.0),
                                         ("quadraticsphere.msh", 20.0), ("le1_quad8.msh", 30.0),
                                         ("mixedtriquad.msh", 30.0), ("box.msh", 30.0)])
def test_faces_are_the_flood_fill_faces(name, angle):
    mesh, _ = read_mesh(DATA / name, isolate=False)
    facets = in_scan_order(boundary_facet_groups(
        [(c.type, c.connectivity) for c in mesh.cells], FACETS, CORNERS))
    faces = _feature_faces(mesh.points, facets, mesh.dim, angle)
    label = _flood(mesh.points, facets, mesh.dim, angle)
    assert len(faces) == max(label) + 1
    for k, rows in enumerate(faces.values()):
        want = [facets[i] for i in range(len(facets)) if label[i] == k]
        if all(len(f) == len(want[0]) for f in want):
            np.testing.assert_array_equal(rows, np.asarray(want))
        else:  # a face of triangles and quads is stored as triangles
            assert len(rows) == sum(1 if len(f) == 3 else 2 for f in want)
    if name == "box.msh":
        assert len(faces) == 6 and all(len(v) == 104 for v in faces.values())  # the cube's sides

"""The boundary-only target of a morph (gmsh meshes the curves only) against the full mesh."""

import numpy as np
import pytest

from physapp.geometry.gmsh_session import boundary_only
from physapp.geometry.morph import Morpher
from physapp.geometry.morph_ops import _boundary_facets, _simplices, _Surface
from physapp.studies import get_study


def _segments(mesh, faces):
    """Oriented facets as coordinate pairs, in a canonical order."""
    seg = mesh.points[faces, :2].reshape(len(faces), 4)
    return seg[np.lexsort(seg.T[::-1])]


@pytest.mark.parametrize(("study_id", "values"), [
    ("plate-with-hole", {"radius": 0.031}),
    ("cylinder-in-channel", {}),
])
def test_boundary_only_mesh_has_the_full_meshs_boundary_facets(study_id, values):
    study = get_study(study_id)
    values = study.check(values)
    full = study.build_mesh(values)
    with boundary_only():
        bnd = study.build_mesh(values)
    assert {b.type for b in bnd.cells} == {"line"}
    faces = _boundary_facets(full.points[:, :2], _simplices(full))  # outward-oriented
    got = bnd.cells[0].connectivity
    assert len(got) == len(faces)
    assert np.array_equal(_segments(bnd, got), _segments(full, faces))  # same facets, same sense
    for name, facets in full.boundaries.items():  # the named regions cover the same segments
        a = np.sort(full.points[np.sort(facets, axis=1), :2].reshape(-1, 4), axis=0)
        b = np.sort(bnd.points[np.sort(bnd.boundaries[name], axis=1), :2].reshape(-1, 4), axis=0)
        assert np.array_equal(a, b)
    # the surface a morph projects onto is the same
    names = sorted(full.boundaries)
    s_full, s_bnd = _Surface(full, names), _Surface(bnd, names)
    rad_full = np.sort(s_full.radius[np.isfinite(s_full.radius)])
    rad_bnd = np.sort(s_bnd.radius[np.isfinite(s_bnd.radius)])
    assert np.allclose(rad_full, rad_bnd, rtol=1e-12)
    if study_id == "plate-with-hole":
        assert np.allclose(rad_bnd, 0.031, rtol=1e-9)  # the hole's arcs: its radius


def test_morph_onto_the_boundary_only_target_equals_the_morph_onto_the_full_mesh():
    study = get_study("plate-with-hole")
    morpher = Morpher(study)
    values = study.check({**morpher.reference_values, "radius": 0.03})
    via_boundary = morpher.morph(values)  # meshes the target's curves only
    via_full, quality = morpher.morph_to_mesh(study.build_mesh(values))
    assert quality.n_bad == 0
    assert np.allclose(via_boundary.points, via_full.points, rtol=0, atol=1e-13)
    hole = via_boundary.boundary_nodes("hole")
    assert np.allclose(np.hypot(*via_boundary.points[hole, :2].T), 0.03, rtol=1e-9)

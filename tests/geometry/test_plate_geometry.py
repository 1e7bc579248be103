import numpy as np
import pytest

from physapp.core import GeometryError
from physapp.geometry.plate_with_hole import mesh_plate_with_hole


def test_quarter_plate_regions_and_area():
    L, W, a = 0.4, 0.2, 0.03
    mesh = mesh_plate_with_hole(L, W, a, 0.004)
    assert set(mesh.boundaries) == {"symmetry_x", "symmetry_y", "loaded", "free", "hole"}
    p = mesh.points
    assert np.allclose(p[mesh.boundary_nodes("loaded"), 0], L / 2)
    assert np.allclose(p[mesh.boundary_nodes("free"), 1], W / 2)
    assert np.allclose(p[mesh.boundary_nodes("symmetry_x"), 0], 0, atol=1e-12)
    assert np.allclose(np.hypot(*p[mesh.boundary_nodes("hole"), :2].T), a)
    t = mesh.cells[0].connectivity
    d1, d2 = p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]]
    area = 0.5 * np.abs(d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]).sum()
    assert area == pytest.approx(L * W / 4 - np.pi * a**2 / 4, rel=2e-3)  # chords vs arc


def test_hole_is_refined_and_geometry_sliders_change_the_mesh():
    coarse = mesh_plate_with_hole(0.4, 0.2, 0.02, 0.01)
    fine = mesh_plate_with_hole(0.4, 0.2, 0.02, 0.005)
    assert fine.n_points > 2 * coarse.n_points
    assert len(coarse.boundaries["hole"]) >= 12  # an eighth of the radius on the hole edge


def test_bad_geometry_messages():
    with pytest.raises(GeometryError, match="does not fit.*radius must be below 45 mm"):
        mesh_plate_with_hole(0.4, 0.1, 0.07, 0.005)
    with pytest.raises(GeometryError, match="would create about .* elements"):
        mesh_plate_with_hole(1.0, 0.5, 0.02, 0.00005)
    with pytest.raises(GeometryError, match="larger than the plate"):
        mesh_plate_with_hole(0.1, 0.05, 0.01, 0.5)

"""Readable region descriptions of imported parts (#13)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest


def test_region_shapes_read_like_the_geometry():
    """A 40 x 20 x 10 mm block with a 4 mm hole through it and a 3 mm ball cut at a corner."""
    gmsh = pytest.importorskip("gmsh")
    from physapp.core.region_names import region_label, region_shape
    from physapp.geometry.gmsh_session import gmsh_model
    from physapp.io.readers import read_mesh

    path = Path(tempfile.mkdtemp()) / "block.step"
    with gmsh_model("step"):
        box = gmsh.model.occ.addBox(0, 0, 0, 40, 20, 10)
        hole = gmsh.model.occ.addCylinder(20, 10, 0, 0, 0, 10, 4)
        ball = gmsh.model.occ.addSphere(0, 0, 0, 3)
        gmsh.model.occ.cut([(3, box)], [(3, hole), (3, ball)])
        gmsh.model.occ.synchronize()
        gmsh.write(str(path))
    mesh, _ = read_mesh(path, isolate=False)
    shapes = {region_shape(mesh, n) for n in mesh.boundaries}
    assert {"plane x = 0 mm", "plane x = 40 mm", "plane y = 0 mm", "plane y = 20 mm",
            "plane z = 0 mm", "plane z = 10 mm", "cylinder r = 4 mm along z",
            "sphere r = 3 mm", "all faces"} == shapes
    name = next(n for n in mesh.boundaries if region_shape(mesh, n) == "sphere r = 3 mm")
    assert region_label(mesh, name) == f"sphere r = 3 mm  ({name})"  # made-up name: shape first

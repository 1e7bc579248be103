"""Readable region descriptions of imported parts (#13)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
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


BOX = Path(__file__).parents[1] / "data" / "meshes" / "box.msh"  # the unit cube, faces named


@pytest.mark.parametrize(("unit", "far"), [("m", "1 m"), ("mm", "1 mm")])
def test_region_names_read_in_the_unit_the_part_is_shown_in(unit, far):
    """The unit cube of box.msh imported in metres is 1 m wide: its far faces read "plane
    z = 1 m", as the panel's sizes (the file's unit), not "plane z = 1000 mm"; imported in
    millimetres the same file is a 1 mm cube: "plane z = 1 mm". The coordinates are converted
    once (to metres, at import) and shown in the part's unit."""
    from physapp.core.region_names import region_label, region_shape
    from physapp.gui.part_regions import region_rows
    from physapp.io.readers import read_mesh

    mesh, report = read_mesh(BOX, length_unit=unit, isolate=False)
    assert mesh.length_unit == "m" and report.length_unit == unit
    assert np.asarray(mesh.bounds()[1]) == pytest.approx([1.0 if unit == "m" else 1e-3] * 3)
    assert region_shape(mesh, "front", unit) == f"plane z = {far}"
    assert region_shape(mesh, "back", unit) == f"plane z = 0 {unit}"
    assert region_shape(mesh, "top", unit) == f"plane y = {far}"
    assert region_label(mesh, "front", unit=unit) == f"front  (plane z = {far})"
    rows = {r["name"]: r for r in region_rows(mesh, unit)}
    assert rows["front"]["shape"] == f"plane z = {far}"
    # without a unit: millimetres (a part over 2 m in metres)
    assert region_shape(mesh, "front") == ("plane z = 1000 mm" if unit == "m" else
                                           "plane z = 1 mm")

"""CAD files of published benchmarks, written with gmsh's OCC kernel (for tests and examples)."""

from __future__ import annotations

from pathlib import Path

import gmsh

from physapp.geometry.gmsh_session import gmsh_model


def write_le10_step(path: str | Path) -> Path:
    """NAFEMS LE10 thick plate, quarter model, as a STEP file in metres.

    Elliptical ring between (x/2)^2 + y^2 = 1 and (x/3.25)^2 + (y/2.75)^2 = 1 for x, y >= 0,
    thickness 0.6 (z from -0.3 to 0.3), cut at the mid-plane z = 0 so the line EE' on the outer
    face (the z-support of the benchmark) is a CAD edge.
    """
    path = Path(path)
    with gmsh_model("le10"):
        occ = gmsh.model.occ
        outer = occ.addDisk(0, 0, 0, 3.25, 2.75)
        inner = occ.addDisk(0, 0, 0, 2.0, 1.0)
        ring, _ = occ.cut([(2, outer)], [(2, inner)])
        quarter, _ = occ.intersect(ring, [(2, occ.addRectangle(0, 0, 0, 4, 4))])
        up = occ.extrude(quarter, 0, 0, 0.3)
        down = occ.extrude(quarter, 0, 0, -0.3)
        vols = [e for e in up + down if e[0] == 3]
        occ.fragment(vols[:1], vols[1:])
        occ.synchronize()
        gmsh.option.setString("Geometry.OCCTargetUnit", "M")
        gmsh.write(str(path))
    return path

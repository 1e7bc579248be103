"""CAD files of published benchmarks, written with gmsh's OCC kernel (for tests and examples)."""

from __future__ import annotations

from pathlib import Path

import gmsh

from physapp.geometry.gmsh_session import gmsh_model


def write_le10_step(path: str | Path) -> Path:
    """NAFEMS LE10 thick plate, quarter model, as a STEP file (in mm, as STEP files usually are;
    physapp reads it in metres).

    Elliptical ring between (x/2)^2 + y^2 = 1 and (x/3.25)^2 + (y/2.75)^2 = 1 (m) for x, y >= 0,
    thickness 0.6 (z from -0.3 to 0.3), cut at the mid-plane z = 0 so the line EE' on the outer
    face (the z-support of the benchmark) is a CAD edge.
    """
    path = Path(path)
    mm = 1000.0  # gmsh's OCC kernel writes STEP in mm (its unit setting is global to OCC)
    with gmsh_model("le10"):
        occ = gmsh.model.occ
        outer = occ.addDisk(0, 0, 0, 3.25 * mm, 2.75 * mm)
        inner = occ.addDisk(0, 0, 0, 2.0 * mm, 1.0 * mm)
        ring, _ = occ.cut([(2, outer)], [(2, inner)])
        quarter, _ = occ.intersect(ring, [(2, occ.addRectangle(0, 0, 0, 4 * mm, 4 * mm))])
        up = occ.extrude(quarter, 0, 0, 0.3 * mm)
        down = occ.extrude(quarter, 0, 0, -0.3 * mm)
        vols = [e for e in up + down if e[0] == 3]
        occ.fragment(vols[:1], vols[1:])
        occ.synchronize()
        gmsh.write(str(path))
    return path

"""Regenerate the quadratic benchmark meshes (NAFEMS LE1 on tri6/quad8/quad9, Cook's membrane).

Run from the repository root: ``python tests/data/meshes/make_quadratic.py``. gmsh's OCC kernel
places the second-order nodes on the true curves, so the ellipses of LE1 stay curved.
"""

from pathlib import Path

import gmsh

HERE = Path(__file__).parent


def _start(name):
    gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.option.setNumber("Mesh.RandomSeed", 1)
    gmsh.model.add(name)


def _finish(path, order, kind):
    quads = kind != "tri6"
    gmsh.option.setNumber("Mesh.RecombineAll", 1 if quads else 0)
    gmsh.option.setNumber("Mesh.Algorithm", 8 if quads else 6)
    gmsh.option.setNumber("Mesh.SecondOrderIncomplete", 1 if kind == "quad8" else 0)
    gmsh.model.mesh.generate(2)
    gmsh.model.mesh.setOrder(order)
    gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
    gmsh.write(str(path))
    gmsh.finalize()


def le1(kind, size=0.12, size_at_d=0.02):
    _start("le1")
    occ = gmsh.model.occ
    outer = occ.addDisk(0, 0, 0, 3.25, 2.75)
    inner = occ.addDisk(0, 0, 0, 2.0, 1.0)
    box = occ.addRectangle(0, 0, 0, 4, 4)
    ring, _ = occ.cut([(2, outer)], [(2, inner)])
    out, _ = occ.intersect(ring, [(2, box)])
    occ.synchronize()
    groups = {}
    for _, c in gmsh.model.getBoundary(out, oriented=False):
        cx, cy, _ = occ.getCenterOfMass(1, c)
        name = ("x_axis" if abs(cy) < 1e-9 else "y_axis" if abs(cx) < 1e-9 else
                "inner" if (cx / 2.6) ** 2 + (cy / 1.9) ** 2 < 1 else "outer")
        groups.setdefault(name, []).append(c)
    for name, cs in groups.items():
        gmsh.model.addPhysicalGroup(1, cs, name=name)
    gmsh.model.addPhysicalGroup(2, [out[0][1]], name="membrane")
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    for dim, tag in gmsh.model.getEntitiesInBoundingBox(1.99, -0.01, -1, 2.01, 0.01, 1, 0):
        gmsh.model.mesh.setSize([(dim, tag)], size_at_d)
    _finish(HERE / f"le1_{kind}.msh", 2, kind)


def cook(kind, n=12):
    _start("cook")
    geo = gmsh.model.geo
    pts = [geo.addPoint(*xy, 0) for xy in ((0, 0), (48, 44), (48, 60), (0, 44))]
    lines = [geo.addLine(pts[i], pts[(i + 1) % 4]) for i in range(4)]
    surf = geo.addPlaneSurface([geo.addCurveLoop(lines)])
    for ln in lines:
        geo.mesh.setTransfiniteCurve(ln, n + 1)
    geo.mesh.setTransfiniteSurface(surf)
    geo.synchronize()
    for name, ln in (("bottom", lines[0]), ("right", lines[1]), ("top", lines[2]),
                     ("left", lines[3])):
        gmsh.model.addPhysicalGroup(1, [ln], name=name)
    gmsh.model.addPhysicalGroup(2, [surf], name="membrane")
    _finish(HERE / f"cook_{kind}.msh", 2, kind)


if __name__ == "__main__":
    for k in ("tri6", "quad8", "quad9"):
        le1(k)
    cook("quad8")
    cook("tri6")

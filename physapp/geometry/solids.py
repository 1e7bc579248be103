"""Parametric 3D parts for built-in studies (gmsh OCC, linear tetrahedra, HXT mesher).

``mesh_heat_sink``: a base plate with parallel fins; regions ``heated`` (base underside) and
``cooled`` (every other face). ``mesh_l_bracket``: an L-shaped bracket with an inner fillet and a bolt
hole in the horizontal arm; regions ``wall`` (back face of the vertical arm), ``bolt_hole`` and
``free``.
"""

from __future__ import annotations

import math

import gmsh
import numpy as np

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

MAX_TETS = 3_000_000


def _check_size(volume: float, size: float) -> None:
    n_est = 6.0 * volume / size**3
    if n_est > MAX_TETS:
        raise GeometryError(
            f"Element size {size * 1e3:.3g} mm would create about {n_est:,.0f} tetrahedra (limit "
            f"{MAX_TETS:,}). Use at least {(6.0 * volume / MAX_TETS) ** (1 / 3) * 1e3:.2g} mm."
        )


def _mesh_volume(size: float, name_of_face, progress: ProgressFn, cancel: CancelToken,
                 fine: tuple[list[int], float] | None = None) -> MeshData:
    groups: dict[str, list[int]] = {}
    for _, tag in gmsh.model.getEntities(2):
        groups.setdefault(name_of_face(tag), []).append(tag)
    for name, tags in groups.items():
        gmsh.model.addPhysicalGroup(2, tags, name=name)
    gmsh.model.addPhysicalGroup(3, [t for _, t in gmsh.model.getEntities(3)], name="solid")
    gmsh.option.setNumber("Mesh.MeshSizeMax", size)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
    gmsh.option.setNumber("Mesh.Algorithm3D", 10)
    gmsh.option.setNumber("General.NumThreads", 2)
    if fine is not None:
        faces, h = fine
        curves = {abs(c) for f in faces for _, c in gmsh.model.getBoundary([(2, f)], oriented=False)}
        pts = gmsh.model.getBoundary([(1, c) for c in curves], combined=False, oriented=False)
        gmsh.model.mesh.setSize(pts, h)
    cancel.check()
    progress(0.2, "Meshing")
    gmsh.model.mesh.generate(3)
    cancel.check()
    _remove_slivers()
    cancel.check()
    mesh = extract_mesh(3)
    progress(1.0, f"Mesh: {mesh.n_points} nodes, {mesh.n_cells} tetrahedra")
    return mesh


def _min_quality() -> float:
    _, tags, _ = gmsh.model.mesh.getElements(3)
    tags = np.concatenate(tags) if len(tags) else np.zeros(0)
    return float(np.min(gmsh.model.mesh.getElementQualities(tags, "minSICN"))) if len(tags) else 1.0


def _remove_slivers(threshold: float = 1e-3) -> None:
    """HXT (multi-threaded) now and then leaves a flat sliver; gmsh's optimiser removes it."""
    if _min_quality() >= threshold:
        return
    gmsh.model.mesh.optimize("")
    if _min_quality() < threshold:
        gmsh.model.mesh.optimize("Netgen")
    if _min_quality() <= 0.0:
        raise GeometryError("gmsh left inverted or flat tetrahedra; try another element size.")


def check_heat_sink(base_length: float, base_thickness: float, fin_height: float,
                    fin_thickness: float, n_fins: int, size: float, base_width: float) -> None:
    """Raise GeometryError with advice when the fins do not fit or the mesh would be too large."""
    gap = (base_length - n_fins * fin_thickness) / max(n_fins - 1, 1)
    if n_fins < 1 or gap <= 0.2 * fin_thickness:
        raise GeometryError(
            f"{n_fins} fins of {fin_thickness * 1e3:.3g} mm do not fit on a "
            f"{base_length * 1e3:.3g} mm base; use fins thinner than "
            f"{base_length / (1.2 * n_fins) * 1e3:.3g} mm."
        )
    if size > min(fin_thickness, base_thickness) * 1.5:
        raise GeometryError(
            f"Element size {size * 1e3:.3g} mm is coarser than the fins or the base; use at most "
            f"{min(fin_thickness, base_thickness) * 1.5e3:.3g} mm."
        )
    _check_size(base_length * base_width * (base_thickness + fin_height), size)


def mesh_heat_sink(base_length: float, base_width: float, base_thickness: float,
                   fin_height: float, fin_thickness: float, n_fins: int, size: float, *,
                   progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> MeshData:
    """Fins run along y, evenly spaced along x; the base underside is z = 0."""
    check_heat_sink(base_length, base_thickness, fin_height, fin_thickness, n_fins, size, base_width)
    gap = (base_length - n_fins * fin_thickness) / max(n_fins - 1, 1)
    progress(0.0, "Building heat sink")
    with gmsh_model("heat_sink"):
        occ = gmsh.model.occ
        base = occ.addBox(0, 0, 0, base_length, base_width, base_thickness)
        fins = [(3, occ.addBox(i * (fin_thickness + gap), 0, base_thickness, fin_thickness,
                               base_width, fin_height)) for i in range(n_fins)]
        occ.fuse([(3, base)], fins)
        occ.synchronize()
        tol = 1e-6 * base_length

        def name(tag):
            cz = gmsh.model.occ.getCenterOfMass(2, tag)[2]
            return "heated" if abs(cz) < tol else "cooled"

        return _mesh_volume(size, name, progress, cancel)


def check_l_bracket(arm_x: float, arm_z: float, width: float, thickness: float,
                    fillet_radius: float, hole_diameter: float, size: float) -> None:
    """Raise GeometryError with advice when the bracket cannot be built or meshed."""
    hole_x = arm_x - 1.5 * hole_diameter
    if hole_diameter >= 0.8 * width or hole_x - hole_diameter / 2 <= thickness + fillet_radius:
        raise GeometryError(
            f"The bolt hole ({hole_diameter * 1e3:.3g} mm) does not fit in the horizontal arm: "
            f"make it smaller than {min(0.8 * width, (arm_x - thickness - fillet_radius) / 2) * 1e3:.3g} "
            "mm or lengthen the arm."
        )
    if fillet_radius >= min(arm_x, arm_z) - thickness:
        raise GeometryError("The fillet radius must be smaller than the free arm lengths.")
    if thickness >= 0.8 * min(arm_x, arm_z):
        raise GeometryError("The wall thickness must be well below the arm lengths.")
    if size > 1.5 * thickness:
        raise GeometryError(
            f"Element size {size * 1e3:.3g} mm is coarser than the wall; use at most "
            f"{1.5 * thickness * 1e3:.3g} mm."
        )
    _check_size((arm_x + arm_z) * width * thickness, size)


def mesh_l_bracket(arm_x: float, arm_z: float, width: float, thickness: float,
                   fillet_radius: float, hole_diameter: float, size: float, *,
                   progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> MeshData:
    """Horizontal arm along x (z in [0, thickness]), vertical arm along z (x in [0, thickness]),
    both ``width`` deep in y; the bolt hole (axis z) sits 1.5 diameters from the arm's end."""
    check_l_bracket(arm_x, arm_z, width, thickness, fillet_radius, hole_diameter, size)
    hole_x = arm_x - 1.5 * hole_diameter
    progress(0.0, "Building L-bracket")
    with gmsh_model("l_bracket"):
        occ = gmsh.model.occ
        horiz = occ.addBox(0, 0, 0, arm_x, width, thickness)
        vert = occ.addBox(0, 0, 0, thickness, width, arm_z)
        body, _ = occ.fuse([(3, horiz)], [(3, vert)])
        occ.synchronize()
        vol = body[0][1]
        if fillet_radius > 0:
            inner = [c for _, c in gmsh.model.getEntities(1)
                     if _is_inner_edge(c, thickness, width)]
            body = occ.fillet([vol], inner, [fillet_radius])
            occ.synchronize()
            vol = body[0][1]
        hole = occ.addCylinder(hole_x, width / 2, -thickness, 0, 0, 3 * thickness, hole_diameter / 2)
        occ.cut([(3, vol)], [(3, hole)])
        occ.synchronize()
        tol = 1e-7 * max(arm_x, arm_z)
        hole_faces = []

        def name(tag):
            cx, cy, cz = gmsh.model.occ.getCenterOfMass(2, tag)
            if abs(cx) < tol:
                return "wall"
            bb = gmsh.model.getBoundingBox(2, tag)
            if math.hypot(cx - hole_x, cy - width / 2) < hole_diameter and bb[5] - bb[2] > 0.5 * thickness:
                hole_faces.append(tag)
                return "bolt_hole"
            return "free"

        for _, tag in gmsh.model.getEntities(2):
            name(tag)
        fine = (hole_faces, min(size, hole_diameter * math.pi / 16))
        hole_faces_set = set(hole_faces)
        return _mesh_volume(size, lambda t: "bolt_hole" if t in hole_faces_set else name(t),
                            progress, cancel, fine)


def _is_inner_edge(curve: int, t: float, width: float) -> bool:
    cx, cy, cz = gmsh.model.occ.getCenterOfMass(1, curve)
    tol = 1e-6 * max(t, width)
    return (abs(cx - t) < tol and abs(cz - t) < tol and abs(cy - width / 2) < tol
            and gmsh.model.occ.getMass(1, curve) > 0.5 * width)

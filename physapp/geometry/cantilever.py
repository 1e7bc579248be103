"""A rectangular cantilever beam meshed with linear tetrahedra (gmsh OCC box, HXT 3D mesher).

The beam spans ``length`` in x, ``width`` in y and ``height`` in z. Named boundary regions:

``fixed``  x = 0         ``tip``   x = length
``front``  y = 0         ``back``  y = width
``bottom`` z = 0         ``top``   z = height

The domain is the physical volume ``solid``.
"""

from __future__ import annotations

import math
import os

import gmsh

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

#: refuse meshes larger than this (tetrahedron count estimated from volume / size^3)
MAX_ELEMENTS = 5_000_000


def mesh_cantilever(
    length: float = 0.5,
    width: float = 0.05,
    height: float = 0.02,
    size: float = 0.005,
    *,
    threads: int = 2,
    write_to: str | os.PathLike | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> MeshData:
    """Mesh the beam with tetrahedra of about ``size``; optionally write the gmsh ``.msh`` file."""
    for name, v in (("length", length), ("width", width), ("height", height), ("size", size)):
        if not math.isfinite(v) or v <= 0:
            raise GeometryError(f"The cantilever {name} must be positive (got {v:g}).")
    n_est = 6.0 * length * width * height / size**3
    if n_est > MAX_ELEMENTS:
        min_size = (6.0 * length * width * height / MAX_ELEMENTS) ** (1 / 3)
        raise GeometryError(
            f"Element size {size * 1e3:.3g} mm would create about {n_est:,.0f} tetrahedra "
            f"(limit {MAX_ELEMENTS:,}). Use an element size of at least {min_size * 1e3:.2g} mm."
        )
    progress(0.0, "Building cantilever geometry")
    with gmsh_model("cantilever"):
        gmsh.option.setNumber("General.NumThreads", int(threads))
        vol = gmsh.model.occ.addBox(0.0, 0.0, 0.0, length, width, height)
        gmsh.model.occ.synchronize()
        names = {}
        tol = 1e-9 * max(length, width, height)
        for _, tag in gmsh.model.getEntities(2):
            cx, cy, cz = gmsh.model.occ.getCenterOfMass(2, tag)
            if abs(cx) < tol:
                names[tag] = "fixed"
            elif abs(cx - length) < tol:
                names[tag] = "tip"
            elif abs(cy) < tol:
                names[tag] = "front"
            elif abs(cy - width) < tol:
                names[tag] = "back"
            elif abs(cz) < tol:
                names[tag] = "bottom"
            else:
                names[tag] = "top"
        for tag, name in names.items():
            gmsh.model.setPhysicalName(2, gmsh.model.addPhysicalGroup(2, [tag]), name)
        gmsh.model.setPhysicalName(3, gmsh.model.addPhysicalGroup(3, [vol]), "solid")
        gmsh.option.setNumber("Mesh.MeshSizeMin", size)
        gmsh.option.setNumber("Mesh.MeshSizeMax", size)
        gmsh.option.setNumber("Mesh.Algorithm3D", 10)  # HXT (parallel)
        cancel.check()
        progress(0.1, "Meshing")
        gmsh.model.mesh.generate(3)
        cancel.check()
        if write_to is not None:
            gmsh.write(os.fspath(write_to))
        mesh = extract_mesh(3)
    progress(1.0, f"Mesh: {mesh.n_points} nodes, {mesh.n_cells} tetrahedra")
    return mesh

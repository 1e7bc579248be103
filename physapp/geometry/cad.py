"""CAD (STEP, IGES, BREP) and closed surface meshes (STL, OBJ, PLY) to tetrahedral meshes with gmsh.

Every CAD face becomes a boundary region ``face_<n>``, every CAD edge an edge region ``edge_<n>``,
every CAD vertex a point region ``point_<n>`` and every solid a subdomain ``body_<n>``, numbered
by the CAD entity (gmsh's OCC tag of the imported shape), so the names do not depend on the element
size and a set-up stays valid after remeshing. Meshing is deterministic (one thread, fixed seed,
Delaunay): the same file and settings give the same mesh. ``order=2`` makes curved second-order
tetrahedra (nodes on the CAD surfaces); ``refine`` sets a size on chosen faces, edges or points
with a growth rate; ``curvature`` sets elements per full circle on curved surfaces. Multi-body assemblies are fragmented first so that
touching bodies share their interface and the mesh is conforming. Coordinates are returned in
metres: STEP and IGES carry their unit (gmsh converts), BREP and surface meshes are in the unit
the user states (``length_unit``).
"""

from __future__ import annotations

import math
from pathlib import Path

import gmsh

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

CAD_SUFFIXES = {".step": "STEP", ".stp": "STEP", ".iges": "IGES", ".igs": "IGES", ".brep": "BREP"}
SURFACE_SUFFIXES = {".stl": "STL", ".obj": "OBJ", ".ply": "PLY"}
UNIT_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2, "um": 1e-6, "in": 0.0254, "ft": 0.3048}


def _refine(h: float, refine, curvature: float) -> None:
    """Local sizes: ``refine`` items ``{"regions": [names], "size": m, "growth": ratio}``."""
    fields = []
    kinds = {"face": 2, "edge": 1, "point": 0}
    for item in refine or ():
        size = float(item["size"])
        growth = float(item.get("growth", 1.3))
        if size <= 0 or growth <= 1.0:
            raise GeometryError(f"A local size needs size > 0 and a growth rate > 1 (got size "
                                f"{size:g}, growth {growth:g}).")
        by_dim: dict[int, list[int]] = {0: [], 1: [], 2: []}
        for name in item.get("regions", ()):
            kind, _, tag = str(name).rpartition("_")
            if kind not in kinds or not tag.isdigit() or (kinds[kind], int(tag)) not in set(
                    gmsh.model.getEntities(kinds[kind])):
                raise GeometryError(f"Local size: no CAD region named '{name}' (use face_<n>, "
                                    "edge_<n> or point_<n> as listed by physapp info).")
            by_dim[kinds[kind]].append(int(tag))
        dist = gmsh.model.mesh.field.add("Distance")
        gmsh.model.mesh.field.setNumbers(dist, "PointsList", by_dim[0])
        gmsh.model.mesh.field.setNumbers(dist, "CurvesList", by_dim[1])
        gmsh.model.mesh.field.setNumbers(dist, "SurfacesList", by_dim[2])
        gmsh.model.mesh.field.setNumber(dist, "Sampling", 40)
        thr = gmsh.model.mesh.field.add("Threshold")
        gmsh.model.mesh.field.setNumber(thr, "InField", dist)
        gmsh.model.mesh.field.setNumber(thr, "SizeMin", size)
        gmsh.model.mesh.field.setNumber(thr, "SizeMax", h)
        gmsh.model.mesh.field.setNumber(thr, "DistMin", 0.0)
        gmsh.model.mesh.field.setNumber(thr, "DistMax", max(h - size, 0.0) / (growth - 1.0))
        fields.append(thr)
    if fields:
        fmin = gmsh.model.mesh.field.add("Min")
        gmsh.model.mesh.field.setNumbers(fmin, "FieldsList", fields)
        gmsh.model.mesh.field.setAsBackgroundMesh(fmin)
    if curvature:
        gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", float(curvature))


def _finish(size: float | None, progress: ProgressFn, cancel: CancelToken, *, order: int = 1,
            refine=(), curvature: float = 0.0) -> MeshData:
    volumes = gmsh.model.getEntities(3)
    if not volumes:
        raise GeometryError(
            "The file has faces but no solid bodies; physapp meshes solids only. Export the part "
            "as a solid (or close and sew its surfaces in the CAD program)."
        )
    for dim, prefix in ((2, "face"), (1, "edge"), (0, "point")):
        for _, tag in gmsh.model.getEntities(dim):
            gmsh.model.addPhysicalGroup(dim, [tag], name=f"{prefix}_{tag}")
    for _, tag in volumes:
        gmsh.model.addPhysicalGroup(3, [tag], name=f"body_{tag}")
    xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(-1, -1)
    diag = math.dist((xmin, ymin, zmin), (xmax, ymax, zmax))
    h = size if size else diag / 20.0
    if h <= 0 or diag / h > 400:
        raise GeometryError(
            f"Element size {h:g} m is too small for a part of {diag:g} m (over 400 elements "
            "across); choose a larger size."
        )
    if order not in (1, 2):
        raise GeometryError(f"Element order must be 1 or 2 (got {order}).")
    gmsh.option.setNumber("Mesh.MeshSizeMax", h)
    gmsh.option.setNumber("Mesh.MeshSizeMin", 0.0)
    # deterministic: the same file and settings give the same mesh
    gmsh.option.setNumber("Mesh.Algorithm3D", 1)
    gmsh.option.setNumber("General.NumThreads", 1)
    gmsh.option.setNumber("Mesh.RandomSeed", 1)
    _refine(h, refine, curvature)
    cancel.check()
    progress(0.3, f"Meshing {len(volumes)} solid(s), element size {h:.3g} m")
    gmsh.model.mesh.generate(3)
    if order == 2:
        progress(0.8, "Second-order elements on the CAD geometry")
        gmsh.model.mesh.setOrder(2)
    cancel.check()
    return extract_mesh(3)


def mesh_cad(path: str | Path, size: float | None = None, *, length_unit: str = "mm",
             order: int = 1, refine=(), curvature: float = 0.0,
             progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> MeshData:
    """Import a STEP/IGES/BREP file and mesh its solids with tetrahedra of ``size`` (m).

    ``order=2`` gives curved tetra10; ``refine``: local sizes (module docstring); ``curvature``:
    elements per full circle on curved surfaces (0: off)."""
    path = Path(path)
    kind = CAD_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise GeometryError(f"'{path.name}' is not a CAD file (.step, .stp, .iges, .igs, .brep).")
    with gmsh_model("cad"):
        if kind != "BREP":
            gmsh.option.setString("Geometry.OCCTargetUnit", "M")
        progress(0.0, f"Reading {kind} file")
        try:
            shapes = gmsh.model.occ.importShapes(str(path))
        except Exception as exc:  # gmsh raises Exception with its log line
            raise GeometryError(f"gmsh could not read '{path.name}' as {kind}: {exc}") from None
        if not shapes:
            raise GeometryError(
                f"gmsh found no geometry in '{path.name}': it is not a valid {kind} file, or it "
                "is truncated or corrupt. Export it again from the CAD program.")
        if kind == "BREP" and length_unit != "m":
            gmsh.model.occ.dilate(shapes, 0, 0, 0, *([UNIT_TO_M[length_unit]] * 3))
        solids = [s for s in shapes if s[0] == 3]
        if len(solids) > 1:
            gmsh.model.occ.fragment(solids[:1], solids[1:])
        gmsh.model.occ.synchronize()
        cancel.check()
        return _finish(size, progress, cancel, order=order, refine=refine, curvature=curvature)


def _check_triangles(path: Path, pts, tri) -> None:
    """Refuse surfaces gmsh cannot fill (it may loop on them): collapsed or repeated triangles."""
    import numpy as np

    diag = float(np.linalg.norm(np.ptp(pts, axis=0))) if len(pts) else 0.0
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1)
    bad = int(np.sum((area <= 1e-12 * diag**2) | (tri[:, 0] == tri[:, 1]) | (tri[:, 1] == tri[:, 2])
                     | (tri[:, 0] == tri[:, 2])))
    repeated = len(tri) - len(np.unique(np.sort(tri, axis=1), axis=0))
    if not diag > 0 or bad or repeated:
        detail = (f"{bad} triangle(s) of zero area" if bad else
                  f"{repeated} repeated triangle(s)" if repeated else "all its points coincide")
        raise GeometryError(f"The surface in '{path.name}' cannot be filled: {detail}. Repair it "
                            "in a CAD or mesh-repair tool and export again.")


def has_lone_triangle_face(pts, tri, angle: float) -> bool:
    """True when some face of the surface (triangles joined across edges whose normals turn by
    less than ``angle``, as gmsh's classification splits it) is one triangle: gmsh's
    reparametrisation of such a face does not return (a tetrahedron of four triangles)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(tri)
    normal = np.cross(pts[tri[:, 1]] - pts[tri[:, 0]], pts[tri[:, 2]] - pts[tri[:, 0]])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-300)
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(n), 3)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    e, o = edges[order], owner[order]
    pair = np.all(e[1:] == e[:-1], axis=1)  # a closed surface: each edge in exactly two
    t1, t2 = o[:-1][pair], o[1:][pair]
    smooth = np.einsum("ij,ij->i", normal[t1], normal[t2]) > np.cos(angle)
    graph = coo_matrix((np.ones(int(smooth.sum())), (t1[smooth], t2[smooth])), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return bool(np.any(np.bincount(label) == 1))


def _check_self_intersection(path: Path, pts, tri, length_unit: str) -> None:
    """Refuse a surface whose triangles cross each other: gmsh's meshing does not return on it."""
    from physapp.geometry.selfintersect import CheckTooCostly, self_intersections

    try:
        count, where = self_intersections(pts, tri)
    except CheckTooCostly:  # a surface of long slivers: gmsh meshes it under the read's limits
        return
    if count:
        x, y, z = (float(v) / UNIT_TO_M[length_unit] for v in where)
        raise GeometryError(
            f"The surface in '{path.name}' intersects itself: {count} triangle pair"
            f"{'s' if count > 1 else ''} cross, e.g. near ({x:.4g}, {y:.4g}, {z:.4g}) "
            f"{length_unit}. Repair it in a CAD or mesh-repair tool (remove the self-"
            "intersections) and export again.")


def mesh_closed_surface(path: str | Path, size: float | None = None, *, length_unit: str = "mm",
                        progress: ProgressFn = no_progress,
                        cancel: CancelToken = NEVER) -> MeshData:
    """Fill a closed triangulated surface (STL/OBJ/PLY) with tetrahedra.

    The surface is split into faces at sharp edges (40 degrees) so loads can go on them.
    """
    import meshio
    import numpy as np

    path = Path(path)
    try:
        surf = meshio.read(path)
    except (Exception, SystemExit) as exc:  # some meshio readers call sys.exit on bad data
        from physapp.core.errors import read_failure

        raise GeometryError(read_failure(path.name, exc)) from None
    tris = [c.data for c in surf.cells if c.type == "triangle"]
    if not tris:
        raise GeometryError(f"'{path.name}' has no triangles to fill.")
    try:
        tri = np.concatenate(tris).astype(np.int64)
        pts = np.asarray(surf.points, dtype=float)[:, :3] * UNIT_TO_M[length_unit]
    except (OverflowError, ValueError, TypeError, IndexError):
        tri, pts = np.zeros((1, 3), dtype=np.int64), np.zeros((0, 3))  # refused just below
    if tri.ndim != 2 or tri.shape[1] != 3 or pts.ndim != 2 or pts.shape[1] != 3 or tri.min() < 0 or tri.max() >= len(pts) or not np.all(np.isfinite(pts)):
        raise GeometryError(f"'{path.name}' is corrupt: its triangles refer to points that do not "
                            "exist, or its coordinates are not finite numbers.")
    # merge coincident points first (STL stores each triangle's corners separately; a corrupt
    # file may repeat a point under two numbers); then a closed, manifold surface has every
    # edge in exactly two triangles
    with np.errstate(all="ignore"):
        key = np.round(pts / max(np.ptp(pts, axis=0).max(), 1e-300) * 1e9)
        key = np.nan_to_num(key, nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64)
    _, first, remap = np.unique(key, axis=0, return_index=True, return_inverse=True)
    pts, tri = pts[first], remap.ravel()[tri]
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    _check_triangles(path, pts, tri)
    if np.any(counts != 2):
        open_edges, nm = int(np.sum(counts == 1)), int(np.sum(counts > 2))
        raise GeometryError(
            f"The surface in '{path.name}' is not closed ({open_edges} open edges, {nm} "
            "non-manifold edges), so it does not enclose a volume. Close the holes in a CAD or "
            "mesh-repair tool and export again."
        )
    _check_self_intersection(path, pts, tri, length_unit)
    with gmsh_model("surface"):
        progress(0.0, "Classifying the surface")
        tag = gmsh.model.addDiscreteEntity(2)
        node_tags = np.arange(1, len(pts) + 1)
        gmsh.model.mesh.addNodes(2, tag, node_tags, pts.ravel())
        gmsh.model.mesh.addElementsByType(tag, 2, [], (tri + 1).ravel())
        # reparametrised faces mesh best, but gmsh loops on a face of one triangle
        reparametrise = not has_lone_triangle_face(pts, tri, math.radians(40))
        gmsh.model.mesh.classifySurfaces(math.radians(40), True, reparametrise, math.pi)
        gmsh.model.mesh.createGeometry()
        surfaces = [t for _, t in gmsh.model.getEntities(2)]
        loop = gmsh.model.geo.addSurfaceLoop(surfaces)
        gmsh.model.geo.addVolume([loop])
        gmsh.model.geo.synchronize()
        cancel.check()
        return _finish(size, progress, cancel)

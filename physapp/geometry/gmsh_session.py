"""A process-wide lock around gmsh (its API is global state) and gmsh -> MeshData conversion."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

import gmsh
import numpy as np

from physapp.core.errors import GeometryError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import CancelToken, ProgressFn

_LOCK = threading.RLock()

#: gmsh element type -> (meshio name, dimension)
GMSH_TYPES = {1: ("line", 1), 2: ("triangle", 2), 4: ("tetra", 3), 8: ("line3", 1),
              9: ("triangle6", 2), 11: ("tetra10", 3), 3: ("quad", 2), 5: ("hexahedron", 3)}


@contextlib.contextmanager
def gmsh_model(name: str) -> Iterator[None]:
    """Hold the gmsh lock and a fresh model for the duration of the block.

    ``interruptible=False`` lets gmsh run outside the main thread (it installs no signal handler).
    """
    with _LOCK:
        if not gmsh.isInitialized():
            term = signal.getsignal(signal.SIGTERM)
            gmsh.initialize(interruptible=False)
            if threading.current_thread() is threading.main_thread() and term is not None:
                signal.signal(signal.SIGTERM, term)  # OpenCASCADE resets it: keep physapp's
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.clear()
        gmsh.option.restoreDefaults()  # options are global: one mesher's settings must not leak
        gmsh.option.setNumber("General.Terminal", 0)
        # OCC keeps the STEP/IGES unit of the last read or write in a static of its own, which
        # restoreDefaults does not touch: set its default (mm) so a CAD read in metres does not
        # make a later STEP written here declare metres
        gmsh.option.setString("Geometry.OCCTargetUnit", "MM")
        gmsh.model.add(name)
        try:
            yield
        except GeometryError:
            raise
        except Exception as exc:  # gmsh raises plain Exception with its log message
            raise GeometryError(f"gmsh could not build the geometry: {exc}") from exc
        finally:
            gmsh.clear()


def extract_mesh(dim: int, length_unit: str = "m") -> MeshData:
    """Convert the current gmsh model's mesh to MeshData.

    Domain cells are all elements of dimension ``dim``; every physical group of dimension ``dim-1``
    becomes a named boundary region and every physical group of dimension ``dim`` a subdomain.
    Nodes not used by domain cells are dropped.
    """
    tags, coords, _ = gmsh.model.mesh.getNodes()
    coords = coords.reshape(-1, 3)
    index = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    blocks, used, etags = [], [], []
    for etype, (cname, edim) in GMSH_TYPES.items():
        if edim != dim:
            continue
        etag, enodes = gmsh.model.mesh.getElementsByType(etype)
        if len(enodes):
            conn = enodes.astype(np.int64).reshape(-1, _nodes_per(cname))
            if cname == "tetra10":  # gmsh numbers the edge nodes (2,3), (1,3); meshio the reverse
                conn = conn[:, [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]]
            blocks.append((cname, conn))
            used.append(conn.ravel())
            etags.append(np.asarray(etag, dtype=np.int64))
    if not blocks:
        raise GeometryError("gmsh produced no elements; try a smaller element size.")
    used_tags = np.unique(np.concatenate(used))
    index[used_tags] = np.arange(len(used_tags))
    pos = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    pos[tags.astype(np.int64)] = np.arange(len(tags))
    points = coords[pos[used_tags]]
    cells = tuple(CellBlock(n, index[c]) for n, c in blocks)
    boundaries: dict[str, np.ndarray] = {}
    for pdim, ptag in gmsh.model.getPhysicalGroups(dim - 1):
        name = gmsh.model.getPhysicalName(pdim, ptag) or f"boundary_{ptag}"
        facets = []
        for ent in gmsh.model.getEntitiesForPhysicalGroup(pdim, ptag):
            etypes, _, enodes = gmsh.model.mesh.getElements(pdim, ent)
            for et, en in zip(etypes, enodes, strict=True):
                cname = GMSH_TYPES[int(et)][0]
                corner = {"line": 2, "line3": 2, "triangle": 3, "triangle6": 3}[cname]
                facets.append(en.astype(np.int64).reshape(-1, _nodes_per(cname))[:, :corner])
        if facets:
            boundaries[name] = index[np.concatenate(facets)]
    subdomains: dict[str, np.ndarray] = {}
    groups = gmsh.model.getPhysicalGroups(dim)
    if groups:  # element tags -> position in the concatenated domain cells
        offset, where = 0, {}
        for etype, (_, edim) in GMSH_TYPES.items():
            if edim != dim:
                continue
            etags, _ = gmsh.model.mesh.getElementsByType(etype)
            for k, t in enumerate(etags):
                where[int(t)] = offset + k
            offset += len(etags)
        for pdim, ptag in groups:
            name = gmsh.model.getPhysicalName(pdim, ptag) or f"domain_{ptag}"
            ids = []
            for ent in gmsh.model.getEntitiesForPhysicalGroup(pdim, ptag):
                for et, tg in zip(*gmsh.model.mesh.getElements(pdim, ent)[:2], strict=True):
                    if int(et) in GMSH_TYPES:
                        ids += [where[int(t)] for t in tg]
            if ids:
                subdomains[name] = np.asarray(ids, dtype=np.int64)
    edges: dict[str, np.ndarray] = {}
    point_sets: dict[str, np.ndarray] = {}
    for pdim, ptag in gmsh.model.getPhysicalGroups(1) if dim == 3 else ():
        name = gmsh.model.getPhysicalName(pdim, ptag) or f"edge_{ptag}"
        segs = []
        for ent in gmsh.model.getEntitiesForPhysicalGroup(pdim, ptag):
            for et, en in zip(*gmsh.model.mesh.getElements(pdim, ent)[::2], strict=True):
                if int(et) in (1, 8):
                    segs.append(en.astype(np.int64).reshape(-1, 2 if int(et) == 1 else 3)[:, :2])
        if segs and np.all(index[np.concatenate(segs)] >= 0):
            edges[name] = index[np.concatenate(segs)]
    for pdim, ptag in gmsh.model.getPhysicalGroups(0):
        name = gmsh.model.getPhysicalName(pdim, ptag) or f"point_{ptag}"
        nodes = []
        for ent in gmsh.model.getEntitiesForPhysicalGroup(pdim, ptag):
            nt, _, _ = gmsh.model.mesh.getNodes(0, ent)
            nodes += [int(t) for t in nt]
        ids = index[np.asarray(nodes, dtype=np.int64)] if nodes else np.zeros(0, dtype=np.int64)
        if len(ids) and np.all(ids >= 0):
            point_sets[name] = ids
    return MeshData(points, cells, boundaries, subdomains, dim, length_unit, edges, point_sets)


def extract_boundary() -> MeshData:
    """The boundary of the current 2D gmsh model after meshing its curves (``generate(1)``): a
    MeshData whose cells are the boundary segments (``line``), each ordered so that its right-hand
    normal (e_y, -e_x) points out of the domain and sorted by its (smaller, larger) node pair, the
    nodes numbered in gmsh's tag order, and the named boundary regions. These are the boundary
    facets and nodes a full mesh of the same model has (gmsh meshes the curves first). A curve
    shared by two surfaces is inside the domain and left out."""
    tags, coords, _ = gmsh.model.mesh.getNodes()
    coords = coords.reshape(-1, 3)
    pos = np.full(int(tags.max()) + 1, -1, dtype=np.int64)
    pos[tags.astype(np.int64)] = np.arange(len(tags))
    segs, nodes = [], []
    for _, curve in gmsh.model.getEntities(1):
        nodes.append(gmsh.model.mesh.getElementsByType(1, curve)[1].astype(np.int64))
    for _, surf in gmsh.model.getEntities(2):
        own = []
        for _, curve in gmsh.model.getBoundary([(2, surf)], oriented=True):
            e = gmsh.model.mesh.getElementsByType(1, abs(curve))[1].astype(np.int64)
            e = e.reshape(-1, 2)
            own.append(e[:, ::-1] if curve < 0 else e)
        if own:
            own = np.concatenate(own)
            p = coords[pos[own]]
            area = np.sum(p[:, 0, 0] * p[:, 1, 1] - p[:, 1, 0] * p[:, 0, 1])
            segs.append(own[:, ::-1] if area < 0 else own)  # loops counter-clockwise around it
    if not segs:
        raise GeometryError("gmsh produced no boundary; try a smaller element size.")
    segs = np.concatenate(segs)
    key = np.sort(segs, axis=1)
    _, first, inv, cnt = np.unique(key, axis=0, return_index=True, return_inverse=True,
                                   return_counts=True)
    segs = segs[first[cnt == 1]]  # once: on the boundary (sorted by the node pair)
    used = np.unique(np.concatenate(nodes))
    index = np.full(len(pos), -1, dtype=np.int64)
    index[used] = np.arange(len(used))
    boundaries: dict[str, np.ndarray] = {}
    for pdim, ptag in gmsh.model.getPhysicalGroups(1):
        name = gmsh.model.getPhysicalName(pdim, ptag) or f"boundary_{ptag}"
        facets = [gmsh.model.mesh.getElementsByType(1, ent)[1].astype(np.int64).reshape(-1, 2)
                  for ent in gmsh.model.getEntitiesForPhysicalGroup(pdim, ptag)]
        if facets:
            boundaries[name] = index[np.concatenate(facets)]
    return MeshData(coords[pos[used]], (CellBlock("line", index[segs]),), boundaries, {}, 2)


def _nodes_per(cname: str) -> int:
    from physapp.core.mesh import CELL_INFO

    return CELL_INFO[cname][0]


def is_partitioned_msh(path) -> bool:
    """True for a Gmsh MSH 4 file written partitioned (a ``$PartitionedEntities`` section, which
    comes before the nodes, so the head of the file is enough)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4 << 20)
    except OSError:
        return False
    return b"$PartitionedEntities" in head


def unpartition_msh(src, dst) -> int:
    """Merge the partitions of a partitioned Gmsh mesh ``src`` into one mesh written to ``dst``
    (MSH 4.1); returns the number of partitions there were."""
    with gmsh_model("unpartition"):
        gmsh.merge(str(src))
        n = int(gmsh.model.getNumberOfPartitions())
        gmsh.model.mesh.unpartition()
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.Binary", 1)
        gmsh.write(str(dst))
    return n


def threshold_field(curves: list[int], size_min: float, size_max: float, dist_min: float,
                    dist_max: float, *, sampling: int = 300) -> int:
    """A size field: ``size_min`` within ``dist_min`` of ``curves``, growing to ``size_max`` at
    ``dist_max``. Returns its tag (for :func:`background_field`)."""
    field = gmsh.model.mesh.field
    dist = field.add("Distance")
    field.setNumbers(dist, "CurvesList", curves)
    field.setNumber(dist, "Sampling", sampling)
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", dist)
    field.setNumber(thr, "SizeMin", size_min)
    field.setNumber(thr, "SizeMax", size_max)
    field.setNumber(thr, "DistMin", dist_min)
    field.setNumber(thr, "DistMax", dist_max)
    return thr


def background_field(fields: list[int]) -> None:
    """Mesh with the smallest of ``fields`` (sizes from points, boundary and curvature off) and
    the Frontal-Delaunay 2D algorithm."""
    field = gmsh.model.mesh.field
    if len(fields) == 1:
        field.setAsBackgroundMesh(fields[0])
    else:
        mn = field.add("Min")
        field.setNumbers(mn, "FieldsList", fields)
        field.setAsBackgroundMesh(mn)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.Algorithm", 6)


_BOUNDARY_ONLY = threading.local()


@contextlib.contextmanager
def boundary_only() -> Iterator[None]:
    """Within the block (this thread), :func:`generate_triangles` meshes the curves only and
    returns the boundary of the 2D domain (:func:`extract_boundary`): what a morph needs of its
    target geometry, without meshing the interior."""
    old = getattr(_BOUNDARY_ONLY, "on", False)
    _BOUNDARY_ONLY.on = True
    try:
        yield
    finally:
        _BOUNDARY_ONLY.on = old


def generate_triangles(progress: ProgressFn, cancel: CancelToken) -> MeshData:
    """Mesh the 2D model and read it (cancellable before and after gmsh's meshing). Inside
    :func:`boundary_only`, only the boundary curves are meshed and returned."""
    cancel.check()
    progress(0.2, "Meshing")
    if getattr(_BOUNDARY_ONLY, "on", False):
        gmsh.model.mesh.generate(1)
        cancel.check()
        return extract_boundary()
    gmsh.model.mesh.generate(2)
    cancel.check()
    mesh = extract_mesh(2)
    progress(1.0, f"Meshed {mesh.n_cells} triangles")
    return mesh

"""MeshData <-> scikit-fem meshes, and boundary-region lookup (shared by the FE solvers)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import skfem

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData

#: linear cell type -> (skfem mesh class, quadratic mesh class, P1 element, P2 element, corners)
_KINDS = {
    "triangle": (skfem.MeshTri, skfem.MeshTri2, skfem.ElementTriP1, skfem.ElementTriP2, 3),
    "tetra": (skfem.MeshTet, skfem.MeshTet2, skfem.ElementTetP1, skfem.ElementTetP2, 4),
}
_LINEAR = {"triangle6": "triangle", "tetra10": "tetra"}
#: local vertex pairs of the mid-side nodes of triangle6 / tetra10 (meshio order, after corners)
_MID_EDGES = {"triangle": ((0, 1), (1, 2), (0, 2)),
              "tetra": ((0, 1), (1, 2), (0, 2), (0, 3), (1, 3), (2, 3))}
#: a mid-side node further than this (relative to its edge) from the midpoint makes a curved mesh
CURVED_TOL = 1e-8


def fe_kind(mesh: MeshData) -> str:
    types = {_LINEAR.get(b.type, b.type) for b in mesh.cells}
    if len(types) != 1 or not types <= set(_KINDS):
        raise SolverError(
            "The solver needs a mesh of triangles or tetrahedra only (got "
            f"{', '.join(sorted(b.type for b in mesh.cells))}); split it first "
            "(physapp.solvers.simplices.split_to_simplices)."
        )
    orders = {b.type in _LINEAR for b in mesh.cells}
    if len(orders) > 1:
        raise SolverError(
            "The mesh mixes linear and quadratic cells ("
            + ", ".join(sorted(b.type for b in mesh.cells)) + "); export it with one order.")
    return types.pop()


def scalar_element(mesh: MeshData, order: int) -> skfem.Element:
    if order not in (1, 2):
        raise SolverError(f"Element order must be 1 or 2 (got {order}).")
    kind = _KINDS[fe_kind(mesh)]
    return kind[2]() if order == 1 else kind[3]()


@dataclass
class FeMesh:
    """A scikit-fem mesh of the solver's cells and the input mesh in its vertex numbering.

    ``mesh`` holds the corner nodes only (numbered as scikit-fem's vertices) with the boundary
    regions and subdomains of the input; ``vmap`` maps input nodes to vertices (-1: a mid-side
    node); ``curved`` says the quadratic mesh ``m`` keeps mid-side nodes off the straight edges.
    """

    m: skfem.Mesh
    mesh: MeshData
    vmap: np.ndarray
    curved: bool
    #: point region -> (k, 2) vertex pairs of the mid-side nodes it holds (a deck's node set)
    point_mids: dict = field(default_factory=dict)


def prepare(mesh: MeshData, order: int = 1) -> FeMesh:
    """The scikit-fem mesh for a solve at ``order`` (see :class:`FeMesh`).

    Triangle6 / tetra10 input solved at order 2 gives an isoparametric quadratic mesh (MeshTri2 /
    MeshTet2) whose edges follow the file's mid-side nodes when they are off the straight line.
    Raises SolverError for degenerate cells.
    """
    kind = fe_kind(mesh)
    cls1, cls2, _, _, nc = _KINDS[kind]
    full = np.concatenate([np.asarray(b.connectivity) for b in mesh.cells])
    used = np.unique(full[:, :nc])
    vmap = np.full(mesh.n_points, -1, dtype=np.int64)
    vmap[used] = np.arange(len(used))
    t = vmap[full[:, :nc]]
    dim = nc - 1
    p = mesh.points[used, :dim]
    edges = np.stack([p[t[:, k]] - p[t[:, 0]] for k in range(1, nc)], axis=1)  # (n, dim, dim)
    vol = np.linalg.det(edges)
    scale = np.ptp(p, axis=0).max() ** dim
    bad = np.abs(vol) <= 1e-13 * scale
    if np.any(bad):
        raise SolverError(
            f"The mesh has {int(bad.sum())} degenerate (zero-{'area' if dim == 2 else 'volume'}) "
            "cells; remesh or repair the file."
        )
    flip = vol < 0
    t[flip, 1], t[flip, 2] = t[flip, 2], t[flip, 1].copy()
    boundaries = {}
    for name, facets in mesh.boundaries.items():
        f = vmap[np.asarray(facets)[:, :dim]]
        if np.any(f < 0):
            raise SolverError(f"Region '{name}' has nodes that are corners of no cell.")
        boundaries[name] = f
    edges = {}
    for name, segs in mesh.edges.items():
        e = vmap[np.asarray(segs)[:, :2]]
        if np.any(e < 0):
            raise SolverError(f"Edge region '{name}' has nodes that are corners of no cell.")
        edges[name] = e
    point_sets, point_mids = {}, {}
    pair_of = mid_node_pairs(mesh)
    for name, nodes in mesh.point_sets.items():
        nodes = np.asarray(nodes)
        v = vmap[nodes]
        point_sets[name] = v[v >= 0]
        mids = nodes[v < 0]
        if len(mids):
            pairs = pair_of[mids]
            if np.any(pairs < 0):
                raise SolverError(f"Point region '{name}' holds nodes that belong to no cell.")
            point_mids[name] = vmap[pairs]
    lin = MeshData(mesh.points[used], (CellBlock(kind, t),), boundaries, dict(mesh.subdomains),
                   mesh.dim, mesh.length_unit, edges, point_sets)
    m = share_topology(cls1(np.ascontiguousarray(p.T), np.ascontiguousarray(t.T)))
    curved = False
    if order == 2 and full.shape[1] > nc:
        pairs = np.stack([vmap[full[:, [a, b]]] for a, b in _MID_EDGES[kind]], axis=1)
        mids = mesh.points[full[:, nc:], :dim]  # (ne, nedges, dim)
        straight = 0.5 * (p[pairs[..., 0]] + p[pairs[..., 1]])
        length = np.linalg.norm(p[pairs[..., 0]] - p[pairs[..., 1]], axis=-1)
        dev = np.linalg.norm(mids - straight, axis=-1)
        if np.any(dev > CURVED_TOL * length):
            if np.any(dev > 0.5 * length):
                raise SolverError(
                    f"{int(np.sum(np.any(dev > 0.5 * length, axis=1)))} quadratic cell(s) have a "
                    "mid-side node far from its edge (more than half the edge length): the file's "
                    "node order may not be the meshio/VTK one, or the mesh is broken.")
            curved = True
            m = _curved(cls2, m, pairs.reshape(-1, 2), mids.reshape(-1, dim))
    return FeMesh(m, lin, vmap, curved, point_mids)


#: scikit-fem's lazily built topology (and this module's facet keys): the same for every mesh
#: with the same cells, whatever the node positions
_TOPOLOGY_ATTRS = ("_facets", "_t2f", "_f2t", "_edges", "_t2e", "_physapp_facet_keys")
#: a few recent meshes by (class, cells): the designs of a sweep and slider moves morph one
#: reference mesh, so their solves share its topology instead of sorting it again each time
_TOPOLOGY_CACHE: dict[tuple, skfem.Mesh] = {}
_TOPOLOGY_CACHE_SIZE = 2


def share_topology(m: skfem.Mesh) -> skfem.Mesh:
    """Give ``m`` the facets, edges and their maps of an earlier mesh with identical cells (the
    same class and ``t``), computed once; ``m`` becomes that earlier mesh's stand-in. Returns
    ``m``."""
    key = (type(m).__name__, m.t.shape, hash(m.t.tobytes()))
    old = _TOPOLOGY_CACHE.pop(key, None)
    if old is not None and old is not m and np.array_equal(old.t, m.t):
        for name in _TOPOLOGY_ATTRS:
            if name in old.__dict__ and name not in m.__dict__:
                setattr(m, name, old.__dict__[name])
    _TOPOLOGY_CACHE[key] = m  # the newest holds (and extends) what is known
    while len(_TOPOLOGY_CACHE) > _TOPOLOGY_CACHE_SIZE:
        _TOPOLOGY_CACHE.pop(next(iter(_TOPOLOGY_CACHE)))
    return m


def mid_node_pairs(mesh: MeshData) -> np.ndarray:
    """(n_points, 2) the corner nodes of the edge each mid-side node sits on (-1: not one)."""
    out = np.full((mesh.n_points, 2), -1, dtype=np.int64)
    for b in mesh.cells:
        base = _LINEAR.get(b.type)
        if base is None:
            continue
        conn = np.asarray(b.connectivity)
        nc = _KINDS[base][4]
        for k, (a, c) in enumerate(_MID_EDGES[base]):
            out[conn[:, nc + k]] = conn[:, [a, c]]
    return out


def _curved(cls2, m: skfem.Mesh, pairs: np.ndarray, mids: np.ndarray) -> skfem.Mesh:
    """A quadratic scikit-fem mesh of ``m`` whose edge nodes sit at ``mids`` (per vertex pair)."""
    from dataclasses import replace

    M = share_topology(cls2.from_mesh(m))
    nv = m.nvertices
    keys = np.sort(pairs, axis=1) @ np.array([nv, 1])
    ukeys, first = np.unique(keys, return_index=True)
    doflocs = M.doflocs.copy()
    ref = m.refdom.edges if m.dim() == 3 else m.refdom.facets
    for k, (a, b) in enumerate(np.asarray(ref)):
        va, vb = M.t[a], M.t[b]
        q = np.minimum(va, vb) * nv + np.maximum(va, vb)
        pos = np.searchsorted(ukeys, q)
        doflocs[:, M.dofs.element_dofs[len(M.t) + k]] = mids[first[pos]].T
    return share_topology(replace(M, doflocs=doflocs))


def p0_field(m: skfem.Mesh, basis: skfem.CellBasis, per_element: np.ndarray):
    """A per-element value at the quadrature points of ``basis`` (elements x points)."""
    values = np.asarray(per_element, dtype=np.float64)
    return skfem.DiscreteField(np.broadcast_to(values[:, None], (m.nelements, basis.X.shape[-1])))


def to_skfem(mesh: MeshData) -> skfem.Mesh:
    """Linear cells of ``mesh`` as a scikit-fem mesh (vertices only; see :func:`prepare`)."""
    return prepare(mesh, 1).m


def _facet_keys(m: skfem.Mesh) -> tuple[np.ndarray, np.ndarray] | None:
    """Sorted int64 keys of the mesh's facets (sorted vertex tuples) and the facet of each, kept
    on the mesh (and shared by meshes of the same topology, see :func:`prepare`); None when the
    vertex count is too large for an exact key."""
    cached = getattr(m, "_physapp_facet_keys", None)
    if cached is not None:
        return cached
    k, nv = m.facets.shape[0], int(m.nvertices)
    if nv ** k >= 2**62:
        return None
    f = np.sort(m.facets, axis=0).astype(np.int64)
    keys = f[0]
    for row in f[1:]:
        keys = keys * nv + row
    order = np.argsort(keys, kind="stable")
    out = (keys[order], order)
    m._physapp_facet_keys = out
    return out


def region_facets(m: skfem.Mesh, mesh: MeshData, region: str) -> np.ndarray:
    """Indices of skfem facets matching the facets of a named boundary region."""
    if region not in mesh.boundaries:
        known = ", ".join(mesh.boundaries) or "none"
        raise SolverError(f"No boundary region named '{region}' (regions: {known}).")
    k = m.facets.shape[0]
    query = np.sort(np.asarray(mesh.boundaries[region])[:, :k], axis=1)
    sorted_keys = _facet_keys(m)
    if sorted_keys is not None and len(query):
        keys, order = sorted_keys
        nv = int(m.nvertices)
        q = query[:, 0].astype(np.int64)
        for c in range(1, k):
            q = q * nv + query[:, c]
        pos = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
        if np.any((keys[pos] != q) | (query.min(axis=1) < 0) | (query.max(axis=1) >= nv)):
            raise SolverError(f"Region '{region}' has facets that are not on the mesh boundary.")
        return order[pos]
    facets = np.sort(m.facets, axis=0).T
    _, ids = np.unique(np.concatenate([facets, query]), axis=0, return_inverse=True)
    ids = ids.ravel()
    where = np.full(ids.max() + 1, -1, dtype=np.int64)
    where[ids[: len(facets)]] = np.arange(len(facets))
    found = where[ids[len(facets):]]
    if np.any(found < 0):
        raise SolverError(f"Region '{region}' has facets that are not on the mesh boundary.")
    return found


def symmetry_component(points: np.ndarray, facets: np.ndarray, region: str) -> int:
    """The axis (0, 1, 2) normal to the flat boundary region ``facets`` (segments or triangles).

    Raises SolverError when the region is not a plane normal to a coordinate axis.
    """
    facets = np.asarray(facets)
    p = np.asarray(points, dtype=float)
    if facets.shape[1] == 2:
        t = p[facets[:, 1], :2] - p[facets[:, 0], :2]
        n = np.column_stack([-t[:, 1], t[:, 0]])
    else:
        p3 = np.zeros((len(p), 3))
        p3[:, : p.shape[1]] = p
        n = np.cross(p3[facets[:, 1]] - p3[facets[:, 0]], p3[facets[:, 2]] - p3[facets[:, 0]])
    n = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
    axis = int(np.argmax(np.abs(n).sum(axis=0)))
    if len(n) == 0 or np.min(np.abs(n[:, axis])) < 1.0 - 1e-6:
        raise SolverError(
            f"Symmetry region '{region}' is not a plane normal to the x, y or z axis; use a "
            "fixed or per-component support instead."
        )
    return axis


def node_region(mesh: MeshData, region: str) -> str:
    """``"boundary"`` for a region of boundary facets, ``"edge"`` (3D lines), ``"point"``;
    SolverError naming the regions otherwise (subdomains cannot carry supports)."""
    if region in mesh.boundaries:
        return "boundary"
    if region in mesh.edges:
        return "edge"
    if region in mesh.point_sets:
        return "point"
    known = ", ".join([*mesh.boundaries, *mesh.edges, *mesh.point_sets]) or "none"
    raise SolverError(f"No boundary region named '{region}' (nor edge or point region; regions: "
                      f"{known}).")


def edge_numbers(m: skfem.Mesh, segs: np.ndarray) -> np.ndarray:
    """scikit-fem edge indices of vertex pairs ``segs`` (m, 2) of a 3D mesh."""
    nv = m.nvertices
    e = np.sort(m.edges, axis=0)
    keys = e[0].astype(np.int64) * nv + e[1]
    order = np.argsort(keys)
    s = np.sort(np.asarray(segs), axis=1)
    q = s[:, 0] * nv + s[:, 1]
    pos = np.minimum(np.searchsorted(keys[order], q), len(keys) - 1)
    if not np.all(keys[order][pos] == q):
        raise SolverError("An edge region has segments that are not edges of the mesh.")
    return order[pos]


def _mid_dofs(basis, m: skfem.Mesh, pairs: np.ndarray, c: int) -> np.ndarray:
    """DOFs of component ``c`` at the mid-side nodes of vertex ``pairs`` (P2 only)."""
    if m.dim() == 3:
        return basis.edge_dofs[c, edge_numbers(m, pairs)] if basis.edge_dofs.size else \
            np.zeros(0, dtype=np.int64)
    if not basis.facet_dofs.size:
        return np.zeros(0, dtype=np.int64)
    k = m.facets.shape[0]
    facets = np.sort(m.facets, axis=0).T
    query = np.sort(pairs[:, :k], axis=1)
    _, ids = np.unique(np.concatenate([facets, query]), axis=0, return_inverse=True)
    ids = ids.ravel()
    where = np.full(ids.max() + 1, -1, dtype=np.int64)
    where[ids[: len(facets)]] = np.arange(len(facets))
    found = where[ids[len(facets):]]
    if np.any(found < 0):
        raise SolverError("A node set has mid-side nodes of edges that are not in the mesh.")
    return basis.facet_dofs[c, found]


def region_dofs(basis, m: skfem.Mesh, mesh: MeshData, region: str, comp: int | None = None,
                mids: dict | None = None):
    """DOFs of a region of any kind (faces/2D edges, 3D edges, points) for vector component
    ``comp`` (None: a scalar basis). ``mids``: :attr:`FeMesh.point_mids` (node sets holding
    mid-side nodes: at P2 their edge DOFs, at P1 nothing)."""
    kind = node_region(mesh, region)
    if kind == "boundary":
        view = basis.get_dofs(region_facets(m, mesh, region))
        return view.all() if comp is None else view.all(f"u^{comp + 1}")
    c = 0 if comp is None else comp
    if kind == "point":
        dofs = basis.nodal_dofs[c, np.unique(mesh.point_sets[region])]
        if mids and region in mids:
            dofs = np.unique(np.concatenate([dofs, _mid_dofs(basis, m, mids[region], c)]))
        return dofs
    segs = np.asarray(mesh.edges[region])
    out = [basis.nodal_dofs[c, np.unique(segs)]]
    if basis.edge_dofs.size:
        out.append(basis.edge_dofs[c, edge_numbers(m, segs)])
    return np.unique(np.concatenate(out))


def nodal_force_vector(basis, m: skfem.Mesh, mesh: MeshData, region: str, vector,
                       mids: dict | None = None) -> np.ndarray:
    """Load vector of a total force on a point region (equal shares per node, mid-side nodes
    included: at P1 their share goes half to each end of their edge) or a 3D edge region
    (uniform along its length, consistent P1 / P2 shares)."""
    f = np.zeros(basis.N)
    kind = node_region(mesh, region)
    vec = np.zeros(m.dim())
    vec[: min(len(vector), m.dim())] = np.asarray(vector, dtype=float)[: m.dim()]
    if kind == "boundary":
        raise SolverError(f"'{region}' is a face region: give a force on it as a traction or "
                          "a total force ('force' load), not a point force.")
    if kind == "point":
        nodes = np.unique(mesh.point_sets[region])
        pairs = (mids or {}).get(region, np.zeros((0, 2), dtype=np.int64))
        share = vec / (len(nodes) + len(pairs))
        for c in range(m.dim()):
            f[basis.nodal_dofs[c, nodes]] += share[c]
            if len(pairs):
                d = _mid_dofs(basis, m, pairs, c)
                if len(d):
                    np.add.at(f, d, share[c])
                else:  # P1: the mid-side node's share to the ends of its edge
                    for k in (0, 1):
                        np.add.at(f, basis.nodal_dofs[c, pairs[:, k]], 0.5 * share[c])
        return f
    segs = np.asarray(mesh.edges[region])
    p = m.p[:, : m.nvertices] if m.p.shape[1] > m.nvertices else m.p
    length = np.linalg.norm(p[:, segs[:, 1]] - p[:, segs[:, 0]], axis=0)
    total = length.sum()
    if total <= 0:
        raise SolverError(f"Edge region '{region}' has zero length.")
    quadratic = basis.edge_dofs.size > 0
    ends = length / total * (1 / 6 if quadratic else 0.5)
    for c in range(m.dim()):
        for k in (0, 1):
            np.add.at(f, basis.nodal_dofs[c, segs[:, k]], vec[c] * ends)
        if quadratic:
            np.add.at(f, basis.edge_dofs[c, edge_numbers(m, segs)], vec[c] * length / total * 2 / 3)
    return f


def oriented_cells(points: np.ndarray, conn: np.ndarray) -> np.ndarray:
    """Output connectivity (triangle / triangle6 in meshio order) turned counter-clockwise:
    scikit-fem sorts its element nodes, so half its triangles come out clockwise, which files
    read back as inverted cells."""
    conn = np.array(conn, copy=True)
    if conn.shape[1] not in (3, 6):
        return conn
    p = points[:, :2]
    a, b, c = p[conn[:, 0]], p[conn[:, 1]], p[conn[:, 2]]
    neg = ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])) < 0
    perm = [0, 2, 1] if conn.shape[1] == 3 else [0, 2, 1, 5, 4, 3]
    conn[neg] = conn[neg][:, perm]
    return conn

"""Post-processing shared by the flow solvers: nodal output on the P2 node mesh, vorticity, the
stream function, point probes, a surface curve (Cp against x/c) and a vortex centre."""

from __future__ import annotations

import numpy as np
import skfem
from scipy.sparse.linalg import splu
from skfem.helpers import dot, grad

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.solvers.fem_mesh import region_facets

#: reference coordinates of the P2 triangle nodes: vertices, then edges (01), (12), (02)
P2_NODES = np.array([[0.0, 1.0, 0.0, 0.5, 0.5, 0.0], [0.0, 0.0, 1.0, 0.0, 0.5, 0.5]])


def output(m: skfem.MeshTri, sb: skfem.CellBasis, mesh: MeshData, fields: dict,
           order: int) -> tuple[MeshData, dict]:
    """Output mesh and fields: the P2 node mesh (triangle6) of the scalar P2 basis ``sb``, or
    with ``order=1`` its vertices only (triangles; a quarter of the nodes, e.g. for surrogate
    data sets). Regions are the input's."""
    if order == 1:
        n = m.nvertices
        points = np.column_stack([m.p.T, np.zeros(n)])
        out = MeshData(points, (CellBlock("triangle", m.t.T),), mesh.boundaries,
                       mesh.subdomains, 2, mesh.length_unit)
        return out, {k: v[:n] for k, v in fields.items()}
    points = np.column_stack([sb.doflocs.T, np.zeros(sb.N)])
    out = MeshData(points, (CellBlock("triangle6", sb.element_dofs.T),), mesh.boundaries,
                   mesh.subdomains, 2, mesh.length_unit)
    return out, fields


def nodal_gradient(m: skfem.MeshTri, sb: skfem.CellBasis, values: np.ndarray) -> np.ndarray:
    """Gradient (N, 2) of a scalar P2 field at the P2 nodes, averaged over adjacent elements."""
    qb = skfem.Basis(m, skfem.ElementTriP2(), quadrature=(P2_NODES, np.ones(6)))
    g = qb.interpolate(values).grad  # (2, nelems, 6)
    dofs = sb.element_dofs
    count = np.bincount(dofs.ravel(), minlength=sb.N)
    return np.column_stack([np.bincount(dofs.ravel(), np.asarray(g[i]).T.ravel(),
                                        minlength=sb.N) / count for i in (0, 1)])


def p1_to_p2(m: skfem.MeshTri, p: np.ndarray) -> np.ndarray:
    """A P1 field at the P2 nodes (vertices, then edge midpoints in skfem's facet order)."""
    return np.concatenate([p, 0.5 * (p[m.facets[0]] + p[m.facets[1]])])


def stream_function(m: skfem.MeshTri, sb: skfem.CellBasis, ux: np.ndarray, uy: np.ndarray,
                    pin: int) -> np.ndarray:
    """psi with u = d psi/dy, v = -d psi/dx: the least-squares fit of grad psi to (-v, u)
    (exact for a divergence-free field), zero at the P2 node ``pin``."""

    @skfem.BilinearForm
    def lap(u, v, w):
        return dot(grad(u), grad(v))

    @skfem.LinearForm
    def rhs(v, w):
        return -w["uy"] * grad(v)[0] + w["ux"] * grad(v)[1]

    K = lap.assemble(sb)
    f = rhs.assemble(sb, ux=sb.interpolate(ux), uy=sb.interpolate(uy))
    A, b, x, free = skfem.condense(K, f, D=np.array([pin]))
    psi = np.zeros(sb.N)
    psi[free] = splu(A.tocsc()).solve(b)
    return psi


def probe(sb: skfem.CellBasis, values: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Values of a field of basis ``sb`` at ``points`` (k, 2). A point just outside the mesh (on
    a curved wall, which the straight facets cut inside) takes the value at the closest point of
    the mesh boundary; SolverError when that is further than a tenth of the local facet."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    try:
        return sb.probes(pts.T) @ values
    except ValueError:
        pass
    out = np.empty(len(pts))
    for i, p in enumerate(pts):
        try:
            out[i] = (sb.probes(p[:, None]) @ values)[0]
        except ValueError:
            out[i] = (sb.probes(_inside(sb.mesh, p)[:, None]) @ values)[0]
    return out


def _inside(m: skfem.MeshTri, p: np.ndarray) -> np.ndarray:
    """The closest point of the boundary of ``m`` to ``p``, nudged into its element."""
    facets = m.boundary_facets()
    a, b = m.p[:, m.facets[0, facets]].T, m.p[:, m.facets[1, facets]].T
    ab = b - a
    t = np.clip(np.sum((p - a) * ab, axis=1) / np.sum(ab * ab, axis=1), 0.0, 1.0)
    closest = a + t[:, None] * ab
    k = int(np.argmin(np.linalg.norm(closest - p, axis=1)))
    length = float(np.linalg.norm(ab[k]))
    if np.linalg.norm(closest[k] - p) > 0.1 * length:
        raise SolverError(f"The probe point ({p[0]:g}, {p[1]:g}) lies outside the flow domain.")
    centroid = m.p[:, m.t[:, m.f2t[0, facets[k]]]].mean(axis=1)
    return closest[k] + 1e-6 * (centroid - closest[k])


def ordered_loop(mesh: MeshData, region: str, sb: skfem.CellBasis, m: skfem.MeshTri
                 ) -> np.ndarray:
    """P2 node indices of a closed boundary region, in order along it (vertices and midpoints)."""
    facets = region_facets(m, mesh, region)
    ends = m.facets[:, facets].T
    mids = m.nvertices + facets  # scalar P2: facet dofs follow the vertices in facet order
    nxt: dict[int, list[tuple[int, int]]] = {}
    for (a, b), c in zip(ends, mids, strict=True):
        nxt.setdefault(int(a), []).append((int(b), int(c)))
        nxt.setdefault(int(b), []).append((int(a), int(c)))
    start = int(ends[0, 0])
    order, prev, cur = [start], -1, start
    for _ in range(len(facets)):
        options = [o for o in nxt[cur] if o[0] != prev]
        if not options:
            break
        b, c = options[0]
        order += [c, b]
        prev, cur = cur, b
        if cur == start:
            break
    return np.array(order[:-1] if order[-1] == start else order)


def surface_curves(mesh: MeshData, region: str, sb: skfem.CellBasis, m: skfem.MeshTri,
                   values: np.ndarray, x0: float, chord: float) -> dict[str, list]:
    """Upper and lower surface of a closed body as [[x/c, value], ...] from the leading to the
    trailing edge (split at the nodes of smallest and largest x)."""
    loop = ordered_loop(mesh, region, sb, m)
    xy = sb.doflocs[:, loop].T
    i_le, i_te = int(np.argmin(xy[:, 0])), int(np.argmax(xy[:, 0]))
    n = len(loop)
    arc1 = [(i_le + k) % n for k in range((i_te - i_le) % n + 1)]
    arc2 = [(i_le - k) % n for k in range((i_le - i_te) % n + 1)]
    if np.mean(xy[arc1, 1]) < np.mean(xy[arc2, 1]):
        arc1, arc2 = arc2, arc1
    out = {}
    for name, arc in (("upper", arc1), ("lower", arc2)):
        out[name] = [[float((xy[i, 0] - x0) / chord), float(values[loop[i]])] for i in arc]
    return out


def vortex_centre(sb: skfem.CellBasis, psi: np.ndarray, interior: np.ndarray
                  ) -> tuple[float, float, float]:
    """(x, y, psi) at the extremum of the stream function over ``interior`` nodes, refined by a
    least-squares quadratic through the nodes around the extreme node."""
    xy = sb.doflocs.T
    k = interior[np.argmax(np.abs(psi[interior]))]
    d = np.linalg.norm(xy - xy[k], axis=1)
    near = np.argsort(d)[:25]
    dx, dy = (xy[near] - xy[k]).T
    A = np.column_stack([np.ones_like(dx), dx, dy, dx * dx, dx * dy, dy * dy])
    c = np.linalg.lstsq(A, psi[near], rcond=None)[0]
    H = np.array([[2 * c[3], c[4]], [c[4], 2 * c[5]]])
    try:
        step = -np.linalg.solve(H, c[1:3])
    except np.linalg.LinAlgError:
        step = np.zeros(2)
    if np.linalg.norm(step) > d[near].max():  # the fit is not trustworthy: keep the node
        step = np.zeros(2)
    value = c[0] + c[1] * step[0] + c[2] * step[1] + c[3] * step[0] ** 2 \
        + c[4] * step[0] * step[1] + c[5] * step[1] ** 2
    return float(xy[k, 0] + step[0]), float(xy[k, 1] + step[1]), float(value)

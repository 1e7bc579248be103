"""3D linear elasticity on tetrahedra, P1 or P2 (straight-sided), with vectorised numpy assembly.

Input: a ``MeshData`` of ``tetra`` or ``tetra10``. A tetra10 mesh whose mid-side nodes are off the
straight edges is solved at P2 by :mod:`physapp.solvers.isoparametric3d` (curved, scikit-fem);
otherwise only the corner nodes are used and the P2 nodes are re-created at the edge midpoints. DOFs are interleaved per node (``3 * node + component``); the
stiffness is a 3 x 3 block (BSR) matrix, see :mod:`physapp.solvers.assembly3d`. Supports are applied
by zeroing the constrained rows and columns (keeping the diagonal), so the block structure survives
and pyamg aggregates whole nodes. The system is solved by :func:`physapp.solvers.linear.solve_spd`:
directly below a measured size, else SA-AMG (rigid-body modes) preconditioned CG with progress and
cancellation every few iterations.

Outputs at the P``order`` nodes (P2: ``tetra10`` cells in meshio order): displacement, the
strain tensor (``strain``: xx, yy, zz, xy, yz, xz), the six stress components, von Mises and the principal stresses (element-node values averaged over the
elements sharing a node), plus reaction forces per named region in ``stats["reactions"]``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from physapp.core.errors import SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.study import ElasticSetup
from physapp.solvers import assembly3d as a3
from physapp.solvers.elasticity2d import PlaneSolution, check_material
from physapp.solvers.fem_mesh import symmetry_component
from physapp.solvers.linear import rigid_body_modes, solve_spd
from physapp.solvers.wellposed import check_bodies_held

BodyForce3D = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple]

#: relative residual of the CG solve (tip deflection and convergence tests pass with it)
RTOL = 1e-8


def lame(E: float, nu: float) -> tuple[float, float]:
    return E * nu / ((1.0 + nu) * (1.0 - 2.0 * nu)), E / (2.0 * (1.0 + nu))


def _tets(mesh: MeshData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Corner connectivity (compacted), vertex coordinates and input-node -> vertex map (-1)."""
    blocks = [b for b in mesh.cells if b.type in ("tetra", "tetra10")]
    if not blocks or len(blocks) != len(mesh.cells):
        kinds = ", ".join(sorted({b.type for b in mesh.cells}))
        raise SolverError(f"The 3D solver needs a mesh of tetrahedra only (got {kinds}).")
    corners = np.concatenate([b.connectivity[:, :4] for b in blocks])
    used = np.unique(corners)
    vmap = np.full(mesh.n_points, -1, dtype=np.int64)
    vmap[used] = np.arange(len(used))
    return vmap[corners], mesh.points[used], vmap


def _region_tris(mesh: MeshData, vmap: np.ndarray, region: str) -> np.ndarray:
    if region not in mesh.boundaries:
        known = ", ".join(mesh.boundaries) or "none"
        raise SolverError(f"No boundary region named '{region}' (regions: {known}).")
    tris = np.asarray(mesh.boundaries[region])
    if tris.ndim != 2 or tris.shape[1] < 3:
        raise SolverError(f"Region '{region}' is not a set of triangles.")
    t = vmap[tris[:, :3]]
    if np.any(t < 0):
        raise SolverError(f"Region '{region}' has nodes that belong to no tetrahedron.")
    return t


def _area(space: a3.TetSpace, tris: np.ndarray, region: str) -> float:
    p = space.points
    area = 0.5 * np.linalg.norm(np.cross(p[tris[:, 1]] - p[tris[:, 0]],
                                         p[tris[:, 2]] - p[tris[:, 0]]), axis=1).sum()
    if area <= 0.0:
        raise SolverError(f"Region '{region}' has zero area; a force cannot be spread over it.")
    return float(area)


def _surface_load(space: a3.TetSpace, tris: np.ndarray, traction: np.ndarray) -> np.ndarray:
    """Consistent nodal loads of a traction constant on each triangle: traction (m, 3)."""
    p = space.points
    area = 0.5 * np.linalg.norm(np.cross(p[tris[:, 1]] - p[tris[:, 0]],
                                         p[tris[:, 2]] - p[tris[:, 0]]), axis=1)
    fn = space.facet_nodes(tris)
    # P1: a third at each corner; P2 (flat triangle): nothing at the corners, a third per edge node
    share = np.full(3, 1.0 / 3.0) if space.order == 1 else np.r_[0.0, 0.0, 0.0, np.full(3, 1 / 3)]
    f = np.zeros((space.n_nodes, 3))
    for c in range(3):
        w = (area * traction[:, c])[:, None] * share[None, :]
        f[:, c] = np.bincount(fn.ravel(), w.ravel(), minlength=space.n_nodes)
    return f.ravel()


def _outward_normals(space: a3.TetSpace, tris: np.ndarray) -> np.ndarray:
    p = space.points
    n = np.cross(p[tris[:, 1]] - p[tris[:, 0]], p[tris[:, 2]] - p[tris[:, 0]])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    _, opposite = a3.match_faces(space, tris)
    inward = np.einsum("ij,ij->i", p[opposite] - p[tris[:, 0]], n) > 0
    n[inward] *= -1.0
    return n


def _temperature(setup: ElasticSetup, mesh: MeshData, space: a3.TetSpace, vmap: np.ndarray):
    """Temperature rise at all P-order nodes (n_nodes,) and its interpolation order (1 or 2)."""
    th = setup.thermal
    T = np.asarray(th.temperature, dtype=float)
    if T.ndim == 0:
        return np.full(space.n_nodes, float(T) - th.t_ref), 1
    T = T.ravel()
    if len(T) == space.n_nodes and space.order == 2 and len(T) != mesh.n_points:
        return T - th.t_ref, 2
    if len(T) != mesh.n_points:
        raise SolverError(
            f"The temperature array has {len(T)} values; the mesh has {mesh.n_points} nodes."
        )
    Tv = np.empty(len(space.points))
    Tv[vmap[vmap >= 0]] = T[vmap >= 0]
    if space.order == 2:
        Tv = np.r_[Tv, 0.5 * (Tv[space.edges[:, 0]] + Tv[space.edges[:, 1]])]
    if not np.all(np.isfinite(Tv)):
        raise SolverError("The temperature field contains NaN or infinite values.")
    return Tv - th.t_ref, 1


def _region_nodes(space, mesh, vmap, region: str) -> np.ndarray:
    """P-order nodes of a face, edge or point region."""
    if region in mesh.boundaries:
        return np.unique(space.facet_nodes(_region_tris(mesh, vmap, region)))
    if region in mesh.edges:
        segs = vmap[np.asarray(mesh.edges[region])[:, :2]]
        if np.any(segs < 0):
            raise SolverError(f"Edge region '{region}' has nodes that belong to no tetrahedron.")
        nodes = [np.unique(segs)]
        if space.order == 2:
            nodes.append(len(space.points) + space.edge_index(segs))
        return np.unique(np.concatenate(nodes))
    if region in mesh.point_sets:
        corners, pairs = _point_nodes(mesh, vmap, region)
        if space.order == 2 and len(pairs):
            corners = np.r_[corners, len(space.points) + space.edge_index(pairs)]
        return np.unique(corners)
    known = ", ".join([*mesh.boundaries, *mesh.edges, *mesh.point_sets]) or "none"
    raise SolverError(f"No boundary region named '{region}' (nor edge or point region; regions: "
                      f"{known}).")


def _point_nodes(mesh, vmap, region: str) -> tuple[np.ndarray, np.ndarray]:
    """Corner vertices of a point region and the vertex pairs of its mid-side nodes."""
    from physapp.solvers.fem_mesh import mid_node_pairs

    nodes = np.asarray(mesh.point_sets[region])
    v = vmap[nodes]
    pairs = np.zeros((0, 2), dtype=np.int64)
    if np.any(v < 0):
        pairs = mid_node_pairs(mesh)[nodes[v < 0]]
        if np.any(pairs < 0):
            raise SolverError(f"Point region '{region}' has nodes that belong to no tetrahedron.")
        pairs = vmap[pairs]
    return v[v >= 0], pairs


def _constrained(space, mesh, vmap, setup) -> tuple[np.ndarray, np.ndarray]:
    """Constrained DOFs (3 * node + component) and their prescribed displacements."""
    dofs, vals = [], []
    for sup in setup.supports:
        comps, values = sup.components, sup.values or (0.0,) * len(sup.components)
        if sup.symmetry:
            if sup.region not in mesh.boundaries:
                raise SolverError(f"A symmetry support needs a flat face; '{sup.region}' is an "
                                  "edge or point region: fix the normal component instead.")
            comps = (symmetry_component(space.points, _region_tris(mesh, vmap, sup.region),
                                        sup.region),)
            values = (0.0,)
        nodes = _region_nodes(space, mesh, vmap, sup.region)
        for c, v in zip(comps, values, strict=True):
            if c not in (0, 1, 2):
                raise SolverError(f"Support on '{sup.region}': component {c} is not 0, 1 or 2.")
            dofs.append(3 * nodes + c)
            vals.append(np.full(len(nodes), float(v)))
    if not dofs:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    cons, first = np.unique(np.concatenate(dofs), return_index=True)
    return cons, np.concatenate(vals)[first]


def _nodal_forces(space, mesh, vmap, setup) -> np.ndarray:
    f = np.zeros((space.n_nodes, 3))
    for nf in setup.nodal_forces:
        vec = np.zeros(3)
        vec[: len(nf.vector)] = np.asarray(nf.vector, dtype=float)[:3]
        if nf.region in mesh.point_sets:
            corners, pairs = _point_nodes(mesh, vmap, nf.region)
            share = vec / (len(corners) + len(pairs))
            np.add.at(f, corners, share)
            if space.order == 2 and len(pairs):
                np.add.at(f, len(space.points) + space.edge_index(pairs), share)
            elif len(pairs):  # P1: a mid-side node's share to the ends of its edge
                for k in (0, 1):
                    np.add.at(f, pairs[:, k], 0.5 * share)
        elif nf.region in mesh.edges:
            segs = vmap[np.asarray(mesh.edges[nf.region])[:, :2]]
            p = space.points
            length = np.linalg.norm(p[segs[:, 1]] - p[segs[:, 0]], axis=1)
            share = length / length.sum()
            end = 0.5 if space.order == 1 else 1.0 / 6.0
            for k in (0, 1):
                np.add.at(f, segs[:, k], np.outer(share * end, vec))
            if space.order == 2:
                np.add.at(f, len(p) + space.edge_index(segs), np.outer(share * 2 / 3, vec))
        else:
            raise SolverError(f"A point force needs a point or edge region; '{nf.region}' is "
                              + ("a face: use a 'force' (total) or traction load on it."
                                 if nf.region in mesh.boundaries else "not a region of the part."))
    return f.ravel()


def _apply_dirichlet(K: sp.bsr_matrix, constrained: np.ndarray) -> sp.bsr_matrix:
    """Copy of K with constrained rows/columns zeroed and their diagonal entries kept."""
    n_nodes = K.shape[0] // 3
    mask = np.zeros(3 * n_nodes, dtype=bool)
    mask[constrained] = True
    mask = mask.reshape(-1, 3)
    A = K.copy()
    rows = np.repeat(np.arange(n_nodes, dtype=np.int32), np.diff(A.indptr))
    touched = np.flatnonzero(mask[rows].any(axis=1) | mask[A.indices].any(axis=1))
    d = A.data[touched]
    rm, cm = mask[rows[touched]], mask[A.indices[touched]]
    diag = rows[touched] == A.indices[touched]
    keep = np.einsum("bii->bi", d).copy()
    d[rm[:, :, None] | cm[:, None, :]] = 0.0
    for c in range(3):
        sel = diag & rm[:, c]
        d[sel, c, c] = keep[sel, c]
    A.data[touched] = d
    return A


def solve_solid(
    mesh: MeshData,
    setup: ElasticSetup,
    *,
    order: int = 2,
    body_force: BodyForce3D | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
    rtol: float = RTOL,
) -> PlaneSolution:
    """Assemble and solve 3D linear elasticity; nodal fields on the P``order`` node mesh.

    ``body_force`` is an optional callable ``(x, y, z) -> (fx, fy, fz)`` (N/m^3) added to the
    constant ``setup.body_force``. The returned ``basis`` is ``None`` (own assembly); use
    :func:`l2_error` for error norms.
    """
    if order not in (1, 2):
        raise SolverError(f"Element order must be 1 or 2 (got {order}).")
    if mesh.dim != 3:
        raise SolverError(f"The 3D solver needs a 3D mesh (got dimension {mesh.dim}).")
    E, nu = setup.material.youngs_modulus, setup.material.poissons_ratio
    check_material(E, nu)
    lam, mu = lame(E, nu)
    if setup.region_materials:  # a material per region: per-element Lame parameters
        from physapp.solvers.elasticity2d import element_materials

        # elements in the input's cell order (tets only here: _tets refuses other cells)
        E_e, nu_e = element_materials(setup, mesh, mesh.n_cells)
        lam, mu = lame(E_e, nu_e)
    if order == 2 and any(b.type == "tetra10" for b in mesh.cells):
        from physapp.solvers.fem_mesh import prepare

        fe = prepare(mesh, 2)
        if fe.curved:  # keep the file's curved edges: isoparametric P2 (scikit-fem)
            from physapp.solvers.isoparametric3d import solve_curved

            return solve_curved(fe, setup, lam, mu, body_force=body_force, progress=progress,
                                cancel=cancel, rtol=rtol)
    t0 = time.perf_counter()
    progress(0.0, "Assembling stiffness")
    tets, points, vmap = _tets(mesh)
    space = a3.build_space(points, tets, order)
    cancel.check()
    # validate every region before the expensive work
    for item in (*setup.tractions, *setup.pressures):
        _region_tris(mesh, vmap, item.region)
    constrained, prescribed = _constrained(space, mesh, vmap, setup)
    doflocs = np.repeat(space.node_coords().T, 3, axis=1)
    comp = np.tile(np.arange(3), space.n_nodes)
    modes = rigid_body_modes(doflocs, comp)
    del doflocs
    check_bodies_held(space.node_coords(), space.elem_nodes, np.arange(space.n_dofs) // 3, modes,
                      constrained, 3)
    K = a3.assemble_stiffness(space, lam, mu, cancel=cancel)
    cancel.check()
    progress(0.2, "Assembling loads")
    f = _loads(space, mesh, vmap, setup, body_force, lam, mu)
    t_asm = time.perf_counter() - t0
    cancel.check()
    A = _apply_dirichlet(K, constrained)
    u0 = np.zeros(space.n_dofs)
    u0[constrained] = prescribed
    b = f - K @ u0 if np.any(prescribed) else f.copy()
    b[constrained] = A.diagonal()[constrained] * prescribed
    modes[constrained] = 0.0
    progress(0.25, f"Solving {space.n_dofs - len(constrained)} unknowns")
    t1 = time.perf_counter()
    # P2: a two-level hierarchy with a larger direct coarse solve halves the CG iterations of a
    # three-level one (617k DOF: 44 vs 83) for little extra set-up; see benchmarks/solver_scaling
    u, stats = solve_spd(A, b, modes, dim=3, rtol=rtol, max_coarse=3000 if order == 2 else 1000,
                         progress=scaled(progress, 0.25, 0.9), cancel=cancel)
    stats["t_amg"] = stats.get("t_setup", 0.0)
    del A, modes
    u[constrained] = prescribed
    t_solve = time.perf_counter() - t1
    cancel.check()
    progress(0.9, "Recovering stresses")
    t2 = time.perf_counter()
    r = (K @ u - f).reshape(-1, 3)
    reactions = {}
    for name in (*mesh.boundaries, *mesh.edges, *mesh.point_sets):
        try:
            nodes = _region_nodes(space, mesh, vmap, name)
        except SolverError:
            continue
        reactions[name] = tuple(float(v) for v in r[nodes].sum(axis=0))
    del K
    out_mesh, fields = _nodal_fields(space, mesh, vmap, setup, u, lam, mu)
    stats.update(n_dofs=int(space.n_dofs), n_elements=len(space.tets), t_assembly=t_asm,
                 t_solve=t_solve, t_post=time.perf_counter() - t2, order=order,
                 reactions=reactions, reordered_tets=space.flipped)
    progress(1.0, "Done")
    return PlaneSolution(None, u, out_mesh, fields, stats)


def _loads(space, mesh, vmap, setup, body_force, lam, mu) -> np.ndarray:
    f = np.zeros(space.n_dofs)
    for trac in setup.tractions:
        tris = _region_tris(mesh, vmap, trac.region)
        vec = np.zeros(3)
        vec[: len(trac.vector)] = np.asarray(trac.vector, dtype=float)[:3]
        if trac.total:
            vec /= _area(space, tris, trac.region)
        f += _surface_load(space, tris, np.broadcast_to(vec, (len(tris), 3)))
    for pres in setup.pressures:
        tris = _region_tris(mesh, vmap, pres.region)
        f += _surface_load(space, tris, -float(pres.value) * _outward_normals(space, tris))
    const = np.zeros(3)
    if len(setup.body_force):
        const[: len(setup.body_force)] = np.asarray(setup.body_force, dtype=float)[:3]
    if body_force is not None or np.any(const != 0):
        lam_q, w = a3.tet_quadrature(2 * space.order + 2 if body_force is not None else 2)
        N = a3.shape_values(space.order, lam_q)
        vals = np.broadcast_to(const, (len(space.tets), len(w), 3)).copy()
        if body_force is not None:
            x = a3.physical_points(space, lam_q)
            bx, by, bz = body_force(x[..., 0], x[..., 1], x[..., 2])
            vals += np.stack(np.broadcast_arrays(bx, by, bz), axis=-1)
        f += a3.volume_load(space, vals, N, w)
    if setup.thermal is not None:
        dT, torder = _temperature(setup, mesh, space, vmap)
        lam_q, w = a3.tet_quadrature(space.order + torder - 1 if space.order + torder > 2 else 1)
        if torder == 1:
            dTq = np.einsum("qk,ek->eq", lam_q, dT[space.tets])
        else:
            dTq = np.einsum("qa,ea->eq", a3.shape_values(2, lam_q), dT[space.elem_nodes])
        f += a3.thermal_load(space, dTq, w, lam_q, (3 * np.asarray(lam) + 2 * np.asarray(mu))
                             * setup.thermal.alpha)
    if setup.nodal_forces:
        f += _nodal_forces(space, mesh, vmap, setup)
    if not np.all(np.isfinite(f)):
        raise SolverError("The loads contain NaN or infinite values.")
    return f


STRESS_NAMES = ("sigma_xx", "sigma_yy", "sigma_zz", "tau_xy", "tau_yz", "tau_xz")


def _nodal_fields(space, mesh, vmap, setup, u, lam, mu):
    """Displacement and stresses at the P-order nodes (averaged over adjacent elements)."""
    grad = a3.nodal_gradients(space, u)  # (ne, nloc, comp, deriv)
    eps = 0.5 * (grad + grad.transpose(0, 1, 3, 2))
    tr = eps[..., 0, 0] + eps[..., 1, 1] + eps[..., 2, 2]
    if np.ndim(lam):  # per-element material
        lam, mu = np.asarray(lam)[:, None], np.asarray(mu)[:, None]
    iso = lam * tr
    if setup.thermal is not None:
        dT, _ = _temperature(setup, mesh, space, vmap)
        iso = iso - (3 * lam + 2 * mu) * setup.thermal.alpha * dT[space.elem_nodes]
    comps = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)]
    nodes = space.elem_nodes.ravel()
    n = space.n_nodes
    count = np.bincount(nodes, minlength=n)
    sig = {}
    for name, (i, j) in zip(STRESS_NAMES, comps, strict=True):
        local = 2 * mu * eps[..., i, j] + (iso if i == j else 0.0)
        sig[name] = np.bincount(nodes, local.ravel(), minlength=n) / count
    # total strain tensor (xx, yy, zz, xy, yz, xz; tensor shear, not engineering)
    strain = np.column_stack([np.bincount(nodes, eps[..., i, j].ravel(), minlength=n) / count
                              for i, j in comps])
    del grad, eps
    sxx, syy, szz = sig["sigma_xx"], sig["sigma_yy"], sig["sigma_zz"]
    txy, tyz, txz = sig["tau_xy"], sig["tau_yz"], sig["tau_xz"]
    vm = np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2)
                 + 3.0 * (txy**2 + tyz**2 + txz**2))
    S = np.empty((n, 3, 3))
    S[:, 0, 0], S[:, 1, 1], S[:, 2, 2] = sxx, syy, szz
    S[:, 0, 1] = S[:, 1, 0] = txy
    S[:, 1, 2] = S[:, 2, 1] = tyz
    S[:, 0, 2] = S[:, 2, 0] = txz
    ev = np.linalg.eigvalsh(S)  # ascending
    fields = {"displacement": u.reshape(-1, 3).copy(), "strain": strain, **sig, "von_mises": vm,
              "sigma_1": ev[:, 2], "sigma_2": ev[:, 1], "sigma_3": ev[:, 0]}
    # boundary regions on the output nodes (vertex numbering = compacted input vertices)
    boundaries = {k: vmap[np.asarray(v)] for k, v in mesh.boundaries.items()
                  if np.all(vmap[np.asarray(v)] >= 0)}
    cell = "tetra" if space.order == 1 else "tetra10"
    edges = {k: vmap[np.asarray(v)] for k, v in mesh.edges.items()
             if np.all(vmap[np.asarray(v)] >= 0)}
    points = {k: vmap[np.asarray(v)] for k, v in mesh.point_sets.items()
              if np.all(vmap[np.asarray(v)] >= 0)}
    out = MeshData(space.node_coords(), (CellBlock(cell, space.elem_nodes),), boundaries,
                   mesh.subdomains, 3, mesh.length_unit, edges, points)
    return out, fields


def l2_error(solution: PlaneSolution, exact: BodyForce3D, degree: int = 6) -> float:
    """L2 norm of ``u_h - exact`` over the solution's output mesh (its own quadrature)."""
    block = solution.out_mesh.cells[0]
    order = 1 if block.type == "tetra" else 2
    conn = block.connectivity
    space = a3.build_space(solution.out_mesh.points, conn[:, :4], 1)
    if space.flipped:
        raise SolverError("l2_error expects the positively oriented output mesh of solve_solid.")
    lam_q, w = a3.tet_quadrature(degree)
    N = a3.shape_values(order, lam_q)
    U = solution.fields["displacement"][conn]  # (ne, nloc, 3)
    uh = np.einsum("qa,eac->eqc", N, U)
    x = a3.physical_points(space, lam_q)
    ue = np.stack(np.broadcast_arrays(*exact(x[..., 0], x[..., 1], x[..., 2])), axis=-1)
    err = np.einsum("q,eq,e->", w, np.sum((uh - ue) ** 2, axis=-1), space.volume)
    return math.sqrt(err)

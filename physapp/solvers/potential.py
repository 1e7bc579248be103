"""Inviscid potential flow around one body: the stream function with the Kutta condition.

The stream function psi (u = d psi/dy, v = -d psi/dx) of an irrotational incompressible flow
solves Laplace's equation (P2 triangles). On the far field psi is the free stream's,
U (y cos(alpha) - x sin(alpha)); the body is a streamline, psi = C. By linearity
psi = psi_0 + C psi_1 with psi_0 (free stream outside, 0 on the body) and psi_1 (0 outside, 1 on
the body): two solves with one factorisation. The constant C fixes the circulation:

* with a trailing edge (lifting section), the **Kutta condition**: the flow leaves the sharp
  trailing edge smoothly from both sides, i.e. the speeds along the upper and lower surfaces
  are equal just ahead of the edge (at ``KUTTA_RADIUS`` chords; linear in C);
* without one (a cylinder), zero circulation.

The circulation is the flux of grad psi through the body (the residual of the Laplace system at
the body's DOFs); lift follows from Kutta-Joukowski, cl = 2 Gamma / (U c). Pressure from
Bernoulli, Cp = 1 - |u|^2 / U^2, with the velocity from the P2 gradient averaged at the nodes; cd integrates the surface pressure (d'Alembert: zero up to the
discretisation error, reported as a check).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import skfem
from scipy.sparse.linalg import splu
from skfem.helpers import dot, grad

from physapp.core.errors import SolverError
from physapp.core.flow_setup import PotentialFlowSetup
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.solvers import flow_post as post
from physapp.solvers.fem_mesh import region_facets, to_skfem
from physapp.solvers.flow import FIELD_UNITS, KEY_UNITS

#: distance (in chords) ahead of the trailing edge where the Kutta condition equates the speeds
KUTTA_RADIUS = 0.002
#: a lifting section gets a separated-flow warning beyond this suction peak or angle (degrees):
#: an adverse pressure rise from Cp < -3 to the trailing edge separates any real boundary layer
SEPARATION_CP, SEPARATION_ALPHA = -3.0, 10.0


@dataclass
class PotentialSolution:
    basis: skfem.CellBasis
    psi: np.ndarray
    out_mesh: MeshData
    fields: dict[str, np.ndarray]
    stats: dict = field(default_factory=dict)


@skfem.BilinearForm
def _laplace(u, v, w):
    return dot(grad(u), grad(v))


def solve_potential(mesh: MeshData, setup: PotentialFlowSetup, *, order: int = 2,
                    progress: ProgressFn = no_progress,
                    cancel: CancelToken = NEVER) -> PotentialSolution:
    """Solve for the stream function (always P2); nodal output on the P2 nodes, or on the
    vertices only with ``order=1``."""
    if mesh.dim != 2:
        raise SolverError("The potential-flow solver handles 2D meshes only.")
    if not (np.isfinite(setup.u_inf) and setup.u_inf > 0):
        raise SolverError(f"The free-stream speed must be positive (got {setup.u_inf:g} m/s).")
    t0 = time.perf_counter()
    progress(0.0, "Assembling")
    m = to_skfem(mesh)
    sb = skfem.Basis(m, skfem.ElementTriP2(), intorder=2)
    K = _laplace.assemble(sb).tocsr()
    body = sb.get_dofs(region_facets(m, mesh, setup.body)).flatten()
    far = sb.get_dofs(region_facets(m, mesh, setup.far_field)).flatten()
    D = np.union1d(body, far)
    free = np.setdiff1d(np.arange(sb.N), D)
    U, a = setup.u_inf, setup.alpha
    xf, yf = sb.doflocs[:, far]
    psi0 = np.zeros(sb.N)
    psi0[far] = U * (yf * math.cos(a) - xf * math.sin(a))
    psi1 = np.zeros(sb.N)
    psi1[body] = 1.0
    cancel.check()
    t1 = time.perf_counter()
    progress(0.3, f"Solving {len(free)} unknowns")
    lu = splu(K[free][:, free].tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
              options={"SymmetricMode": True})
    for vec in (psi0, psi1):
        vec[free] = lu.solve(-(K[free][:, D] @ vec[D]))
    cancel.check()
    # circulation of each part: flux of grad psi through the body = residual at the body DOFs
    gamma0, gamma1 = (float((K @ v)[body].sum()) for v in (psi0, psi1))
    if setup.trailing_edge is not None:
        c = _kutta_constant(m, mesh, setup, sb, psi0, psi1, KUTTA_RADIUS * setup.chord)
    else:
        c = -gamma0 / gamma1
    psi = psi0 + c * psi1
    gamma = gamma0 + c * gamma1
    t_solve = time.perf_counter() - t1
    progress(0.8, "Post-processing")
    g = post.nodal_gradient(m, sb, psi)
    vel = np.column_stack([g[:, 1], -g[:, 0], np.zeros(sb.N)])
    cp = 1.0 - (vel[:, 0] ** 2 + vel[:, 1] ** 2) / U**2
    q_inf = 0.5 * setup.rho * U**2
    vort = np.zeros(sb.N)
    fields = {"velocity": vel, "pressure": q_inf * cp, "pressure_coefficient": cp,
              "vorticity": vort, "stream_function": psi}
    drag_dir = np.array([math.cos(a), math.sin(a)])
    lift_dir = np.array([-math.sin(a), math.cos(a)])
    force = _pressure_force(m, mesh, setup, psi)  # per unit depth, divided by q_inf
    # Kutta-Joukowski: L = rho U Gamma, with Gamma the clockwise circulation (-flux here)
    cl_kj = -2.0 * gamma / (U * setup.chord)
    kq = {"cl": float(cl_kj), "cd": float(force @ drag_dir / setup.chord),
          "cl_pressure": float(force @ lift_dir / setup.chord),
          "circulation": float(-gamma)}
    stats = {"key_quantities": kq, "key_units": dict(KEY_UNITS, circulation="m^2/s",
                                                     cl_pressure=""),
             "field_units": dict(FIELD_UNITS), "n_dofs": int(sb.N), "n_free": int(len(free)),
             "t_assembly": t1 - t0, "t_solve": t_solve, "newton_iterations": 0,
             "method": "stream function + Kutta condition", "order": order, "element": "P2"}
    cp_min = float(cp[body].min())
    if setup.trailing_edge is not None and (cp_min < SEPARATION_CP
                                            or abs(a) >= math.radians(SEPARATION_ALPHA)):
        stats["warnings"] = [
            f"Potential flow assumes attached flow, but a suction peak of Cp = {cp_min:.2g} at "
            f"alpha = {math.degrees(a):.3g} deg means the real flow separates (the lift is "
            "overestimated); lower the angle or use the Navier-Stokes model."]
    if setup.surface_curve is not None:
        stats["curves"] = {"cp": post.surface_curves(mesh, setup.body, sb, m, cp,
                                                     *setup.surface_curve)}
    progress(1.0, "Done")
    out, fields = post.output(m, sb, mesh, fields, order)
    return PotentialSolution(sb, psi, out, fields, stats)


def _kutta_constant(m, mesh, setup, sb, psi0, psi1, radius) -> float:
    """C for which the flow speeds along the upper and lower surfaces are equal at the surface
    nodes ``radius`` ahead of the trailing edge (both towards the edge): the flow leaves the
    edge smoothly from both sides (linear in C: velocities are linear in psi)."""
    te = np.asarray(setup.trailing_edge, dtype=float)
    loop = post.ordered_loop(mesh, setup.body, sb, m)
    xy = sb.doflocs[:, loop].T
    k_te = int(np.argmin(np.linalg.norm(xy - te, axis=1)))
    n = len(loop)
    speeds = []
    g0, g1 = (post.nodal_gradient(m, sb, v) for v in (psi0, psi1))
    for step in (1, -1):
        k = k_te
        while np.linalg.norm(xy[k] - xy[k_te]) < radius and abs(k - k_te) < n // 4:
            k = (k + step) % n
        nxt = (k - step) % n  # the neighbour towards the trailing edge
        t = xy[nxt] - xy[k]
        t /= np.linalg.norm(t)
        node = loop[k]
        # u = (d psi / dy, -d psi / dx); the speed along t for psi_0 and psi_1
        speeds.append([g[node, 1] * t[0] - g[node, 0] * t[1] for g in (g0, g1)])
    (a0, a1), (b0, b1) = speeds
    if abs(a1 - b1) < 1e-14 * (abs(a1) + abs(b1) + 1e-300):
        raise SolverError("The Kutta condition cannot be set at this trailing edge.")
    return float(-(a0 - b0) / (a1 - b1))


def _pressure_force(m, mesh, setup, psi) -> np.ndarray:
    """Force on the body over q_inf per unit depth: -integral of Cp n over the surface (n out of
    the body), with Cp from the P2 gradient at the facet quadrature points."""
    fb = skfem.FacetBasis(m, skfem.ElementTriP2(), facets=region_facets(m, mesh, setup.body),
                          intorder=6)
    gpsi = fb.interpolate(psi).grad
    speed2 = gpsi[0] ** 2 + gpsi[1] ** 2
    cp = 1.0 - speed2 / setup.u_inf**2
    # skfem's facet normals point out of the fluid domain, i.e. into the body
    n_body = -np.asarray(fb.normals)
    dx = fb.dx
    return np.array([float(np.sum(-cp * n_body[i] * dx)) for i in (0, 1)])

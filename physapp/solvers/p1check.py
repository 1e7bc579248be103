"""Is a P1 elasticity solve trustworthy? Linear triangles and tetrahedra lock in bending: on a mesh
with few elements through the thickness they can be several times too stiff, silently.

:func:`p1_warning` estimates the error of a P1 solution. When a P2 re-solve of the same mesh is
cheap (under :data:`CHEAP_P2_DOFS` unknowns) it is the reference: the error estimate is the
relative difference of the largest displacement. Otherwise a Zienkiewicz-Zhu recovery estimate
(the element stresses against the nodal averaged ones, in the energy norm) stands in. Above
:data:`THRESHOLD` the result carries a warning with the estimate and what to do.
"""

from __future__ import annotations

import numpy as np

#: a P2 re-solve with at most this many unknowns is cheap enough to run as a check
CHEAP_P2_DOFS = 40_000
#: estimated relative errors above this are reported
THRESHOLD = 0.05


def p2_dofs_estimate(n_dofs_p1: int, dim: int) -> int:
    """Unknowns of P2 on the same simplex mesh (about 4x in 2D, 7-8x in 3D)."""
    return int(n_dofs_p1 * (8 if dim == 3 else 4))


def zz_estimate(mesh, fields: dict, lam_mu: tuple[float, float]) -> float:
    """Relative energy-norm error of a P1 solution by stress recovery (0 for a constant stress).

    ``mesh`` is the P1 output mesh (triangles or tetrahedra), ``fields`` its nodal fields with
    ``displacement`` and the averaged stresses.
    """
    lam, mu = lam_mu
    cells = mesh.cells[0].connectivity
    dim = mesh.dim
    p = mesh.points[:, :dim]
    u = np.asarray(fields["displacement"])[:, :dim]
    J = np.stack([p[cells[:, k]] - p[cells[:, 0]] for k in range(1, dim + 1)], axis=2)
    det = np.linalg.det(J)
    vol = np.abs(det) / (2.0 if dim == 2 else 6.0)
    Jinv = np.linalg.inv(J)  # rows: gradients of the barycentric coordinates 1..dim
    G = np.concatenate([-Jinv.sum(axis=1, keepdims=True), Jinv], axis=1)  # (ne, dim+1, dim)
    grad = np.einsum("eac,eax->ecx", u[cells], G)  # du_c / dx_x
    eps = 0.5 * (grad + grad.transpose(0, 2, 1))
    tr = np.trace(eps, axis1=1, axis2=2)
    sig_h = 2 * mu * eps + lam * tr[:, None, None] * np.eye(dim)
    names = (("sigma_xx", "tau_xy"), ("tau_xy", "sigma_yy")) if dim == 2 else (
        ("sigma_xx", "tau_xy", "tau_xz"), ("tau_xy", "sigma_yy", "tau_yz"),
        ("tau_xz", "tau_yz", "sigma_zz"))
    star = np.zeros((len(p), dim, dim))
    for i in range(dim):
        for j in range(dim):
            star[:, i, j] = np.asarray(fields[names[i][j]])
    sig_star = star[cells].mean(axis=1)  # element mean of the recovered (nodal averaged) stress
    diff = sig_star - sig_h
    # complementary energy with the shear modulus (a scale, enough for an estimate)
    err2 = float(np.sum(vol * np.einsum("eij,eij->e", diff, diff)) / (2 * mu))
    energy = float(np.sum(vol * np.einsum("eij,eij->e", sig_h, eps)))
    if energy <= 0:
        return 0.0
    return float(np.sqrt(err2 / (err2 + energy)))


def p1_warning(max_u1: float, max_u2: float | None, zz: float | None) -> tuple[float, str]:
    """(estimated relative error, warning text or "")."""
    if max_u2 is not None and max_u2 > 0:
        err = abs(max_u2 - max_u1) / max_u2
        how = (f"a P2 solve of the same mesh gives a largest displacement of {max_u2:.4g} m "
               f"against {max_u1:.4g} m at P1")
    elif zz is not None:
        err = zz
        how = "estimated by stress recovery (energy norm)"
    else:
        return 0.0, ""
    if err <= THRESHOLD:
        return err, ""
    return err, (f"P1 elements on this mesh are too stiff (about {100 * err:.0f} % error; {how}): "
                 "linear elements lock in bending when there are few through the thickness. "
                 "Solve at order 2 (--order 2, or P2 in Settings) or refine the mesh.")

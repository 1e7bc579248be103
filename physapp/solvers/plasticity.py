"""Finite-strain J2 plasticity with Hencky elasticity (exponential-map return), #22.

Multiplicative split ``F = Fe Fp``; the state at each quadrature point is ``Cp^-1`` (the inverse
plastic right Cauchy-Green tensor) and the equivalent plastic strain ``alpha``. A step from the
last converged state: trial elastic left Cauchy-Green ``be = F Cp^-1 F^T``, its logarithmic
strains ``eps = 1/2 ln(eig be)``, Kirchhoff stress ``tau = K tr(eps) I + 2 mu dev(eps)``
(Hencky), von Mises yield ``|dev tau| <= sqrt(2/3) (sigma_y + H alpha)`` with linear isotropic
hardening, radial return in the principal log-strain space (exact for proportional paths, where
the model reduces to small-strain J2 plasticity in logarithmic strains). First Piola-Kirchhoff
stress ``P = tau F^-T``.

The tangent ``dP/dF`` of the return map from the converged state is formed by central
differences of this (smooth, batched) update in the 9 components of F; it is the algorithmic
(consistent) tangent up to the difference error (~1e-10 relative), so Newton keeps its
quadratic rate. At small strains without yield the model is linear elasticity with the same
Lame constants as the neo-Hookean solid.
"""

from __future__ import annotations

import math

import numpy as np

_SQ23 = math.sqrt(2.0 / 3.0)


class HenckyJ2:
    """The material state on ``shape`` quadrature points and its return map."""

    def __init__(self, lam: float, mu: float, yield_stress: float, hardening: float,
                 shape: tuple[int, ...]) -> None:
        self.lam, self.mu = float(lam), float(mu)
        self.K = self.lam + 2.0 * self.mu / 3.0
        self.sy, self.H = float(yield_stress), float(hardening)
        self.cp_inv = np.broadcast_to(np.eye(3), (*shape, 3, 3)).copy()
        self.alpha = np.zeros(shape)
        self._trial = None

    def update(self, F: np.ndarray):
        """(P, tau, Cp^-1, alpha) at deformation gradients ``F`` from the committed state."""
        be = F @ self.cp_inv @ np.swapaxes(F, -1, -2)
        be = 0.5 * (be + np.swapaxes(be, -1, -2))
        w, V = np.linalg.eigh(be)
        eps = 0.5 * np.log(w)
        tr = eps.sum(-1, keepdims=True)
        dev = eps - tr / 3.0
        s_tr = 2.0 * self.mu * dev
        q = np.linalg.norm(s_tr, axis=-1)
        f = q - _SQ23 * (self.sy + self.H * self.alpha)
        dgamma = np.where(f > 0.0, f / (2.0 * self.mu + 2.0 / 3.0 * self.H), 0.0)
        n = s_tr / np.where(q > 0.0, q, 1.0)[..., None]
        dev_new = dev - dgamma[..., None] * n
        tau_p = self.K * tr + 2.0 * self.mu * dev_new
        Vt = np.swapaxes(V, -1, -2)
        tau = (V * tau_p[..., None, :]) @ Vt
        be_new = (V * np.exp(2.0 * (dev_new + tr / 3.0))[..., None, :]) @ Vt
        Finv = _inv3(F)
        FinvT = np.swapaxes(Finv, -1, -2)
        cp_inv = Finv @ be_new @ FinvT
        P = tau @ FinvT
        return P, tau, cp_inv, self.alpha + _SQ23 * dgamma

    def stress_and_tangent(self, F: np.ndarray, tangent: bool = True, h: float = 1e-6,
                           components=range(9)):
        """P (..., 3, 3) and dP/dF (..., 3, 3, 3, 3) or None; remembers the trial state.
        Only the F components ``components`` (flat k * 3 + L) are differentiated (2D models:
        the in-plane block and F_zz); the other columns of dP/dF are zero."""
        P, tau, cp_inv, alpha = self.update(F)
        self._trial = (cp_inv, alpha, tau)
        if not tangent:
            return P, None
        A = np.zeros((*F.shape[:-2], 3, 3, 3, 3))
        for c in components:
            k, L = divmod(int(c), 3)
            dF = np.zeros((3, 3))
            dF[k, L] = h
            Pp = self.update(F + dF)[0]
            Pm = self.update(F - dF)[0]
            A[..., k, L] = (Pp - Pm) / (2.0 * h)
        return P, A

    def commit(self) -> None:
        """Accept the state of the last evaluation (a converged step)."""
        if self._trial is not None:
            self.cp_inv, self.alpha = self._trial[0].copy(), self._trial[1].copy()

    def snapshot(self):
        return self.cp_inv.copy(), self.alpha.copy()

    def restore(self, snap) -> None:
        self.cp_inv, self.alpha = snap[0].copy(), snap[1].copy()

    def kirchhoff(self) -> np.ndarray:
        return self._trial[2]


def _inv3(F: np.ndarray) -> np.ndarray:
    """Inverses of a stack of 3 x 3 matrices by the adjugate (faster than a batched LU)."""
    a = F
    c00 = a[..., 1, 1] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 1]
    c01 = a[..., 1, 2] * a[..., 2, 0] - a[..., 1, 0] * a[..., 2, 2]
    c02 = a[..., 1, 0] * a[..., 2, 1] - a[..., 1, 1] * a[..., 2, 0]
    det = a[..., 0, 0] * c00 + a[..., 0, 1] * c01 + a[..., 0, 2] * c02
    inv = np.empty_like(a)
    inv[..., 0, 0] = c00
    inv[..., 1, 0] = c01
    inv[..., 2, 0] = c02
    inv[..., 0, 1] = a[..., 0, 2] * a[..., 2, 1] - a[..., 0, 1] * a[..., 2, 2]
    inv[..., 1, 1] = a[..., 0, 0] * a[..., 2, 2] - a[..., 0, 2] * a[..., 2, 0]
    inv[..., 2, 1] = a[..., 0, 1] * a[..., 2, 0] - a[..., 0, 0] * a[..., 2, 1]
    inv[..., 0, 2] = a[..., 0, 1] * a[..., 1, 2] - a[..., 0, 2] * a[..., 1, 1]
    inv[..., 1, 2] = a[..., 0, 2] * a[..., 1, 0] - a[..., 0, 0] * a[..., 1, 2]
    inv[..., 2, 2] = a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    return inv / det[..., None, None]

"""What a large-deformation (hyperelastic) solve needs besides the mesh (#22).

The loads and prescribed displacements of a :class:`HyperelasticSetup` are *reference* values
scaled by one load factor ``lambda``: a support with ``values`` moves its DOFs to
``lambda * values`` (displacement control), a traction or follower pressure is ``lambda`` times
its reference value (load control). The path is followed from ``lambda = 0`` to
``max_load_factor`` by load stepping (with automatic step cutting) or by arc length.
"""

from __future__ import annotations

from dataclasses import dataclass

from physapp.core.study import Material, Support, Traction

CONTROLS = ("load", "arc-length")


@dataclass(frozen=True)
class FollowerPressure:
    """A pressure ``value + gradient . X`` (Pa; X the reference position) acting normal to the
    *deformed* boundary region (positive pushes against the outward normal). A linearly varying
    one on a beam's end face is a follower bending moment. Plane analyses only."""

    region: str
    value: float
    gradient: tuple[float, ...] = ()


@dataclass(frozen=True)
class HyperelasticSetup:
    """Compressible neo-Hookean solid, total-Lagrangian, stepped in one load factor.

    ``analysis``: ``"plane_strain"``, ``"axisymmetric"`` (x = r, y = z, per radian) or ``"3d"``.
    ``material``: the small-strain E and nu give the Lame constants of the neo-Hookean energy
    ``W = mu/2 (I1 - 3) - mu ln J + lam/2 (ln J)^2``. ``control``: ``"load"`` (load/displacement
    stepping with step cutting) or ``"arc-length"`` (Crisfield cylindrical arc length).
    ``reaction``: (region, component) whose support reaction is recorded per step, multiplied by
    ``reaction_scale`` (2 pi turns an axisymmetric per-radian force into the total);
    ``time_scale`` turns the load factor into the step axis value (``time_label``/``time_unit``).
    """

    analysis: str
    material: Material
    supports: tuple[Support, ...]
    tractions: tuple[Traction, ...] = ()
    follower_pressures: tuple[FollowerPressure, ...] = ()
    control: str = "load"
    n_steps: int = 10
    max_load_factor: float = 1.0
    max_steps: int = 200
    reaction: tuple[str, int] | None = None
    reaction_scale: float = 1.0
    time_scale: float = 1.0
    time_label: str = "load factor"
    time_unit: str = "1"
    thickness: float = 1.0

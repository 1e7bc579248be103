"""Physical set-ups of the flow studies (plain data; the solvers are in physapp/solvers).

:class:`NavierStokesSetup` is solved by :func:`physapp.solvers.flow.solve_navier_stokes` (steady
incompressible Navier-Stokes, Taylor-Hood P2/P1), :class:`PotentialFlowSetup` by
:func:`physapp.solvers.potential.solve_potential` (stream function with the Kutta condition).
Both are registered in ``physapp/plugins/builtin.toml`` and dispatched on the class name.
"""

from __future__ import annotations

from dataclasses import dataclass

#: velocity profiles a VelocityBC can impose
PROFILES = ("uniform", "parabolic")


@dataclass(frozen=True)
class VelocityBC:
    """Prescribed velocity on a named boundary region.

    ``value`` is the velocity vector (m/s); with ``profile="parabolic"`` it is the peak of a
    parabola vanishing at both ends of the (straight) region. ``inflow_only=True`` imposes it only
    on the facets where the flow enters (``value . n < 0``; a far-field boundary), the others are
    outflow (do-nothing). Regions not listed are do-nothing outflows (zero normal stress) unless
    they are walls.
    """

    region: str
    value: tuple[float, float]
    profile: str = "uniform"
    inflow_only: bool = False


@dataclass(frozen=True)
class NavierStokesSetup:
    """Steady incompressible flow: rho (u . grad) u = -grad p + mu lap u, div u = 0.

    ``walls`` are no-slip (applied last, so a wall wins at a corner it shares with a lid).
    ``body`` names the region the force coefficients are computed on (volume-integral form, see
    :mod:`physapp.solvers.flow`): c = 2 F / (rho U_ref^2 L_ref), drag along ``drag_direction``,
    lift normal to it (counter-clockwise). ``pressure_points`` give ``pressure_drop`` =
    p(first) - p(second). ``recirculation_from`` = (x, y): length of the reversed-flow region
    along +x from that point (behind a bluff body). ``vortex=True`` locates the extremum of the
    stream function (a cavity's primary vortex). ``lift_direction_sign`` flips the lift.
    """

    nu: float
    velocity: tuple[VelocityBC, ...] = ()
    walls: tuple[str, ...] = ()
    rho: float = 1.0
    analysis: str = "navier-stokes"
    body: str = ""
    u_ref: float = 1.0
    l_ref: float = 1.0
    drag_direction: tuple[float, float] = (1.0, 0.0)
    pressure_points: tuple[tuple[float, float], tuple[float, float]] | None = None
    recirculation_from: tuple[float, float] | None = None
    vortex: bool = False
    #: surface curve to report (Cp against x/c on ``body``): chord start and length
    surface_curve: tuple[float, float] | None = None
    max_iterations: int = 30

    @property
    def reynolds(self) -> float:
        return self.u_ref * self.l_ref / self.nu


@dataclass(frozen=True)
class PotentialFlowSetup:
    """Inviscid incompressible irrotational flow around one body in a far field.

    The stream function solves Laplace's equation with the free stream (speed ``u_inf`` at angle
    ``alpha`` in radians to +x) imposed on ``far_field``; the body is a streamline whose constant
    is set by the Kutta condition at ``trailing_edge`` (None: no circulation, e.g. a cylinder).
    Coefficients use ``chord`` (or any reference length) and ``u_inf``.
    """

    body: str
    far_field: str
    u_inf: float = 1.0
    alpha: float = 0.0
    trailing_edge: tuple[float, float] | None = None
    chord: float = 1.0
    rho: float = 1.0
    analysis: str = "potential"
    #: surface curve to report (Cp against x/c on ``body``): chord start and length
    surface_curve: tuple[float, float] | None = None


@dataclass(frozen=True)
class TransientFlowSetup:
    """Time-dependent incompressible flow from rest: ``flow`` gives the fluid, the boundary
    conditions (held constant in time from t = 0, an impulsive start) and the force coefficients;
    the solve runs to ``t_end`` with a fixed step ``dt`` (see
    :mod:`physapp.solvers.flow_transient`) and stores a frame every ``frame_interval`` seconds
    (0: every step). Drag and lift are computed at every step.

    ``kick`` > 0 rotates the body during the first ``kick_time`` seconds with a surface speed of
    ``kick * u_ref`` (a half-sine pulse): it breaks the symmetry of a symmetric set-up so that
    vortex shedding starts within a few periods instead of growing from round-off. The shedding
    that follows does not depend on it. ``periodic_from`` is the time after which the drag/lift
    maxima and the Strouhal number are evaluated (default: the second half of the run).
    """

    flow: NavierStokesSetup
    t_end: float
    dt: float
    frame_interval: float = 0.0
    kick: float = 0.0
    kick_time: float = 0.0
    periodic_from: float | None = None
    analysis: str = "transient-navier-stokes"

"""Built-in transient study: the Karman vortex street behind a cylinder in a channel (DFG 2D-2).

The channel of :mod:`physapp.studies.cylinder_in_channel` (2.2 x 0.41 m, nu = 1e-3 m^2/s,
rho = 1 kg/m^3, parabolic inflow of mean speed U, peak 1.5 U), solved in time from rest
(:mod:`physapp.solvers.flow_transient`: BDF2, Taylor-Hood P2/P1). The defaults are the DFG 2D-2
benchmark of Schaefer & Turek (1996): U = 1 m/s, D = 0.1 m at (0.2, 0.2) m, Re = 100, with the
published c_D,max in [3.22, 3.24], c_L,max in [0.99, 1.01] and St = f D / U in [0.295, 0.305].

To start the shedding within a few periods instead of waiting for round-off to break the
symmetry, the cylinder turns briefly at the start (a half-sine pulse of surface speed U / 2
over 3 D / U); the periodic flow after it does not depend on it. The result is a history
(velocity, pressure and vorticity over time) with the drag and lift coefficients as curves; the
key quantities (maximum drag and lift, Strouhal number, mean drag) are taken over the last three
lift periods of the run.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.flow_setup import NavierStokesSetup, TransientFlowSetup, VelocityBC
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import FieldSpec, StudySpec
from physapp.core.transient import TimeAxis
from physapp.studies.flow_common import check_cylinder_in_channel

LENGTH, HEIGHT, NU, RHO = 2.2, 0.41, 1e-3, 1.0
#: above this the wake behind a cylinder turns three-dimensional; a 2D model no longer holds
RE_MAX = 200.0
#: frames stored per run (at most; never more than one per step)
FRAMES = 250
MM = {"scale": 1e3, "display_unit": "mm"}
PARAMETERS = (
    ParameterSpec("mean_speed", "Mean inflow speed", "m/s", 0.4, 1.5, 1.0,
                  description="Mean speed U of the parabolic inflow (peak 1.5 U); Re = U D / ν "
                              "with ν = 1e-3 m²/s (the default is Re = 100). Below Re of "
                              "about 45 the wake settles and does not shed."),
    ParameterSpec("diameter", "Cylinder diameter", "m", 0.06, 0.14, 0.1, geometric=True, **MM),
    ParameterSpec("x_position", "Cylinder centre x", "m", 0.15, 0.6, 0.2, geometric=True, **MM),
    ParameterSpec("y_position", "Cylinder centre height", "m", 0.15, 0.26, 0.2, geometric=True,
                  **MM),
    ParameterSpec("t_end", "Time span", "s", 0.5, 10.0, 3.0,
                  description="Simulated time from rest; shedding is periodic after about 1.5 s "
                              "at the defaults (period about 0.33 s)."),
    ParameterSpec("time_step", "Time step", "s", 0.001, 0.02, 0.005, discretization=True,
                  description="BDF2 step; 0.005 s (60 steps per period) keeps drag, lift and "
                              "Strouhal number within 1 % of the benchmark, 0.01 s within 6 %."),
    ParameterSpec("mesh_size", "Element size", "m", 0.025, 0.08, 0.04, geometric=True,
                  discretization=True, **MM),
)
FIELDS = (
    FieldSpec("velocity", "Velocity magnitude", "m/s"),
    FieldSpec("velocity[0]", "Velocity u_x", "m/s"),
    FieldSpec("velocity[1]", "Velocity u_y", "m/s"),
    FieldSpec("pressure", "Pressure", "Pa"),
    FieldSpec("vorticity", "Vorticity", "1/s"),
)


def reynolds(values: Mapping[str, float]) -> float:
    return values["mean_speed"] * values["diameter"] / NU


class KarmanStreetStudy:
    """Vortex shedding behind a cylinder in a channel (transient Navier-Stokes, DFG 2D-2)."""

    #: the time axis: span and step from the sliders; drag and lift over time; a sweep keeps 40
    #: frames per second (>= 5 per shedding period up to 7.5 Hz, for pod-history-phase)
    transient = TimeAxis(t_end_param="t_end", dt_param="time_step",
                         curves=("cl", "cd", "kinetic_energy"), frames_per_unit=40.0)

    spec = StudySpec(
        id="karman-street",
        title="Karman vortex street",
        description="Vortex shedding behind a cylinder in a channel over time (DFG 2D-2 "
                    "benchmark, transient Navier-Stokes).",
        parameters=PARAMETERS,
        fields=FIELDS,
        default_field="vorticity",
        unit_system="SI (m, m/s, Pa, s); ν = 1e-3 m²/s, ρ = 1 kg/m³",
        notes="Starts from rest; parabolic inflow at x = 0, do-nothing outlet at x = 2.2 m. "
              "Drag and lift coefficients 2 F / (ρ U² D) with the mean inflow speed U; "
              "Strouhal number f D / U from the lift frequency; maxima over the last three "
              "lift periods.",
        key_quantities=("cd_max", "cl_max", "strouhal", "cd_mean", "reynolds"),
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        v = self.spec.validate(params)
        return check_cylinder_in_channel(
            v, reynolds(v), RE_MAX,
            "the wake of a cylinder becomes three-dimensional and a 2D model does "
            "not describe it",
            LENGTH, HEIGHT, v["x_position"])

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.flow_domains import mesh_channel_cylinder

        v = self.check(params)
        return mesh_channel_cylinder(LENGTH, HEIGHT, v["x_position"], v["y_position"],
                                     v["diameter"], v["mesh_size"],
                                     cylinder_size=v["mesh_size"] / 5.0, progress=progress,
                                     cancel=cancel)

    def setup(self, params: Mapping[str, float]) -> TransientFlowSetup:
        v = self.spec.validate(params)
        u, d = v["mean_speed"], v["diameter"]
        flow = NavierStokesSetup(
            nu=NU, rho=RHO, velocity=(VelocityBC("inlet", (1.5 * u, 0.0), "parabolic"),),
            walls=("walls", "cylinder"), body="cylinder", u_ref=u, l_ref=d)
        t_end, dt, kick_time = v["t_end"], v["time_step"], 3.0 * d / u
        return TransientFlowSetup(flow, t_end=t_end, dt=dt,
                                  frame_interval=max(dt, t_end / FRAMES), kick=0.5,
                                  kick_time=kick_time,
                                  periodic_from=min(0.5 * t_end, 4.0 * kick_time))

"""Built-in study: the DFG 2D-1 cylinder in a channel (Schaefer & Turek 1996), steady laminar.

Channel 2.2 x 0.41 m, water-like fluid with nu = 1e-3 m^2/s and rho = 1 kg/m^3, parabolic inflow
of mean speed U (peak 1.5 U), no-slip walls and cylinder, do-nothing outlet. The defaults are the
benchmark (U = 0.2 m/s, D = 0.1 m at y = 0.2 m: Re = U D / nu = 20; cd = 5.57954,
cl = 0.010619, pressure drop 0.117520 Pa). The steady flow loses stability to vortex shedding
near Re = 45-50, so the study refuses Re > 45.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.flow_setup import NavierStokesSetup, VelocityBC
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import StudySpec
from physapp.studies.flow_common import FLOW_FIELDS, check_cylinder_in_channel

LENGTH, HEIGHT, X_CENTRE, NU, RHO = 2.2, 0.41, 0.2, 1e-3, 1.0
#: largest Reynolds number of a steady solution the study accepts
RE_MAX = 45.0
MM = {"scale": 1e3, "display_unit": "mm"}
PARAMETERS = (
    ParameterSpec("mean_speed", "Mean inflow speed", "m/s", 0.02, 0.45, 0.2,
                  description="Reynolds number Re = U D / ν with ν = 1e-3 m²/s (the default "
                              "is Re = 20); the steady flow is kept below Re = 45."),
    ParameterSpec("diameter", "Cylinder diameter", "m", 0.06, 0.14, 0.1, geometric=True, **MM),
    ParameterSpec("y_position", "Cylinder centre height", "m", 0.15, 0.26, 0.2, geometric=True,
                  **MM),
    ParameterSpec("mesh_size", "Element size", "m", 0.015, 0.08, 0.04, geometric=True,
                  discretization=True, **MM),
)


def reynolds(values: Mapping[str, float]) -> float:
    return values["mean_speed"] * values["diameter"] / NU


class CylinderInChannelStudy:
    """Steady flow past a cylinder in a channel (Taylor-Hood P2/P1 Navier-Stokes)."""

    spec = StudySpec(
        id="cylinder-in-channel",
        title="Cylinder in a channel",
        description="Steady laminar flow past a cylinder in a channel (DFG 2D-1 benchmark, "
                    "Navier-Stokes).",
        parameters=PARAMETERS,
        fields=FLOW_FIELDS,
        default_field="velocity",
        unit_system="SI (m, m/s, Pa); ν = 1e-3 m²/s, ρ = 1 kg/m³",
        notes="Parabolic inflow at x = 0, do-nothing outlet at x = 2.2 m; drag and lift "
              "coefficients 2 F / (ρ U² D) with the mean inflow speed U; pressure drop "
              "between the front and back of the cylinder; recirculation length behind it.",
        key_quantities=("cd", "cl", "pressure_drop", "recirculation_length", "reynolds"),
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        v = self.spec.validate(params)
        return check_cylinder_in_channel(
            v, reynolds(v), RE_MAX,
            "the flow behind the cylinder sheds vortices and no steady solution is "
            "physical",
            LENGTH, HEIGHT, X_CENTRE)

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.flow_domains import mesh_channel_cylinder

        v = self.check(params)
        return mesh_channel_cylinder(LENGTH, HEIGHT, X_CENTRE, v["y_position"], v["diameter"],
                                     v["mesh_size"], cylinder_size=v["mesh_size"] / 6.0,
                                     progress=progress, cancel=cancel)

    def setup(self, params: Mapping[str, float]) -> NavierStokesSetup:
        v = self.spec.validate(params)
        u, d, yc = v["mean_speed"], v["diameter"], v["y_position"]
        r = d / 2.0
        return NavierStokesSetup(
            nu=NU, rho=RHO, velocity=(VelocityBC("inlet", (1.5 * u, 0.0), "parabolic"),),
            walls=("walls", "cylinder"), body="cylinder", u_ref=u, l_ref=d,
            pressure_points=((X_CENTRE - r, yc), (X_CENTRE + r, yc)),
            recirculation_from=(X_CENTRE + r, yc))

"""Built-in study: the lid-driven cavity (steady laminar Navier-Stokes).

A cavity 1 m wide whose top wall slides at the lid speed; the Reynolds number U W / nu sets the
viscosity. At Re = 100 in a square cavity the primary vortex sits at (0.6172, 0.7344) with
psi = -0.1034 U W (Ghia, Ghia & Shin 1982). Steady solutions exist up to Re ~ 8000 in a square
cavity; the study stops at Re = 1000, where the default mesh still resolves the flow.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.errors import GeometryError, ParameterError
from physapp.core.flow_setup import NavierStokesSetup, VelocityBC
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import StudySpec
from physapp.studies.flow_common import FLOW_FIELDS

WIDTH, RHO = 1.0, 1.0
PARAMETERS = (
    ParameterSpec("reynolds", "Reynolds number", "", 1.0, 1000.0, 100.0,
                  description="Re = U W / nu with the lid speed U and the width W = 1 m."),
    ParameterSpec("aspect_ratio", "Aspect ratio (height / width)", "", 0.5, 2.0, 1.0,
                  geometric=True),
    ParameterSpec("lid_speed", "Lid speed", "m/s", 0.01, 10.0, 1.0),
    ParameterSpec("mesh_size", "Element size", "m", 0.01, 0.1, 0.04, geometric=True,
                  discretization=True, scale=1e3, display_unit="mm"),
)


class LidDrivenCavityStudy:
    """Square or rectangular cavity with a sliding lid."""

    #: at a fixed Reynolds number the flow scales with the lid speed: velocity, vorticity and
    #: stream function ~ U, pressure ~ U^2 (surrogates learn the scaled fields)
    field_scaling = {"velocity": {"powers": {"lid_speed": 1}},
                     "vorticity": {"powers": {"lid_speed": 1}},
                     "stream_function": {"powers": {"lid_speed": 1}},
                     "pressure": {"powers": {"lid_speed": 2}}}

    spec = StudySpec(
        id="lid-driven-cavity",
        title="Lid-driven cavity",
        description="Steady flow in a cavity driven by its sliding lid (Navier-Stokes).",
        parameters=PARAMETERS,
        fields=FLOW_FIELDS,
        default_field="velocity",
        unit_system="SI (m, m/s, Pa); ρ = 1 kg/m³",
        notes="Width 1 m; the lid slides along +x; the other walls are no-slip. Key quantities: "
              "the primary vortex centre and its strength (stream function and vorticity).",
        key_quantities=("vortex_x", "vortex_y", "vortex_psi", "vortex_vorticity"),
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        v = self.spec.validate(params)
        height = v["aspect_ratio"] * WIDTH
        if v["mesh_size"] > 0.25 * min(WIDTH, height):
            raise ParameterError(f"Element size {v['mesh_size']:g} m is too coarse for a "
                                 f"{WIDTH:g} x {height:g} m cavity; use at most "
                                 f"{0.25 * min(WIDTH, height):g} m.")
        return v

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.flow_domains import mesh_cavity

        v = self.check(params)
        try:
            return mesh_cavity(WIDTH, v["aspect_ratio"] * WIDTH, v["mesh_size"],
                               corner_size=v["mesh_size"] / 3.0, progress=progress,
                               cancel=cancel)
        except GeometryError as exc:
            raise ParameterError(str(exc)) from None

    def setup(self, params: Mapping[str, float]) -> NavierStokesSetup:
        v = self.spec.validate(params)
        u = v["lid_speed"]
        return NavierStokesSetup(nu=u * WIDTH / v["reynolds"], rho=RHO,
                                 velocity=(VelocityBC("lid", (u, 0.0)),), walls=("walls",),
                                 u_ref=u, l_ref=WIDTH, vortex=True)

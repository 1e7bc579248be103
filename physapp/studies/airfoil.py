"""Built-in study: a NACA 4-digit section at an angle of attack, potential or laminar flow.

The unit-chord section (leading edge at the origin) sits in a circular far field of 15 chords;
the angle of attack turns the free stream (1 m/s), not the section, so the mesh changes only
with the shape (camber, its position, thickness) and surrogates morph one reference mesh.
Two models:

* ``potential``: inviscid, incompressible, with the Kutta condition (what panel codes give):
  lift from the circulation, drag zero up to the discretisation (shown as a check). It assumes
  attached flow: a strong suction peak gets a warning (the real flow separates).
* ``navier-stokes``: steady laminar flow at a chord Reynolds number up to 2000 (Taylor-Hood
  P2/P1); lift and drag from the volume-integral form of the surface forces.

Key quantities: lift and drag coefficients; the surface pressure coefficient against x/c
(upper and lower surfaces) is in the result's ``curves["cp"]``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from physapp.core.flow_setup import NavierStokesSetup, PotentialFlowSetup, VelocityBC
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import StudySpec
from physapp.studies.flow_common import FLOW_FIELDS

CHORD, U_INF, RHO, FAR_FIELD = 1.0, 1.0, 1.0, 15.0
MODELS = ("potential", "navier-stokes")
PCT = {"scale": 100.0, "display_unit": "% chord"}
PARAMETERS = (
    ParameterSpec("camber", "Maximum camber", "chord", 0.0, 0.095, 0.02, geometric=True, **PCT),
    ParameterSpec("camber_position", "Position of maximum camber", "chord", 0.02, 0.9, 0.4,
                  geometric=True, **PCT),
    ParameterSpec("thickness", "Thickness", "chord", 0.04, 0.3, 0.12, geometric=True, **PCT),
    ParameterSpec("alpha", "Angle of attack", "deg", -8.0, 12.0, 4.0),
    ParameterSpec("model", "Physics", "", 0, 1, 0, choices=MODELS,
                  description="potential: inviscid with the Kutta condition; navier-stokes: "
                              "steady laminar flow at the chord Reynolds number."),
    ParameterSpec("reynolds", "Chord Reynolds number (Navier-Stokes)", "", 50.0, 2000.0, 500.0,
                  description="Re = U c / nu; used by the navier-stokes model only."),
    ParameterSpec("mesh_size", "Element size on the section", "m", 0.004, 0.05, 0.02,
                  geometric=True, discretization=True, scale=1e3, display_unit="mm"),
)


class AirfoilStudy:
    """NACA 4-digit section in a far field: potential flow with the Kutta condition, or steady
    laminar Navier-Stokes."""

    spec = StudySpec(
        id="airfoil",
        title="Airfoil (NACA 4-digit)",
        description="Lift, drag and surface pressure of a NACA 4-digit section: potential flow "
                    "with the Kutta condition, or steady laminar Navier-Stokes (Re <= 2000).",
        parameters=PARAMETERS,
        fields=FLOW_FIELDS,
        default_field="pressure_coefficient",
        unit_system="SI (m, m/s, Pa); chord 1 m, free stream 1 m/s, ρ = 1 kg/m³",
        notes="Unit chord, leading edge at the origin; far field 15 chords away. The angle of "
              "attack turns the free stream. Surface Cp against x/c: result curves['cp'].",
        key_quantities=("cl", "cd"),
    )

    #: fields a surrogate computes from the velocity it predicts instead of learning them
    dependent_field_sources = {"pressure": ("velocity",), "pressure_coefficient": ("velocity",)}

    def dependent_fields(self, arrays: Mapping[str, np.ndarray], rows: Sequence[Mapping[str, float]]
                         ) -> dict[str, np.ndarray]:
        """Pressure and Cp of predicted potential flows from the predicted velocity (batches
        ``arrays``: name -> (m, n[, 3]), one parameter row per design): Bernoulli's
        p = rho/2 (U^2 - |u|^2) with the far field at p = 0 is exact for potential flow (the
        solver's own pressure), so pressure and velocity agree; a regression of the pressure
        itself misses the suction peak that moves with the angle of attack. The std follows
        to first order (d|u|^2 = 2 u.du). Navier-Stokes designs keep the learned fields."""
        u = arrays.get("velocity")
        model = self.spec.parameter("model")
        if u is None or any(model.choice(r.get("model", 0)) != "potential" for r in rows):
            return {}
        q = 0.5 * RHO * U_INF**2
        uv = np.asarray(u, dtype=np.float64)[..., :2]
        cp = 1.0 - (uv**2).sum(-1) / U_INF**2
        su = arrays.get("velocity_std")
        scp = None if su is None else 2.0 * np.sqrt(
            ((uv * np.asarray(su, dtype=np.float64)[..., :2]) ** 2).sum(-1)) / U_INF**2
        out = {}
        for name, scale in (("pressure", q), ("pressure_coefficient", 1.0)):
            if name in arrays:
                out[name] = (scale * cp).astype(np.float32)
                if scp is not None and f"{name}_std" in arrays:
                    out[f"{name}_std"] = (scale * scp).astype(np.float32)
        return out

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        from physapp.geometry.flow_domains import check_naca

        return self.spec.validate(params, lambda v: check_naca(v["camber"], v["camber_position"],
                                                               v["thickness"]))

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.flow_domains import mesh_airfoil

        v = self.check(params)
        return mesh_airfoil(v["camber"], v["camber_position"], v["thickness"], v["mesh_size"],
                            radius=FAR_FIELD, progress=progress, cancel=cancel)

    def setup(self, params: Mapping[str, float]) -> NavierStokesSetup | PotentialFlowSetup:
        v = self.spec.validate(params)
        a = math.radians(v["alpha"])
        stream = (U_INF * math.cos(a), U_INF * math.sin(a))
        if self.spec.parameter("model").choice(v["model"]) == "potential":
            return PotentialFlowSetup("body", "far_field", u_inf=U_INF, alpha=a,
                                      trailing_edge=(CHORD, 0.0), chord=CHORD, rho=RHO,
                                      surface_curve=(0.0, CHORD))
        return NavierStokesSetup(
            nu=U_INF * CHORD / v["reynolds"], rho=RHO,
            velocity=(VelocityBC("far_field", stream, inflow_only=True),), walls=("body",),
            body="body", u_ref=U_INF, l_ref=CHORD, drag_direction=stream,
            surface_curve=(0.0, CHORD))

"""Built-in study: a steel L-bracket bolted to a wall, loaded through a bolt hole (3D elasticity).

The back face of the vertical arm (x = 0) is fixed; the load acts on the bolt hole in the
horizontal arm, in the x-z plane at ``load_angle`` from +x (-90 deg pulls straight down). The
width (y) is 40 mm.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import ElasticSetup, FieldSpec, Material, StudySpec, Support, Traction

WIDTH = 0.04
MM = {"scale": 1e3, "display_unit": "mm"}
PARAMETERS = (
    ParameterSpec("arm_x", "Horizontal arm length", "m", 0.06, 0.2, 0.1, geometric=True, **MM),
    ParameterSpec("arm_z", "Vertical arm length", "m", 0.04, 0.2, 0.08, geometric=True, **MM),
    ParameterSpec("thickness", "Wall thickness", "m", 0.004, 0.025, 0.01, geometric=True, **MM),
    ParameterSpec("fillet_radius", "Fillet radius", "m", 0.0, 0.025, 0.008, geometric=True, **MM),
    ParameterSpec("hole_diameter", "Bolt-hole diameter", "m", 0.004, 0.025, 0.012, geometric=True,
                  **MM),
    ParameterSpec("load", "Load magnitude", "N", 0.0, 50_000.0, 2000.0, scale=1e-3,
                  display_unit="kN"),
    ParameterSpec("load_angle", "Load direction (from +x in x-z)", "deg", -180.0, 180.0, -90.0),
    ParameterSpec("youngs_modulus", "Young's modulus", "Pa", 1e9, 450e9, 210e9, scale=1e-9,
                  display_unit="GPa"),
    ParameterSpec("poissons_ratio", "Poisson's ratio", "", 0.0, 0.49, 0.3),
    ParameterSpec("mesh_size", "Element size", "m", 0.002, 0.02, 0.005, geometric=True, discretization=True, **MM),
)
FIELDS = (
    FieldSpec("von_mises", "von Mises stress", "Pa"),
    FieldSpec("displacement", "Displacement magnitude", "m"),
    FieldSpec("displacement[0]", "Displacement u_x", "m"),
    FieldSpec("displacement[1]", "Displacement u_y", "m"),
    FieldSpec("displacement[2]", "Displacement u_z", "m"),
    FieldSpec("sigma_xx", "Stress sigma_xx", "Pa"),
    FieldSpec("sigma_zz", "Stress sigma_zz", "Pa"),
    FieldSpec("tau_xz", "Shear stress tau_xz", "Pa"),
    FieldSpec("sigma_1", "Max. principal stress sigma_1", "Pa"),
    FieldSpec("sigma_3", "Min. principal stress sigma_3", "Pa"),
)


class LBracketStudy:
    """Steel L-bracket: fillet, thickness, arm lengths, bolt hole and load are parameters."""

    #: linear elasticity and beam bending: deflection ~ load arm^3 / (E thickness^3), stresses ~
    #: load / thickness^2 (see surrogates.scaling); the rest is learned
    field_scaling = {"displacement": {"powers": {"load": 1, "youngs_modulus": -1, "thickness": -3,
                                                 "arm_x": 3}},
                     "sigma_*": {"powers": {"load": 1, "thickness": -2}},
                     "tau_*": {"powers": {"load": 1, "thickness": -2}},
                     "von_mises": {"powers": {"load": 1, "thickness": -2}, "abs": True}}

    spec = StudySpec(
        id="l-bracket",
        title="L-bracket",
        description="Steel L-bracket fixed to a wall and loaded through a bolt hole (3D elasticity).",
        parameters=PARAMETERS,
        fields=FIELDS,
        default_field="von_mises",
        notes="Back face x = 0 fixed; load on the bolt hole surface; width 40 mm.",
        key_quantities=("peak_von_mises", "max_displacement"),
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        from physapp.geometry.solids import check_l_bracket

        return self.spec.validate(params, lambda v: check_l_bracket(
            v["arm_x"], v["arm_z"], WIDTH, v["thickness"], v["fillet_radius"],
            v["hole_diameter"], v["mesh_size"]))

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.solids import mesh_l_bracket

        v = self.check(params)
        return mesh_l_bracket(v["arm_x"], v["arm_z"], WIDTH, v["thickness"], v["fillet_radius"],
                              v["hole_diameter"], v["mesh_size"], progress=progress, cancel=cancel)

    def setup(self, params: Mapping[str, float]) -> ElasticSetup:
        v = self.spec.validate(params)
        angle = math.radians(v["load_angle"])
        force = v["load"]
        return ElasticSetup(
            analysis="3d",
            material=Material(v["youngs_modulus"], v["poissons_ratio"]),
            supports=(Support("wall", (0, 1, 2)),),
            tractions=(Traction("bolt_hole", (force * math.cos(angle), 0.0, force * math.sin(angle)),
                               total=True),),
        )

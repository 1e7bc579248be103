"""Built-in study: a plate with a central hole under uniaxial tension (plane stress).

A quarter of the plate is meshed (two symmetry planes), refined towards the hole. The classic
checks are Kirsch (peak hoop stress 3 S for a small hole) and Heywood's finite-width net-section
stress concentration 2 + (1 - d/W)^3.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import ElasticSetup, FieldSpec, Material, StudySpec, Support, Traction

PARAMETERS = (
    ParameterSpec("radius", "Hole radius", "m", 0.002, 0.08, 0.02, geometric=True,
                  scale=1e3, display_unit="mm"),
    ParameterSpec("width", "Plate width", "m", 0.05, 0.5, 0.2, geometric=True,
                  scale=1e3, display_unit="mm"),
    ParameterSpec("length", "Plate length", "m", 0.1, 1.0, 0.4, geometric=True,
                  scale=1e3, display_unit="mm"),
    ParameterSpec("traction", "Applied traction", "Pa", -500e6, 500e6, 10e6,
                  scale=1e-6, display_unit="MPa"),
    ParameterSpec("youngs_modulus", "Young's modulus", "Pa", 1e9, 450e9, 210e9,
                  scale=1e-9, display_unit="GPa"),
    ParameterSpec("poissons_ratio", "Poisson's ratio", "", 0.0, 0.49, 0.3),
    ParameterSpec("mesh_size", "Element size", "m", 0.0005, 0.05, 0.005, geometric=True, discretization=True,
                  scale=1e3, display_unit="mm"),
)

#: plane-stress fields (also the perforated plate's)
FIELDS = (
    FieldSpec("von_mises", "von Mises stress", "Pa"),
    FieldSpec("displacement", "Displacement magnitude", "m"),
    FieldSpec("displacement[0]", "Displacement u_x", "m"),
    FieldSpec("displacement[1]", "Displacement u_y", "m"),
    FieldSpec("sigma_xx", "Stress sigma_xx", "Pa"),
    FieldSpec("sigma_yy", "Stress sigma_yy", "Pa"),
    FieldSpec("tau_xy", "Shear stress tau_xy", "Pa"),
    FieldSpec("sigma_1", "Max. principal stress sigma_1", "Pa"),
    FieldSpec("sigma_2", "Min. principal stress sigma_2", "Pa"),
)

#: linear elasticity under a traction: displacement ~ traction / E, stresses ~ traction
#: (surrogates.scaling); also the perforated plate's
TENSION_SCALING = {"displacement": {"powers": {"traction": 1, "youngs_modulus": -1}},
                   "sigma_*": {"powers": {"traction": 1}}, "tau_*": {"powers": {"traction": 1}},
                   "von_mises": {"powers": {"traction": 1}, "abs": True}}


class PlateWithHoleStudy:
    """Quarter model of a plate with a hole, pulled along x by a uniform traction."""

    field_scaling = TENSION_SCALING

    spec = StudySpec(
        id="plate-with-hole",
        title="Plate with a hole",
        description="Plate with a central hole under uniaxial tension (2D plane stress, quarter model).",
        parameters=PARAMETERS,
        fields=FIELDS,
        default_field="von_mises",
        notes="Quarter model: symmetry on x = 0 and y = 0; traction on the edge x = length/2.",
        key_quantities=("peak_von_mises", "max_displacement"),
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        from physapp.geometry.plate_with_hole import check_plate  # gmsh only when meshing

        return self.spec.validate(params, lambda v: check_plate(v["length"], v["width"],
                                                                v["radius"], v["mesh_size"]))

    def build_mesh(
        self,
        params: Mapping[str, float],
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> MeshData:
        from physapp.geometry.plate_with_hole import mesh_plate_with_hole

        v = self.check(params)
        return mesh_plate_with_hole(
            v["length"], v["width"], v["radius"], v["mesh_size"], progress=progress, cancel=cancel
        )

    def setup(self, params: Mapping[str, float]) -> ElasticSetup:
        v = self.spec.validate(params)
        return ElasticSetup(
            analysis="plane_stress",
            material=Material(v["youngs_modulus"], v["poissons_ratio"]),
            supports=(Support("symmetry_x", (0,)), Support("symmetry_y", (1,))),
            tractions=(Traction("loaded", (v["traction"], 0.0)),),
        )

"""Built-in study: a thick-walled cylinder under internal pressure (axisymmetric).

A slice of the wall (r from the bore to the outer radius, height ``length``) is modelled with the
axial displacement held on both cut faces, i.e. a long cylinder (plane strain along the axis). The
closed-form Lame solution gives the bore displacement and hoop stress, shown as key quantities.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import ElasticSetup, FieldSpec, Material, Pressure, StudySpec, Support

MM = {"scale": 1e3, "display_unit": "mm"}
PARAMETERS = (
    ParameterSpec("inner_radius", "Bore radius", "m", 0.01, 0.5, 0.1, geometric=True, **MM),
    ParameterSpec("outer_radius", "Outer radius", "m", 0.02, 1.0, 0.2, geometric=True, **MM),
    ParameterSpec("pressure", "Internal pressure", "Pa", 0.0, 1e9, 100e6, scale=1e-6,
                  display_unit="MPa"),
    ParameterSpec("youngs_modulus", "Young's modulus", "Pa", 1e9, 450e9, 200e9, scale=1e-9,
                  display_unit="GPa"),
    ParameterSpec("poissons_ratio", "Poisson's ratio", "", 0.0, 0.49, 0.3),
    ParameterSpec("mesh_size", "Element size", "m", 0.001, 0.1, 0.01, geometric=True, discretization=True, **MM),
)
FIELDS = (
    FieldSpec("von_mises", "von Mises stress", "Pa"),
    FieldSpec("sigma_hoop", "Hoop stress sigma_theta", "Pa"),
    FieldSpec("sigma_rr", "Radial stress sigma_r", "Pa"),
    FieldSpec("sigma_zz", "Axial stress sigma_z", "Pa"),
    FieldSpec("tau_rz", "Shear stress tau_rz", "Pa"),
    FieldSpec("displacement", "Displacement magnitude", "m"),
    FieldSpec("displacement[0]", "Radial displacement u_r", "m"),
)


class ThickCylinderStudy:
    """Lame's thick cylinder: axisymmetric wall slice under internal pressure."""

    #: linear elasticity: displacement ~ load / E, stresses ~ load (see surrogates.scaling)
    field_scaling = {"displacement": {"powers": {"pressure": 1, "youngs_modulus": -1}},
                     "sigma_*": {"powers": {"pressure": 1}}, "tau_*": {"powers": {"pressure": 1}},
                     "von_mises": {"powers": {"pressure": 1}, "abs": True}}

    spec = StudySpec(
        id="thick-cylinder",
        title="Thick-walled cylinder",
        description="Long thick-walled cylinder under internal pressure (axisymmetric, Lame).",
        parameters=PARAMETERS,
        fields=FIELDS,
        default_field="sigma_hoop",
        notes="Axisymmetric slice r in [bore, outer], axial displacement fixed on both cut faces.",
        key_quantities=("peak_von_mises", "max_displacement", "hoop_stress_bore_lame"),
        key_units={"hoop_stress_bore_lame": "Pa"},
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        v = self.spec.validate(params)
        if v["outer_radius"] <= 1.05 * v["inner_radius"]:
            raise ParameterError(
                f"The outer radius ({v['outer_radius'] * 1e3:.4g} mm) must exceed the bore radius "
                f"({v['inner_radius'] * 1e3:.4g} mm) by at least 5%."
            )
        wall = v["outer_radius"] - v["inner_radius"]
        if v["mesh_size"] > wall / 2:
            raise ParameterError(
                f"Element size {v['mesh_size'] * 1e3:.3g} mm is too coarse for a "
                f"{wall * 1e3:.3g} mm wall; use at most {wall * 500:.3g} mm."
            )
        if wall / v["mesh_size"] > 400:
            raise ParameterError(f"Element size too small: use at least {wall / 400 * 1e3:.3g} mm.")
        return v

    def slice_height(self, v: Mapping[str, float]) -> float:
        return 0.25 * (v["outer_radius"] - v["inner_radius"])

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.shapes2d import mesh_annulus_sector

        v = self.check(params)
        cancel.check()
        progress(0.0, "Meshing")
        return mesh_annulus_sector(v["inner_radius"], v["outer_radius"], v["mesh_size"],
                                   x0=self.slice_height(v))

    def setup(self, params: Mapping[str, float]) -> ElasticSetup:
        v = self.spec.validate(params)
        return ElasticSetup(
            analysis="axisymmetric",
            material=Material(v["youngs_modulus"], v["poissons_ratio"]),
            supports=(Support("bottom", (1,)), Support("top", (1,))),
            pressures=(Pressure("inner", v["pressure"]),),
        )

    def derived_quantities(self, params: Mapping[str, float], key: Mapping[str, float]) -> dict:
        v = self.spec.validate(params)
        a, b, p = v["inner_radius"], v["outer_radius"], v["pressure"]
        return {"hoop_stress_bore_lame": p * (a * a + b * b) / (b * b - a * a)}

"""Built-in study: a finned aluminium heat sink (3D steady conduction with convection).

A 60 x 50 mm base carries six fins along y. The input power enters uniformly through the base
underside; every other face loses heat by convection to air at 25 degC. Key quantities: peak
temperature and thermal resistance (T_max - T_air) / P.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import Convection, FieldSpec, HeatFlux, HeatSetup, StudySpec

BASE_LENGTH, BASE_WIDTH, N_FINS = 0.06, 0.05, 6
T_AIR, K_ALUMINIUM = 25.0, 167.0
MM = {"scale": 1e3, "display_unit": "mm"}
PARAMETERS = (
    ParameterSpec("fin_height", "Fin height", "m", 0.005, 0.08, 0.03, geometric=True, **MM),
    ParameterSpec("fin_thickness", "Fin thickness", "m", 0.001, 0.006, 0.002, geometric=True, **MM),
    ParameterSpec("base_thickness", "Base thickness", "m", 0.002, 0.02, 0.005, geometric=True, **MM),
    ParameterSpec("power", "Input power", "W", 0.5, 200.0, 20.0),
    ParameterSpec("h", "Convection coefficient", "W/(m^2 K)", 2.0, 500.0, 25.0),
    ParameterSpec("mesh_size", "Element size", "m", 0.001, 0.01, 0.003, geometric=True, discretization=True, **MM),
)
FIELDS = (
    FieldSpec("temperature", "Temperature", "degC"),
    FieldSpec("heat_flux", "Heat flux magnitude", "W/m^2"),
    FieldSpec("heat_flux[2]", "Heat flux q_z", "W/m^2"),
)


class HeatSinkStudy:
    """Finned heat sink, aluminium (k = 167 W/(m K)), air at 25 degC."""

    #: linear conduction: the temperature rise above the air is proportional to the power, and
    #: roughly to 1 / h where convection dominates (exactly so for a perfect conductor)
    field_scaling = {"temperature": {"powers": {"power": 1, "h": -1}, "offset": T_AIR},
                     "heat_flux": {"powers": {"power": 1}}}

    spec = StudySpec(
        id="heat-sink",
        title="Heat sink",
        description="Finned aluminium heat sink: power in through the base, convection to air (3D heat).",
        parameters=PARAMETERS,
        fields=FIELDS,
        default_field="temperature",
        unit_system="SI (m, W, °C)",
        notes="Six fins on a 60 x 50 mm base; convection on every face except the heated underside.",
        key_quantities=("peak_temperature", "thermal_resistance"),
        key_units={"thermal_resistance": "K/W"},
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        from physapp.geometry.solids import check_heat_sink

        return self.spec.validate(params, lambda v: check_heat_sink(
            BASE_LENGTH, v["base_thickness"], v["fin_height"], v["fin_thickness"], N_FINS,
            v["mesh_size"], BASE_WIDTH))

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.solids import mesh_heat_sink

        v = self.check(params)
        return mesh_heat_sink(BASE_LENGTH, BASE_WIDTH, v["base_thickness"], v["fin_height"],
                              v["fin_thickness"], N_FINS, v["mesh_size"], progress=progress,
                              cancel=cancel)

    def setup(self, params: Mapping[str, float]) -> HeatSetup:
        v = self.spec.validate(params)
        return HeatSetup(
            analysis="3d",
            conductivity=K_ALUMINIUM,
            fluxes=(HeatFlux("heated", v["power"] / (BASE_LENGTH * BASE_WIDTH)),),
            convections=(Convection("cooled", v["h"], T_AIR),),
        )

    def derived_quantities(self, params: Mapping[str, float], key: Mapping[str, float]) -> dict:
        v = self.spec.validate(params)
        return {"thermal_resistance": (key["peak_temperature"] - T_AIR) / v["power"]}

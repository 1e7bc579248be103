"""Built-in transient study: the finned heat sink switched on at t = 0 (3D transient conduction).

The heat sink of :mod:`physapp.studies.heat_sink` starts at the air temperature; at t = 0 the
input power comes on through the base underside and stays on. The result is a history: the
temperature field over time, and curves of the peak, minimum and base-centre temperatures and of
the heat given to the air. Key quantities: the final peak temperature and the transient thermal
impedance Z_th(t_end) = (T_peak - T_air) / P, which approaches the steady thermal resistance.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.params import ParameterSpec
from physapp.core.study import Convection, HeatFlux, HeatSetup, StudySpec
from physapp.core.transient import TimeAxis, TransientHeatSetup
from physapp.studies.heat_sink import (
    BASE_LENGTH,
    BASE_WIDTH,
    FIELDS,
    K_ALUMINIUM,
    PARAMETERS,
    T_AIR,
    HeatSinkStudy,
)

RHO_ALUMINIUM, CP_ALUMINIUM = 2700.0, 900.0
N_STEPS = 60
PROBE = "T(base centre)"


def _spec(name: str) -> ParameterSpec:
    return next(p for p in PARAMETERS if p.name == name)


TRANSIENT_PARAMETERS = (
    _spec("fin_height"), _spec("base_thickness"), _spec("power"), _spec("h"),
    ParameterSpec("conductivity", "Conductivity", "W/(m K)", 10.0, 400.0, K_ALUMINIUM),
    ParameterSpec("t_end", "Time span", "s", 10.0, 3600.0, 600.0),
    _spec("fin_thickness"), _spec("mesh_size"),
)


class HeatSinkTransientStudy(HeatSinkStudy):
    """The heat sink switched on at t = 0 (aluminium, rho c_p = 2700 x 900; air at 25 degC)."""

    #: the time axis: span from the ``t_end`` slider in N_STEPS steps (BDF2)
    transient = TimeAxis(t_end_param="t_end", n_steps=N_STEPS,
                         curves=("peak_temperature", PROBE, "min_temperature",
                                 "heat_rate[cooled]"))
    field_scaling = {"temperature": {"powers": {"power": 1}, "offset": T_AIR},
                     "heat_flux": {"powers": {"power": 1}}}

    spec = StudySpec(
        id="heat-sink-transient",
        title="Heat sink switched on",
        description="The finned heat sink from cold: power on at t = 0, the temperature over "
                    "time (3D transient heat).",
        parameters=TRANSIENT_PARAMETERS,
        fields=FIELDS,
        default_field="temperature",
        unit_system="SI (m, W, °C, s)",
        notes="Starts at the air temperature; the power comes on at t = 0 and stays on. "
              "Play the result with the time slider; the chart shows the temperatures over time.",
        key_quantities=("peak_temperature", "thermal_impedance"),
        key_units={"thermal_impedance": "K/W"},
    )

    def setup(self, params: Mapping[str, float]) -> TransientHeatSetup:
        v = self.spec.validate(params)
        heat = HeatSetup(
            analysis="3d", conductivity=v["conductivity"],
            fluxes=(HeatFlux("heated", v["power"] / (BASE_LENGTH * BASE_WIDTH)),),
            convections=(Convection("cooled", v["h"], T_AIR),),
        )
        t_end = self.transient.span(v)
        return TransientHeatSetup(
            heat, RHO_ALUMINIUM, CP_ALUMINIUM, t_end, self.transient.step(v), initial=T_AIR,
            scheme="bdf2", probes={PROBE: (BASE_LENGTH / 2, BASE_WIDTH / 2, 0.0)})

    def derived_quantities(self, params: Mapping[str, float], key: Mapping[str, float]) -> dict:
        v = self.spec.validate(params)
        return {"thermal_impedance": (key["peak_temperature"] - T_AIR) / v["power"]}

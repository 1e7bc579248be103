"""A study on an imported part: the user's mesh, a material, supports and loads on its regions.

The set-up is plain JSON-able data (``PartSetup``) so it is saved with the session and given to
the CLI as a file. Any numeric value of a load or the material can be promoted to a parameter with
a range (``promote``): it then becomes a slider, a CLI ``--set`` name and a surrogate input.

Load kinds (elasticity): ``force`` (N, resultant spread over the region), ``traction`` (Pa vector),
``pressure`` (Pa), ``gravity`` (m/s^2 vector, uses the density), ``temperature`` (uniform degC,
with ``t_ref``). Heat: ``temperature`` (fixed degC on a region), ``heat_flux`` (W/m^2),
``convection`` (h, t_inf), ``source`` (W/m^3).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from physapp.core.errors import ParameterError
from physapp.core.materials import MaterialData, material
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import (
    Convection,
    ElasticSetup,
    FieldSpec,
    FixedTemperature,
    HeatFlux,
    HeatSetup,
    Material,
    Pressure,
    StudySpec,
    Support,
    ThermalStrain,
    Traction,
)

ELASTIC_LOADS = {"force", "traction", "pressure", "gravity", "temperature"}
HEAT_LOADS = {"temperature", "heat_flux", "convection", "source"}


@dataclass
class PartSetup:
    """Physics on an imported mesh (JSON-able)."""

    physics: str = "elasticity"  # or "heat"
    material: str = "structural steel"
    material_overrides: dict[str, float] = field(default_factory=dict)
    supports: list[dict[str, Any]] = field(default_factory=list)
    loads: list[dict[str, Any]] = field(default_factory=list)
    parameters: list[dict[str, Any]] = field(default_factory=list)
    analysis: str = ""  # default: "3d" for solids, "plane_stress" / "planar" for 2D meshes

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartSetup:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ParameterError(f"Unknown set-up keys: {', '.join(sorted(unknown))}.")
        return cls(**copy.deepcopy(dict(data)))

    def promote(self, name: str, target: str, lower: float, upper: float, *, label: str = "",
                unit: str = "") -> None:
        """Make a value a parameter: ``target`` is ``"loads.<i>.<key>"``,
        ``"loads.<i>.vector.<k>"`` or ``"material.<property>"``."""
        default = _get(self, target)
        if not lower <= default <= upper:
            raise ParameterError(f"{target} = {default:g} is outside the range [{lower:g}, {upper:g}].")
        self.parameters.append({"name": name, "target": target, "lower": lower, "upper": upper,
                                "default": default, "label": label or name, "unit": unit})


def _get(setup: PartSetup, target: str) -> float:
    parts = target.split(".")
    if parts[0] == "material":
        return float(getattr(material(setup.material, **setup.material_overrides), parts[1]))
    if parts[0] != "loads":
        raise ParameterError(f"Cannot promote '{target}': use loads.<i>.<key> or material.<key>.")
    try:
        obj: Any = setup.loads[int(parts[1])]
        for p in parts[2:]:
            obj = obj[int(p)] if isinstance(obj, list) else obj[p]
        return float(obj)
    except (IndexError, KeyError, ValueError, TypeError):
        raise ParameterError(f"'{target}' does not name a numeric value of the set-up.") from None


def _set(setup: PartSetup, target: str, value: float) -> None:
    parts = target.split(".")
    if parts[0] == "material":
        setup.material_overrides[parts[1]] = value
        return
    obj: Any = setup.loads[int(parts[1])]
    for p in parts[2:-1]:
        obj = obj[int(p)] if isinstance(obj, list) else obj[p]
    last = parts[-1]
    if isinstance(obj, list):
        obj[int(last)] = value
    else:
        obj[last] = value


class ImportedPartStudy:
    """A Study on a fixed mesh with a user-defined set-up."""

    def __init__(self, mesh: MeshData, setup: PartSetup, *, name: str = "part",
                 source: str = "") -> None:
        self.mesh = mesh
        self.part = setup
        if setup.physics not in ("elasticity", "heat"):
            raise ParameterError(f"Physics must be 'elasticity' or 'heat' (got '{setup.physics}').")
        material(setup.material, **setup.material_overrides)  # validates
        for item in (*setup.supports, *setup.loads):
            region = item.get("region")
            if region is not None and region not in mesh.boundaries:
                raise ParameterError(
                    f"No boundary region named '{region}' on this part; regions: "
                    f"{', '.join(mesh.boundaries)}."
                )
        allowed = ELASTIC_LOADS if setup.physics == "elasticity" else HEAT_LOADS
        for load in setup.loads:
            if load.get("kind") not in allowed:
                raise ParameterError(
                    f"Load kind '{load.get('kind')}' does not apply to {setup.physics}; use one of "
                    f"{', '.join(sorted(allowed))}."
                )
        params = tuple(
            ParameterSpec(p["name"], p.get("label", p["name"]), p.get("unit", ""),
                          float(p["lower"]), float(p["upper"]), float(p["default"]))
            for p in setup.parameters
        )
        elastic = setup.physics == "elasticity"
        fields = (
            (FieldSpec("von_mises", "von Mises stress", "Pa"),
             FieldSpec("displacement", "Displacement magnitude", "m"),
             *(FieldSpec(f"displacement[{i}]", f"Displacement u_{'xyz'[i]}", "m")
               for i in range(mesh.dim)),
             FieldSpec("sigma_1", "Max. principal stress", "Pa"))
            if elastic else
            (FieldSpec("temperature", "Temperature", "degC"),
             FieldSpec("heat_flux", "Heat flux magnitude", "W/m^2"))
        )
        self.spec = StudySpec(
            id=f"part:{name}", title=name, description=f"Imported part {source or name}",
            parameters=params, fields=fields,
            default_field="von_mises" if elastic else "temperature",
            key_quantities=("peak_von_mises", "max_displacement") if elastic
            else ("peak_temperature", "min_temperature"),
        )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        return self.spec.validate(params)

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        progress(1.0, f"Imported mesh: {self.mesh.n_points} nodes")
        return self.mesh

    def resolved(self, params: Mapping[str, float]) -> tuple[PartSetup, MaterialData]:
        values = self.check(params)
        part = PartSetup.from_dict(self.part.as_dict())
        for p in part.parameters:
            _set(part, p["target"], values[p["name"]])
        return part, material(part.material, **part.material_overrides)

    def setup(self, params: Mapping[str, float]) -> ElasticSetup | HeatSetup:
        part, mat = self.resolved(params)
        dim = self.mesh.dim
        if part.physics == "heat":
            fixed, fluxes, conv, source = [], [], [], 0.0
            for ld in part.loads:
                kind = ld["kind"]
                if kind == "temperature":
                    fixed.append(FixedTemperature(ld["region"], float(ld["value"])))
                elif kind == "heat_flux":
                    fluxes.append(HeatFlux(ld["region"], float(ld["value"])))
                elif kind == "convection":
                    conv.append(Convection(ld["region"], float(ld["h"]), float(ld["t_inf"])))
                else:
                    source += float(ld["value"])
            analysis = part.analysis or ("3d" if dim == 3 else "planar")
            return HeatSetup(analysis, mat.conductivity, tuple(fixed), tuple(fluxes), tuple(conv),
                             source)
        supports = tuple(Support(s["region"], tuple(s.get("components", ())),
                                 bool(s.get("symmetry", False))) for s in part.supports)
        tractions, pressures, body, thermal = [], [], [0.0, 0.0, 0.0], None
        for ld in part.loads:
            kind = ld["kind"]
            if kind in ("force", "traction"):
                tractions.append(Traction(ld["region"], tuple(float(v) for v in ld["vector"]),
                                          total=kind == "force"))
            elif kind == "pressure":
                pressures.append(Pressure(ld["region"], float(ld["value"])))
            elif kind == "gravity":
                for i, g in enumerate(ld["vector"]):
                    body[i] += mat.density * float(g)
            else:
                thermal = ThermalStrain(mat.expansion, float(ld["value"]),
                                        float(ld.get("t_ref", 20.0)))
        analysis = part.analysis or ("3d" if dim == 3 else "plane_stress")
        return ElasticSetup(analysis, Material(mat.youngs_modulus, mat.poissons_ratio, mat.name),
                            supports, tuple(tractions), tuple(pressures), tuple(body[:dim]),
                            thermal)

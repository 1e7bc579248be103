"""A study on an imported part: the user's mesh, a material, supports and loads on its regions.

The set-up is plain JSON-able data (``PartSetup``) so it is saved with the session and given to
the CLI as a file. Any numeric value of a load or the material can be promoted to a parameter with
a range (``promote``): it then becomes a slider, a CLI ``--set`` name and a surrogate input.

Load kinds (elasticity): ``force`` (N, resultant spread over a face, or on an edge or a point;
``vector`` or ``magnitude`` + ``direction``), ``traction`` (Pa vector), ``pressure`` (Pa),
``gravity`` (m/s^2 vector, uses the density), ``temperature`` (uniform degC, with ``t_ref``).
Heat: ``temperature`` (fixed degC on a face, edge or point), ``heat_flux`` (W/m^2),
``convection`` (h, t_inf), ``source`` (W/m^3; whole part or a ``region`` subdomain). Supports:
``components`` (fixed, optionally ``values`` for a prescribed displacement) or ``symmetry`` on a
face, edge or point. Any item may name its region with ``"select": {...}`` (a geometric selector,
:mod:`physapp.core.regions`) instead of ``"region"``; ``regions`` maps subdomain names to
material overrides (per-region materials). See docs/setup-format.md.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

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
    NodalForce,
    Pressure,
    StudySpec,
    Support,
    ThermalStrain,
    Traction,
)

ELASTIC_LOADS = {"force", "traction", "pressure", "gravity", "temperature"}
HEAT_LOADS = {"temperature", "heat_flux", "convection", "source"}
#: region kinds each load accepts ("boundary" = a face in 3D, an edge in 2D; "line" = a 3D edge)
ALLOWED = {
    ("elasticity", "support"): {"boundary", "line", "point"},
    ("elasticity", "force"): {"boundary", "line", "point"},
    ("elasticity", "traction"): {"boundary"},
    ("elasticity", "pressure"): {"boundary"},
    ("elasticity", "gravity"): {"none"},
    ("elasticity", "temperature"): {"none"},
    ("heat", "temperature"): {"boundary", "line", "point"},
    ("heat", "heat_flux"): {"boundary"},
    ("heat", "convection"): {"boundary"},
    ("heat", "source"): {"none", "subdomain"},
}


def _kind_of(mesh: MeshData, region: str | None) -> str:
    if region is None:
        return "none"
    if region in mesh.boundaries:
        return "boundary"
    if region in mesh.edges:
        return "line"
    if region in mesh.point_sets:
        return "point"
    if region in mesh.subdomains:
        return "subdomain"
    known = ", ".join([*mesh.boundaries, *mesh.edges, *mesh.point_sets, *mesh.subdomains])
    raise ParameterError(f"No boundary region named '{region}' (nor other region) on this part; "
                         f"regions: {known or 'none'}.")


def _kind_words(kinds: set[str], dim: int) -> str:
    words = {"boundary": "face" if dim == 3 else "edge", "line": "edge", "point": "point",
             "subdomain": "subdomain", "none": "no region (the whole part)"}
    return ", ".join(sorted({words[k] for k in kinds}))


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
    regions: dict[str, dict[str, Any]] = field(default_factory=dict)  # subdomain -> material

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartSetup:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise ParameterError(f"Unknown set-up keys: {', '.join(sorted(unknown))}.")
        return cls(**copy.deepcopy(dict(data)))

    @classmethod
    def from_json(cls, path) -> PartSetup:
        """Read a set-up file (the JSON a session stores; docs/setup-format.md)."""
        import json
        from pathlib import Path

        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise ParameterError(f"Could not read the set-up '{path}': {exc}") from None
        if not isinstance(data, dict):
            raise ParameterError(f"The set-up '{path}' must be a JSON object.")
        return cls.from_dict(data)

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
        return float(getattr(material(setup.material, physics=setup.physics,
                                      **setup.material_overrides), parts[1]))
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
                 source: str = "", study_id: str = "") -> None:
        self.mesh = mesh
        self.part = setup
        if setup.physics not in ("elasticity", "heat"):
            raise ParameterError(f"Physics must be 'elasticity' or 'heat' (got '{setup.physics}').")
        material(setup.material, physics=setup.physics, **setup.material_overrides)  # validates
        allowed = ELASTIC_LOADS if setup.physics == "elasticity" else HEAT_LOADS
        for load in setup.loads:
            if load.get("kind") not in allowed:
                raise ParameterError(
                    f"Load kind '{load.get('kind')}' does not apply to {setup.physics}; use one of "
                    f"{', '.join(sorted(allowed))}."
                )
        # geometric selectors become named regions of the mesh (they survive remeshing)
        self.selection_reports: list[str] = []
        items = [("support", s) for s in setup.supports] + [(ld["kind"], ld) for ld in setup.loads]
        for n, (what, item) in enumerate(items):
            if "select" in item:
                from physapp.core.regions import select, with_region

                spec = dict(item["select"])
                allowed_kinds = ALLOWED[(setup.physics, what)]
                if "kind" not in spec and "subdomain" in allowed_kinds and "boundary" not in \
                        allowed_kinds:
                    spec["kind"] = "subdomain"
                sel = select(mesh, spec)
                region = str(item.get("region") or f"selection_{n + 1}")
                mesh = with_region(mesh, region, sel)
                self.selection_reports.append(f"{region}: {sel.report}")
                item["region"] = region
        self.mesh = mesh
        for what, item in items:
            kind = _kind_of(mesh, item.get("region"))
            ok = ALLOWED[(setup.physics, what)]
            if kind not in ok:
                label = "support" if what == "support" else f"'{what}' load"
                raise ParameterError(
                    f"A {label} cannot go on {item.get('region')!r} "
                    f"({_kind_words({kind}, mesh.dim)}); it applies to: "
                    f"{_kind_words(ok, mesh.dim)}.")
        for name in (setup.regions or {}):
            if name not in mesh.subdomains:
                raise ParameterError(f"Material region '{name}' is not a subdomain of the part "
                                     f"(subdomains: {', '.join(mesh.subdomains) or 'none'}).")
        if setup.regions:
            covered = np.unique(np.concatenate([np.asarray(mesh.subdomains[n])
                                                for n in setup.regions]))
            if len(covered) < mesh.n_cells:  # the rest keeps the part's material
                rest = np.setdiff1d(np.arange(mesh.n_cells), covered)
                mesh = MeshData(mesh.points, mesh.cells, mesh.boundaries,
                                {**mesh.subdomains, "_rest": rest}, mesh.dim, mesh.length_unit,
                                mesh.edges, mesh.point_sets)
        self.mesh = mesh
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
            id=study_id or f"part:{name}", title=name, description=f"Imported part {source or name}",
            parameters=params, fields=fields,
            default_field="von_mises" if elastic else "temperature",
            key_quantities=("peak_von_mises", "max_displacement") if elastic
            else ("peak_temperature", "min_temperature"),
        )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        return self.spec.validate(params)

    @property
    def field_scaling(self) -> dict[str, Any]:
        """Exact scalings of a linear set-up for surrogates (:mod:`physapp.surrogates.scaling`):
        with one load whose size is a parameter, displacements and stresses are proportional to
        it; displacements and strains are inversely proportional to a promoted Young's modulus
        (one material, no prescribed displacements, no thermal load)."""
        part = self.part
        if part.physics != "elasticity" or part.regions or len(part.loads) != 1:
            return {}
        if any(s.get("values") for s in part.supports):
            return {}
        targets = {p["target"]: p for p in part.parameters}
        load = part.loads[0]
        if load["kind"] == "temperature":
            return {}
        chosen = None
        for key in ("magnitude", "value"):
            if f"loads.0.{key}" in targets:
                chosen = targets[f"loads.0.{key}"]
        vec = load.get("vector")
        if chosen is None and isinstance(vec, list):
            nonzero = [k for k, v in enumerate(vec) if float(v) != 0.0]
            if len(nonzero) == 1 and f"loads.0.vector.{nonzero[0]}" in targets:
                chosen = targets[f"loads.0.vector.{nonzero[0]}"]
        if chosen is not None and "magnitude" not in load and isinstance(vec, list) and \
                not chosen["target"].startswith("loads.0.vector"):
            chosen = None
        e_mod = targets.get("material.youngs_modulus")
        grow: dict[str, float] = {chosen["name"]: 1.0} if chosen else {}
        soft = {**grow, **({e_mod["name"]: -1.0} if e_mod else {})}
        if not soft:
            return {}
        spec: dict[str, Any] = {"displacement": {"powers": soft}, "strain": {"powers": soft}}
        if grow:
            for pattern in ("sigma_xx", "sigma_yy", "sigma_zz", "sigma_rr", "sigma_hoop",
                            "tau_*"):
                spec[pattern] = {"powers": grow}
            spec["von_mises"] = {"powers": grow, "abs": True}
            if chosen["lower"] > 0 or chosen["upper"] < 0:  # principal stresses keep their order
                spec["sigma_[123]"] = {"powers": grow}
        return spec

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        progress(1.0, f"Imported mesh: {self.mesh.n_points} nodes")
        return self.mesh

    def resolved(self, params: Mapping[str, float]) -> tuple[PartSetup, MaterialData]:
        values = self.check(params)
        part = PartSetup.from_dict(self.part.as_dict())
        for p in part.parameters:
            _set(part, p["target"], values[p["name"]])
        return part, material(part.material, physics=part.physics, **part.material_overrides)

    def setup(self, params: Mapping[str, float]) -> ElasticSetup | HeatSetup:
        part, mat = self.resolved(params)
        dim = self.mesh.dim
        if part.physics == "heat":
            fixed, fluxes, conv, source, sources = [], [], [], 0.0, []
            for ld in part.loads:
                kind = ld["kind"]
                if kind == "temperature":
                    fixed.append(FixedTemperature(ld["region"], float(ld["value"])))
                elif kind == "heat_flux":
                    fluxes.append(HeatFlux(ld["region"], float(ld["value"])))
                elif kind == "convection":
                    conv.append(Convection(ld["region"], float(ld["h"]), float(ld["t_inf"])))
                elif ld.get("region"):
                    sources.append((ld["region"], float(ld["value"])))
                else:
                    source += float(ld["value"])
            analysis = part.analysis or ("3d" if dim == 3 else "planar")
            k: Any = mat.conductivity
            if part.regions:
                k = {name: float(material(part.material, physics="heat",
                                          **{**part.material_overrides, **over}).conductivity)
                     for name, over in part.regions.items()}
                if "_rest" in self.mesh.subdomains:  # cells in no listed region
                    k["_rest"] = float(mat.conductivity)
            return HeatSetup(analysis, k, tuple(fixed), tuple(fluxes), tuple(conv), source,
                             tuple(sources))
        supports = tuple(Support(s["region"], tuple(s.get("components", ())),
                                 bool(s.get("symmetry", False)), tuple(s.get("values", ())))
                         for s in part.supports)
        tractions, pressures, body, thermal, nodal = [], [], [0.0, 0.0, 0.0], None, []
        for ld in part.loads:
            kind = ld["kind"]
            if kind == "force":
                vec = force_vector(ld)
                if ld["region"] in self.mesh.boundaries:
                    tractions.append(Traction(ld["region"], vec, total=True))
                else:
                    nodal.append(NodalForce(ld["region"], vec))
            elif kind == "traction":
                tractions.append(Traction(ld["region"], tuple(float(v) for v in ld["vector"])))
            elif kind == "pressure":
                pressures.append(Pressure(ld["region"], float(ld["value"])))
            elif kind == "gravity":
                for i, g in enumerate(ld["vector"]):
                    body[i] += mat.density * float(g)
            else:
                thermal = ThermalStrain(mat.expansion, float(ld["value"]),
                                        float(ld.get("t_ref", 20.0)))
        region_mats = []
        for name, over in (part.regions or {}).items():
            rm = material(part.material, **{**part.material_overrides, **over})
            region_mats.append((name, Material(rm.youngs_modulus, rm.poissons_ratio, name)))
            if rm.density != mat.density and any(ld["kind"] == "gravity" for ld in part.loads):
                raise ParameterError("Gravity with a density per region is not supported yet: "
                                     "give the regions the part's density.")
        analysis = part.analysis or ("3d" if dim == 3 else "plane_stress")
        return ElasticSetup(analysis, Material(mat.youngs_modulus, mat.poissons_ratio, mat.name),
                            supports, tuple(tractions), tuple(pressures), tuple(body[:dim]),
                            thermal, nodal_forces=tuple(nodal),
                            region_materials=tuple(region_mats))


def force_vector(load: Mapping[str, Any]) -> tuple[float, ...]:
    """A force's vector from ``vector`` or from ``magnitude`` times the unit ``direction``."""
    if "magnitude" in load:
        d = np.asarray(load.get("direction", ()), dtype=float)
        if d.size == 0 or not np.all(np.isfinite(d)) or np.linalg.norm(d) == 0:
            raise ParameterError("A force given by 'magnitude' needs a non-zero 'direction' "
                                 "vector.")
        return tuple(float(load["magnitude"]) * d / np.linalg.norm(d))
    try:
        return tuple(float(v) for v in load["vector"])
    except (KeyError, TypeError, ValueError):
        raise ParameterError("A force needs 'vector' (N) or 'magnitude' and 'direction'.") from None


#: separates the part file and the set-up file in the id of a part study built from files
PART_ID_SEP = "::"


def read_setup_file(path) -> tuple[PartSetup, dict[str, Any]]:
    """A set-up JSON file (or the JSON text itself, starting with ``{``): the PartSetup object a
    session stores (with an optional ``"mesh"``
    object of meshing options: size, unit, order, refine, curvature), or a whole session file
    (its part's set-up, element size and unit). Returns the set-up and the meshing options."""
    import json
    from pathlib import Path

    try:
        text = str(path) if str(path).lstrip().startswith("{") else Path(path).read_text()
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"Could not read the set-up '{str(path)[:60]}': {exc}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"The set-up '{path}' must be a JSON object.")
    if data.get("format") == "physapp-session":
        part = data.get("part") or {}
        if not part:
            raise ParameterError(f"The session '{path}' is not of an imported part.")
        mesh = {"size": part.get("element_size"), "unit": part.get("length_unit")}
        return PartSetup.from_dict(part.get("setup") or {}), {k: v for k, v in mesh.items() if v}
    data = dict(data)
    mesh = data.pop("mesh", None) or {}
    if not isinstance(mesh, dict):
        raise ParameterError(f"'mesh' in the set-up '{path}' must be an object.")
    unknown = set(mesh) - {"size", "unit", "order", "refine", "curvature"}
    if unknown:
        raise ParameterError(f"Unknown meshing options in '{path}': {', '.join(sorted(unknown))} "
                             "(use size, unit, order, refine, curvature).")
    return PartSetup.from_dict(data), mesh


def load_part_study(part_path, setup: PartSetup | str | None = None, *, size: float | None = None,
                    unit: str | None = None, order: int | None = None, linear: bool = False,
                    progress: ProgressFn = no_progress,
                    cancel: CancelToken = NEVER) -> ImportedPartStudy:
    """Read (and for CAD, mesh) a part and attach a set-up (a PartSetup or a set-up file).

    Arguments override the set-up file's meshing options. CAD parts are meshed with elements of
    ``order`` (2: curved tetra10). Built from files, the study's id is
    ``part:<part path>::<set-up path>``, which :func:`physapp.studies.get_study` resolves again
    (sweep workers rebuild the study from it). ``linear`` turns the mesh into straight linear
    simplices (sweeps and surrogates need one fixed linear topology).
    """
    from pathlib import Path

    from physapp.io.readers import read_mesh

    opts: dict[str, Any] = {}
    setup_path = None
    if setup is None and Path(part_path).suffix.lower() == ".inp":  # a deck is its own set-up
        from physapp.io.inp import read_inp

        mesh, data, report = read_inp(part_path, unit or "m")
        study = ImportedPartStudy(mesh, PartSetup.from_dict(data), name=Path(part_path).stem,
                                  source=str(part_path))
        study.deck_report = report
        return study
    if isinstance(setup, (str, Path)):
        inline = str(setup).lstrip().startswith("{")
        setup_path = None if inline else str(Path(setup).resolve())
        setup, opts = read_setup_file(setup)
    part = setup if setup is not None else PartSetup()
    size = size if size is not None else opts.get("size")
    unit = unit or opts.get("unit")
    mesh_order = int(order or opts.get("order") or 1)
    mesh, _ = read_mesh(part_path, length_unit=unit, size=size, order=mesh_order,
                        refine=opts.get("refine") or (), curvature=float(opts.get("curvature") or 0),
                        progress=progress, cancel=cancel)
    if linear:  # one straight linear topology (sweeps: the data set stores straight P2 nodes)
        from physapp.solvers.simplices import linear_simplices

        mesh = linear_simplices(mesh)
    sid = ""
    if setup_path is not None:
        sid = f"part:{Path(part_path).resolve()}{PART_ID_SEP}{setup_path}"
    return ImportedPartStudy(mesh, part, name=Path(part_path).stem, source=str(part_path),
                             study_id=sid)


def study_from_id(study_id: str) -> ImportedPartStudy:
    """Rebuild a part study from its id ``part:<part file>::<set-up file>`` (for sweeps and
    surrogates: straight linear cells, CAD meshed at order 1)."""
    body = study_id[len("part:"):]
    part, sep, setup = body.rpartition(PART_ID_SEP)
    if not sep:
        raise ParameterError(f"'{study_id}' does not name a part file and a set-up file.")
    return load_part_study(part, setup, order=1, linear=True)

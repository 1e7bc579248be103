"""Qt-free work behind the imported-part GUI: reading jobs, face picking on arrays, set-up checks.

Nothing here imports Qt or VTK, so the functions can run in the job runner's child process
(:func:`read_part`, :func:`probe_extent`, :func:`solve_part` are sent there by reference) and be
unit-tested. Face picking on arrays is :mod:`physapp.gui.part_facets`, the region list's helpers
:mod:`physapp.gui.part_regions` (both re-exported here).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from physapp.core.errors import ParameterError
from physapp.core.labels import pretty_unit
from physapp.core.materials import MATERIALS, MaterialData, material
from physapp.core.mesh import MeshData
from physapp.core.paths import user_data_dir
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

# face picking and the region list live in their own modules; their names stay importable here
from physapp.gui.part_facets import BoundaryFacets, grow_selection, with_region  # noqa: E402,F401
from physapp.gui.part_regions import (  # noqa: E402,F401
    KIND_WORDS,
    allowed_kinds,
    allowed_text,
    parse_selector,
    quick_region_rows,
    region_kind,
    region_rows,
    region_size_text,
    regions_for,
)
from physapp.io.readers import CAD, SURFACES, UNIT_TO_M, ImportReport
from physapp.studies.imported import (
    ELASTIC_LOADS,
    HEAT_LOADS,
    ImportedPartStudy,
    PartSetup,
)

#: suffixes the File > Open dialog lists (meshio formats physapp reads, CAD, closed surfaces)
MESH_SUFFIXES = (".msh", ".vtu", ".vtk", ".xdmf", ".xmf", ".inp", ".med", ".nas", ".bdf",
                 ".fem", ".mesh", ".meshb", ".su2")
CAD_SUFFIXES = tuple(sorted(CAD))
SURFACE_SUFFIXES = tuple(sorted(SURFACES))
#: STEP and IGES carry their unit (gmsh converts it to metres); BREP and surfaces do not
SELF_UNIT = (".step", ".stp", ".iges", ".igs")
LENGTH_UNITS = tuple(UNIT_TO_M)


def needs_options(path: str | Path) -> bool:
    """True for files meshed with gmsh (CAD, closed surfaces): unit and element size are asked."""
    return Path(path).suffix.lower() in CAD | SURFACES


# -- jobs for the child process -------------------------------------------------------------------
def read_part(path: str, unit: str | None, size: float | None, order: int = 1,
              refine=(), curvature: float = 0.0, *,
              progress: ProgressFn = no_progress, cancel: CancelToken = NEVER):
    """:func:`physapp.io.readers.read_mesh` (isolated in a child process) with positional options
    (the job runner passes only positional arguments): ``(MeshData, ImportReport)``.

    ``order`` 2 meshes CAD with curved second-order tetrahedra; ``refine`` is a list of local
    sizes ``{"regions": [...], "size": m, "growth": r}``; ``curvature`` elements per circle."""
    from physapp.io.readers import read_mesh

    return read_mesh(path, length_unit=unit, size=size, order=int(order or 1),
                     refine=list(refine or ()), curvature=float(curvature or 0.0),
                     progress=progress, cancel=cancel)


def read_part_for_display(path: str, unit: str | None, size: float | None, order: int = 1,
                          refine=(), curvature: float = 0.0, *,
                          progress: ProgressFn = no_progress, cancel: CancelToken = NEVER):
    """:func:`read_part` and the viewport's arrays of the part
    (:func:`~physapp.core.display_mesh.display_arrays`, None for a 2D part), found in the
    reading process so that the GUI thread only wraps them (#16): ``(mesh, report, arrays)``."""
    mesh, report = read_part(path, unit, size, order, refine, curvature,
                             progress=progress, cancel=cancel)
    return mesh, report, _display_arrays(mesh, progress)


def _display_arrays(mesh: MeshData, progress: ProgressFn):
    from physapp.core.display_mesh import display_arrays

    if mesh.dim == 3:
        progress(1.0, "Preparing the display")
    return display_arrays(mesh)


def read_deck(path: str, unit: str | None, *, progress: ProgressFn = no_progress,
              cancel: CancelToken = NEVER):
    """A CalculiX/Abaqus deck read as a complete set-up: ``(MeshData, ImportReport, set-up dict,
    DeckReport, display arrays)``; a deck without a usable set-up (a mesh only) gives ``None``
    for the set-up and deck report
    and the mesh as :func:`read_part` reads it."""
    from physapp.io.inp import DeckError, read_inp

    progress(0.0, f"Reading the deck {Path(path).name}")
    try:
        mesh, data, deck = read_inp(path, unit or "m")
    except DeckError as exc:
        mesh, report = read_part(path, unit, None, progress=progress, cancel=cancel)
        report.notes.append(f"Deck set-up not usable: {exc}")
        return mesh, report, None, None, _display_arrays(mesh, progress)
    from physapp.io.readers import ImportReport

    lo, hi = mesh.bounds()
    report = ImportReport(str(path), "Abaqus/CalculiX deck", mesh.n_points, mesh.cell_counts(),
                          mesh.dim, {k: len(v) for k, v in mesh.boundaries.items()},
                          {k: len(v) for k, v in mesh.subdomains.items()},
                          (tuple(map(float, lo)), tuple(map(float, hi))), mesh.length_unit)
    return mesh, report, data, deck, _display_arrays(mesh, progress)


def _probe_cad(path: str, self_unit: bool) -> tuple[float, float, float]:
    """Bounding box of a CAD file with gmsh (runs isolated: a native crash is reported).

    Measured on OpenCASCADE's triangulation of the shapes: OCC's own boxes are loose on curved
    faces (a torus 52 mm across gave 56.5 mm), and the import dialog then disagreed with the
    part panel, which measures the mesh (#13: 42.72 x 32.94 x 37.09 vs 36.95 x 32.63 x 32 mm)."""
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    with gmsh_model("probe"):
        gmsh.option.setNumber("Geometry.OCCBoundsUseStl", 1)
        if self_unit:
            gmsh.option.setString("Geometry.OCCTargetUnit", "M")
        gmsh.model.occ.importShapes(str(path))
        gmsh.model.occ.synchronize()
        x0, y0, z0, x1, y1, z1 = gmsh.model.getBoundingBox(-1, -1)
    return x1 - x0, y1 - y0, z1 - z0


def _probe_surface(path: str) -> tuple[float, float, float]:
    import meshio

    pts = np.asarray(meshio.read(path).points, dtype=float)
    if pts.ndim != 2 or len(pts) == 0:
        raise ValueError("no points")
    ext = np.ptp(pts[:, :3], axis=0)
    return float(ext[0]), float(ext[1]), float(ext[2])


def probe_extent(path: str, *, progress: ProgressFn = no_progress,
                 cancel: CancelToken = NEVER) -> tuple[float, float, float]:
    """Bounding-box extents of a CAD or surface file before meshing, to propose an element size:
    in metres for STEP/IGES (they carry their unit), in the file's own unit otherwise.

    The file is opened in an isolated child process (as :func:`read_mesh` reads), so a native
    crash of gmsh or meshio on a hostile file is reported, not fatal. A file that cannot be read
    raises the reader's own message (the reader fails at the same step, at once)."""
    from physapp.core.isolate import run_isolated
    from physapp.io.readers import read_mesh

    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        read_mesh(p)  # raises the reader's "does not exist" / "is a folder" / "is empty"
    progress(0.0, f"Reading the geometry of {p.name}")
    try:
        if p.suffix.lower() in SURFACES:
            ext = run_isolated(_probe_surface, str(p), timeout=300,
                               what=f"The reader of '{p.name}'", cancel=cancel)
        else:
            ext = run_isolated(_probe_cad, str(p), p.suffix.lower() in SELF_UNIT, timeout=300,
                               what=f"The CAD reader of '{p.name}'", cancel=cancel)
        ext = np.asarray(ext, dtype=float)
    except (Exception, SystemExit):  # noqa: BLE001 - the reader words the problem for the user
        read_mesh(p)
        raise
    if not np.all(np.isfinite(ext)) or ext.max() <= 0:
        read_mesh(p)
    return float(ext[0]), float(ext[1]), float(ext[2])


def extent_text(extent, scale: float = 1.0) -> str:
    """A part's size as the import dialog and the Part panel both show it: "36.95 × 32.63 × 32"
    (``extent`` in metres times ``scale``, the shown unit per metre)."""
    return " \u00d7 ".join(f"{float(v) * scale:.4g}" for v in extent)


def solve_part(study: ImportedPartStudy, params: Mapping[str, float], order: int = 2, *,
               progress: ProgressFn = no_progress, cancel: CancelToken = NEVER):
    """Solve an imported part (sent whole to the worker: it is not in the study registry)."""
    from physapp.solvers.reference import ReferenceSolver

    return ReferenceSolver(order=order).solve(study, params, progress=progress, cancel=cancel)


# -- the study the window shows -------------------------------------------------------------------
@dataclass
class PartInfo:
    """What the window knows of an imported part besides its set-up (kept with the study)."""

    path: str
    report: ImportReport
    length_unit: str | None = None  # as asked at import (None: the reader's default)
    element_size: float | None = None  # m, CAD and surfaces only (None: automatic)
    order: int = 1  # element order CAD was meshed at (2: curved tetra10)
    refine: list[dict[str, Any]] = field(default_factory=list)  # local sizes (CAD regions)
    curvature: float = 0.0  # elements per full circle on curved CAD surfaces (0: off)
    #: regions made from a typed selector: name -> selector (re-resolved after a remesh)
    selected: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: regions the user picked: name -> {"facets": (m, k) array, "seeds": [[x, y, z], ...],
    #: "feature_angle": degrees}
    picked: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.path).stem or "part"

    @property
    def unit(self) -> str:
        """The length unit of the file's coordinates (as stated in the report)."""
        return self.report.length_unit


def make_part_study(mesh: MeshData, setup: PartSetup, info: PartInfo) -> ImportedPartStudy:
    """An :class:`ImportedPartStudy` with display units for its sliders and the import info
    attached (``study.import_info``). Raises ParameterError for an inconsistent set-up."""
    study = ImportedPartStudy(mesh, setup, name=info.name, source=info.path)
    params = tuple(
        dataclasses.replace(p, scale=float(d.get("scale", 1.0)),
                            display_unit=str(d.get("display_unit", "")))
        for p, d in zip(study.spec.parameters, setup.parameters, strict=True)
    )
    hint = ("Promote a load or material value to a slider in the Part set-up panel (right)."
            if not params else "Sliders drive the promoted values of the Part set-up panel.")
    study.spec = dataclasses.replace(
        study.spec, parameters=params, title=Path(info.path).name,
        description=f"Imported part ({info.report.format}). {hint}")
    study.import_info = info
    return study


# -- set-up fields, units and checks --------------------------------------------------------------
@dataclass(frozen=True)
class ValueField:
    """One numeric entry of a load or the material: key in the dict, label, SI unit, display."""

    key: str  # "value", "h", "t_inf", "t_ref", "vector.0", ...
    label: str
    unit: str  # SI
    shown_unit: str
    scale: float  # shown = SI * scale
    default: float


def _f(key, label, unit, default, shown=None, scale=1.0) -> ValueField:
    return ValueField(key, label, unit, pretty_unit(shown or unit), scale, default)  # °C


def _vec(label, unit, default, shown=None, scale=1.0) -> tuple[ValueField, ...]:
    return tuple(_f(f"vector.{i}", f"{label}{'xyz'[i]}", unit, d, shown, scale)
                 for i, d in enumerate(default))


#: physics -> kind -> (label, on a region?, fields)
LOAD_KINDS: dict[str, dict[str, tuple[str, bool, tuple[ValueField, ...]]]] = {
    "elasticity": {
        "pressure": ("Pressure", True, (_f("value", "p", "Pa", 1e6, "MPa", 1e-6),)),
        "force": ("Force (total)", True, _vec("F", "N", (0.0, 0.0, -1000.0))),
        "traction": ("Traction", True, _vec("t", "Pa", (0.0, 0.0, -1e6), "MPa", 1e-6)),
        "gravity": ("Gravity", False, _vec("g", "m/s^2", (0.0, 0.0, -9.81))),
        "temperature": ("Uniform temperature", False,
                        (_f("value", "T", "degC", 100.0), _f("t_ref", "T ref", "degC", 20.0))),
    },
    "heat": {
        "temperature": ("Fixed temperature", True, (_f("value", "T", "degC", 100.0),)),
        "heat_flux": ("Heat flux in", True, (_f("value", "q", "W/m^2", 1000.0),)),
        "convection": ("Convection", True, (_f("h", "h", "W/(m^2 K)", 10.0),
                                            _f("t_inf", "T fluid", "degC", 20.0))),
        "source": ("Heat source", False, (_f("value", "Q", "W/m^3", 1e5),)),
    },
}
assert set(LOAD_KINDS["elasticity"]) == ELASTIC_LOADS and set(LOAD_KINDS["heat"]) == HEAT_LOADS

#: material properties the panel edits, per physics
MATERIAL_FIELDS: dict[str, tuple[ValueField, ...]] = {
    "elasticity": (_f("youngs_modulus", "Young's modulus E", "Pa", 200e9, "GPa", 1e-9),
                   _f("poissons_ratio", "Poisson's ratio \u03bd", "", 0.3, "\u2013"),
                   _f("density", "Density \u03c1", "kg/m^3", 7850.0),
                   _f("expansion", "Expansion \u03b1", "1/K", 12e-6, "1e-6/K", 1e6)),
    "heat": (_f("conductivity", "Conductivity k", "W/(m K)", 60.5),),
}
MATERIAL_NAMES = (*MATERIALS, "custom")
#: properties a subdomain may override (PartSetup.regions; one density for the whole part)
REGION_MATERIAL_KEYS = {"elasticity": ("youngs_modulus", "poissons_ratio"),
                        "heat": ("conductivity",)}


#: a force given as a magnitude (promotable to a slider) and a direction (normalised by the solver)
FORCE_MAGNITUDE_FIELDS = (_f("magnitude", "|F|", "N", 1000.0),
                          *(_f(f"direction.{i}", f"direction {'xyz'[i]}", "", d, "\u2013")
                            for i, d in enumerate((0.0, 0.0, -1.0))))
#: a prescribed support displacement is shown in mm
DISPLACEMENT_SCALE = 1e3


def load_fields(physics: str, kind: str, dim: int = 3,
                item: Mapping[str, Any] | None = None) -> tuple[ValueField, ...]:
    """The numeric entries of a load (a force given by ``magnitude``: magnitude and direction)."""
    fields = LOAD_KINDS[physics][kind][2]
    if kind == "force" and item is not None and "magnitude" in item:
        fields = FORCE_MAGNITUDE_FIELDS
    return tuple(f for f in fields if not (f.key[-2:] == ".2" and dim < 3))


def force_as_magnitude(load: dict[str, Any], dim: int) -> None:
    """Turn a force's ``vector`` into ``magnitude`` + ``direction`` (the same force)."""
    v = np.asarray(load.pop("vector", [0.0] * dim), dtype=float)
    n = float(np.linalg.norm(v))
    load["magnitude"] = n if n > 0 else 1000.0
    load["direction"] = [float(x) for x in (v / n if n > 0 else
                                            np.r_[np.zeros(dim - 1), -1.0])]


def force_as_vector(load: dict[str, Any], dim: int) -> None:
    """Turn ``magnitude`` + ``direction`` back into the force's ``vector`` (the same force)."""
    from physapp.studies.imported import force_vector

    try:
        v = force_vector(load)
    except ParameterError:
        v = tuple([0.0] * (dim - 1) + [-float(load.get("magnitude", 1000.0))])
    load.pop("magnitude", None)
    load.pop("direction", None)
    load["vector"] = [float(x) for x in v][:dim]


def material_field(key: str) -> ValueField:
    for fields in MATERIAL_FIELDS.values():
        for f in fields:
            if f.key == key:
                return f
    raise KeyError(key)


def new_load(physics: str, kind: str, region: str | None, dim: int = 3) -> dict[str, Any]:
    """A load of ``kind`` with its default values (regionless for body loads)."""
    load: dict[str, Any] = {"kind": kind}
    if LOAD_KINDS[physics][kind][1] or region is not None:  # a source may name a subdomain
        load["region"] = region
    for f in load_fields(physics, kind, dim):
        if f.key.startswith("vector."):
            load.setdefault("vector", [0.0] * dim)[int(f.key[7:])] = f.default
        else:
            load[f.key] = f.default
    return load


def get_value(item: Mapping[str, Any], key: str) -> float:
    name, _, k = key.partition(".")
    if k:  # vector.<k>, direction.<k>
        return float(item[name][int(k)])
    return float(item[key])


def set_value(item: dict[str, Any], key: str, value: float) -> None:
    name, _, k = key.partition(".")
    if k:
        item[name][int(k)] = float(value)
    else:
        item[key] = float(value)


def material_values(setup: PartSetup) -> MaterialData:
    return material(setup.material, **setup.material_overrides)


def parse_number(text: str) -> float:
    """A number as typed (a decimal comma is accepted); ValueError otherwise."""
    value = float(text.strip().replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def setup_problem(setup: PartSetup, mesh: MeshData) -> str:
    """Why this set-up cannot be solved yet ('' when it can): the reason the Solve button shows."""
    if setup.physics == "elasticity":
        if not setup.supports:
            return ("Add a support: without one the part is free to move and has no static "
                    "solution.")
        if not setup.loads:
            return "Add a load (a pressure, force, traction, gravity or temperature)."
    else:
        if not any(ld.get("kind") in ("temperature", "convection") for ld in setup.loads):
            return ("Add a fixed temperature or convection on a region: otherwise the temperature "
                    "level is not defined.")
    for item in (*setup.supports, *setup.loads):
        if "region" in item and not item["region"]:
            return "Choose a region for every support and load."
    try:
        material_values(setup)
        ImportedPartStudy(mesh, setup)
    except ParameterError as exc:
        return str(exc)
    return ""


def describe_item(item: Mapping[str, Any], physics: str, *, support: bool,
                  dim: int = 3) -> tuple[str, str]:
    """(type, value text) of a table row."""
    if support:
        if item.get("symmetry"):
            return "Symmetry", "normal displacement = 0"
        comps = list(item.get("components", ()))
        values = list(item.get("values", ())) or [0.0] * len(comps)
        if any(values):
            return "Displacement", ", ".join(
                f"u{'xyz'[c]} = {v * DISPLACEMENT_SCALE:.4g} mm" for c, v in zip(
                    comps, values, strict=False))
        if len(comps) >= dim:
            return "Fixed", "u = 0"
        return "Fixed " + ",".join("xyz"[c] for c in comps), ", ".join(
            f"u{'xyz'[c]} = 0" for c in comps)
    kind = item.get("kind", "")
    if kind == "force" and "magnitude" in item:
        d = ", ".join(f"{float(v):.3g}" for v in item.get("direction", ()))
        return "Force (total)", f"|F| = {float(item['magnitude']):.4g} N along ({d})"
    label, _, fields = LOAD_KINDS[physics].get(kind, (kind, True, ()))
    parts = []
    vec = [f for f in fields if f.key.startswith("vector.")]
    if vec and "vector" in item:
        f0 = vec[0]
        comps = ", ".join(f"{v * f0.scale:.4g}" for v in item["vector"])
        parts.append(f"({comps}) {f0.shown_unit}")
    for f in fields:
        if not f.key.startswith("vector.") and f.key in item:
            parts.append(f"{f.label} = {float(item[f.key]) * f.scale:.4g} {f.shown_unit}".strip())
    return label, ", ".join(parts)


def drop_load_parameters(setup: PartSetup, index: int) -> None:
    """Remove the parameters of load ``index`` and renumber those of later loads (it is deleted)."""
    kept = []
    for p in setup.parameters:
        parts = p["target"].split(".")
        if parts[0] == "loads":
            i = int(parts[1])
            if i == index:
                continue
            if i > index:
                parts[1] = str(i - 1)
                p = {**p, "target": ".".join(parts)}
        kept.append(p)
    setup.parameters = kept


def parameter_for(setup: PartSetup, target: str) -> dict[str, Any] | None:
    return next((p for p in setup.parameters if p["target"] == target), None)


_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def check_name(name: str, taken: set[str] | Mapping[str, Any], what: str) -> str:
    """A valid new name ('' = fine) for a region or parameter, or the reason it is not."""
    if not name:
        return f"Give the {what} a name."
    if not _NAME_RE.match(name):
        return (f"'{name}' is not a valid {what} name: use letters, digits, '_' or '-', starting "
                "with a letter.")
    if name in taken:
        return f"A {what} named '{name}' already exists; choose another name."
    return ""


# -- regions: what they are and which a support or load accepts -----------------------------------


# -- the set-up as a file (sweeps and surrogates of a part) ----------------------------------------
def setup_file_data(setup: PartSetup, info: PartInfo) -> dict[str, Any]:
    """The set-up JSON a sweep's workers read (docs/setup-format.md): regions made from typed
    selectors are written as their selectors, the meshing options as ``"mesh"``."""
    data = copy.deepcopy(setup.as_dict())
    for item in (*data["supports"], *data["loads"]):
        spec = info.selected.get(item.get("region") or "")
        if spec is not None:
            item["select"] = copy.deepcopy(spec)
    mesh = {"size": info.element_size, "unit": info.length_unit, "refine": info.refine,
            "curvature": info.curvature}
    data["mesh"] = {k: v for k, v in mesh.items() if v}
    return data


def setup_file_path(data: Mapping[str, Any], part_path: str) -> Path:
    """Where the set-up of a part is saved for its sweeps: named by its content, so the same
    part and set-up always give the same study id (and find the surrogates trained for it)."""
    import hashlib
    import json

    text = json.dumps({"part": str(part_path), "setup": data}, sort_keys=True)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    return user_data_dir() / "part-setups" / f"{Path(part_path).stem}-{digest}.json"


def train_problem(setup: PartSetup, info: PartInfo, problem: str) -> str:
    """Why a surrogate of this part cannot be trained ('' when it can): the sweep's workers
    rebuild the part from its file and the saved set-up."""
    if problem:
        return f"the set-up is not complete ({problem})"
    if not setup.parameters:
        return ("promote a load or material value to a slider first (Slider\u2026 in the Part "
                "set-up panel): a surrogate learns how the result follows the sliders.")
    if not Path(info.path).is_file():
        return f"the part file {info.path} is not there any more."
    if Path(info.path).suffix.lower() == ".inp":
        return ("a CalculiX/Abaqus deck cannot be swept from the app yet; save the set-up and "
                "use 'physapp sweep' on a mesh file.")
    used = {i.get("region") for i in (*setup.supports, *setup.loads)}
    picked = sorted(used & set(info.picked))
    if picked:
        return (f"regions picked by clicking ({', '.join(picked)}) cannot be found again by the "
                "sweep's workers: make them with a typed selector instead.")
    return ""


def copy_setup(setup: PartSetup) -> PartSetup:
    return PartSetup.from_dict(copy.deepcopy(setup.as_dict()))


# -- face picking on arrays -----------------------------------------------------------------------



"""Qt-free work behind the imported-part GUI: reading jobs, face picking on arrays, set-up checks.

Nothing here imports Qt or VTK, so the functions can run in the job runner's child process
(:func:`read_part`, :func:`probe_extent`, :func:`solve_part` are sent there by reference) and be
unit-tested on plain arrays (:class:`BoundaryFacets`, :func:`grow_selection`).

Face picking works on the mesh's boundary facets (triangles/quads of a solid, edges of a 2D
part): a picked point selects the facet under it, and the selection grows over neighbours (sharing
an edge in 3D, a node in 2D) whose outward normals differ by less than a feature angle.
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
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.io.readers import CAD, CORNERS, FACETS, LINEAR, SURFACES, UNIT_TO_M, ImportReport
from physapp.studies.imported import (
    ALLOWED,
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


def read_deck(path: str, unit: str | None, *, progress: ProgressFn = no_progress,
              cancel: CancelToken = NEVER):
    """A CalculiX/Abaqus deck read as a complete set-up: ``(MeshData, ImportReport, set-up dict,
    DeckReport)``; a deck without a usable set-up (a mesh only) gives ``None`` for the last two
    and the mesh as :func:`read_part` reads it."""
    from physapp.io.inp import DeckError, read_inp

    progress(0.0, f"Reading the deck {Path(path).name}")
    try:
        mesh, data, deck = read_inp(path, unit or "m")
    except DeckError as exc:
        mesh, report = read_part(path, unit, None, progress=progress, cancel=cancel)
        report.notes.append(f"Deck set-up not usable: {exc}")
        return mesh, report, None, None
    from physapp.io.readers import ImportReport

    lo, hi = mesh.bounds()
    report = ImportReport(str(path), "Abaqus/CalculiX deck", mesh.n_points, mesh.cell_counts(),
                          mesh.dim, {k: len(v) for k, v in mesh.boundaries.items()},
                          {k: len(v) for k, v in mesh.subdomains.items()},
                          (tuple(map(float, lo)), tuple(map(float, hi))), mesh.length_unit)
    return mesh, report, data, deck


def _probe_cad(path: str, self_unit: bool) -> tuple[float, float, float]:
    """Bounding box of a CAD file with gmsh (runs isolated: a native crash is reported)."""
    import gmsh

    from physapp.geometry.gmsh_session import gmsh_model

    with gmsh_model("probe"):
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
#: the set-up's region kinds (studies.imported.ALLOWED) in words
KIND_WORDS = {"boundary": "face", "line": "edge", "point": "point", "subdomain": "subdomain",
              "none": "whole part"}


def region_kind(mesh: MeshData, name: str) -> str:
    """The set-up kind of region ``name``: boundary, line, point or subdomain."""
    if name in mesh.boundaries:
        return "boundary"
    if name in mesh.edges:
        return "line"
    if name in mesh.point_sets:
        return "point"
    return "subdomain"


def region_rows(mesh: MeshData) -> list[dict[str, Any]]:
    """:func:`physapp.core.regions.describe` rows with their set-up kind (``"use"``)."""
    from physapp.core.region_names import region_label, region_shape
    from physapp.core.regions import describe

    seen = set()
    rows = []
    for r in describe(mesh):
        if r["name"] in seen:  # a name in two families: the first (as _kind_of resolves it)
            continue
        seen.add(r["name"])
        shape = region_shape(mesh, r["name"])  # "plane x = 0 mm", "cylinder r = 4 mm" (#13)
        rows.append({**r, "use": region_kind(mesh, r["name"]), "shape": shape,
                     "label": region_label(mesh, r["name"], shape)})
    return rows


def quick_region_rows(mesh: MeshData) -> list[dict[str, Any]]:
    """Region rows with names, kinds and counts only (``size``, ``centroid``, ``normal`` None):
    what the list shows while :func:`region_rows` measures them."""
    word = {"boundary": "face" if mesh.dim == 3 else "edge", "line": "edge", "point": "point",
            "subdomain": "subdomain"}
    rows = []
    for group in (mesh.boundaries, mesh.edges, mesh.point_sets, mesh.subdomains):
        for name, items in group.items():
            use = region_kind(mesh, name)
            if any(r["name"] == name for r in rows):
                continue
            rows.append({"name": name, "kind": word[use], "use": use, "count": len(items),
                         "size": None, "size_unit": "", "centroid": None, "normal": None})
    return rows


def allowed_kinds(physics: str, what: str) -> set[str]:
    """Region kinds a support (``what="support"``) or a load kind accepts."""
    return set(ALLOWED[(physics, what)])


def allowed_text(physics: str, what: str, dim: int) -> str:
    words = {"boundary": "face" if dim == 3 else "edge", "line": "edge", "point": "point",
             "subdomain": "subdomain", "none": "whole part"}
    return ", ".join(sorted({words[k] for k in allowed_kinds(physics, what)}))


def regions_for(mesh: MeshData, physics: str, what: str) -> list[str]:
    """Names of the regions a support or load of kind ``what`` may go on."""
    ok = allowed_kinds(physics, what)
    names = [*mesh.boundaries, *mesh.edges, *mesh.point_sets, *mesh.subdomains]
    out = []
    for n in dict.fromkeys(names):
        if region_kind(mesh, n) in ok and not n.startswith("_"):
            out.append(n)
    return out


def region_size_text(row: Mapping[str, Any], unit: str) -> str:
    """'12.5 mm^2', '40 mm', '3 nodes' in the part's display ``unit``."""
    if row["kind"] == "point":
        return f"{row['count']} node{'s' if row['count'] != 1 else ''}"
    f = 1.0 / UNIT_TO_M[unit]
    power = 1
    su = str(row.get("size_unit", ""))
    if "^" in su:
        power = int(su.rsplit("^", 1)[1])
    return f"{row['size'] * f ** power:.4g} {unit}" + (f"^{power}" if power > 1 else "")


def parse_selector(text: str) -> dict[str, Any]:
    """A typed selector: the JSON object of docs/setup-format.md (the braces may be left out);
    ParameterError with the reason otherwise."""
    import json

    text = text.strip()
    if not text:
        raise ParameterError('Type a selector, e.g. {"select": "plane", "point": [0, 0, 0], '
                             '"normal": [0, 0, 1]}.')
    if not text.startswith("{"):
        text = "{" + text + "}"
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ParameterError(f"The selector is not valid JSON ({exc.msg} at character "
                             f"{exc.pos}).") from None
    if not isinstance(spec, dict):
        raise ParameterError("A selector is a JSON object.")
    return spec


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


def user_data_dir() -> Path:
    """physapp's folder for the user's data (``$XDG_DATA_HOME/physapp``)."""
    import os

    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "physapp"


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
class BoundaryFacets:
    """The boundary facets of a mesh with outward unit normals and facet-to-facet adjacency.

    ``facets[i]`` holds the corner nodes of facet ``i`` (``-1`` padded: triangles in a quad mesh);
    neighbours share an edge (3D) or a node (2D meshes, whose facets are edges).
    """

    def __init__(self, mesh: MeshData) -> None:
        self.mesh = mesh
        pts = mesh.points
        rows: dict[int, list[np.ndarray]] = {}
        centres: dict[int, list[np.ndarray]] = {}
        for block in mesh.cells:
            base = LINEAR.get(block.type, block.type)
            conn = block.connectivity[:, : CORNERS[base]]
            centre = pts[conn].mean(axis=1)
            for f in FACETS[base]:
                rows.setdefault(len(f), []).append(conn[:, list(f)])
                centres.setdefault(len(f), []).append(centre)
        facets, owners = [], []
        for width, parts in rows.items():
            sub = np.concatenate(parts)
            cen = np.concatenate(centres[width])
            _, inv, counts = np.unique(np.sort(sub, axis=1), axis=0, return_inverse=True,
                                       return_counts=True)
            once = counts[inv.ravel()] == 1
            padded = np.full((int(once.sum()), 4), -1, dtype=np.int64)
            padded[:, :width] = sub[once]
            facets.append(padded)
            owners.append(cen[once])
        self.facets = np.concatenate(facets) if facets else np.zeros((0, 4), np.int64)
        self.width = (self.facets >= 0).sum(axis=1)
        owner = np.concatenate(owners) if owners else np.zeros((0, 3))
        self.normals = self._normals(owner)
        safe = np.where(self.facets >= 0, self.facets, self.facets[:, :1])
        mask = (self.facets >= 0)[:, :, None]
        self.centres = (self.mesh.points[safe] * mask).sum(axis=1) / np.maximum(
            self.width, 1)[:, None]
        self._adjacency = self._build_adjacency()
        self._index = {tuple(sorted(f[:w])): i for i, (f, w) in
                       enumerate(zip(self.facets.tolist(), self.width.tolist(), strict=True))}

    def __len__(self) -> int:
        return len(self.facets)

    def _normals(self, owner: np.ndarray) -> np.ndarray:
        pts, f = self.mesh.points, self.facets
        if len(f) == 0:
            return np.zeros((0, 3))
        if self.mesh.dim == 2:
            t = pts[f[:, 1]] - pts[f[:, 0]]
            n = np.column_stack([-t[:, 1], t[:, 0], np.zeros(len(t))])
        else:
            quad = self.width == 4
            d1 = np.where(quad[:, None], pts[f[:, 2]] - pts[f[:, 0]], pts[f[:, 1]] - pts[f[:, 0]])
            last = np.where(quad, f[:, 3], f[:, 2])
            d2 = np.where(quad[:, None], pts[last] - pts[f[:, 1]], pts[f[:, 2]] - pts[f[:, 0]])
            n = np.cross(d1, d2)
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        mid = pts[f[:, 0]]
        flip = np.einsum("ij,ij->i", n, mid - owner) < 0  # point away from the owning cell
        n[flip] *= -1
        return n

    def _build_adjacency(self):
        from scipy.sparse import coo_matrix

        n = len(self.facets)
        keys, ids = [], []
        for w in np.unique(self.width):
            sel = np.flatnonzero(self.width == w)
            f = self.facets[sel, :w]
            if self.mesh.dim == 2:
                for k in range(w):
                    keys.append(np.column_stack([f[:, k], f[:, k]]))
                    ids.append(sel)
            else:
                for k in range(w):
                    keys.append(np.sort(np.column_stack([f[:, k], f[:, (k + 1) % w]]), axis=1))
                    ids.append(sel)
        if not keys:
            return coo_matrix((n, n)).tocsr()
        key = np.concatenate(keys)
        fid = np.concatenate(ids)
        _, inv = np.unique(key, axis=0, return_inverse=True)
        inv = inv.ravel()
        order = np.argsort(inv, kind="stable")
        inv_s, fid_s = inv[order], fid[order]
        starts = np.flatnonzero(np.r_[True, inv_s[1:] != inv_s[:-1]])
        ends = np.r_[starts[1:], len(inv_s)]
        rows, cols = [], []
        for s, e in zip(starts, ends, strict=True):  # usually two facets per edge
            group = fid_s[s:e]
            if len(group) < 2:
                continue
            a, b = np.meshgrid(group, group)
            mask = a != b
            rows.append(a[mask])
            cols.append(b[mask])
        if not rows:
            return coo_matrix((n, n)).tocsr()
        r, c = np.concatenate(rows), np.concatenate(cols)
        return coo_matrix((np.ones(len(r)), (r, c)), shape=(n, n)).tocsr()

    def neighbours(self, i: int) -> np.ndarray:
        a = self._adjacency
        return a.indices[a.indptr[i]:a.indptr[i + 1]]

    def grow(self, seed: int, feature_angle: float = 30.0) -> np.ndarray:
        """Facet indices reached from ``seed`` over neighbours whose normals differ by less
        than ``feature_angle`` degrees (sorted)."""
        return grow_selection(self.normals, self._adjacency, seed, feature_angle)

    def facet_at(self, point) -> int:
        """The boundary facet under a picked point (on or next to the surface); -1 if none."""
        p = np.asarray(point, dtype=float)
        if len(self.facets) == 0:
            return -1
        pts = self.mesh.points
        if self.mesh.dim == 2:
            a, b = pts[self.facets[:, 0]], pts[self.facets[:, 1]]
            t = b - a
            s = np.clip(np.einsum("ij,ij->i", p - a, t) / np.maximum(
                np.einsum("ij,ij->i", t, t), 1e-300), 0.0, 1.0)
            d = np.linalg.norm(a + s[:, None] * t - p, axis=1)
            return int(np.argmin(d))
        # triangles (quads as two) with their facet index; distance from p to each triangle
        tri, owner = [self.facets[:, :3]], [np.arange(len(self.facets))]
        quad = np.flatnonzero(self.width == 4)
        if len(quad):
            tri.append(self.facets[quad][:, [0, 2, 3]])
            owner.append(quad)
        tri, owner = np.concatenate(tri), np.concatenate(owner)
        d = _point_triangle_distance(p, pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]])
        return int(owner[np.argmin(d)])

    def index_of(self, facets: np.ndarray) -> np.ndarray:
        """Indices of given facets (node rows, any order); -1 for rows that are not boundary
        facets of this mesh."""
        out = np.full(len(facets), -1, dtype=np.int64)
        for k, row in enumerate(np.asarray(facets, dtype=np.int64).tolist()):
            out[k] = self._index.get(tuple(sorted(v for v in row if v >= 0)), -1)
        return out

    def region_array(self, selection: np.ndarray) -> np.ndarray:
        """The selected facets as a region array for MeshData (quads split into triangles
        when the selection mixes triangles and quads)."""
        sel = np.asarray(selection, dtype=np.int64)
        f, w = self.facets[sel], self.width[sel]
        widths = set(w.tolist())
        if len(widths) == 1:
            return f[:, : widths.pop()].copy()
        tris = [f[w == 3, :3], f[w == 4][:, [0, 1, 2]], f[w == 4][:, [0, 2, 3]]]
        return np.concatenate(tris)


def grow_selection(normals: np.ndarray, adjacency, seed: int, feature_angle: float) -> np.ndarray:
    """Flood fill over ``adjacency`` (a CSR matrix) from ``seed``, crossing only between facets
    whose unit normals make an angle below ``feature_angle`` degrees."""
    cos = math.cos(math.radians(float(feature_angle)))
    seen = np.zeros(len(normals), dtype=bool)
    seen[seed] = True
    frontier = np.array([seed])
    indptr, indices = adjacency.indptr, adjacency.indices
    while len(frontier):
        nxt = []
        for i in frontier:
            nb = indices[indptr[i]:indptr[i + 1]]
            nb = nb[~seen[nb]]
            ok = nb[normals[nb] @ normals[i] >= cos - 1e-12]
            seen[ok] = True
            nxt.append(ok)
        frontier = np.concatenate(nxt) if nxt else np.array([], dtype=np.int64)
    return np.flatnonzero(seen)


def _point_triangle_distance(p, a, b, c) -> np.ndarray:
    """Distance from point ``p`` to each triangle (a, b, c) (rows), vectorised."""
    ab, ac, ap = b - a, c - a, p - a
    n = np.cross(ab, ac)
    nn = np.maximum(np.einsum("ij,ij->i", n, n), 1e-300)
    # barycentric coordinates of the projection of p
    v = np.einsum("ij,ij->i", np.cross(ap, ac), n) / nn
    w = np.einsum("ij,ij->i", np.cross(ab, ap), n) / nn
    u = 1 - v - w
    inside = (u >= -1e-9) & (v >= -1e-9) & (w >= -1e-9)
    d_plane = np.abs(np.einsum("ij,ij->i", ap, n)) / np.sqrt(nn)

    def seg(x, y):
        t = y - x
        s = np.clip(np.einsum("ij,ij->i", p - x, t) / np.maximum(np.einsum("ij,ij->i", t, t),
                                                                 1e-300), 0, 1)
        return np.linalg.norm(x + s[:, None] * t - p, axis=1)

    d_edge = np.minimum(np.minimum(seg(a, b), seg(b, c)), seg(c, a))
    return np.where(inside, d_plane, d_edge)


def with_region(mesh: MeshData, name: str, facets: np.ndarray) -> MeshData:
    """A copy of ``mesh`` with one more boundary region."""
    return MeshData(mesh.points, mesh.cells, {**mesh.boundaries, name: np.asarray(facets)},
                    mesh.subdomains, mesh.dim, mesh.length_unit)

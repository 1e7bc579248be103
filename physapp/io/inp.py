"""CalculiX / Abaqus input decks (``.inp``) as a complete set-up: mesh, regions, material, loads.

Understood keywords: ``*NODE``, ``*ELEMENT`` (C3D4, C3D10, C3D8/R/I, C3D20/R, C3D6, C3D15, C3D5,
C3D13 and the plane-stress / plane-strain / axisymmetric CPS*, CPE*, CAX* families), ``*NSET`` and
``*ELSET`` (with GENERATE) as regions, ``*SURFACE`` (element faces), ``*MATERIAL`` with
``*ELASTIC``, ``*DENSITY``, ``*CONDUCTIVITY``, ``*EXPANSION``, ``*SOLID SECTION``, ``*STEP``,
``*STATIC``, ``*HEAT TRANSFER`` (steady state), ``*BOUNDARY`` (displacement DOFs 1-3,
temperature DOF 11), ``*CLOAD``, ``*DLOAD`` (face pressure P1..P6, ``GRAV``, ``P`` on 2D edges),
``*DFLUX`` (face flux S1..S6, body flux BF), ``*FILM`` (F1..F6), ``*END STEP``. Output requests
are noted as ignored; any other keyword is listed as unsupported in the report, never dropped
silently. Values are taken in the deck's consistent units as SI (m, N, Pa, W).

:func:`read_inp` returns the mesh, the set-up as a JSON-able dict in the form of
:class:`physapp.studies.imported.PartSetup` (io does not import studies) and a report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import CellBlock, MeshData

#: element type -> (meshio cell type, analysis for 2D or "3d")
ELEMENTS = {
    "C3D4": ("tetra", "3d"), "C3D10": ("tetra10", "3d"), "C3D10T": ("tetra10", "3d"),
    "C3D8": ("hexahedron", "3d"), "C3D8R": ("hexahedron", "3d"), "C3D8I": ("hexahedron", "3d"),
    "C3D20": ("hexahedron20", "3d"), "C3D20R": ("hexahedron20", "3d"),
    "C3D6": ("wedge", "3d"), "C3D15": ("wedge15", "3d"), "C3D5": ("pyramid", "3d"),
    "C3D13": ("pyramid13", "3d"), "DC3D4": ("tetra", "3d"), "DC3D10": ("tetra10", "3d"),
    "DC3D8": ("hexahedron", "3d"), "DC3D20": ("hexahedron20", "3d"),
}
for _fam, _an in (("CPS", "plane_stress"), ("CPE", "plane_strain"), ("CAX", "axisymmetric"),
                  ("DC2D", "planar"), ("DCAX", "axisymmetric")):
    for _n, _t in (("3", "triangle"), ("6", "triangle6"), ("4", "quad"), ("4R", "quad"),
                   ("8", "quad8"), ("8R", "quad8")):
        ELEMENTS[_fam + _n] = (_t, _an)

#: element faces (1-based Abaqus face number -> local corner nodes), by linear cell type
FACES = {
    "tetra": ((0, 1, 2), (0, 3, 1), (1, 3, 2), (2, 3, 0)),
    "hexahedron": ((0, 1, 2, 3), (4, 7, 6, 5), (0, 4, 5, 1), (1, 5, 6, 2), (2, 6, 7, 3),
                   (3, 7, 4, 0)),
    "wedge": ((0, 1, 2), (3, 5, 4), (0, 3, 4, 1), (1, 4, 5, 2), (2, 5, 3, 0)),
    "triangle": ((0, 1), (1, 2), (2, 0)),
    "quad": ((0, 1), (1, 2), (2, 3), (3, 0)),
}
OUTPUT_KEYWORDS = {"NODE FILE", "EL FILE", "NODE PRINT", "EL PRINT", "OUTPUT", "NODE OUTPUT",
                   "ELEMENT OUTPUT", "CONTACT FILE", "CONTACT PRINT", "SECTION PRINT",
                   "HEADING", "PREPRINT", "RESTART"}
HANDLED = {"NODE", "ELEMENT", "NSET", "ELSET", "SURFACE", "MATERIAL", "ELASTIC", "DENSITY",
           "CONDUCTIVITY", "EXPANSION", "SOLID SECTION", "STEP", "STATIC", "HEAT TRANSFER",
           "BOUNDARY", "CLOAD", "DLOAD", "DFLUX", "FILM", "END STEP", "SPECIFIC HEAT"}


class DeckError(PhysappError):
    """A deck physapp cannot turn into a set-up; the message says where and why."""


@dataclass
class DeckReport:
    """What was understood of a deck: counts, the analysis, and what was left out."""

    path: str
    analysis: str = ""
    physics: str = ""
    elements: dict[str, int] = field(default_factory=dict)
    unsupported: dict[str, int] = field(default_factory=dict)  # keyword -> lines with it
    ignored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"{self.path}: CalculiX/Abaqus deck, {self.physics} ({self.analysis}); "
                 + ", ".join(f"{n} {t}" for t, n in self.elements.items())]
        if self.unsupported:
            lines.append("unsupported keywords (not applied): " + ", ".join(
                f"*{k} (line {v})" for k, v in self.unsupported.items()))
        lines += [f"ignored: {i}" for i in self.ignored] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _cards(text: str):
    """(keyword, params, data rows, line number) for each keyword card of the deck."""
    card = None
    pending = ""
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("**"):
            continue
        if line.startswith("*"):
            if card is not None:
                if pending:
                    card[2].append(pending)
                    pending = ""
                yield card
            parts = [p.strip() for p in line[1:].split(",")]
            params = {}
            for p in parts[1:]:
                if p:
                    k, _, v = p.partition("=")
                    params[k.strip().upper()] = v.strip()
            card = [" ".join(parts[0].upper().split()), params, [], no]
            continue
        if card is None:
            raise DeckError(f"line {no}: data before the first keyword.")
        pending += line
        if line.endswith(","):  # element definitions continue on the next line
            continue
        card[2].append(pending)
        pending = ""
    if card is not None:
        if pending:
            card[2].append(pending)
        yield card


def _fields(row: str) -> list[str]:
    return [f.strip() for f in row.split(",") if f.strip() != ""]


def _ints(row: str, no: int) -> list[int]:
    try:
        return [int(float(f)) for f in _fields(row)]
    except ValueError:
        raise DeckError(f"line {no}: expected integers in '{row}'.") from None


def _floats(row: str, no: int) -> list[float]:
    try:
        return [float(f) for f in _fields(row)]
    except ValueError:
        raise DeckError(f"line {no}: expected numbers in '{row}'.") from None


def read_inp(path: str | Path, length_unit: str = "m") -> tuple[MeshData, dict, DeckReport]:
    """Read a deck: the mesh, the set-up (PartSetup dict) and a report (module docstring)."""
    from physapp.io.readers import UNIT_TO_M

    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise DeckError(f"Could not read '{path}': {exc}") from None
    scale = UNIT_TO_M[length_unit]
    report = DeckReport(str(path))
    node_ids: list[int] = []
    coords: list[list[float]] = []
    elems: dict[str, list[tuple[int, list[int]]]] = {}
    elem_analysis: set[str] = set()
    nsets: dict[str, list[int]] = {}
    elsets: dict[str, list[int]] = {}
    surfaces: dict[str, list[tuple[str, int]]] = {}
    materials: dict[str, dict[str, float]] = {}
    sections: list[tuple[str, str]] = []
    current_mat = None
    steps: list[dict] = []
    step: dict | None = None
    for kw, params, rows, no in _cards(text):
        if kw in OUTPUT_KEYWORDS:
            report.ignored.append(f"*{kw} (output request, line {no})")
            continue
        if kw not in HANDLED:
            report.unsupported.setdefault(kw, no)
            continue
        if kw == "NODE":
            ids = []
            for r in rows:
                v = _floats(r, no)
                ids.append(int(v[0]))
                node_ids.append(int(v[0]))
                coords.append((v[1:4] + [0.0, 0.0, 0.0])[:3])
            if "NSET" in params:
                nsets.setdefault(params["NSET"].upper(), []).extend(ids)
        elif kw == "ELEMENT":
            etype = params.get("TYPE", "").upper()
            if etype not in ELEMENTS:
                report.unsupported.setdefault(f"ELEMENT, TYPE={etype}", no)
                continue
            cell, an = ELEMENTS[etype]
            elem_analysis.add(an)
            ids = []
            for r in rows:
                v = _ints(r, no)
                elems.setdefault(cell, []).append((v[0], v[1:]))
                ids.append(v[0])
            if "ELSET" in params:
                elsets.setdefault(params["ELSET"].upper(), []).extend(ids)
        elif kw in ("NSET", "ELSET"):
            target = nsets if kw == "NSET" else elsets
            name = params.get(kw, "").upper()
            ids = []
            for r in rows:
                if "GENERATE" in params:
                    a, b, *c = _ints(r, no)
                    ids.extend(range(a, b + 1, c[0] if c else 1))
                else:
                    for f in _fields(r):
                        if f.upper() in target:
                            ids.extend(target[f.upper()])
                        else:
                            ids.append(int(float(f)))
            target.setdefault(name, []).extend(ids)
        elif kw == "SURFACE":
            name = params.get("NAME", "").upper()
            if params.get("TYPE", "ELEMENT").upper() != "ELEMENT":
                report.unsupported.setdefault(f"SURFACE, TYPE={params['TYPE']}", no)
                continue
            for r in rows:
                f = _fields(r)
                surfaces.setdefault(name, []).append((f[0].upper(), int(f[1].upper().lstrip("S"))))
        elif kw == "MATERIAL":
            current_mat = params.get("NAME", f"material_{len(materials) + 1}").upper()
            materials[current_mat] = {}
        elif kw in ("ELASTIC", "DENSITY", "CONDUCTIVITY", "EXPANSION", "SPECIFIC HEAT"):
            if current_mat is None:
                raise DeckError(f"line {no}: *{kw} outside a *MATERIAL.")
            v = _floats(rows[0], no) if rows else []
            if len(rows) > 1:
                report.notes.append(f"*{kw} of {current_mat} has a temperature table; the first "
                                    "row is used")
            if kw == "ELASTIC":
                if params.get("TYPE", "ISO").upper() not in ("ISO", "ISOTROPIC"):
                    report.unsupported.setdefault(f"ELASTIC, TYPE={params['TYPE']}", no)
                    continue
                materials[current_mat].update(youngs_modulus=v[0], poissons_ratio=v[1])
            elif kw == "DENSITY":
                materials[current_mat]["density"] = v[0]
            elif kw == "CONDUCTIVITY":
                materials[current_mat]["conductivity"] = v[0]
            elif kw == "EXPANSION":
                materials[current_mat]["expansion"] = v[0]
            else:
                report.ignored.append(f"*SPECIFIC HEAT of {current_mat} (steady analyses only)")
        elif kw == "SOLID SECTION":
            sections.append((params.get("ELSET", "").upper(), params.get("MATERIAL", "").upper()))
            if rows and _floats(rows[0], no) and _floats(rows[0], no)[0] not in (0.0, 1.0):
                report.notes.append(f"section thickness {rows[0]} (line {no}): loads are per "
                                    "unit thickness")
        elif kw == "STEP":
            step = {"kind": "", "cards": []}
            steps.append(step)
        elif kw == "STATIC":
            _in_step(step, no, kw)["kind"] = "elasticity"
        elif kw == "HEAT TRANSFER":
            s = _in_step(step, no, kw)
            s["kind"] = "heat"
            if "STEADY STATE" not in params:
                report.notes.append(f"*HEAT TRANSFER (line {no}) without STEADY STATE: solved "
                                    "as steady state")
        elif kw == "END STEP":
            step = None
        else:  # BOUNDARY, CLOAD, DLOAD, DFLUX, FILM
            (step if step is not None else _global(steps))["cards"].append((kw, params, rows, no))
    if not coords:
        raise DeckError(f"'{path.name}' has no *NODE data.")
    if not elems:
        raise DeckError(f"'{path.name}' has no elements of a supported type "
                        f"({', '.join(sorted(report.unsupported)) or 'none'}).")
    # mesh: node ids -> indices, cells in blocks
    pts = np.asarray(coords, dtype=float) * scale
    ids = np.asarray(node_ids, dtype=np.int64)
    index = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    index[ids] = np.arange(len(ids))
    dims = {3 if ELEMENTS_DIM[c] == 3 else 2 for c in elems}
    if len(dims) > 1:
        raise DeckError("The deck mixes 2D and 3D elements; physapp solves one dimension.")
    dim = dims.pop()
    blocks, elem_pos, elem_cell = [], {}, {}
    offset = 0
    for cell, lst in elems.items():
        conn = np.asarray([c for _, c in lst], dtype=np.int64)
        from physapp.core.mesh import CELL_INFO

        if conn.shape[1] != CELL_INFO[cell][0]:
            raise DeckError(f"{cell} elements need {CELL_INFO[cell][0]} nodes (got "
                            f"{conn.shape[1]}).")
        if conn.max() >= len(index) or np.any(index[conn] < 0):
            raise DeckError("An element refers to a node that is not defined.")
        blocks.append(CellBlock(cell, index[conn]))
        for k, (eid, _) in enumerate(lst):
            elem_pos[eid] = offset + k
            elem_cell[eid] = (cell, index[np.asarray(lst[k][1])])
        offset += len(lst)
        report.elements[cell] = len(lst)
    boundaries: dict[str, np.ndarray] = {}
    subdomains = {n: np.asarray([elem_pos[e] for e in v if e in elem_pos], dtype=np.int64)
                  for n, v in elsets.items()}
    subdomains = {n: v for n, v in subdomains.items() if len(v)}
    point_sets = {n: index[np.asarray(v, dtype=np.int64)] for n, v in nsets.items()
                  if v and max(v) < len(index) and np.all(index[np.asarray(v)] >= 0)}

    def faces_of(elset_or_id: str, face: int) -> np.ndarray:
        eids = elsets.get(elset_or_id) if elset_or_id in elsets else [int(elset_or_id)]
        out = []
        for e in eids:
            cell, nodes = elem_cell[e]
            base = cell.rstrip("0123456789")
            out.append(nodes[list(FACES[base][face - 1])])
        return np.asarray(out, dtype=np.int64)

    for name, items in surfaces.items():
        parts = [faces_of(s, f) for s, f in items]
        boundaries[name] = _stack(parts)
    # the set-up
    kinds = {s["kind"] for s in steps if s["kind"]}
    if len(kinds) > 1:
        report.notes.append("the deck has several steps of different kinds; the first is used")
    physics = next((s["kind"] for s in steps if s["kind"]), "elasticity")
    step_cards = [c for s in steps for c in s["cards"]] if steps else []
    an = elem_analysis.pop() if len(elem_analysis) == 1 else "3d"
    if physics == "heat":
        an = {"plane_stress": "planar", "plane_strain": "planar", "3d": "3d"}.get(an, an)
    report.physics, report.analysis = physics, an
    setup: dict = {"physics": physics, "material": "custom", "material_overrides": {},
                   "supports": [], "loads": [], "parameters": [], "analysis": an,
                   "regions": {}}
    mats = {m: v for m, v in materials.items()}
    used = [m for _, m in sections if m in mats] or list(mats)
    if not used:
        raise DeckError("The deck has no *MATERIAL; physapp needs its properties.")
    setup["material_overrides"] = dict(mats[used[0]])
    if len({m for _, m in sections}) > 1:
        for elset, m in sections:
            if elset in subdomains and m in mats:
                setup["regions"][elset] = dict(mats[m])
    new_nsets: dict[str, np.ndarray] = {}

    def node_region(target: str) -> str:
        t = target.upper()
        if t in point_sets:
            return t
        try:
            nid = int(float(t))
        except ValueError:
            raise DeckError(f"'{target}' is neither a node set nor a node number.") from None
        name = f"node_{nid}"
        new_nsets[name] = index[[nid]]
        return name

    surf_count = [0]

    def face_region(target: str, label: str, prefix: str) -> str:
        face = int(label.upper().lstrip(prefix))
        name = f"{target.upper()}_{prefix}{face}"
        if name not in boundaries:
            boundaries[name] = faces_of(target.upper(), face)
        surf_count[0] += 1
        return name

    for kw, _params, rows, no in step_cards:
        for r in rows:
            f = _fields(r)
            if kw == "BOUNDARY":
                region = node_region(f[0])
                first = int(f[1])
                last = int(f[2]) if len(f) > 2 and f[2] else first
                value = float(f[3]) if len(f) > 3 else 0.0
                if physics == "heat" or first == 11:
                    if first != 11:
                        report.notes.append(f"line {no}: *BOUNDARY DOF {first} ignored in heat")
                        continue
                    setup["loads"].append({"kind": "temperature", "region": region,
                                           "value": value})
                    continue
                comps = [d - 1 for d in range(first, min(last, 3) + 1) if d <= dim]
                if not comps:
                    report.notes.append(f"line {no}: *BOUNDARY DOF {first}-{last} (rotations) "
                                        "ignored: solid elements have no rotations")
                    continue
                item = {"region": region, "components": comps}
                if value:
                    item["values"] = [value] * len(comps)
                setup["supports"].append(item)
            elif kw == "CLOAD":
                region = node_region(f[0])
                dof, value = int(f[1]), float(f[2])
                if dof > dim:
                    report.notes.append(f"line {no}: *CLOAD on DOF {dof} ignored")
                    continue
                n = len(point_sets.get(region, new_nsets.get(region, [0])))
                vec = [0.0] * dim
                vec[dof - 1] = value * n  # CalculiX applies the value at every node of the set
                setup["loads"].append({"kind": "force", "region": region, "vector": vec})
            elif kw == "DLOAD":
                label = f[1].upper()
                if label == "GRAV":
                    g, d = float(f[2]), [float(x) for x in f[3:6]]
                    setup["loads"].append({"kind": "gravity",
                                           "vector": [g * x for x in d][:dim]})
                elif label.startswith("P") and label[1:].isdigit():
                    setup["loads"].append({"kind": "pressure", "value": float(f[2]),
                                           "region": face_region(f[0], label, "P")})
                else:
                    report.unsupported.setdefault(f"DLOAD {label}", no)
            elif kw == "DFLUX":
                label = f[1].upper()
                if label == "BF":
                    target = f[0].upper()
                    item = {"kind": "source", "value": float(f[2])}
                    if target in subdomains and len(subdomains[target]) < offset:
                        item["region"] = target
                    setup["loads"].append(item)
                elif label.startswith("S") and label[1:].isdigit():
                    setup["loads"].append({"kind": "heat_flux", "value": float(f[2]),
                                           "region": face_region(f[0], label, "S")})
                else:
                    report.unsupported.setdefault(f"DFLUX {label}", no)
            elif kw == "FILM":
                label = f[1].upper()
                if label.startswith("F") and label[1:].isdigit():
                    setup["loads"].append({"kind": "convection", "t_inf": float(f[2]),
                                           "h": float(f[3]),
                                           "region": face_region(f[0], label, "F")})
                else:
                    report.unsupported.setdefault(f"FILM {label}", no)
    if physics == "heat":
        for m in setup["regions"].values():
            m.pop("youngs_modulus", None)
    mesh = MeshData(pts, tuple(blocks), boundaries, subdomains, dim, "m", {},
                    {**point_sets, **new_nsets})
    if dim == 3 and surf_count[0] == 0 and not boundaries:
        report.notes.append("no surfaces in the deck: loads are on node sets")
    return mesh, setup, report


ELEMENTS_DIM = {"tetra": 3, "tetra10": 3, "hexahedron": 3, "hexahedron20": 3, "wedge": 3,
                "wedge15": 3, "pyramid": 3, "pyramid13": 3, "triangle": 2, "triangle6": 2,
                "quad": 2, "quad8": 2}


def _in_step(step, no: int, kw: str) -> dict:
    if step is None:
        raise DeckError(f"line {no}: *{kw} outside a *STEP.")
    return step


def _global(steps: list[dict]) -> dict:
    """Loads given before any *STEP (model data) go into a first, implicit step."""
    if not steps:
        steps.append({"kind": "", "cards": []})
    return steps[0]


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    widths = {p.shape[1] for p in parts}
    if len(widths) == 1:
        return np.concatenate(parts)
    return np.concatenate([p if p.shape[1] != 4 else np.concatenate([p[:, [0, 1, 2]],
                                                                       p[:, [0, 2, 3]]])
                           for p in parts])

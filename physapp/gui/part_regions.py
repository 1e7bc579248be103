"""The regions of an imported part as the set-up panel lists them (Qt-free): their kind, size,
centroid and normal, which regions a support or load accepts, and typed geometric selectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from physapp.core.errors import ParameterError
from physapp.core.labels import pretty_unit
from physapp.core.mesh import MeshData
from physapp.io.readers import UNIT_TO_M
from physapp.studies.imported import (
    ALLOWED,
)

#: suffixes the File > Open dialog lists (meshio formats physapp reads, CAD, closed surfaces)
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


def region_rows(mesh: MeshData, unit: str | None = None) -> list[dict[str, Any]]:
    """:func:`physapp.core.regions.describe` rows with their set-up kind (``"use"``) and their
    readable shape and label, lengths in ``unit`` (the part's display unit, as its sizes)."""
    from physapp.core.region_names import region_label, region_shape
    from physapp.core.regions import describe

    seen = set()
    rows = []
    for r in describe(mesh):
        if r["name"] in seen:  # a name in two families: the first (as _kind_of resolves it)
            continue
        seen.add(r["name"])
        # "plane x = 0 mm", "cylinder r = 4 mm" (#13), in the unit the sizes are shown in
        shape = region_shape(mesh, r["name"], unit)
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
    """'12.5 mm²', '40 mm', '3 nodes' in the part's display ``unit``."""
    if row["kind"] == "point":
        return f"{row['count']} node{'s' if row['count'] != 1 else ''}"
    f = 1.0 / UNIT_TO_M[unit]
    power = 1
    su = str(row.get("size_unit", ""))
    if "^" in su:
        power = int(su.rsplit("^", 1)[1])
    return pretty_unit(f"{row['size'] * f ** power:.4g} {unit}"
                       + (f"^{power}" if power > 1 else ""))  # mm² (core.labels)


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

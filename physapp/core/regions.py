"""Regions of a mesh: what they are (kind, size, centroid, normal) and geometric selectors.

A selector picks mesh entities by geometry, so a set-up survives remeshing (node numbers and
facet counts change, the geometry does not). JSON form (lengths in metres)::

    {"select": "plane", "point": [x, y, z], "normal": [nx, ny, nz], "tol": 1e-6}
    {"select": "box", "min": [x0, y0, z0], "max": [x1, y1, z1]}
    {"select": "cylinder", "point": [...], "axis": [...], "radius": r, "inside": false}
    {"select": "sphere", "centre": [...], "radius": r, "inside": false}
    {"select": "point", "at": [x, y, z]}

with optional ``"kind"`` (``face``, ``edge``, ``point``, ``subdomain``; default: face in 3D, edge
in 2D), ``"on"`` (a region name: keep only entities lying on it, e.g. the edges of a plane that are
on one face) and ``"pieces"`` (the number of connected pieces expected; a different count is an
error). An entity is matched when all its corner nodes satisfy the selector (subdomain cells: their
centroid). Cylinders and spheres match their surface within ``tol`` unless ``"inside": true``.
``tol`` defaults to 1e-5 of the part's diagonal. A selector that matches nothing is an error that
says how far the nearest node is; otherwise the report says what it matched, in how many pieces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData

#: corner-node faces of 3D cells and edges of 2D cells (meshio order), by linear type (the one
#: table: the readers and the GUI use it too)
FACETS = {
    "triangle": ((0, 1), (1, 2), (2, 0)),
    "quad": ((0, 1), (1, 2), (2, 3), (3, 0)),
    "tetra": ((0, 2, 1), (0, 1, 3), (1, 2, 3), (0, 3, 2)),
    "hexahedron": ((0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6),
                   (3, 0, 4, 7)),
    "wedge": ((0, 2, 1), (3, 4, 5), (0, 1, 4, 3), (1, 2, 5, 4), (2, 0, 3, 5)),
    "pyramid": ((0, 3, 2, 1), (0, 1, 4), (1, 2, 4), (2, 3, 4), (3, 0, 4)),
}
CORNERS = {"line": 2, "triangle": 3, "quad": 4, "tetra": 4, "hexahedron": 8, "wedge": 6,
           "pyramid": 5}
SELECTORS = ("plane", "box", "cylinder", "sphere", "point")
KINDS = ("face", "edge", "point", "subdomain")


def _base(cell_type: str) -> str:
    return cell_type.rstrip("0123456789")


def boundary_facets(mesh: MeshData) -> list[np.ndarray]:
    """Corner-node facets (3D faces, 2D edges) that belong to exactly one domain cell."""
    from physapp.core.facets import boundary_facet_groups, in_scan_order

    return in_scan_order(boundary_facet_groups(((b.type, b.connectivity) for b in mesh.cells),
                                               FACETS, CORNERS))


def _facet_geometry(points: np.ndarray, facets: np.ndarray, dim: int):
    """(size, centroid, unit normal) per facet: segments (2D) or triangles / quads (3D)."""
    p = points[facets]
    centroid = p.mean(axis=1)
    if facets.shape[1] == 2:
        t = p[:, 1] - p[:, 0]
        size = np.linalg.norm(t, axis=1)
        n = np.column_stack([t[:, 1], -t[:, 0], np.zeros(len(t))])
    else:
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        if facets.shape[1] == 4:
            n = 0.5 * (n + np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]))
            size = np.linalg.norm(n, axis=1)
        else:
            size = 0.5 * np.linalg.norm(n, axis=1)
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    return size, centroid, n / np.maximum(norm, 1e-300)


def _cells_geometry(mesh: MeshData) -> tuple[np.ndarray, np.ndarray]:
    """(volume or area, centroid) of every domain cell (corner nodes, simplices split)."""
    vols, cents = [], []
    for block in mesh.cells:
        base = _base(block.type)
        c = block.connectivity[:, : CORNERS[base]]
        p = mesh.points[c]
        cents.append(p.mean(axis=1))
        if mesh.dim == 2:
            q = np.concatenate([p, p[:, :1]], axis=1)
            area = 0.5 * np.abs(np.sum(q[:, :-1, 0] * q[:, 1:, 1] - q[:, 1:, 0] * q[:, :-1, 1],
                                       axis=1))
            vols.append(area)
        else:  # tetrahedra from the centroid to the triangulated faces
            v = np.zeros(len(c))
            ctr = p.mean(axis=1)
            for face in FACETS[base]:
                f = [mesh.points[c[:, k]] for k in face]
                for k in range(1, len(face) - 1):
                    v += np.abs(np.einsum("ij,ij->i", f[k] - f[0],
                                          np.cross(f[k + 1] - f[0], ctr - f[0]))) / 6.0
            vols.append(v)
    return np.concatenate(vols), np.concatenate(cents)


def describe(mesh: MeshData) -> list[dict]:
    """Every region: name, kind, count, size (area / length / volume), centroid, and the normal
    of a flat face (None otherwise). Lengths in the mesh's unit."""
    out = []
    unit = mesh.length_unit
    for name, facets in mesh.boundaries.items():
        facets = np.asarray(facets)
        size, cent, n = _facet_geometry(mesh.points, facets, mesh.dim)
        total = float(size.sum())
        centroid = (size[:, None] * cent).sum(axis=0) / max(total, 1e-300)
        normal = None
        mean_n = (size[:, None] * n).sum(axis=0)
        if np.linalg.norm(mean_n) > 0:
            mean_n /= np.linalg.norm(mean_n)
            if np.all(np.abs(n @ mean_n) > 1 - 1e-6):
                normal = [round(float(v), 6) + 0.0 for v in mean_n]
        kind = "face" if mesh.dim == 3 else "edge"
        out.append({"name": name, "kind": kind, "count": len(facets),
                    "size": total, "size_unit": f"{unit}^2" if mesh.dim == 3 else unit,
                    "centroid": [float(v) for v in centroid], "normal": normal})
    for name, segs in mesh.edges.items():
        segs = np.asarray(segs)
        size, cent, _ = _facet_geometry(mesh.points, segs, 2)
        total = float(size.sum())
        centroid = (size[:, None] * cent).sum(axis=0) / max(total, 1e-300)
        out.append({"name": name, "kind": "edge", "count": len(segs), "size": total,
                    "size_unit": unit, "centroid": [float(v) for v in centroid], "normal": None})
    for name, nodes in mesh.point_sets.items():
        nodes = np.unique(nodes)
        out.append({"name": name, "kind": "point", "count": len(nodes), "size": float(len(nodes)),
                    "size_unit": "nodes",
                    "centroid": [float(v) for v in mesh.points[nodes].mean(axis=0)],
                    "normal": None})
    if mesh.subdomains:
        vol, cent = _cells_geometry(mesh)
        for name, idx in mesh.subdomains.items():
            idx = np.asarray(idx)
            total = float(vol[idx].sum())
            centroid = (vol[idx, None] * cent[idx]).sum(axis=0) / max(total, 1e-300)
            out.append({"name": name, "kind": "subdomain", "count": len(idx), "size": total,
                        "size_unit": f"{unit}^{mesh.dim}",
                        "centroid": [float(v) for v in centroid], "normal": None})
    return out


def describe_text(mesh: MeshData) -> str:
    """One line per region for ``physapp info``."""
    lines = []
    for r in describe(mesh):
        c = ", ".join(f"{v:.4g}" for v in r["centroid"][: max(mesh.dim, 2)])
        normal = ""
        if r["normal"] is not None:
            normal = ", normal (" + ", ".join(f"{v:.3g}" for v in r["normal"][:mesh.dim]) + ")"
        size = f"{r['size']:.4g} {r['size_unit']}" if r["kind"] != "point" else \
            f"{r['count']} node(s)"
        lines.append(f"  {r['name']}: {r['kind']}, {size}, centroid ({c}){normal}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Selection:
    """What a selector matched: ``kind``, the entities (facets, segments, node ids or cell ids),
    the number of connected pieces and a one-line report."""

    kind: str
    entities: np.ndarray
    pieces: int
    report: str


def _fmt(v) -> str:
    return "(" + ", ".join(f"{float(x):.6g}" for x in np.ravel(v)) + ")"


def _vec(spec: Mapping, key: str, n: int = 3) -> np.ndarray:
    try:
        v = np.asarray(spec[key], dtype=float).ravel()
    except KeyError:
        raise ParameterError(f"The {spec.get('select')} selector needs '{key}'.") from None
    except (TypeError, ValueError):
        raise ParameterError(f"Selector '{key}' must be a list of numbers.") from None
    if len(v) not in (2, 3) or not np.all(np.isfinite(v)):
        raise ParameterError(f"Selector '{key}' must have 2 or 3 finite numbers (got {spec[key]}).")
    return np.r_[v, np.zeros(3 - len(v))][:n]


def _distance(spec: Mapping, x: np.ndarray) -> tuple[np.ndarray, str]:
    """Distance of points ``x`` (n, 3) from the selector's set (0 inside), and a description."""
    kind = spec.get("select")
    if kind == "plane":
        p, n = _vec(spec, "point"), _vec(spec, "normal")
        if np.linalg.norm(n) == 0:
            raise ParameterError("The plane selector's normal is zero.")
        n = n / np.linalg.norm(n)
        return np.abs((x - p) @ n), f"plane through {_fmt(p)} normal {_fmt(n)}"
    if kind == "box":
        lo, hi = _vec(spec, "min"), _vec(spec, "max")
        if np.any(hi < lo):
            raise ParameterError("The box selector needs min <= max in every direction.")
        d = np.maximum(np.maximum(lo - x, x - hi), 0.0)
        return np.linalg.norm(d, axis=1), f"box {_fmt(lo)} .. {_fmt(hi)}"
    if kind in ("cylinder", "sphere"):
        r = float(spec.get("radius", -1))
        if not r > 0:
            raise ParameterError(f"The {kind} selector needs a positive 'radius'.")
        if kind == "cylinder":
            p, a = _vec(spec, "point"), _vec(spec, "axis")
            if np.linalg.norm(a) == 0:
                raise ParameterError("The cylinder selector's axis is zero.")
            a = a / np.linalg.norm(a)
            rel = x - p
            dist = np.linalg.norm(rel - np.outer(rel @ a, a), axis=1)
            what = f"cylinder radius {r:g} about axis {_fmt(a)} through {_fmt(p)}"
        else:
            c = _vec(spec, "centre") if "centre" in spec else _vec(spec, "center")
            dist = np.linalg.norm(x - c, axis=1)
            what = f"sphere radius {r:g} centred at {_fmt(c)}"
        if spec.get("inside"):
            return np.maximum(dist - r, 0.0), "inside " + what
        return np.abs(dist - r), what
    raise ParameterError(f"Unknown selector '{kind}'; use one of {', '.join(SELECTORS)}.")


def _pieces(entities: np.ndarray) -> int:
    """Connected pieces of entities (rows of node ids) through shared nodes."""
    if len(entities) == 0:
        return 0
    parent = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for row in np.asarray(entities).reshape(len(entities), -1):
        r0 = find(int(row[0]))
        for v in row[1:]:
            rv = find(int(v))
            if rv != r0:
                parent[rv] = r0
    return len({find(int(v)) for v in np.unique(entities)})


def select(mesh: MeshData, spec: Mapping) -> Selection:
    """Resolve a selector (module docstring) on ``mesh``; ParameterError when nothing matches or
    the number of pieces differs from ``spec["pieces"]``."""
    if not isinstance(spec, Mapping) or "select" not in spec:
        raise ParameterError('A selector is an object with "select": one of '
                             f"{', '.join(SELECTORS)}.")
    kind = spec.get("kind") or ("face" if mesh.dim == 3 else "edge")
    if kind not in KINDS:
        raise ParameterError(f"Selector kind '{kind}' is not one of {', '.join(KINDS)}.")
    if kind == "face" and mesh.dim == 2:
        raise ParameterError("A 2D part has no faces to select: use kind 'edge', 'point' or "
                             "'subdomain'.")
    lo, hi = mesh.bounds()
    diag = float(np.linalg.norm(hi - lo)) or 1.0
    tol = float(spec.get("tol", 1e-5 * diag))
    unit = mesh.length_unit
    on_nodes = None
    if spec.get("on") is not None:
        try:
            on_nodes = mesh.region_nodes(str(spec["on"]))
        except KeyError as exc:
            raise ParameterError(str(exc.args[0])) from None
    facets = boundary_facets(mesh)
    if spec["select"] == "point":
        at = _vec(spec, "at")
        cand = np.unique(np.concatenate(facets)) if kind != "subdomain" else np.arange(mesh.n_points)
        if on_nodes is not None:
            cand = np.intersect1d(cand, on_nodes)
        d = np.linalg.norm(mesh.points[cand] - at, axis=1)
        i = int(np.argmin(d))
        if d[i] > float(spec.get("tol", 1e-2 * diag)):
            raise ParameterError(f"The point selector at {_fmt(at)} matched nothing: the nearest "
                                 f"boundary node is {d[i]:.3g} {unit} away.")
        node = np.array([cand[i]])
        return Selection("point", node, 1, f"point selector matched node {int(cand[i])} at "
                         f"{_fmt(mesh.points[cand[i]])}, {d[i]:.2g} {unit} from {_fmt(at)}")
    if kind == "face" or (kind == "edge" and mesh.dim == 2):
        by_len: dict[int, list] = {}
        for f in facets:
            by_len.setdefault(len(f), []).append(f)
        groups = [np.asarray(v) for v in by_len.values()]
        ents = groups
    elif kind == "edge":
        segs = set()
        for f in facets:
            for k in range(len(f)):
                a, b = int(f[k]), int(f[(k + 1) % len(f)])
                segs.add((min(a, b), max(a, b)))
        ents = [np.asarray(sorted(segs), dtype=np.int64).reshape(-1, 2)]
    elif kind == "point":
        ents = [np.unique(np.concatenate(facets)).reshape(-1, 1)]
    else:
        ents = None
    if ents is None:  # subdomain: cells whose centroid is in the set
        _, cent = _cells_geometry(mesh)
        dist, what = _distance(spec, cent)
        hit = np.flatnonzero(dist <= tol)
        nearest = float(dist.min())
        matched = hit
        count_txt = f"{len(hit)} cells"
        pieces = 1 if len(hit) else 0
    else:
        dist, what = _distance(spec, mesh.points)
        ok = dist <= tol
        if on_nodes is not None:
            on = np.zeros(mesh.n_points, dtype=bool)
            on[on_nodes] = True
            ok &= on
        parts = [e[np.all(ok[e], axis=1)] for e in ents]
        parts = [p for p in parts if len(p)]
        if len(parts) > 1:  # a region mixing triangles and quads: split the quads
            parts = [p if p.shape[1] == 3 else np.concatenate([p[:, [0, 1, 2]], p[:, [0, 2, 3]]])
                     for p in parts]
        matched = np.concatenate(parts) if parts else np.zeros((0, 1), dtype=np.int64)
        if kind == "point":
            matched = matched.ravel()
        pieces = _pieces(matched.reshape(len(matched), -1)) if len(matched) else 0
        nearest = float(dist[np.unique(np.concatenate(ents[0:1]))].min())
        word = {"face": "facets", "edge": "segments" if mesh.dim == 3 else "facets",
                "point": "nodes"}[kind]
        count_txt = f"{len(matched)} {word}"
    if len(matched) == 0:
        raise ParameterError(
            f"The selector ({what}, kind {kind}) matched nothing: the nearest "
            f"{'cell centre' if kind == 'subdomain' else 'boundary node'} is {nearest:.3g} {unit} "
            f"from it (tolerance {tol:.3g} {unit})"
            + (f", on '{spec['on']}'" if on_nodes is not None else "") + ".")
    report = (f"selector {what} (kind {kind}) matched {count_txt} in {pieces} "
              f"piece{'s' if pieces != 1 else ''}")
    want = spec.get("pieces")
    if want is not None and int(want) != pieces:
        raise ParameterError(f"The {report}, expected {int(want)}: narrow it (a box, 'on' a "
                             "region, a smaller tolerance) or change 'pieces'.")
    return Selection(kind, np.asarray(matched, dtype=np.int64), pieces, report)


def with_region(mesh: MeshData, name: str, sel: Selection) -> MeshData:
    """A copy of ``mesh`` with the selection added as region ``name`` of its kind."""
    b, e, p, s = (dict(mesh.boundaries), dict(mesh.edges), dict(mesh.point_sets),
                  dict(mesh.subdomains))
    if sel.kind == "face" or (sel.kind == "edge" and mesh.dim == 2):
        b[name] = sel.entities
    elif sel.kind == "edge":
        e[name] = sel.entities
    elif sel.kind == "point":
        p[name] = sel.entities
    else:
        s[name] = sel.entities
    return MeshData(mesh.points, mesh.cells, b, s, mesh.dim, mesh.length_unit, e, p)

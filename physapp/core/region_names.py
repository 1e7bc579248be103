"""Readable descriptions of a part's regions (#13): "plane x = 0 mm", "cylinder r = 5 mm".

CAD import names regions after the OCC entity (``face_12``): stable, but nothing a person can
recognise. :func:`region_shape` recognises the face (or 2D edge) from its facets: a plane (all
normals parallel; an axis plane gives its coordinate), a cylinder (normals square to one axis
and meeting it; radius from the nodes), a sphere (normals meeting in one point), else a curved
face. :func:`region_label` puts it before the name for lists; a name the file gave (a physical
group) is kept as it is, with the shape after it.
"""

from __future__ import annotations

import re

import numpy as np

from physapp.core.mesh import MeshData

#: names CAD import and the readers make up (not a name the user or the file chose)
AUTO_NAME = re.compile(r"^(face|edge|point|body|surface|curve|volume)_?\d+$")
#: length unit -> millimetres
TO_MM = {"m": 1e3, "cm": 10.0, "mm": 1.0, "um": 1e-3, "in": 25.4, "ft": 304.8}
_PARALLEL = 0.999  # |cos| of normals that count as parallel
_ROUND = 0.02  # relative spread of radii that is still one cylinder or sphere


def _num(v: float) -> str:
    text = f"{v:.4g}"
    return "0" if text in ("-0", "0") else text


def _length(mesh: MeshData, shown: str | None = None) -> tuple[float, str]:
    """Factor and unit lengths are shown in: ``shown`` (the unit the rest of the part's panel
    uses, e.g. the file's) when given, else mm, or m for a part over 2 m."""
    unit = (mesh.length_unit or "m").strip()
    if unit not in TO_MM:
        return 1.0, unit
    if shown in TO_MM:  # the mesh's coordinates -> mm -> the unit shown
        return TO_MM[unit] / TO_MM[shown], shown
    lo, hi = mesh.bounds()
    size_mm = float(np.max(np.asarray(hi) - np.asarray(lo))) * TO_MM[unit]
    return (TO_MM[unit], "mm") if size_mm <= 2000 else (TO_MM[unit] / 1e3, "m")


def _fit_circle(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and the radius of each point of an algebraic least-squares circle (or sphere,
    for 3 columns) through ``xy``: |p|^2 = 2 p.c + k."""
    a = np.column_stack([2 * xy, np.ones(len(xy))])
    sol = np.linalg.lstsq(a, (xy ** 2).sum(axis=1), rcond=None)[0]
    c = sol[:-1]
    return c, np.linalg.norm(xy - c, axis=1)


def _facet_normals(mesh: MeshData, facets: np.ndarray) -> np.ndarray:
    p = np.asarray(mesh.points, dtype=np.float64)[facets]
    if facets.shape[1] == 2:
        t = p[:, 1] - p[:, 0]
        n = np.column_stack([t[:, 1], -t[:, 0], np.zeros(len(t))])
    else:
        n = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    length = np.linalg.norm(n, axis=1)
    keep = length > 0
    return n[keep] / length[keep, None]


def region_shape(mesh: MeshData, name: str, unit: str | None = None) -> str:
    """What region ``name`` of ``mesh`` looks like ('' for an unknown region), with lengths in
    ``unit`` (the unit the part is shown in: a part in metres reads "plane z = 1 m", one in
    millimetres "plane z = 1 mm"); without it in mm (m above 2 m) where the mesh's unit is
    known. The mesh's own unit is ``mesh.length_unit`` (imports convert to metres)."""
    scale, unit = _length(mesh, unit)
    pts = np.asarray(mesh.points, dtype=np.float64)
    if name == "boundary":
        return "all faces" if mesh.dim == 3 else "all edges"
    if name in mesh.boundaries:
        facets = np.asarray(mesh.boundaries[name])
        corners = facets[:, :2] if mesh.dim == 2 else facets[:, :3]
        return _surface_shape(mesh, pts, corners, scale, unit)
    if name in mesh.edges:
        seg = np.asarray(mesh.edges[name])[:, :2]
        length = float(np.linalg.norm(pts[seg[:, 1]] - pts[seg[:, 0]], axis=1).sum())
        return f"edge, {_num(length * scale)} {unit} long"
    if name in mesh.point_sets:
        ids = np.unique(np.asarray(mesh.point_sets[name]))
        if len(ids) == 1:
            xyz = ", ".join(_num(v * scale) for v in pts[ids[0], : max(mesh.dim, 2)])
            return f"point ({xyz}) {unit}"
        return f"{len(ids)} points"
    if name in mesh.subdomains:
        return "body"
    return ""


def _surface_shape(mesh, pts, corners, scale, unit) -> str:
    flat = mesh.dim == 2
    lo, hi = mesh.bounds()
    tiny = 1e-9 * float(np.linalg.norm(np.asarray(hi) - np.asarray(lo)))
    word_plane, word_round = ("line", "arc") if flat else ("plane", "cylinder")
    normals = _facet_normals(mesh, corners)
    if not len(normals):
        return ""
    nodes = pts[np.unique(corners)]
    # the dominant normal direction (sign-free): the first right singular vector
    _, s, vt = np.linalg.svd(normals, full_matrices=False)
    a = vt[0]
    if np.min(np.abs(normals @ a)) > _PARALLEL:
        axis = int(np.argmax(np.abs(a)))
        if abs(a[axis]) > _PARALLEL:
            value = float(nodes[:, axis].mean())
            value = 0.0 if abs(value) < tiny else value * scale
            return f"{word_plane} {'xyz'[axis]} = {_num(value)} {unit}"
        d = a * (1 if a[np.argmax(np.abs(a))] > 0 else -1)
        return f"{word_plane} normal ({', '.join(_num(v) for v in d[:2 if flat else 3])})"
    if flat:  # an arc
        _, r = _fit_circle(nodes[:, :2])
        if len(nodes) >= 3 and r.mean() > 0 and r.std() / r.mean() < _ROUND:
            return f"{word_round} r = {_num(float(r.mean()) * scale)} {unit}"
        return "curved edge"
    # a cylinder: the normals are square to its axis (the last singular vector)
    axis_dir = vt[-1]
    if s[-1] / np.sqrt(len(normals)) < 0.2 and len(nodes) >= 4:  # the circle fit decides
        # the nodes in the plane square to the axis lie on a circle
        u = np.cross(axis_dir, [1.0, 0.0, 0.0] if abs(axis_dir[0]) < 0.9 else [0.0, 1.0, 0.0])
        u /= np.linalg.norm(u)
        v = np.cross(axis_dir, u)
        _, r = _fit_circle(np.column_stack([nodes @ u, nodes @ v]))
        if r.mean() > 0 and r.std() / r.mean() < _ROUND:
            k = int(np.argmax(np.abs(axis_dir)))
            along = f" along {'xyz'[k]}" if abs(axis_dir[k]) > _PARALLEL else ""
            return f"{word_round} r = {_num(float(r.mean()) * scale)} {unit}{along}"
    _, r = _fit_circle(nodes)
    if len(nodes) >= 5 and r.mean() > 0 and r.std() / r.mean() < _ROUND:
        return f"sphere r = {_num(float(r.mean()) * scale)} {unit}"
    return "curved face"


def region_label(mesh: MeshData, name: str, shape: str | None = None,
                 unit: str | None = None) -> str:
    """How a list shows region ``name``: the shape first for a made-up name
    ("plane x = 0 mm  (face_3)"), the file's own name first otherwise ("inlet  (plane ...)");
    lengths in ``unit`` (:func:`region_shape`)."""
    shape = region_shape(mesh, name, unit) if shape is None else shape
    if not shape:
        return name
    return f"{shape}  ({name})" if AUTO_NAME.match(name) else f"{name}  ({shape})"

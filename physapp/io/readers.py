"""Read engineering mesh and CAD files into MeshData, with a report of what was understood.

Mesh formats go through meshio (Gmsh MSH 2.2/4.1, VTU, legacy VTK, XDMF, Abaqus INP, MED, Nastran,
Medit, SU2, ...); CAD (STEP, IGES, BREP) and closed surfaces (STL, OBJ, PLY) are meshed with gmsh
(:mod:`physapp.geometry.cad`). Regions come from the file where it has them (Gmsh physical groups,
Abaqus element and node sets, Medit references, MED tags); otherwise the boundary is split into
faces at sharp edges (``face_1``, ``face_2``, ...), and ``boundary`` always names all of it.

Safe repairs are made with a notice (coincident nodes merged, unused nodes dropped, cells of a
lower dimension not on the boundary ignored); anything else is a clear :class:`ImportError_`.
Coordinates are converted to metres from the unit the user states.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import CELL_INFO, CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.regions import CORNERS, FACETS  # noqa: F401 - re-exported

UNIT_TO_M = {"m": 1.0, "mm": 1e-3, "cm": 1e-2, "um": 1e-6, "in": 0.0254, "ft": 0.3048}
CAD = {".step", ".stp", ".iges", ".igs", ".brep"}
SURFACES = {".stl", ".obj", ".ply"}
LINEAR = {"triangle6": "triangle", "quad8": "quad", "quad9": "quad", "tetra10": "tetra",
          "hexahedron20": "hexahedron", "hexahedron27": "hexahedron", "wedge15": "wedge",
          "pyramid13": "pyramid", "line3": "line"}


class ImportError_(PhysappError):  # noqa: N801 - "ImportError" is a builtin
    """A file could not be turned into a mesh; the message says why and what to do (one line:
    line breaks of a library's message are folded, and it is cut at 600 characters)."""

    def __init__(self, message: str = "") -> None:
        text = " ".join(str(message).split())
        super().__init__(text if len(text) <= 600 else text[:597] + "...")


@dataclass
class ImportReport:
    """What the reader understood of a file (printed by ``physapp info``)."""

    path: str
    format: str
    n_points: int = 0
    cells: dict[str, int] = field(default_factory=dict)
    dimension: int = 0
    boundaries: dict[str, int] = field(default_factory=dict)
    subdomains: dict[str, int] = field(default_factory=dict)
    bounding_box: tuple[tuple[float, ...], tuple[float, ...]] = ((), ())
    length_unit: str = "m"
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        lo, hi = self.bounding_box
        lines = [f"{self.path}: {self.format}, {self.dimension}D, {self.n_points} nodes",
                 "cells: " + ", ".join(f"{n} {t}" for t, n in self.cells.items()),
                 f"bounding box (m): {tuple(round(v, 9) for v in lo)} .. "
                 f"{tuple(round(v, 9) for v in hi)}  (file unit: {self.length_unit})"]
        if self.boundaries:
            lines.append("boundary regions: " + ", ".join(
                f"{k} ({v} facets)" for k, v in self.boundaries.items()))
        if self.subdomains:
            lines.append("subdomains: " + ", ".join(
                f"{k} ({v} cells)" for k, v in self.subdomains.items()))
        lines += [f"repaired: {r}" for r in self.repairs] + [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def read_mesh(path: str | os.PathLike, *, length_unit: str | None = None,
              size: float | None = None, feature_angle: float = 30.0, order: int = 1,
              refine=(), curvature: float = 0.0, progress: ProgressFn = no_progress,
              cancel: CancelToken = NEVER, isolate: bool = True, timeout: float | None = None,
              ) -> tuple[MeshData, ImportReport]:
    """Read a mesh or CAD file; return the mesh (in metres) and a report.

    Parameters
    ----------
    length_unit : unit of the file's coordinates (``m``, ``mm``, ``cm``, ``um``, ``in``, ``ft``);
        default ``mm`` for CAD and surface files, ``m`` for meshes. STEP/IGES carry their own.
    size : element size (m) for CAD and surfaces (default: a twentieth of the diagonal).
    feature_angle : degrees between neighbouring boundary facets that split faces, when the file
        has no boundary regions.
    isolate : read and mesh in a child process (:func:`physapp.core.isolate.run_isolated`) with a
        memory limit and a time limit, so that a native crash of meshio, gmsh or a plugin's reader
        on a hostile file is reported ("the reader crashed on this file") instead of taking the
        caller down. ``False`` reads in this process (trusted files, tests).
    timeout : seconds the isolated read may take (default ``$PHYSAPP_READ_TIMEOUT`` or 900).
    order, refine, curvature : CAD meshing: element order (2: curved tetra10), local sizes and
        elements per circle on curved surfaces (:func:`physapp.geometry.cad.mesh_cad`).
    """
    path = Path(path)
    if not path.exists():
        raise ImportError_(f"'{path}' does not exist.")
    if path.is_dir():
        raise ImportError_(f"'{path}' is a folder, not a file.")
    if path.stat().st_size == 0:
        raise ImportError_(f"'{path.name}' is empty.")
    suffix = path.suffix.lower()
    unit = length_unit or ("mm" if suffix in CAD | SURFACES else "m")
    if unit not in UNIT_TO_M:
        raise ImportError_(f"Unknown length unit '{unit}'; use one of {', '.join(UNIT_TO_M)}.")
    if not os.access(path, os.R_OK):
        raise ImportError_(f"'{path.name}' cannot be read: permission denied. Check the file's "
                           "permissions (e.g. chmod u+r).")
    _check_magic(path, suffix)
    from physapp.core.memory import check

    check(READ_FACTOR.get(suffix, 6) * path.stat().st_size, f"Reading '{path.name}'",
          "use a coarser or smaller mesh, or split the file")
    if isolate:
        return _read_isolated(path, unit, size, feature_angle, progress, cancel, timeout,
                              dict(order=order, refine=refine, curvature=curvature))
    plugin = _plugin_reader(suffix)  # a plugin's [[readers]] for this extension
    fallback = ""
    if plugin is not None:
        if not (plugin.override and _builtin_reads(suffix)):
            return _read_with_plugin(plugin, path, unit)
        try:
            return _read_with_plugin(plugin, path, unit)
        except Exception as exc:  # noqa: BLE001 - an overriding reader failing: the built-in reads
            from physapp.core.errors import Cancelled
            from physapp.plugins import notice, record_failure

            if isinstance(exc, Cancelled):
                raise
            err = exc if isinstance(exc, PhysappError) else record_failure(plugin, exc)
            fallback = (f"the reader of plugin '{plugin.plugin}' failed ({err}); the file was "
                        "read with the built-in reader instead")
            notice(fallback)
    if suffix in CAD | SURFACES:
        mesh, report = _read_with_gmsh(path, suffix, unit, size, progress, cancel,
                                       dict(order=order, refine=refine, curvature=curvature))
    else:
        mesh, report = _read_with_meshio(path, unit, feature_angle, progress, cancel)
    if fallback:
        report.notes.append(fallback)
    return mesh, report


def _builtin_reads(suffix: str) -> bool:
    from physapp.plugins import contributions

    return any(suffix in (e.lower() for e in c.data.get("extensions", ()))
               for c in contributions("readers", builtin_only=True))


#: memory needed to read a file, in multiples of its size (ASCII meshes become arrays, lists of
#: lines and Python objects on the way; CAD is meshed at the requested size, checked later)
READ_FACTOR = {".msh": 6, ".vtk": 6, ".vtu": 6, ".inp": 8, ".stl": 8, ".obj": 8, ".ply": 8,
               ".step": 4, ".stp": 4, ".iges": 4, ".igs": 4, ".brep": 4}
#: how text mesh formats begin (after blank space and a byte-order mark)
MESH_MAGIC = {".msh": (b"$MeshFormat", b"$NOD", b"$Comments", b"$Comment"),
              ".vtk": (b"# vtk DataFile",), ".vtu": (b"<",), ".xdmf": (b"<",), ".xmf": (b"<",)}


def _check_magic(path: Path, suffix: str) -> None:
    magic = MESH_MAGIC.get(suffix)
    if magic is None:
        return
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    if not any(head.startswith(m) for m in magic):
        raise ImportError_(f"'{path.name}' is not a {_kind(path)} file (it does not begin with "
                           f"'{magic[0].decode()}'): it is corrupt, truncated at the start, or "
                           "another format with the wrong extension.")


def _read_isolated(path: Path, unit: str, size, feature_angle, progress, cancel, timeout,
                   options=None):
    from physapp.core.isolate import ChildCrashed, run_isolated

    if timeout is None:
        try:
            timeout = float(os.environ.get("PHYSAPP_READ_TIMEOUT", "") or 900.0)
        except ValueError:
            timeout = 900.0
    kind = _kind(path)
    try:
        return run_isolated(
            _read_in_child, str(path), unit, size, feature_angle, options or {}, timeout=timeout,
            what=f"Reading '{path.name}' ({kind})", progress=progress, cancel=cancel)
    except ChildCrashed as exc:
        if exc.signal_name == "SIGKILL":
            raise ImportError_(str(exc)) from None
        raise ImportError_(
            f"'{path.name}': the reader crashed on this file ({kind}; {exc.signal_name}). The file "
            "is probably corrupt or in a variant physapp cannot read: export it again, or in "
            "another format.") from None


def _read_in_child(path: str, unit: str, size, feature_angle, options,
                   progress: ProgressFn = no_progress):
    """Body of an isolated read (runs in the child process). What meshio, gmsh and OpenCASCADE
    print (warnings, "Error: ..." lines, coloured parser messages) is dropped: the error the user
    sees is the one line physapp words (PHYSAPP_DEBUG=1 keeps it)."""
    if not os.environ.get("PHYSAPP_DEBUG"):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    return read_mesh(path, length_unit=unit, size=size, feature_angle=feature_angle,
                     progress=progress, isolate=False, **options)


def _kind(path: Path) -> str:
    """A short name of the file's type for messages ("STL", "Gmsh MSH", "STEP", ...)."""
    s = path.suffix.lower()
    names = {".step": "STEP", ".stp": "STEP", ".iges": "IGES", ".igs": "IGES", ".brep": "BREP",
             ".stl": "STL", ".obj": "OBJ", ".ply": "PLY", ".msh": "Gmsh MSH", ".vtu": "VTU",
             ".vtk": "legacy VTK", ".xdmf": "XDMF", ".xmf": "XDMF", ".inp": "Abaqus INP",
             ".med": "MED", ".nas": "Nastran", ".bdf": "Nastran", ".fem": "Nastran",
             ".mesh": "Medit", ".meshb": "Medit", ".su2": "SU2", ".f3grid": "FLAC3D"}
    return names.get(s, s[1:].upper() or "unknown type")


def _plugin_reader(suffix: str):
    """The plugin contribution reading ``suffix`` (None for the built-in readers, declared in
    physapp/plugins/builtin.toml, unless a plugin overrides them)."""
    from physapp.plugins import reader_contribution

    c = reader_contribution(suffix)
    return None if c is None or c.plugin == "physapp" else c


def _read_with_plugin(c, path: Path, unit: str) -> tuple[MeshData, ImportReport]:
    from physapp.plugins import PluginError, load_contribution

    reader = load_contribution(c)  # PluginError (one clear line) if the plugin fails to import
    try:
        out = reader(path)
    except PhysappError:
        raise
    except Exception as exc:  # noqa: BLE001 - plugin code raising is reported, not a crash
        from physapp.plugins import record_failure

        raise record_failure(c, exc) from None
    mesh, report = out if isinstance(out, tuple) else (out, None)
    if not isinstance(mesh, MeshData):
        raise PluginError(f"Plugin '{c.plugin}': reader {c.entry} returned "
                          f"{type(mesh).__name__}, not MeshData.")
    if unit != "m":
        mesh = MeshData(np.asarray(mesh.points) * UNIT_TO_M[unit], mesh.cells, mesh.boundaries,
                        mesh.subdomains, mesh.dim, "m")
    if report is None:
        title = c.data.get("title") or f"{path.suffix.lower()} (plugin {c.plugin})"
        report = _report(path, str(title), mesh, unit)
        report.notes.append(f"read by plugin '{c.plugin}' ({c.entry})")
    return mesh, report


#: how each CAD format begins (after leading blank space): a file that does not is refused before
#: OpenCASCADE tries to parse it
CAD_MAGIC = {".step": (b"ISO-10303-21",), ".stp": (b"ISO-10303-21",),
             ".brep": (b"DBRep_DrawableShape", b"CASCADE Topology")}


def _check_cad_header(path: Path, suffix: str) -> None:
    magic = CAD_MAGIC.get(suffix)
    if magic is None:
        return
    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
    if not any(head.startswith(m) for m in magic):
        kind = _kind(path)
        raise ImportError_(f"'{path.name}' is not a {kind} file (it does not begin with "
                           f"'{magic[0].decode()}'): it is corrupt, truncated at the start, or "
                           "another format with the wrong extension.")


PLY_SIZES = {"char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2,
             "uint16": 2, "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4,
             "double": 8, "float64": 8}


def _check_ply(path: Path) -> None:
    """A PLY header must end (``end_header``) and announce no more data than the file holds
    (meshio loops for ever on a header without its end)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(65536)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        raise ImportError_(f"'{path.name}' is not a complete PLY file (its header does not end "
                           "with 'end_header'): it is truncated or corrupt.")
    lines = head[:end].decode("latin-1").splitlines()
    binary = any(ln.startswith("format binary") for ln in lines)
    elements: list[tuple[str, int, int]] = []  # name, count, minimal bytes per item
    for ln in lines:
        w = ln.split()
        if len(w) == 3 and w[0] == "element":
            if not w[2].isdigit():
                raise ImportError_(f"'{path.name}': PLY element count '{w[2]}' is not a number.")
            elements.append((w[1], int(w[2]), 0))
        elif len(w) >= 3 and w[0] == "property" and elements:
            name, count, nbytes = elements[-1]
            if w[1] == "list" and len(w) >= 5:
                nbytes += PLY_SIZES.get(w[2], 1)  # at least the list's length
            else:
                nbytes += PLY_SIZES.get(w[1], 1)
            elements[-1] = (name, count, nbytes)
    body = size - end - len("end_header") - 1
    need = sum(c * (b if binary else 2) for _, c, b in elements)
    if need > body:
        counts = ", ".join(f"{c} {n}" for n, c, _ in elements)
        raise ImportError_(f"'{path.name}' announces {counts} in its header, more than the "
                           f"{max(body, 0)} bytes after it hold: it is truncated or corrupt.")


def _check_stl(path: Path) -> None:
    """A binary STL (even one whose header begins with "solid") must be exactly 84 + 50 bytes per
    triangle long; an ASCII one must hold facets."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(1024)
    text = head.lstrip().lower().startswith(b"solid") and b"\0" not in head[:min(len(head), 512)]
    if text and (b"facet" in head or b"endsolid" in head or size < 84):
        return
    if size < 84:
        raise ImportError_(f"'{path.name}' is too short to be an STL file ({size} bytes).")
    n = int.from_bytes(head[80:84], "little")
    need = 84 + 50 * n
    if need != size:
        raise ImportError_(
            f"'{path.name}' is a binary STL whose header announces {n} triangles ({need} bytes) "
            f"but the file has {size} bytes: it is truncated or corrupt. Export it again.")


def _read_with_gmsh(path, suffix, unit, size, progress, cancel, options=None):
    from physapp.core.errors import GeometryError
    from physapp.geometry.cad import mesh_cad, mesh_closed_surface

    extra = (options or {}) if suffix in CAD else {}
    _check_cad_header(path, suffix)
    if suffix == ".stl":
        _check_stl(path)
    if suffix == ".ply":
        _check_ply(path)
    fn = mesh_cad if suffix in CAD else mesh_closed_surface
    try:
        mesh = fn(path, size, length_unit=unit, progress=progress, cancel=cancel, **extra)
    except GeometryError as exc:
        raise ImportError_(str(exc)) from None
    fmt = {".stp": "STEP", ".step": "STEP", ".iges": "IGES", ".igs": "IGES", ".brep": "BREP"}.get(
        suffix, suffix[1:].upper() + " surface (filled with tetrahedra)")
    report = _report(path, fmt, mesh, "m" if suffix in {".step", ".stp", ".iges", ".igs"} else unit)
    mesh = _with_all_boundary(mesh)
    report.boundaries = {k: len(v) for k, v in mesh.boundaries.items()}
    return mesh, report


def _patch_meshio() -> None:
    """Teach meshio's legacy VTK 4.2 reader the sized type names VTK 9 writes for 64-bit and
    8/16-bit arrays ("vtktypeint64", ...); without them a valid file fails with KeyError."""
    try:
        from meshio.vtk import _vtk_42, _vtk_51
    except ImportError:
        return
    for name, dtype in _vtk_51.vtk_to_numpy_dtype_name.items():
        _vtk_42.vtk_to_numpy_dtype_name.setdefault(name, dtype)


def _meshio_read(path: Path):
    import contextlib
    import io

    import meshio

    _patch_meshio()
    if path.suffix.lower() == ".vtk":
        _check_legacy_vtk(path)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # some readers print stray lines
            return meshio.read(path)
    except SystemExit as exc:  # a few meshio readers call sys.exit on data they do not know
        raise ImportError_(f"meshio stopped reading '{path.name}' ({exc}); the file is not in a "
                           "format it understands.") from None
    except PermissionError:
        raise ImportError_(f"'{path.name}' cannot be read: permission denied. Check the file's "
                           "permissions.") from None
    except meshio.ReadError as exc:
        raise ImportError_(f"Could not read '{path.name}': {exc}. Check the extension matches "
                           "the format, or export it again.") from None
    except Exception as exc:  # noqa: BLE001 - truncated files raise anything
        raise ImportError_(
            f"Could not read '{path.name}': the file looks truncated or corrupt "
            f"({type(exc).__name__}: {exc})."
        ) from None


def _check_legacy_vtk(path: Path) -> None:
    """Refuse legacy VTK data sets that are not volume meshes with a message that says so."""
    with open(path, "rb") as fh:
        head = fh.read(1024)
    for line in head.splitlines()[:6]:
        words = line.strip().upper().split()
        if len(words) >= 2 and words[0] == b"DATASET":
            kind = words[1].decode(errors="replace")
            if kind == "POLYDATA":
                raise ImportError_(
                    f"'{path.name}' is a legacy VTK POLYDATA file (a surface, lines or points), "
                    "not a volume mesh. Save the surface as STL to have it filled with tetrahedra, "
                    "or export the volume mesh as an UNSTRUCTURED_GRID (.vtk or .vtu).")
            if kind not in ("UNSTRUCTURED_GRID", "STRUCTURED_POINTS", "STRUCTURED_GRID",
                            "RECTILINEAR_GRID"):
                raise ImportError_(f"'{path.name}' holds a VTK data set of type {kind}, which "
                                   "physapp cannot read; export an UNSTRUCTURED_GRID.")


def _read_partitioned(path: Path):
    """(meshio mesh, number of partitions) of a partitioned Gmsh MSH 4 file, merged by gmsh."""
    import tempfile

    from physapp.core.errors import GeometryError
    from physapp.geometry.gmsh_session import unpartition_msh

    with tempfile.TemporaryDirectory() as tmp:
        whole = Path(tmp) / "whole.msh"
        try:
            n = unpartition_msh(path, whole)
        except GeometryError as exc:
            raise ImportError_(
                f"'{path.name}' is a partitioned Gmsh mesh that could not be merged ({exc}). "
                "Save it again without partitions (in Gmsh: Mesh > Unpartition, then File > "
                "Export as MSH).") from None
        return _meshio_read(whole), max(n, 1)


def _read_with_meshio(path, unit, feature_angle, progress, cancel):
    progress(0.0, f"Reading {path.name}")
    merged = 0
    if path.suffix.lower() == ".msh":
        from physapp.geometry.gmsh_session import is_partitioned_msh

        if is_partitioned_msh(path):  # meshio cannot read partitioned MSH 4: gmsh merges them
            m, merged = _read_partitioned(path)
    if not merged:
        m = _meshio_read(path)
    cancel.check()
    fmt = _format_name(path)
    pts = np.asarray(m.points, dtype=np.float64)
    if pts.ndim != 2 or len(pts) == 0:
        raise ImportError_(f"'{path.name}' contains no nodes.")
    if pts.shape[1] == 2:
        pts = np.column_stack([pts, np.zeros(len(pts))])
    pts = pts[:, :3] * UNIT_TO_M[unit]
    if not np.all(np.isfinite(pts)):
        raise ImportError_(f"'{path.name}' has node coordinates that are NaN or infinite.")
    blocks = [(c.type, np.asarray(c.data, dtype=np.int64)) for c in m.cells]
    known = [(t, d) for t, d in blocks if t in CELL_INFO and len(d)]
    skipped = sorted({t for t, d in blocks if t not in CELL_INFO and t != "vertex"})
    if not known:
        raise ImportError_(f"'{path.name}' has no cells physapp can use "
                           f"(found: {', '.join(sorted({t for t, _ in blocks})) or 'none'}).")
    dim = max(CELL_INFO[t][1] for t, _ in known)
    if dim == 1:
        raise ImportError_(f"'{path.name}' holds only line elements; physapp needs 2D or 3D cells.")
    flat = np.ptp(pts[:, 2]) <= 1e-12 * max(np.ptp(pts, axis=0).max(), 1e-300)
    if dim == 2 and not flat:
        raise ImportError_(
            f"'{path.name}' is a surface mesh in 3D (triangles/quads that are not in one plane). "
            "physapp needs a volume mesh; save a closed surface as STL to have it filled with "
            "tetrahedra, or mesh the volume in your pre-processor."
        )
    report = ImportReport(str(path), fmt, length_unit=unit)
    if merged:
        report.repairs.append(f"the mesh was saved partitioned into {merged} parts; they were "
                              "merged into one mesh")
    if skipped:
        report.notes.append(f"ignored cells of unsupported type: {', '.join(skipped)}")
    for t, d in known:
        if d.min() < 0 or d.max() >= len(pts):
            raise ImportError_(f"'{path.name}' has {t} cells that refer to nodes that do not "
                               "exist: the file is corrupt or truncated.")
    domain_idx = [i for i, (t, d) in enumerate(blocks) if t in CELL_INFO and len(d)
                  and CELL_INFO[t][1] == dim]
    facet_idx = [i for i, (t, d) in enumerate(blocks) if t in CELL_INFO and len(d)
                 and CELL_INFO[t][1] == dim - 1]
    lower = [t for t, _ in known if CELL_INFO[t][1] < dim - 1]
    if lower:
        report.notes.append(f"ignored lower-dimensional cells: {', '.join(sorted(set(lower)))}")
    cells = [CellBlock(blocks[i][0], blocks[i][1]) for i in domain_idx]
    offsets = np.cumsum([0] + [len(blocks[i][1]) for i in domain_idx])
    # regions from the file
    tags = _cell_tags(m, fmt)
    names = _tag_names(m)
    boundaries: dict[str, list[np.ndarray]] = {}
    subdomains: dict[str, list[np.ndarray]] = {}
    if tags is not None:
        for i in facet_idx:
            t, d = blocks[i]
            for tag in np.unique(tags[i]):
                name = names.get((int(tag), dim - 1), names.get(int(tag), f"{_prefix(fmt)}{tag}"))
                boundaries.setdefault(name, []).append(_corners(t, d[tags[i] == tag]))
        for k, i in enumerate(domain_idx):
            for tag in np.unique(tags[i]):
                name = names.get((int(tag), dim), names.get(int(tag), f"{_prefix(fmt)}{tag}"))
                subdomains.setdefault(name, []).append(offsets[k] + np.flatnonzero(tags[i] == tag))
    starts = np.cumsum([0] + [len(d) for _, d in blocks])
    for name, per_block in getattr(m, "cell_sets", {}).items():
        if name.startswith("gmsh:") or name in boundaries or name in subdomains:
            continue
        if name.count(":") == 2 and name.split(":")[0] in ("zone", "face"):
            name = name.split(":")[1]  # FLAC3D groups: "zone:<name>:<slot>"
        for i, idx in enumerate(per_block):
            if idx is None or len(idx) == 0 or i >= len(blocks):
                continue
            idx = np.asarray(idx, dtype=np.int64).ravel()
            n_block = len(blocks[i][1])
            if idx.min() < 0 or idx.max() >= n_block:
                local = idx - starts[i]  # some readers (FLAC3D) give indices over all blocks
                if local.min() < 0 or local.max() >= n_block:
                    report.notes.append(f"ignored the cell set '{name}': it refers to cells that "
                                        "do not exist")
                    continue
                idx = local
            if i in domain_idx:
                k = domain_idx.index(i)
                subdomains.setdefault(name, []).append(offsets[k] + idx)
            elif i in facet_idx:
                boundaries.setdefault(name, []).append(_corners(blocks[i][0], blocks[i][1][idx]))
    # merge duplicate nodes, drop unused ones
    pts, cells, boundaries = _repair_nodes(pts, cells, boundaries, report)
    boundary_facets = _boundary_facets(cells)
    for name, nodes in getattr(m, "point_sets", {}).items():
        if name in boundaries:
            continue
        on = np.zeros(len(pts), dtype=bool)
        nodes = np.asarray(nodes, dtype=np.int64)
        on[nodes[nodes < len(on)]] = True
        sel = [f for f in boundary_facets if on[f].all()]
        if sel:
            boundaries[name] = [_facet_array(sel)]
            report.notes.append(f"boundary region '{name}' made from the node set of that name")
    regions = {k: _stack(v) for k, v in boundaries.items()}
    regions = {k: v for k, v in regions.items() if len(v)}
    if not regions:
        regions = _feature_faces(pts, boundary_facets, dim, feature_angle)
        if len(regions) > 0:
            report.notes.append(
                f"no boundary regions in the file: the boundary was split into {len(regions)} "
                f"face(s) at edges sharper than {feature_angle:g} degrees"
            )
    if "boundary" not in regions:
        regions["boundary"] = _facet_array(boundary_facets)
    subs = {k: np.concatenate(v) for k, v in subdomains.items()}
    mesh = MeshData(pts, tuple(cells), regions, subs, dim)
    inverted = _check_cells(mesh, path)
    if inverted:
        report.repairs.append(f"{inverted} cell(s) with reversed node order (negative volume) "
                              "are reordered for the solve")
    full = _report(path, fmt, mesh, unit)
    full.repairs, full.notes = report.repairs, report.notes
    progress(1.0, f"Read {mesh.n_points} nodes, {mesh.n_cells} cells")
    return mesh, full


def _prefix(fmt: str) -> str:
    return {"Medit": "ref_", "MED": "tag_"}.get(fmt, "group_")


def _format_name(path: Path) -> str:
    s = path.suffix.lower()
    names = {".msh": "Gmsh MSH", ".vtu": "VTU", ".vtk": "legacy VTK", ".xdmf": "XDMF",
             ".xmf": "XDMF", ".inp": "Abaqus INP", ".med": "MED", ".nas": "Nastran",
             ".bdf": "Nastran", ".fem": "Nastran", ".mesh": "Medit", ".meshb": "Medit",
             ".su2": "SU2", ".f3grid": "FLAC3D"}
    if s == ".msh":
        with open(path, "rb") as fh:
            head = fh.read(64)
        version = head.split(b"\n")[1].split()[:2] if b"\n" in head else []
        if len(version) == 2:
            kind = "binary" if version[1] == b"1" else "ASCII"
            return f"Gmsh MSH {version[0].decode(errors='replace')} ({kind})"
    return names.get(s, s[1:].upper() or "unknown")


def _cell_tags(m, fmt: str):
    for key in ("gmsh:physical", "medit:ref", "cell_tags"):
        if key in m.cell_data:
            return [np.asarray(a).astype(np.int64).ravel() for a in m.cell_data[key]]
    return None


def _tag_names(m) -> dict:
    out: dict = {}
    for name, data in getattr(m, "field_data", {}).items():
        arr = np.asarray(data).ravel()
        if len(arr) >= 2:
            out[(int(arr[0]), int(arr[1]))] = name
    return out


def _corners(cell_type: str, data: np.ndarray) -> np.ndarray:
    base = LINEAR.get(cell_type, cell_type)
    return np.asarray(data)[:, : CORNERS.get(base, data.shape[1])]


def _facet_array(facets: list[np.ndarray]) -> np.ndarray:
    by_len: dict[int, list[np.ndarray]] = {}
    for f in facets:
        by_len.setdefault(len(f), []).append(f)
    return _stack([np.asarray(v) for v in by_len.values()])


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    parts = [np.asarray(p).reshape(len(p), -1) for p in parts if len(p)]
    if not parts:
        return np.zeros((0, 3), dtype=np.int64)
    widths = {p.shape[1] for p in parts}
    if len(widths) == 1:
        return np.concatenate(parts)
    # a region mixing triangles and quads: split quads into two triangles each
    out = []
    for p in parts:
        out.append(p if p.shape[1] == 3 else np.concatenate([p[:, [0, 1, 2]], p[:, [0, 2, 3]]]))
    return np.concatenate(out)


def _repair_nodes(pts, cells, boundaries, report):
    scale = max(np.ptp(pts, axis=0).max(), 1e-300)
    key = np.round(pts / scale * 1e10).astype(np.int64)
    _, first, remap = np.unique(key, axis=0, return_index=True, return_inverse=True)
    remap = remap.ravel()
    if len(first) < len(pts):
        report.repairs.append(f"merged {len(pts) - len(first)} coincident node(s)")
        pts = pts[first]
        cells = [CellBlock(c.type, remap[c.connectivity]) for c in cells]
        boundaries = {k: [remap[p] for p in v] for k, v in boundaries.items()}
    used = np.zeros(len(pts), dtype=bool)
    for c in cells:
        used[c.connectivity.ravel()] = True
    if not used.all():
        report.repairs.append(f"dropped {int((~used).sum())} node(s) used by no cell")
        new = np.cumsum(used) - 1
        pts = pts[used]
        cells = [CellBlock(c.type, new[c.connectivity]) for c in cells]
        boundaries = {k: [new[p] for p in v if used[p].all()] for k, v in boundaries.items()}
        boundaries = {k: v for k, v in boundaries.items() if v}
    return pts, cells, boundaries


def _boundary_facets(cells) -> list[np.ndarray]:
    """Facets (corner nodes) that belong to exactly one domain cell."""
    faces: dict[tuple[int, ...], np.ndarray] = {}
    count: dict[tuple[int, ...], int] = {}
    for c in cells:
        base = LINEAR.get(c.type, c.type)
        conn = c.connectivity[:, : CORNERS[base]]
        for f in FACETS[base]:
            sub = conn[:, list(f)]
            keys = np.sort(sub, axis=1)
            for k, row in zip(map(tuple, keys), sub, strict=True):
                count[k] = count.get(k, 0) + 1
                faces.setdefault(k, row)
    return [faces[k] for k, n in count.items() if n == 1]


def _feature_faces(pts, facets, dim, angle) -> dict[str, np.ndarray]:
    """Split boundary facets into faces: grow over neighbours whose normals differ < angle."""
    if not facets:
        return {}
    tri = [f if len(f) in (2, 3) else f[[0, 1, 2]] for f in facets]
    F = np.asarray([f for f in tri])
    if dim == 2:
        t = pts[F[:, 1], :2] - pts[F[:, 0], :2]
        n = np.column_stack([-t[:, 1], t[:, 0], np.zeros(len(t))])
    else:
        n = np.cross(pts[F[:, 1]] - pts[F[:, 0]], pts[F[:, 2]] - pts[F[:, 0]])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
    # neighbours: facets sharing a node (2D) or an edge (3D)
    shared: dict[tuple[int, ...], list[int]] = {}
    for i, f in enumerate(facets):
        ring = [(int(f[k]),) for k in range(len(f))] if dim == 2 else [
            tuple(sorted((int(f[k]), int(f[(k + 1) % len(f)])))) for k in range(len(f))]
        for key in ring:
            shared.setdefault(key, []).append(i)
    cos = np.cos(np.radians(angle))
    label = np.full(len(facets), -1)
    current = 0
    for seed in range(len(facets)):
        if label[seed] >= 0:
            continue
        label[seed] = current
        stack = [seed]
        while stack:
            i = stack.pop()
            f = facets[i]
            ring = [(int(f[k]),) for k in range(len(f))] if dim == 2 else [
                tuple(sorted((int(f[k]), int(f[(k + 1) % len(f)])))) for k in range(len(f))]
            for key in ring:
                for j in shared[key]:
                    if label[j] < 0 and abs(np.dot(n[i], n[j])) >= cos and np.dot(n[i], n[j]) > 0:
                        label[j] = current
                        stack.append(j)
        current += 1
    return {f"face_{k + 1}": _facet_array([facets[i] for i in np.flatnonzero(label == k)])
            for k in range(current)}


def _check_cells(mesh: MeshData, path: Path) -> int:
    """Refuse degenerate cells (zero size); count inverted simplices (the solvers reorder them)."""
    inverted = 0
    for block in mesh.cells:
        base = LINEAR.get(block.type, block.type)
        c = block.connectivity[:, : CORNERS[base]]
        p = mesh.points
        if base in ("triangle", "quad"):
            a = np.cross(p[c[:, 1]] - p[c[:, 0]], p[c[:, 2]] - p[c[:, 0]])
            size = np.linalg.norm(a, axis=1)
            signed = a[:, 2]
        else:
            signed = np.einsum("ij,ij->i", p[c[:, 1]] - p[c[:, 0]],
                               np.cross(p[c[:, 2]] - p[c[:, 0]], p[c[:, -1]] - p[c[:, 0]]))
            size = np.abs(signed)
        if base in ("triangle", "tetra"):
            inverted += int(np.sum(signed < 0))
        scale = np.ptp(p, axis=0).max() ** (2 if base in ("triangle", "quad") else 3)
        bad = int(np.sum(size <= 1e-14 * scale)) if base in ("triangle", "tetra") else 0
        if bad:
            raise ImportError_(
                f"'{path.name}' has {bad} degenerate {block.type} cell(s) (zero area/volume); "
                "remesh the part or repair it in your pre-processor."
            )
    return inverted


def _report(path: Path, fmt: str, mesh: MeshData, unit: str) -> ImportReport:
    lo, hi = mesh.bounds()
    return ImportReport(
        str(path), fmt, mesh.n_points, mesh.cell_counts(), mesh.dim,
        {k: len(v) for k, v in mesh.boundaries.items()},
        {k: len(v) for k, v in mesh.subdomains.items()},
        (tuple(float(v) for v in lo), tuple(float(v) for v in hi)), unit)


def _with_all_boundary(mesh: MeshData) -> MeshData:
    if "boundary" in mesh.boundaries or not mesh.boundaries:
        return mesh
    allb = np.concatenate([np.asarray(v) for v in mesh.boundaries.values()])
    # only facets on the outside: the faces between two bodies of an assembly are regions too
    outside = {tuple(sorted(int(i) for i in f)) for f in _boundary_facets(mesh.cells)}
    keep = np.array([tuple(sorted(int(i) for i in f)) in outside for f in allb], dtype=bool)
    if keep.any():
        allb = allb[keep]
    return MeshData(mesh.points, mesh.cells, {**mesh.boundaries, "boundary": allb},
                    mesh.subdomains, mesh.dim, mesh.length_unit, mesh.edges, mesh.point_sets)

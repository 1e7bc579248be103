"""Read engineering mesh and CAD files into MeshData, with a report of what was understood.

Mesh formats go through meshio (Gmsh MSH 2.2/4.1, VTU, legacy VTK, XDMF, Abaqus INP, MED, Nastran,
Medit, SU2, ...); CAD (STEP, IGES, BREP) and closed surfaces (STL, OBJ, PLY) are meshed with gmsh
(:mod:`physapp.geometry.cad`). Regions come from the file where it has them (Gmsh physical groups,
Abaqus element and node sets, Medit references, MED tags); otherwise the boundary is split into
faces at sharp edges (``face_1``, ``face_2``, ...), and ``boundary`` always names all of it.

Safe repairs are made with a notice (coincident nodes merged, unused nodes dropped, cells of a
lower dimension not on the boundary ignored); anything else is a clear :class:`ImportError_`.
Coordinates are converted to metres from the unit the user states. The report and error are
:mod:`physapp.io.import_report`, the checks before reading :mod:`physapp.io.file_checks`, the
clean-up after it :mod:`physapp.io.mesh_cleanup`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.facets import facets_in, in_scan_order, select
from physapp.core.mesh import CELL_INFO, CellBlock, MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.regions import CORNERS, FACETS  # noqa: F401 - re-exported
from physapp.io.file_checks import (
    _check_cad_header,
    _check_legacy_vtk,
    _check_magic,
    _check_msh_node_tags,
    _check_ply,
    _check_stl,
    _kind,
)
from physapp.io.import_report import (  # noqa: F401 - re-exported: readers' public names
    CAD,
    LINEAR,
    SURFACES,
    UNIT_TO_M,
    ImportError_,
    ImportReport,
)
from physapp.io.mesh_cleanup import (
    _boundary_groups,
    _check_cells,
    _corners,
    _feature_faces,
    _repair_nodes,
    _stack,
)


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
    _check_cad_header(path, suffix)  # before the memory estimate: a 2 GB file of zeros is no STEP
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
        from physapp.core.errors import read_failure

        raise ImportError_(read_failure(path.name, exc)) from None


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

        _check_msh_node_tags(path)  # before meshio sizes an array by the largest tag

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
    progress(0.6, "Finding the boundary")
    cancel.check()
    outside = _boundary_groups(cells)
    for name, nodes in getattr(m, "point_sets", {}).items():
        if name in boundaries:
            continue
        on = np.zeros(len(pts), dtype=bool)
        nodes = np.asarray(nodes, dtype=np.int64)
        on[nodes[nodes < len(on)]] = True
        sel = select(outside, on)
        if sel:
            boundaries[name] = [_stack([r for r, _ in sel])]
            report.notes.append(f"boundary region '{name}' made from the node set of that name")
    regions = {k: _stack(v) for k, v in boundaries.items()}
    regions = {k: v for k, v in regions.items() if len(v)}
    if not regions:
        progress(0.75, "Splitting the boundary into faces")
        regions = _feature_faces(pts, in_scan_order(outside), dim, feature_angle)
        if len(regions) > 0:
            report.notes.append(
                f"no boundary regions in the file: the boundary was split into {len(regions)} "
                f"face(s) at edges sharper than {feature_angle:g} degrees"
            )
    if "boundary" not in regions:
        regions["boundary"] = _stack([r for r, _ in outside])
    subs = {k: np.concatenate(v) for k, v in subdomains.items()}
    mesh = MeshData(pts, tuple(cells), regions, subs, dim)
    progress(0.9, "Checking the cells")
    cancel.check()
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
    outside = [r for r, _ in _boundary_groups(mesh.cells)]
    keep = facets_in(allb, outside, mesh.n_points)
    if keep.any():
        allb = allb[keep]
    return MeshData(mesh.points, mesh.cells, {**mesh.boundaries, "boundary": allb},
                    mesh.subdomains, mesh.dim, mesh.length_unit, mesh.edges, mesh.point_sets)

"""Checks of a file before a library reads it (magic bytes of meshes and CAD, PLY and STL
headers, legacy VTK): a truncated or mislabelled file gets a clear :class:`ImportError_` instead
of a crash or a hang inside meshio or gmsh. Used by :mod:`physapp.io.readers`."""

from __future__ import annotations

from pathlib import Path

from physapp.core.regions import CORNERS, FACETS  # noqa: F401 - re-exported
from physapp.io.import_report import ImportError_


#: how text mesh formats begin (after blank space and a byte-order mark)
def _kind(path: Path) -> str:
    """A short name of the file's type for messages ("STL", "Gmsh MSH", "STEP", ...)."""
    s = path.suffix.lower()
    names = {".step": "STEP", ".stp": "STEP", ".iges": "IGES", ".igs": "IGES", ".brep": "BREP",
             ".stl": "STL", ".obj": "OBJ", ".ply": "PLY", ".msh": "Gmsh MSH", ".vtu": "VTU",
             ".vtk": "legacy VTK", ".xdmf": "XDMF", ".xmf": "XDMF", ".inp": "Abaqus INP",
             ".med": "MED", ".nas": "Nastran", ".bdf": "Nastran", ".fem": "Nastran",
             ".mesh": "Medit", ".meshb": "Medit", ".su2": "SU2", ".f3grid": "FLAC3D"}
    return names.get(s, s[1:].upper() or "unknown type")


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

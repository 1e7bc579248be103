"""Checks of a file before a library reads it (magic bytes of meshes and CAD, PLY and STL
headers, legacy VTK): a truncated or mislabelled file gets a clear :class:`ImportError_` instead
of a crash or a hang inside meshio or gmsh. Used by :mod:`physapp.io.readers`."""

from __future__ import annotations

import warnings
from pathlib import Path

from physapp.core.errors import shorten
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
    (meshio loops for ever on a header without its end). A binary file is walked element by
    element: a list property's length is read from the file (each item of an element is taken
    to have the first item's length, as in a triangle mesh)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(65536)
    end = head.find(b"end_header")
    if not head.startswith(b"ply") or end < 0:
        raise ImportError_(f"'{path.name}' is not a complete PLY file (its header does not end "
                           "with 'end_header'): it is truncated or corrupt.")
    lines = head[:end].decode("latin-1").splitlines()
    binary = any(ln.startswith("format binary") for ln in lines)
    big = any(ln.startswith("format binary_big_endian") for ln in lines)
    # name, count, properties: (size, list length size or 0)
    elements: list[tuple[str, int, list[tuple[int, int]]]] = []
    for ln in lines:
        w = ln.split()
        if len(w) == 3 and w[0] == "element":
            if not w[2].isdigit():
                raise ImportError_(f"'{path.name}': PLY element count '{shorten(w[2])}' is not "
                                   "a number.")
            elements.append((w[1], int(w[2]), []))
        elif len(w) >= 3 and w[0] == "property" and elements:
            if w[1] == "list" and len(w) >= 5:
                elements[-1][2].append((PLY_SIZES.get(w[3], 1), PLY_SIZES.get(w[2], 1)))
            else:
                elements[-1][2].append((PLY_SIZES.get(w[1], 1), 0))
    start = end + len("end_header") + 1
    if not binary:
        need = sum(2 * c * len(props) for _, c, props in elements)
        if need > size - start:
            counts = ", ".join(f"{c} {n}" for n, c, _ in elements)
            raise ImportError_(f"'{path.name}' is truncated: its header announces {counts}, "
                               f"more than the {max(size - start, 0)} bytes after it hold.")
        return
    offset = start
    with open(path, "rb") as fh:
        for name, count, props in elements:
            per_item = 0
            for item_size, len_size in props:
                if not len_size:
                    per_item += item_size
                    continue
                fh.seek(offset + per_item)
                raw = fh.read(len_size)
                n = int.from_bytes(raw, "big" if big else "little") if len(raw) == len_size else 0
                per_item += len_size + n * item_size
            need = count * per_item
            found = max(size - offset, 0)
            if need > found:
                raise ImportError_(
                    f"'{path.name}' is truncated: its header announces {count} {name} items, "
                    f"expected {need} bytes of {name} data, found {found}.")
            offset += need


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


#: a Gmsh node numbering is refused when its largest tag is more than ``TAG_RATIO`` times the
#: number of nodes and the array meshio sizes by it (8 bytes a tag) would exceed ``TAG_BYTES``
TAG_RATIO = 50
TAG_BYTES = 512 * 2**20


def _check_msh_node_tags(path: Path) -> None:
    """Refuse a Gmsh MSH file whose node tags would make meshio allocate an absurd array.

    meshio maps node tags to indices with an array as long as the largest tag (MSH 4.1: int64,
    2.2: int32), so one tag near 2**31 in a file of a few hundred nodes costs 8-16 GB and most of
    a minute. The tags are scanned first (the $Nodes section only: ASCII 2.2 and 4.1, binary
    4.1; binary 2.2 must number 1..N, which meshio checks). Renumbering instead would mean
    rewriting every section that refers to nodes; a mesher never writes such tags, so the file
    is refused with what to do."""
    scan = _msh_node_tags(path)
    if scan is None:
        return
    count, low, high = scan
    if low is None:
        raise ImportError_(f"'{path.name}' has no $Nodes section: it is truncated or corrupt, or "
                           "holds no mesh. Export the mesh again.")
    if count and low < 1:
        raise ImportError_(f"'{path.name}' has a node tag {low}; Gmsh node tags start at 1: the "
                           "file is corrupt. Export it again.")
    if high > TAG_RATIO * max(count, 1) and 8 * (high + 1) > TAG_BYTES:
        raise ImportError_(
            f"'{path.name}' numbers its {count} nodes up to {high}: reading it would need an "
            f"array of {8 * (high + 1) / 2**30:.3g} GB for the numbering alone. The file is "
            "probably corrupt; if not, renumber the nodes consecutively (in Gmsh's API: "
            "gmsh.model.mesh.renumberNodes() before writing) and export it again.")


def _msh_node_tags(path: Path):
    """(number of nodes, smallest tag, largest tag) of a Gmsh MSH file's $Nodes section
    ((0, None, None) when it has none), or None when the file's layout is not one this scan
    knows or the section is cut short (meshio then reports the problem)."""
    import mmap

    import numpy as np

    with open(path, "rb") as fh:
        try:
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            return None
    with mm:
        head = mm[:256].split(b"\n")
        i = next((k for k, ln in enumerate(head) if ln.strip() == b"$MeshFormat"), None)
        words = head[i + 1].split() if i is not None and i + 1 < len(head) else []
        if len(words) < 3 or words[0] not in (b"2", b"2.0", b"2.1", b"2.2", b"4.1"):
            return None
        binary, version = words[1] == b"1", words[0]
        start = mm.find(b"\n$Nodes")
        if start < 0:
            return 0, None, None  # no nodes at all
        start = mm.find(b"\n", start + 1) + 1
        if start <= 0:
            return None
        if not binary:
            end = mm.find(b"$EndNodes", start)
            tok = _numbers(mm[start:end if end > 0 else len(mm)])
            return None if tok is None else _tags_ascii(tok, version == b"4.1")
        if version != b"4.1" or words[2] not in (b"4", b"8"):
            return None
        return _tags_binary41(mm, start, np.dtype(f"u{int(words[2])}"))


def _numbers(text: bytes):
    """The numbers ``text`` begins with (as meshio reads them, separated by blank space), up to
    the first word that is not one; None when that cannot be told."""
    import re

    import numpy as np

    bad = re.search(rb"[^0-9eE+\-.\s]", text)
    if bad is not None:  # "nan"/"inf" stop the scan too: no node tag is one of them
        text = text[:max(text.rfind(b" ", 0, bad.start()), text.rfind(b"\n", 0, bad.start()), 0)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.fromstring(text, sep=" ")
    except ValueError:  # a word made of digits and signs that is no number ("1-2")
        return None


def _tags_ascii(tok, v41: bool):
    import numpy as np

    if not v41:  # MSH 2: count, then "tag x y z" lines
        if not len(tok) or not np.isfinite(tok[0]):
            return None
        n = int(min(max(tok[0], 0), (len(tok) - 1) // 4))
        tags = tok[1:1 + 4 * n:4]
        if not n or not np.all(np.isfinite(tags)):
            return None
        return n, int(tags.min()), int(tags.max())
    if len(tok) < 4 or not np.isfinite(tok[0]):
        return None
    pos, count, low, high = 4, 0, None, None
    for _ in range(int(min(max(tok[0], 0), len(tok)))):
        block = tok[pos:pos + 4]
        # truncated, parametric (meshio refuses those) or not a count: meshio says what is wrong
        if len(block) < 4 or block[2] != 0 or not (0 <= block[3] < len(tok)):
            break
        n = int(block[3])
        tags = tok[pos + 4:pos + 4 + n]
        pos += 4 + 4 * n
        if len(tags):
            if not np.all(np.isfinite(tags)):
                return None
            count += len(tags)
            low = int(tags.min()) if low is None else min(low, int(tags.min()))
            high = int(tags.max()) if high is None else max(high, int(tags.max()))
    return (count, low, high) if count else None


def _tags_binary41(mm, start: int, size_t):
    import numpy as np

    ds = size_t.itemsize
    if start + 4 * ds > len(mm):
        return None
    blocks = int(np.frombuffer(mm, size_t, 1, start)[0])
    pos, count, low, high = start + 4 * ds, 0, None, None
    for _ in range(blocks):
        if pos + 12 + ds > len(mm):
            break
        _, _, parametric = np.frombuffer(mm, np.int32, 3, pos)
        n = int(np.frombuffer(mm, size_t, 1, pos + 12)[0])
        pos += 12 + ds
        if parametric != 0 or n > (len(mm) - pos) // (ds + 24):
            break  # meshio refuses parametric nodes; a block longer than the file is truncated
        if n:
            tags = np.frombuffer(mm, size_t, n, pos)
            count += n
            low = int(tags.min()) if low is None else min(low, int(tags.min()))
            high = int(tags.max()) if high is None else max(high, int(tags.max()))
        pos += n * (ds + 24)
    return (count, low, high) if count else None

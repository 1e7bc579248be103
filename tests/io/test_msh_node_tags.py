"""Gmsh MSH node tags are scanned before meshio sizes an array by the largest one (#14)."""

import struct
from pathlib import Path

import gmsh
import numpy as np
import pytest

from physapp.io.file_checks import _msh_node_tags
from physapp.io.readers import ImportError_, read_mesh

FUZZ = Path(__file__).parents[1] / "data" / "fuzz"


def _box_msh(path: Path, version: float, binary: bool, tag_scale: int = 1) -> int:
    """A meshed unit cube written by gmsh, its node tags multiplied by ``tag_scale`` (sparse);
    returns the number of nodes."""
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("box")
        gmsh.model.occ.addBox(0, 0, 0, 1, 1, 1)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], name="solid")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 0.5)
        gmsh.model.mesh.generate(3)
        tags, _, _ = gmsh.model.mesh.getNodes()
        if tag_scale != 1:
            gmsh.model.mesh.renumberNodes(tags, tags * tag_scale)
        gmsh.option.setNumber("Mesh.MshFileVersion", version)
        gmsh.option.setNumber("Mesh.Binary", int(binary))
        gmsh.write(str(path))
        return len(tags)
    finally:
        gmsh.finalize()


def _sparse_msh22(dense: Path, path: Path, scale: int) -> None:
    """The ASCII MSH 2.2 file ``dense`` with every node tag multiplied by ``scale`` (gmsh's own
    2.2 writer numbers the nodes 1..N again)."""
    out, section = [], None
    for line in dense.read_text().splitlines():
        words = line.split()
        if line.startswith("$"):
            section = line
        elif section == "$Nodes" and len(words) == 4:
            line = " ".join([str(int(words[0]) * scale), *words[1:]])
        elif section == "$Elements" and len(words) > 3:
            head = 3 + int(words[2])  # id, type, number of tags, tags; then the nodes
            line = " ".join(words[:head] + [str(int(w) * scale) for w in words[head:]])
        out.append(line)
    path.write_text("\n".join(out) + "\n")


def _volume(mesh) -> float:
    t = mesh.points[mesh.cells[0].connectivity[:, :4]]
    return float(np.abs(np.einsum("ij,ij->i", t[:, 1] - t[:, 0],
                                  np.cross(t[:, 2] - t[:, 0], t[:, 3] - t[:, 0]))).sum() / 6)


def test_found_file_with_a_tag_near_2_31_is_refused_at_once():
    """msh41-huge-node-tag.msh (benchmarks/fuzz.py): one node tag 2**31 among 341 nodes made
    meshio allocate 16 GB and take ~50 s."""
    path = FUZZ / "msh41-huge-node-tag.msh"
    assert _msh_node_tags(path) == (341, 1, 2**31)
    # isolated (memory limit): were the scan to miss it, meshio's MemoryError fails the match
    with pytest.raises(ImportError_, match=r"'msh41-huge-node-tag.msh' numbers its 341 nodes up "
                                           r"to 2147483648: reading it would need an array of "
                                           r"16 GB for the numbering"):
        read_mesh(path, timeout=60)


@pytest.mark.parametrize("version, binary", [(4.1, False), (4.1, True), (2.2, False)])
def test_sparse_but_reasonable_tags_read_like_consecutive_ones(tmp_path, version, binary):
    dense, sparse = tmp_path / "dense.msh", tmp_path / "sparse.msh"
    n = _box_msh(dense, version, binary)
    if version == 2.2:
        _sparse_msh22(dense, sparse, 1000)
    else:
        assert _box_msh(sparse, version, binary, tag_scale=1000) == n
    assert _msh_node_tags(sparse) == (n, 1000, 1000 * n)  # 1000x the count, ~ 0.1 MB of array
    a, ra = read_mesh(dense, isolate=False)
    b, rb = read_mesh(sparse, isolate=False)
    assert ra.cells == rb.cells and a.n_points == b.n_points == n
    assert _volume(a) == pytest.approx(1.0) and _volume(b) == pytest.approx(1.0)


@pytest.mark.parametrize("version, binary", [(4.1, False), (4.1, True), (2.2, False)])
def test_one_absurd_tag_is_refused_in_every_layout(tmp_path, version, binary):
    path = tmp_path / "box.msh"
    n = _box_msh(path, version, binary)
    data = path.read_bytes()
    start = data.index(b"$Nodes\n") + len(b"$Nodes\n")
    if binary:  # 4 size_t, then the first block: 3 int32 and a size_t, then its tags
        at = start + 4 * 8 + 12 + 8
        assert struct.unpack_from("<Q", data, at)[0] == 1
        data = data[:at] + struct.pack("<Q", 3 * 2**30) + data[at + 8:]
    else:  # the first node's tag "1" on its own line (4.1) or before its coordinates (2.2)
        line = b"\n1\n" if version == 4.1 else b"\n1 "
        at = data.index(line, start)
        data = data[:at] + line.replace(b"1", str(3 * 2**30).encode()) + data[at + len(line):]
    path.write_bytes(data)
    assert _msh_node_tags(path) == (n, 2, 3 * 2**30)
    with pytest.raises(ImportError_, match=rf"numbers its {n} nodes up to {3 * 2**30}: .* 24 GB"):
        read_mesh(path, isolate=False)


def test_a_node_tag_below_one_is_refused(tmp_path):
    path = tmp_path / "box.msh"
    _box_msh(path, 4.1, False)
    data = path.read_bytes()
    at = data.index(b"\n1\n", data.index(b"$Nodes\n"))
    path.write_bytes(data[:at] + b"\n0\n" + data[at + 3:])
    with pytest.raises(ImportError_, match="has a node tag 0; Gmsh node tags start at 1"):
        read_mesh(path, isolate=False)


def test_a_header_followed_by_nothing_is_refused_before_meshio(tmp_path):
    """A (sparse) file with only a MeshFormat header and zeros: refused by the scan, not after
    meshio filled memory with it."""
    path = tmp_path / "zeros.msh"
    with open(path, "wb") as fh:
        fh.write(b"$MeshFormat\n4.1 0 8\n$EndMeshFormat\n")
        fh.truncate(64 * 2**20)
    assert _msh_node_tags(path) == (0, None, None)
    with pytest.raises(ImportError_, match=r"'zeros.msh' has no \$Nodes section"):
        read_mesh(path, isolate=False)

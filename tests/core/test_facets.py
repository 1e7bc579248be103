"""Boundary facets by array sorts (physapp.core.facets) against a plain count of every facet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from physapp.core.facets import boundary_facet_groups, in_scan_order, select
from physapp.core.regions import CORNERS, FACETS

MESHES = Path(__file__).parents[1] / "data" / "meshes"


def _reference(blocks):
    """The definition: count every facet by its sorted nodes; keep those met once, in the order
    a scan of the cells first meets them, with the nodes of the cell that has them."""
    count: dict = {}
    row: dict = {}
    for cell_type, conn in blocks:
        base = cell_type.rstrip("0123456789")
        c = np.asarray(conn)[:, : CORNERS[base]]
        for f in FACETS[base]:
            for r in c[:, list(f)]:
                key = tuple(sorted(r.tolist()))
                count[key] = count.get(key, 0) + 1
                row.setdefault(key, r)
    return [row[k] for k, n in count.items() if n == 1]


def _structured_hex(n):
    """An n^3 grid of hexahedra (node numbers shuffled), and the same split into wedges."""
    i, j, k = np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij")
    def nid(a, b, c):
        return (a * (n + 1) + b) * (n + 1) + c
    hexes = np.stack([nid(i, j, k), nid(i + 1, j, k), nid(i + 1, j + 1, k), nid(i, j + 1, k),
                      nid(i, j, k + 1), nid(i + 1, j, k + 1), nid(i + 1, j + 1, k + 1),
                      nid(i, j + 1, k + 1)], axis=-1).reshape(-1, 8)
    perm = np.random.default_rng(3).permutation((n + 1) ** 3)
    return perm[hexes]


@pytest.mark.parametrize("big_numbers", [False, True])
def test_mixed_cells_match_the_facet_count(big_numbers):
    hexes = _structured_hex(4)
    # half the grid as hexahedra, the other half split into two wedges each (tri + quad facets)
    h, w = hexes[:32], hexes[32:]
    wedges = np.concatenate([w[:, [0, 1, 2, 4, 5, 6]], w[:, [0, 2, 3, 4, 6, 7]]])
    blocks = [("hexahedron", h), ("wedge", wedges)]
    # n_nodes beyond what packs into one integer: the row-wise sort path
    groups = boundary_facet_groups(blocks, FACETS, CORNERS, n_nodes=2**40 if big_numbers else None)
    got, want = in_scan_order(groups), _reference(blocks)
    # 6 sides of 16 squares; the wedge half's 8 + 8 squares at z = 0 and z = 4 are 2 triangles
    assert len(got) == len(want) == 6 * 16 + 16
    assert [len(g[0]) for g in groups] == [80, 32]
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    # grouped by corner count in the order the first facet of each count comes
    assert [g[0].shape[1] for g in groups] == [4, 3]


def test_tetrahedra_and_triangles_of_real_meshes():
    from physapp.io.readers import read_mesh

    for name in ("box.msh", "quadraticsphere.msh", "beams.msh", "le1_quad9.msh",
                 "mixedtriquad.msh"):
        mesh, _ = read_mesh(MESHES / name, isolate=False)
        blocks = [(c.type, c.connectivity) for c in mesh.cells]
        got, want = in_scan_order(boundary_facet_groups(blocks, FACETS, CORNERS)), \
            _reference(blocks)
        assert len(got) == len(want) > 0
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
    # the unit cube's surface: 2 triangles per boundary square, area 6
    mesh, _ = read_mesh(MESHES / "box.msh", isolate=False)
    (rows, _), = boundary_facet_groups([(c.type, c.connectivity) for c in mesh.cells],
                                       FACETS, CORNERS)
    p = mesh.points
    area = 0.5 * np.linalg.norm(np.cross(p[rows[:, 1]] - p[rows[:, 0]],
                                         p[rows[:, 2]] - p[rows[:, 0]]), axis=1).sum()
    assert area == pytest.approx(6.0, rel=1e-12)


def test_select_keeps_facets_whose_nodes_are_all_on():
    tet = np.array([[0, 1, 2, 3], [1, 2, 3, 4]])  # two tets sharing face (1, 2, 3)
    groups = boundary_facet_groups([("tetra", tet)], FACETS, CORNERS)
    assert len(groups[0][0]) == 6
    on = np.zeros(5, dtype=bool)
    on[[0, 1, 2]] = True
    (rows, _), = select(groups, on)
    np.testing.assert_array_equal(rows, [[0, 2, 1]])  # the first tet's face 0, as the cell has it
    assert select(groups, np.zeros(5, dtype=bool)) == []
    assert boundary_facet_groups([("tetra", np.zeros((0, 4), dtype=np.int64))], FACETS,
                                 CORNERS) == []


def test_facets_in_matches_nodes_in_any_order():
    from physapp.core.facets import facets_in

    rows = np.array([[2, 1, 0], [5, 6, 7], [4, 3, 5]])
    among = [np.array([[0, 1, 2], [3, 4, 5]]), np.array([[0, 1, 2, 3]])]  # quads: other width
    for n in (8, 2**40):  # packed keys, and Python tuples beyond what packs
        np.testing.assert_array_equal(facets_in(rows, among, n), [True, False, True])
    assert not facets_in(rows, [np.array([[0, 1, 2, 3]])], 8).any()

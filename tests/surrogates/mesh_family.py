"""Small procedural mesh families for the mesh-agnostic model tests (no solver needed)."""

from __future__ import annotations

import numpy as np

from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.samples import MeshSample, MeshSamples


def rectangle(width: float, nx: int, ny: int, height: float = 1.0) -> MeshData:
    """[0, width] x [0, height] split into 2 nx ny triangles."""
    x, y = np.meshgrid(np.linspace(0, width, nx + 1), np.linspace(0, height, ny + 1),
                       indexing="ij")
    pts = np.column_stack([x.ravel(), y.ravel()])
    idx = np.arange((nx + 1) * (ny + 1)).reshape(nx + 1, ny + 1)
    a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    c, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    tris = np.concatenate([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
    return MeshData(pts, (CellBlock("triangle", tris),))


def field(mesh: MeshData, amp: float) -> np.ndarray:
    """A smooth known function of the node position and a parameter."""
    x, y = mesh.points[:, 0], mesh.points[:, 1]
    return amp * np.sin(np.pi * y) + 0.5 * x


def family(widths, amps, sizes, test=()) -> MeshSamples:
    """One sample per (width, amp, n) with a mesh of n x n cells; ``test`` marks held-out ones."""
    samples = []
    for w, a, n in zip(widths, amps, sizes, strict=True):
        m = rectangle(w, n, n)
        samples.append(MeshSample(m, {"amp": a}, {"T": field(m, a)}, name=f"w{w}-a{a}-n{n}"))
    is_test = np.zeros(len(samples), bool)
    is_test[list(test)] = True
    return MeshSamples(samples, ("amp",), ("T",), units={"T": "K"}, is_test=is_test,
                       study_id="rectangles")

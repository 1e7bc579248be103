"""Checks that a model can be solved before any solve: every body held, elements usable.

A mesh may hold several bodies that share no node (an assembly, a part and a loose fragment).
Supports on one of them leave the others free: the system is singular and an iterative solver
either fails without saying why or (when the free body is not loaded) returns a silent zero there.
:func:`check_bodies_held` finds the bodies (connected components of the element graph) and names
the first one that the constraints do not hold. :func:`element_quality_warnings` counts inverted,
degenerate and badly shaped simplices and says where they are.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from physapp.core.errors import IllPosedError, SolverError
from physapp.solvers.linear import check_supported


def body_labels(n_nodes: int, element_nodes: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected components of the nodes through the elements: ``(count, label per node)``.

    Nodes used by no element get labels of their own; callers ignore them.
    """
    e = np.asarray(element_nodes, dtype=np.int64)
    rows = np.repeat(e[:, 0], e.shape[1] - 1)
    cols = e[:, 1:].ravel()
    g = sp.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes))
    return connected_components(g, directed=False)


def _describe(points: np.ndarray, nodes: np.ndarray, index: int, count: int) -> str:
    c = points[nodes].mean(axis=0)
    where = ", ".join(f"{v:.4g}" for v in c[: points.shape[1]])
    return f"body {index + 1} of {count} ({len(nodes)} nodes, centred at ({where}))"


def check_bodies_held(
    points: np.ndarray,
    element_nodes: np.ndarray,
    dof_node: np.ndarray,
    modes: np.ndarray,
    constrained: np.ndarray,
    dim: int,
    *,
    what: str = "supports",
) -> None:
    """Raise IllPosedError naming a body whose rigid-body ``modes`` the ``constrained`` DOFs leave free.

    ``dof_node`` maps each DOF to its node; ``modes`` are ``(n_dofs, k)`` rigid-body modes of the
    whole model (their restriction to one body is that body's rigid motions). With a single body
    this is :func:`~physapp.solvers.linear.check_supported`.
    """
    count, labels = body_labels(len(points), element_nodes)
    used = np.unique(np.asarray(element_nodes).ravel())
    bodies = np.unique(labels[used])
    if len(bodies) <= 1:
        check_supported(modes, constrained, dim)
        return
    is_constrained = np.zeros(len(dof_node), dtype=bool)
    is_constrained[constrained] = True
    dof_body = labels[dof_node]
    for i, body in enumerate(bodies):
        dofs = np.flatnonzero(dof_body == body)
        local = np.flatnonzero(is_constrained[dofs])
        try:
            check_supported(modes[dofs], local, dim)
        except SolverError as exc:
            nodes = np.flatnonzero(labels == body)
            raise IllPosedError(
                f"The mesh has {len(bodies)} separate bodies and the {what} do not hold "
                f"{_describe(points, nodes, i, len(bodies))}: "
                + ("it has no support" if len(local) == 0 else "it is free to move")
                + ". Add a support on it, connect it to the rest of the mesh (shared nodes), or "
                "remove it."
            ) from exc


def check_bodies_determined(points: np.ndarray, element_nodes: np.ndarray,
                            held_nodes: np.ndarray) -> None:
    """Heat: every body needs a fixed temperature or a convection boundary (``held_nodes``)."""
    count, labels = body_labels(len(points), element_nodes)
    used = np.unique(np.asarray(element_nodes).ravel())
    bodies = np.unique(labels[used])
    if len(bodies) <= 1:
        return
    held = np.unique(labels[np.asarray(held_nodes, dtype=np.int64)])
    for i, body in enumerate(bodies):
        if body not in held:
            nodes = np.flatnonzero(labels == body)
            raise IllPosedError(
                f"The mesh has {len(bodies)} separate bodies and "
                f"{_describe(points, nodes, i, len(bodies))} has no fixed temperature or "
                "convection boundary, so its temperature is not determined. Add one, connect it "
                "to the rest of the mesh, or remove it."
            )


def _simplex_quality(points: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed size (area or volume) and shape quality in [0, 1] (1: equilateral) per simplex."""
    p = points[cells]
    k = cells.shape[1]
    edges = [(i, j) for i in range(k) for j in range(i + 1, k)]
    l2 = sum(np.sum((p[:, i] - p[:, j]) ** 2, axis=1) for i, j in edges)
    if k == 3:
        d1, d2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
        signed = 0.5 * (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0])
        quality = 4.0 * np.sqrt(3.0) * np.abs(signed) / np.maximum(l2, 1e-300)
    else:
        signed = np.einsum("ij,ij->i", np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]),
                           p[:, 3] - p[:, 0]) / 6.0
        l_rms = np.sqrt(l2 / 6.0)
        quality = 6.0 * np.sqrt(2.0) * np.abs(signed) / np.maximum(l_rms**3, 1e-300)
    return signed, quality


#: simplices with a shape quality under this (1 = equilateral) are reported as badly shaped
POOR_QUALITY = 0.02


def element_quality_warnings(points: np.ndarray, cells: np.ndarray, unit: str = "m") -> list[str]:
    """Warnings about inverted, degenerate and very badly shaped triangles or tetrahedra.

    ``cells`` are corner nodes (3 or 4 columns). An element whose orientation differs from the
    majority is inverted (folded over its neighbours), not merely numbered the other way.
    """
    if cells.shape[1] not in (3, 4) or len(cells) == 0:
        return []
    dims = 2 if cells.shape[1] == 3 else 3
    signed, quality = _simplex_quality(points[:, :dims] if dims == 2 else points, cells)
    out = []
    scale = np.abs(signed).max()
    degenerate = np.abs(signed) <= 1e-12 * scale
    pos, neg = np.sum(signed > 0), np.sum(signed < 0)
    minority = (signed < 0) if pos >= neg else (signed > 0)
    minority &= ~degenerate

    def where(mask: np.ndarray) -> str:
        i = np.flatnonzero(mask)[0]
        c = points[cells[i]].mean(axis=0)[:dims]
        return "(" + ", ".join(f"{v:.4g}" for v in c) + f") {unit}"

    if minority.any():
        out.append(f"{int(minority.sum())} element(s) are inverted (turned inside out), the first "
                   f"near {where(minority)}: fix the mesh; results near them are wrong.")
    if degenerate.any():
        out.append(f"{int(degenerate.sum())} element(s) have zero size, the first near "
                   f"{where(degenerate)}: fix the mesh.")
    poor = (quality < POOR_QUALITY) & ~degenerate
    if poor.any():
        worst = np.argmin(np.where(poor, quality, np.inf))
        mask = np.zeros(len(cells), dtype=bool)
        mask[worst] = True
        out.append(f"{int(poor.sum())} element(s) are very badly shaped (quality under "
                   f"{POOR_QUALITY}, 1 = equilateral; worst {quality[worst]:.1e} near "
                   f"{where(mask)}): stresses there are unreliable; remesh finer or smoother.")
    return out

"""Backward-compatible name: the elasticity reference solver is :class:`ReferenceSolver`."""

from physapp.solvers.reference import ReferenceSolver as ElasticitySolver

__all__ = ["ElasticitySolver"]

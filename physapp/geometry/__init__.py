"""Parametric geometry and meshing with gmsh (OCC kernel)."""

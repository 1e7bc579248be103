"""MeshData / FieldResult -> pyvista grids, colour maps and field views (VTK lives here and in gui)."""

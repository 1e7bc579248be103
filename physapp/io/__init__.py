"""File readers and writers (meshio <-> MeshData / FieldResult)."""

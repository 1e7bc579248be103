"""A clamped 2D cantilever (plane stress) with a tip load; length / height up to 40."""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import ElasticSetup, FieldSpec, Material, StudySpec, Support, Traction


class SlenderCantilever:
    spec = StudySpec(
        id="cantilever",
        title="Slender cantilever",
        description="Clamped at x = 0, shear load on x = length.",
        parameters=(
            ParameterSpec("length", "Length", "m", 0.5, 2.0, 1.0, geometric=True),
            ParameterSpec("height", "Height", "m", 0.025, 0.1, 0.05, geometric=True),
            ParameterSpec("load", "Tip load", "N", 10.0, 1000.0, 100.0),
            ParameterSpec("mesh_size", "Element size", "m", 0.005, 0.05, 0.025, geometric=True,
                          discretization=True),
        ),
        fields=(FieldSpec("von_mises", "von Mises stress", "Pa"),
                FieldSpec("displacement", "Displacement", "m")),
        default_field="von_mises",
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        return self.spec.validate(params)

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.shapes2d import mesh_rectangle

        v = self.check(params)
        return mesh_rectangle(0.0, 0.0, v["length"], v["height"], min(v["mesh_size"],
                                                                        v["height"] / 2))

    def setup(self, params: Mapping[str, float]) -> ElasticSetup:
        v = self.check(params)
        return ElasticSetup("plane_stress", Material(200e9, 0.3), (Support("left", (0, 1)),),
                            tractions=(Traction("right", (0.0, -v["load"]), total=True),))

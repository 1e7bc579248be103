"""Built-in study: a plate with 1-4 holes under uniaxial tension (plane stress).

The number of holes is a whole-number parameter, so the mesh topology changes with the design:
POD surrogates (one reference mesh, morphed) cannot learn it; mesh-agnostic models can
(``fixed_topology = False`` tells sweeps to store every sample's own mesh). The 200 x 100 mm plate
is pulled by the same traction on both short edges (self-equilibrated) and held only against
rigid-body motion at two corners, so the supports carry no load. Check: one small centred hole
gives Kirsch's peak stress 3 S.
"""

from __future__ import annotations

from collections.abc import Mapping

from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import ElasticSetup, Material, StudySpec, Support, Traction
from physapp.studies.plate_with_hole import FIELDS, TENSION_SCALING

LENGTH, WIDTH = 0.2, 0.1
MAX_HOLES = 4
MM = {"scale": 1e3, "display_unit": "mm", "geometric": True}
#: default centres: two holes on the axis, the third and fourth above and below the centre
DEFAULT_CENTRES = ((-0.05, 0.0), (0.05, 0.0), (0.0, 0.025), (0.0, -0.025))

_HOLES = []
for _k, (_x, _y) in enumerate(DEFAULT_CENTRES, start=1):
    _extra = "" if _k == 1 else f" (used when there are at least {_k} holes)"
    _HOLES += [
        ParameterSpec(f"x{_k}", f"Hole {_k} centre x", "m", -0.09, 0.09, _x, **MM,
                      description=f"Measured from the plate centre{_extra}."),
        ParameterSpec(f"y{_k}", f"Hole {_k} centre y", "m", -0.04, 0.04, _y, **MM,
                      description=f"Measured from the plate centre{_extra}."),
    ]

PARAMETERS = (
    ParameterSpec("n_holes", "Number of holes", "", 1, MAX_HOLES, 2, geometric=True,
                  integer=True, description="1 to 4 holes: changes the mesh topology."),
    ParameterSpec("diameter", "Hole diameter", "m", 0.002, 0.04, 0.02, **MM),
    *_HOLES,
    ParameterSpec("traction", "Applied traction", "Pa", -500e6, 500e6, 10e6,
                  scale=1e-6, display_unit="MPa"),
    ParameterSpec("youngs_modulus", "Young's modulus", "Pa", 1e9, 450e9, 210e9,
                  scale=1e-9, display_unit="GPa"),
    ParameterSpec("poissons_ratio", "Poisson's ratio", "", 0.0, 0.49, 0.3),
    ParameterSpec("mesh_size", "Element size", "m", 0.001, 0.02, 0.005, geometric=True,
                  discretization=True, scale=1e3, display_unit="mm"),
)


def hole_centres(values: Mapping[str, float]) -> list[tuple[float, float]]:
    """The centres of the holes in use (the first ``n_holes``)."""
    n = int(round(values["n_holes"]))
    return [(values[f"x{k}"], values[f"y{k}"]) for k in range(1, n + 1)]


class PerforatedPlateStudy:
    """A 200 x 100 mm plate with 1-4 holes, pulled along x by a uniform traction."""

    #: the mesh topology depends on the parameters: sweeps store each sample's own mesh
    fixed_topology = False
    #: linear elasticity: displacement ~ traction / E, stresses ~ traction (surrogates.scaling)
    field_scaling = TENSION_SCALING

    spec = StudySpec(
        id="perforated-plate",
        title="Perforated plate",
        description="Plate with 1-4 holes under uniaxial tension (2D plane stress); the number "
                    "of holes changes the mesh topology.",
        parameters=PARAMETERS,
        fields=FIELDS,
        default_field="von_mises",
        notes="200 x 100 mm plate, traction on both short edges; held at two corners against "
              "rigid-body motion only. Holes keep a ligament of a quarter diameter (at least "
              "1 mm) to each other and to the edges.",
        key_quantities=("peak_von_mises", "max_displacement", "stress_concentration"),
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        from physapp.geometry.perforated_plate import check_perforated_plate

        return self.spec.validate(params, lambda v: check_perforated_plate(
            LENGTH, WIDTH, v["diameter"], hole_centres(v), v["mesh_size"]))

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.perforated_plate import mesh_perforated_plate

        v = self.check(params)
        return mesh_perforated_plate(LENGTH, WIDTH, v["diameter"], hole_centres(v),
                                     v["mesh_size"], progress=progress, cancel=cancel)

    def setup(self, params: Mapping[str, float]) -> ElasticSetup:
        v = self.spec.validate(params)
        s = v["traction"]
        return ElasticSetup(
            analysis="plane_stress",
            material=Material(v["youngs_modulus"], v["poissons_ratio"]),
            supports=(Support("corner_ll", (0, 1)), Support("corner_lr", (1,))),
            tractions=(Traction("right", (s, 0.0)), Traction("left", (-s, 0.0))),
        )

    def derived_quantities(self, params: Mapping[str, float], key: Mapping[str, float]) -> dict:
        """Peak von Mises over the applied traction (Kt on the gross section)."""
        s = abs(self.spec.validate(params)["traction"])
        return {"stress_concentration": key["peak_von_mises"] / s if s > 0 else float("nan")}

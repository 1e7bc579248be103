"""Built-in studies: a PET bottle crushed from the top (top-load test), large deformation (#22).

The bottle wall is axisymmetric (x = r, y = z; see :mod:`physapp.geometry.bottle`), a
compressible neo-Hookean solid with the small-strain moduli of PET. The base edge is clamped (the
bottle stands on a rigid floor it cannot slide on). The rigid top plate of the test machine is
modelled as a prescribed axial displacement of the neck's top edge, stepped down to
``top_displacement``, with the radial displacement left free. This is equivalent to frictionless
contact with a rigid flat plate as long as the neck stays in contact all round (the plate
pushes; the reaction is compressive throughout the curve up to and past the peak of interest),
which the axisymmetric model guarantees for the top edge: it cannot tilt or lift off on one side.

Results: a :class:`physapp.core.history.FieldHistory` (``result.meta["history"]``) of the
displacement and von Mises stress at every load step and the top load (total force on the plate,
N) against the top displacement; key quantities: the peak top load (top-load strength), the top
displacement at the peak, and the initial stiffness (N/m, first step's secant).

``control`` = ``arc-length`` follows the path by arc length instead of uniform displacement
steps (through a snap-back, should a design have one; its steps then differ between designs).
``material_model`` = ``elastic-plastic`` replaces the neo-Hookean solid by Hencky elasticity with
von Mises plasticity (``yield_stress``, linear hardening ``PET_HARDENING``); the history then also
holds the equivalent plastic strain.

Two design families as in the papers behind the study: ``bottle-top-load`` (4 variables: wall
thickness, shoulder angle, waist depth, base height) and ``bottle-top-load-2v`` (2 variables:
wall thickness and waist depth; the others fixed at their defaults). The rib (6 mm wide, just
above the base; 1 mm deep unless ``rib_depth`` says otherwise) is in every design.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.core.nonlinear import HyperelasticSetup
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import FieldSpec, Material, StudySpec, Support

MM = {"scale": 1e3, "display_unit": "mm"}
PET = Material(2.7e9, 0.38, "PET")
#: linear isotropic hardening modulus of the elastic-plastic option (Pa)
PET_HARDENING = 200e6

#: design variables of the 4-variable family
DESIGN_4 = (
    ParameterSpec("wall_thickness", "Wall thickness", "m", 0.2e-3, 0.6e-3, 0.35e-3,
                  geometric=True, **MM),
    ParameterSpec("shoulder_angle", "Shoulder angle (above horizontal)", "deg", 20.0, 60.0,
                  35.0, geometric=True),
    ParameterSpec("waist_depth", "Waist depth", "m", 0.0, 3e-3, 1.5e-3, geometric=True, **MM),
    ParameterSpec("base_height", "Base height", "m", 0.01, 0.04, 0.02, geometric=True, **MM),
)
#: loading and discretisation (held fixed by design-of-experiments sweeps)
SETTINGS = (
    ParameterSpec("top_displacement", "Top displacement (plate travel)", "m", 0.5e-3, 10e-3,
                  3e-3, discretization=True, **MM,
                  description="How far the rigid top plate moves down."),
    ParameterSpec("rib_depth", "Rib depth", "m", 0.0, 3e-3, 1e-3, geometric=True,
                  discretization=True, **MM,
                  description="Depth of the circumferential rib above the base (held fixed by "
                              "sweeps: not a design variable of the families)."),
    ParameterSpec("control", "Path control", "", 0, 1, 0, choices=("load", "arc-length"),
                  discretization=True,
                  description="Load steps in the top displacement (the same steps for every "
                              "design), or arc length (follows a snap-back; steps vary)."),
    ParameterSpec("material_model", "Material model", "", 0, 1, 0,
                  choices=("neo-hookean", "elastic-plastic"), discretization=True,
                  description="neo-Hookean (elastic) or Hencky + von Mises plasticity with "
                              "linear hardening (PET_HARDENING)."),
    ParameterSpec("yield_stress", "Yield stress (elastic-plastic)", "Pa", 20e6, 120e6, 55e6,
                  scale=1e-6, display_unit="MPa", discretization=True),
    ParameterSpec("mesh_size", "Element size along the wall", "m", 0.4e-3, 3e-3, 1e-3,
                  geometric=True, discretization=True, **MM),
    ParameterSpec("n_steps", "Load steps (initial)", "", 5, 100, 20, discretization=True),
)
FIELDS = (
    FieldSpec("von_mises", "von Mises stress", "Pa"),
    FieldSpec("displacement", "Displacement magnitude", "m"),
    FieldSpec("displacement[1]", "Axial displacement u_z", "m"),
    FieldSpec("displacement[0]", "Radial displacement u_r", "m"),
    FieldSpec("sigma_hoop", "Hoop stress", "Pa"),
    FieldSpec("sigma_zz", "Axial stress", "Pa"),
)
KEY = ("peak_top_load", "displacement_at_peak", "initial_stiffness", "peak_von_mises")
KEY_UNITS = {"peak_top_load": "N", "displacement_at_peak": "m", "initial_stiffness": "N/m"}
#: smallest element layer (wall thickness / layers) and most elements along the wall
N_LAYERS = 2
MAX_ALONG = 1500


def _profile(v: Mapping[str, float]):
    from physapp.geometry.bottle import BottleProfile

    base = BottleProfile()
    return BottleProfile(
        wall_thickness=v.get("wall_thickness", base.wall_thickness),
        shoulder_angle=v.get("shoulder_angle", base.shoulder_angle),
        waist_depth=v.get("waist_depth", base.waist_depth),
        base_height=v.get("base_height", base.base_height),
        rib_depth=v.get("rib_depth", base.rib_depth),
    )


class BottleTopLoadStudy:
    """PET bottle top-load test, 4-variable family (axisymmetric, neo-Hookean, load-stepped)."""

    #: the app opens it revolved (a 270 degree sector, physapp.gui.axisym): in the r-z section
    #: the 0.35 mm wall of a 66 mm bottle is a hairline
    axisymmetric_view = "sector"

    spec = StudySpec(
        id="bottle-top-load",
        title="PET bottle top load (4 variables)",
        description="A PET bottle pressed by a rigid top plate: reaction force against plate "
                    "travel, peak top load, large-deformation fields per step (axisymmetric).",
        parameters=DESIGN_4 + SETTINGS,
        fields=FIELDS,
        default_field="von_mises",
        notes="Rigid plate = prescribed top-edge displacement (radially free), base clamped; "
              "result.meta['history'] holds every step, curves['reaction_force'] the top load.",
        key_quantities=KEY,
        key_units=KEY_UNITS,
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        v = self.spec.validate(params)
        p = _profile(v)
        t, h = p.wall_thickness, v["mesh_size"]
        run = p.cone_run()
        if run < 5e-3:
            raise ParameterError(
                f"Shoulder too steep for its fillets: the straight shoulder cone would be "
                f"{run * 1e3:.2g} mm long (needs 5 mm): the body radius minus the neck radius "
                f"({(p.body_radius - p.neck_radius) * 1e3:.3g} mm) must exceed (shoulder radius "
                f"+ neck fillet) x (1 - sin(shoulder angle)) by 5 mm.")
        # the groove and the waist bend the wall; its inner face must not fold on itself:
        # the smallest radius of curvature of the mid-surface must be at least 2 wall thicknesses
        a, b = p.rib_span()
        kappa_rib = 2 * math.pi**2 * p.rib_depth / (b - a) ** 2
        if kappa_rib * 2 * t > 1.0:
            raise ParameterError(
                f"Rib deeper than the wall allows: a {p.rib_depth * 1e3:.3g} mm deep, "
                f"{p.rib_width * 1e3:.3g} mm wide groove bends the wall to a radius of "
                f"{1e3 / kappa_rib:.3g} mm, less than 2 wall thicknesses "
                f"({2 * t * 1e3:.3g} mm).")
        if p.waist_span()[1] - p.waist_span()[0] < 20e-3:
            raise ParameterError(
                f"Base height {p.base_height * 1e3:.3g} mm leaves less than 20 mm of body for "
                "the waist below the shoulder.")
        if h > 10 * t:
            raise ParameterError(
                f"Element size {h * 1e3:.3g} mm is too coarse for a {t * 1e3:.3g} mm wall "
                f"(aspect ratio over {10 * N_LAYERS}): use at most {10 * t * 1e3:.3g} mm.")
        length = p.body_height + 0.06
        if length / h > MAX_ALONG:
            raise ParameterError(
                f"Wall too thin to mesh at this element size: {length / h:.0f} elements along "
                f"the wall exceed {MAX_ALONG}; use an element size of at least "
                f"{length / MAX_ALONG * 1e3:.2g} mm.")
        v["n_steps"] = float(int(round(v["n_steps"])))
        return v

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        from physapp.geometry.bottle import mesh_bottle

        v = self.check(params)
        cancel.check()
        progress(0.0, "Meshing the bottle wall")
        # elements along the wall from the default design's length: every design of the study
        # at one element size has the same mesh topology (node i at the same fraction of the
        # wall), so histories of different designs line up node by node
        n_along = max(int(round(_profile({}).wall_length() / v["mesh_size"])), 8)
        return mesh_bottle(_profile(v), v["mesh_size"], N_LAYERS, n_along)

    def thumbnail_mesh(self, params: Mapping[str, float]) -> MeshData:
        """The wall's mid-surface revolved into 3D: the gallery's picture of the bottle."""
        from physapp.geometry.bottle import revolved_surface

        return revolved_surface(_profile(self.check(params)))

    def setup(self, params: Mapping[str, float]) -> HyperelasticSetup:
        v = self.spec.validate(params)
        d = v["top_displacement"]
        return HyperelasticSetup(
            analysis="axisymmetric",
            material=PET,
            supports=(Support("base", (0, 1)), Support("top", (1,), values=(-d,))),
            control=("load", "arc-length")[int(v["control"])],
            n_steps=int(round(v["n_steps"])),
            max_steps=4 * int(round(v["n_steps"])) + 40,
            reaction=("top", 1),
            reaction_scale=-2.0 * math.pi,  # per radian -> total, compression positive
            time_scale=d,
            time_label="top displacement",
            time_unit="m",
            uniform_steps=int(v["control"]) == 0,
            yield_stress=v["yield_stress"] if int(v["material_model"]) == 1 else 0.0,
            hardening=PET_HARDENING,
            max_step_growth=1.0,
            key_names=("peak_top_load", "displacement_at_peak", "initial_stiffness"),
        )


class BottleTopLoad2Study(BottleTopLoadStudy):
    """The 2-variable family: wall thickness and waist depth (shoulder angle and base height
    at the 4-variable family's defaults)."""

    spec = StudySpec(
        id="bottle-top-load-2v",
        title="PET bottle top load (2 variables)",
        description="The bottle top-load test with two design variables: wall thickness and "
                    "waist depth.",
        parameters=(DESIGN_4[0], DESIGN_4[2]) + SETTINGS,
        fields=FIELDS,
        default_field="von_mises",
        notes=BottleTopLoadStudy.spec.notes,
        key_quantities=KEY,
        key_units=KEY_UNITS,
    )

"""Closed cylindrical pressure vessel with hemispherical heads, axisymmetric, half model.

The r-z section of the wall: the cylinder (r from R to R + t, z from 0 to L/2) and a quarter-circle
head of the same thickness centred at (0, L/2). Symmetry at z = 0 (u_z = 0), u_r = 0 on the axis,
internal pressure on the inner surface; the head carries the end load, so the cylinder away from
the head is a closed thick cylinder: hoop stress at the bore p (Ro^2 + R^2) / (Ro^2 - R^2) (Lame),
axial stress p R^2 / (Ro^2 - R^2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import ElasticSetup, FieldSpec, Material, Pressure, StudySpec, Support

MM = {"scale": 1e3, "display_unit": "mm"}
PARAMETERS = (
    ParameterSpec("radius", "Inner radius", "m", 0.1, 1.0, 0.5, geometric=True, **MM),
    ParameterSpec("thickness", "Wall thickness", "m", 0.005, 0.1, 0.03, geometric=True, **MM),
    ParameterSpec("length", "Cylinder length", "m", 0.5, 6.0, 3.0, geometric=True, **MM),
    ParameterSpec("pressure", "Internal pressure", "Pa", 0.0, 20e6, 2e6, scale=1e-6,
                  display_unit="MPa"),
    ParameterSpec("youngs_modulus", "Young's modulus", "Pa", 50e9, 250e9, 200e9, scale=1e-9,
                  display_unit="GPa"),
    ParameterSpec("poissons_ratio", "Poisson's ratio", "", 0.2, 0.45, 0.3),
    ParameterSpec("mesh_size", "Element size", "m", 0.002, 0.05, 0.01, geometric=True,
                  discretization=True, **MM),
)


class PressureVesselStudy:
    """Closed vessel under internal pressure; hoop stress compared with Lame."""

    #: linear elasticity: stresses scale with the pressure, displacements with pressure / E
    #: (surrogates learn the scaled fields; see physapp.surrogates.scaling)
    field_scaling = {"displacement": {"powers": {"pressure": 1, "youngs_modulus": -1}},
                     "sigma_*": {"powers": {"pressure": 1}},
                     "von_mises": {"powers": {"pressure": 1}, "abs": True}}

    spec = StudySpec(
        id="vessel",
        title="Pressure vessel",
        description="Closed cylindrical vessel with hemispherical heads under internal pressure "
        "(axisymmetric; plugin example).",
        parameters=PARAMETERS,
        fields=(
            FieldSpec("von_mises", "von Mises stress", "Pa"),
            FieldSpec("sigma_hoop", "Hoop stress sigma_theta", "Pa"),
            FieldSpec("sigma_zz", "Axial stress sigma_z", "Pa"),
            FieldSpec("sigma_rr", "Radial stress sigma_r", "Pa"),
            FieldSpec("displacement", "Displacement magnitude", "m"),
            FieldSpec("displacement[0]", "Radial displacement u_r", "m"),
        ),
        default_field="von_mises",
        notes="Half model: symmetry at z = 0, u_r = 0 on the axis, pressure on the inside.",
        key_quantities=("peak_von_mises", "max_displacement", "peak_hoop_stress",
                        "hoop_stress_bore_lame", "wall_volume"),
        # units of the quantities this study computes itself (the built-in peaks need none)
        key_units={"peak_hoop_stress": "Pa", "hoop_stress_bore_lame": "Pa", "wall_volume": "m^3"},
    )

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        v = self.spec.validate(params)
        if v["thickness"] > 0.5 * v["radius"]:
            raise ParameterError("The wall thickness must be at most half the inner radius.")
        if v["mesh_size"] > v["thickness"] / 2:
            raise ParameterError(
                f"Element size {v['mesh_size'] * 1e3:.3g} mm is too coarse for a "
                f"{v['thickness'] * 1e3:.3g} mm wall; use at most {v['thickness'] * 500:.3g} mm."
            )
        if (v["length"] + math.pi * v["radius"]) / v["mesh_size"] > 3000:
            raise ParameterError("Element size too small for this vessel (over 3000 along the wall).")
        return v

    def build_mesh(self, params: Mapping[str, float], *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> MeshData:
        import gmsh

        from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

        v = self.check(params)
        R, t, half = v["radius"], v["thickness"], v["length"] / 2
        Ro = R + t
        tol = 1e-7 * Ro
        progress(0.0, "Meshing the vessel wall")
        with gmsh_model("vessel"):
            occ = gmsh.model.occ
            wall = occ.addRectangle(R, 0, 0, t, half)
            outer = occ.addDisk(0, half, 0, Ro, Ro)
            inner = occ.addDisk(0, half, 0, R, R)
            quad = occ.addRectangle(0, half, 0, 2 * Ro, 2 * Ro)
            ring, _ = occ.cut([(2, outer)], [(2, inner)])
            head, _ = occ.intersect(ring, [(2, quad)])
            shell, _ = occ.fuse([(2, wall)], head)
            occ.synchronize()
            surfaces = [s for d, s in shell if d == 2]
            groups: dict[str, list[int]] = {}
            for _, curve in gmsh.model.getBoundary([(2, s) for s in surfaces], oriented=False):
                ends = [gmsh.model.getValue(0, abs(pt), []) for _, pt in
                        gmsh.model.getBoundary([(1, abs(curve))], oriented=False)]
                if all(abs(e[1]) < tol for e in ends):
                    name = "symmetry"
                elif all(abs(e[0]) < tol for e in ends):
                    name = "axis"
                else:  # distance from the axis (cylinder) or from the head centre (head)
                    rho = max(math.hypot(e[0], max(e[1] - half, 0.0)) for e in ends)
                    name = "inner" if rho < R + t / 2 else "outer"
                groups.setdefault(name, []).append(abs(curve))
            for name, curves in groups.items():
                gmsh.model.addPhysicalGroup(1, curves, name=name)
            gmsh.model.addPhysicalGroup(2, surfaces, name="wall")
            gmsh.option.setNumber("Mesh.MeshSizeMax", v["mesh_size"])
            gmsh.option.setNumber("Mesh.Algorithm", 6)
            cancel.check()
            gmsh.model.mesh.generate(2)
            return extract_mesh(2)

    def setup(self, params: Mapping[str, float]) -> ElasticSetup:
        v = self.spec.validate(params)
        return ElasticSetup(
            analysis="axisymmetric",
            material=Material(v["youngs_modulus"], v["poissons_ratio"]),
            supports=(Support("symmetry", (1,)), Support("axis", (0,))),
            pressures=(Pressure("inner", v["pressure"]),),
        )

    def field_quantities(self, result, params: Mapping[str, float]) -> dict[str, float]:
        """Key quantities from the fields of a solve or a surrogate prediction: the largest hoop
        stress (a field's maximum) and the volume of the whole vessel's wall (an integral over
        the mesh: each straight-sided triangle of the r-z section sweeps 2 pi r_c A, Pappus;
        doubled for the half model)."""
        out = {"wall_volume": 2.0 * _swept_volume(result.mesh)}
        if "sigma_hoop" in result.point_data:  # a partial prediction may leave it out
            out["peak_hoop_stress"] = float(np.max(result.point_data["sigma_hoop"]))
        return out

    def derived_quantities(self, params: Mapping[str, float], key: Mapping[str, float]) -> dict:
        """Lame's hoop stress at the bore, from the parameters alone (the hand calculation)."""
        v = self.spec.validate(params)
        a, b, p = v["radius"], v["radius"] + v["thickness"], v["pressure"]
        return {"hoop_stress_bore_lame": p * (a * a + b * b) / (b * b - a * a)}


def _swept_volume(mesh: MeshData) -> float:
    """Volume swept by the r-z section (x = r, y = z) in one turn about the axis (m^3)."""
    r, z = mesh.points[:, 0], mesh.points[:, 1]
    total = 0.0
    for block in mesh.cells:  # triangles (or quadratic triangles: their corners)
        a, b, c = block.connectivity[:, :3].T
        area = 0.5 * np.abs((r[b] - r[a]) * (z[c] - z[a]) - (r[c] - r[a]) * (z[b] - z[a]))
        total += float(np.sum(2.0 * np.pi * area * (r[a] + r[b] + r[c]) / 3.0))
    return total

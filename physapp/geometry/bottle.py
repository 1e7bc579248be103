"""An axisymmetric PET bottle wall in the (r, z) half-plane, meshed with gmsh (#22).

The mid-surface profile runs from the base (z = 0, where the bottle stands) up the body, over
the shoulder to the neck:

* base: a cylinder of radius ``body_radius`` up to ``base_height``;
* body up to ``body_height``: the waist, an inward hourglass of depth ``waist_depth`` between
  the base and the shoulder, and a circumferential rib (a groove ``rib_depth`` deep and
  ``rib_width`` wide) just above the base;
* shoulder: a fillet of radius ``shoulder_radius`` turning the wall from vertical to a cone at
  ``shoulder_angle`` above the horizontal, the cone, and a fillet of radius ``neck_fillet``
  back to the vertical neck of radius ``neck_radius`` and height ``neck_height``.

The wall (thickness ``wall_thickness``, centred on the profile) is one gmsh surface bounded by
two splines (inner, outer) and two straight ends, meshed transfinite: ``n_layers`` element
layers through the wall and elements of about ``mesh_size`` along it (two triangles per cell).
Boundary regions: ``base`` (the bottom edge), ``top`` (the neck's top edge), ``inner``,
``outer``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from physapp.core.errors import GeometryError
from physapp.core.mesh import MeshData


@dataclass(frozen=True)
class BottleProfile:
    """Dimensions of the bottle (m; the shoulder angle in degrees above the horizontal)."""

    wall_thickness: float = 0.35e-3
    body_radius: float = 0.033
    body_height: float = 0.15
    base_height: float = 0.02
    waist_depth: float = 1.5e-3
    rib_depth: float = 1.0e-3
    rib_width: float = 6e-3
    shoulder_angle: float = 35.0
    shoulder_radius: float = 0.015
    neck_radius: float = 0.013
    neck_fillet: float = 0.004
    neck_height: float = 0.012

    def cone_run(self) -> float:
        """Radial run of the straight shoulder cone between the two fillets (m)."""
        s = math.sin(math.radians(self.shoulder_angle))
        return (self.body_radius - self.neck_radius) - (self.shoulder_radius
                                                        + self.neck_fillet) * (1 - s)

    def rib_span(self) -> tuple[float, float]:
        """z range of the rib groove: starts 3 mm above the base section."""
        z0 = self.base_height + 3e-3
        return z0, z0 + self.rib_width

    def waist_span(self) -> tuple[float, float]:
        """z range of the waist: from 6 mm above the rib to 10 mm below the shoulder."""
        return self.rib_span()[1] + 6e-3, self.body_height - 10e-3

    def body_r(self, z: np.ndarray) -> np.ndarray:
        """Mid-surface radius of the body (0 <= z <= body_height)."""
        r = np.full_like(z, self.body_radius, dtype=float)
        a, b = self.rib_span()
        inside = (z > a) & (z < b)
        r[inside] -= self.rib_depth * np.sin(np.pi * (z[inside] - a) / (b - a)) ** 2
        a, b = self.waist_span()
        inside = (z > a) & (z < b)
        r[inside] -= self.waist_depth * np.sin(np.pi * (z[inside] - a) / (b - a)) ** 2
        return r

    def midline(self, ds: float) -> np.ndarray:
        """(n, 2) points (r, z) of the mid-surface from the base to the top, about ``ds`` apart
        (denser where the wall curves)."""
        phi = math.radians(self.shoulder_angle)
        step = min(ds, 0.25e-3 * 4)
        z = np.linspace(0.0, self.body_height, max(int(self.body_height / step * 2), 50) + 1)
        pts = [np.column_stack([self.body_r(z), z])]
        # fillet 1: centre (R - Rs, H), angle 0 -> pi/2 - phi
        R, H, Rs = self.body_radius, self.body_height, self.shoulder_radius
        th = np.linspace(0.0, math.pi / 2 - phi, 40)[1:]
        pts.append(np.column_stack([R - Rs + Rs * np.cos(th), H + Rs * np.sin(th)]))
        p1 = pts[-1][-1]
        run = self.cone_run()
        n_cone = max(int(run / math.cos(phi) / step), 4)
        t = np.linspace(0.0, 1.0, n_cone + 1)[1:]
        pts.append(np.column_stack([p1[0] - run * t, p1[1] + run * math.tan(phi) * t]))
        p2 = pts[-1][-1]
        # fillet 2: centre p2 + Rn (sin phi, cos phi); the wall turns back to vertical
        Rn = self.neck_fillet
        c = p2 + Rn * np.array([math.sin(phi), math.cos(phi)])
        th = np.linspace(-math.pi / 2 - phi, -math.pi, 20)[1:]  # angle of (point - centre)
        pts.append(np.column_stack([c[0] + Rn * np.cos(th), c[1] + Rn * np.sin(th)]))
        p3 = pts[-1][-1]
        zn = np.linspace(p3[1], p3[1] + self.neck_height, 12)[1:]
        pts.append(np.column_stack([np.full_like(zn, p3[0]), zn]))
        return np.concatenate(pts)

    def wall_length(self) -> float:
        mid = self.midline(1e-3)
        return float(np.linalg.norm(np.diff(mid, axis=0), axis=1).sum())

    def height(self) -> float:
        return float(self.midline(1e-3)[-1, 1])


def _offsets(mid: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Inner and outer wall lines at -t/2 and +t/2 along the profile's outward normal."""
    d = np.gradient(mid, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    n = np.column_stack([d[:, 1], -d[:, 0]])  # right of the upward direction: outward
    return mid - 0.5 * t * n, mid + 0.5 * t * n


def mesh_bottle(profile: BottleProfile, mesh_size: float, n_layers: int = 2,
                n_along: int | None = None) -> MeshData:
    """The bottle wall meshed with gmsh (structured triangles, see the module docstring).

    ``n_along`` fixes the number of elements along the wall (default: length / mesh_size):
    designs meshed with the same number share one topology, node i at the same fraction of the
    wall's length (what field surrogates over the designs need)."""
    import gmsh

    from physapp.geometry.gmsh_session import extract_mesh, gmsh_model

    mid = profile.midline(mesh_size)
    # drop near-duplicate points (joins of the pieces)
    keep = np.concatenate([[True], np.linalg.norm(np.diff(mid, axis=0), axis=1) > 1e-7])
    mid = mid[keep]
    inner, outer = _offsets(mid, profile.wall_thickness)
    length = float(np.linalg.norm(np.diff(mid, axis=0), axis=1).sum())
    if n_along is None:
        n_along = max(int(round(length / mesh_size)), 8)
    with gmsh_model("bottle"):
        geo = gmsh.model.geo
        ti = [geo.addPoint(r, z, 0.0) for r, z in inner]
        to = [geo.addPoint(r, z, 0.0) for r, z in outer]
        c_in = geo.addSpline(ti)
        c_out = geo.addSpline(to)
        c_base = geo.addLine(ti[0], to[0])
        c_top = geo.addLine(ti[-1], to[-1])
        loop = geo.addCurveLoop([c_base, c_out, -c_top, -c_in])
        surf = geo.addPlaneSurface([loop])
        geo.synchronize()
        for c in (c_in, c_out):
            gmsh.model.mesh.setTransfiniteCurve(c, n_along + 1)
        for c in (c_base, c_top):
            gmsh.model.mesh.setTransfiniteCurve(c, n_layers + 1)
        gmsh.model.mesh.setTransfiniteSurface(surf, "Alternate", [ti[0], to[0], to[-1], ti[-1]])
        for name, curves in (("base", [c_base]), ("top", [c_top]), ("inner", [c_in]),
                             ("outer", [c_out])):
            gmsh.model.addPhysicalGroup(1, curves, name=name)
        gmsh.model.addPhysicalGroup(2, [surf], name="wall")
        gmsh.model.mesh.generate(2)
        mesh = extract_mesh(2)
    if mesh.n_cells < 2 * n_along * n_layers:
        raise GeometryError("gmsh did not produce the structured bottle wall mesh.")
    return mesh


def revolved_surface(profile: BottleProfile, n_profile: int = 80, n_around: int = 40,
                     sweep_deg: float = 270.0) -> MeshData:
    """The mid-surface revolved ``sweep_deg`` about the axis (triangles in 3D): a picture of
    the bottle (gallery thumbnail), not an analysis mesh."""
    from physapp.core.mesh import CellBlock

    mid = profile.midline(1e-3)
    s = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(mid, axis=0), axis=1))])
    si = np.linspace(0.0, s[-1], n_profile)
    r, z = np.interp(si, s, mid[:, 0]), np.interp(si, s, mid[:, 1])
    th = np.radians(np.linspace(0.0, sweep_deg, n_around))
    pts = np.stack([np.outer(r, np.cos(th)), np.outer(r, np.sin(th)),
                    np.outer(z, np.ones_like(th))], axis=-1).reshape(-1, 3)
    idx = np.arange(n_profile * n_around).reshape(n_profile, n_around)
    a, b = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
    c, d = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
    tris = np.concatenate([np.stack([a, b, c], 1), np.stack([a, c, d], 1)])
    return MeshData(pts, (CellBlock("triangle", tris),), {}, {}, 2)

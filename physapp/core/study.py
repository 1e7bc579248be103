"""What a study is: parameters, fields it produces, and the physical set-up a solver needs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from physapp.core.errors import GeometryError, ParameterError
from physapp.core.labels import pretty_label
from physapp.core.mesh import MeshData
from physapp.core.params import ParameterSpec, validate_params
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress


def fits(values: dict[str, float], geometry: Callable[[dict[str, float]], Any]
         ) -> dict[str, float]:
    """``values`` once ``geometry(values)`` passed; the GeometryError it raises (the shape
    cannot be built: a hole that does not fit) becomes a ParameterError with its message."""
    try:
        geometry(values)
    except GeometryError as exc:
        raise ParameterError(str(exc)) from None
    return values


@dataclass(frozen=True)
class FieldSpec:
    """A scalar field the viewport can show: ``name`` is a key of ``FieldResult.point_data``
    (``"displacement[0]"`` addresses a component, a bare vector name its magnitude)."""

    name: str
    label: str  # as read on screen: :func:`physapp.core.labels.pretty_label` is applied
    unit: str  # SI, ASCII ("degC", "W/m^2"); shown through the display-unit table

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", pretty_label(self.label))


@dataclass(frozen=True)
class Material:
    """Isotropic linear-elastic material (SI units: Pa)."""

    youngs_modulus: float
    poissons_ratio: float
    name: str = ""


@dataclass(frozen=True)
class Support:
    """Fix displacement components (0 = x, 1 = y, 2 = z) on a named boundary region.

    ``Support(region, (0, 1, 2))`` clamps, ``Support(region, (1,))`` fixes one component (a roller),
    ``Support(region, symmetry=True)`` is a symmetry plane: the displacement normal to the region
    is fixed (the region must be flat and normal to x, y or z). ``values`` prescribes a
    displacement (m) per listed component instead of zero. The region may be a face, an edge or a
    point (3D), an edge or a point (2D).
    """

    region: str
    components: tuple[int, ...] = ()
    symmetry: bool = False
    values: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        comps = tuple(int(c) for c in self.components)
        vals = tuple(float(v) for v in self.values)
        if vals and (len(vals) != len(comps) or self.symmetry):
            raise ParameterError(
                f"The support on '{self.region}' prescribes {len(vals)} displacement value(s) "
                f"for {len(comps)} component(s); give one value per fixed component.")
        object.__setattr__(self, "values", vals)
        if not comps and not self.symmetry:
            raise ParameterError(
                f"The support on '{self.region}' fixes nothing: give the components it fixes "
                "(0 = x, 1 = y, 2 = z; all of them to clamp) or make it a symmetry support."
            )
        if any(c not in (0, 1, 2) for c in comps) or len(set(comps)) != len(comps):
            raise ParameterError(
                f"The support on '{self.region}' has components {list(self.components)}; each "
                "must be 0 (x), 1 (y) or 2 (z), at most once."
            )
        object.__setattr__(self, "components", comps)


@dataclass(frozen=True)
class Traction:
    """A surface traction vector (Pa) applied on a named boundary region.

    With ``total=True`` the vector is instead a resultant force (N; per unit thickness in plane
    analyses, per radian in axisymmetric ones) spread uniformly over the region's meshed area, so
    the applied load is exact whatever the mesh.
    """

    region: str
    vector: tuple[float, ...]
    total: bool = False


@dataclass(frozen=True)
class NodalForce:
    """A force (N) on a point region (shared by its nodes) or a 3D edge region (spread uniformly
    along its length); per unit thickness in plane analyses."""

    region: str
    vector: tuple[float, ...]


@dataclass(frozen=True)
class Pressure:
    """A pressure (Pa) on a named boundary region; positive pushes against the outward normal."""

    region: str
    value: float


@dataclass(frozen=True)
class ThermalStrain:
    """Thermal load: strain ``alpha * (T - t_ref)``; ``temperature`` is a scalar or per-node array."""

    alpha: float
    temperature: float | object
    t_ref: float = 0.0


@dataclass(frozen=True)
class ElasticSetup:
    """Everything an elasticity solver needs besides the mesh.

    ``analysis`` is ``"plane_stress"``, ``"plane_strain"``, ``"axisymmetric"`` (x = r, y = z) or
    ``"3d"``. ``body_force`` is a force per unit volume (N/m^3), e.g. density * gravity.
    """

    analysis: str
    material: Material
    supports: tuple[Support, ...]
    tractions: tuple[Traction, ...] = ()
    pressures: tuple[Pressure, ...] = ()
    body_force: tuple[float, ...] = ()
    thermal: ThermalStrain | None = None
    thickness: float = 1.0
    nodal_forces: tuple[NodalForce, ...] = ()
    #: (subdomain, Material) overrides: a material per region (the rest keeps ``material``)
    region_materials: tuple[tuple[str, Material], ...] = ()


@dataclass(frozen=True)
class FixedTemperature:
    """Prescribed temperature (same unit as the study, e.g. degC) on a named boundary region."""

    region: str
    value: float


@dataclass(frozen=True)
class HeatFlux:
    """Heat flux into the body (W/m^2) through a named boundary region."""

    region: str
    value: float


@dataclass(frozen=True)
class Convection:
    """Convection to a fluid: flux out = h (T - t_inf), h in W/(m^2 K)."""

    region: str
    h: float
    t_inf: float


@dataclass(frozen=True)
class HeatSetup:
    """Steady heat conduction: conductivity (W/(m K); a scalar or subdomain name -> value),
    volumetric source (W/m^3, everywhere) plus ``region_sources`` ((subdomain, W/m^3), ...) and
    boundary conditions (fixed temperatures may also be on edges and points). ``analysis`` is ``"planar"`` (2D, per
    unit thickness), ``"axisymmetric"`` (x = r, per radian) or ``"3d"``."""

    analysis: str
    conductivity: float | Mapping[str, float]
    fixed: tuple[FixedTemperature, ...] = ()
    fluxes: tuple[HeatFlux, ...] = ()
    convections: tuple[Convection, ...] = ()
    source: float = 0.0
    region_sources: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class StudySpec:
    """Static description of a study: what the gallery, sliders and CLI show."""

    id: str
    title: str
    description: str
    parameters: tuple[ParameterSpec, ...]
    fields: tuple[FieldSpec, ...]
    default_field: str
    unit_system: str = "SI (m, N, Pa)"
    notes: str = ""
    #: names of the study's key quantities, in the order they are shown (see
    #: :mod:`physapp.core.quantities` for how they are computed)
    key_quantities: tuple[str, ...] = field(default_factory=tuple)
    #: SI unit (ASCII, as :class:`FieldSpec`) of each key quantity the study computes itself
    #: (``field_quantities``, ``derived_quantities``); the built-in peaks need none. Exports,
    #: the app and compare metrics take units from here.
    key_units: Mapping[str, str] = field(default_factory=dict, hash=False)

    def parameter(self, name: str) -> ParameterSpec:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.parameters}

    def validate(self, values: Mapping[str, float],
                 geometry: Callable[[dict[str, float]], Any] | None = None) -> dict[str, float]:
        """``values`` with defaults filled and each checked against its range (ParameterError
        naming the parameter). ``geometry(v)``: a check that the shape can be built, run after;
        a GeometryError it raises becomes a ParameterError (what ``Study.check`` raises)."""
        v = validate_params(self.parameters, values)
        if geometry is not None:
            fits(v, geometry)
        return v

    def field_spec(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def key_unit(self, name: str) -> str:
        """The unit of key quantity ``name`` (declared here, else the built-in one)."""
        from physapp.core.quantities import key_unit

        return key_unit(name, self)


class Study(Protocol):
    """A parametric study: a spec, a mesher and a physical set-up (implemented in studies/)."""

    spec: StudySpec

    def check(self, params: Mapping[str, float]) -> dict[str, float]:
        """Validate bounds and cross-parameter constraints; raise ParameterError/GeometryError."""
        ...

    def build_mesh(
        self,
        params: Mapping[str, float],
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> MeshData: ...

    def setup(self, params: Mapping[str, float]) -> ElasticSetup: ...

    # Optional (looked up with getattr; see physapp.core.quantities):
    #
    # def field_quantities(self, result: FieldResult, params: Mapping[str, float]
    #                      ) -> Mapping[str, float]:
    #     """Key quantities computed from a result's fields (``result.point_data``, nodal
    #     arrays), its mesh (``result.mesh``) and the parameters; called for every solve and
    #     every surrogate prediction, whose units ``spec.key_units`` declares."""
    #
    # def derived_quantities(self, params, key: Mapping[str, float]) -> Mapping[str, float]:
    #     """Quantities from the parameters and the key quantities found so far."""
    #
    # field_scaling: dict  (see physapp.surrogates.scaling)


def gravity(density: float, g: tuple[float, ...] = (0.0, 0.0, -9.81)) -> tuple[float, ...]:
    """Body force (N/m^3) of gravity on a material of ``density`` (kg/m^3): ``density * g``."""
    return tuple(density * gi for gi in g)

"""Plain-Python core of physapp: data types and contracts (no Qt, VTK, torch or FE library)."""

from physapp.core.errors import Cancelled, GeometryError, ParameterError, PhysappError, SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.params import ParameterSpec, validate_params
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.protocols import Solver, Surrogate
from physapp.core.results import FieldResult
from physapp.core.study import (
    Convection,
    ElasticSetup,
    FieldSpec,
    FixedTemperature,
    HeatFlux,
    HeatSetup,
    Material,
    NodalForce,
    Pressure,
    Study,
    StudySpec,
    Support,
    ThermalStrain,
    Traction,
)

__all__ = [
    "Convection",
    "FixedTemperature",
    "HeatFlux",
    "NodalForce",
    "HeatSetup",
    "NEVER",
    "CancelToken",
    "Cancelled",
    "CellBlock",
    "ElasticSetup",
    "FieldResult",
    "FieldSpec",
    "GeometryError",
    "Material",
    "MeshData",
    "ParameterError",
    "ParameterSpec",
    "Pressure",
    "PhysappError",
    "ProgressFn",
    "SolverError",
    "Solver",
    "Study",
    "StudySpec",
    "Support",
    "Surrogate",
    "ThermalStrain",
    "Traction",
    "no_progress",
    "scaled",
    "validate_params",
]

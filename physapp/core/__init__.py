"""Plain-Python core of physapp: data types and contracts (no Qt, VTK, torch or FE library)."""

from physapp.core.errors import Cancelled, GeometryError, ParameterError, PhysappError, SolverError
from physapp.core.mesh import CellBlock, MeshData
from physapp.core.params import ParameterSpec, validate_params
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.protocols import Solver, Surrogate
from physapp.core.results import FieldResult
from physapp.core.study import (
    ElasticSetup,
    FieldSpec,
    Material,
    Study,
    StudySpec,
    Support,
    Traction,
)

__all__ = [
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
    "PhysappError",
    "ProgressFn",
    "SolverError",
    "Solver",
    "Study",
    "StudySpec",
    "Support",
    "Surrogate",
    "Traction",
    "no_progress",
    "scaled",
    "validate_params",
]

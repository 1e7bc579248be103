"""FieldResult: what a solver or a surrogate returns (immutable, float32 fields)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from physapp.core.mesh import MeshData


@dataclass(frozen=True)
class FieldResult:
    """Named nodal fields on a mesh.

    ``point_data`` values are float32 arrays of shape ``(n_points,)`` or ``(n_points, k)``;
    ``units`` maps a field name to its unit; ``meta`` carries timings, parameters and metrics.
    """

    mesh: MeshData
    point_data: Mapping[str, np.ndarray]
    source: str
    meta: Mapping[str, Any] = field(default_factory=dict)
    units: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = {}
        for name, values in self.point_data.items():
            arr = np.ascontiguousarray(values, dtype=np.float32)
            if arr.shape[0] != self.mesh.n_points:
                raise ValueError(
                    f"field {name!r} has {arr.shape[0]} values for {self.mesh.n_points} points"
                )
            arr.setflags(write=False)
            data[name] = arr
        object.__setattr__(self, "point_data", MappingProxyType(data))
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))
        object.__setattr__(self, "units", MappingProxyType(dict(self.units)))

    def __getstate__(self) -> dict:
        return {"mesh": self.mesh, "point_data": dict(self.point_data), "source": self.source,
                "meta": dict(self.meta), "units": dict(self.units)}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)
        self.__post_init__()

    def __repr__(self) -> str:
        params = self.meta.get("params") or {}
        text = (f"FieldResult({self.source!r}, {self.mesh.n_points:,} points, fields: "
                f"{describe_fields(self.point_data, self.units, 1)}")
        if params:
            text += "; " + ", ".join(f"{k}={_number(v)}" for k, v in params.items())
        return text + ")"

    def to_pyvista(self) -> Any:
        """The mesh with every field as point data, as a ``pyvista.UnstructuredGrid`` (cells as
        they are: quadratic elements become VTK's quadratic cells; vectors (n, 3); the units in
        ``grid.field_data["units"]`` as ``name=unit``). Needs pyvista (installed with physapp)."""
        from physapp.viz.grids import result_to_pyvista

        return result_to_pyvista(self)

    def scalar(self, name: str) -> np.ndarray:
        """A scalar view of a field: components are addressed as ``name[i]``, vectors by magnitude."""
        if name in self.point_data:
            arr = self.point_data[name]
            return arr if arr.ndim == 1 else np.linalg.norm(arr, axis=1).astype(np.float32)
        base, _, idx = name.partition("[")
        return self.point_data[base][:, int(idx.rstrip("]"))]


def _number(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def describe_fields(point_data: Mapping[str, Any], units: Mapping[str, str], axis: int) -> str:
    """``"displacement (3) [m], von_mises [Pa]"``: field names, components (the size of
    ``axis`` beyond the points) and units, for reprs."""
    out = []
    for name, arr in point_data.items():
        shape = tuple(getattr(arr, "shape", ()))
        comps = f" ({shape[axis]})" if len(shape) > axis else ""
        unit = units.get(name, "")
        out.append(f"{name}{comps}" + (f" [{unit}]" if unit and unit != "1" else ""))
    return ", ".join(out) or "none"

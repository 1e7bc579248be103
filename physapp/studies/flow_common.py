"""Fields every flow study shows (the flow solvers write all of them)."""

from __future__ import annotations

from physapp.core.study import FieldSpec

FLOW_FIELDS = (
    FieldSpec("velocity", "Velocity magnitude", "m/s"),
    FieldSpec("velocity[0]", "Velocity u_x", "m/s"),
    FieldSpec("velocity[1]", "Velocity u_y", "m/s"),
    FieldSpec("pressure", "Pressure", "Pa"),
    FieldSpec("pressure_coefficient", "Pressure coefficient Cp", "1"),
    FieldSpec("vorticity", "Vorticity", "1/s"),
    FieldSpec("stream_function", "Stream function", "m^2/s"),
)

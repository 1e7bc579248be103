"""Fields every flow study shows (the flow solvers write all of them), and the check of a
cylinder in a channel (the steady and the transient DFG benchmarks share it)."""

from __future__ import annotations

from physapp.core.errors import ParameterError
from physapp.core.study import FieldSpec, fits

FLOW_FIELDS = (
    FieldSpec("velocity", "Velocity magnitude", "m/s"),
    FieldSpec("velocity[0]", "Velocity u_x", "m/s"),
    FieldSpec("velocity[1]", "Velocity u_y", "m/s"),
    FieldSpec("pressure", "Pressure", "Pa"),
    FieldSpec("pressure_coefficient", "Pressure coefficient Cp", "1"),
    FieldSpec("vorticity", "Vorticity", "1/s"),
    FieldSpec("stream_function", "Stream function", "m^2/s"),
)


def check_cylinder_in_channel(values: dict[str, float], re: float, re_max: float, above: str,
                              length: float, height: float, x_centre: float) -> dict[str, float]:
    """``values`` when the Reynolds number ``re`` is at most ``re_max`` (``above`` says what
    happens beyond it) and the cylinder and its mesh fit the channel; else a ParameterError."""
    if re > re_max:
        raise ParameterError(f"Re = U D / nu = {re:.3g} is above {re_max:g}, where {above}; "
                             "lower the speed or the diameter.")
    from physapp.geometry.flow_domains import check_channel  # gmsh only when meshing

    return fits(values, lambda v: check_channel(length, height, x_centre, v["y_position"],
                                                v["diameter"], v["mesh_size"]))

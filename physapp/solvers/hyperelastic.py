"""Large-deformation elasticity: total-Lagrangian compressible neo-Hookean solids (#22).

:func:`solve_hyperelastic` builds the discrete problem
(:class:`~physapp.solvers.hyperelastic_model.HyperelasticModel`: kinematics, material, P1/P2
discretisation, dead and follower loads, nodal output; ``yield_stress > 0`` selects the
elastic-plastic material of :mod:`physapp.solvers.plasticity`), follows its equilibrium path
(:func:`~physapp.solvers.hyperelastic_path.follow_path`: load control with step cutting, or
Crisfield's arc length through limit points) and returns the last state with the whole path as
a :class:`~physapp.core.history.FieldHistory`. The names of both modules are importable from
here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from physapp.core.errors import Cancelled, SolverError
from physapp.core.history import FieldHistory
from physapp.core.mesh import MeshData
from physapp.core.nonlinear import HyperelasticSetup
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.solvers.hyperelastic_model import (
    ANALYSES,
    HyperelasticModel,
    lame,
    neo_hookean_cauchy,
)
from physapp.solvers.hyperelastic_path import NewtonReport, PathResult, _System, follow_path

__all__ = ["ANALYSES", "HyperelasticModel", "NewtonReport", "NonlinearSolution", "PathResult",
           "StepCallback", "_System", "follow_path", "lame", "neo_hookean_cauchy",
           "solve_hyperelastic"]

StepCallback = Callable[[float, dict, dict], None]


@dataclass
class NonlinearSolution:
    """The last converged state (``fields`` on ``out_mesh``) and the whole path (``history``)."""

    out_mesh: MeshData
    fields: dict[str, np.ndarray]
    history: FieldHistory
    path: PathResult
    stats: dict = field(default_factory=dict)


def solve_hyperelastic(mesh: MeshData, setup: HyperelasticSetup, *, order: int = 2,
                       progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                       on_step: StepCallback | None = None, rtol: float = 1e-9,
                       stop: Callable[[np.ndarray, float], bool] | None = None,
                       checkpoints=(), sink=None) -> NonlinearSolution:
    """Solve ``setup`` on ``mesh`` along its load path; every converged step's fields go to the
    history (and to ``on_step(t, fields, curves)`` as it comes, and to ``sink``, a
    :class:`~physapp.core.history_sink.HistorySink` such as ``io.history.HistoryWriter`` that
    streams them to a file, so a killed solve leaves its steps there).

    A path that stops early is returned (``history.complete`` False, ``history.meta["stopped"]``
    the reason) unless not even the first step converged (SolverError). Cancelling raises
    Cancelled."""
    t0 = time.perf_counter()
    progress(0.0, "Setting up the large-deformation model")
    model = HyperelasticModel(mesh, setup, order)
    out_mesh = model.output_mesh()
    steps: list[dict[str, np.ndarray]] = []
    ts: list[float] = []
    curve: list[float] = []
    units = {"displacement": "m", "von_mises": "Pa", "plastic_strain": "1"}
    curve_units = {"reaction_force": "N"} if setup.reaction is not None else {}
    if sink is not None:
        sink.begin(out_mesh, source="solver:hyperelastic", units=units,
                   curve_units=curve_units, time_label=setup.time_label,
                   time_unit=setup.time_unit)

    def each(lam: float, x: np.ndarray, i: int) -> None:
        fields = model.nodal_fields(x)
        steps.append({name: fields[name].astype(np.float32)
                      for name in ("displacement", "von_mises", "plastic_strain")
                      if name in fields})
        t = lam * setup.time_scale
        ts.append(t)
        curves = {}
        if setup.reaction is not None:
            curve.append(model.reaction(x, lam) + 0.0)  # no -0.0 at the start
            curves["reaction_force"] = curve[-1]
        if on_step is not None:
            on_step(t, fields, curves)
        if sink is not None:
            sink.append(t, steps[-1], curves)

    grid = ()
    if setup.uniform_steps:
        grid = tuple(setup.max_load_factor * k / setup.n_steps for k in range(1, setup.n_steps))
    try:
        path = follow_path(model, control=setup.control, n_steps=setup.n_steps,
                           max_load_factor=setup.max_load_factor, max_steps=setup.max_steps,
                           rtol=rtol, on_step=each, stop=stop, progress=progress, cancel=cancel,
                           checkpoints=tuple(checkpoints) + grid,
                           max_growth=setup.max_step_growth)
    except Cancelled:
        raise
    if len(path.states) < 2:
        raise SolverError(path.message or "The first load step did not converge.")
    fields = model.nodal_fields(path.states[-1])
    meta = {"n_dofs": int(model.N), "n_steps": len(path.states) - 1,
            "newton_iterations": int(sum(path.iterations)), "step_cuts": path.cuts,
            "factorisations": path.n_solves, "control": setup.control,
            "t_solve": time.perf_counter() - t0}
    if not path.complete:
        meta["stopped"] = path.message
    hist = FieldHistory(
        out_mesh, np.asarray(ts),
        {name: np.stack([s[name] for s in steps]) for name in steps[0]},
        "solver:hyperelastic", meta, units,
        curves={"reaction_force": np.asarray(curve)} if curve else {},
        curve_units=curve_units if curve else {},
        time_label=setup.time_label, time_unit=setup.time_unit, complete=path.complete)
    warnings = [path.message] if path.message else []
    if order == 1:
        warnings.append("Linear (P1) elements are too stiff in bending (thin walls, beams) and "
                        "near incompressibility: solve large deformations at order 2.")
    stats = dict(meta, history=hist, load_factors=list(path.load_factors),
                 warnings=warnings, method="Newton + sparse LU",
                 field_units={"displacement": "m"})
    if curve:
        t, f = np.asarray(ts), np.asarray(curve)
        i = int(np.argmax(f))
        k0 = float(f[1] / t[1]) if len(t) > 1 and t[1] != 0 else float("nan")
        names = setup.key_names
        stats["curves"] = {"reaction_force": [[float(a), float(b)] for a, b in zip(t, f,
                                                                                  strict=True)]}
        stats["key_quantities"] = {names[0]: float(f[i]), names[1]: float(t[i]), names[2]: k0}
        unit = setup.time_unit if setup.time_unit != "1" else ""
        stats["key_units"] = {names[0]: "N", names[1]: unit,
                              names[2]: f"N/{unit}" if unit else "N"}
    if sink is not None:
        sink.end(complete=path.complete, meta={k: v for k, v in stats.items()
                                               if k in ("key_quantities", "key_units",
                                                        "warnings", *meta)})
    progress(1.0, "Done" if path.complete else "Stopped early")
    return NonlinearSolution(out_mesh, fields, hist, path, stats)

"""ReferenceSolver: the Solver protocol for every built-in physics (dispatch on the set-up)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from physapp.core.errors import SolverError
from physapp.core.history import FieldHistory
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.quantities import key_unit, result_key_quantities
from physapp.core.results import FieldResult
from physapp.core.study import Study
from physapp.core.threads import limited
from physapp.core.transient import time_axis

FIELD_UNITS = {"displacement": "m", "temperature": "degC", "heat_flux": "W/m^2", "strain": "m/m"}


def field_unit(name: str) -> str:
    """SI unit of a solver output field (stresses are Pa)."""
    return FIELD_UNITS.get(name, "Pa" if name.startswith(("sigma", "tau", "von")) else "")


class ReferenceSolver:
    """Finite-element reference solver: elasticity (2D, axisymmetric, 3D) and steady heat."""

    id = "reference"

    def __init__(self, order: int = 2, *, check_p1: bool = True, check_memory: bool = True) -> None:
        self.order = order
        #: refuse a solve whose estimated memory need is above what this machine has, before
        #: meshing (sweeps switch it off: they check once up front, for all their workers)
        self.check_memory = check_memory
        #: estimate the error of P1 elasticity solves (a cheap P2 re-solve, else stress recovery)
        #: and warn when P1 is too stiff for the mesh (sweeps switch it off)
        self.check_p1 = check_p1

    def _prepare(self, study: Study, params: Mapping[str, float], progress: ProgressFn,
                 cancel: CancelToken, mesh: MeshData | None) -> dict:
        """Check, mesh (unless ``mesh``), split to simplices and find the registered solver."""
        t0 = time.perf_counter()
        values = study.check(params)
        if mesh is None:
            if self.check_memory:
                from physapp.core.memory import check_study_solve

                check_study_solve(study, values, self.order)  # MemoryLimitError before meshing
            mesh = study.build_mesh(values, progress=scaled(progress, 0.0, 0.15), cancel=cancel)
        t_mesh = time.perf_counter() - t0
        split_note = ""
        from physapp.solvers.simplices import needs_split, split_to_simplices

        if needs_split(mesh):
            counts = ", ".join(f"{n} {t}" for t, n in mesh.cell_counts().items())
            mesh = split_to_simplices(mesh)
            split_note = f"{counts} split into {mesh.n_cells} simplices for the solve"
        setup = study.setup(values)
        # the solver registered for this kind of set-up (physapp/plugins/builtin.toml, or a
        # plugin's [[solvers]]): heat, 2D or 3D elasticity, or a plugin's physics
        from physapp.plugins import find_solver

        found = find_solver(type(setup).__name__, mesh.dim)
        if found is None:
            raise SolverError(f"No solver for a set-up of type {type(setup).__name__} on a "
                              f"{mesh.dim}D mesh (is the plugin that provides it enabled?).")
        contribution, solve = found
        return dict(t0=t0, values=values, mesh=mesh, t_mesh=t_mesh, split_note=split_note,
                    setup=setup, contribution=contribution, solve=solve,
                    kind=str(contribution.data.get("physics", contribution.id)),
                    history=bool(contribution.data.get("history", False)))

    def solve_history(
        self,
        study: Study,
        params: Mapping[str, float],
        *,
        sink=None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
        mesh: MeshData | None = None,
    ):
        """Solve a transient (or load-stepped) study: a ``FieldHistory``. Steps go to ``sink``
        (a ``core.history_sink.HistorySink``; default in memory; ``io.history.HistoryWriter``
        streams them to a file; by default they stay in memory until they would use a quarter
        of it, then go on to a temporary file: ``io.history.SpillingHistorySink``). A cancel
        returns the steps done (``complete=False``); the history's ``meta`` has the study,
        parameters, warnings and the final key quantities."""
        from physapp.io.history import SpillingHistorySink

        with limited():
            return self._solve_history(study, params, sink, progress, cancel, mesh,
                                       SpillingHistorySink)

    def _solve_history(self, study, params, sink, progress, cancel, mesh, SpillingHistorySink):
        p = self._prepare(study, params, progress, cancel, mesh)
        if not p["history"]:
            raise SolverError(f"'{study.spec.id}' is a steady study: it has one state, not a "
                              "history (use solve).")
        values = p["values"]
        sink = _StudySink(sink if sink is not None else SpillingHistorySink(), study, values, p,
                          mesh_warnings(p["mesh"]))
        return p["solve"](p["mesh"], p["setup"], order=self.order,
                          progress=scaled(progress, 0.15, 1.0), cancel=cancel, sink=sink)

    def solve(
        self,
        study: Study,
        params: Mapping[str, float],
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
        mesh: MeshData | None = None,
        sink=None,
    ) -> FieldResult:
        """Mesh the study at ``params`` (or use ``mesh``, e.g. a morph of a reference mesh) and
        solve it. Raises ParameterError/GeometryError/SolverError with a message, or Cancelled.
        ``sink`` (a HistorySink) receives every step of a load-stepped solve as it converges
        (the bottle; :func:`physapp.compute.tasks.solve_study_stepped` streams them to a file)."""
        if time_axis(study) is not None:  # a transient study: its final state
            history = self.solve_history(study, params, progress=progress, cancel=cancel,
                                         mesh=mesh)
            if history.n_steps == 0:
                raise SolverError("The solve stopped before its first step.")
            return history.frame(-1)
        with limited():  # small dense work: one BLAS/OpenMP thread (physapp.core.threads)
            return self._solve(study, params, progress, cancel, mesh, sink)

    def _solve(self, study, params, progress, cancel, mesh, sink) -> FieldResult:
        p = self._prepare(study, params, progress, cancel, mesh)
        if p["history"]:
            raise SolverError(f"The set-up of '{study.spec.id}' has a time axis but the study "
                              "declares none (give it a `transient` TimeAxis).")
        t0, values, mesh, t_mesh = p["t0"], p["values"], p["mesh"], p["t_mesh"]
        split_note, setup, solve, kind = p["split_note"], p["setup"], p["solve"], p["kind"]
        warnings = mesh_warnings(mesh)
        sub = scaled(progress, 0.15, 1.0)
        if sink is not None:
            sol = solve(mesh, setup, order=self.order, progress=sub, cancel=cancel, sink=sink)
        else:
            sol = solve(mesh, setup, order=self.order, progress=sub, cancel=cancel)
        fields = sol.fields
        warnings = warnings + list(sol.stats.get("warnings", []))  # the solver's own (flow)
        p1_error = None
        if self.order == 1 and self.check_p1 and kind == "elasticity" and "displacement" in fields:
            p1_error, text = _check_p1(mesh, setup, sol, solve, cancel)
            if text:
                warnings = [*warnings, text]
        if not all(np.all(np.isfinite(v)) for v in fields.values()):
            raise SolverError("The solution contains NaN or infinite values; check the inputs.")
        meta = dict(sol.stats, t_mesh=t_mesh, t_total=time.perf_counter() - t0, params=values,
                    study=study.spec.id, physics=kind, analysis=setup.analysis,
                    mesh_note=split_note, warnings=warnings, p1_error_estimate=p1_error)
        hist = meta.get("history")
        if isinstance(hist, FieldHistory):  # a load-stepped path: it knows its design (the app
            # overlays a predicted history of the same design on it)
            meta["history"] = replace(hist, meta={**hist.meta, "study": study.spec.id,
                                                  "params": dict(values)})
        units = {name: sol.stats.get("field_units", {}).get(name, field_unit(name))
                 for name in fields}
        result = FieldResult(sol.out_mesh, fields, f"solver:{kind}", meta, units)
        return with_key_quantities(study, result, values, sol.stats)


def with_key_quantities(study: Study, result: FieldResult, values: Mapping[str, float],
                        stats: Mapping) -> FieldResult:
    """``result`` with ``meta["key_quantities"]`` and ``meta["key_units"]``: the built-in
    peaks, the solver's own (``stats``: drag, lift, heat rates), the study's
    ``field_quantities`` and ``derived_quantities`` (:mod:`physapp.core.quantities`); a hook
    that raises is a warning of the solve."""
    extra = {f"heat_rate[{r}]": float(v) for r, v in stats.get("heat_rates", {}).items()}
    extra.update(stats.get("key_quantities", {}))
    kq, kunits, problems = result_key_quantities(study, result, values, extra=extra,
                                                 extra_units=stats.get("key_units", {}))
    meta = dict(result.meta, key_quantities=kq, key_units=kunits)
    if problems:
        meta["warnings"] = [*meta.get("warnings", []),
                            *(f"A key quantity of '{study.spec.id}' failed: {p}" for p in problems)]
    return replace(result, meta=meta)


def mesh_warnings(mesh: MeshData) -> list[str]:
    """Element-quality warnings (inverted, degenerate, badly shaped simplices) of a mesh."""
    from physapp.solvers.wellposed import element_quality_warnings

    corners = 3 if mesh.dim == 2 else 4
    blocks = [b.connectivity[:, :corners] for b in mesh.cells
              if b.type in ("triangle", "triangle6", "tetra", "tetra10")]
    if not blocks:
        return []
    return element_quality_warnings(mesh.points, np.concatenate(blocks), mesh.length_unit)


def _check_p1(mesh, setup, sol, solve, cancel) -> tuple[float | None, str]:
    """Estimated relative error of a P1 elasticity solution and a warning when it is large."""
    from physapp.solvers.p1check import CHEAP_P2_DOFS, p1_warning, p2_dofs_estimate, zz_estimate

    u1 = float(np.linalg.norm(sol.fields["displacement"], axis=1).max())
    n1 = int(sol.stats.get("n_dofs", 0))
    if p2_dofs_estimate(n1, mesh.dim) <= CHEAP_P2_DOFS:
        try:
            sol2 = solve(mesh, setup, order=2, cancel=cancel)
        except SolverError:
            return None, ""
        u2 = float(np.linalg.norm(sol2.fields["displacement"], axis=1).max())
        err, text = p1_warning(u1, u2, None)
        return err, text
    if sol.out_mesh.cells[0].type not in ("triangle", "tetra") or setup.region_materials:
        return None, ""
    E, nu = setup.material.youngs_modulus, setup.material.poissons_ratio
    lam, mu = E * nu / ((1 + nu) * (1 - 2 * nu)), E / (2 * (1 + nu))
    if getattr(setup, "analysis", "") == "plane_stress":
        lam = 2 * lam * mu / (lam + 2 * mu)
    if getattr(setup, "analysis", "") == "axisymmetric" or setup.thermal is not None:
        return None, ""
    err, text = p1_warning(u1, None, zz_estimate(sol.out_mesh, sol.fields, (lam, mu)))
    return err, text


class _StudySink:
    """Passes steps on to ``inner`` and adds the study's meta (study, parameters, timings,
    warnings, final key quantities with the study's derived ones) when the history ends."""

    def __init__(self, inner, study: Study, values: Mapping[str, float], prep: dict,
                 warnings: list[str]) -> None:
        self.inner, self.study, self.values, self.prep = inner, study, values, prep
        self.warnings = warnings

    def begin(self, mesh, **kw) -> None:
        axis = time_axis(self.study)
        if axis is not None:
            kw.setdefault("time_label", axis.label)
            kw.setdefault("time_unit", axis.unit)
        self.inner.begin(mesh, **kw)

    def append(self, time_, point_data, curves=None) -> None:
        self.inner.append(time_, point_data, curves)

    @property
    def n_steps(self) -> int:
        return self.inner.n_steps

    def end(self, *, complete: bool = True, meta=None):
        meta = dict(meta or {})
        kq = dict(meta.get("key_quantities", {}))
        derived = getattr(self.study, "derived_quantities", None)
        if derived is not None and kq:
            try:
                kq.update(derived(self.values, kq))
            except (KeyError, ValueError, ZeroDivisionError):
                pass
        given = meta.get("key_units", {})
        units = {k: key_unit(k, self.study.spec, given) for k in kq}
        p = self.prep
        meta.update(study=self.study.spec.id, params=dict(self.values), physics=p["kind"],
                    analysis=getattr(p["setup"], "analysis", ""), mesh_note=p["split_note"],
                    t_mesh=p["t_mesh"], t_total=time.perf_counter() - p["t0"],
                    warnings=[*self.warnings, *meta.get("warnings", [])],
                    key_quantities=kq, key_units=units)
        return self.inner.end(complete=complete, meta=meta)

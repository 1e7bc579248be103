"""ElasticitySolver: the Solver protocol for 2D elasticity studies (mesh, assemble, solve)."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress, scaled
from physapp.core.results import FieldResult
from physapp.core.study import Study
from physapp.solvers.elasticity2d import solve_plane

UNITS = {"displacement": "m", "sigma_xx": "Pa", "sigma_yy": "Pa", "tau_xy": "Pa",
         "von_mises": "Pa", "sigma_1": "Pa", "sigma_2": "Pa"}


class ElasticitySolver:
    """Reference linear-elasticity solver (P1/P2 triangles, pyamg-preconditioned CG)."""

    id = "elasticity"

    def __init__(self, order: int = 2) -> None:
        self.order = order

    def solve(
        self,
        study: Study,
        params: Mapping[str, float],
        *,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> FieldResult:
        t0 = time.perf_counter()
        values = study.check(params)
        mesh = study.build_mesh(values, progress=scaled(progress, 0.0, 0.15), cancel=cancel)
        t_mesh = time.perf_counter() - t0
        sol = solve_plane(mesh, study.setup(values), order=self.order,
                          progress=scaled(progress, 0.15, 1.0), cancel=cancel)
        u = sol.fields["displacement"]
        meta = dict(sol.stats, t_mesh=t_mesh, t_total=time.perf_counter() - t0, params=values,
                    study=study.spec.id,
                    key_quantities={"peak_von_mises": float(sol.fields["von_mises"].max()),
                                    "max_displacement": float(np.linalg.norm(u, axis=1).max())})
        return FieldResult(sol.out_mesh, sol.fields, f"solver:{self.id}", meta, UNITS)

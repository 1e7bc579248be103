"""Every reference solve checks its memory need before meshing (#14): the CLI, the API and the
GUI's solve job all go through ReferenceSolver.solve; sweeps check once, for all workers."""

import time

import pytest

from physapp.core.errors import PhysappError
from physapp.core.memory import MemoryLimitError
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study


def _recording(study, monkeypatch):
    """Record the mesh_size of every mesh the study builds."""
    sizes = []
    real = study.build_mesh

    def build_mesh(values, *args, **kwargs):
        sizes.append(float(values["mesh_size"]))
        return real(values, *args, **kwargs)

    monkeypatch.setattr(study, "build_mesh", build_mesh)
    return sizes


def test_too_fine_a_mesh_is_refused_before_meshing(monkeypatch):
    monkeypatch.setenv("PHYSAPP_MEMORY_LIMIT", "1GB")
    study = get_study("plate-with-hole")
    sizes = _recording(study, monkeypatch)
    t0 = time.monotonic()
    with pytest.raises(PhysappError, match="mesh_size") as err:
        ReferenceSolver(order=2).solve(study, {"mesh_size": 0.0005})
    assert isinstance(err.value, MemoryLimitError)
    assert "1.0 GB" in str(err.value)
    assert time.monotonic() - t0 < 5.0
    assert sizes and min(sizes) > 0.0005  # only coarse meshes for the estimate, not the real one


def test_a_solve_that_fits_runs_and_sweeps_can_skip_the_check(monkeypatch):
    monkeypatch.setenv("PHYSAPP_MEMORY_LIMIT", "1GB")
    study = get_study("plate-with-hole")
    sizes = _recording(study, monkeypatch)
    result = ReferenceSolver(order=1, check_p1=False).solve(study, {"mesh_size": 0.01})
    assert "displacement" in result.point_data
    assert sizes[-1] == pytest.approx(0.01)  # the real mesh, after coarse ones for the estimate
    assert len(sizes) >= 2 and min(sizes[:-1]) > 0.01
    sizes.clear()
    ReferenceSolver(order=1, check_p1=False, check_memory=False).solve(study, {"mesh_size": 0.01})
    assert sizes == [pytest.approx(0.01)]  # no estimate: a sweep has checked up front

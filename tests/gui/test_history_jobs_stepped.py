"""A GUI solve of a load-stepped study (the bottle, #22) streams its steps to a history file of
the window (compute.tasks.solve_study_stepped), as a transient solve does, so a cancelled or
failed solve keeps them; a steady study's job is left as it is."""

from types import SimpleNamespace

from physapp.compute.tasks import solve_study, solve_study_stepped
from physapp.gui import history_jobs
from physapp.studies import get_study


def test_a_bottle_solve_job_streams_its_steps_and_a_plate_solve_does_not():
    ctrl = SimpleNamespace(window=SimpleNamespace())
    job = (solve_study, "bottle-top-load", {}, 2)
    stepped = history_jobs.job_for(ctrl, get_study("bottle-top-load"), job)
    assert stepped[0] is solve_study_stepped and stepped[1:4] == job[1:4]
    assert stepped[4] == ctrl._history_path and stepped[4].endswith(".h5")
    plate = (solve_study, "plate-with-hole", {}, 2)
    assert history_jobs.job_for(ctrl, get_study("plate-with-hole"), plate) == plate
    assert ctrl._history_path is None
    history_jobs.cleanup(ctrl)

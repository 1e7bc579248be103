"""The time axis through the plumbing: study, ReferenceSolver, job task, CLI, exports (#18)."""

import json
import subprocess
import sys
from pathlib import Path

import meshio
import numpy as np
import pytest

from physapp.compute.tasks import solve_study_history
from physapp.core.transient import is_transient, time_axis
from physapp.io.history import read_history
from physapp.io.history_export import curve_rows, write_history_file
from physapp.solvers.reference import ReferenceSolver
from physapp.studies import get_study
from physapp.studies.heat_sink_transient import CP_ALUMINIUM, RHO_ALUMINIUM

ROOT = Path(__file__).resolve().parents[2]
COARSE = {"mesh_size": 0.006, "fin_thickness": 0.004, "t_end": 300.0, "conductivity": 400.0}


@pytest.fixture(scope="module")
def history():
    study = get_study("heat-sink-transient")
    return ReferenceSolver(order=1).solve_history(study, COARSE)


def test_heat_sink_switched_on_balances_energy(history):
    """Power in = heat to the air + heat stored: P t = int(rate dt) + rho c V (T_mean - T_air)
    (k = 400: the sink is nearly isothermal, so the mean of peak and minimum is its mean)."""
    study = get_study("heat-sink-transient")
    assert is_transient(study) and not is_transient(get_study("heat-sink"))
    assert history.complete and history.n_steps == time_axis(study).n_steps + 1
    assert history.meta["study"] == "heat-sink-transient" and history.meta["params"]["t_end"] == 300
    t, rate = history.times, history.curves["heat_rate[cooled]"]
    assert rate[0] == pytest.approx(0.0, abs=1e-9) and np.all(np.diff(rate) > 0)
    to_air = float(np.sum(0.5 * (rate[1:] + rate[:-1]) * np.diff(t)))
    T_mean = 0.5 * (history.curves["peak_temperature"] + history.curves["min_temperature"])[-1]
    v = study.spec.validate(COARSE)
    volume = 0.06 * 0.05 * v["base_thickness"] + 6 * v["fin_thickness"] * 0.05 * v["fin_height"]
    stored = RHO_ALUMINIUM * CP_ALUMINIUM * volume * (T_mean - 25.0)
    assert to_air + stored == pytest.approx(v["power"] * 300.0, rel=0.02)
    kq = history.meta["key_quantities"]
    assert kq["thermal_impedance"] == pytest.approx((kq["peak_temperature"] - 25) / 20.0)
    assert history.meta["key_units"]["thermal_impedance"] == "K/W"


def test_solve_of_a_transient_study_is_its_final_state(history):
    res = ReferenceSolver(order=1).solve(get_study("heat-sink-transient"), COARSE)
    assert res.meta["time"] == pytest.approx(300.0) and res.meta["step"] == history.n_steps - 1
    # (gmsh may place a node differently on a second meshing: compare the quantities)
    assert res.meta["key_quantities"]["peak_temperature"] == pytest.approx(
        history.curves["peak_temperature"][-1], rel=2e-3)
    assert res.point_data["temperature"].max() == pytest.approx(
        res.meta["key_quantities"]["peak_temperature"], rel=1e-6)
    assert "thermal_impedance" in res.meta["key_quantities"]


def test_job_task_streams_to_a_file(tmp_path):
    ref = solve_study_history("heat-sink-transient", {**COARSE, "t_end": 60.0}, 1,
                              str(tmp_path / "job.h5"))
    assert ref.complete and ref.n_steps == 61
    h = read_history(ref.path)
    assert h.n_steps == 61 and h.times[-1] == pytest.approx(60.0)
    assert h.meta["key_quantities"]["peak_temperature"] == pytest.approx(
        h.curves["peak_temperature"][-1])


def test_time_series_exports(history, tmp_path):
    pvd = write_history_file(history, tmp_path / "s.pvd")
    text = pvd.read_text()
    assert text.count("<DataSet") == history.n_steps and 'file="s/s_00060.vtu"' in text
    last = meshio.read(tmp_path / "s" / "s_00060.vtu")
    np.testing.assert_allclose(last.point_data["temperature"],
                               history.point_data["temperature"][-1], rtol=1e-6)
    write_history_file(history, tmp_path / "s.xdmf")
    assert (tmp_path / "s.h5").is_file() and not list(tmp_path.glob("*.tmp*"))
    with meshio.xdmf.TimeSeriesReader(str(tmp_path / "s.xdmf")) as reader:
        reader.read_points_cells()
        assert reader.num_steps == history.n_steps
        t, pd, _ = reader.read_data(history.n_steps - 1)
    assert t == pytest.approx(300.0)
    np.testing.assert_allclose(pd["temperature"], history.point_data["temperature"][-1], rtol=1e-6)
    rows = curve_rows(history)
    assert rows[0][0] == "time (s)" and "peak_temperature (degC)" in rows[0]
    assert len(rows) == history.n_steps + 1


def test_cli_json_prints_the_curves(tmp_path):
    out = tmp_path / "c.csv"
    sets = [a for k, v in {**COARSE, "t_end": 40.0}.items() for a in ("--set", f"{k}={v}")]
    proc = subprocess.run([sys.executable, "-m", "physapp", "solve", "heat-sink-transient",
                           *sets, "--order", "1", "--out", str(out), "--json"],
                          capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "OMP_NUM_THREADS": "1", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["n_steps"] == 61 and summary["complete"]
    curves = summary["curves"]
    assert curves["time"][-1] == pytest.approx(40.0) and len(curves["peak_temperature"]) == 61
    assert summary["curve_units"]["peak_temperature"] == "degC"
    header = out.read_text().splitlines()[0]
    assert header.startswith("time (s),") and not list(tmp_path.glob(".*steps.h5"))

"""The application model without Qt: events, validation, study switches, session round trip."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from physapp.app import AppModel
from physapp.core.errors import ParameterError
from physapp.io.session import dumps, loads
from physapp.studies import get_study


@pytest.fixture
def model() -> AppModel:
    return AppModel(get_study("plate-with-hole"))


def test_importing_the_model_loads_no_qt_vtk_or_torch():
    code = ("import sys, physapp.app; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'vtk', 'vtkmodules', 'pyvista', 'torch', 'skfem', 'gmsh')]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_a_parameter_change_fires_once_with_the_new_value(model):
    seen = []
    model.design.changed.connect(lambda name, value: seen.append((name, value)))
    v0 = model.design.version
    model.design.set_value("radius", 0.03)
    model.design.set_value("radius", 0.03)  # no change: no event, no new version
    assert seen == [("radius", 0.03)]
    assert model.design.version == v0 + 1
    assert model.design.value("radius") == 0.03


def test_latest_value_wins_and_each_change_is_one_event(model):
    seen = []
    model.design.changed.connect(lambda name, value: seen.append(value))
    for r in (0.021, 0.022, 0.023):
        model.design.set_value("radius", r)
    assert seen == [0.021, 0.022, 0.023]
    assert model.design.params["radius"] == 0.023


def test_out_of_range_values_are_refused_not_clamped(model):
    p = model.design.spec.parameter("radius")
    with pytest.raises(ParameterError):
        model.design.set_value("radius", p.upper * 2)
    with pytest.raises(ParameterError):  # all checked before any is set
        model.design.set_values({"width": p.lower + 0.21, "radius": p.upper * 2})
    assert model.design.params == model.design.spec.defaults()


def test_view_events_fire_once_and_values_are_normalised(model):
    seen = []
    model.view.events.colormap.connect(lambda new, old: seen.append((new, old)))
    model.view.colormap = "viridis"
    model.view.colormap = "viridis"
    assert seen == [("viridis", "turbo")]
    clims = []
    model.view.events.clim.connect(lambda new, old: clims.append(new))
    model.view.clim = [0, 250]  # a list from JSON: stored as a tuple of floats
    model.view.clim = (0.0, 250.0)  # equal: no second event
    assert clims == [(0.0, 250.0)]
    for bad in ({"colormap": "rainbow"}, {"warp_scale": -1.0}, {"clim": (5.0, 1.0)}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            setattr(model.view, *next(iter(bad.items())))


def test_a_study_switch_keeps_the_model_and_its_subscribers(model):
    design = model.design
    studies, changes = [], []
    design.study_changed.connect(lambda s: studies.append(s.spec.id))
    design.changed.connect(lambda n, v: changes.append(n))
    model.view.field = "sigma_xx" if any(
        f.name == "sigma_xx" for f in design.spec.fields) else model.view.field
    heat = get_study("heat-sink")
    design.set_study(heat)
    assert model.design is design and studies == ["heat-sink"]
    assert model.view.field == heat.spec.default_field  # the old field is not the sink's
    name = heat.spec.parameters[0].name
    p = heat.spec.parameter(name)
    design.set_value(name, (p.lower + p.upper) / 2)
    assert changes == [name]  # the same subscription hears the new study


def test_a_switch_keeps_values_the_new_study_accepts(model):
    model.design.set_value("radius", 0.03)
    model.design.set_study(get_study("plate-with-hole"), model.design.params)
    assert model.design.value("radius") == 0.03


def test_solve_state_goes_through_its_states(model):
    statuses = []
    model.solve.events.status.connect(lambda new, old: statuses.append(new))
    model.solve.start(7, model.design.version, model.design.params)
    assert model.solve.busy and model.solve.job == 7
    model.solve.progress = 0.5
    model.solve.finish("done")
    assert statuses == ["solving", "done"]
    assert model.solve.progress == 1.0 and model.solve.job == 0
    with pytest.raises(ValueError):
        model.solve.status = "exploded"


def test_session_round_trip_through_json(model):
    model.design.set_values({"radius": 0.025, "traction": 2.5e7})
    model.view.colormap = "coolwarm"
    model.view.show_edges = True
    model.view.warp_scale = 200.0
    model.view.clim = (0.0, 120.0)
    model.view.camera = {"position": [1, 2, 3], "focal_point": [0, 0, 0],
                         "view_up": [0, 0, 1], "parallel_scale": 0.2}
    model.source.surrogate = "/models/plate.pt"
    data = loads(dumps(model.to_dict()))  # what a file holds, validated by physapp.io
    again = AppModel.from_dict(data, get_study)
    assert again.to_dict() == model.to_dict()
    assert again.design.params == model.design.params
    assert again.view.clim == (0.0, 120.0)
    assert again.session.dirty is False


def test_an_old_session_file_opens():
    old = {"format": "physapp-session", "version": 1, "study": "plate-with-hole",
           "params": {"radius": 0.03}, "surrogate": "",
           "view": {"field": "von_mises", "show_edges": True}, "part": None}
    m = AppModel.from_dict(json.loads(json.dumps(old)), get_study)
    assert m.design.value("radius") == 0.03 and m.view.show_edges
    assert m.view.colormap == "turbo"  # missing keys keep their defaults


def test_a_bad_session_is_refused_naming_the_key():
    base = {"format": "physapp-session", "version": 1, "study": "plate-with-hole",
            "params": {}, "surrogate": "", "view": {}, "part": None}
    with pytest.raises(ValueError, match="params"):
        AppModel.from_dict({**base, "params": {"radius": 99.0}}, get_study)
    with pytest.raises(ValueError, match="params.nonsense"):
        AppModel.from_dict({**base, "params": {"nonsense": 1.0}}, get_study)
    with pytest.raises(ValueError, match="view"):
        AppModel.from_dict({**base, "view": {"colormap": "rainbow"}}, get_study)
    with pytest.raises(ValueError, match="version"):
        AppModel.from_dict({**base, "version": 99}, get_study)


def test_the_dirty_flag_follows_saved_state(model):
    assert model.session.dirty is False
    model.view.camera = {"position": [1, 2, 3], "focal_point": [0, 0, 0],
                         "view_up": [0, 0, 1], "parallel_scale": 0.2}
    assert model.session.dirty is False  # rotating the view is not an edit
    model.design.set_value("radius", 0.03)
    assert model.session.dirty is True
    model.session.dirty = False
    model.view.show_edges = True
    assert model.session.dirty is True


def test_messages_reach_every_subscriber(model):
    got = []
    model.messages.connect(lambda text, level, tag: got.append((text, level, tag)))
    model.notify("Mesh failed", "error", "geometry")
    assert got == [("Mesh failed", "error", "geometry")]

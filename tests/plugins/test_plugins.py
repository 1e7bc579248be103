"""Plugin discovery without importing code, the shipped example plugin, and broken plugins."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from physapp.plugins import PluginError, discover, read_manifest


def _plugin(root, name, manifest, code=None):
    folder = root / name
    (folder / name).mkdir(parents=True)
    (folder / name / "__init__.py").write_text("")
    (folder / "plugin.toml").write_text(textwrap.dedent(manifest))
    if code is not None:
        (folder / name / "study.py").write_text(textwrap.dedent(code))
    return folder


GOOD = """
    [plugin]
    name = "{name}"
    version = "0.1"
    api = 1
    [[studies]]
    id = "vessel"
    entry = "{entry}"
"""


def test_discovery_reads_manifests_without_importing_code():
    script = ("import sys; from physapp.plugins import discover; "
              "infos = discover(user_dir=False); "
              "print([i.name for i in infos], 'pressure_vessel.study' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert "pressure_vessel" in out.stdout and out.stdout.strip().endswith("False")


def test_example_plugin_study_matches_lame_closed_cylinder():
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("pressure_vessel/vessel")
    res = ReferenceSolver(order=2).solve(study, {})
    p = res.mesh.points
    R, Ro, pr = 0.5, 0.53, 2e6
    bore = (np.abs(p[:, 0] - R) < 1e-9) & (p[:, 1] < 0.5)
    hoop = pr * (Ro**2 + R**2) / (Ro**2 - R**2)
    axial = pr * R**2 / (Ro**2 - R**2)
    assert res.point_data["sigma_hoop"][bore].mean() == pytest.approx(hoop, rel=0.01)
    assert res.point_data["sigma_zz"][bore].mean() == pytest.approx(axial, rel=0.01)
    # the head carries the whole end load: reaction on the symmetry plane = p R^2 / 2 per radian
    assert res.meta["reactions"]["symmetry"][1] == pytest.approx(-pr * R**2 / 2, rel=1e-6)


def test_broken_plugins_are_reported_and_others_work(tmp_path):
    _plugin(tmp_path, "badtoml", "[plugin\nname = 'x'")
    _plugin(tmp_path, "future", "[plugin]\nname = 'future'\napi = 99\n")
    _plugin(tmp_path, "noentry", "[plugin]\nname = 'noentry'\n[[studies]]\nid = 'a'\n")
    _plugin(tmp_path, "crashy", GOOD.format(name="crashy", entry="crashy.study:Nope"),
            code="raise RuntimeError('boom at import')\n")
    _plugin(tmp_path, "dupe", GOOD.format(name="pressure_vessel", entry="dupe.study:X"))
    infos = {i.path.split(os.sep)[-1]: i for i in discover([tmp_path], entry_points=False,
                                                           user_dir=False)}
    assert "cannot be read" in infos["badtoml"].error
    assert "API 99" in infos["future"].error
    assert "no entry" in infos["noentry"].error
    assert "another plugin named 'pressure_vessel'" in infos["dupe"].error
    assert infos["crashy"].ok  # the manifest is fine; the code fails only when used
    with pytest.raises(PluginError, match="crashy.*boom at import"):
        infos["crashy"].contributions[0].load()
    assert infos["pressure_vessel"].ok
    # the CLI keeps working, lists the good studies and reports the broken plugin
    env = {**os.environ, "PHYSAPP_PLUGIN_PATH": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "physapp", "plugins", "--json"], env=env,
                         capture_output=True, text=True, check=True)
    rows = {r["name"]: r for r in json.loads(out.stdout)["plugins"]}
    assert "boom at import" in rows["crashy"]["error"]
    studies = subprocess.run([sys.executable, "-m", "physapp", "studies", "--json"], env=env,
                             capture_output=True, text=True, check=True)
    ids = [s["id"] for s in json.loads(studies.stdout)["studies"]]
    assert "pressure_vessel/vessel" in ids and "plate-with-hole" in ids
    assert not any(i.startswith("crashy") for i in ids)


def test_manifest_contributions(tmp_path):
    folder = _plugin(tmp_path, "demo", GOOD.format(name="demo", entry="demo.study:S"))
    info = read_manifest(folder / "plugin.toml")
    assert info.ok and [c.id for c in info.contributions] == ["demo/vessel"]


# -- every contribution kind, built-in and from the example plugin --------------------------------
VESSEL = "pressure_vessel/vessel"
COARSE = {"mesh_size": 0.02, "thickness": 0.05}


@pytest.fixture(autouse=True)
def _fresh_registry():
    from physapp.plugins import refresh

    refresh()
    yield
    refresh()


def test_builtin_models_readers_writers_register_through_the_manifest():
    from physapp.plugins import builtin_plugin, find_reader, find_writer, surrogate_class
    from physapp.surrogates.models import HISTORY_KINDS, KINDS, MESH_KINDS, model_class
    from physapp.surrogates.models.pod import PodGPSurrogate

    info = builtin_plugin()
    assert ([c.id for c in info.contributions if c.kind == "surrogates"]
            == [*KINDS, *MESH_KINDS, *HISTORY_KINDS])
    assert model_class("pod-gp") is surrogate_class("pod-gp") is PodGPSurrogate
    assert find_reader(".vtu").contribution.plugin == "physapp"
    assert find_reader(".STEP").contribution.plugin == "physapp"
    assert find_writer(".vtu").contribution.plugin == "physapp"
    assert find_reader(".nothing") is None and find_writer(".nothing") is None


def test_plugin_writer_and_reader_round_trip(tmp_path):
    from physapp.io.export import write_mesh
    from physapp.io.readers import read_mesh
    from physapp.plugins import find_reader, find_writer
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    assert find_reader(".ptm").contribution.plugin == "pressure_vessel"
    assert find_writer(".ptm").contribution.plugin == "pressure_vessel"
    res = ReferenceSolver(order=2).solve(get_study(VESSEL), COARSE)
    path = write_mesh(res, tmp_path / "vessel.ptm")  # export finds the plugin's writer
    mesh, report = read_mesh(path)  # and read_mesh the plugin's reader
    assert report.format == "physapp text mesh" and "pressure_vessel" in report.notes[0]
    np.testing.assert_array_equal(mesh.points, res.mesh.points)
    assert mesh.cells[0].type == "triangle6"
    np.testing.assert_array_equal(mesh.cells[0].connectivity, res.mesh.cells[0].connectivity)
    assert set(mesh.boundaries) == set(res.mesh.boundaries)
    for name, facets in res.mesh.boundaries.items():
        np.testing.assert_array_equal(mesh.boundaries[name], facets)
    from pressure_vessel.textmesh import read_ptm_fields

    fields = read_ptm_fields(path)
    assert set(fields) == set(res.point_data)
    np.testing.assert_array_equal(fields["von_mises"], res.point_data["von_mises"])
    # the hoop stress at the bore survives the round trip (Lame within 1 %)
    R, Ro, p = 0.5, 0.55, 2e6
    bore = (np.abs(mesh.points[:, 0] - R) < 1e-9) & (mesh.points[:, 1] < 0.5)
    assert fields["sigma_hoop"][bore].mean() == pytest.approx(p * (Ro**2 + R**2) / (Ro**2 - R**2),
                                                               rel=0.01)
    # the CLI reads it too, and a length unit scales the plugin's coordinates
    out = subprocess.run([sys.executable, "-m", "physapp", "info", str(path), "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    js = json.loads(out.stdout)
    assert js["n_points"] == res.mesh.n_points and js["cells"] == {"triangle6": len(mesh.cells[0])}
    mm, _ = read_mesh(path, length_unit="mm")
    np.testing.assert_allclose(mm.points, res.mesh.points * 1e-3)


@pytest.fixture(scope="module")
def vessel_data(tmp_path_factory):
    """A real sweep of the plugin study: 12 designs (radius, thickness), P1, 9 train / 3 test."""
    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset

    path = tmp_path_factory.mktemp("vessel") / "vessel.h5"
    ds = Dataset.create(path, VESSEL, 12, "lhs", 0, 0.25, vary=["radius", "thickness"],
                        fixed={"mesh_size": 0.02}, bounds={"thickness": (0.06, 0.1),
                                                          "radius": (0.4, 0.6)}, order=1)
    assert run_sweep(ds, 1).done_total == 12
    return path


def test_plugin_surrogate_architecture_trains_saves_and_loads(vessel_data, tmp_path):
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import load_surrogate, save_surrogate
    from physapp.surrogates.training import train_surrogate

    data = Dataset.open(vessel_data).training_data()
    model = train_surrogate("vessel-quadratic", data, device="cpu")
    assert type(model).__module__ == "pressure_vessel.quadratic"
    quad = model.metrics["fields"]["sigma_hoop"]["rel_l2"]
    lin = train_surrogate("linear", data, device="cpu").metrics["fields"]["sigma_hoop"]["rel_l2"]
    assert quad < 0.01 and quad < lin / 3  # the quadratic surface beats the linear baseline
    again = load_surrogate(save_surrogate(model, tmp_path / "q.pt"))
    X = data.test().X
    np.testing.assert_allclose(again.predict_arrays(X)["sigma_hoop"],
                               model.predict_arrays(X)["sigma_hoop"], rtol=1e-6)
    # the CLI: `physapp train --model <plugin id>`, then predict in a fresh process
    out = tmp_path / "cli.pt"
    proc = subprocess.run([sys.executable, "-m", "physapp", "train", str(vessel_data), "--model",
                           "vessel-quadratic", "--out", str(out), "--json", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["vessel-quadratic"]
    assert report["metrics"]["fields"]["sigma_hoop"]["rel_l2"] == pytest.approx(quad, rel=1e-6)
    pred = subprocess.run([sys.executable, "-m", "physapp", "predict", str(out), "--out",
                           str(tmp_path / "p.vtu"), "--json"], capture_output=True, text=True,
                          timeout=120)
    assert pred.returncode == 0 and json.loads(pred.stdout)["model"] == "vessel-quadratic"


def test_plugin_ships_a_pretrained_vessel_model():
    from physapp.plugins import model_files, shipped_models
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study
    from physapp.surrogates.storage import load_surrogate

    files = model_files(VESSEL)
    assert [f.name for f in files] == ["pod-gp.pt"] and files[0].stat().st_size < 3e6
    assert shipped_models(VESSEL) == [files[0].resolve()]
    model = load_surrogate(files[0], study_id=VESSEL)
    m = model.metrics
    assert m["n_test"] >= 6 and m["fields"]["von_mises"]["rel_l2"] < 0.02
    assert m["fields"]["displacement"]["rel_l2"] < 0.03
    # against the solver at a design inside the trained range
    design = {"radius": 0.6, "thickness": 0.07, "length": 2.5, "pressure": 8e6}
    pred = model.predict(design)
    assert not pred.meta["out_of_range"]
    res = ReferenceSolver(order=2).solve(get_study(VESSEL), {**design, "mesh_size": 0.02})
    peak_s = float(pred.point_data["von_mises"].max())
    assert peak_s == pytest.approx(res.meta["key_quantities"]["peak_von_mises"], rel=0.03)


def _broken_plugin(root):
    """One plugin whose reader fails to import, writer raises, model entry is no class, panel
    raises in its constructor."""
    folder = root / "broken"
    (folder / "broken").mkdir(parents=True)
    (folder / "broken" / "__init__.py").write_text("")
    (folder / "broken" / "badread.py").write_text("import no_such_module_xyz\n")
    (folder / "broken" / "io.py").write_text(textwrap.dedent("""
        def write(path, result):
            raise ValueError("disk on fire")
        NOT_A_CLASS = 42
        class Panel:
            def __init__(self, window):
                raise RuntimeError("panel exploded")
    """))
    (folder / "plugin.toml").write_text(textwrap.dedent("""
        [plugin]
        name = "broken"
        api = 1
        [[readers]]
        extensions = [".brk"]
        entry = "broken.badread:read"
        [[writers]]
        extensions = [".brk"]
        entry = "broken.io:write"
        [[surrogates]]
        id = "broken-model"
        entry = "broken.io:NOT_A_CLASS"
        [[panels]]
        id = "boom"
        title = "Boom"
        entry = "broken.io:Panel"
        [[models]]
        study = "plate-with-hole"
        file = "missing.pt"
    """))
    (root / "mesh.brk").write_text("anything\n")
    return folder


def test_broken_contributions_are_reported_never_crash(tmp_path, monkeypatch):
    from physapp.core.errors import PhysappError
    from physapp.io.export import write_mesh
    from physapp.io.readers import read_mesh
    from physapp.plugins import load_problems, refresh
    from physapp.surrogates.models import model_class

    _broken_plugin(tmp_path)
    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(tmp_path))
    refresh()
    with pytest.raises(PluginError, match="broken.*no_such_module_xyz"):
        read_mesh(tmp_path / "mesh.brk")
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    res = ReferenceSolver(order=1).solve(get_study("thick-cylinder"), {"mesh_size": 0.02})
    with pytest.raises(PhysappError, match="disk on fire"):
        write_mesh(res, tmp_path / "out.brk")
    assert not list(tmp_path.glob("*out*"))  # nothing half-written
    with pytest.raises(PluginError, match="not a FieldSurrogate class"):
        model_class("broken-model")
    assert "broken" in load_problems()
    env = {**os.environ, "PHYSAPP_PLUGIN_PATH": str(tmp_path)}
    info = subprocess.run([sys.executable, "-m", "physapp", "info", str(tmp_path / "mesh.brk")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert info.returncode == 1 and "no_such_module_xyz" in info.stderr
    assert "Traceback" not in info.stderr and len(info.stderr.strip().splitlines()) == 1
    rows = json.loads(subprocess.run([sys.executable, "-m", "physapp", "plugins", "--json"],
                                     env=env, capture_output=True, text=True, timeout=120,
                                     check=True).stdout)["plugins"]
    row = next(r for r in rows if r["name"] == "broken")
    assert row["error"]  # reported; the other plugins still work
    assert next(r for r in rows if r["name"] == "pressure_vessel")["error"] == ""


def _qt_ready():
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    return pytest.importorskip("pytestqt")


def test_panels_open_as_docks_and_a_broken_one_only_gives_a_message(tmp_path, monkeypatch):
    _qt_ready()
    from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

    from physapp.gui.plugin_panels import add_panels_menu, show_panel
    from physapp.plugins import contributions, refresh

    _broken_plugin(tmp_path)
    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(tmp_path))
    refresh()

    class Window(QMainWindow):
        messages: list = []

        def show_message(self, text, level="error", tag=""):
            self.messages.append((text, level))

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    win = Window()
    view = QMenu("View", win)
    menu = add_panels_menu(win, view)
    titles = [a.text() for a in menu.actions()]
    assert titles == ["Vessel hand calculation", "Boom"]
    panels = {c.id: c for c in contributions("panels")}
    dock = show_panel(win, panels["hand-calc"])
    assert isinstance(dock, QDockWidget) and dock.widget().objectName() == \
        "pressure_vessel.hand_calc"
    values = dock.widget().refresh()  # no study open: the vessel defaults (R 0.5, t 0.03, 2 MPa)
    assert values["hoop"] == pytest.approx(2e6 * (0.53**2 + 0.25) / (0.53**2 - 0.25))
    assert show_panel(win, panels["hand-calc"]) is dock  # opened once, raised after
    menu.actions()[1].trigger()  # the broken panel: a message, no dock, no exception
    assert win.messages and "panel exploded" in win.messages[-1][0]
    assert len(win.findChildren(QDockWidget)) == 1
    win.close()
    app.processEvents()


def test_a_plugin_solver_is_used_for_its_set_up(tmp_path, monkeypatch):
    """Solvers register like everything else: the built-in ones from builtin.toml, and a
    plugin's [[solvers]] with override = true takes over a kind of set-up."""
    from physapp.plugins import find_solver, refresh
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    c, _ = find_solver("ElasticSetup", 3)
    assert c.plugin == "physapp" and c.id == "elasticity-3d"
    assert find_solver("ElasticSetup", 2)[0].id == "elasticity-2d"
    assert find_solver("HeatSetup", 3)[0].id == "heat"
    assert find_solver("AcousticSetup", 3) is None
    _plugin(tmp_path, "wrapheat", """
        [plugin]
        name = "wrapheat"
        version = "0.1"
        api = 1
        [[solvers]]
        id = "heat-checked"
        entry = "wrapheat.study:solve"
        setup = "HeatSetup"
        physics = "heat (checked)"
        override = true
    """, """
        from physapp.solvers.heat import solve_heat

        def solve(mesh, setup, *, order, progress, cancel):
            sol = solve_heat(mesh, setup, order=order, progress=progress, cancel=cancel)
            sol.stats["checked_by"] = "wrapheat"
            return sol
    """)
    study = get_study("heat-sink")
    plain = ReferenceSolver(order=1).solve(study, {"mesh_size": 0.003})
    assert plain.meta["physics"] == "heat" and "checked_by" not in plain.meta
    monkeypatch.setenv("PHYSAPP_PLUGIN_PATH", str(tmp_path))
    monkeypatch.syspath_prepend(str(tmp_path / "wrapheat"))
    refresh()
    try:
        res = ReferenceSolver(order=1).solve(study, {"mesh_size": 0.003})
        assert res.meta["physics"] == "heat (checked)" and res.meta["checked_by"] == "wrapheat"
        # the same physics (the mesher's threads may change a few nodes between runs)
        assert res.point_data["temperature"].max() == pytest.approx(
            plain.point_data["temperature"].max(), rel=1e-2)
    finally:
        monkeypatch.delenv("PHYSAPP_PLUGIN_PATH")
        refresh()

"""Time-dependent results (#18): transient heat accuracy and cost, history files, playback fps.

Run (the playback part needs an X server; without one it re-runs itself under ``xvfb-run``):

    .venv/bin/python benchmarks/transient.py [--quick] [--no-gui]

Heat part:

1. NAFEMS T3 (1-D transient conduction, T(0.08 m, 32 s) = 36.60 degC) for each scheme and two
   steps, and the time order measured on a manufactured solution (P2 holds it exactly in space,
   so the error is the scheme's alone).
2. The heat-sink-transient study at its defaults (P2, ~23k nodes, 60 BDF2 steps) streamed to an
   HDF5 history file: DOFs, steps, wall time by stage (mesh, assembly + one factorisation, the
   steps), time per step, file size, peak memory of the process.
3. Playback of that history and of a 2D plate quenched at one edge (P2, 21,833 nodes) in a real
   main window (1400 x 900, software GL under Xvfb): the renderer alone (the static scene
   rendered again), frames per second when every step is read, written in place and painted on
   screen before the next is read (synchronous), and while the player's timer runs at 4x (80
   frames per second asked; frames are read lazily from the file, written in place into the
   grid, rendered once); wall fps, CPU ms per frame (less sensitive to a shared machine's load)
   and the load average.

``--only playback`` solves the two histories of 3. and measures their playback alone.

Karman part (``--only karman``): DFG 2D-2 from rest to developed shedding (benchmarks/karman.py):
DOFs, steps, wall time to three developed periods, peak memory, c_D / c_L / St against the
published intervals; playback of that history in the app (frames per second); with
``--surrogate`` the history surrogates on 10 coarse runs (Re 80-120): direct phase-aligned,
direct with time as an input, a step-by-step rollout, and the app kinds (``physapp train
--model pod-history-phase|pod-history|neural-field-history``) with the held-out velocity and
lift errors and the coverage of their calibrated +-1.96 std bands.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def table(title: str, head: list[str], rows: list[list]) -> None:
    print(f"\n{title}")
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(head)]
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


# -- heat ----------------------------------------------------------------------------------------
def nafems_t3(quick: bool) -> None:
    from physapp.core import FixedTemperature, HeatSetup
    from physapp.core.transient import SineRamp, TransientHeatSetup
    from physapp.geometry.shapes2d import mesh_rectangle
    from physapp.solvers.heat_transient import solve_heat_transient

    mesh = mesh_rectangle(0.0, 0.0, 0.1, 0.01, 0.005)
    heat = HeatSetup("planar", 35.0, fixed=(FixedTemperature("left", 0.0),
                                            FixedTemperature("right", 100.0)))
    rows = []
    for scheme in ("euler", "crank-nicolson", "bdf2"):
        for dt in ((1.0,) if quick else (2.0, 0.5)):
            setup = TransientHeatSetup(heat, 7200.0, 440.5, 32.0, dt, scheme=scheme,
                                       time_functions={"right": SineRamp(80.0)},
                                       probes={"T": (0.08, 0.005)})
            t0 = time.perf_counter()
            h = solve_heat_transient(mesh, setup, order=2)
            value = h.curves["T"][-1]
            rows.append([scheme, dt, h.meta["n_dofs"], h.n_steps - 1, f"{value:.3f}",
                         f"{100 * (value - 36.60) / 36.60:+.2f} %",
                         f"{time.perf_counter() - t0:.3f}"])
    table("NAFEMS T3: T(0.08 m, 32 s), reference 36.60 degC (P2, h = 5 mm)",
          ["scheme", "dt (s)", "DOFs", "steps", "T (degC)", "error", "wall (s)"], rows)

    w = 2 * np.pi
    heat = HeatSetup("planar", 1.0, fixed=(FixedTemperature("left", 1.0),
                                           FixedTemperature("right", 1.0)), source=1.0)
    funcs = {"left": lambda t: np.sin(w * t), "right": lambda t: np.sin(w * t) - 1.0,
             "source": lambda t: w * np.cos(w * t) + 2.0}
    mesh = mesh_rectangle(0.0, 0.0, 1.0, 0.2, 0.1)
    rows = []
    for scheme in ("euler", "crank-nicolson", "bdf2"):
        errs = []
        for dt in (1 / 40, 1 / 80, 1 / 160, 1 / 320):
            setup = TransientHeatSetup(heat, 1.0, 1.0, 0.5, dt, scheme=scheme,
                                       time_functions=funcs, initial=lambda x: -x[0] ** 2)
            h = solve_heat_transient(mesh, setup, order=2)
            exact = np.sin(w * h.times[-1]) - h.mesh.points[:, 0] ** 2
            errs.append(float(np.abs(np.asarray(h.point_data["temperature"][-1]) - exact).max()))
        rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
        rows.append([scheme, *(f"{e:.2e}" for e in errs), " ".join(f"{r:.2f}" for r in rates)])
    table("Time order on T = sin(2 pi t) - x^2 (max nodal error at t = 0.5)",
          ["scheme", "dt 1/40", "1/80", "1/160", "1/320", "observed orders"], rows)


def heat_sink(folder: Path, quick: bool) -> Path:
    from physapp.io.history import HistoryWriter, read_history
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("heat-sink-transient")
    params = {"mesh_size": 0.005, "fin_thickness": 0.004} if quick else {}
    path = folder / "heat-sink.h5"
    writer = HistoryWriter(path)
    t0 = time.perf_counter()
    h = ReferenceSolver(order=2).solve_history(study, params, sink=writer)
    wall = time.perf_counter() - t0
    m = h.meta
    steps = h.n_steps - 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [[m["n_dofs"], h.mesh.n_points, steps, m["scheme"], m["method"],
             f"{m['t_mesh']:.2f}", f"{m['t_assembly']:.2f}", f"{m['t_factor']:.2f}",
             f"{m['t_steps']:.2f}", f"{1e3 * m['t_steps'] / steps:.1f}", f"{wall:.2f}",
             f"{path.stat().st_size / 1e6:.1f}", f"{peak:.0f}"]]
    table("heat-sink-transient at its defaults" + (" (--quick: 5 mm elements, 4 mm fins)" if quick else ""),
          ["DOFs", "nodes", "steps", "scheme", "linear", "mesh (s)", "assembly (s)",
           "factor (s)", "steps (s)", "per step (ms)", "total (s)", "file (MB)",
           "peak RSS (MB)"], rows)
    kq = m["key_quantities"]
    print(f"final: peak {kq['peak_temperature']:.2f} degC, Z_th = {kq['thermal_impedance']:.3f} "
          f"K/W, heat to air {kq['heat_rate[cooled]']:.2f} W of 20 W")
    back = read_history(path)
    t0 = time.perf_counter()
    for i in range(back.n_steps):
        np.asarray(back.point_data["temperature"][i])
    per = 1e3 * (time.perf_counter() - t0) / back.n_steps
    print(f"lazy read of one temperature frame from the file: {per:.2f} ms")
    return path


def plate_history(folder: Path) -> Path:
    """A 2D history of ~20k nodes: a steel plate quenched at one edge (P2, 30 BDF2 steps)."""
    from physapp.core import Convection, FixedTemperature, HeatSetup
    from physapp.core.transient import TransientHeatSetup
    from physapp.geometry.shapes2d import mesh_rectangle
    from physapp.io.history import HistoryWriter
    from physapp.solvers.heat_transient import solve_heat_transient

    mesh = mesh_rectangle(0.0, 0.0, 0.1, 0.05, 0.00105)
    heat = HeatSetup("planar", 45.0, fixed=(FixedTemperature("left", 20.0),),
                     convections=(Convection("top", 50.0, 20.0),))
    setup = TransientHeatSetup(heat, 7800.0, 460.0, 120.0, 4.0, initial=800.0)
    path = folder / "plate.h5"
    solve_heat_transient(mesh, setup, order=2, sink=HistoryWriter(path))
    return path


def playback_fps(paths: list[Path], study_id: str = "heat-sink-transient") -> list[list]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from physapp.gui.app import configure_pyvista
    from physapp.gui.main_window import MainWindow
    from physapp.io.history import read_history
    from physapp.studies import get_study

    app = QApplication.instance() or QApplication([])
    configure_pyvista()
    rows = []
    for path in paths:
        store = QSettings(str(path.with_suffix(".conf")), QSettings.Format.IniFormat)
        win = MainWindow(get_study(study_id), auto_solve=False, settings_store=store)
        win.resize(1400, 900)
        win.show()
        _wait(app, lambda w=win: w.viewport.grid is not None)   # the geometry preview first
        h = read_history(path)
        win.solves.result = h.frame(-1)
        win.viewport.show_result(win.solves.result, win.field)
        win.playback.set_history(h)
        for _ in range(20):
            app.processEvents()
            time.sleep(0.01)
        kind = ("Karman street" if study_id == "karman-street" else
                "3D heat sink" if h.mesh.dim == 3 else "2D plate")
        name = f"{kind} ({h.mesh.n_points} nodes)"
        pb = win.playback
        rows.append([name, "renderer alone (static scene, unlit)", *_static_render(win),
                     f"{os.getloadavg()[0]:.1f}"])
        for lit in (True, False):
            fps = pb.benchmark(40, fast_shading=not lit)
            rows.append([name, "synchronous, " + ("lit" if lit else "unlit (as playing)"),
                         f"{fps:.1f}", f"{pb.last_cpu_ms:.1f}", f"{1e3 / pb.last_cpu_ms:.0f}",
                         f"{os.getloadavg()[0]:.1f}"])
        m = win.app.playback
        m.loop, m.speed = True, 4.0
        from PySide6.QtCore import QEventLoop, QTimer

        shown = []
        pb.step_shown.connect(shown.append)
        loop = QEventLoop()
        QTimer.singleShot(5000, loop.quit)
        t0, c0 = time.perf_counter(), time.process_time()
        m.playing = True
        loop.exec()  # the app's own event loop, no polling
        m.playing = False
        wall, cpu = time.perf_counter() - t0, 1e3 * (time.process_time() - c0)
        n = max(1, len(shown))
        rows.append([name, "player at 4x (80 fps asked)", f"{n / wall:.1f}",
                     f"{cpu / n:.1f}", f"{1e3 * n / cpu:.0f}", f"{os.getloadavg()[0]:.1f}"])
        win.close()
    table("Playback in the app (1400 x 900 window, software GL under Xvfb, frames read lazily "
          "from HDF5 and written in place; synchronous: each step read, written and painted on "
          "screen before the next; fps at 1 core = 1000 / CPU ms)",
          ["history", "mode", "fps (wall)", "CPU ms/frame", "fps at 1 core", "load avg"], rows)
    return rows


def _static_render(win, n: int = 20) -> list[str]:
    """fps (wall), CPU ms per frame and fps at one core of VTK rendering the scene on screen
    with nothing changed (unlit, as while playing): what the renderer alone costs."""
    vp = win.viewport
    lit = bool(vp.actor.prop.lighting)
    vp.actor.prop.lighting = False
    rw = vp.plotter.render_window
    rw.Render()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(n):
        rw.Render()
    wall, cpu = time.perf_counter() - t0, 1e3 * (time.process_time() - c0) / n
    vp.actor.prop.lighting = lit
    return [f"{n / wall:.1f}", f"{cpu:.1f}", f"{1e3 / cpu:.0f}"]


def _wait(app, cond, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.005)
        if time.perf_counter() > end:
            raise TimeoutError("the app did not get there in time")


# -- Karman street (transient Navier-Stokes): benchmarks/karman.py ------------------------------
def karman_section(args, folder: Path) -> None:
    """The Karman street (DFG 2D-2) from benchmarks/karman.py: DOFs, steps, wall time to three
    developed shedding periods, peak memory and c_D,max / c_L,max / St against the published
    intervals; with --quick a shorter run on the same mesh (shedding not yet developed), and
    with --surrogate the history surrogates (direct vs rollout)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import karman

    from physapp.io.history import HistoryWriter

    print("\nKarman street (DFG 2D-2, Re = 100):")
    path = folder / "karman.h5"
    out = karman.run(0.04, 0.005, 1.5 if args.quick else 3.5, sink=HistoryWriter(path))
    fps = {}
    if not args.no_gui:
        rows = playback_fps([path], "karman-street")
        fps = {r[1]: r[2] for r in rows}
    table("Karman street summary (machine shared: timings 2-5x an idle one's)",
          ["DOFs", "steps", "wall to 3 developed periods (s)", "peak RSS (MB)", "nodes shown",
           "playback fps (player, 4x)", "playback fps (synchronous, unlit)"],
          [[out["n_dofs"], out["steps"], f"{out['wall_three']:.1f}", f"{out['peak_mb']:.0f}",
            out["nodes"], fps.get("player at 4x (80 fps asked)", "-"),
            fps.get("synchronous, unlit (as playing)", "-")]])
    if args.surrogate:
        karman.surrogates(args.cache)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="coarser meshes, fewer steps")
    parser.add_argument("--no-gui", action="store_true", help="skip the playback measurement")
    parser.add_argument("--only", choices=("heat", "karman", "playback"), default=None,
                        help="one part; playback: the two ~20k-node histories' playback alone")
    parser.add_argument("--surrogate", action="store_true",
                        help="also train and compare the Karman history surrogates (10 solves; "
                        "the three model families of benchmarks/karman.py and the app kinds "
                        "with their calibrated coverage)")
    parser.add_argument("--cache", default=None, metavar="FILE.npz",
                        help="keep the surrogate's 10 solves there (a rerun reuses them)")
    args = parser.parse_args()
    if not args.no_gui and not os.environ.get("DISPLAY") and shutil.which("xvfb-run") \
            and not os.environ.get("PHYSAPP_BENCH_XVFB"):
        env = dict(os.environ, PHYSAPP_BENCH_XVFB="1")
        return subprocess.call(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24",
                                sys.executable, *sys.argv], env=env)
    folder = Path(tempfile.mkdtemp(prefix="physapp-bench-transient-"))
    try:
        if args.only in (None, "heat"):
            nafems_t3(args.quick)
            path = heat_sink(folder, args.quick)
            if not args.no_gui:
                playback_fps([path, plate_history(folder)])
        if args.only == "playback":
            playback_fps([heat_sink(folder, args.quick), plate_history(folder)])
        if args.only in (None, "karman"):
            karman_section(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

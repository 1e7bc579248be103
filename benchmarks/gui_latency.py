"""Slider-to-rendered-frame latency measured inside the running app, at ~5k and ~100k nodes.

Run (needs an X server; the GUI tests' Xvfb works):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/gui_latency.py [--quick]

For each mesh size a POD-GP surrogate of the plate with a hole (traction, E, Poisson's ratio;
trained on exactly scaled solves, see ``benchmarks/surrogates.py``) is loaded into a real
:class:`~physapp.gui.main_window.MainWindow` (1400 x 900), and the traction slider is dragged
the way a hand does it: one value change every 30 ms, 60 changes. Each change goes through the
app's own path (slider -> study model -> latest-wins prediction worker -> in-place update of the
grid -> render), and the app's own clock measures the time from the slider change to the end of
the render that shows it (``MainWindow.frame_latency_ms``). The table prints the median and the
90th percentile of those frames, the model's predict time and how many changes made a frame
(latest-wins skips the rest). Target: median <= 50 ms at 100k nodes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

DRAG_INTERVAL_MS = 30
DRAG_STEPS = 60


def _model_file(mesh_size: float, folder: Path) -> tuple[Path, dict[str, float], int]:
    from surrogates import big_plate_data  # benchmarks/surrogates.py

    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    data, _t_ref, design = big_plate_data(mesh_size=mesh_size)
    model = train_surrogate("pod-gp", data, device="cpu")
    path = folder / f"plate-{data.mesh.n_points}.pt"
    save_surrogate(model, path)
    return path, design, data.mesh.n_points


def _wait(app, cond, timeout: float = 60.0) -> None:
    end = time.perf_counter() + timeout
    while not cond():
        app.processEvents()
        time.sleep(0.002)
        if time.perf_counter() > end:
            raise TimeoutError("the app did not get there in time")


def measure(path: Path, design: dict[str, float]) -> dict[str, float]:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from physapp.gui.main_window import MainWindow
    from physapp.studies import get_study

    app = QApplication.instance() or QApplication([])
    store = QSettings(str(path.with_suffix(".conf")), QSettings.Format.IniFormat)
    win = MainWindow(get_study("plate-with-hole"), auto_solve=False, settings_store=store)
    win.show()
    win.model.set_values({k: v for k, v in design.items() if k in win.model.params})
    _wait(app, lambda: win.viewport.grid is not None)
    c = win.surrogates
    before = c.applied
    c.load_file(path)
    _wait(app, lambda: c.showing and c.applied > before)
    row = win.panel.rows["traction"]
    lo, hi = row.slider.minimum(), row.slider.maximum()
    start = 0.2 * lo + 0.8 * hi if hi > 0 else hi
    values = np.linspace(20.0, 90.0, DRAG_STEPS)  # MPa, inside the trained range
    row.slider.setValue(float(start))
    _wait(app, lambda: c.predictor.wait_idle(0.01))
    for _ in range(20):
        app.processEvents()
    c._frames.clear()
    n_applied = c.applied
    predict_ms: list[float] = []
    # the drag runs inside Qt's own event loop, as in the app: a timer moves the slider
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    steps = iter(values)

    def step() -> None:
        if c.last_prediction is not None:
            predict_ms.append(float(c.last_prediction.result.meta.get("latency_ms", np.nan)))
        v = next(steps, None)
        if v is None:
            timer.stop()
            loop.quit()
        else:
            row.slider.setValue(float(v))

    timer = QTimer()
    timer.setInterval(DRAG_INTERVAL_MS)
    timer.timeout.connect(step)
    timer.start()
    loop.exec()
    _wait(app, lambda: c.last_prediction.result.meta["params"]["traction"]
          == float(values[-1]) * 1e6 and not win.viewport.frame_pending)
    frames = np.array(c._frames)
    out = {
        "nodes": win.viewport.n_points,
        "frames": len(frames),
        "changes": len(values),
        "median": float(np.median(frames)),
        "p90": float(np.percentile(frames, 90)),
        "predict": float(np.nanmedian(predict_ms)),
        "applied": c.applied - n_applied,
    }
    win.close()
    app.processEvents()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the ~5k-node mesh")
    args = parser.parse_args(argv)

    import pyvista as pv

    pv.global_theme.multi_samples = 0
    sizes = [0.004] if args.quick else [0.004, 0.0005]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for h in sizes:
            t0 = time.perf_counter()
            path, design, n = _model_file(h, Path(tmp))
            print(f"model on {n:,} nodes ready in {time.perf_counter() - t0:.0f} s", flush=True)
            rows.append(measure(path, design))
    print(f"\n{'nodes':>8} {'changes':>8} {'frames':>7} {'predict ms':>11} "
          f"{'slider-to-frame median ms':>26} {'p90 ms':>7} {'target':>7}")
    for r in rows:
        target = "<= 50" if r["nodes"] > 50_000 else "-"
        print(f"{r['nodes']:>8,} {r['changes']:>8} {r['frames']:>7} {r['predict']:>11.1f} "
              f"{r['median']:>26.1f} {r['p90']:>7.1f} {target:>7}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The longest GUI-thread stall while a part opens in the real window (#16).

Run (needs an X server; the GUI tests' Xvfb works):

    xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python benchmarks/part_open_stall.py
        [FILE ...]

Each file (default: the tests' small box, 1,105 tets; make a ~1M-tet one with
``benchmarks/large_mesh.py``) is opened through File > Open's path in a fresh window; a 10 ms
``QTimer`` heartbeat on the GUI thread records the gaps between its ticks from the open until
0.5 s after the part is on screen. Printed per file: nodes, seconds until the part is on
screen, the three longest gaps (the longest is the stall a user feels) and the load average.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

BOX = Path(__file__).parents[1] / "tests" / "data" / "meshes" / "box.msh"


def open_once(app, path: str) -> tuple[int, float, list[float]]:
    from PySide6.QtCore import QSettings, QTimer

    from physapp.gui.main_window import MainWindow
    from physapp.studies import get_study

    store = QSettings(os.devnull, QSettings.Format.IniFormat)
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, settings_store=store)
    w.resize(1280, 800)
    w.show()
    for _ in range(50):  # settle: first paint, the reading process warms up
        app.processEvents()
        time.sleep(0.02)
    gaps: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(beat)
    timer.start()
    t0 = last[0] = time.perf_counter()
    w.open_file(path)
    while time.perf_counter() - t0 < 300 and not (w.parts.active and w.viewport.n_points > 0):
        app.processEvents()
        time.sleep(0.002)
    shown = time.perf_counter() - t0
    end = time.perf_counter() + 0.5  # the first renders after it is on screen count too
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)
    timer.stop()
    n = w.viewport.n_points
    w.close()
    return n, shown, sorted(gaps, reverse=True)[:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=[str(BOX)])
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from physapp.gui.app import configure_pyvista

    app = QApplication.instance() or QApplication([])
    configure_pyvista()
    print(f"{'file':<24} {'nodes':>9} {'on screen s':>11} {'longest gaps ms':>20} {'load':>5}")
    for path in args.files:
        n, shown, gaps = open_once(app, path)
        print(f"{Path(path).name:<24} {n:>9,} {shown:>11.2f} "
              f"{' '.join(f'{g * 1e3:.0f}' for g in gaps):>20} {os.getloadavg()[0]:>5.1f}",
              flush=True)


if __name__ == "__main__":
    main()

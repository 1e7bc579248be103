"""Start-up of the real app: time to the window shown (first paint), to the first field on
screen and to the first frame of the shipped surrogate, the longest GUI-thread stall until then,
and on which thread torch was imported; the same after a study switch.

    python benchmarks/startup.py [--study plate-with-hole] [--switch l-bracket] [--json]

Each run is a fresh process (``xvfb-run`` is used when there is no display). A 20 ms timer on
the GUI thread measures stalls: the longest gap between two of its ticks, minus the period
(wall clock), and the most CPU time the GUI thread used between two ticks (its own CPU clock:
what a stall costs on an idle machine, while the wall-clock gap on a loaded one also counts the
time the thread waited for a core). Each milestone also reports the process's CPU time
(all its threads; not the solver process). ``--trace-stalls`` samples the GUI thread's stack
whenever it has used over 60 ms of CPU since the timer's last tick.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

T0 = time.perf_counter()


def _child(study: str, switch: str | None, timeout: float, trace: bool = False) -> dict:
    import threading

    torch_thread: list[str] = []

    class Spy:  # a meta-path finder that only notes which thread imports torch first
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name == "torch" and not torch_thread:
                torch_thread.append(threading.current_thread().name)
            return None

    sys.meta_path.insert(0, Spy)
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from physapp.gui.app import Launcher, configure_pyvista

    configure_pyvista()
    app = QApplication.instance() or QApplication(["physapp"])
    out: dict = {"study": study}
    ticks = {"last": None, "max": 0.0, "phase": "start", "max_switch": 0.0,
             "cpu_last": None, "cpu_max": 0.0, "cpu_max_switch": 0.0}
    gui_clock = time.pthread_getcpuclockid(threading.main_thread().ident)
    episode: list[tuple[str, float]] = []  # samples since the last tick
    worst: dict[str, list] = {}  # phase -> samples of its longest GUI-thread CPU stall

    def tick() -> None:
        now, cpu = time.perf_counter(), time.clock_gettime(gui_clock)
        if ticks["last"] is not None:
            gap = now - ticks["last"] - 0.020
            key = "max" if ticks["phase"] == "start" else "max_switch"
            ticks[key] = max(ticks[key], gap)
            if cpu - ticks["cpu_last"] > ticks["cpu_" + key]:
                ticks["cpu_" + key] = cpu - ticks["cpu_last"]
                worst[key] = list(episode)  # what the sampler saw during this stall
        episode.clear()
        ticks["last"], ticks["cpu_last"] = now, cpu

    stalls: dict[str, int] = {}
    if trace:  # sample the GUI thread's stack while a tick is late (see --trace-stalls)
        import traceback

        main_id = threading.main_thread().ident

        def sampler() -> None:
            prev = time.clock_gettime(gui_clock)
            while not ticks.get("done"):
                time.sleep(0.01)
                last, now = ticks["cpu_last"], time.clock_gettime(gui_clock)
                weight, prev = now - prev, now  # GUI-thread CPU since the last sample
                if last is None or now - last < 0.06:
                    continue
                frame = sys._current_frames().get(main_id)
                if frame is None:
                    continue
                stack = traceback.extract_stack(frame)
                ours = [f for f in stack if "physapp" in f.filename or "benchmarks" in f.filename]
                where = " < ".join(f"{os.path.basename(f.filename)}:{f.lineno} {f.name}"
                                   for f in reversed(ours[-3:]))
                inner = stack[-1]
                key = f"{where} | {os.path.basename(inner.filename)}:{inner.lineno} {inner.name}"
                stalls[key] = stalls.get(key, 0.0) + weight
                episode.append((key, weight))

        threading.Thread(target=sampler, daemon=True, name="stall-sampler").start()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(tick)
    timer.start()

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint and "shown_s" not in out:
                out["shown_s"] = time.perf_counter() - T0
                out["shown_cpu_s"] = time.process_time()
            return False

    os.environ.setdefault("PHYSAPP_AUTO_SURROGATE", "1")
    from physapp.plugins import RESOURCES

    launcher = Launcher()
    window = launcher.start(study)
    spy_obj = PaintSpy()
    window.installEventFilter(spy_obj)
    state = {"t_switch": None}

    def poll() -> None:
        vp = window.viewport
        if ticks["phase"] == "start":
            if vp is not None and vp.has_field and "first_field_s" not in out:
                out["first_field_s"] = time.perf_counter() - T0
                out["first_field_cpu_s"] = time.process_time()
                out["first_field_source"] = vp.result.source
            if window.surrogates.showing and "surrogate_frame_s" not in out:
                out["surrogate_frame_s"] = time.perf_counter() - T0
                out["torch_loaded_at_surrogate_frame"] = "torch" in sys.modules
            # a study with a model on disk waits for it (the listing may come after the solve)
            shipped = any(e.source == "built-in" for e in window.surrogates.entries) or (
                RESOURCES / "surrogates" / window.spec.id).is_dir()
            if "first_field_s" in out and ("surrogate_frame_s" in out or not shipped):
                out["torch_imported_by"] = torch_thread[0] if torch_thread else ""
                out["stall_start_ms"] = ticks["max"] * 1e3
                out["gui_cpu_stall_start_ms"] = ticks["cpu_max"] * 1e3
                if switch:
                    ticks["phase"] = "switch"
                    state["t_switch"] = time.perf_counter()
                    from physapp.studies import get_study

                    window.set_study(get_study(switch))
                else:
                    app.quit()
        elif vp is not None and vp.has_field and vp.result is not None and \
                window.spec.id == switch and "switch_field_s" not in out:
            out["switch_field_s"] = time.perf_counter() - state["t_switch"]
            out["stall_switch_ms"] = ticks["max_switch"] * 1e3
            out["gui_cpu_stall_switch_ms"] = ticks["cpu_max_switch"] * 1e3
            app.quit()

    poller = QTimer()
    poller.setInterval(10)
    poller.timeout.connect(poll)
    poller.start()
    QTimer.singleShot(int(timeout * 1000), app.quit)
    app.exec()
    ticks["done"] = True
    if trace:
        top = sorted(stalls.items(), key=lambda kv: -kv[1])[:25]
        out["stall_samples"] = [f"{n * 1e3:>6.0f} ms  {k}" for k, n in top]
        for phase, samples in worst.items():
            merged: dict[str, float] = {}
            for k, w in samples:
                merged[k] = merged.get(k, 0.0) + w
            out[f"worst_stall_{phase}"] = [f"{w * 1e3:>6.0f} ms  {k}" for k, w in
                                           sorted(merged.items(), key=lambda kv: -kv[1])[:8]]
    out["load_average"] = os.getloadavg()[0]
    out.setdefault("torch_imported_by", torch_thread[0] if torch_thread else "")
    out["stall_start_ms"] = out.get("stall_start_ms", ticks["max"] * 1e3)
    window.close()
    launcher.shutdown()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", default="plate-with-hole")
    ap.add_argument("--switch", default="l-bracket", help="study to switch to ('' = none)")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--trace-stalls", action="store_true",
                    help="sample the GUI thread's stack (every 10 ms) while it has used over "
                    "60 ms of CPU since the stall timer's last tick, and print where that CPU "
                    "time went")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print("RESULT " + json.dumps(_child(args.study, args.switch or None, args.timeout,
                                            args.trace_stalls)))
        return 0
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--study", args.study,
           "--switch", args.switch, "--timeout", str(args.timeout)]
    if args.trace_stalls:
        cmd.append("--trace-stalls")
    if not os.environ.get("DISPLAY"):
        cmd = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        print(proc.stdout + proc.stderr, file=sys.stderr)
        return 1
    res = json.loads(line[7:])
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    rows = [("window shown (first paint)", res.get("shown_s"), "s"),
            ("  process CPU time by then", res.get("shown_cpu_s"), "s"),
            ("first field on screen", res.get("first_field_s"), "s"),
            ("  process CPU time by then", res.get("first_field_cpu_s"), "s"),
            ("first surrogate frame on screen", res.get("surrogate_frame_s"), "s"),
            ("longest GUI stall, start-up", res.get("stall_start_ms"), "ms"),
            ("  GUI-thread CPU in one stall, max", res.get("gui_cpu_stall_start_ms"), "ms"),
            ("study switch: field on screen", res.get("switch_field_s"), "s"),
            ("longest GUI stall, switch", res.get("stall_switch_ms"), "ms"),
            ("  GUI-thread CPU in one stall, max", res.get("gui_cpu_stall_switch_ms"), "ms")]
    print(f"load average {res.get('load_average', 0):.1f} on {os.cpu_count()} cores "
          "(wall-clock times grow with the load; the CPU rows much less)")
    print(f"study {res['study']}; first field from {res.get('first_field_source', '?')}; "
          f"torch imported by thread: {res.get('torch_imported_by') or '(not imported)'}; "
          f"torch loaded at the first surrogate frame: "
          f"{res.get('torch_loaded_at_surrogate_frame', '-')}")
    for name, value, unit in rows:
        shown = "-" if value is None else f"{value:.2f}" if unit == "s" else f"{value:.0f}"
        print(f"  {name:<34} {shown:>8} {unit}")
    if res.get("stall_samples"):
        print("GUI thread while busy (its CPU time, physapp frames < ... | innermost frame):")
        for line in res["stall_samples"]:
            print("  " + line)
    for phase, name in (("max", "start-up"), ("max_switch", "study switch")):
        if res.get(f"worst_stall_{phase}"):
            print(f"the longest GUI-thread CPU stall at {name}, sampled:")
            for line in res[f"worst_stall_{phase}"]:
                print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

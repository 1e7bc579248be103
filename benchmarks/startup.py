"""Start-up of the real app: time to the window shown (first paint), to the first field on
screen and to the first frame of the shipped surrogate, the longest GUI-thread stall until then,
and on which thread torch was imported; the same after a study switch.

    python benchmarks/startup.py [--study plate-with-hole] [--switch l-bracket] [--json]

Each run is a fresh process (``xvfb-run`` is used when there is no display). A 20 ms timer on
the GUI thread measures stalls: the longest gap between two of its ticks, minus the period.
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
    ticks = {"last": None, "max": 0.0, "phase": "start", "max_switch": 0.0}

    def tick() -> None:
        now = time.perf_counter()
        if ticks["last"] is not None:
            gap = now - ticks["last"] - 0.020
            key = "max" if ticks["phase"] == "start" else "max_switch"
            ticks[key] = max(ticks[key], gap)
        ticks["last"] = now

    stalls: dict[str, int] = {}
    if trace:  # sample the GUI thread's stack while a tick is late (see --trace-stalls)
        import traceback

        main_id = threading.main_thread().ident

        def sampler() -> None:
            while not ticks.get("done"):
                time.sleep(0.025)
                last = ticks["last"]
                if last is None or time.perf_counter() - last < 0.1:
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
                stalls[key] = stalls.get(key, 0) + 1

        threading.Thread(target=sampler, daemon=True, name="stall-sampler").start()

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(tick)
    timer.start()

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint and "shown_s" not in out:
                out["shown_s"] = time.perf_counter() - T0
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
        out["stall_samples"] = [f"{n * 25:>6} ms  {k}" for k, n in top]
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
                    help="sample the GUI thread's stack while it stalls over 100 ms and print "
                    "where the time went (about 25 ms per sample)")
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
            ("first field on screen", res.get("first_field_s"), "s"),
            ("first surrogate frame on screen", res.get("surrogate_frame_s"), "s"),
            ("longest GUI stall, start-up", res.get("stall_start_ms"), "ms"),
            ("study switch: field on screen", res.get("switch_field_s"), "s"),
            ("longest GUI stall, switch", res.get("stall_switch_ms"), "ms")]
    print(f"study {res['study']}; first field from {res.get('first_field_source', '?')}; "
          f"torch imported by thread: {res.get('torch_imported_by') or '(not imported)'}; "
          f"torch loaded at the first surrogate frame: "
          f"{res.get('torch_loaded_at_surrogate_frame', '-')}")
    for name, value, unit in rows:
        shown = "-" if value is None else f"{value:.2f}" if unit == "s" else f"{value:.0f}"
        print(f"  {name:<34} {shown:>8} {unit}")
    if res.get("stall_samples"):
        print("GUI thread while stalled (sampled time, physapp frames < ... | innermost frame):")
        for line in res["stall_samples"]:
            print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

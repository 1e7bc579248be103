"""`physapp solve` of a transient study (a time axis, #18): the history to a file, curves out.

``--out`` decides what is written: ``.h5`` (physapp's history file, streamed step by step: a
killed solve leaves every finished step in it), ``.pvd`` (a VTU file per step, ParaView's time
series), ``.xdmf`` (XDMF + HDF5 time series), ``.csv`` (the curves over time); ``.vtu``,
``.vtk`` and ``.msh`` get the final state. Anything but ``.h5`` is streamed to a hidden
``.<name>.steps.h5`` next to it first (kept, with its steps, if the solve is killed; removed once
the output is written). ``--json`` prints the curves (time and every key quantity over time).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from physapp.core.errors import PhysappError


def cmd_solve_history(args, study, params, progress) -> int:
    from physapp.cli import EXIT_OK
    from physapp.io.history import HistoryWriter
    from physapp.io.history_export import HISTORY_FORMATS, check_history_path, write_history_file
    from physapp.io.results import RESULT_FORMATS, check_output_path, write_result
    from physapp.solvers.reference import ReferenceSolver

    out = Path(args.out)
    ext = out.suffix.lower()
    if ext in HISTORY_FORMATS:
        check_history_path(out)
    elif ext in RESULT_FORMATS:
        check_output_path(out)
    else:
        raise PhysappError(f"Cannot write '{out.name}': a transient study writes a history "
                           f"({', '.join(HISTORY_FORMATS)}) or its final state "
                           f"({', '.join(e for e in RESULT_FORMATS if e != '.xdmf')}).")
    steps = out if ext == ".h5" else out.with_name(f".{out.name}.steps.h5")
    writer = HistoryWriter(steps)
    try:
        history = ReferenceSolver(order=args.order).solve_history(study, params, sink=writer,
                                                                  progress=progress)
    finally:
        writer.close()
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    if ext == ".h5":
        path = out
    elif ext in HISTORY_FORMATS:
        path = write_history_file(history, out)
    else:
        path = write_result(history.frame(-1), out)
    if steps != out:
        steps.unlink(missing_ok=True)
    meta = history.meta
    for warning in meta.get("warnings", []):
        print(f"physapp: warning: {warning}", file=sys.stderr)
    summary = {
        "study": study.spec.id, "output": str(path), "params": params,
        "n_dofs": meta.get("n_dofs", 0), "n_points": history.mesh.n_points,
        "fields": sorted(history.point_data), "time_s": round(meta.get("t_total", 0.0), 4),
        "n_steps": history.n_steps, "complete": history.complete,
        "time_label": history.time_label, "time_unit": history.time_unit,
        "scheme": meta.get("scheme", ""), "dt": meta.get("dt"),
        "key_quantities": meta.get("key_quantities", {}), "solver": meta.get("method", ""),
        "warnings": list(meta.get("warnings", [])),
        "curves": {history.time_label: history.times.tolist(),
                   **{k: v.tolist() for k, v in history.curves.items()}},
        "curve_units": dict(history.curve_units),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        kq = ", ".join(f"{k} = {v:.4g}" for k, v in summary["key_quantities"].items())
        print(f"Wrote {path} ({history.n_steps} steps to {history.time_label} = "
              f"{history.times[-1]:.4g} {history.time_unit}, {history.mesh.n_points} nodes, "
              f"{summary['n_dofs']} DOFs, {summary['time_s']:.2f} s): {kq}")
    return EXIT_OK

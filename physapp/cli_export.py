"""``physapp export``: meshes with fields, surfaces, figures, tables and sweep animations, headless.

Kept out of :mod:`physapp.cli` (which only registers the parser and dispatches) so that the
command's imports stay lazy: nothing heavy is imported until the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from physapp.core.errors import PhysappError

FORMATS = ("vtu", "xdmf", "vtk", "stl", "ply", "png", "csv", "gif", "mp4")

EPILOG = """Examples:
  physapp export --study plate-with-hole --set radius=0.012 -o plate.vtu
  physapp export --study plate-with-hole --format stl -o plate.stl
  physapp export --study l-bracket --source surrogate -o bracket.png --size 2400x1600 --transparent
  physapp export --study plate-with-hole -o design.csv          # parameters + key quantities
  physapp export --study plate-with-hole --animate radius --frames 30 -o sweep.gif
  physapp export --dataset plate.h5 -o samples.csv              # one row per sample
  physapp export --session design.physapp -o figure.png        # study, values, view of a session
"""


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export meshes with fields, surfaces, figures, tables or animations",
        description="Solve (or predict) a design and export it: the mesh with every field "
        "(.vtu, .xdmf, legacy .vtk), its outer surface (.stl; .ply with the fields), a figure "
        "(.png, any resolution, rendered off screen), a table of parameters and key "
        "quantities (.csv), or an animation of a one-parameter sweep predicted by a surrogate "
        "(.gif, .mp4). Also a table of a sweep data set's samples (--dataset). The format "
        "follows the output's extension unless --format is given. Parameters are SI, as for "
        "`physapp solve`.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group()
    what.add_argument("--study", metavar="ID", help="study id, e.g. plate-with-hole")
    what.add_argument("--session", metavar="FILE.physapp",
                      help="take study, parameter values, field and view from a saved session")
    what.add_argument("--dataset", metavar="DATA.h5",
                      help="write a CSV of the samples of a sweep data set (with -o FILE.csv)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="set a parameter (repeatable), e.g. --set radius=0.012")
    p.add_argument("-o", "--out", required=True, metavar="FILE", help="output file")
    p.add_argument("--format", choices=FORMATS, default=None,
                   help="output format (default: from the extension of --out)")
    p.add_argument("--source", choices=("solver", "surrogate"), default="solver",
                   help="where the fields come from (default: %(default)s)")
    p.add_argument("--model", metavar="MODEL.pt", default=None,
                   help="surrogate model for --source surrogate and --animate (default: the "
                   "study's built-in model)")
    p.add_argument("--field", default=None, metavar="NAME",
                   help="field shown in a figure or animation, e.g. von_mises (default: the "
                   "study's default field)")
    p.add_argument("--size", default=None, metavar="WxH",
                   help="image size in pixels (default: 1920x1080 for figures, 960x640 for "
                   "animations)")
    p.add_argument("--transparent", action="store_true", help="PNG with a transparent background")
    p.add_argument("--animate", metavar="PARAM", default=None,
                   help="animate a sweep of PARAM from its minimum to its maximum (surrogate)")
    p.add_argument("--frames", type=int, default=30, metavar="N",
                   help="frames of the animation (default: %(default)s)")
    p.add_argument("--fps", type=float, default=10.0, help="frames per second (default: 10)")
    p.add_argument("--order", type=int, choices=(1, 2), default=2,
                   help="element order of the solver (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _format(args: argparse.Namespace) -> tuple[str, Path]:
    out = Path(args.out)
    ext = out.suffix.lower().lstrip(".")
    fmt = args.format or ext
    if not fmt:
        raise PhysappError(f"Cannot tell the format of '{out}': add an extension or --format "
                           f"({', '.join(FORMATS)}).")
    if args.format and ext and ext != args.format:
        raise PhysappError(f"--format {args.format} does not match the extension of '{out}'.")
    if not ext:
        out = out.with_suffix(f".{fmt}")
    from physapp.io.export import supported_extensions

    known = list(dict.fromkeys([*FORMATS, *(e.lstrip(".") for e in supported_extensions())]))
    if fmt not in known:
        raise PhysappError(f"Cannot write '{out.name}': unknown format '.{fmt}'. Supported: "
                           f"{', '.join('.' + k for k in known)}.")
    return fmt, out


def _builtin_model(study_id: str) -> Path:
    """The study's shipped model: built in (resources/surrogates) or from its plugin."""
    from physapp.plugins import shipped_models

    models = shipped_models(study_id)
    if models:
        return models[0]
    raise PhysappError(f"The study '{study_id}' has no built-in surrogate; give one with "
                       "--model MODEL.pt (`physapp train` makes one).")


def _field(spec, name: str | None) -> tuple[str, str, str]:
    name = name or spec.default_field
    try:
        f = spec.field_spec(name)
    except KeyError:
        raise PhysappError(f"Unknown field '{name}'; this study shows: "
                           f"{', '.join(f.name for f in spec.fields)}.") from None
    return f.name, f.label, f.unit


def cmd_export(args: argparse.Namespace, progress) -> int:
    """Run ``physapp export``; ``progress(fraction, message)`` prints to stderr."""
    from physapp.io import export

    fmt, out = _format(args)
    if args.frames < 2 and args.animate:
        raise PhysappError("--frames must be at least 2.")
    if args.animate and (args.frames > 10_000 or not 0.1 <= args.fps <= 240):
        raise PhysappError("--fps must be between 0.1 and 240 and --frames at most 10000 "
                           f"(got --fps {args.fps:g}, --frames {args.frames}).")
    if args.dataset:
        if fmt != "csv":
            raise PhysappError("--dataset writes a table: use -o FILE.csv.")
        from physapp.surrogates.dataset_table import write_dataset_csv

        path = write_dataset_csv(args.dataset, out)
        return _done(args, {"output": str(path), "dataset": args.dataset})
    view: dict[str, Any] = {}
    sets = _sets(args.set)
    surrogate = args.model
    if args.session:
        from physapp.io.session import load_session

        session = load_session(args.session)
        study_id, view = session["study"], dict(session.get("view") or {})
        if session.get("part"):  # an imported part: its file and set-up
            from physapp.cli_parts import session_part_study

            part_study = session_part_study(session["part"])
            study_id = part_study.spec.id
        sets = {**session["params"], **sets}
        if not surrogate and session.get("surrogate") and args.source == "surrogate":
            surrogate = session["surrogate"]
    elif args.study:
        study_id = args.study
    else:
        raise PhysappError("Give --study ID, --session FILE or --dataset FILE.")
    from physapp.studies import get_study

    study = part_study if args.session and session.get("part") else get_study(study_id)
    spec = study.spec
    params = study.check(sets)
    field = _field(spec, args.field or view.get("field") or None)
    if args.animate or fmt in ("gif", "mp4"):
        return _animate(args, study, params, field, view, surrogate, fmt, out, progress)
    if fmt == "png":
        from physapp.viz.figure import check_figure_path, parse_size

        size = parse_size(args.size or "1920x1080")
        check_figure_path(out)
    elif fmt == "csv":
        export.check_folder(out)
    else:
        export.check_mesh_path(out)
    result = _result(args, study, params, surrogate, progress)
    if fmt == "png":
        from physapp.viz.figure import Pane, save_figure

        source = "reference solve" if args.source == "solver" else (
            f"{result.meta.get('model', '')} surrogate")
        caption = ", ".join(
            f"{spec.parameter(n).label} = {v * spec.parameter(n).scale:.4g} "
            f"{spec.parameter(n).shown_unit}".rstrip() for n, v in params.items() if n in sets)
        path = save_figure(Pane(result, field, view, title=f"{spec.title} \u2014 {source}",
                                caption=caption), out, size, transparent=args.transparent)
    elif fmt == "csv":
        units = {p.name: p.unit for p in spec.parameters}
        path = export.write_results_csv(out, params, result, study_id=spec.id,
                                        param_units=units, key_units=spec.key_units)
    else:
        path = export.write_mesh(result, out)
    kq, kunits = export.key_quantities(result, spec.key_units)
    return _done(args, {"output": str(path), "study": spec.id, "source": result.source,
                        "params": params, "key_quantities": kq, "key_units": kunits})


def _sets(items) -> dict[str, float]:
    from physapp.cli import parse_sets

    return parse_sets(items)


def _result(args, study, params, surrogate, progress):
    if args.source == "solver":
        from physapp.solvers.reference import ReferenceSolver

        result = ReferenceSolver(order=args.order).solve(study, params, progress=progress)
        if not args.quiet and sys.stderr.isatty():
            print(file=sys.stderr)
        return result
    from physapp.surrogates.storage import load_surrogate

    model = load_surrogate(surrogate or _builtin_model(study.spec.id),
                           study_id=study.spec.id)
    values = {k: v for k, v in params.items() if not study.spec.parameter(k).discretization}
    result = model.predict(values)
    if result.meta.get("out_of_range"):
        print(f"physapp: warning: {', '.join(result.meta['out_of_range'])} outside the trained "
              "range; the prediction is an extrapolation.", file=sys.stderr)
    return result


def _animate(args, study, params, field, view, surrogate, fmt, out, progress) -> int:
    from physapp.viz.figure import (
        ANIMATION_EXTS,
        check_figure_path,
        parse_size,
        sweep_animation_job,
    )

    if not args.animate:
        raise PhysappError(f"A .{fmt} is an animation: add --animate PARAM.")
    if f".{fmt}" not in ANIMATION_EXTS:
        raise PhysappError(f"--animate writes .gif or .mp4, not .{fmt}.")
    spec = study.spec
    try:
        p = spec.parameter(args.animate)
    except KeyError:
        raise PhysappError(f"Unknown parameter '{args.animate}'; this study has: "
                           f"{', '.join(q.name for q in spec.parameters)}.") from None
    size = parse_size(args.size or "960x640")
    check_figure_path(out, ANIMATION_EXTS)
    model = str(surrogate or _builtin_model(spec.id))
    opts = {"view": view, "size": size, "fps": args.fps, "label": p.label, "scale": p.scale,
            "unit": p.shown_unit, "title": f"{spec.title}: {field[1]}"}
    path = sweep_animation_job(model, params, p.name, args.frames, str(out), field, opts,
                               progress=progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    return _done(args, {"output": path, "study": spec.id, "animate": p.name,
                        "frames": args.frames, "model": model})


def _done(args, summary: dict) -> int:
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Wrote {summary['output']}")
    return 0

"""Headless command line: ``physapp <command>``; with no command the GUI starts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from physapp import __version__
from physapp.core.errors import Cancelled, PhysappError, SolverError, shorten
from physapp.core.lifetime import Terminated

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
EXIT_SOLVER, EXIT_INTERNAL, EXIT_TERMINATED = 3, 70, 143
EXIT_CODES = """Exit status:
  0    success
  1    error the user can fix: bad parameter value, unknown study or model, unreadable or
       unwritable file, a failing plugin, a mesh too fine for the memory (PHYSAPP_MEMORY_LIMIT)
       or above 2 M unknowns (PHYSAPP_MAX_UNKNOWNS), a body no support holds (one line on
       stderr says what and what to do)
  2    usage error: unknown command or option, missing argument
  3    the solver failed (singular system, no convergence; a sweep where every sample failed)
  70   internal error (a bug: please report it; PHYSAPP_DEBUG=1 prints the traceback)
  130  cancelled or interrupted (Ctrl-C); an interrupted sweep resumes with --resume
  143  terminated (SIGTERM); worker processes are stopped, finished samples kept
With --json a command prints one JSON object on stdout (on failure {"error": ..., "exit_code":
...}); progress and notes go to stderr."""
COMMANDS = ("solve", "studies", "gui", "train", "predict", "info", "sweep", "plugins",
            "export", "train-online", "dataset")


class _Parser(argparse.ArgumentParser):
    """argparse that, on a usage error with --json on the command line, also prints
    {"error", "exit_code": 2} on stdout (subcommand parsers are of this class too)."""

    want_json = False

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        if _Parser.want_json:
            print(json.dumps({"error": message, "exit_code": EXIT_USAGE}), flush=True)
        raise SystemExit(EXIT_USAGE)


class _NativeStdoutToStderr:
    """With --json, stdout must hold only the JSON: file descriptor 1 goes to stderr while the
    command runs (gmsh, OpenCASCADE and meshio print from C/C++), and Python's ``sys.stdout``
    writes to the real stdout. Child processes inherit the redirected descriptor."""

    def __enter__(self):
        self.saved = None
        try:
            if sys.stdout is None or sys.stdout.fileno() != 1:
                return self
            sys.stdout.flush()
            self.saved = os.dup(1)
            os.dup2(2, 1)
            self.stdout = sys.stdout
            sys.stdout = open(self.saved, "w", closefd=False, buffering=1,
                              encoding=getattr(sys.stdout, "encoding", None) or "utf-8")
        except (AttributeError, OSError, ValueError):
            self.saved = None
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is None:
            return
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass
        sys.stdout = self.stdout
        os.dup2(self.saved, 1)
        os.close(self.saved)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="physapp",
        description="Explore designs interactively: parametric studies, a finite-element "
        "reference solver and fast surrogates. Without a command the desktop app starts.",
        epilog="Examples:\n  physapp                       open the app on the study gallery (start screen)\n"
        "  physapp gui --study ID        open the app directly on a study, e.g. l-bracket\n"
        "  physapp part.step             open a mesh or CAD file in the app (also gui --file)\n"
        "  physapp studies               list built-in studies and their parameters\n"
        "  physapp solve plate-with-hole --set radius=0.01 --set traction=1e6 --out result.vtu\n\n"
        + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"physapp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="start the desktop app (the default)",
                         description="Start the desktop app: on the study gallery, where you "
                         "pick a study, directly on the study given with --study, or on a mesh "
                         "or CAD file given with --file (also: `physapp FILE`).")
    which = gui.add_mutually_exclusive_group()
    which.add_argument("--study", default=None, metavar="ID",
                       help="study to open, e.g. plate-with-hole (default: choose one in the "
                       "study gallery; `physapp studies` lists them)")
    which.add_argument("--file", default=None, metavar="FILE",
                       help="mesh or CAD file to open as an imported part (Gmsh, VTU, Abaqus, "
                       "STEP, IGES, STL, ...; `physapp info FILE` shows what is read)")
    gui.add_argument("--screenshot", default=None, metavar="PNG",
                     help="save a PNG of the window once the first field is shown (the "
                     "gallery is drawn, or the part of --file is shown), then quit: for "
                     "documentation and smoke tests")

    solve = sub.add_parser(
        "solve", help="solve a study with the reference solver and write the fields",
        description="Mesh and solve a study with the reference finite-element solver and write "
        "the mesh with all fields (displacement, stresses, von Mises, principal stresses). "
        "Parameters are in SI units (m, Pa); `physapp studies` lists them with their ranges.",
    )
    solve.add_argument("study", help="study id, e.g. plate-with-hole, or a part's mesh or CAD "
                       "file with --setup")
    solve.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="set a parameter (repeatable), e.g. --set radius=0.01")
    solve.add_argument("--out", required=True, metavar="FILE",
                       help="output file: .vtu, .vtk, .xdmf or .msh; a transient study writes "
                       "its history: .h5 (streamed), .pvd (VTU series), .xdmf (+ .h5), .csv "
                       "(curves over time) or .gif/.mp4 (animation over time)")
    solve.add_argument("--order", type=int, choices=(1, 2), default=2,
                       help="element order (default: %(default)s)")
    solve.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    solve.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    from physapp.cli_parts import add_solve_options  # light: lazy inside

    add_solve_options(solve)

    studies = sub.add_parser("studies", help="list the built-in studies and their parameters",
                             description="List the built-in studies with their parameters.")
    studies.add_argument("--json", action="store_true", help="machine-readable output")
    from physapp import cli_info, cli_models, cli_sweep  # one module per command group

    cli_models.add_parsers(sub)  # train, predict
    cli_info.add_info_parser(sub)
    cli_info.add_plugins_parser(sub)
    cli_sweep.add_parser(sub)
    from physapp.cli_export import add_parser as _add_export_parser  # light: lazy inside

    _add_export_parser(sub)
    from physapp.cli_online import add_parser as _add_online_parser  # light: lazy inside

    _add_online_parser(sub)
    from physapp.cli_dataset import add_parser as _add_dataset_parser  # light: lazy inside

    _add_dataset_parser(sub)
    return parser


def parse_sets(items: Sequence[str], spec=None) -> dict[str, float]:
    """NAME=VALUE pairs as floats; the option name of a choice parameter of ``spec`` (a
    StudySpec) is kept as text for the study to check (e.g. ``--set model=potential``)."""
    values: dict[str, float] = {}
    choices = {p.name for p in spec.parameters if p.choices} if spec is not None else set()
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise PhysappError(f"--set expects NAME=VALUE, got '{shorten(item)}'.")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            if name.strip() in choices:
                values[name.strip()] = text.strip()
                continue
            raise PhysappError(f"--set {shorten(name.strip())}: '{shorten(text)}' is not a "
                               "number.") from None
    return values


def cmd_solve(args: argparse.Namespace) -> int:
    from physapp.cli_parts import cmd_solve_part, is_part
    from physapp.io.results import check_output_path, write_result
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    if is_part(args):  # physapp solve PART --setup SETUP.json
        return cmd_solve_part(args, _progress_printer(args.quiet))
    study = get_study(args.study)
    params = study.check(parse_sets(args.set, study.spec))
    from physapp.core.transient import is_transient

    if is_transient(study):  # a history: .h5, .pvd, .xdmf time series or .csv curves
        from physapp.cli_history import cmd_solve_history

        return cmd_solve_history(args, study, params, _progress_printer(args.quiet))
    check_output_path(args.out)
    # ReferenceSolver.solve refuses what cannot fit (core.memory) before meshing
    progress = _progress_printer(args.quiet)
    result = ReferenceSolver(order=args.order).solve(study, params, progress=progress)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    path = write_result(result, args.out)
    meta = result.meta
    summary = {
        "study": study.spec.id, "output": str(path), "params": params,
        "n_dofs": meta["n_dofs"], "n_points": result.mesh.n_points,
        "fields": sorted(result.point_data), "time_s": round(meta["t_total"], 4),
        "key_quantities": meta["key_quantities"], "key_units": meta.get("key_units", {}),
        "solver": meta.get("method", ""),
        "warnings": list(meta.get("warnings", [])),
    }
    if "curves" in meta:  # e.g. the airfoil's surface Cp against x/c (upper, lower)
        summary["curves"] = meta["curves"]
    if "history" in meta:  # a stepped solve (bottle-top-load): curves are [[step value, y]]
        h = meta["history"]
        summary["history"] = {"n_steps": h.n_steps, "axis": h.time_label, "unit": h.time_unit,
                              "complete": h.complete, "stopped": h.meta.get("stopped", "")}
    return report_solve(summary, result, path, args.json)


def report_solve(summary: dict, result, path, as_json: bool) -> int:
    """Print a solve's warnings (stderr) and its summary: JSON, or one line with the key
    quantities (``physapp solve`` of a study or of a part)."""
    meta = result.meta
    for warning in summary["warnings"]:
        print(f"physapp: warning: {warning}", file=sys.stderr)
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        kq = ", ".join(f"{k} = {v:.4g}" for k, v in meta["key_quantities"].items())
        print(f"Wrote {path} ({result.mesh.n_points} nodes, {meta['n_dofs']} DOFs, "
              f"{meta['t_total']:.2f} s): {kq}")
    return EXIT_OK


def cmd_studies(args: argparse.Namespace) -> int:
    from physapp.studies import list_studies

    studies = [s.spec for s in list_studies()]
    if args.json:
        print(json.dumps({"studies": [{
            "id": s.id, "title": s.title, "description": s.description,
            "parameters": [{"name": p.name, "label": p.label, "unit": p.unit, "min": p.lower,
                            "max": p.upper, "default": p.default,
                            **({"choices": list(p.choices)} if p.choices else {}),
                            **({"integer": True} if getattr(p, "integer", False) else {})}
                           for p in s.parameters],
        } for s in studies]}, indent=2))
        return EXIT_OK
    for s in studies:
        print(f"{s.id}: {s.title}\n  {s.description}\n  parameters:")
        for p in s.parameters:
            unit = f" {p.unit}" if p.unit else ""
            if p.choices:  # a choice parameter: --set name=<option>
                print(f"    {p.name:<16} {p.label:<20} default {p.choice(p.default):<10} "
                      f"choices {' | '.join(p.choices)}")
                continue
            whole = " whole number" if getattr(p, "integer", False) else ""
            print(f"    {p.name:<16} {p.label:<20} default {p.default:<10g} "
                  f"range [{p.lower:g}, {p.upper:g}]{unit}{whole}")
    return EXIT_OK


def cmd_gui(study: str | None, argv: list[str], file: str | None = None,
            screenshot: str | None = None) -> int:
    if file is not None and not os.path.isfile(file):
        print(f"physapp: error: '{file}' is not a file.", file=sys.stderr)
        return EXIT_ERROR
    problem = gui_preflight()
    if problem:
        print(f"physapp: {problem}", file=sys.stderr)
        return EXIT_ERROR
    from physapp.gui.app import run_gui

    return run_gui(argv, study_id=study, file=file, screenshot=screenshot)


def gui_preflight(env: dict | None = None) -> str:
    """Why the desktop app cannot start here ("" when it can): no display to open a window on,
    or a system library Qt/VTK load at start missing. Checked before Qt is imported, which would
    otherwise abort with a core dump and a long plugin message."""
    env = os.environ if env is None else env
    platform = env.get("QT_QPA_PLATFORM", "")
    if sys.platform.startswith("linux") and platform in ("", "xcb", "wayland") and not (
            env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        return ("the desktop app needs a display (X11 or Wayland), and none was found (DISPLAY "
                "and WAYLAND_DISPLAY are unset). The command line works without one: see "
                "`physapp --help` (solve, predict, info, export ...).")
    if sys.platform.startswith("linux") and platform != "offscreen":
        import ctypes

        for lib, package in (("libGL.so.1", "libgl1"), ("libEGL.so.1", "libegl1")):
            try:
                ctypes.CDLL(lib)
            except OSError:
                return (f"the desktop app needs the system library {lib} (OpenGL), which is "
                        f"missing; on Debian/Ubuntu install it with `sudo apt install {package}`. "
                        "The command line works without it.")
    return ""


def _progress_printer(quiet: bool):
    tty = sys.stderr.isatty()

    def progress(fraction: float, message: str) -> None:
        if not quiet:
            end = "" if tty else "\n"
            print(f"\r[{fraction * 100:5.1f}%] {message:<60}", end=end, file=sys.stderr,
                  flush=True)

    return progress


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        if argv and not argv[0].startswith("-") and os.path.isfile(argv[0]):
            return cmd_gui(None, argv[1:], file=argv[0])  # physapp part.step
        if argv and not argv[0].startswith("-") and os.path.splitext(argv[0])[1]:
            print(f"physapp: error: '{argv[0]}' does not exist (to open a file: physapp FILE; "
                  f"commands: {', '.join(COMMANDS)})", file=sys.stderr)
            return EXIT_ERROR
        if argv and not argv[0].startswith("-"):
            message = f"unknown command '{argv[0]}' (commands: {', '.join(COMMANDS)})"
            print(f"physapp: error: {message}; see physapp --help", file=sys.stderr)
            if "--json" in argv:
                print(json.dumps({"error": message, "exit_code": EXIT_USAGE}))
            return EXIT_USAGE
        return cmd_gui(None, argv)  # the study gallery first
    _Parser.want_json = "--json" in argv
    args = build_parser().parse_args(argv)
    if args.command != "gui":
        from physapp.core.lifetime import terminate_cleanly

        terminate_cleanly()  # SIGTERM unwinds (workers stopped, files closed), then exit 143
    if getattr(args, "json", False):
        with _NativeStdoutToStderr():
            return _run(args)
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from physapp import cli_info, cli_models, cli_sweep

    try:
        if args.command == "solve":
            return cmd_solve(args)
        if args.command == "studies":
            return cmd_studies(args)
        if args.command == "info":
            return cli_info.cmd_info(args)
        if args.command == "plugins":
            return cli_info.cmd_plugins(args)
        if args.command == "train":
            return cli_models.cmd_train(args)
        if args.command == "predict":
            return cli_models.cmd_predict(args)
        if args.command == "sweep":
            return cli_sweep.cmd_sweep(args)
        if args.command == "train-online":
            from physapp.cli_online import cmd_train_online

            return cmd_train_online(args, _progress_printer(args.quiet))
        if args.command == "export":
            from physapp.cli_export import cmd_export

            return cmd_export(args, _progress_printer(args.quiet))
        if args.command == "dataset":
            from physapp.cli_dataset import cmd_dataset

            return cmd_dataset(args, _progress_printer(args.quiet))
        return cmd_gui(args.study, [], args.file, screenshot=args.screenshot)
    except Cancelled:
        return _fail(args, EXIT_CANCELLED, "cancelled", "physapp: cancelled")
    except KeyboardInterrupt:
        return _fail(args, EXIT_CANCELLED, "interrupted", "\nphysapp: interrupted")
    except Terminated:
        return _fail(args, EXIT_TERMINATED, "terminated", "physapp: terminated (SIGTERM)")
    except SolverError as exc:
        return _fail(args, EXIT_SOLVER, str(exc), f"physapp: solver failed: {exc}")
    except PhysappError as exc:
        return _fail(args, EXIT_ERROR, str(exc), f"physapp: error: {exc}")
    except BrokenPipeError:  # stdout closed early (e.g. `| head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - a bug: one line (traceback with PHYSAPP_DEBUG=1)
        if os.environ.get("PHYSAPP_DEBUG"):
            raise
        text = f"{type(exc).__name__}: {exc}"
        return _fail(args, EXIT_INTERNAL, text, f"physapp: internal error: {text} (this is a "
                     "bug; run with PHYSAPP_DEBUG=1 for the traceback and report it)")


def _fail(args: argparse.Namespace, code: int, message: str, line: str) -> int:
    """Report a failure: one line on stderr; with --json also {"error", "exit_code"} on stdout."""
    print(line, file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "exit_code": code}))
    return code

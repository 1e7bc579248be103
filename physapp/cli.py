"""Headless command line: ``physapp <command>``; with no command the GUI starts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from physapp import __version__
from physapp.core.errors import Cancelled, PhysappError, SolverError
from physapp.core.lifetime import Terminated

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
EXIT_SOLVER, EXIT_INTERNAL, EXIT_TERMINATED = 3, 70, 143
EXIT_CODES = """Exit status:
  0    success
  1    error the user can fix: bad parameter value, unknown study or model, unreadable or
       unwritable file, a failing plugin (one line on stderr says what and what to do)
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
                     help="save a PNG of the window once the first field is shown (or the "
                     "gallery is drawn), then quit: for documentation and smoke tests")

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
    _add_model_parsers(sub)
    _add_info_parser(sub)
    _add_plugins_parser(sub)
    _add_sweep_parser(sub)
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
            raise PhysappError(f"--set expects NAME=VALUE, got '{item}'.")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            if name.strip() in choices:
                values[name.strip()] = text.strip()
                continue
            raise PhysappError(f"--set {name.strip()}: '{text}' is not a number.") from None
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
        "key_quantities": meta["key_quantities"], "solver": meta.get("method", ""),
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


def _add_model_parsers(sub: argparse._SubParsersAction) -> None:
    """``physapp train`` and ``physapp predict`` (field surrogates)."""
    from physapp.surrogates.models import KINDS, MESH_KINDS

    train = sub.add_parser(
        "train", help="train a field surrogate on a sweep data set and report held-out errors",
        description="Train a surrogate (parameters -> nodal fields) on the samples of a data set "
        "written by `physapp sweep`, score it on the held-out samples and save it. With "
        "--model all every kind is trained and saved as OUT-<kind>.pt.",
    )
    train.add_argument("data", metavar="DATA.h5",
                       help="data set (HDF5) of a parameter sweep, or one whose samples have "
                       "their own meshes (a topology-changing study's sweep, `physapp dataset "
                       "import`): then only the mesh-agnostic kinds train on it")
    train.add_argument("--model", default="pod-gp", metavar="KIND",
                       help=f"model kind: {', '.join(KINDS)}, all (those kinds), the "
                       f"mesh-agnostic {' or '.join(MESH_KINDS)} (any mesh, an ensemble with "
                       "std fields), the history models pod-history (POD of space-time "
                       "snapshots, GPs on parameters and time), pod-history-phase (the same "
                       "with the phase of a periodic curve such as the lift as an input: "
                       "vortex shedding), curve-gp (POD of whole histories and curves, GPs on "
                       "the parameters) and neural-field-history (a neural field of "
                       "parameters, time and position) for a sweep of a history study, or an "
                       "architecture a plugin registers (`physapp plugins`) "
                       "(default: %(default)s)")
    train.add_argument("--out", required=True, metavar="MODEL.pt", help="model file to write")
    train.add_argument("--device", default="auto",
                       help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    train.add_argument("--epochs", type=int, default=None, metavar="N",
                       help="training epochs (pod-mlp, neural-field; optimiser steps for pod-gp "
                       "and per ensemble member for transolver, geo-field)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    train.add_argument("--json", action="store_true", help="print the metrics as JSON")
    train.add_argument("--ddp", action="store_true",
                       help="data-parallel training with torch DistributedDataParallel (pod-mlp, "
                       "neural-field); start it with torchrun, e.g. `torchrun --nproc_per_node=2 "
                       "-m physapp train D.h5 --model pod-mlp --out M.pt --ddp` (NCCL on GPUs, "
                       "gloo on CPUs; rank 0 writes the model)")
    train.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    predict = sub.add_parser(
        "predict", help="evaluate a trained surrogate and write the predicted fields",
        description="Evaluate a surrogate saved by `physapp train` at a design and write the "
        "mesh with the predicted fields (and <field>_std uncertainty fields when the model "
        "has them). Parameters left out take the study's defaults, as in `physapp solve` (the "
        "centre of the trained range where a default lies outside it).",
    )
    predict.add_argument("model", metavar="MODEL.pt",
                         help="model file, or a study id to use the model shipped with physapp "
                         "or its plugin (e.g. pressure_vessel/vessel)")
    predict.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                         help="set a parameter (repeatable), e.g. --set traction=2e7")
    predict.add_argument("--out", required=True, metavar="FILE",
                         help="output file: .vtu, .vtk, .xdmf or .msh; for a history model "
                         "(pod-history, curve-gp, ...) also .pvd, .h5 or .csv (the predicted "
                         "history; .xdmf is then a time series too)")
    predict.add_argument("--device", default="auto",
                         help="auto, cpu, cuda or cuda:N (default: %(default)s)")
    predict.add_argument("--raw", action="store_true",
                         help="predict without checking the design against the model's study "
                         "(for a model whose study is not installed)")
    predict.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    predict.add_argument("--mesh", default=None, metavar="FILE",
                         help="mesh-agnostic models (transolver, geo-field): predict on the mesh "
                         "of this file (.vtu, .vtk, .xdmf, .msh; e.g. a finer grid than the "
                         "training meshes); its point arrays give the model's input fields. "
                         "Without it, a model of a topology-changing study meshes the design "
                         "with the study's own mesher")
    predict.add_argument("--length-unit", default="m", metavar="UNIT",
                         help="length unit of the --mesh file (default: %(default)s)")


def _progress_printer(quiet: bool):
    tty = sys.stderr.isatty()

    def progress(fraction: float, message: str) -> None:
        if not quiet:
            end = "" if tty else "\n"
            print(f"\r[{fraction * 100:5.1f}%] {message:<60}", end=end, file=sys.stderr,
                  flush=True)

    return progress


def _cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    from physapp.core.progress import scaled

    out = Path(args.out)
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise PhysappError(f"Cannot write '{out}': the folder '{out.parent}' does not exist.")
    if out.is_dir():
        raise PhysappError(f"--out '{out}' is a folder; give a model file name such as "
                           f"{out / 'model.pt'}.")
    if not os.access(out.parent if str(out.parent) else Path("."), os.W_OK):
        raise PhysappError(f"Cannot write '{out}': the folder '{out.parent}' is not writable.")
    if args.epochs is not None and args.epochs < 1:
        raise PhysappError("--epochs must be at least 1.")
    try:
        import physapp.surrogates.dataset  # noqa: F401 - a clear error if it is missing
    except ImportError:
        raise PhysappError("Reading sweep data sets is not available in this installation "
                           "(physapp.surrogates.dataset is missing).") from None
    from physapp.surrogates.models import KINDS, model_class
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import metrics_table, train_surrogate

    if args.ddp:
        from physapp.surrogates.distributed import run

        return run(args.data, args.model, args.out, epochs=args.epochs, seed=args.seed,
                   device=args.device, quiet=args.quiet, as_json=args.json)
    from physapp.surrogates.models import model_class as _check_kind

    if args.model != "all":
        _check_kind(args.model)  # unknown kind: a clear error before reading the data
    if args.model != "all":
        from physapp.cli_history_models import cmd_train_history, is_history_kind

        if is_history_kind(args.model):  # histories in, a history model out (#18, #22)
            return cmd_train_history(args, _progress_printer(args.quiet))
    from physapp.surrogates.models import MESH_KINDS

    if args.model in MESH_KINDS:  # samples with their own meshes: train_on_samples (#19)
        samples = read_mesh_samples(args.data)
        if samples is not None:
            return _train_mesh_samples(args, samples, out)
    data = read_training_data(args.data)
    progress = _progress_printer(args.quiet)
    kinds = list(KINDS) if args.model == "all" else [args.model]
    models = {}
    for i, kind in enumerate(kinds):
        opts = {}
        if args.epochs is not None and "epochs" in model_class(kind).OPTIONS:
            opts["epochs"] = args.epochs
        sub = scaled(progress, i / len(kinds), (i + 1) / len(kinds))
        models[kind] = train_surrogate(
            kind, data, device=args.device, seed=args.seed,
            progress=lambda f, m, _k=kind, _s=sub: _s(f, f"{_k}: {m}"), **opts)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    written = {}
    for kind, model in models.items():
        path = out if len(models) == 1 else out.with_name(f"{out.stem}-{kind}{out.suffix or '.pt'}")
        written[kind] = str(save_surrogate(model, path))
        for notice in model.notices:
            print(f"physapp: note: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps({k: {"file": written[k], "device": m.device, "metrics": m.metrics}
                          for k, m in models.items()}, indent=2))
    else:
        print(f"{data.study_id}: {data.train().n_samples} training / {data.test().n_samples} "
              f"held-out samples, parameters {', '.join(data.param_names)}")
        print(metrics_table(models))
        for kind, path in written.items():
            print(f"Wrote {path} ({kind})")
    return EXIT_OK


def read_mesh_samples(path: str, *, isolate: bool = True):
    """The samples of a data set whose samples have their own meshes (a topology-changing study's
    sweep, an imported folder) as MeshSamples; None for a fixed-topology data set (read by
    :func:`read_training_data`). Read in a child process, as that one."""
    if isolate:
        from physapp.core.isolate import run_isolated

        size = os.path.getsize(path) if os.path.exists(path) else 0
        return run_isolated(read_mesh_samples, path, isolate=False,
                            timeout=float(10 + int(size / 20e6)),
                            what=f"Reading the data set '{Path(path).name}'")
    from physapp.surrogates.dataset import Dataset

    try:
        ds = Dataset.open(path)
        if ds.fixed_topology:
            return None
        return ds.mesh_samples()
    except PhysappError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError,
            AttributeError) as exc:
        raise PhysappError(
            f"'{Path(path).name}' cannot be read as a data set: it is damaged "
            f"({type(exc).__name__}: {str(exc)[:120]}).") from None


def _train_mesh_samples(args: argparse.Namespace, samples, out: Path) -> int:
    """``physapp train`` of a mesh-agnostic kind on samples with their own meshes."""
    from physapp.surrogates.ensemble import train_on_samples
    from physapp.surrogates.models import model_class
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import metrics_table

    opts = {}
    if args.epochs is not None and "epochs" in model_class(args.model).OPTIONS:
        opts["epochs"] = args.epochs
    progress = _progress_printer(args.quiet)
    model = train_on_samples(args.model, samples, device=args.device, seed=args.seed,
                             progress=lambda f, m: progress(f, f"{args.model}: {m}"), **opts)
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    path = str(save_surrogate(model, out))
    for notice in model.notices:
        print(f"physapp: note: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps({args.model: {"file": path, "device": model.device,
                                       "metrics": model.metrics}}, indent=2))
    else:
        train, test = samples.split()
        print(f"{samples.study_id or 'imported data'}: {len(train)} training / {len(test)} "
              f"held-out samples with their own meshes, parameters "
              f"{', '.join(samples.param_names) or '(none)'}"
              + (f", input fields {', '.join(samples.input_names)}" if samples.input_names
                 else ""))
        print(metrics_table({args.model: model}))
        print(f"Wrote {path} ({args.model})")
    return EXIT_OK


def read_training_data(path: str, *, isolate: bool = True, timeout: float | None = None):
    """The finished samples of a sweep data set, or one clear error for a damaged file.

    Read in a child process (:func:`physapp.core.isolate.run_isolated`): a damaged HDF5 file can
    make the HDF5 library loop for ever (found by the fuzz run); the child is stopped after
    ``timeout`` s (default ``$PHYSAPP_READ_TIMEOUT``, else 10 s + 1 s per 20 MB)."""
    if isolate:
        from physapp.core.isolate import run_isolated

        if timeout is None:
            try:
                timeout = float(os.environ.get("PHYSAPP_READ_TIMEOUT", "") or "nan")
            except ValueError:
                timeout = float("nan")
            if not timeout > 0:
                try:
                    size = os.path.getsize(path)
                except OSError:
                    size = 0
                timeout = float(10 + int(size / 20e6))
        return run_isolated(read_training_data, path, isolate=False, timeout=timeout,
                            what=f"Reading the data set '{Path(path).name}'")
    import numpy as np

    from physapp.surrogates.dataset import Dataset

    try:
        data = Dataset.open(path).training_data()
        arrays = [data.X, data.coords, *data.fields.values()]
        finite = all(np.all(np.isfinite(np.asarray(a, dtype=float))) for a in arrays)
    except PhysappError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError,
            AttributeError) as exc:
        raise PhysappError(
            f"'{Path(path).name}' cannot be read as a sweep data set: it is damaged "
            f"({type(exc).__name__}: {str(exc)[:120]}). Run the sweep again.") from None
    if not finite:
        raise PhysappError(f"'{Path(path).name}' holds NaN or infinite values: the file is "
                           "damaged. Run the sweep again.")
    return data


def _cmd_predict(args: argparse.Namespace) -> int:
    from physapp.io.history_export import HISTORY_FORMATS, check_history_path
    from physapp.io.results import check_output_path, write_result
    from physapp.surrogates.storage import load_surrogate

    values = parse_sets(args.set)
    series = Path(args.out).suffix.lower() in HISTORY_FORMATS
    check_history_path(args.out) if series else check_output_path(args.out)
    model = load_surrogate(_model_path(args.model), device=args.device)
    imported = str(model.study_id).startswith("import:")  # data physapp did not make (#19)
    if not args.raw and not imported:
        _check_against_study(model, values)
    if args.mesh is not None and not hasattr(model, "predict_on_mesh"):
        raise PhysappError(f"A {model.kind} model predicts on its own mesh only; --mesh needs a "
                           "mesh-agnostic model (transolver, geo-field).")
    from physapp.surrogates.meshers import attach_study_mesher

    if args.mesh is None:
        attach_study_mesher(model)  # a topology-changing study: mesh the design (#19)
    from physapp.api import with_study_defaults

    if hasattr(model, "predict_history"):  # a history model (#18, #22): the whole history
        from physapp.cli_history_models import cmd_predict_history

        return cmd_predict_history(args, model, with_study_defaults(model, values))
    from physapp.io.results import RESULT_FORMATS

    if Path(args.out).suffix.lower() not in RESULT_FORMATS:
        raise PhysappError(f"'{Path(args.out).name}' is a time series but {model.kind} models "
                           "predict one state; write .vtu, .vtk, .xdmf or .msh.")

    if args.mesh is not None:
        result = _predict_on_file(model, with_study_defaults(model, values), args.mesh,
                                  args.length_unit)
    else:
        result = model.predict(with_study_defaults(model, values))
    path = write_result(result, args.out)
    meta = result.meta
    for notice in model.notices:
        print(f"physapp: note: {notice}", file=sys.stderr)
    if meta["out_of_range"]:
        print(f"physapp: warning: {', '.join(meta['out_of_range'])} outside the trained range; "
              "the prediction is an extrapolation.", file=sys.stderr)
    summary = {
        "model": model.kind, "surrogate_id": model.id, "study": model.study_id,
        "output": str(path), "params": meta["params"], "out_of_range": meta["out_of_range"],
        "n_points": result.mesh.n_points, "fields": sorted(result.point_data),
        "latency_ms": round(meta["latency_ms"], 3), "device": meta["device"],
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Wrote {path} ({model.kind} surrogate of {model.study_id}, "
              f"{result.mesh.n_points} nodes, {meta['latency_ms']:.1f} ms)")
    return EXIT_OK


def _predict_on_file(model, values: dict[str, float], mesh_path: str, length_unit: str):
    """A mesh-agnostic prediction on the mesh of a result or mesh file, whose point arrays
    (names with or without a ``[unit]`` suffix) give the model's input fields."""
    from physapp.surrogates.external import read_results, split_unit

    if not os.path.exists(mesh_path):
        raise PhysappError(f"--mesh: the file '{mesh_path}' does not exist.")
    read = read_results(Path(mesh_path), length_unit)
    arrays = {split_unit(k)[0]: v for k, v in read["point_data"].items()}
    missing = [n for n in getattr(model, "input_names", ()) if n not in arrays]
    if missing:
        raise PhysappError(f"--mesh: '{Path(mesh_path).name}' lacks the input field(s) "
                           f"{', '.join(missing)} the model reads (point arrays found: "
                           f"{', '.join(sorted(arrays)) or 'none'}).")
    inputs = {n: arrays[n] for n in model.input_names} or None
    return model.predict_on_mesh(values, read["mesh"], inputs)


def _check_against_study(model, values: dict[str, float]) -> None:
    """The model's study must be known and hold its parameters; the design must be inside the
    study's bounds (outside the trained range only warns, after the prediction)."""
    from physapp.studies import get_study

    try:
        study = get_study(model.study_id)
    except (PhysappError, KeyError) as exc:
        raise PhysappError(
            f"The model was trained for study '{model.study_id}', which is not known here "
            f"({exc}); its parameters cannot be checked. Install the plugin that provides the "
            "study, or add --raw to predict without checks.") from None
    names = {p.name for p in study.spec.parameters}
    foreign = sorted(set(model.param_names) - names)
    if foreign:
        raise PhysappError(
            f"The model says it was trained for study '{model.study_id}', but that study has no "
            f"parameter {', '.join(foreign)}: the model file names the wrong study. Add --raw to "
            "predict without checks.")
    unknown = sorted(set(values) - set(model.param_names) - set(model.fixed))
    if unknown:
        raise PhysappError(f"Unknown parameter(s) {', '.join(unknown)}; the model takes "
                           f"{', '.join(model.param_names)}.")
    full = {**{k: v for k, v in model.fixed.items() if k in names},
            **{n: model.info.defaults.get(n) for n in model.param_names
               if model.info.defaults.get(n) is not None}, **values}
    study.check(full)  # out of the study's bounds, or a geometry that does not fit: an error


def _model_path(text: str) -> str:
    """A model file, or for a study id (no such file) the model shipped for that study."""
    if os.path.exists(text) or text.endswith(".pt"):
        return text
    from physapp.plugins import shipped_models

    found = shipped_models(text)
    if not found:
        raise PhysappError(f"'{text}' is neither a model file nor a study with a shipped model.")
    return str(found[0])


def _add_info_parser(sub: argparse._SubParsersAction) -> None:
    info = sub.add_parser(
        "info", help="show what physapp understands of a mesh or CAD file",
        description="Read a mesh (Gmsh MSH, VTU, VTK, XDMF, Abaqus INP, MED, Nastran, Medit, SU2) "
        "or CAD/surface file (STEP, IGES, BREP, closed STL/OBJ/PLY, meshed with gmsh) and print "
        "its format, nodes, cells by type, regions with their sizes, bounding box, unit and any "
        "repair made; or the error the app would show (exit status 1).",
    )
    info.add_argument("file", help="the file to inspect")
    info.add_argument("--unit", default=None, metavar="UNIT",
                      help="length unit of the file: m, mm, cm, um, in, ft (default: mm for "
                      "CAD and surfaces, m for meshes)")
    info.add_argument("--size", type=float, default=None, metavar="M",
                      help="element size in metres for CAD and surfaces")
    info.add_argument("--json", action="store_true", help="machine-readable output")


def _add_plugins_parser(sub: argparse._SubParsersAction) -> None:
    plugins = sub.add_parser(
        "plugins", help="list plugins, their contributions and load errors",
        description="List the plugins found (repository plugins/, ~/.local/share/physapp/plugins, "
        "$PHYSAPP_PLUGIN_PATH, the 'physapp.plugins' entry points) with their version, "
        "contributions and any error; enable or disable one for the next start.",
    )
    plugins.add_argument("--enable", metavar="NAME", help="enable a plugin")
    plugins.add_argument("--disable", metavar="NAME", help="disable a plugin")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")


def _cmd_plugins(args: argparse.Namespace) -> int:
    from physapp.plugins import builtin_plugin, discover, set_enabled
    from physapp.studies import list_studies, plugin_problems

    if args.enable or args.disable:
        set_enabled(args.enable or args.disable, bool(args.enable))
    from physapp.plugins import check_contributions, load_problems, refresh

    refresh()
    infos = [builtin_plugin(), *discover()]
    list_studies()  # import study code so load errors show up
    problems = {**load_problems(), **check_contributions(), **plugin_problems()}
    rows = []
    for info in infos:
        error = info.error or problems.get(info.name, "")
        rows.append({"name": info.name, "version": info.version, "source": info.source,
                     "enabled": info.enabled, "path": info.path, "error": error,
                     "contributions": [f"{c.kind}:{c.id}" for c in info.contributions]})
    if args.json:
        print(json.dumps({"plugins": rows}, indent=2))
        return EXIT_OK
    for r in rows:
        state = "error" if r["error"] else ("enabled" if r["enabled"] else "disabled")
        print(f"{r['name']} {r['version']} ({r['source']}, {state})")
        for c in r["contributions"]:
            print(f"    {c}")
        if r["error"]:
            print(f"    error: {r['error']}")
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    import math

    from physapp.io.readers import read_mesh

    if args.size is not None and not (math.isfinite(args.size) and args.size > 0):
        raise PhysappError(f"--size must be a positive element size in metres (got {args.size}).")

    mesh, report = read_mesh(args.file, length_unit=args.unit, size=args.size)
    from physapp.cli_parts import regions

    text, rows = regions(mesh, args.file)
    if args.json:
        print(json.dumps({**report.as_dict(), "regions": rows}, indent=2))
    else:
        print(report.text())
        print(text)
    return EXIT_OK


def _add_sweep_parser(sub: argparse._SubParsersAction) -> None:
    """``physapp sweep``: plan a dataset and solve its samples in worker processes."""
    sweep = sub.add_parser(
        "sweep", help="solve a study at many sampled designs and store them as a training set",
        description="Sample the design parameters of a study (Latin hypercube or Sobol), solve\n"
        "each sample with the reference solver on a morph of one reference mesh (so all\n"
        "samples share its topology) and store node coordinates, fields and key quantities\n"
        "in an HDF5 data set for `physapp train`. Element sizes stay fixed.\n\n"
        "Each varied geometric parameter is first limited to the range over which the\n"
        "reference mesh can be morphed (printed as a note). A sample whose combination of\n"
        "values still cannot be morphed is replaced by another point drawn for it; samples\n"
        "that fail anyway are stored as failed and the sweep goes on. Samples are written\n"
        "as they finish: after an interruption (Ctrl-C, exit status 130) run the same\n"
        "command with --resume to solve the rest.\n\n"
        "A study whose topology changes with its parameters (perforated-plate: the number\n"
        "of holes) is not morphed: each sample is meshed afresh and stored with its own mesh,\n"
        "for mesh-agnostic models (POD models refuse such a data set).",
        epilog="Examples:\n  physapp sweep plate-with-hole --samples 64 --vary radius,traction "
        "--set mesh_size=0.01 --out plate.h5\n  physapp sweep perforated-plate --samples 200 "
        "--vary n_holes,diameter,x1,y1,x2,y2 --set mesh_size=0.005 --out holes.h5",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument("study", help="study id, e.g. plate-with-hole (see `physapp studies`), "
                       "or a part's mesh or CAD file with --setup")
    sweep.add_argument("--setup", default=None, metavar="SETUP.json",
                       help="set-up of a part file (its promoted parameters are swept)")
    sweep.add_argument("--out", required=True, metavar="DATA.h5", help="data set file to write")
    sweep.add_argument("--samples", type=int, default=64, metavar="N",
                       help="number of samples (default: %(default)s)")
    sweep.add_argument("--sampler", choices=("lhs", "sobol"), default="lhs",
                       help="design of experiments (default: %(default)s)")
    sweep.add_argument("--test-fraction", type=float, default=0.2, metavar="F",
                       help="fraction of samples held out for testing (default: %(default)s)")
    sweep.add_argument("--seed", type=int, default=0,
                       help="seed of the sampler and the split (default: %(default)s)")
    sweep.add_argument("--vary", default=None, metavar="A,B",
                       help="comma-separated parameters to vary (default: every design "
                       "parameter not fixed with --set)")
    sweep.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="hold a parameter fixed at a value (repeatable), e.g. "
                       "--set mesh_size=0.01")
    sweep.add_argument("--order", type=int, choices=(1, 2), default=2,
                       help="element order (default: %(default)s)")
    sweep.add_argument("--frames", type=int, default=None, metavar="N",
                       help="frames of each history kept for a study whose solve is a history "
                       "(transient, load-stepped), evenly spaced over its span (default: 40)")
    sweep.add_argument("--workers", type=int, default=None, metavar="N",
                       help="worker processes (default: the number of CPUs)")
    sweep.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="run the samples on a Dask distributed cluster, e.g. "
                       "tcp://host:8786 (its workers need physapp installed); results stream "
                       "back into the same data set")
    sweep.add_argument("--resume", action="store_true",
                       help="continue an existing data set: solve its pending samples (its own "
                       "plan is kept; plan options are ignored); a missing one is created")
    sweep.add_argument("--retry-failed", action="store_true",
                       help="with --resume, also solve the samples that failed before")
    sweep.add_argument("--overwrite", action="store_true", help="replace an existing data set")
    sweep.add_argument("--no-morph-check", action="store_true",
                       help="skip the search for the morphable range of each geometric "
                       "parameter (faster; samples beyond it then fail)")
    sweep.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    sweep.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def _check_sweep_args(args: argparse.Namespace) -> None:
    """Everything that can be checked before the data set file is created."""
    if args.workers is not None and args.workers < 1:
        raise PhysappError(f"--workers must be at least 1 (got {args.workers}).")
    if not 0 <= args.seed < 2**32:
        raise PhysappError(f"--seed must be between 0 and {2**32 - 1} (got {args.seed}).")
    if not args.resume and not 3 <= args.samples <= 10_000_000:
        raise PhysappError(f"--samples must be between 3 and 10000000 (got {args.samples}).")
    if not 0 < args.test_fraction < 1 and args.test_fraction != 0:
        raise PhysappError(f"--test-fraction must be in [0, 1) (got {args.test_fraction}).")
    if args.scheduler:
        from physapp.compute.cluster import check_address

        check_address(args.scheduler)


def _check_sweep_memory(args: argparse.Namespace) -> None:
    """The plan in memory and one solve per worker must fit."""
    from physapp.core.memory import check, check_study_solve
    from physapp.studies import get_study

    study = get_study(args.study)
    n_params = len(study.spec.parameters)
    check(args.samples * (n_params * 8 * 4 + 64), f"Planning {args.samples} samples",
          "use fewer samples (--samples)")
    fixed = parse_sets(args.set)
    try:
        params = study.check(fixed)
    except PhysappError:
        return  # Dataset.create words the problem
    workers = max(1, min(args.workers or os.cpu_count() or 1, args.samples))
    check_study_solve(study, params, args.order, workers=workers,
                      what=f"Solving {workers} sample(s) of {study.spec.id} at once at "
                      f"P{args.order}")


def _cmd_sweep(args: argparse.Namespace) -> int:
    import signal
    from pathlib import Path

    from physapp.compute.sweep import run_sweep
    from physapp.core.progress import CancelToken
    from physapp.surrogates.dataset import Dataset

    out = Path(args.out)
    tty = sys.stderr.isatty()
    if args.setup is not None:  # physapp sweep PART --setup SETUP.json
        from physapp.cli_parts import sweep_study_id

        args.study = sweep_study_id(args)
    _check_sweep_args(args)

    progress = _progress_printer(args.quiet)

    def newline() -> None:
        if not args.quiet and tty:
            print(file=sys.stderr)

    cancel = CancelToken()

    def on_sigint(signum, frame) -> None:  # first Ctrl-C: stop cleanly; second: at once
        if cancel.cancelled:
            raise KeyboardInterrupt
        cancel.cancel()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        if out.exists() and args.resume:
            data = Dataset.open(out)
            if data.study_id != args.study:
                raise PhysappError(f"{out} holds a sweep of '{data.study_id}', not "
                                   f"'{args.study}'.")
        else:
            if out.exists() and not args.overwrite:
                raise PhysappError(f"{out} already exists: add --resume to continue it or "
                                   "--overwrite to start again.")
            if not (out.parent if str(out.parent) else Path(".")).is_dir():
                raise PhysappError(f"Cannot write '{out}': the folder '{out.parent}' does not "
                                   "exist.")
            vary = [v.strip() for v in args.vary.split(",") if v.strip()] if args.vary else None
            _check_sweep_memory(args)
            data = Dataset.create(out, args.study, args.samples, args.sampler, args.seed,
                                  args.test_fraction, vary=vary, fixed=parse_sets(args.set),
                                  order=args.order, overwrite=args.overwrite,
                                  check_morph=not args.no_morph_check, progress=progress,
                                  cancel=cancel, history_frames=args.frames)
            newline()
            for note in data.notes:
                print(f"physapp: note: {note}", file=sys.stderr)
        try:
            if args.scheduler:
                from physapp.compute.cluster import connect, run_sweep_on

                with connect(args.scheduler) as client:
                    summary = run_sweep_on(data, client, retry_failed=args.retry_failed,
                                           progress=progress, cancel=cancel)
            else:
                summary = run_sweep(data, args.workers, retry_failed=args.retry_failed,
                                    progress=progress, cancel=cancel)
        except Cancelled as exc:
            newline()
            return _fail(args, EXIT_CANCELLED, str(exc), f"physapp: {exc}")
    finally:
        signal.signal(signal.SIGINT, previous)
    newline()
    n_test = int(data.is_test.sum())
    n_replaced = int(data.replaced.sum())
    failures = data.failures()
    if args.json:
        print(json.dumps({
            "output": str(out), "study": data.study_id, "n_samples": int(data.n_samples),
            "n_test": n_test, "done": summary.done_total, "failed": summary.failed_total,
            "pending": summary.pending_total, "replaced": n_replaced,
            "solved_this_run": summary.solved, "time_s": round(summary.elapsed, 3),
            "notes": list(getattr(data, "notes", []) or []),
            "failures": [{"sample": int(f[0]), "error": str(f[2])} for f in failures[:20]],
        }, indent=2))
    else:
        print(f"Wrote {out}: {summary.done_total} done, {summary.failed_total} failed, "
              f"{summary.pending_total} pending of {data.n_samples} samples ({n_test} test); this "
              f"run solved {summary.solved} in {summary.elapsed:.1f} s")
    if n_replaced:
        print(f"physapp: note: {n_replaced} sample(s) were solved at a replacement point: the "
              "planned combination of values could not be morphed.", file=sys.stderr)
    if failures:
        print(f"physapp: warning: {len(failures)} sample(s) failed, e.g. sample {failures[0][0]}:"
              f" {failures[0][2]}", file=sys.stderr)
    if summary.done_total == 0 and failures:
        print("physapp: error: every sample failed.", file=sys.stderr)
        return EXIT_SOLVER
    return EXIT_OK


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
    try:
        if args.command == "solve":
            return cmd_solve(args)
        if args.command == "studies":
            return cmd_studies(args)
        if args.command == "info":
            return _cmd_info(args)
        if args.command == "plugins":
            return _cmd_plugins(args)
        if args.command == "train":
            return _cmd_train(args)
        if args.command == "predict":
            return _cmd_predict(args)
        if args.command == "sweep":
            return _cmd_sweep(args)
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

"""Headless command line: ``physapp <command>``; with no command the GUI starts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from physapp import __version__
from physapp.core.errors import Cancelled, PhysappError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_CANCELLED = 0, 1, 2, 130
COMMANDS = ("solve", "studies", "gui")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="physapp",
        description="Explore designs interactively: parametric studies, a finite-element "
        "reference solver and fast surrogates. Without a command the desktop app starts.",
        epilog="Examples:\n  physapp                       open the app on the study gallery (start screen)\n"
        "  physapp gui --study ID        open the app directly on a study, e.g. l-bracket\n"
        "  physapp studies               list built-in studies and their parameters\n"
        "  physapp solve plate-with-hole --set radius=0.01 --set traction=1e6 --out result.vtu",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"physapp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="start the desktop app (the default)",
                         description="Start the desktop app: on the study gallery, where you "
                         "pick a study, or directly on the study given with --study.")
    gui.add_argument("--study", default=None, metavar="ID",
                     help="study to open, e.g. plate-with-hole (default: choose one in the "
                     "study gallery; `physapp studies` lists them)")

    solve = sub.add_parser(
        "solve", help="solve a study with the reference solver and write the fields",
        description="Mesh and solve a study with the reference finite-element solver and write "
        "the mesh with all fields (displacement, stresses, von Mises, principal stresses). "
        "Parameters are in SI units (m, Pa); `physapp studies` lists them with their ranges.",
    )
    solve.add_argument("study", help="study id, e.g. plate-with-hole")
    solve.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="set a parameter (repeatable), e.g. --set radius=0.01")
    solve.add_argument("--out", required=True, metavar="FILE",
                       help="output file: .vtu, .vtk, .xdmf or .msh")
    solve.add_argument("--order", type=int, choices=(1, 2), default=2,
                       help="element order (default: %(default)s)")
    solve.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    solve.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    studies = sub.add_parser("studies", help="list the built-in studies and their parameters",
                             description="List the built-in studies with their parameters.")
    studies.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def parse_sets(items: Sequence[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise PhysappError(f"--set expects NAME=VALUE, got '{item}'.")
        try:
            values[name.strip()] = float(text)
        except ValueError:
            raise PhysappError(f"--set {name.strip()}: '{text}' is not a number.") from None
    return values


def cmd_solve(args: argparse.Namespace) -> int:
    from physapp.io.results import check_output_path, write_result
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study(args.study)
    params = study.check(parse_sets(args.set))
    check_output_path(args.out)

    tty = sys.stderr.isatty()

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            end = "" if tty else "\n"
            print(f"\r[{fraction * 100:5.1f}%] {message:<60}", end=end, file=sys.stderr, flush=True)

    result = ReferenceSolver(order=args.order).solve(study, params, progress=progress)
    if not args.quiet and tty:
        print(file=sys.stderr)
    path = write_result(result, args.out)
    meta = result.meta
    summary = {
        "study": study.spec.id, "output": str(path), "params": params,
        "n_dofs": meta["n_dofs"], "n_points": result.mesh.n_points,
        "fields": sorted(result.point_data), "time_s": round(meta["t_total"], 4),
        "key_quantities": meta["key_quantities"],
    }
    if args.json:
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
        print(json.dumps([{
            "id": s.id, "title": s.title, "description": s.description,
            "parameters": [{"name": p.name, "label": p.label, "unit": p.unit, "min": p.lower,
                            "max": p.upper, "default": p.default} for p in s.parameters],
        } for s in studies], indent=2))
        return EXIT_OK
    for s in studies:
        print(f"{s.id}: {s.title}\n  {s.description}\n  parameters:")
        for p in s.parameters:
            unit = f" {p.unit}" if p.unit else ""
            print(f"    {p.name:<16} {p.label:<20} default {p.default:<10g} "
                  f"range [{p.lower:g}, {p.upper:g}]{unit}")
    return EXIT_OK


def cmd_gui(study: str | None, argv: list[str]) -> int:
    from physapp.gui.app import run_gui

    return run_gui(argv, study_id=study)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        if argv and not argv[0].startswith("-"):
            print(f"physapp: error: unknown command '{argv[0]}' (commands: {', '.join(COMMANDS)}); "
                  "see physapp --help", file=sys.stderr)
            return EXIT_USAGE
        return cmd_gui(None, argv)  # the study gallery first
    args = build_parser().parse_args(argv)
    try:
        if args.command == "solve":
            return cmd_solve(args)
        if args.command == "studies":
            return cmd_studies(args)
        return cmd_gui(args.study, [])
    except Cancelled:
        print("physapp: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print("\nphysapp: interrupted", file=sys.stderr)
        return EXIT_CANCELLED
    except PhysappError as exc:
        print(f"physapp: error: {exc}", file=sys.stderr)
        return EXIT_ERROR

"""Command-line support for imported parts: ``physapp solve PART --setup setup.json``, region
descriptions for ``physapp info``, and part + set-up ids for ``physapp sweep``.

Kept out of :mod:`physapp.cli` (which only adds the options and calls these) so its imports stay
lazy.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from physapp.core.errors import PhysappError


def add_solve_options(solve: argparse.ArgumentParser) -> None:
    """Options of ``physapp solve`` for a part file instead of a study id."""
    solve.add_argument("--setup", default=None, metavar="SETUP.json",
                       help="solve a mesh or CAD file given instead of a study id with this "
                       "set-up (supports, loads, material; docs/setup-format.md): a JSON file, "
                       "the JSON text itself, or a saved session of a part; a CalculiX/Abaqus "
                       "deck (.inp) needs none")
    solve.add_argument("--size", type=float, default=None, metavar="M",
                       help="element size in metres for a CAD part (default: the set-up's "
                       "mesh.size, else a twentieth of the part)")
    solve.add_argument("--unit", default=None, metavar="UNIT",
                       help="length unit of the part file: m, mm, cm, um, in, ft")


def is_part(args: argparse.Namespace) -> bool:
    return getattr(args, "setup", None) is not None or Path(args.study).is_file()


def part_study(args: argparse.Namespace, progress=None):
    from physapp.studies.imported import load_part_study

    if not Path(args.study).is_file():
        raise PhysappError(f"'{args.study}' is not a file: with --setup give the part's mesh or "
                           "CAD file.")
    if args.setup is None and Path(args.study).suffix.lower() != ".inp":
        raise PhysappError(f"'{args.study}' is a part file: give its set-up with --setup "
                           "SETUP.json (docs/setup-format.md); a CalculiX/Abaqus deck (.inp) "
                           "brings its own.")
    kw = {} if progress is None else {"progress": progress}
    return load_part_study(args.study, args.setup, size=getattr(args, "size", None),
                           unit=getattr(args, "unit", None), order=getattr(args, "order", None),
                           **kw)


def cmd_solve_part(args: argparse.Namespace, progress) -> int:
    """``physapp solve PART --setup SETUP.json --out FILE [--set NAME=VALUE] [--order 2]``."""
    from physapp.cli import parse_sets
    from physapp.core.progress import scaled
    from physapp.io.results import check_output_path, write_result
    from physapp.solvers.reference import ReferenceSolver

    check_output_path(args.out)
    study = part_study(args, scaled(progress, 0.0, 0.2))
    params = study.check(parse_sets(args.set))
    deck = getattr(study, "deck_report", None)
    if deck is not None:
        for line in deck.text().splitlines()[1:]:
            print(f"physapp: deck: {line}", file=sys.stderr)
    for line in study.selection_reports:
        print(f"physapp: note: {line}", file=sys.stderr)
    result = ReferenceSolver(order=args.order).solve(study, params,
                                                     progress=scaled(progress, 0.2, 1.0))
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    path = write_result(result, args.out)
    meta = result.meta
    summary = {
        "part": str(args.study), "setup": str(args.setup), "study": study.spec.id,
        "output": str(path), "params": params, "n_dofs": meta["n_dofs"],
        "n_points": result.mesh.n_points, "fields": sorted(result.point_data),
        "time_s": round(meta["t_total"], 4), "key_quantities": meta["key_quantities"],
        "solver": meta.get("method", ""), "curved": bool(meta.get("curved", False)),
        "selections": list(study.selection_reports), "warnings": list(meta.get("warnings", [])),
    }
    if deck is not None:
        summary["deck"] = {"unsupported": dict(deck.unsupported), "ignored": list(deck.ignored),
                           "notes": list(deck.notes)}
    from physapp.cli import report_solve

    return report_solve(summary, result, path, args.json)


def regions(mesh, path=None) -> tuple[str, list[dict]]:
    """Text lines and JSON rows describing every region (kind, size, centroid, normal); for a
    CalculiX/Abaqus deck also what its set-up brings and which keywords are not supported."""
    from physapp.core.regions import describe, describe_text

    text = "regions (kind, size, centroid, normal of flat faces):\n" + describe_text(mesh)
    if path is not None and Path(path).suffix.lower() == ".inp":
        from physapp.io.inp import DeckError, read_inp

        try:
            _, setup, report = read_inp(path)
            text += (f"\ndeck set-up: {setup['physics']} ({setup['analysis']}), "
                     f"{len(setup['supports'])} support(s), {len(setup['loads'])} load(s)\n"
                     + "\n".join(report.text().splitlines()[1:]))
        except DeckError as exc:
            text += f"\ndeck set-up: not usable ({exc})"
    return text, describe(mesh)


def sweep_study_id(args: argparse.Namespace) -> str:
    """The study id of ``physapp sweep PART --setup SETUP.json`` (part and set-up files)."""
    from physapp.studies.imported import PART_ID_SEP

    if not Path(args.study).is_file():
        raise PhysappError(f"'{args.study}' is not a file: with --setup give the part's mesh or "
                           "CAD file.")
    if not Path(args.setup).is_file():
        raise PhysappError(f"The set-up file '{args.setup}' does not exist (a sweep needs the "
                           "set-up as a file: its workers read it).")
    return f"part:{Path(args.study).resolve()}{PART_ID_SEP}{Path(args.setup).resolve()}"


def session_part_study(part: dict):
    """The study of a saved session's imported part (``physapp export --session``)."""
    from physapp.studies.imported import PartSetup, load_part_study

    file = part.get("file")
    if not file or not Path(file).is_file():
        raise PhysappError(f"The session's part file '{file}' is not there any more.")
    return load_part_study(file, PartSetup.from_dict(part.get("setup") or {}),
                           size=part.get("element_size"), unit=part.get("length_unit"))

"""`physapp sweep`: plan a data set of a study and solve its samples in worker processes
(resumable, memory-checked)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from physapp.cli import (
    EXIT_CANCELLED,
    EXIT_OK,
    EXIT_SOLVER,
    _fail,
    _progress_printer,
    parse_sets,
)
from physapp.core.errors import Cancelled, PhysappError


def add_parser(sub: argparse._SubParsersAction) -> None:
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
                       help="worker processes (default: the app's Settings, else the number "
                       "of CPUs)")
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


def cmd_sweep(args: argparse.Namespace) -> int:
    from physapp.compute.sweep import run_sweep
    from physapp.core.progress import sigint_cancels
    from physapp.surrogates.dataset import Dataset

    out = Path(args.out)
    tty = sys.stderr.isatty()
    if args.workers is None:  # the user's settings (the app's Settings dialog)
        from physapp.app.settings import load_settings

        args.workers = load_settings().workers
    if args.setup is not None:  # physapp sweep PART --setup SETUP.json
        from physapp.cli_parts import sweep_study_id

        args.study = sweep_study_id(args)
    _check_sweep_args(args)

    progress = _progress_printer(args.quiet)

    def newline() -> None:
        if not args.quiet and tty:
            print(file=sys.stderr)

    with sigint_cancels() as cancel:  # first Ctrl-C: stop cleanly; second: at once
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

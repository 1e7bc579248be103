"""``physapp train-online``: learn a POD-GP surrogate while the designs are solved, and stop at
the error asked for (see :mod:`physapp.surrogates.online`).

Kept out of :mod:`physapp.cli` (which registers the parser and dispatches) so that its imports
stay lazy.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from physapp.core.errors import Cancelled, PhysappError

EPILOG = """Examples:
  physapp train-online plate-with-hole --target 2% --budget 200 --workers 2 --out plate.pt
  physapp train-online l-bracket --target 3% --budget 150 --strategy sobol --out lb.pt \\
      --data lb.h5 --set mesh_size=0.008 --order 1
  physapp train-online plate-with-hole --target 1% --budget 300 --out plate.pt --data plate.h5
      (a rerun on the same --data continues: no design is solved twice)

It stops when the estimated error of --field reaches --target ("Reached the target", exit 0) or
when --budget solves are spent ("Stopped at the budget", exit 0 with a warning; the model uses
every solved design). Ctrl-C (exit 130) keeps every solved design in --data."""


def parse_target(text: str) -> float:
    """'2%' -> 0.02, '0.02' -> 0.02 (a fraction; a bare number above 1 is read as percent)."""
    t = str(text).strip()
    try:
        if t.endswith("%"):
            return float(t[:-1]) / 100.0
        v = float(t)
    except ValueError:
        raise PhysappError(f"--target: '{text}' is not an error such as 2% or 0.02.") from None
    return v / 100.0 if v >= 1.0 else v


def add_parser(sub: argparse._SubParsersAction) -> None:
    import textwrap

    p = sub.add_parser(
        "train-online", help="learn a surrogate while solving, until a target error is reached",
        description=textwrap.fill("Solve designs of a study in worker processes (or on a Dask cluster) and "
        "stream them into a POD-GP surrogate that is refitted as they arrive. With the active "
        "strategy the next designs are where the model is least sure (largest reduction of "
        "the field's integrated predictive variance, diverse batches for parallel workers); "
        "with sobol they fill the space. The run stops when the model's estimated relative L2 "
        "error of --field (leave-one-out calibrated GP variance over the whole design space) "
        "reaches --target, or when --budget solves are spent. Designs are stored in --data as "
        "they finish; the model is saved with its estimated and measured errors and the run's "
        "history in its metadata (metrics.online).", 88),
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("study", help="study id, e.g. plate-with-hole (see `physapp studies`)")
    p.add_argument("--target", required=True, metavar="ERR",
                   help="relative L2 error to reach, e.g. 2%% or 0.02 (must be above 0)")
    p.add_argument("--budget", type=int, required=True, metavar="N",
                   help="at most N solves (failed ones count; must be at least 1)")
    p.add_argument("--out", required=True, metavar="MODEL.pt", help="model file to write")
    p.add_argument("--data", default=None, metavar="DATA.h5",
                   help="data set of the solved designs (default: next to --out, .h5); an "
                   "existing one is continued without repeating a design")
    p.add_argument("--strategy", choices=("active", "sobol"), default="active",
                   help="how designs are chosen (default: %(default)s)")
    p.add_argument("--field", default=None, metavar="NAME",
                   help="field whose error is the target (default: the study's default field)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="parallel solves: local processes at a lower priority with one thread "
                   "each; 0 solves in this process (default: %(default)s)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="solve on a Dask distributed cluster, e.g. tcp://host:8786 (--workers "
                   "then bounds the designs in flight; default: its worker threads)")
    p.add_argument("--vary", default=None, metavar="A,B",
                   help="parameters to vary (default: every design parameter not set)")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="hold a parameter fixed (repeatable), e.g. --set mesh_size=0.01")
    p.add_argument("--order", type=int, choices=(1, 2), default=2,
                   help="element order (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the designs (default: 0)")
    p.add_argument("--test", type=int, default=8, metavar="N",
                   help="extra solves at N random designs to measure the final model's error "
                   "(stored with the model; 0 skips it; default: %(default)s)")
    p.add_argument("--no-morph-check", action="store_true",
                   help="skip the search for each geometric parameter's morphable range")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def cmd_train_online(args: argparse.Namespace, progress) -> int:
    from physapp.cli import EXIT_CANCELLED, EXIT_OK, _fail, parse_sets
    from physapp.core.progress import sigint_cancels
    from physapp.studies import get_study
    from physapp.surrogates.online import OnlineConfig, run_online

    study = get_study(args.study)
    out = Path(args.out)
    if out.is_dir():
        raise PhysappError(f"--out '{out}' is a folder; give a model file such as "
                           f"{out / 'model.pt'}.")
    if not (out.parent if str(out.parent) else Path(".")).is_dir():
        raise PhysappError(f"Cannot write '{out}': the folder '{out.parent}' does not exist.")
    data = Path(args.data) if args.data else out.with_suffix(".h5")
    if data.resolve() == out.resolve():
        raise PhysappError("--data and --out must be different files.")
    if args.scheduler:
        from physapp.compute.cluster import check_address

        check_address(args.scheduler)
    field = args.field or study.spec.default_field.split("[")[0]
    vary = tuple(v.strip() for v in args.vary.split(",") if v.strip()) if args.vary else None
    cfg = OnlineConfig(
        study_id=study.spec.id, target=parse_target(args.target), budget=args.budget,
        field=field, strategy=args.strategy, workers=args.workers,
        scheduler=args.scheduler or "", vary=vary, fixed=parse_sets(args.set, study.spec),
        order=args.order, seed=args.seed, check_morph=not args.no_morph_check,
        test_designs=args.test)
    cfg.check()
    try:
        with sigint_cancels() as cancel:  # first Ctrl-C: stop cleanly; second: at once
            res = run_online(cfg, data, out, progress=progress, cancel=cancel)
    except Cancelled as exc:
        return _fail(args, EXIT_CANCELLED, str(exc), f"\nphysapp: {exc}")
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    last = res.history[-1]
    if args.json:
        print(json.dumps({
            "output": str(res.model_path), "data": str(data), "study": cfg.study_id,
            "field": field, "strategy": cfg.strategy, "target": cfg.target,
            "budget": cfg.budget, "stopped": res.stopped, "message": res.message,
            "estimated_rel_l2": res.estimate, "measured_rel_l2": res.measured,
            "solves": last.solves, "failed": last.failed,
            "solved_this_run": res.solved_this_run,
            "history": [{"solves": s.solves, "estimate": s.estimate, "std": s.estimate_std}
                        for s in res.history],
        }, indent=2))
    else:
        meas = (f"; measured {res.measured * 100:.2f} % on {args.test} random designs"
                if res.measured is not None else "")
        print(f"Wrote {res.model_path} ({last.done} designs solved, {last.failed} failed, "
              f"{res.solved_this_run} this run; data in {data}){meas}")
    line = ("physapp: " if res.stopped == "target" else "physapp: warning: ") + res.message
    print(line, file=sys.stderr)
    return EXIT_OK

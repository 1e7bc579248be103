"""Active learning vs Sobol sampling: solves needed to reach a von Mises error, and how well the
run's own error estimate matches the measured error when it stops.

Run: .venv/bin/python benchmarks/active_learning.py [--budget 96] [--batch 8] [--seeds 3|0,2]
     [--studies plate-with-hole,l-bracket] [--ls-cap 2] [--weighting scale|magnitude] [--json]

For each study (the plate with every design parameter varied, the L-bracket with all nine) and
each strategy (``sobol``: the designs of a scrambled Sobol sequence in order; ``active``: an
initial Sobol design of 2p points, then integrated-variance-reduction batches computed with the
GP's length scales capped at ``--ls-cap`` (2; 0 gives the uncapped acquisition), see
:mod:`physapp.surrogates.active`), :func:`physapp.surrogates.online.run_online` solves designs in
batches of ``--batch`` (as many parallel workers), refits the POD-GP of the von Mises stress after
every batch and measures its relative L2 error on a fixed independent test set of 32 random
designs (uniform in the bounds, the same for every run of a study). Printed per study and
strategy, over the seeds: the solves needed until the measured error is <= the target (2 %),
the measured error at the budget, and at the run's own stop (the first refit whose estimated
error is <= the target) the estimated and the measured error.

Coarse meshes and P1 elements keep it to minutes on 2 busy cores (plate: element size 20 mm,
~165 nodes; L-bracket: 8 mm, ~630 nodes); designs are morphs of one reference mesh per study,
whose morph check is done once and shared by every run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from physapp.surrogates import doe
from physapp.surrogates.dataset import Dataset
from physapp.surrogates.online import (
    InlineExecutor,
    OnlineConfig,
    random_designs,
    run_online,
    solve_designs,
    solve_setup,
)

STUDIES = {
    "plate-with-hole": {  # every design parameter; load and material as benchmarks/surrogates
        "bounds": {"traction": (10e6, 100e6), "youngs_modulus": (70e9, 210e9),
                   "poissons_ratio": (0.2, 0.4)},
        "fixed": {"mesh_size": 0.02},
    },
    "l-bracket": {  # all nine parameters over their ranges (narrowed where morphs fail)
        "bounds": {},
        "fixed": {"mesh_size": 0.008},
    },
}
FIELD = "von_mises"


def template(study_id: str, budget: int, folder: Path) -> Path:
    cfg = STUDIES[study_id]
    path = folder / f"{study_id}-template.h5"
    Dataset.create(path, study_id, budget, "sobol", 0, 1.0 / budget, fixed=cfg["fixed"],
                   bounds=cfg["bounds"] or None, order=1)
    return path


def reseed(path: Path, seed: int) -> None:
    """Plan the copied data set's rows with the Sobol sequence of ``seed``."""
    import h5py

    ds = Dataset.open(path)
    design = doe.Design(ds.param_names, ds.bounds, dict(ds.fixed))
    rows, _ = doe.sample_feasible(ds.bounds, ds.n_samples, "sobol", seed,
                                  doe.feasibility(ds.study, design))
    with h5py.File(path, "r+") as f:
        f["plan/X"][...] = rows
        f["plan/X_planned"][...] = rows
        f.attrs["seed"] = seed


def one_run(study_id: str, strategy: str, seed: int, tmpl: Path, test, budget: int, batch: int,
            folder: Path, target: float, criterion: str = "ivr", ls_cap: float = 2.0,
            weighting: str = "scale") -> dict:
    path = folder / f"{study_id}-{strategy}-{seed}.h5"
    shutil.copy(tmpl, path)
    reseed(path, seed)
    ds = Dataset.open(path)
    cfg = OnlineConfig(study_id=study_id, target=1e-6, budget=budget, field=FIELD,
                       strategy=strategy, workers=batch, fixed=STUDIES[study_id]["fixed"],
                       order=1, seed=seed, pool_size=1024, full_model=False,
                       criterion=criterion, ls_cap=ls_cap, weighting=weighting)
    t0 = time.perf_counter()
    res = run_online(cfg, path, None, executor=InlineExecutor(solve_setup(ds), batch), test=test)
    hist = res.history
    n_init = max(2 * len(ds.param_names), 6)
    reach = next((s.solves for s in hist if s.measured <= target), None)
    stop = next((s for s in hist if s.done >= n_init and s.estimate <= target), None)
    return {
        "study": study_id, "strategy": strategy, "seed": seed,
        "solves_to_target": reach, "measured_at_budget": hist[-1].measured,
        "estimate_at_budget": hist[-1].estimate,
        "stop_solves": None if stop is None else stop.solves,
        "stop_estimate": None if stop is None else stop.estimate,
        "stop_measured": None if stop is None else stop.measured,
        "time_s": round(time.perf_counter() - t0, 1),
        "history": [{"solves": s.solves, "estimate": s.estimate, "measured": s.measured,
                     "loo": s.loo} for s in hist],
    }


def _fmt(v, pct=False) -> str:
    if v is None:
        return "-"
    return f"{v * 100:.2f}%" if pct else f"{v}"


def table(runs: list[dict], budget: int, target: float) -> str:
    lines = [f"von Mises relative L2 <= {target * 100:g} % on 32 test designs; budget {budget}",
             f"{'study':<16} {'strategy':<7} {'solves to target (seeds)':<26} {'median':>7} "
             f"{'meas@budget':>11} {'stop: solves est meas':>24}"]
    for study in dict.fromkeys(r["study"] for r in runs):
        med = {}
        for strategy in ("sobol", "active"):
            rs = [r for r in runs if r["study"] == study and r["strategy"] == strategy]
            if not rs:
                continue
            n = [r["solves_to_target"] if r["solves_to_target"] is not None else np.inf
                 for r in rs]
            med[strategy] = float(np.median(n))
            seeds = ", ".join(f">{budget}" if not np.isfinite(v) else str(int(v)) for v in n)
            stops = "; ".join(f"{_fmt(r['stop_solves'])} {_fmt(r['stop_estimate'], True)} "
                              f"{_fmt(r['stop_measured'], True)}" for r in rs)
            meas = np.mean([r["measured_at_budget"] for r in rs])
            m = f">{budget}" if not np.isfinite(med[strategy]) else f"{med[strategy]:.0f}"
            lines.append(f"{study:<16} {strategy:<7} {seeds:<26} {m:>7} {meas * 100:>10.2f}% "
                         f"  {stops}")
        if len(med) == 2 and np.isfinite(med["active"]):
            lines.append(f"{'':<16} sobol/active solves: {med['sobol'] / med['active']:.2f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=96)
    ap.add_argument("--batch", type=int, default=8, help="designs per batch (parallel workers)")
    ap.add_argument("--seeds", default="3",
                    help="how many seeds (0, 1, ...), or a comma-separated list of seeds")
    ap.add_argument("--target", type=float, default=0.02)
    ap.add_argument("--studies", default="plate-with-hole,l-bracket")
    ap.add_argument("--criterion", default="ivr",
                    help="acquisition of the active strategy: ivr, variance, ivr-loo, "
                    "variance-loo (default: %(default)s)")
    ap.add_argument("--ls-cap", type=float, default=2.0,
                    help="cap on the length scales the acquisition uses (0: none)")
    ap.add_argument("--weighting", default="scale", choices=("scale", "magnitude"))
    ap.add_argument("--strategies", default="sobol,active")
    ap.add_argument("--json", action="store_true", help="print the runs as JSON")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for study_id in args.studies.split(","):
            t0 = time.perf_counter()
            tmpl = template(study_id, args.budget, folder)
            ds = Dataset.open(tmpl)
            test = solve_designs(ds, InlineExecutor(solve_setup(ds), 8),
                                 random_designs(ds, 32, seed=12345))
            print(f"{study_id}: plan and 32 test solves in {time.perf_counter() - t0:.1f} s",
                  file=sys.stderr)
            seeds = ([int(v) for v in args.seeds.split(",") if v] if "," in args.seeds
                     else list(range(int(args.seeds))))
            for seed in seeds:
                for strategy in args.strategies.split(","):
                    r = one_run(study_id, strategy, seed, tmpl, test, args.budget, args.batch,
                                folder, args.target, args.criterion, args.ls_cap,
                                args.weighting)
                    runs.append(r)
                    print(f"  {strategy} seed {seed}: to target {r['solves_to_target']}, "
                          f"measured at budget {r['measured_at_budget'] * 100:.2f} %, stop "
                          f"{r['stop_solves']} est {_fmt(r['stop_estimate'], True)} meas "
                          f"{_fmt(r['stop_measured'], True)} ({r['time_s']} s)",
                          file=sys.stderr, flush=True)
    if args.json:
        print(table(runs, args.budget, args.target), file=sys.stderr)
        print(json.dumps({"budget": args.budget, "batch": args.batch, "target": args.target,
                          "runs": runs}, indent=1))
    else:
        print(table(runs, args.budget, args.target))
    return 0


if __name__ == "__main__":
    sys.exit(main())

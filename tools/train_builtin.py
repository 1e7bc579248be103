"""Produce the pre-trained surrogates shipped in resources/surrogates/ from the app's own solver.

For each built-in study: a Latin-hypercube sweep over its design parameters (reference solver,
P2, default element size, morphed reference mesh), then a POD-GP model trained on it, saved as
resources/surrogates/<study-id>/pod-gp.pt with its held-out metrics. Re-runnable by anyone:

    .venv/bin/python tools/train_builtin.py [--samples 64] [--studies plate-with-hole,l-bracket]
                                            [--workers N] [--keep-data DIR]

The sweeps are resumable: with --keep-data the HDF5 data sets are kept there and a rerun only
solves what is missing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "resources" / "surrogates"
DEFAULT_STUDIES = ("plate-with-hole", "l-bracket", "heat-sink", "thick-cylinder")
#: design ranges of the shipped models where the sliders' ranges are wider than a sensible design
#: space (the app warns when a slider leaves the trained range). Loads keep one sign: von Mises
#: has a kink where a load changes sign, which no smooth regression captures.
DESIGN_BOUNDS = {
    "plate-with-hole": {"traction": (10e6, 300e6), "youngs_modulus": (70e9, 250e9)},
    "l-bracket": {"load": (500.0, 20000.0), "load_angle": (-120.0, -60.0),
                  "youngs_modulus": (70e9, 250e9)},
    "thick-cylinder": {"inner_radius": (0.08, 0.15), "outer_radius": (0.18, 0.3),
                       "pressure": (10e6, 300e6), "youngs_modulus": (70e9, 250e9)},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--studies", default=",".join(DEFAULT_STUDIES))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--kinds", default="pod-gp")
    parser.add_argument("--keep-data", default=None, metavar="DIR")
    args = parser.parse_args(argv)

    from physapp.compute.sweep import run_sweep
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import train_surrogate

    data_dir = Path(args.keep_data) if args.keep_data else Path(tempfile.mkdtemp())
    data_dir.mkdir(parents=True, exist_ok=True)
    for study_id in args.studies.split(","):
        t0 = time.perf_counter()
        path = data_dir / f"{study_id}.h5"
        if path.exists():
            ds = Dataset.open(path)
        else:
            ds = Dataset.create(path, study_id, args.samples, "lhs", 0, 0.2, order=2,
                                bounds=DESIGN_BOUNDS.get(study_id))
            for note in ds.notes:
                print(f"  note: {note}")
        summary = run_sweep(ds, args.workers, progress=lambda f, m, s=study_id: print(
            f"\r  {s}: {m:<60}", end="", flush=True))
        print(f"\r  {study_id}: {summary.done_total} samples, {summary.failed_total} failed, "
              f"sweep {time.perf_counter() - t0:.0f} s")
        data = Dataset.open(path).training_data()
        for kind in args.kinds.split(","):
            model = train_surrogate(kind, data, device="cpu")
            target = OUT / study_id / f"{kind}.pt"
            target.parent.mkdir(parents=True, exist_ok=True)
            save_surrogate(model, target)
            errs = {k: round(v["rel_l2"], 4) for k, v in model.metrics.get("fields", {}).items()
                    if k in ("displacement", "von_mises", "temperature")}
            if "coverage95" in model.metrics:
                errs["coverage95"] = round(model.metrics["coverage95"], 3)
            print(f"  {study_id} {kind}: {target.stat().st_size / 1e6:.1f} MB, held-out {errs}")
    total = sum(p.stat().st_size for p in OUT.rglob("*.pt"))
    print(f"resources/surrogates: {total / 1e6:.1f} MB in total")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``physapp train DATA.h5 --model all`` on a data set whose samples have their own meshes (#19).

Trains every kind that learns across meshes (the mesh-agnostic ones, built-in and plug-in), scores
each on the held-out samples, prints one table and says which kinds were skipped and why (POD and
the other fixed-topology kinds need one mesh topology). Model files are ``OUT-<kind>.pt``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from physapp.core.errors import PhysappError

EXIT_OK = 0


def train_all_mesh_samples(args: argparse.Namespace, samples: Any, out: Path,
                           progress: Any) -> int:
    from physapp.surrogates.ensemble import train_all_on_samples
    from physapp.surrogates.models import model_class
    from physapp.surrogates.storage import save_surrogate
    from physapp.surrogates.training import metrics_table

    opts: dict[str, dict[str, Any]] = {}
    if args.epochs is not None:
        from physapp.surrogates.models import MESH_KINDS, all_kinds

        for kind in dict.fromkeys([*all_kinds(), *MESH_KINDS]):
            try:
                if "epochs" in model_class(kind).OPTIONS:
                    opts[kind] = {"epochs": args.epochs}
            except PhysappError:
                continue
    models, skipped = train_all_on_samples(samples, device=args.device, seed=args.seed,
                                           progress=progress, options=opts)
    if not models:
        raise PhysappError("No surrogate kind can learn from samples with their own meshes here "
                           "(skipped: " + "; ".join(f"{k}: {v}" for k, v in skipped.items())
                           + ").")
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    written = {}
    for kind, model in models.items():
        written[kind] = str(save_surrogate(model, out.with_name(
            f"{out.stem}-{kind}{out.suffix or '.pt'}")))
        for notice in model.notices:
            print(f"physapp: note: {notice}", file=sys.stderr)
    if args.json:
        print(json.dumps({"models": {k: {"file": written[k], "device": m.device,
                                         "metrics": m.metrics} for k, m in models.items()},
                          "skipped": skipped}, indent=2))
        return EXIT_OK
    train, test = samples.split()
    print(f"{samples.study_id or 'imported data'}: {len(train)} training / {len(test)} held-out "
          f"samples with their own meshes, parameters {', '.join(samples.param_names) or '(none)'}")
    print(metrics_table(models))
    by_reason: dict[str, list[str]] = {}
    for kind, why in skipped.items():
        by_reason.setdefault(why, []).append(kind)
    for why, kinds in by_reason.items():
        print(f"Skipped {', '.join(kinds)}: {why}.")
    for kind, path in written.items():
        print(f"Wrote {path} ({kind})")
    return EXIT_OK

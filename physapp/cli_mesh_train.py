"""``physapp train DATA.h5 --model all`` on a data set whose samples have their own meshes (#19).

Trains every kind that learns across meshes (the mesh-agnostic ones, built-in and plug-in), scores
each on the held-out samples, prints one table and says which kinds were skipped and why (POD and
the other fixed-topology kinds need one mesh topology). Model files are ``OUT-<kind>.pt``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from physapp.core.errors import PhysappError


def train_all_mesh_samples(args: argparse.Namespace, samples: Any, out: Path,
                           progress: Any) -> int:
    from physapp.cli_models import end_progress, report_models, save_models
    from physapp.surrogates.ensemble import train_all_on_samples
    from physapp.surrogates.models import model_class
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
    end_progress(args)
    written = save_models(models, out, several=True)
    train, test = samples.split()
    by_reason: dict[str, list[str]] = {}
    for kind, why in skipped.items():
        by_reason.setdefault(why, []).append(kind)
    return report_models(
        args, models, written,
        f"{samples.study_id or 'imported data'}: {len(train)} training / {len(test)} held-out "
        f"samples with their own meshes, parameters {', '.join(samples.param_names) or '(none)'}",
        metrics_table(models),
        [f"Skipped {', '.join(kinds)}: {why}." for why, kinds in by_reason.items()],
        extra={"skipped": skipped})

"""`physapp train --model pod-history|pod-history-phase|curve-gp|neural-field-history|field-curve`
(or a comma list) and `physapp predict` of a history model (#18, #22): the histories a sweep of a
history study keeps in its data set in, a model file out;
a predicted history (``.pvd``/``.xdmf``/``.h5``/``.csv``, or the last frame as ``.vtu``) and its
curves with their standard deviations (``--json``) back."""

from __future__ import annotations

import json
from pathlib import Path


def is_history_kind(kind: str) -> bool:
    from physapp.surrogates.models import model_class

    return bool(getattr(model_class(kind), "HISTORY", False))


def read_history_data(path: str, *, isolate: bool = True, timeout: float | None = None):
    """The histories of a sweep data set (read in an isolated child, as ``read_training_data``)."""
    from physapp.cli_models import read_isolated, read_or_damaged

    if isolate:
        return read_isolated(read_history_data, path, timeout)
    from physapp.surrogates.dataset import Dataset

    return read_or_damaged(lambda: Dataset.open(path).history_data(), path,
                           "a sweep data set of histories", " Run the sweep again.")


def history_metrics_table(kind: str, metrics: dict) -> str:
    return history_comparison_table({kind: metrics})


def history_comparison_table(models: dict[str, dict]) -> str:
    """Held-out scores of history models (kind -> metrics), one block of rows per model."""
    lines = [f"{'model':<12} {'output':<22} {'rel L2':>9} {'max abs':>10} {'cov95':>6}"]
    for kind, metrics in models.items():
        rows = [(f, m) for f, m in metrics.get("fields", {}).items()]
        rows += [(f"curve {c}", m) for c, m in metrics.get("curves", {}).items()]
        for j, (name, m) in enumerate(rows):
            lines.append(f"{kind if j == 0 else '':<12} {name:<22} {m['rel_l2'] * 100:>8.3f}% "
                         f"{m['max_abs']:>10.3g} {m.get('coverage95', float('nan')):>6.3f}")
        lines.append(f"{'':<12} trained in {metrics.get('train_time_s', float('nan')):.2f} s, "
                     f"{metrics.get('n_train', 0)} training / {metrics.get('n_test', 0)} "
                     f"held-out histories of {metrics.get('n_frames', 0)} frames, one history "
                     f"in {metrics.get('latency_ms', float('nan')):.1f} ms")
    return "\n".join(lines)


def cmd_train_history(args, progress) -> int:
    """Train the history kind(s) of ``args.model`` (a comma list: each on the same data, one
    table; files ``<out stem>-<kind>.pt``)."""
    from physapp.cli_models import end_progress, model_file, report_models
    from physapp.surrogates.models import model_class
    from physapp.surrogates.models.history_model import train_history
    from physapp.surrogates.storage import save_surrogate

    data = read_history_data(args.data)
    kinds = list(dict.fromkeys(args.model.split(",")))
    out = Path(args.out)
    models, written = {}, {}
    for kind in kinds:
        opts = {}
        if args.epochs is not None:  # network epochs, or GP iterations
            opts["epochs" if "epochs" in model_class(kind).OPTIONS else "iters"] = args.epochs
        models[kind] = train_history(kind, data, seed=args.seed, progress=progress, **opts)
        # saved at once: a later kind that fails leaves the earlier ones written
        written[kind] = str(save_surrogate(models[kind], model_file(out, kind, len(kinds) > 1)))
    end_progress(args, data.left_out)
    return report_models(args, models, written,
                         f"{data.study_id}: {int((~data.is_test).sum())} training / "
                         f"{int(data.is_test.sum())} held-out histories, parameters "
                         f"{', '.join(data.param_names)}",
                         history_comparison_table({k: m.metrics for k, m in models.items()}))


def cmd_predict_history(args, model, values: dict) -> int:
    """Write the predicted history (or its last frame for a single-state format)."""
    from physapp.cli import EXIT_OK
    from physapp.io.history_export import HISTORY_FORMATS, write_history_file
    from physapp.io.results import write_result

    out = Path(args.out)
    history = model.predict_history(values)
    if out.suffix.lower() in HISTORY_FORMATS:
        path = write_history_file(history, out)
    else:
        path = write_result(history.frame(-1), out)
    from physapp.cli_models import prediction_summary

    meta = history.meta
    summary = {
        **prediction_summary(model, meta, path, history.mesh.n_points, history.point_data),
        "n_steps": history.n_steps, "time_label": history.time_label,
        "time_unit": history.time_unit, "latency_ms": round(meta["latency_ms"], 3),
        "curves": {history.time_label: history.times.tolist(),
                   **{k: v.tolist() for k, v in history.curves.items()}},
        "curves_std": {k: v.tolist() for k, v in meta["curve_std"].items()},
        "curve_units": dict(history.curve_units),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Wrote {path} ({model.kind} history of {model.study_id}: {history.n_steps} "
              f"frames, {history.mesh.n_points} nodes, {meta['latency_ms']:.1f} ms)")
    return EXIT_OK

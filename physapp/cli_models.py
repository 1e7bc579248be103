"""`physapp train` and `physapp predict`: train a field surrogate on a sweep data set (or a
variable-mesh data set) and predict with a saved one; data sets are read in an isolated child."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from physapp.cli import (
    EXIT_OK,
    _progress_printer,
    parse_sets,
)
from physapp.core.errors import PhysappError


def add_parsers(sub: argparse._SubParsersAction) -> None:
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
                       help=f"model kind: {', '.join(KINDS)}, all (those kinds; on samples "
                       "with their own meshes every mesh-agnostic kind, the rest named as "
                       "skipped), the "
                       f"mesh-agnostic {' or '.join(MESH_KINDS)} (any mesh, an ensemble with "
                       "std fields), the history models pod-history (POD of space-time "
                       "snapshots, GPs on parameters and time), pod-history-phase (the same "
                       "with the phase of a periodic curve such as the lift as an input: "
                       "vortex shedding), curve-gp (POD of whole histories and curves, GPs on "
                       "the parameters), neural-field-history (a neural field of parameters, "
                       "time and position) and field-curve (the DeepONet-Transolver hybrid, "
                       "conformal band) for a sweep of a history study (a comma list, e.g. "
                       "curve-gp,field-curve, compares them in one table), or an architecture "
                       "a plugin registers (`physapp plugins`) "
                       "(default: %(default)s)")
    train.add_argument("--out", required=True, metavar="MODEL.pt", help="model file to write")
    train.add_argument("--device", default=None,
                       help="auto, cpu, cuda or cuda:N (default: the app's Settings, else auto)")
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
                         "(pod-history, curve-gp) also .pvd, .h5 or .csv (the predicted "
                         "history; .xdmf is then a time series too)")
    predict.add_argument("--device", default=None,
                         help="auto, cpu, cuda or cuda:N (default: the app's Settings, else "
                         "auto)")
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


def settings_device(args: argparse.Namespace) -> None:
    """--device left out: the device of the user's settings (the app's Settings dialog)."""
    if args.device is None:
        from physapp.app.settings import load_settings

        args.device = load_settings().device


def cmd_train(args: argparse.Namespace) -> int:
    from physapp.core.progress import scaled

    settings_device(args)

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
    from physapp.surrogates.models import KINDS
    from physapp.surrogates.training import metrics_table, train_surrogate

    if args.ddp:
        from physapp.surrogates.distributed import run

        return run(args.data, args.model, args.out, epochs=args.epochs, seed=args.seed,
                   device=args.device, quiet=args.quiet, as_json=args.json)
    from physapp.surrogates.models import model_class as _check_kind

    if args.model != "all":
        from physapp.cli_history_models import cmd_train_history, is_history_kind

        for kind in args.model.split(","):  # a list: history kinds compared (#22)
            _check_kind(kind)  # unknown kind: a clear error before reading the data
        if all(is_history_kind(k) for k in args.model.split(",")):  # histories in (#18, #22)
            return cmd_train_history(args, _progress_printer(args.quiet))
    from physapp.surrogates.models import MESH_KINDS

    if args.model in (*MESH_KINDS, "all"):  # samples with their own meshes (#19)
        samples = read_mesh_samples(args.data)
        if samples is not None and args.model == "all":
            from physapp.cli_mesh_train import train_all_mesh_samples

            return train_all_mesh_samples(args, samples, out, _progress_printer(args.quiet))
        if samples is not None:
            return _train_mesh_samples(args, samples, out)
    data = read_training_data(args.data)
    progress = _progress_printer(args.quiet)
    kinds = list(KINDS) if args.model == "all" else [args.model]
    models = {}
    for i, kind in enumerate(kinds):
        sub = scaled(progress, i / len(kinds), (i + 1) / len(kinds))
        models[kind] = train_surrogate(
            kind, data, device=args.device, seed=args.seed,
            progress=lambda f, m, _k=kind, _s=sub: _s(f, f"{_k}: {m}"),
            **epoch_option(args, kind))
    end_progress(args)
    written = save_models(models, out, several=len(models) > 1)
    return report_models(args, models, written,
                         f"{data.study_id}: {data.train().n_samples} training / "
                         f"{data.test().n_samples} held-out samples, parameters "
                         f"{', '.join(data.param_names)}", metrics_table(models))


def epoch_option(args: argparse.Namespace, kind: str) -> dict[str, int]:
    """``{"epochs": --epochs}`` for a kind that has the option (else, or without --epochs,
    nothing; an unknown kind is a PhysappError)."""
    from physapp.surrogates.models import model_class

    if args.epochs is None or "epochs" not in model_class(kind).OPTIONS:
        return {}
    return {"epochs": args.epochs}


def model_file(out: Path, kind: str, several: bool) -> Path:
    """Where a trained ``kind`` goes: ``--out`` itself, or ``<stem>-<kind>.pt`` beside it when
    several kinds are trained at once."""
    return out.with_name(f"{out.stem}-{kind}{out.suffix or '.pt'}") if several else out


def end_progress(args: argparse.Namespace, notes=()) -> None:
    """End the progress line on a terminal and print ``notes`` to stderr."""
    if not args.quiet and sys.stderr.isatty():
        print(file=sys.stderr)
    print_notes(notes)


def print_notes(notes) -> None:
    for note in notes:
        print(f"physapp: note: {note}", file=sys.stderr)


def save_models(models: dict, out: Path, *, several: bool) -> dict[str, str]:
    """Save every model (:func:`model_file`) and print its notices; kind -> file written."""
    from physapp.surrogates.storage import save_surrogate

    written = {}
    for kind, model in models.items():
        written[kind] = str(save_surrogate(model, model_file(out, kind, several)))
        print_notes(model.notices)
    return written


def report_models(args: argparse.Namespace, models: dict, written: dict[str, str],
                  summary: str, table: str, lines=(), extra: dict | None = None) -> int:
    """The end of ``physapp train``: with --json the file, device and metrics of each kind
    (under ``models`` beside ``extra`` when given), else ``summary``, the metrics ``table``,
    ``lines`` and the files written."""
    entries = {k: {"file": written[k], "device": m.device, "metrics": m.metrics}
               for k, m in models.items()}
    if args.json:
        print(json.dumps(entries if extra is None else {"models": entries, **extra}, indent=2))
        return EXIT_OK
    print(summary)
    print(table)
    for line in lines:
        print(line)
    for kind, path in written.items():
        print(f"Wrote {path} ({kind})")
    return EXIT_OK


def read_mesh_samples(path: str, *, isolate: bool = True):
    """The samples of a data set whose samples have their own meshes (a topology-changing study's
    sweep, an imported folder) as MeshSamples; None for a fixed-topology data set (read by
    :func:`read_training_data`). Read in a child process, as that one."""
    if isolate:
        return read_isolated(read_mesh_samples, path)
    from physapp.surrogates.dataset import Dataset

    def read():
        ds = Dataset.open(path)
        return None if ds.fixed_topology else ds.mesh_samples()

    return read_or_damaged(read, path, "a data set")


def read_isolated(reader, path: str, timeout: float | None = None):
    """``reader(path, isolate=False)`` in a child process (:func:`~physapp.core.isolate.
    run_isolated`), stopped after ``timeout`` s (default ``$PHYSAPP_READ_TIMEOUT``, else 10 s +
    1 s per 20 MB of the file)."""
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
    return run_isolated(reader, path, isolate=False, timeout=timeout,
                        what=f"Reading the data set '{Path(path).name}'")


def read_or_damaged(read, path: str, what: str, hint: str = ""):
    """``read()``; an error a damaged file raises becomes one PhysappError: "'NAME' cannot be
    read as WHAT: it is damaged (...).HINT"."""
    try:
        return read()
    except PhysappError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError,
            AttributeError) as exc:
        raise PhysappError(
            f"'{Path(path).name}' cannot be read as {what}: it is damaged "
            f"({type(exc).__name__}: {str(exc)[:120]}).{hint}") from None


def _train_mesh_samples(args: argparse.Namespace, samples, out: Path) -> int:
    """``physapp train`` of a mesh-agnostic kind on samples with their own meshes."""
    from physapp.surrogates.ensemble import train_on_samples
    from physapp.surrogates.training import metrics_table

    progress = _progress_printer(args.quiet)
    models = {args.model: train_on_samples(
        args.model, samples, device=args.device, seed=args.seed,
        progress=lambda f, m: progress(f, f"{args.model}: {m}"), **epoch_option(args, args.model))}
    end_progress(args)
    written = save_models(models, out, several=False)
    train, test = samples.split()
    return report_models(
        args, models, written,
        f"{samples.study_id or 'imported data'}: {len(train)} training / {len(test)} held-out "
        f"samples with their own meshes, parameters {', '.join(samples.param_names) or '(none)'}"
        + (f", input fields {', '.join(samples.input_names)}" if samples.input_names else ""),
        metrics_table(models))


def read_training_data(path: str, *, isolate: bool = True, timeout: float | None = None):
    """The finished samples of a sweep data set, or one clear error for a damaged file.

    Read in a child process (:func:`physapp.core.isolate.run_isolated`): a damaged HDF5 file can
    make the HDF5 library loop for ever (found by the fuzz run); the child is stopped after
    ``timeout`` s (default ``$PHYSAPP_READ_TIMEOUT``, else 10 s + 1 s per 20 MB)."""
    if isolate:
        return read_isolated(read_training_data, path, timeout)
    import numpy as np

    from physapp.surrogates.dataset import Dataset

    def read():
        data = Dataset.open(path).training_data()
        arrays = [data.X, data.coords, *data.fields.values()]
        return data, all(np.all(np.isfinite(np.asarray(a, dtype=float))) for a in arrays)

    data, finite = read_or_damaged(read, path, "a sweep data set", " Run the sweep again.")
    if not finite:
        raise PhysappError(f"'{Path(path).name}' holds NaN or infinite values: the file is "
                           "damaged. Run the sweep again.")
    return data


def cmd_predict(args: argparse.Namespace) -> int:
    from physapp.io.history_export import HISTORY_FORMATS, check_history_path
    from physapp.io.results import check_output_path, write_result
    from physapp.surrogates.storage import load_surrogate

    settings_device(args)
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
    summary = {**prediction_summary(model, meta, path, result.mesh.n_points, result.point_data),
               "latency_ms": round(meta["latency_ms"], 3), "device": meta["device"],
               "key_quantities": dict(meta.get("key_quantities", {})),
               "key_units": dict(meta.get("key_units", {}))}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Wrote {path} ({model.kind} surrogate of {model.study_id}, "
              f"{result.mesh.n_points} nodes, {meta['latency_ms']:.1f} ms)")
    return EXIT_OK


def prediction_summary(model, meta: dict, path, n_points: int, fields) -> dict:
    """Warn on stderr when the prediction extrapolates; the first keys of ``predict``'s JSON
    summary (a field or a history prediction adds its own after them)."""
    if meta["out_of_range"]:
        print(f"physapp: warning: {', '.join(meta['out_of_range'])} outside the trained range; "
              "the prediction is an extrapolation.", file=sys.stderr)
    return {"model": model.kind, "surrogate_id": model.id, "study": model.study_id,
            "output": str(path), "params": meta["params"], "out_of_range": meta["out_of_range"],
            "n_points": n_points, "fields": sorted(fields)}


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

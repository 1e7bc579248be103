"""Data-parallel training of the neural surrogates with torch DistributedDataParallel.

Launch one process per GPU (or several CPU processes) with ``torchrun``::

    torchrun --nproc_per_node=2 -m physapp.surrogates.distributed \\
        --dataset plate.h5 --model pod-mlp -o plate-mlp.pt
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --master_port=29500 \\
        --nproc_per_node=4 -m physapp.surrogates.distributed --dataset D.h5 --model neural-field -o M.pt

(``physapp train D.h5 --model pod-mlp --out M.pt --ddp`` under torchrun does the same.) The
backend is NCCL when CUDA is available (each process uses ``cuda:LOCAL_RANK``), else gloo on the
CPU. Without torchrun (no ``WORLD_SIZE`` in the environment) the same code runs in one process.

How the work is split: every rank reads the whole data set and computes the same POD bases,
normalisations and initial weights (all seeded), so only the gradient steps are shared. Each
optimiser step draws one *global* batch from a generator seeded identically on every rank (the
full training set by default for ``pod-mlp``; ``samples_per_step`` samples x ``points`` nodes for
``neural-field``, as in single-process training) and each rank takes its contiguous share of it.
The local loss is the rank's sum of squared errors divided by the global element count and
multiplied by the world size, so DDP's all-reduced mean of the gradients is exactly the gradient
of the global-batch mean loss: training on W ranks gives the weights of single-process training
up to floating-point summation order (checked in ``tests/surrogates/test_distributed.py``).
Rank 0 scores the model on the held-out samples and saves it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from physapp.surrogates.data import TrainingData
    from physapp.surrogates.models.base import FieldSurrogate

KINDS = ("pod-mlp", "neural-field")


# -- process group ------------------------------------------------------------------------------
class Context:
    """This process's place in the job: rank, world size, device, backend."""

    def __init__(self, rank: int = 0, world: int = 1, local_rank: int = 0, device: str = "cpu",
                 backend: str = "") -> None:
        self.rank, self.world, self.local_rank = rank, world, local_rank
        self.device, self.backend = device, backend

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def share(self, n: int) -> slice:
        """This rank's contiguous share of ``n`` items (the first ``n % world`` get one more)."""
        base, extra = divmod(n, self.world)
        start = self.rank * base + min(self.rank, extra)
        return slice(start, start + base + (1 if self.rank < extra else 0))


def init(backend: str = "auto", device: str = "auto") -> Context:
    """Join the process group torchrun set up (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ...).

    Without ``WORLD_SIZE`` in the environment: a one-process context and no process group.
    ``backend="auto"`` is NCCL on CUDA, else gloo.
    """
    import torch
    import torch.distributed as dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = (device == "auto" and torch.cuda.is_available()) or str(device).startswith("cuda")
    if use_cuda and not torch.cuda.is_available():
        raise PhysappError("CUDA was requested for distributed training but is not available.")
    dev = f"cuda:{local % max(torch.cuda.device_count(), 1)}" if use_cuda else "cpu"
    if use_cuda:
        torch.cuda.set_device(dev)
    chosen = ("nccl" if use_cuda else "gloo") if backend == "auto" else backend
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend=chosen, rank=rank, world_size=world)
    return Context(rank, world, local, dev, chosen if world > 1 else "")


def finish(ctx: Context) -> None:
    import torch.distributed as dist

    if ctx.distributed and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _wrap(module: torch.nn.Module, ctx: Context) -> torch.nn.Module:
    """DDP around ``module`` when distributed (gradients all-reduced and averaged)."""
    if not ctx.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [int(ctx.device.split(":")[1])] if ctx.device.startswith("cuda") else None
    return DistributedDataParallel(module, device_ids=ids)


# -- training -----------------------------------------------------------------------------------
def train_distributed(kind: str, data: TrainingData, ctx: Context | None = None, *,
                      seed: int = 0, batch_size: int | None = None,
                      progress: ProgressFn = no_progress, cancel: CancelToken = NEVER,
                      evaluate: bool = True, **options: Any) -> FieldSurrogate:
    """Train a ``pod-mlp`` or ``neural-field`` surrogate with data-parallel gradient steps.

    Parameters
    ----------
    kind : ``"pod-mlp"`` or ``"neural-field"``.
    data : samples of one study (held-out samples only score the model, on rank 0).
    ctx : from :func:`init` (default: one process on the CPU).
    batch_size : pod-mlp only: global number of training samples per step (default: all of
        them, full-batch training as in :meth:`PodMLPSurrogate.fit`); batches follow a seeded
        permutation per epoch, identical on every rank.
    **options : model options (``epochs``, ``lr``, ...; see each model's ``OPTIONS``) and
        ``field_scaling`` as in :func:`~physapp.surrogates.training.train_surrogate`.

    Returns
    -------
    The trained model on every rank (``metrics`` filled on rank 0 when ``evaluate``).
    """
    from physapp.surrogates.models import model_class
    from physapp.surrogates.models.base import check_options
    from physapp.surrogates.scaling import for_training
    from physapp.surrogates.training import evaluate as score

    ctx = ctx or Context()
    if kind not in KINDS:
        raise PhysappError(f"Distributed training covers the neural models ({', '.join(KINDS)}), "
                           f"not '{kind}'; train it with physapp train.")
    cls = model_class(kind)
    data, scaling, original_test = for_training(data, options)
    opts = check_options(cls, options)
    train = data.train()
    if train.n_samples < max(cls.MIN_SAMPLES, 1):
        raise PhysappError(f"A {kind} surrogate needs at least {cls.MIN_SAMPLES} training samples.")
    t0 = time.perf_counter()
    fit = _fit_pod_mlp if kind == "pod-mlp" else _fit_neural_field
    model = fit(cls, train, ctx, opts, seed, batch_size, progress, cancel)
    model.field_scaling = dict(scaling or {})
    model.options = dict(opts)
    model.metrics = {}
    if evaluate and ctx.rank == 0 and original_test.n_samples:
        model.metrics = score(model, original_test)
    model.metrics.update(n_train=train.n_samples, n_test=original_test.n_samples,
                         train_time_s=round(time.perf_counter() - t0, 4), world_size=ctx.world,
                         backend=ctx.backend or "none")
    return model


def _fit_pod_mlp(cls, data, ctx, opts, seed, batch_size, progress, cancel):
    import torch
    from torch import nn

    from physapp.surrogates.models.base import ModelInfo
    from physapp.surrogates.models.pod import PodSet, _Ensemble, _normalise
    from physapp.surrogates.training import EpochReporter, lr_schedule

    dev = ctx.device
    info = ModelInfo.from_data(data)
    pod = PodSet.fit(data, info, energy=opts["energy"], max_modes=opts["max_modes"], device=dev)
    scale = pod.field_scales().float()
    target = pod.coefficients(data, info).float() / scale
    x = torch.as_tensor(2.0 * _normalise(info, data.X) - 1.0, dtype=torch.float32, device=dev)
    R = pod.total_rank
    sizes = [x.shape[1], *[opts["hidden"]] * opts["layers"], max(R, 1)]
    start = _Ensemble.init(opts["members"], sizes, seed, dev)

    class EnsembleModule(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.ParameterList([nn.Parameter(w.clone()) for w in start.weights])
            self.b = nn.ParameterList([nn.Parameter(b.clone()) for b in start.biases])

        def forward(self, xb: torch.Tensor) -> torch.Tensor:
            return _Ensemble(list(self.w), list(self.b))(xb)

    module = EnsembleModule()
    net = _wrap(module, ctx)
    # same parameter order as PodMLPSurrogate.fit: weights, then biases
    opt = torch.optim.AdamW([*module.w, *module.b], lr=opts["lr"],
                            weight_decay=opts["weight_decay"])
    epochs = int(opts["epochs"])
    sched = lr_schedule(opt, epochs)
    rep = EpochReporter(epochs, progress if ctx.rank == 0 else no_progress, cancel)
    n, M = x.shape[0], opts["members"]
    B = n if not batch_size else max(1, min(int(batch_size), n))
    gen = torch.Generator().manual_seed(seed + 7919)
    for epoch in range(1, epochs + 1):
        rep.tick()
        order = torch.arange(n) if B == n else torch.randperm(n, generator=gen)
        total = 0.0
        for s in range(0, n, B):
            idx = order[s:s + B]
            mine = idx[ctx.share(len(idx))].to(dev)
            opt.zero_grad()
            pred = net(x[mine])[..., :R]
            # local sum / global element count x world: DDP's mean = the global-batch gradient
            denom = M * len(idx) * max(R, 1)
            loss = (pred - target[mine]).pow(2).sum() * (ctx.world / denom) if R else \
                pred.sum() * 0.0
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx) / ctx.world
        sched.step()
        if rep.due(epoch):
            rep.report(epoch, _global_mean(total / n * ctx.world, ctx))
    weights = [p.detach().clone() for p in module.w]
    biases = [p.detach().clone() for p in module.b]
    model = cls(info, dev, opts, pod, _Ensemble(weights, biases), scale)
    model.history = rep.history
    return model


def _fit_neural_field(cls, data, ctx, opts, seed, batch_size, progress, cancel):
    import torch

    from physapp.surrogates.training import EpochReporter, lr_schedule

    dev = ctx.device
    # the same preparation as NeuralFieldSurrogate.fit (normalisation, seeded network)
    model, xc, yt, mu, (S, P) = cls.prepare(data, opts, dev, seed, cancel)
    net = _wrap(model.net, ctx)
    n, npts = yt.shape[:2]
    C = yt.shape[2]
    epochs = int(opts["epochs"])
    opt = torch.optim.AdamW(model.net.parameters(), lr=opts["lr"],
                            weight_decay=opts["weight_decay"])
    sched = lr_schedule(opt, epochs)
    rep = EpochReporter(epochs, progress if ctx.rank == 0 else no_progress, cancel)
    gen = torch.Generator(device="cpu").manual_seed(seed)  # same draws on every rank
    running = None
    for epoch in range(1, epochs + 1):
        rep.tick()
        si_all = torch.randperm(n, generator=gen)[:S]
        pi_all = torch.randint(npts, (S, P), generator=gen)
        share = ctx.share(S)
        si, pi = si_all[share].to(dev), pi_all[share].to(dev)
        xb = xc[si.unsqueeze(1), pi]
        yb = yt[si.unsqueeze(1), pi]
        opt.zero_grad(set_to_none=True)
        loss = (net(xb, mu[si]) - yb).pow(2).sum() * (ctx.world / (S * P * C))
        loss.backward()
        opt.step()
        sched.step()
        lv = _global_mean(float(loss.detach()), ctx)
        running = lv if running is None else 0.9 * running + 0.1 * lv
        if rep.due(epoch):
            rep.report(epoch, running)
    model.net.eval()
    for p in model.net.parameters():
        p.requires_grad_(False)
    model.history = rep.history
    return model


def _global_mean(value: float, ctx: Context) -> float:
    """Mean of a per-rank scalar over the ranks (the global-batch loss for reports)."""
    if not ctx.distributed:
        return value
    import torch
    import torch.distributed as dist

    t = torch.tensor([value], dtype=torch.float64, device=ctx.device)
    dist.all_reduce(t)
    return float(t.item()) / ctx.world


# -- command line -------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="torchrun --nproc_per_node=N -m physapp.surrogates.distributed",
        description="Train a neural surrogate (pod-mlp, neural-field) on a sweep data set with "
        "torch DistributedDataParallel: one process per GPU (NCCL) or per CPU slot (gloo); "
        "rank 0 saves the model. Without torchrun it runs in one process.",
    )
    p.add_argument("--dataset", required=True, metavar="DATA.h5", help="data set of physapp sweep")
    p.add_argument("--model", default="pod-mlp", choices=KINDS, help="model kind")
    p.add_argument("-o", "--out", required=True, metavar="MODEL.pt", help="model file to write")
    p.add_argument("--epochs", type=int, default=None, metavar="N", help="training epochs")
    p.add_argument("--batch-size", type=int, default=None, metavar="B",
                   help="pod-mlp: global samples per step (default: all, full batch)")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="model option, e.g. --option members=3 (repeatable)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--backend", default="auto", choices=("auto", "gloo", "nccl"),
                   help="process-group backend (default: nccl on CUDA, else gloo)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch intra-op threads per process (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="rank 0 prints a JSON summary on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return p


def _options(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise PhysappError(f"--option expects NAME=VALUE, got '{item}'.")
        try:
            value: Any = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                value = text
        out[name.strip()] = value
    return out


def run(dataset: str, model: str, out: str, *, epochs: int | None = None,
        batch_size: int | None = None, options: dict[str, Any] | None = None, seed: int = 0,
        backend: str = "auto", device: str = "auto", quiet: bool = False,
        as_json: bool = False) -> int:
    """Join the process group, train, save on rank 0, print a summary; returns an exit code."""
    from pathlib import Path

    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.storage import save_surrogate

    ctx = init(backend, device)
    try:
        target = Path(out)
        if ctx.rank == 0 and not (target.parent if str(target.parent) else Path(".")).is_dir():
            raise PhysappError(f"Cannot write '{out}': the folder does not exist.")
        data = Dataset.open(dataset).training_data()
        opts = dict(options or {})
        if epochs is not None:
            opts["epochs"] = epochs

        def progress(f: float, m: str) -> None:
            if not quiet:
                print(f"[rank 0/{ctx.world}] {f * 100:5.1f}% {m}", file=sys.stderr, flush=True)

        trained = train_distributed(model, data, ctx, seed=seed, batch_size=batch_size,
                                    progress=progress, **opts)
        if ctx.rank == 0:
            path = save_surrogate(trained, target)
            summary = {"file": str(path), "model": model, "world_size": ctx.world,
                       "backend": ctx.backend or "none", "device": ctx.device,
                       "metrics": trained.metrics}
            if as_json:
                print(json.dumps(summary, indent=2, default=float))
            else:
                rel = trained.metrics.get("rel_l2_mean")
                tail = f", held-out mean rel. L2 {rel:.3g}" if rel is not None and \
                    math.isfinite(rel) else ""
                print(f"Wrote {path} ({model}, {ctx.world} process(es), "
                      f"{ctx.backend or 'single process'}{tail})")
    finally:
        finish(ctx)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return run(args.dataset, args.model, args.out, epochs=args.epochs,
                   batch_size=args.batch_size, options=_options(args.option), seed=args.seed,
                   backend=args.backend, device=args.device, quiet=args.quiet,
                   as_json=args.json)
    except PhysappError as exc:
        print(f"physapp: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("physapp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

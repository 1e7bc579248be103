"""The data set of a learn-while-solving run (see :mod:`physapp.surrogates.online`): planned
with ``budget`` Sobol rows or reopened, grown when the budget grows, rows rewritten at the
designs active learning chose just before they are handed out.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:
    from physapp.surrogates.online import OnlineConfig

ONLINE_ATTR = "online"


def open_or_create(cfg: OnlineConfig, path: Path, *, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> tuple[Any, bool]:
    """The run's data set: reopened when ``path`` exists (its plan is kept), else planned with
    ``budget`` Sobol rows. Returns (dataset, resumed)."""
    from physapp.surrogates.dataset import Dataset

    path = Path(path)
    if path.exists():
        ds = Dataset.open(path)
        if ds.study_id != cfg.study_id:
            raise PhysappError(f"{path} holds designs of '{ds.study_id}', not "
                               f"'{cfg.study_id}'.")
        if cfg.budget > ds.n_samples:
            progress(0.0, f"Extending {path.name} from {ds.n_samples} to {cfg.budget} designs")
            grow(ds, int(cfg.budget))
            ds = Dataset.open(path)
        return ds, True
    if not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise PhysappError(f"Cannot write '{path}': the folder '{path.parent}' does not exist.")
    n = max(int(cfg.budget), 3)
    ds = Dataset.create(path, cfg.study_id, n, "sobol", cfg.seed, 1.0 / n,
                        vary=list(cfg.vary) if cfg.vary else None, fixed=dict(cfg.fixed),
                        bounds=dict(cfg.bounds) or None, order=cfg.order,
                        check_morph=cfg.check_morph, progress=progress, cancel=cancel)
    _write_attr(ds, {"strategy": cfg.strategy, "field": cfg.field, "seed": cfg.seed,
                     "target": cfg.target, "budget": cfg.budget})
    return ds, False


def grow(ds: Any, n: int) -> None:
    """Give data set ``ds`` ``n`` rows (more than it has): every stored array is copied into a
    new file whose extra rows are pending and planned at the continuation of its Sobol
    sequence; the new file then replaces the old one (atomically)."""
    import h5py

    from physapp.surrogates import doe

    old_n = ds.n_samples
    design = doe.Design(ds.param_names, ds.bounds, dict(ds.fixed))
    rows, _ = doe.sample_feasible(ds.bounds, n, "sobol", ds.seed,
                                  doe.feasibility(ds.study, design))
    extra = rows[old_n:]
    tmp = ds.path.with_name(ds.path.name + ".grow")
    try:
        with h5py.File(ds.path, "r") as src, h5py.File(tmp, "w") as dst:
            for k, v in src.attrs.items():
                dst.attrs[k] = v

            def copy(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Group):
                    g = dst.require_group(name)
                    for k, v in obj.attrs.items():
                        g.attrs[k] = v
                    return
                parent = name.rsplit("/", 1)[0] if "/" in name else ""
                top = name.split("/")[0]
                if top in ("plan", "samples") and obj.shape and obj.shape[0] == old_n and \
                        name not in ("plan/param_names", "plan/bounds", "plan/range_bounds"):
                    shape = (n, *obj.shape[1:])
                    out = dst.require_group(parent).create_dataset(
                        name.rsplit("/", 1)[-1], shape=shape, dtype=obj.dtype)
                    out[:old_n] = obj[()]
                    if name in ("plan/X", "plan/X_planned"):
                        out[old_n:] = extra
                    elif name == "samples/elapsed" or obj.dtype.kind == "f":
                        out[old_n:] = np.nan
                    elif name == "plan/is_test":
                        out[old_n:] = False
                    else:
                        out[old_n:] = np.zeros((n - old_n, *obj.shape[1:]), dtype=obj.dtype)
                else:
                    src.copy(obj, dst.require_group(parent) if parent else dst,
                             name=name.rsplit("/", 1)[-1])
                for k, v in obj.attrs.items():
                    dst[name].attrs[k] = v

            src.visititems(copy)
        os.replace(tmp, ds.path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_attr(ds: Any, value: dict) -> None:
    import h5py

    with h5py.File(ds.path, "r+") as f:
        f.attrs[ONLINE_ATTR] = json.dumps(value)


def _set_row(ds: Any, i: int, row: np.ndarray) -> None:
    """Plan pending row ``i`` at ``row`` (before it is handed out)."""
    import h5py

    with h5py.File(ds.path, "r+") as f:
        f["plan/X"][i] = row
        f["plan/X_planned"][i] = row
        f.flush()
    ds.X[i] = row
    ds.X_planned[i] = row


def training_data(ds: Any) -> Any:
    """Every solved design of ``ds`` as TrainingData, none held out (the error is estimated by
    leave-one-out)."""
    from physapp.surrogates.dataset import DONE

    ds.refresh()
    done = np.flatnonzero(ds.status == DONE)
    saved = ds.is_test
    split = np.zeros_like(saved)
    split[done[:1]] = True  # Dataset.training_data insists on both sides of its split
    ds.is_test = split
    try:
        data = ds.training_data()
    finally:
        ds.is_test = saved
    data.is_test = np.zeros(data.n_samples, dtype=bool)
    return data

"""A sweep data set as a table (File > Export > Data set table..., ``physapp export dataset``):
one row per sample with its status, split, parameter values, key quantities and failure message,
written as CSV with :func:`physapp.io.export.write_csv`. Through :class:`Dataset`'s public
methods only (io does not reach into the file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from physapp.core.errors import PhysappError
from physapp.io.export import _num, check_folder, write_csv
from physapp.surrogates.dataset import DONE, FAILED, Dataset


def dataset_rows(dataset_path: str | os.PathLike) -> list[list[Any]]:
    """Rows (header first) of every sample of a sweep data set (HDF5): index, status, split,
    whether the planned point was replaced, the parameter values (varied and fixed) and the
    key quantities (empty for samples not solved), and the failure message."""
    ds = Dataset.open(dataset_path)
    kq = ds.key_quantities()
    fixed = [n for n in ds.fixed if n not in ds.param_names]
    header = ["sample", "status", "split", "replaced", *ds.param_names, *fixed, *kq, "message"]
    rows: list[list[Any]] = [header]
    names = {DONE: "done", FAILED: "failed"}
    for i in range(ds.n_samples):
        values = ds.values(i)
        status = names.get(int(ds.status[i]), "pending")
        row = [i, status, "test" if ds.is_test[i] else "train", str(bool(ds.replaced[i]))]
        row += [_num(values[n]) for n in (*ds.param_names, *fixed)]
        row += [_num(kq[k][i]) if status == "done" else "" for k in kq]
        row.append(ds.message(i) if status == "failed" else "")
        rows.append(row)
    return rows


def write_dataset_csv(dataset_path: str | os.PathLike, path: str | os.PathLike) -> Path:
    """CSV of a data set's samples (see :func:`dataset_rows`)."""
    check_folder(path)
    try:
        rows = dataset_rows(dataset_path)
    except PhysappError:
        raise
    except (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError) as exc:
        raise PhysappError(
            f"'{Path(dataset_path).name}' cannot be read as a sweep data set: it is damaged "
            f"({type(exc).__name__}: {str(exc)[:120]}). Run the sweep again.") from None
    return write_csv(rows, path)

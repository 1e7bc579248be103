"""Writing a data set's samples (:class:`~physapp.surrogates.dataset.Dataset`): a solved
sample's node coordinates and fields on the support or on its own mesh, a history's frames, the
output arrays created on the first sample, failures with their message, and samples marked to
be solved again. A mixin of ``Dataset``; every write is flushed so a killed sweep leaves a
readable file."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from physapp.core.errors import PhysappError
from physapp.core.mesh import CellBlock
from physapp.surrogates.dataset_format import (
    _CORNERS,
    DONE,
    FAILED,
    MESSAGE_BYTES,
    PENDING,
    VERSION,
    _early,
    _h5py,
    support_points,
)


class DatasetWriterMixin:
    """Dataset's writing of samples (see the module docstring)."""

    def write_sample(self, i: int, coords: np.ndarray, fields: Mapping[str, np.ndarray],
                     units: Mapping[str, str], key_quantities: Mapping[str, float],
                     cells: CellBlock, boundaries: Mapping[str, np.ndarray],
                     elapsed: float = float("nan"),
                     values: Mapping[str, float] | None = None,
                     history: Mapping[str, Any] | None = None) -> None:
        """Store a finished sample: node coordinates (n_out, dim), fields, key quantities.

        ``cells``/``boundaries`` are the output mesh's topology (kept from the first sample;
        later samples must match it). ``values`` are the parameters actually solved when they
        replace the planned point (see :meth:`alternates`). ``history`` is the sample's history
        resampled by :func:`~physapp.surrogates.history_data.resample_history` (fixed-topology
        data sets only).
        """
        row = None
        if values is not None:
            row = np.array([float(values[n]) for n in self.param_names])
            if np.array_equal(row, self.X[i]):
                row = None
        h5py = _h5py()
        coords = np.asarray(coords, dtype=np.float32)
        with self._file("r+") as f:
            s = f["samples"]
            if not self.fixed_topology:
                self._write_own_mesh(f, i, coords, fields, units, key_quantities, cells,
                                     boundaries)
            elif "support" not in f:
                self._create_outputs(f, h5py, coords, fields, units, key_quantities, cells,
                                     boundaries)
            if self.fixed_topology:
                self._write_on_support(f, i, coords, fields, cells)
                for name, ds in s["key_quantities"].items():
                    ds[i] = float(key_quantities.get(name, np.nan))
                if history is not None:
                    self._write_history(f, h5py, i, history, len(coords))
            s["elapsed"][i] = elapsed
            s["message"][i] = b""
            if row is not None:
                f["plan/X"][i] = row
                s["replaced"][i] = 1
            f.flush()  # every array of the sample is on disk before it is marked done
            s["status"][i] = DONE
            f.flush()
        self.status[i] = DONE
        self._messages[i] = b""
        if row is not None:
            self.X[i] = row
            self.replaced[i] = True

    def _write_on_support(self, f, i, coords, fields, cells) -> None:
        s, sup = f["samples"], f["support"]
        if coords.shape != s["coords"].shape[1:] or not np.array_equal(
                sup["cells/0"][()], cells.connectivity):
            raise PhysappError(
                f"Sample {i}: its mesh topology differs from the dataset's (the morph did "
                "not preserve the reference mesh)."
            )
        missing = set(s["fields"]) ^ set(fields)
        if missing:
            raise PhysappError(f"Sample {i}: fields {sorted(missing)} differ from the "
                               "dataset's.")
        s["coords"][i] = coords
        for name, arr in fields.items():
            s["fields"][name][i] = np.asarray(arr, dtype=np.float32)

    def _write_history(self, f, h5py, i: int, history: Mapping[str, Any], n_out: int) -> None:
        s = f["samples"]
        times = np.asarray(history["times"], dtype=np.float64)
        frames = len(times)
        if "history" not in s:
            g = s.create_group("history")
            g.attrs["frames"] = frames
            g.attrs["time_label"] = str(history.get("time_label", "time"))
            g.attrs["time_unit"] = str(history.get("time_unit", "s"))
            g.attrs["units"] = json.dumps(dict(history.get("units", {})))
            g.attrs["curve_units"] = json.dumps(dict(history.get("curve_units", {})))
            g.create_dataset("times", data=np.full((self.n_samples, frames), np.nan))
            g.create_dataset("complete", data=np.zeros(self.n_samples, dtype=np.int8))
            fg = g.create_group("fields")
            for name, arr in history["fields"].items():
                fg.create_dataset(name, shape=(self.n_samples, *np.shape(arr)),
                                  dtype=np.float32, dcpl=_early(h5py))
            cg = g.create_group("curves")
            for name in history["curves"]:
                cg.create_dataset(name, data=np.full((self.n_samples, frames), np.nan))
            f.attrs["version"] = max(int(f.attrs.get("version", VERSION)), 3)
        g = s["history"]
        if frames != int(g.attrs["frames"]):
            raise PhysappError(f"Sample {i}: its history has {frames} frames, the data set's "
                               f"{int(g.attrs['frames'])}.")
        if set(g["fields"]) ^ set(history["fields"]):
            raise PhysappError(f"Sample {i}: history fields {sorted(history['fields'])} differ "
                               f"from the data set's {sorted(g['fields'])}.")
        for name, arr in history["fields"].items():
            arr = np.asarray(arr, dtype=np.float32)
            if arr.shape != g["fields"][name].shape[1:] or arr.shape[1] != n_out:
                raise PhysappError(f"Sample {i}: history field {name} has shape {arr.shape}, "
                                   f"the data set's {g['fields'][name].shape[1:]}.")
            g["fields"][name][i] = arr
        for name, ds in g["curves"].items():
            ds[i] = np.asarray(history["curves"].get(name, np.full(frames, np.nan)), float)
        g["times"][i] = times
        g["complete"][i] = int(bool(history.get("complete", True)))

    def _write_own_mesh(self, f, i, coords, fields, units, key_quantities, cells,
                        boundaries) -> None:
        """A sample with its own mesh: one group, replaced if an interrupted write left one."""
        s = f["samples"]
        if "field_units" not in s.attrs:  # the first sample fixes the fields and quantities
            s.attrs["field_units"] = json.dumps({k: units.get(k, "") for k in fields})
            if "key_quantities" in s:
                del s["key_quantities"]
            kq = s.create_group("key_quantities")
            for name in key_quantities:
                kq.create_dataset(name, data=np.full(self.n_samples, np.nan))
        known = set(json.loads(s.attrs["field_units"]))
        if known ^ set(fields):
            raise PhysappError(f"Sample {i}: fields {sorted(known ^ set(fields))} differ from "
                               "the dataset's.")
        meshes = s.require_group("meshes")
        if str(i) in meshes:
            del meshes[str(i)]
        g = meshes.create_group(str(i))
        g.create_dataset("points", data=coords)
        c = g.create_group("cells").create_dataset("0", data=cells.connectivity)
        c.attrs["type"] = cells.type
        b = g.create_group("boundaries")
        for name, facets in boundaries.items():
            b.create_dataset(name, data=facets)
        fg = g.create_group("fields")
        for name, arr in fields.items():
            arr = np.asarray(arr, dtype=np.float32)
            if arr.shape[:1] != (len(coords),):
                raise PhysappError(f"Sample {i}: field {name} has {arr.shape[0]} values for "
                                   f"{len(coords)} nodes.")
            fg.create_dataset(name, data=arr)
        for name, ds in s["key_quantities"].items():
            ds[i] = float(key_quantities.get(name, np.nan))

    def _create_outputs(self, f, h5py, coords, fields, units, key_quantities, cells,
                        boundaries) -> None:
        n = self.n_samples
        nc = _CORNERS[cells.type]
        ref = self.reference_mesh.points[:, : coords.shape[1]]
        conn = cells.connectivity
        if conn[:, :nc].max() >= len(ref):
            raise PhysappError("The output mesh's corner nodes are not the input mesh's nodes.")
        mid = support_points(coords.astype(np.float64), cells.type, conn, len(coords))
        scale = float(np.ptp(coords, axis=0).max())
        if not np.allclose(mid, coords, rtol=0.0, atol=1e-5 * scale):
            raise PhysappError("The output mesh's midside nodes are not the midpoints of its "
                               "edges; this dataset format cannot store it.")
        s = f["samples"]
        for name in ("coords", "fields", "key_quantities", "history"):  # an interrupted 1st write
            if name in s:
                del s[name]
        shape = (n, *coords.shape)
        s.create_dataset("coords", shape=shape, dtype=np.float32,
                         dcpl=_early(h5py))
        g = s.create_group("fields")
        for name, arr in fields.items():
            shp = (n, *np.shape(arr))
            g.create_dataset(name, shape=shp, dtype=np.float32, dcpl=_early(h5py))
        g.attrs["units"] = json.dumps({k: units.get(k, "") for k in fields})
        kq = s.create_group("key_quantities")
        for name in key_quantities:
            kq.create_dataset(name, data=np.full(n, np.nan))
        sup = f.create_group("support")
        sup.attrs["n_points"] = coords.shape[0]
        c = sup.create_group("cells").create_dataset("0", data=cells.connectivity)
        c.attrs["type"] = cells.type
        b = sup.create_group("boundaries")
        for name, facets in boundaries.items():
            b.create_dataset(name, data=facets)
        f.flush()

    def write_failure(self, i: int, message: str, elapsed: float = float("nan")) -> None:
        """Mark sample ``i`` failed with a (truncated) message."""
        raw = message.encode("utf-8")[:MESSAGE_BYTES]
        with self._file("r+") as f:
            s = f["samples"]
            s["message"][i] = raw
            s["elapsed"][i] = elapsed
            f.flush()
            s["status"][i] = FAILED
            f.flush()
        self.status[i] = FAILED
        self._messages[i] = raw

    def mark_pending(self, indices: Sequence[int] | np.ndarray) -> None:
        """Set samples back to pending (they are solved again by the next sweep)."""
        idx = np.unique(np.asarray(indices, dtype=np.int64))
        with self._file("r+") as f:
            st = f["samples/status"]
            for i in idx:
                st[int(i)] = PENDING
            f.flush()
        self.status[idx] = PENDING

"""Read a surrogate ``.pt`` file without torch: its tensors become numpy arrays.

``torch.save`` writes a zip archive: ``<name>/data.pkl`` (a pickle of the payload in which each
tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`` and each
storage a persistent id ``("storage", torch.<Type>Storage, key, location, numel)``), the raw
bytes of storage ``key`` in ``<name>/data/<key>`` and the byte order in ``<name>/byteorder``.
:func:`read_payload` unpickles ``data.pkl`` with an unpickler that knows only those few names
(anything else in the pickle is refused, as ``torch.load(weights_only=True)`` would) and builds
each tensor as a numpy view of its storage bytes, copied so it owns its memory.

This lets the GUI evaluate a POD-GP model (linear algebra) without importing torch.
"""

from __future__ import annotations

import collections
import os
import pickle
import zipfile
from typing import Any

import numpy as np

#: torch storage classes -> numpy dtypes (bfloat16 and the complex and quantised types are not
#: needed by physapp's models and are refused)
STORAGE_DTYPES = {
    "DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class UnsupportedPayload(ValueError):
    """The file holds something this reader does not understand (torch can still load it)."""


class _StorageType:
    def __init__(self, name: str) -> None:
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple,
                    *_rest: Any) -> np.ndarray:
    item = storage.itemsize
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    count = int(np.prod(size)) if size else 1
    if count == 0:
        return np.zeros(size, dtype=storage.dtype)
    last = int(offset) + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if offset < 0 or any(s < 0 for s in stride) or last >= len(storage):
        raise UnsupportedPayload("a tensor reaches outside its storage")
    view = np.lib.stride_tricks.as_strided(storage[int(offset):], size,
                                           tuple(s * item for s in stride))
    return np.array(view, copy=True)


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: Any, archive: zipfile.ZipFile, prefix: str, order: str,
                 tensors: bool) -> None:
        super().__init__(file)
        self._tensors = tensors
        self._archive = archive
        self._prefix = prefix
        self._order = order
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor if self._tensors else _nothing
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsupportedPayload(f"unexpected object {module}.{name}")

    def persistent_load(self, pid: Any) -> np.ndarray | None:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise UnsupportedPayload(f"unexpected persistent id {pid!r}"[:200])
        _, stype, key, _location, numel = pid
        if not self._tensors:
            return None
        key = str(key)
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            dtype = stype.dtype.newbyteorder("<" if self._order == "little" else ">")
            if len(raw) < int(numel) * dtype.itemsize:
                raise UnsupportedPayload(f"storage {key} is truncated")
            arr = np.frombuffer(raw, dtype=dtype, count=int(numel))
            self._storages[key] = arr.astype(stype.dtype, copy=False)
        return self._storages[key]


def _nothing(*_args: Any) -> None:
    return None


def read_payload(path: str | os.PathLike, *, tensors: bool = True) -> Any:
    """The object ``torch.save`` wrote to ``path``, tensors as numpy arrays (as None with
    ``tensors=False``: only the pickle is read, e.g. for a file's metadata).

    Raises
    ------
    UnsupportedPayload
        For objects other than dicts, lists, numbers, strings and tensors of the dtypes in
        :data:`STORAGE_DTYPES`.
    OSError, zipfile.BadZipFile, pickle.UnpicklingError, EOFError, KeyError
        For a missing, truncated or corrupt file.
    """
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pkl:
            raise UnsupportedPayload("no data.pkl in the archive (not a torch zip file)")
        prefix = pkl[0][: -len("data.pkl")]
        order = "little"
        if f"{prefix}byteorder" in names:
            order = archive.read(f"{prefix}byteorder").decode("ascii", "replace").strip()
        if order not in ("little", "big"):
            raise UnsupportedPayload(f"unknown byte order {order!r}")
        with archive.open(pkl[0]) as f:
            return _Unpickler(f, archive, prefix, order, tensors).load()

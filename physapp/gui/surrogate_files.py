"""Where surrogate models live and what a model file says without loading it: the built-in
models shipped in the package, the user's saved models and data sets, and a file's header read
without torch (:func:`peek_header`), as :class:`ModelEntry` rows of the model selector."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from physapp.core.paths import user_data_dir
from physapp.gui.prediction import LoadedModel


def saved_models_dir(study_id: str) -> Path:
    """Where models trained in the app are saved for ``study_id``."""
    return user_data_dir() / "surrogates" / _safe(study_id)


def datasets_dir() -> Path:
    """Where the app keeps the sweep data sets it solves for training."""
    return user_data_dir() / "datasets"


def _safe(study_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in study_id)


def builtin_model_dirs(study_id: str) -> list[Path]:
    """Folders of built-in models for ``study_id`` that exist (the package's own, then the ones
    plugins ship); empty when there are none."""
    out: list[Path] = []
    from physapp.plugins import RESOURCES

    builtin = RESOURCES / "surrogates" / study_id
    if builtin.is_dir():
        out.append(builtin)
    try:  # models shipped by plugins ([[models]] in their manifest)
        from physapp.plugins import model_files

        for f in model_files(study_id):
            if all(f.parent.resolve() != p.resolve() for p in out):
                out.append(f.parent)
    except Exception:  # noqa: BLE001 - a broken plugin never hides the built-in models
        pass
    return out


class _HeaderUnpickler(pickle.Unpickler):
    """Reads a surrogate file's pickle without torch: tensors become None, nothing else runs."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module.split(".")[0] == "torch":
            return _nothing
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")

    def persistent_load(self, pid: Any) -> None:
        return None


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


#: peek_header's answers by file: (path, mtime ns, size) -> header. A study switch lists the
#: study's models again; unzipping each header every time cost the GUI thread (#13)
_HEADERS: dict[tuple[str, int, int], dict | None] = {}


def peek_header(path: str | os.PathLike) -> dict | None:
    """The decoded ``meta`` of a surrogate file (kind, metrics, info) without importing torch
    (the file is a zip holding one pickle; tensors are skipped). None when it cannot be read
    this way - loading the model then says what is wrong. Read once per version of the file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (os.fspath(path), st.st_mtime_ns, st.st_size)
    if key not in _HEADERS:
        _HEADERS[key] = _read_header(path)
    return _HEADERS[key]


def _read_header(path: str | os.PathLike) -> dict | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if not names:
                return None
            with archive.open(names[0]) as f:
                payload = _HeaderUnpickler(f).load()
        if not isinstance(payload, dict) or payload.get("format") != "physapp-surrogate":
            return None
        meta = json.loads(payload["meta"])
        return meta if isinstance(meta, dict) else None
    except Exception:  # noqa: BLE001 - any damage: the loader reports it properly
        return None


@dataclass
class ModelEntry:
    """One model in the selector."""

    key: str  # resolved file path, or "session:<id>" for a model not saved
    source: str  # built-in, saved, file, new
    path: Path | None
    header: dict | None = None  # meta read without torch (kind, metrics, info)
    loaded: LoadedModel | None = None

    @property
    def kind(self) -> str:
        if self.loaded is not None:
            return self.loaded.summary.kind
        return str((self.header or {}).get("kind") or (self.path.stem if self.path else "model"))

    @property
    def metrics(self) -> Mapping[str, Any]:
        if self.loaded is not None:
            return self.loaded.summary.metrics
        return (self.header or {}).get("metrics") or {}

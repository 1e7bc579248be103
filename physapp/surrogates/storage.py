"""Save and load trained surrogates: one ``.pt`` file of tensors and JSON metadata.

The file is a plain dictionary readable with ``torch.load(path, weights_only=True)`` (no pickled
code): ``format``, ``format_version``, ``physapp_version``, ``torch_version``, ``meta`` (a JSON
string: study id, kind, parameter names/bounds/fixed values, field names and units,
hyperparameters, held-out metrics, mesh cell types) and ``tensors`` (name -> tensor: reference
mesh points and cells stored once, POD bases, GP training data and hyperparameters, network
weights; float32 except the small float64 GP data).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from physapp import __version__
from physapp.core.errors import PhysappError

if TYPE_CHECKING:  # pragma: no cover
    from physapp.surrogates.models.base import FieldSurrogate

FORMAT = "physapp-surrogate"
FORMAT_VERSION = 1


def save_surrogate(model: FieldSurrogate, path: str | os.PathLike) -> Path:
    """Write ``model`` to ``path`` atomically (a temporary file, then a rename).

    Raises
    ------
    PhysappError
        When the folder does not exist or is not writable.
    """
    import torch

    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise PhysappError(f"Cannot write '{path}': the folder '{folder}' does not exist.")
    meta, tensors = model.state()
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "physapp_version": __version__,
        "torch_version": str(torch.__version__),
        "meta": json.dumps(meta, default=_json_default),
        "tensors": {k: v.detach().to("cpu").clone() for k, v in tensors.items()},
    }
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".pt.tmp", dir=folder)
        os.close(fd)
    except OSError as exc:
        raise PhysappError(f"Cannot write in '{folder}': {exc.strerror}.") from None
    try:
        torch.save(payload, tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a model file is not secret
        os.replace(tmp, path)
    except OSError as exc:
        raise PhysappError(f"Writing '{path}' failed: {exc.strerror or exc}.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _json_default(value: object) -> object:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")


def read_header(path: str | os.PathLike) -> dict:
    """The file's format fields and decoded metadata (no model is built).

    Raises
    ------
    PhysappError
        For a missing, truncated, corrupt or foreign file, or an unknown format version.
    """
    payload = _read(Path(path))
    return {k: v for k, v in payload.items() if k != "tensors"}


def read_model_file(path: str | os.PathLike) -> dict:
    """The whole checked payload (format fields, decoded ``meta``, ``tensors``) of a model file,
    read with ``torch.load(weights_only=True)``: for models that rebuild themselves (e.g.
    :class:`physapp.surrogates.models.field_curve.FieldCurveSurrogate`).

    Raises
    ------
    PhysappError
        As :func:`read_header`.
    """
    return _read(Path(path))


def _read(path: Path) -> dict:
    import torch

    if not path.is_file():
        raise PhysappError(f"Model file '{path}' does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip/pickle/EOF errors of a damaged file  # noqa: BLE001
        raise PhysappError(
            f"Cannot read model file '{path.name}': it is truncated or corrupt "
            f"({type(exc).__name__}). Train the model again or restore the file."
        ) from None
    return _checked(path, payload)


def _checked(path: Path, payload: object) -> dict:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise PhysappError(f"'{path.name}' is not a physapp surrogate model file.")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise PhysappError(
            f"'{path.name}' uses model file format version {version!r}; this physapp "
            f"({__version__}) reads version {FORMAT_VERSION}. Update physapp or retrain."
        )
    try:
        payload["meta"] = json.loads(payload["meta"])
        if not isinstance(payload["tensors"], dict):
            raise TypeError("tensors")
    except (KeyError, TypeError, ValueError):
        raise PhysappError(f"Model file '{path.name}' is corrupt (bad metadata).") from None
    return payload


#: kinds that can be evaluated without torch (``numpy=True`` in :func:`load_surrogate`)
NUMPY_KINDS = ("pod-gp",)


def _read_numpy(path: Path, tensors: bool = True) -> dict:
    """:func:`_read` without torch (tensors as numpy arrays; None with ``tensors=False``)."""
    from physapp.surrogates.ptzip import read_payload

    if not path.is_file():
        raise PhysappError(f"Model file '{path}' does not exist.")
    try:
        payload = read_payload(path, tensors=tensors)
    except Exception as exc:  # zip/pickle/EOF errors of a damaged file  # noqa: BLE001
        raise PhysappError(
            f"Cannot read model file '{path.name}': it is truncated or corrupt "
            f"({type(exc).__name__}). Train the model again or restore the file."
        ) from None
    return _checked(path, payload)


def numpy_capable(path: str | os.PathLike) -> bool:
    """True when the model in ``path`` can be evaluated without torch (a POD-GP model); reads
    only the file's metadata. False for any file it cannot read (torch then says why)."""
    try:
        return _read_numpy(Path(path), tensors=False)["meta"].get("kind") in NUMPY_KINDS
    except Exception:  # noqa: BLE001
        return False


def load_surrogate(
    path: str | os.PathLike,
    *,
    study_id: str | None = None,
    param_names: Sequence[str] | None = None,
    device: str = "auto",
    numpy: bool = False,
) -> FieldSurrogate:
    """Load a model saved by :func:`save_surrogate`.

    Parameters
    ----------
    path : the ``.pt`` file.
    study_id : when given, the model must have been trained for this study.
    param_names : when given (e.g. the study's parameter names), every varied parameter of the
        model must be among them and every name must be known to the model (varied or fixed).
    device : ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``; an unavailable GPU falls back to
        the CPU with a notice in ``model.notices``.
    numpy : evaluate the model with numpy, without importing torch, when its kind allows it
        (:data:`NUMPY_KINDS`: the same predictions, on the CPU; see
        :mod:`physapp.surrogates.models.pod_gp_numpy`); other kinds load with torch as usual.

    Raises
    ------
    PhysappError
        For a missing, truncated or corrupt file, an unknown format version, or a model of another
        study or other parameters.
    """
    path = Path(path)
    payload = None
    if numpy:
        payload = _read_numpy(path)
        if payload["meta"].get("kind") not in NUMPY_KINDS:
            payload = None
    if payload is None:
        payload = _read(path)
    meta = payload["meta"]
    try:
        kind = meta["kind"]
        info = meta["info"]
        model_study = info["study_id"]
        varied = list(info["param_names"])
        fixed = dict(info["fixed"])
        n_bounds = len(info["bounds"])
        n_log = len(info.get("log_inputs", ()) or ())
    except (KeyError, TypeError, AttributeError):
        raise PhysappError(f"Model file '{path.name}' is corrupt (incomplete metadata).") from None
    if (not all(isinstance(n, str) for n in varied) or len(set(varied)) != len(varied)
            or n_bounds != len(varied) or n_log not in (0, len(varied))):
        raise PhysappError(
            f"Model file '{path.name}' is corrupt: it lists {len(varied)} parameter(s) but was "
            f"trained with {n_bounds}. Train the model again.")
    if study_id is not None and model_study != study_id:
        raise PhysappError(
            f"'{path.name}' is a surrogate of study '{model_study}', not of '{study_id}'.")
    if param_names is not None:
        names = set(param_names)
        missing = [p for p in varied if p not in names]
        foreign = sorted(names - set(varied) - set(fixed))
        if missing or foreign:
            detail = []
            if missing:
                detail.append(f"it varies {', '.join(missing)}, which the study does not have")
            if foreign:
                detail.append(f"it does not know {', '.join(foreign)}")
            raise PhysappError(
                f"'{path.name}' was trained on other parameters ({'; '.join(detail)}); "
                f"its parameters are {', '.join(varied)}.")
    from physapp.surrogates.scaling import stored_spec_error

    bad_scaling = stored_spec_error(meta.get("field_scaling"), set(varied) | set(fixed))
    if bad_scaling:
        raise PhysappError(f"Model file '{path.name}' is damaged or from another version: "
                           f"{bad_scaling}. Train the model again.")
    from physapp.surrogates.device import resolve_device
    from physapp.surrogates.models import model_class

    if numpy and kind in NUMPY_KINDS and not _has_torch_tensors(payload):
        from physapp.surrogates.models.pod_gp_numpy import NumpyPodGPSurrogate

        cls: type[FieldSurrogate] = NumpyPodGPSurrogate
        dev, notice = "cpu", None
    else:
        cls = model_class(kind)
        dev, notice = resolve_device(device)
    try:
        model = cls.from_state(meta, payload["tensors"], dev)
    except Exception as exc:  # missing tensors, wrong shapes: a damaged file  # noqa: BLE001
        raise PhysappError(
            f"Model file '{path.name}' is corrupt ({type(exc).__name__}: {exc})."[:300]
        ) from None
    if notice:
        model.notices.append(notice)
    return model


def _has_torch_tensors(payload: dict) -> bool:
    """True when ``payload`` was read by torch (its tensors are torch tensors)."""
    import numpy as np

    return not all(isinstance(v, np.ndarray) for v in payload["tensors"].values())

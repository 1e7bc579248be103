"""Where surrogate tensors live: ``"auto"`` picks CUDA when it works, else the CPU.

Every function here imports torch lazily (importing :mod:`physapp.surrogates` stays light).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from physapp.core.errors import PhysappError

if TYPE_CHECKING:  # pragma: no cover
    import torch

T = TypeVar("T")


def resolve_device(spec: str = "auto") -> tuple[str, str | None]:
    """The device to use for ``spec`` and a notice when the request could not be met.

    Parameters
    ----------
    spec : ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns
    -------
    device : a torch device string (``"cpu"`` or ``"cuda:N"``).
    notice : ``None``, or a message saying why the requested CUDA device was replaced by the CPU.

    Raises
    ------
    PhysappError
        When ``spec`` is not a device name.
    """
    import torch

    text = str(spec or "auto").strip().lower()
    if text == "auto":
        return ("cuda:0" if _cuda_ok() else "cpu"), None
    if text == "cpu":
        return "cpu", None
    if text == "cuda" or text.startswith("cuda:"):
        index = 0
        if ":" in text:
            try:
                index = int(text.split(":", 1)[1])
            except ValueError:
                raise PhysappError(f"Unknown device '{spec}': use auto, cpu, cuda or cuda:N.") from None
        if not _cuda_ok():
            return "cpu", f"CUDA is not available on this machine; using the CPU instead of {spec}."
        count = torch.cuda.device_count()
        if index >= count:
            return "cpu", (f"There is no CUDA device {index} ({count} found); using the CPU.")
        return f"cuda:{index}", None
    raise PhysappError(f"Unknown device '{spec}': use auto, cpu, cuda or cuda:N.")


def _cuda_ok() -> bool:
    import torch

    try:
        return bool(torch.cuda.is_available()) and torch.cuda.device_count() > 0
    except Exception:  # a broken driver must not break the app  # noqa: BLE001
        return False


def is_oom(exc: BaseException) -> bool:
    """True for a CUDA out-of-memory error (``torch.cuda.OutOfMemoryError`` or its message)."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "CUDA out of memory" in str(exc)


def with_cpu_fallback(
    run: Callable[[str], T], device: str, *, what: str = "the computation"
) -> tuple[T, str, str | None]:
    """Call ``run(device)``; on a CUDA out-of-memory error, call ``run("cpu")`` instead.

    Returns
    -------
    result, device actually used, notice (``None`` unless the fallback happened).
    """
    try:
        return run(device), device, None
    except Exception as exc:
        if device == "cpu" or not is_oom(exc):
            raise
    empty_cache()
    notice = f"GPU out of memory during {what}; fell back to the CPU."
    return run("cpu"), "cpu", notice


def empty_cache() -> None:
    """Release cached CUDA memory (no-op without CUDA)."""
    import torch

    if _cuda_ok():
        torch.cuda.empty_cache()


def torch_device(device: str) -> torch.device:
    import torch

    return torch.device(device)

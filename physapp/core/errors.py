"""Errors the user is meant to read.

Every error raised for bad input derives from :class:`PhysappError`; its message says what went
wrong and what to do. The GUI shows it in a dialog or the status bar, the CLI prints it on one line
and exits non-zero. Anything else escaping is a bug.
"""

from __future__ import annotations


def shorten(text: object, limit: int = 40) -> str:
    """``text`` for a message: at most ``limit`` characters, then '... (N characters)' (a
    400-digit number in a file is named by its first 40 digits)."""
    s = str(text)
    return s if len(s) <= limit else f"{s[:limit]}... ({len(s)} characters)"


class PhysappError(Exception):
    """Base class of all errors caused by input the user can fix."""


class ParameterError(PhysappError, ValueError):
    """A parameter value is outside its bounds, unknown, or inconsistent with another one."""


class GeometryError(PhysappError):
    """A geometry cannot be built or meshed with the given parameters."""


class SolverError(PhysappError):
    """A solve failed: singular system, no convergence, bad material, ..."""


class IllPosedError(PhysappError):
    """The problem as set up has no unique solution (a body no support holds, a body whose
    temperature nothing fixes): the user's set-up to fix, not a solver failure (CLI exit 1)."""


class Cancelled(PhysappError):
    """Raised inside long work when its :class:`~physapp.core.progress.CancelToken` is set."""

    def __init__(self, message: str = "Cancelled by the user.") -> None:
        super().__init__(message)


def read_failure(name: str, exc: BaseException) -> str:
    """The message for a library (meshio, numpy) failing on a file ``name``: a plain sentence when
    it ran past the end of the data (numpy's "buffer size must be a multiple of element size", an
    IndexError, EOFError), else the library's words, shortened."""
    if isinstance(exc, (EOFError, IndexError)) or "buffer size must be" in str(exc):
        return (f"Could not read '{name}': the file is truncated or corrupt (its data ends "
                "before what its header announces). Export it again.")
    text = shorten(exc, 120)
    return f"Could not read '{name}': the file looks truncated or corrupt ({type(exc).__name__}: {text})."

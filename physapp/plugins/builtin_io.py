"""Adapters that give the built-in writers the plugin writer signature ``writer(path, result)``."""

from __future__ import annotations

import os
from typing import Any


def write_mesh(path: str | os.PathLike, result: Any) -> None:
    """Write a FieldResult with :func:`physapp.io.export.write_mesh` (format from the extension)."""
    from physapp.io.export import write_mesh as _write

    _write(result, path)

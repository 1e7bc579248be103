"""Export CSV... of the chart dialogs (the line plot, the Cp chart): ask where (starting in the
folder of the last export), write the rows atomically (:func:`physapp.io.export.write_text`) and
say what happened in the dialog's status line."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from physapp.core.errors import PhysappError


def write_rows(path: str | os.PathLike, rows: Iterable[Sequence[Any]]) -> Path:
    """``rows`` (header first) as CSV at ``path``: a temporary file, then renamed over it."""
    from physapp.io.export import csv_text, write_text

    return write_text(path, csv_text(rows))


def export_csv_dialog(dialog: Any, title: str, name: str) -> Path | None:
    """Ask a path and call ``dialog.export_csv(path)``; ``dialog.status`` (a QLabel) says
    'Saved ...' or why not, and ``dialog.last_csv`` gives the folder to start in."""
    start = dialog.last_csv.parent if dialog.last_csv else Path.cwd()
    path, _ = QFileDialog.getSaveFileName(dialog, title, str(Path(start) / name),
                                          "CSV files (*.csv)")
    if not path:
        return None
    try:
        written = dialog.export_csv(path)
    except PhysappError as exc:  # names the file and the reason (not writable, disk full)
        dialog.status.setText(str(exc))
        return None
    except OSError as exc:
        dialog.status.setText(f"Could not write {path}: {exc.strerror or exc}")
        return None
    dialog.status.setText(f"Saved {Path(path).name}")
    return written

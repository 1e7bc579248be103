"""The user's folders of physapp, in one place (XDG base directories, as on Linux desktops):
data (``$XDG_DATA_HOME/physapp``: saved surrogates, data sets, part set-ups, plugins, the
autosave) and configuration (``$XDG_CONFIG_HOME/physapp``: which plugins are disabled)."""

from __future__ import annotations

import os
from pathlib import Path


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/physapp`` (default ``~/.local/share/physapp``); not created here."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "physapp"


def user_config_dir() -> Path:
    """``$XDG_CONFIG_HOME/physapp`` (default ``~/.config/physapp``); not created here."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "physapp"

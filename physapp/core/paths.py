"""The user's folders of physapp, in one place (found by platformdirs, the platform's rules):
data (saved surrogates, data sets, part set-ups, plugins, the autosave), configuration (the
settings file, which plugins are disabled) and cache (gallery thumbnails).

On Linux these are ``$XDG_DATA_HOME/physapp`` (default ``~/.local/share/physapp``),
``$XDG_CONFIG_HOME/physapp`` (default ``~/.config/physapp``) and ``$XDG_CACHE_HOME/physapp``
(default ``~/.cache/physapp``); macOS and Windows get their own places, except that a set
``XDG_*_HOME`` variable is honoured there too (so the test suite's isolation holds everywhere).
``$PHYSAPP_DATA_DIR``, ``$PHYSAPP_CONFIG_DIR`` and ``$PHYSAPP_CACHE_DIR`` name the folders
themselves and win over everything (portable installs). Nothing is created here."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "physapp"


def _folder(own: str, xdg: str, platform_dir: str) -> Path:
    override = os.environ.get(own)
    if override:
        return Path(override).expanduser()
    base = os.environ.get(xdg)
    if base:
        return Path(base).expanduser() / APP_NAME
    import platformdirs

    return Path(getattr(platformdirs, platform_dir)(APP_NAME, appauthor=False))


def user_data_dir() -> Path:
    """The folder of the user's physapp data."""
    return _folder("PHYSAPP_DATA_DIR", "XDG_DATA_HOME", "user_data_dir")


def user_config_dir() -> Path:
    """The folder of the user's physapp configuration."""
    return _folder("PHYSAPP_CONFIG_DIR", "XDG_CONFIG_HOME", "user_config_dir")


def user_cache_dir() -> Path:
    """The folder of physapp's caches (files that may be deleted at any time)."""
    return _folder("PHYSAPP_CACHE_DIR", "XDG_CACHE_HOME", "user_cache_dir")

"""Kept for old imports: :class:`ViewSettings` lives in :mod:`physapp.app.view_settings`."""

from physapp.app.view_settings import CAMERA_KEYS, COLORMAPS, ViewSettings

__all__ = ["CAMERA_KEYS", "COLORMAPS", "ViewSettings"]

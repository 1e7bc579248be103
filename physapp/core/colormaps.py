"""The colour maps physapp offers for fields: the one list shared by the viewport, the
application model (:mod:`physapp.app.view_settings`) and the session reader
(:mod:`physapp.io.session`), which must not import each other."""

from __future__ import annotations

COLORMAPS: tuple[str, ...] = ("turbo", "viridis", "coolwarm", "jet", "plasma", "gray")

"""Subscribing Qt objects to the (Qt-free, psygnal) application model.

A widget that listens to a model event must stop listening when Qt deletes it: otherwise the
next event calls into a deleted C++ object. :func:`subscribe` ties the connection's lifetime to
the widget's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject


def subscribe(owner: QObject, signal: Any, slot: Callable[..., Any]) -> None:
    """Connect the psygnal ``signal`` to ``slot`` until ``owner`` is destroyed."""
    signal.connect(slot)

    def _drop(*_args: Any) -> None:
        with contextlib.suppress(Exception):
            signal.disconnect(slot)

    owner.destroyed.connect(_drop)

"""Subscribing Qt objects to the (Qt-free, psygnal) application model.

A widget that listens to a model event must stop listening when Qt deletes it: otherwise the
next event calls into a deleted C++ object. :func:`subscribe` ties the connection's lifetime to
the widget's.

A handler that raises must not break the change that emitted the event (a slider drag, a study
switch): the exception is caught, the connection dropped, the widget disabled and the error
reported once, to the reporter registered for the widget (:func:`set_reporter`; plugin panels
get one that writes to the message bar) or else to stderr.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
import weakref
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

_REPORTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def set_reporter(owner: QObject, report: Callable[[str], Any]) -> None:
    """Where errors of ``owner``'s handlers are reported (a message for the user)."""
    _REPORTERS[owner] = report


def subscribe(owner: QObject, signal: Any, slot: Callable[..., Any]) -> None:
    """Connect the psygnal ``signal`` to ``slot`` until ``owner`` is destroyed, or until the
    slot raises (then it is reported once and the owner is disabled)."""

    def guarded(*args: Any) -> None:
        try:
            slot(*args)
        except Exception as exc:  # noqa: BLE001 - one failing widget must not stop the app
            _drop()
            _failed(owner, exc)

    def _drop(*_args: Any) -> None:
        with contextlib.suppress(Exception):
            signal.disconnect(guarded)

    # psygnal passes as many arguments as the callback takes: tell it the slot's count
    guarded.__signature__ = _signature_of(slot)  # type: ignore[attr-defined]
    signal.connect(guarded)
    owner.destroyed.connect(_drop)


def _signature_of(slot: Callable[..., Any]):
    import inspect

    try:
        return inspect.signature(slot)
    except (TypeError, ValueError):
        return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL)])


def _failed(owner: QObject, exc: Exception) -> None:
    name = owner.objectName() or type(owner).__name__
    text = (f"{name} stopped following the model after an error: "
            f"{type(exc).__name__}: {exc}")
    with contextlib.suppress(RuntimeError):  # the widget may be half gone
        if isinstance(owner, QWidget):
            owner.setEnabled(False)
    report = _REPORTERS.get(owner)
    if report is not None:
        report(text)
    else:
        print(text, file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)

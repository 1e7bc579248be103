"""Clicks on a viewport's model that are not camera drags: one helper for the probe and line
tools and for face picking of imported parts (a press and a release closer than
:data:`CLICK_TOLERANCE_PX` are a click; more is a rotation, left to the camera)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CLICK_TOLERANCE_PX = 4  # a press and release closer than this is a click, not a rotation


class ClickObserver:
    """Calls ``on_click(x, y, shift)`` (display pixels, VTK's origin bottom left) for each click
    on ``plotter`` while ``wanted()`` is true; :meth:`remove` stops it. Without an interactor
    (off screen) it does nothing."""

    def __init__(self, plotter: Any, on_click: Callable[[int, int, bool], Any],
                 wanted: Callable[[], bool] = lambda: True) -> None:
        self.on_click, self.wanted = on_click, wanted
        self._press: tuple[int, int] | None = None
        self._iren = plotter.iren.interactor if plotter.iren is not None else None
        self._observers: list[tuple[Any, int]] = []
        if self._iren is not None:
            # release events reach the interactor style, not the interactor (pyvista #4976)
            style = plotter.iren.style or self._iren
            self._observers = [
                (self._iren, self._iren.AddObserver("LeftButtonPressEvent", self._on_press)),
                (style, style.AddObserver("LeftButtonReleaseEvent", self._on_release))]

    @property
    def active(self) -> bool:
        return bool(self._observers)

    def remove(self) -> None:
        for target, obs in self._observers:
            target.RemoveObserver(obs)
        self._observers = []

    def _on_press(self, iren, _event) -> None:
        self._press = iren.GetEventPosition() if self.wanted() else None

    def _on_release(self, _style, _event) -> None:
        if self._press is None or self._iren is None:
            return
        x, y = self._iren.GetEventPosition()
        px, py = self._press
        self._press = None
        if abs(x - px) <= CLICK_TOLERANCE_PX and abs(y - py) <= CLICK_TOLERANCE_PX:
            self.on_click(x, y, bool(self._iren.GetShiftKey()))

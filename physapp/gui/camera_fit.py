"""Camera refit when the view changes size (#13 item 6): opening the probe dock, a narrower
window or a maximised one left the part clipped or under the colour bar, because VTK keeps the
vertical view angle and a narrower view cuts the part's sides.

After the viewport's size settles (:data:`SETTLE_MS` after the last resize) the part's bounding
box is projected into the view; when a corner lies outside it (or under the colour bar) the
camera is fitted again along its current direction. Never while a mouse button is held (the
user is rotating or zooming): it waits for the release. A view the user zoomed into is left
alone unless the size changes.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

SETTLE_MS = 200
#: fraction of the view's width on the right that the colour bar covers
BAR_FRACTION = 0.16


def corners_outside(renderer, bounds, width: int, height: int,
                    right: float = 1.0 - BAR_FRACTION) -> bool:
    """True when a corner of ``bounds`` (xmin, xmax, ymin, ymax, zmin, zmax) projects outside
    the view ``width`` x ``height`` (display pixels), or right of ``right`` x width."""
    if width <= 0 or height <= 0 or not np.all(np.isfinite(bounds)):
        return False
    x0, x1, y0, y1, z0, z1 = bounds
    for x in (x0, x1):
        for y in (y0, y1):
            for z in (z0, z1):
                renderer.SetWorldPoint(x, y, z, 1.0)
                renderer.WorldToDisplay()
                dx, dy, _ = renderer.GetDisplayPoint()
                if dx < 0 or dy < 0 or dx > right * width or dy > height:
                    return True
    return False


class CameraFit(QObject):
    """Watches the window's viewport and refits its camera after a resize when needed."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.viewport = None
        self.refits = 0  # how often the camera was fitted again (tests)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.check)

    def viewport_created(self, viewport) -> None:
        self.viewport = viewport
        viewport.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.viewport and event.type() == QEvent.Type.Resize:
            self._timer.start()  # restarted by every resize: runs once the size settles
        return False

    def check(self) -> None:
        """Refit if the shown part leaves the view (not while a mouse button is held)."""
        vp = self.viewport
        if vp is None or self.window.closing or vp.grid is None:
            return
        if QApplication.mouseButtons() != Qt.MouseButton.NoButton:
            self._timer.start()  # the user is dragging: look again after the release
            return
        plotter = vp.plotter
        renderer = plotter.renderer
        w, h = renderer.GetSize()
        has_bar = bool(getattr(vp, "has_field", False))
        focus = getattr(vp, "focus", None)  # a body in a far field: the view frames the body
        bounds = (tuple(vp.grid.bounds) if focus is None else
                  tuple(float(v) for pair in zip(*focus, strict=True) for v in pair))
        if corners_outside(renderer, bounds, w, h, right=1.0 - BAR_FRACTION if has_bar else 1.0):
            if focus is None:
                plotter.reset_camera(render=False)  # same direction, fitted to the new size
            else:
                vp.reset_camera()  # a flat far field seen from +z, framed on its body
            self.refits += 1
            plotter.render()

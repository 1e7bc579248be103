"""Camera refit when the view changes size (#13 item 6): opening the probe dock, a narrower
window or a maximised one left the part clipped or under the colour bar, because VTK keeps the
vertical view angle and a narrower view cuts the part's sides.

After the viewport's size settles (:data:`SETTLE_MS` after the last resize) the part's bounding
box is projected into the view; when a corner lies outside it (or under the colour bar) the
camera is fitted again along its current direction. Never while a mouse button is held (the
user is rotating or zooming): it waits for the release. A view whose part was already outside
before the resize (the user zoomed in) is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from physapp.app import AppModel
    from physapp.gui.services import WindowServices

SETTLE_MS = 200
#: fraction of the view's width on the right that the colour bar covers
BAR_FRACTION = 0.16


def corners_outside(camera, bounds, width: int, height: int,
                    right: float = 1.0 - BAR_FRACTION) -> bool:
    """True when a corner of ``bounds`` (xmin, xmax, ymin, ymax, zmin, zmax) seen by ``camera``
    (a vtkCamera) in a view of ``width`` x ``height`` pixels lies outside it, or right of
    ``right`` x width (the colour bar)."""
    if width <= 0 or height <= 0 or not np.all(np.isfinite(bounds)):
        return False
    m = camera.GetCompositeProjectionTransformMatrix(width / height, -1.0, 1.0)
    mat = np.array([[m.GetElement(r, c) for c in range(4)] for r in range(4)])
    x0, x1, y0, y1, z0, z1 = bounds
    pts = np.array([[x, y, z, 1.0] for x in (x0, x1) for y in (y0, y1) for z in (z0, z1)])
    h = pts @ mat.T
    ndc = h[:, :2] / h[:, 3:4]  # -1 .. 1 across the view
    return bool(np.any(ndc[:, 0] < -1.0) or np.any(ndc[:, 0] > 2.0 * right - 1.0)
                or np.any(np.abs(ndc[:, 1]) > 1.0))


class CameraFit(QObject):
    """Watches the window's viewport and refits its camera after a resize when needed.

    Built like the other controllers from the window's model and its services
    (``CameraFit(app, services)``); the camera itself is VTK's, outside the model."""

    def __init__(self, app: AppModel, services: WindowServices) -> None:
        super().__init__(services)  # type: ignore[arg-type] - the main window, a QObject
        self.app, self.window = app, services
        self.viewport = None
        self.refits = 0  # how often the camera was fitted again (tests)
        self._was_inside = True  # the part was in view before the current resize
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SETTLE_MS)
        self._timer.timeout.connect(self.check)

    def viewport_created(self, viewport) -> None:
        if self.viewport is not None and self.viewport is not viewport:
            self.viewport.removeEventFilter(self)  # the study's old viewport goes away
        self.viewport = viewport
        viewport.installEventFilter(self)

    def shutdown(self) -> None:
        """The window closes: no refit may fire on its closed viewport (#14)."""
        self._timer.stop()
        if self.viewport is not None:
            self.viewport.removeEventFilter(self)
            self.viewport = None

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        if obj is self.viewport and event.type() == QEvent.Type.Resize:
            old = event.oldSize()
            if not self._timer.isActive() and old.width() > 0 and old.height() > 0:
                # the first of a burst: was the part in view at the old size?
                self._was_inside = not self._outside(old.width(), old.height())
            self._timer.start()  # restarted by every resize: runs once the size settles
        return False

    def _outside(self, width: int | None = None, height: int | None = None) -> bool:
        """Does the part leave the view (at the given size; default the current one)?"""
        vp = self.viewport
        if vp is None or vp.grid is None or self.window.closing:
            return False
        renderer = vp.plotter.renderer
        if width is None:
            width, height = renderer.GetSize()
        focus = getattr(vp, "focus", None)  # a body in a far field: the view frames the body
        bounds = (tuple(vp.grid.bounds) if focus is None else
                  tuple(float(v) for pair in zip(*focus, strict=True) for v in pair))
        bar = bool(getattr(vp, "has_field", False))
        return corners_outside(renderer.GetActiveCamera(), bounds, width, height,
                               right=1.0 - BAR_FRACTION if bar else 1.0)

    def check(self) -> None:
        """Refit if the shown part left the view with the new size (not while a mouse button
        is held; not when it was already outside before: the user had zoomed in)."""
        vp = self.viewport
        if vp is None or self.window.closing or vp.grid is None:
            return
        if QApplication.mouseButtons() != Qt.MouseButton.NoButton:
            self._timer.start()  # the user is dragging: look again after the release
            return
        if self._was_inside and self._outside():
            if getattr(vp, "focus", None) is None:
                vp.plotter.reset_camera(render=False)  # same direction, fitted to the new size
            else:
                vp.reset_camera()  # a flat far field seen from +z, framed on its body
            self.refits += 1
            vp.plotter.render()

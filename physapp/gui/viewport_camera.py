"""The viewport's camera: standard views fitted to the window (a body in a far field is framed,
not the far boundary), the view direction, and the camera's state as a session stores it. A mixin
of :class:`~physapp.gui.viewport.Viewport`."""

from __future__ import annotations

import numpy as np

from physapp.core.mesh import MeshData

#: standard camera views: name -> (direction from the model to the camera, view up)
CAMERA_VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "+x": ((1, 0, 0), (0, 0, 1)),
    "-x": ((-1, 0, 0), (0, 0, 1)),
    "+y": ((0, 1, 0), (0, 0, 1)),
    "-y": ((0, -1, 0), (0, 0, 1)),
    "+z": ((0, 0, 1), (0, 1, 0)),
    "-z": ((0, 0, -1), (0, 1, 0)),
    "iso": ((1, 1, 1), (0, 0, 1)),
}


class CameraMixin:
    """Viewport's camera (see the module docstring)."""

    def reset_camera(self) -> None:
        """Look at a flat part from +Z, a solid from an isometric view, fitted to the window."""
        flat = self.grid is None or np.ptp(self.grid.points[:, 2]) == 0
        self.set_camera_view("+z" if flat else "iso")

    def set_camera_view(self, name: str) -> None:
        """A standard view fitted to the window: ``name`` in :data:`CAMERA_VIEWS` ('+x' looks
        at the model from the +X side, i.e. along -X; 'iso' from (1, 1, 1))."""
        direction, up = CAMERA_VIEWS[name]
        cam = self.plotter.camera
        focal = np.array(cam.GetFocalPoint())
        cam.SetPosition(*(focal + np.asarray(direction, dtype=float)))
        cam.SetViewUp(*up)
        self.plotter.reset_camera()
        if name == "+z" and self.focus is not None:
            # a body in a far field (the airfoil): frame the body, not the far boundary
            lo, hi = self.focus
            centre = 0.5 * (lo + hi)
            w, h = self.plotter.window_size
            aspect = w / h if h else 1.0
            pos = np.array(cam.GetPosition())
            dist = float(np.linalg.norm(pos - np.array(cam.GetFocalPoint())))
            cam.SetFocalPoint(*centre)
            cam.SetPosition(centre[0], centre[1], centre[2] + dist)
            cam.SetParallelScale(max(0.5 * (hi[1] - lo[1]), 0.5 * (hi[0] - lo[0]) / aspect))
        # keep the model clear of the colour bar on the right: shrink a little and shift the
        # image left (the window centre moves the projection without changing the view)
        cam.zoom(0.82)
        cam.SetWindowCenter(0.2, 0.0)
        self.plotter.render()

    @property
    def view_direction(self) -> tuple[float, float, float]:
        """Unit vector from the camera towards the focal point."""
        d = np.asarray(self.plotter.camera.GetDirectionOfProjection(), dtype=float)
        return tuple(float(v) for v in d / np.linalg.norm(d))

    def camera_state(self) -> dict:
        cam = self.plotter.camera
        return {
            "position": tuple(float(v) for v in cam.GetPosition()),
            "focal_point": tuple(float(v) for v in cam.GetFocalPoint()),
            "view_up": tuple(float(v) for v in cam.GetViewUp()),
            "parallel_scale": float(cam.GetParallelScale()),
        }

    def set_camera_state(self, state: dict) -> None:
        cam = self.plotter.camera
        cam.SetPosition(*state["position"])
        cam.SetFocalPoint(*state["focal_point"])
        cam.SetViewUp(*state["view_up"])
        cam.SetParallelScale(float(state["parallel_scale"]))
        cam.SetWindowCenter(0.2, 0.0)
        self.plotter.renderer.ResetCameraClippingRange()
        self.plotter.render()


def _far_field_focus(mesh: MeshData) -> tuple[np.ndarray, np.ndarray] | None:
    """For a mesh with ``body`` and ``far_field`` boundaries whose body is small against the
    domain: a box of the body and two body lengths around it (upstream, wake, above, below)."""
    b = mesh.boundaries
    if "body" not in b or "far_field" not in b:
        return None
    pts = np.asarray(mesh.points)
    body = pts[np.unique(np.asarray(b["body"]))]
    blo, bhi = body.min(axis=0), body.max(axis=0)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    size = float(np.max(bhi - blo))
    if not 0 < 8 * size < float(np.min((hi - lo)[:2])):
        return None
    return (np.maximum(blo - np.array([1.0, 1.0, 0.0]) * size, lo),
            np.minimum(bhi + np.array([2.0, 1.0, 0.0]) * size, hi))

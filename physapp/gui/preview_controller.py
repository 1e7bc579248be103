"""Geometry previews of the main window: a slider that changes the geometry shows the new mesh
before any solve. Meshes are built on a :class:`~physapp.compute.latest.LatestWinsWorker` thread
(latest request wins) and come back through one :class:`~physapp.gui.relay.ThreadRelay`; only the
GUI thread puts them on screen, and never over a newer design (a solve may overtake a preview).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from physapp.compute.latest import LatestWinsWorker
from physapp.gui.relay import ThreadRelay

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices


def _preview_mesh(request: tuple) -> tuple:
    """(version, mesh) of a preview request; a mesh no solve could use (too many elements or too
    much memory even at order 1, :func:`~physapp.core.memory.check_study_solve`) is refused with
    the estimate before gmsh spends minutes on it."""
    from physapp.core.memory import check_study_solve

    version, params, study = request
    check_study_solve(study, params, 1, what="This design")
    return version, study.build_mesh(params)


class PreviewController:
    """Previews of the window's design (``window.previews``; its relay is
    ``window.preview_relay``, which the part controller listens to as well)."""

    def __init__(self, window: WindowServices) -> None:
        self.window = window
        self.relay = ThreadRelay(window)  # geometry previews, all studies
        self.relay.result.connect(self._on_preview)
        self.relay.error.connect(self._on_preview_error)
        self.worker = LatestWinsWorker(
            _preview_mesh,
            self.relay.send_result,
            self.relay.send_error,
        )
        self._last_preview = 0  # latest-wins id of the preview on screen
        self._latest_request = 0  # latest-wins id of the newest preview request
        self.study_version = 0  # model version at which the current study was shown
        self.shown_version = -1  # model version the viewport shows

    def study_shown(self, version: int, *, keep_view: bool = False) -> None:
        """A study (or a changed set-up, ``keep_view``) is shown at model ``version``: previews
        requested for an earlier design (another study) are never shown."""
        self.study_version = version
        if not keep_view:
            self.shown_version = version - 1

    def note_shown_version(self, version: int) -> None:
        """The viewport shows the design of ``version`` (older previews are dropped)."""
        self.shown_version = max(self.shown_version, version)

    def request(self) -> None:
        """Build the mesh of the current design off the GUI thread."""
        m = self.window.model
        self._latest_request = self.worker.submit((m.version, m.params, m.study))

    def show_reference_view(self) -> None:
        """Back from a surrogate: the solved result when it fits the sliders' geometry, else a
        fresh geometry preview."""
        w = self.window
        if w.result is not None and (
            w.model.geometry(w.result.meta.get("params", {})) == w.model.geometry()
        ):
            w.viewport.show_result(w.result, w.field)
        else:
            # whatever was shown before, the preview replaces it
            self.shown_version = self.study_version - 1
            self.request()
        w.update_state()

    def close(self) -> None:
        """Stop the worker; previews still queued are dropped."""
        self.relay.closed = True
        self.worker.close()

    def _on_preview(self, lw_id: int, payload: tuple) -> None:
        version, mesh = payload
        w = self.window
        if w.closing:  # queued before the window closed: its plotter is gone
            return
        if lw_id < self._last_preview or version <= self.shown_version:
            return  # older than what is on screen (a solve may have overtaken it)
        if w.surrogates.active:
            return  # requested before a surrogate was selected: its frames rule the view
        self._last_preview = lw_id
        self.shown_version = version
        w.message_bar.clear("geometry")
        if (
            w.result is not None
            and w.model.geometry(w.result.meta.get("params", {})) == w.model.geometry()
        ):
            w.viewport.show_result(w.result, w.field)  # back to a solved geometry
        else:
            w.viewport.show_mesh(mesh)
        w.update_state()

    def _on_preview_error(self, lw_id: int, message: str) -> None:
        if lw_id == self._latest_request:  # errors of superseded requests no longer matter
            w = self.window
            w.show_message(message, "error", "geometry")
            w.viewport.set_overlay("Invalid design - see the message above")
            w.state_label.setText("<b style='color:#b00'>Invalid design</b>")

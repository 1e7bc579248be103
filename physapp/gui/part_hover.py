"""Region hover of an imported part (#13): the region under the mouse, in the Regions list of the
Part set-up panel or on the part in the view, is outlined in the view and named on its bottom line
(the selected support or load keeps its own, filled highlight).

In the view the region is looked up once the mouse rests (:data:`REST_MS`), never while a button
is held (the user rotates): one cell pick and one nearest-facet search, then one render when the
hovered region changed. All on the GUI thread (VTK); the boundary facets are only used once they
exist or the mesh is small (:data:`BUILD_FACETS_NODES`), so a hover never builds them for a large
part on the GUI thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from physapp.gui.part_controller import PartController

#: the mouse rests this long (ms) over the view before the region under it is looked up
REST_MS = 120
#: below this many nodes a hover may build the boundary facets (a few ms); above, it waits for
#: the worker thread that finds them when the part opens (PartView.prefetch_facets)
BUILD_FACETS_NODES = 30_000
HOVER = "part_hover"
HOVER_COLOR = "#ffd21f"  # an outline: clear of the magenta highlight and the orange picking


class RegionHover(QObject):
    """``controller.hover``: outlines the hovered region (see the module docstring)."""

    def __init__(self, controller: PartController) -> None:
        super().__init__(controller)
        self.ctl = controller
        self.region: str | None = None  # the region outlined now
        self._owner: dict[str, np.ndarray] | None = None  # facet index -> region, per mesh
        self._owner_mesh = None
        self._iren = None
        self._observer: int | None = None
        self._pos: tuple[int, int] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REST_MS)
        self._timer.timeout.connect(self._look)

    # -- what is hovered ------------------------------------------------------------------------
    def show(self, region: str | None) -> None:
        """Outline ``region`` (a boundary region of the part; None or another name: none)."""
        ctl = self.ctl
        mesh = ctl.mesh
        if region is not None and (mesh is None or region not in mesh.boundaries):
            region = None
        if region == self.region:
            return
        self.region = region
        vp = ctl.window.viewport
        if vp is None:
            return
        plotter = vp.plotter
        if region is None:
            plotter.remove_actor(HOVER, render=False)
        else:
            ctl._draw(HOVER, mesh.boundaries[region], HOVER_COLOR, outline=True)
        ctl._label()
        plotter.render()

    def region_at(self, point) -> str | None:
        """The named boundary region of the facet nearest ``point`` (the smallest one when
        regions overlap), or None."""
        ctl = self.ctl
        if ctl.mesh is None or (not ctl.facets_ready and ctl.mesh.n_points > BUILD_FACETS_NODES):
            return None
        facets = ctl.facets
        i = facets.facet_at(point)
        if i < 0:
            return None
        owner = self._owners()
        name = owner[i] if i < len(owner) else ""
        return name or None

    def _owners(self) -> np.ndarray:
        mesh = self.ctl.mesh
        if self._owner is None or self._owner_mesh is not mesh:
            facets = self.ctl.facets
            owner = np.full(len(facets), "", dtype=object)
            named = [(n, np.asarray(f)) for n, f in mesh.boundaries.items()
                     if n != "boundary" and not n.startswith("_")]
            for name, rows in sorted(named, key=lambda nr: -len(nr[1])):  # small ones win
                idx = facets.index_of(rows)
                owner[idx[idx >= 0]] = name
            self._owner, self._owner_mesh = owner, mesh
        return self._owner

    # -- the view -------------------------------------------------------------------------------
    def watch(self, plotter) -> None:
        """Follow the mouse over ``plotter`` (a new viewport)."""
        self.stop()
        if plotter.iren is None:
            return
        self._iren = plotter.iren.interactor
        self._observer = self._iren.AddObserver("MouseMoveEvent", self._moved)

    def stop(self) -> None:
        self._timer.stop()
        if self._iren is not None and self._observer is not None:
            self._iren.RemoveObserver(self._observer)
        self._iren, self._observer = None, None
        self.region = None

    def _moved(self, iren, _event) -> None:
        self._pos = iren.GetEventPosition()
        self._timer.start()  # looked up once the mouse rests

    def _look(self) -> None:
        ctl = self.ctl
        if (self._pos is None or not ctl.active or ctl.pick_mode or ctl.window.closing
                or QApplication.mouseButtons() != Qt.MouseButton.NoButton):
            return
        self.show(self.region_at_display(*self._pos))

    def region_at_display(self, x: int, y: int) -> str | None:
        """The region under display pixel (x, y) of the view (VTK's origin: bottom left)."""
        from vtkmodules.vtkRenderingCore import vtkCellPicker

        picker = vtkCellPicker()
        picker.SetTolerance(1e-4)
        if not picker.Pick(x, y, 0, self.ctl.window.viewport.plotter.renderer) \
                or picker.GetCellId() < 0:
            return None
        return self.region_at(picker.GetPickPosition())

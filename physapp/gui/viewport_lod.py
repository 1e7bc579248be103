"""Coarse frames of large meshes while frames stream in (a slider drag with a surrogate, #18).

Software OpenGL spends its time per triangle, so above ``LOD_MIN_POINTS`` nodes each streamed
frame is drawn on a coarser copy of the surface whose nodes are a subset of the mesh's
(:func:`~physapp.viz.grids.coarse_surface`, built once per topology from the surface the
viewport draws): the values at those nodes, no interpolation. The full mesh is drawn again
``LOD_SETTLE_MS`` after the last frame, and at once by any other update. A mixin of
:class:`~physapp.gui.viewport.Viewport` (GUI thread only).
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from physapp.viz.grids import coarse_surface

FIELD_ARRAY = "field"  # the single display array (as in the viewport)
#: streamed frames of meshes above this many nodes are drawn on a coarser surface (see above)
LOD_MIN_POINTS = 40_000
LOD_TARGET_POINTS = 6_000  # nodes of that coarser surface
LOD_SETTLE_MS = 250  # the full mesh is drawn this long after the last streamed frame


class CoarseFramesMixin:
    """The coarse copy of the viewport's surface (see the module docstring)."""

    @property
    def showing_coarse(self) -> bool:
        """True while a streamed frame is drawn on the coarse surface."""
        return self._lod is not None and bool(self._lod[2].GetVisibility())

    def _show_coarse(self) -> None:
        """Draw this frame on the coarse surface (built on first use for this topology)."""
        if self._lod is None:
            ids, faces = coarse_surface(self.grid.points, self._surface_tris, LOD_TARGET_POINTS)
            poly = pv.PolyData(np.asarray(self.grid.points[ids]),
                               np.column_stack([np.full(len(faces), 3), faces]).ravel())
            poly.point_data[FIELD_ARRAY] = np.asarray(self.grid.point_data[FIELD_ARRAY])[ids]
            actor = self.plotter.add_mesh(poly, scalars=FIELD_ARRAY, show_scalar_bar=False,
                                          name="coarse", render=False, reset_camera=False)
            actor.SetPickable(False)  # probes and picks read the full mesh
            if np.ptp(self.grid.points[:, 2]) == 0:  # a flat part faces the light: no shading
                actor.prop.lighting = False  # to compute (software GL pays per fragment)
            self._lod = (ids, poly, actor)
        ids, poly, actor = self._lod
        poly.points[:] = self.grid.points[ids]
        poly.point_data[FIELD_ARRAY][:] = self.grid.point_data[FIELD_ARRAY][ids]
        poly.Modified()
        full = self.actor.GetMapper()
        mapper = actor.GetMapper()
        mapper.SetLookupTable(full.GetLookupTable())
        mapper.SetScalarRange(full.GetScalarRange())
        planes = full.GetClippingPlanes()  # the section plane, if any
        if planes is None or planes.GetNumberOfItems() == 0:
            mapper.RemoveAllClippingPlanes()
        else:
            mapper.SetClippingPlanes(planes)
        actor.SetVisibility(True)
        self.actor.SetVisibility(False)
        self._settle.start()

    def _end_coarse(self) -> bool:
        """Back to the full mesh (not rendered here); True when the coarse one was shown."""
        self._settle.stop()
        if not self.showing_coarse:
            return False
        self._lod[2].SetVisibility(False)
        self.actor.SetVisibility(True)
        return True

    def _settle_full(self) -> None:
        """The stream paused: draw the full mesh."""
        if self._end_coarse():
            self.plotter.render()

    def _drop_coarse(self) -> None:
        self._settle.stop()
        if self._lod is not None:
            self.plotter.remove_actor(self._lod[2], render=False)
            self._lod = None

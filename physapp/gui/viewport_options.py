"""The viewport's view options: colour map, warp by displacement, section plane, and all of them
(with the camera) as one :class:`~physapp.gui.view_settings.ViewSettings`. A mixin of
:class:`~physapp.gui.viewport.Viewport` (GUI thread only)."""

from __future__ import annotations

import numpy as np

from physapp.gui.view_settings import COLORMAPS, ViewSettings

COLORMAP = "turbo"
WARP_FIELD = "displacement"  # the vector field "warp by displacement" uses


class ViewOptionsMixin:
    """Viewport's view options (see the module docstring)."""

    def set_colormap(self, name: str) -> None:
        """The colour map of fields (uncertainty fields keep theirs); one of ``COLORMAPS``."""
        if name not in COLORMAPS:
            raise ValueError(f"unknown colour map {name!r} (choose from {', '.join(COLORMAPS)})")
        self.colormap = name
        if self.has_field:
            self._write_field()
            self.plotter.render()

    @property
    def can_warp(self) -> bool:
        """True when the shown result has a displacement field to warp by."""
        return self.has_field and WARP_FIELD in self.result.point_data

    def suggested_warp_scale(self) -> float:
        """A scale that makes the largest displacement about 10 % of the model size (0 when
        nothing to warp by), rounded to 1, 2 or 5 times a power of ten."""
        if not self.can_warp:
            return 0.0
        u = np.asarray(self.result.point_data[WARP_FIELD], dtype=np.float64)
        umax = float(np.sqrt((u**2).sum(axis=1)).max()) if u.ndim == 2 else float(np.abs(u).max())
        lo, hi = self.result.mesh.bounds()
        size = float(np.linalg.norm(hi - lo))
        if umax <= 0 or size <= 0:
            return 0.0
        raw = 0.1 * size / umax
        exp = np.floor(np.log10(raw))
        mant = raw / 10**exp
        step = 1.0 if mant < 1.5 else 2.0 if mant < 3.5 else 5.0 if mant < 7.5 else 10.0
        return float(step * 10**exp)

    def set_warp_scale(self, scale: float) -> None:
        """Draw the part deformed: node + ``scale`` * displacement (0 = undeformed)."""
        self.warp_scale = max(0.0, float(scale))
        if self.has_field:
            self._write_points(force=True)
            self.plotter.render()
            self.shown_changed.emit()

    def set_clip(self, clip) -> None:
        """Cut the view with a plane ``(origin, normal)`` (model coordinates): the side the
        normal points to stays. None removes it. A clipping plane on the mapper: in-place updates
        keep working and cost nothing extra."""
        if clip is not None:
            o, n = clip
            n = np.asarray(n, dtype=float)
            if not np.linalg.norm(n) > 0:
                raise ValueError("the clip plane needs a non-zero normal")
            clip = (tuple(float(v) for v in o), tuple(float(v) for v in n))
        self.clip = clip
        self._apply_clip()
        self.plotter.render()

    def view_settings(self) -> ViewSettings:
        """Everything this viewport shows besides the data, camera included."""
        split, relative = self._pane_settings
        return ViewSettings(
            field=self.field[0], colormap=self.colormap, show_edges=self.show_edges,
            warp_scale=self.warp_scale, clip=self.clip, clim=self.fixed_clim, split=split,
            relative_difference=relative, camera=self.camera_state())

    def apply_view_settings(self, vs: ViewSettings, fields=()) -> None:
        """Show as ``vs`` says. ``fields``: the study's field specs (objects with ``name``,
        ``label``, ``unit``, e.g. ``spec.fields``) to label ``vs.field``; without them a field
        shown here before keeps its label, another field of the result is labelled by its name.
        ``camera`` None fits the view. ``split`` and ``relative_difference`` are only kept for
        :meth:`view_settings` (the split view acts on them)."""
        for f in fields:
            self._labels[f.name] = (f.label, f.unit)
        self._pane_settings = (vs.split, vs.relative_difference)
        self.colormap = vs.colormap if vs.colormap in COLORMAPS else COLORMAP
        self.fixed_clim = vs.clim
        self.warp_scale = max(0.0, float(vs.warp_scale))
        self.clip = vs.clip
        if vs.field and vs.field != self.field[0]:
            known = self._labels.get(vs.field)
            if known is None and self.result is not None:
                base = vs.field.partition("[")[0]
                if base in self.result.point_data:
                    known = (vs.field, self.result.units.get(base, ""))
            if known is not None:
                self.field = (vs.field, *known)
        self.show_edges = vs.show_edges
        if self.has_field:
            self._write_points(force=True)
            self._write_field()
        self._apply_clip()
        self.set_show_edges(vs.show_edges)  # renders
        if vs.camera is None:
            self.reset_camera()
        else:
            self.set_camera_state(vs.camera)
        self.shown_changed.emit()
        self.view_settings_applied.emit()

    def _display_points(self) -> np.ndarray:
        """The shown result's node coordinates, warped by ``warp_scale`` * displacement."""
        pts = self.result.mesh.points
        if self.warp_scale > 0 and WARP_FIELD in self.result.point_data:
            u = self.result.point_data[WARP_FIELD]
            if u.ndim == 2:
                pts = pts.copy()
                pts[:, : u.shape[1]] += np.multiply(u, self.warp_scale, dtype=np.float64)
        return pts

    def _apply_clip(self) -> None:
        """The section plane on the part's (and ``clip_also``'s) mappers; a solid's faces that
        turn away from the camera are skipped unless a section opens the part (its surface is
        closed and outward, so they are hidden anyway: half the fragments software GL shades)."""
        if self.actor is None:
            return
        self.actor.GetProperty().SetBackfaceCulling(
            self.clip is None and self.mesh is not None and self.mesh.dim == 3)
        others = [self.plotter.actors.get(name) for name in self.clip_also]
        for actor in (self.actor, *(a for a in others if a is not None)):
            mapper = actor.GetMapper()
            mapper.RemoveAllClippingPlanes()
            if self.clip is not None:
                self._clip_plane.SetOrigin(*self.clip[0])
                self._clip_plane.SetNormal(*self.clip[1])
                mapper.AddClippingPlane(self._clip_plane)


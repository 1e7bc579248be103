"""The 3D viewport: one pyvistaqt ``QtInteractor`` showing the plate and its field.

All methods run on the GUI thread (VTK is not thread-safe). A result on the same mesh topology as
the one on screen is written **in place** into the existing grid (points, field array, colour
range) and rendered once; only a new topology rebuilds the actor and resets the camera.

What is drawn is the grid's outer surface as a PolyData on the grid's own VTK points and field
array (``viz.surface``), extracted once per mesh (a mapper of the grid itself would
extract the surface again at every frame: ~12 ms for a 23k-node solid). A frame writes the field
into that one array (and the points only when they moved: a warp, another mesh's coordinates),
and sets the colour range, ticks and title only when they change (#18).

Large meshes while frames stream in (a slider drag with a surrogate) are drawn on a coarser copy
of that surface: :mod:`physapp.gui.viewport_lod`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyvista as pv
from PySide6.QtCore import SIGNAL, Qt, QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pyvistaqt import QtInteractor
from vtkmodules.vtkCommonDataModel import vtkPlane

from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult
from physapp.gui.color_range import apply_ticks
from physapp.gui.view_settings import COLORMAPS, ViewSettings  # noqa: F401 (re-exported)
from physapp.gui.viewport_camera import CAMERA_VIEWS, CameraMixin, _far_field_focus  # noqa: F401
from physapp.gui.viewport_lod import (  # noqa: F401 (re-exported)
    FIELD_ARRAY,
    LOD_MIN_POINTS,
    LOD_SETTLE_MS,
    LOD_TARGET_POINTS,
    CoarseFramesMixin,
)
from physapp.gui.viewport_options import COLORMAP, WARP_FIELD, ViewOptionsMixin
from physapp.viz.grids import field_display_unit, mesh_to_grid, same_topology
from physapp.viz.screen_text import MARGIN_PX, ScreenText
from physapp.viz.surface import display_surface, shared_surface

PREVIEW_EDGES_MAX_CELLS = 20_000
STALE_TEXT = "Result out of date - press F5 to solve"
PREVIEW_TEXT = "Geometry preview - no result yet - press F5 to solve"
#: uncertainty (std) fields get a colour map of their own, so they are not read as the field
UNCERTAINTY_COLORMAP = "viridis"
CAPTION_COLOR = "#1d3f5e"
OVERLAY_COLOR = "#b22222"  # firebrick
OVERLAY_FONT = 24  # largest size of the warning line (smaller when the view is narrow)
CAPTION_FONT = 19
BACKGROUND = "white"


class Viewport(CameraMixin, ViewOptionsMixin, CoarseFramesMixin, QWidget):
    """Shows a mesh preview (grey, with edges) or a solved field with a colour bar.

    View options (colour map, warp by displacement, clip plane, camera, ...) are read and set as
    one :class:`ViewSettings` with :meth:`view_settings` / :meth:`apply_view_settings`.
    """

    #: emitted (GUI thread) after a result, a mesh preview or a new topology is shown, including
    #: each in-place frame: view tools (probe, line) follow the data
    shown_changed = Signal()
    #: emitted after :meth:`apply_view_settings`: controls that mirror the view re-read it
    view_settings_applied = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # a window of its own: Qt composes the GL view into this window alone, not into the
        # whole main window, so a frame costs less (software GL: ~13 ms of composition instead of
        # ~20 at 1400 x 900) and a repaint of any other widget (the player's time label, a chart)
        # no longer recomposes the GL view (~0.5 ms instead of ~17 ms CPU; #18)
        self.setAttribute(Qt.WidgetAttribute.WA_NativeWindow)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plotter = QtInteractor(self, auto_update=False)
        # every render() becomes a paint request: Qt merges the requests of one event-loop pass
        # into one render in paintGL (a start-up rebuild asked for five renders, each ~300 ms
        # with software GL; #13). screenshot() still renders at once.
        self.plotter.render_signal.disconnect(self.plotter._render)
        self.plotter.render_signal.connect(self.plotter.interactor.update)
        layout.addWidget(self.plotter.interactor)
        self.plotter.set_background(BACKGROUND)
        self.plotter.enable_parallel_projection()  # a flat 2D part reads best without perspective
        self.plotter.add_axes(color="black")
        self.grid: pv.UnstructuredGrid | None = None
        #: what the actor draws: the grid's outer surface on the grid's own points and arrays
        self.surface: pv.PolyData | None = None
        self._surface_tris = np.zeros((0, 3), dtype=np.int64)
        #: (mesh, its surface triangles): extracted once per mesh, also across rebuilds
        self._surface_of: tuple[MeshData, np.ndarray] | None = None
        #: what the grid's points were last written from: (points, warp scale, displacement)
        self._points_from: tuple | None = None
        #: what the actor and colour bar show now: (colour range, title); set on change only
        self._shown_range: tuple[float, float] | None = None
        self._shown_title: str | None = None
        self.mesh: MeshData | None = None  # the mesh the grid was built from (set-up symbols)
        self.actor = None
        self.result: FieldResult | None = None
        self.field: tuple[str, str, str] = ("", "", "")  # name, label, SI unit
        self.fixed_clim: tuple[float, float] | None = None  # None: colour range follows the data
        #: names of further actors the section plane cuts too (the set-up symbols)
        self.clip_also: set[str] = set()
        #: fields derived from each shown result (the window's safety factor, #13): result -> result
        self.derive: Callable[[FieldResult], FieldResult] | None = None
        self.show_edges = False
        #: (lo, hi) the +Z view frames instead of the whole mesh: the body of a far-field domain
        self.focus: tuple[np.ndarray, np.ndarray] | None = None
        self._bar_key: str | None = None  # pyvista keys scalar bars by their first title
        # a warning at the top, and where the shown field comes from (e.g. a surrogate) in the
        # lower left; hidden when empty. Text actors: a change costs ~0.1 ms, not the 30-50 ms
        # of a corner annotation's font fitting (viz.screen_text)
        self._overlay = ScreenText((0.5, 1.0), (0, -MARGIN_PX), halign="center", valign="top",
                                   font_size=OVERLAY_FONT, color=OVERLAY_COLOR)
        self._caption = ScreenText((0.0, 0.0), (MARGIN_PX, MARGIN_PX), halign="left",
                                   valign="bottom", font_size=CAPTION_FONT, color=CAPTION_COLOR)
        for name, label in (("overlay", self._overlay), ("caption", self._caption)):
            self.plotter.add_actor(label.actor, name=name, reset_camera=False, pickable=False,
                                   render=False)
        self._cmap = COLORMAP
        self.colormap = COLORMAP  # the user's choice for fields (std fields keep theirs)
        self.warp_scale = 0.0  # 0 = undeformed
        #: clip plane (origin, normal) in model coordinates; the side the normal points to stays
        self.clip: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
        self._clip_plane = vtkPlane()
        self._labels: dict[str, tuple[str, str]] = {}  # field name -> (label, unit) seen so far
        self._pane_settings = (False, False)  # split, relative_difference: kept for the caller
        self._frame_waiters: list[Callable[[float], None]] = []
        self._end_observer = self.plotter.render_window.AddObserver("EndEvent",
                                                                    self._frame_rendered)
        self.epoch = 0  # studies shown before the current one (:meth:`clear_for_study`)
        self.lod_enabled = True  # coarse frames while streaming on large meshes (see above)
        self._lod: tuple[np.ndarray, pv.PolyData, object] | None = None  # ids, surface, actor
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(LOD_SETTLE_MS)
        self._settle.timeout.connect(self._settle_full)

    # -- state the tests and the status bar read ------------------------------------------------
    @property
    def n_points(self) -> int:
        return 0 if self.grid is None else self.grid.n_points

    @property
    def has_field(self) -> bool:
        return self.result is not None and self.grid is not None

    @property
    def clim(self) -> tuple[float, float] | None:
        """The colour range in display units, or None when no field is shown."""
        if not self.has_field:
            return None
        lo, hi = self.actor.mapper.scalar_range
        return float(lo), float(hi)

    @property
    def colorbar_title(self) -> str:
        return ("" if self._bar_key is None
                else self.plotter.scalar_bar.GetTitle().replace("\n", " "))

    @property
    def frame_pending(self) -> bool:
        """True while an :meth:`update_result` waits for the render that shows it."""
        return bool(self._frame_waiters)

    @property
    def overlay_text(self) -> str:
        """The warning shown over the viewport ('' when hidden)."""
        return self._overlay.text

    # -- updates (GUI thread only) --------------------------------------------------------------
    def show_mesh(self, mesh: MeshData) -> None:
        """Show a geometry preview without a field (the old field does not fit the new mesh)."""
        self.result = None
        self._rebuild(mesh, with_field=False)
        self.set_overlay(PREVIEW_TEXT)
        self.shown_changed.emit()

    def show_result(self, result: FieldResult, field: tuple[str, str, str]) -> None:
        """Show ``field`` (name, label, SI unit) of ``result``; in place when topology allows."""
        self._end_coarse()
        if self.derive is not None:
            result = self.derive(result)
        self._set_field_tuple(field)
        in_place = self.has_field and same_topology(self.grid, result.mesh)
        self.result = result
        if in_place:
            self._write_points(force=True)
            self._write_field()
            self.plotter.render()
        else:
            self._rebuild(result.mesh, with_field=True)
        self.set_overlay("")
        self.shown_changed.emit()

    def update_result(
        self,
        result: FieldResult,
        field: tuple[str, str, str],
        on_frame: Callable[[float], None] | None = None,
        streaming: bool = True,
    ) -> None:
        """Show ``result`` with a single render, for frames that follow each other quickly
        (surrogate predictions during a slider drag).

        When ``result`` shares the shown topology (the same cell blocks, as successive predictions
        of one model do, or equal connectivity) its node coordinates and the field are written
        in place into the existing grid, with the colour range and bar title, and one repaint of
        the view is scheduled (several updates before it make one frame); otherwise the actor is
        rebuilt. Any overlay is hidden. ``on_frame(t)`` is called with the ``perf_counter`` time
        at which the render that shows this update ended. ``streaming=False`` (a frame that
        ends a stream, e.g. the complete prediction once a slider rests) draws the full mesh.
        """
        if self.derive is not None:
            result = self.derive(result)
        self._set_field_tuple(field)
        shown = self.result
        in_place = self.has_field and self.grid.n_points == result.mesh.n_points and (
            _same_cells(shown.mesh, result.mesh) or same_topology(self.grid, result.mesh))
        self.result = result
        self._overlay.set_text("")
        if on_frame is not None:
            self._frame_waiters.append(on_frame)
        if not in_place:
            self._rebuild(result.mesh, with_field=True)  # renders now
            self.shown_changed.emit()
            return
        self._write_points()
        self._write_field()
        if (streaming and self.lod_enabled and self.grid.n_points > LOD_MIN_POINTS
                and not self.show_edges):
            self._show_coarse()
        else:
            self._end_coarse()
        self.shown_changed.emit()  # before the paint: listeners' changes show in the same frame
        widget = self.plotter.interactor
        if widget.isVisible():
            # the widget's paint renders the scene (pyvistaqt renders in paintGL): asking for
            # a paint instead of calling render() here renders each frame once, not twice
            widget.update()
        else:
            self.plotter.render()

    def _frame_rendered(self, *_args) -> None:
        """VTK observer (GUI thread): a render ended; tell whoever waits for a frame."""
        if self._frame_waiters:
            waiters, self._frame_waiters = self._frame_waiters, []
            t = time.perf_counter()
            for callback in waiters:
                callback(t)

    def set_caption(self, text: str, color: str = CAPTION_COLOR) -> None:
        """A small note in the lower left corner (e.g. 'Surrogate prediction') in ``color``
        (hex); '' hides it. Not rendered here: the next render shows it."""
        if text:
            self._caption.set_color(color)
            self._fit_labels()
        self._caption.set_text(text)

    @property
    def caption_text(self) -> str:
        return self._caption.text

    def set_overlay_font(self, size: int) -> None:
        """The largest font of the warning line (a narrow split-view pane asks for less)."""
        self._overlay.set_max_font_size(size)

    def _fit_labels(self) -> None:
        width = self.plotter.window_size[0]
        for label in (self._overlay, self._caption):
            label.fit_width(width)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._fit_labels()

    def set_field(self, field: tuple[str, str, str]) -> None:
        """Switch the displayed field: rewrite the array, colour range and title in place."""
        self._end_coarse()
        self._set_field_tuple(field)
        if self.has_field:
            self._write_field()
            self.plotter.render()

    def set_overlay(self, text: str) -> None:
        """Show a warning over the viewport (e.g. the result is out of date); '' hides it."""
        if text:
            self._fit_labels()
        self._overlay.set_text(text)
        self.plotter.render()

    def set_show_edges(self, show: bool) -> None:
        self.show_edges = show
        if self.actor is not None:
            dense = self.grid.n_cells >= PREVIEW_EDGES_MAX_CELLS
            self.actor.prop.show_edges = show or not (self.has_field or dense)
            self.plotter.render()

    def set_fixed_clim(self, clim: tuple[float, float] | None) -> None:
        """Fix the colour range (display units) so images of two designs compare; None = auto."""
        self.fixed_clim = clim
        self.set_field(self.field)


    def screenshot(self) -> np.ndarray:
        """The rendered image as an ``(h, w, 3)`` uint8 array."""
        self.plotter._render()  # now, not at the next paint
        return self.plotter.screenshot(return_img=True)

    def clear_for_study(self) -> None:
        """Empty the view for another study, as a new viewport would be, keeping the plotter:
        its render window and GL context (the shaders compiled for the first frame, ~100 ms of
        software GL) serve the next study's first paint (#13). Removes every actor but the
        overlay and caption, the colour bar, the view options and whatever listened to the
        view's signals (the decorations connect again); :attr:`epoch` counts the studies."""
        self._settle.stop()
        self._frame_waiters = []
        for signal, signature in ((self.shown_changed, "shown_changed()"),
                                  (self.view_settings_applied, "view_settings_applied()")):
            if self.receivers(SIGNAL(signature)) > 0:
                signal.disconnect()
        if self._bar_key is not None:
            self.plotter.remove_scalar_bar(self._bar_key, render=False)
        for name in [n for n in self.plotter.actors if n not in ("overlay", "caption")]:
            self.plotter.remove_actor(name, reset_camera=False, render=False)
        self._overlay.set_text("")
        self._caption.set_text("")
        self.grid = self.mesh = self.actor = self.surface = self.result = None
        self._lod = self._bar_key = self._points_from = self._surface_of = None
        self._shown_range = self._shown_title = None
        self.field, self.fixed_clim, self.clip, self.focus = ("", "", ""), None, None, None
        self.clip_also, self.derive, self.show_edges, self.warp_scale = set(), None, False, 0.0
        self._labels, self._pane_settings = {}, (False, False)
        self.colormap = self._cmap = COLORMAP
        self.epoch += 1
        self.plotter.render()

    def close_viewport(self) -> None:
        """Release VTK resources; call before the window goes away (again: nothing). The render
        window's observer goes first (it holds this viewport), then the plotter finalizes its
        render window here, on the GUI thread, not whenever Python frees it (#14)."""
        self._settle.stop()
        self._frame_waiters = []
        if getattr(self.plotter, "_closed", True):
            return
        ren_win = self.plotter.render_window
        if ren_win is not None and self._end_observer is not None:
            ren_win.RemoveObserver(self._end_observer)
        self._end_observer = None
        self.plotter.close()

    # -- internals ------------------------------------------------------------------------------
    def _set_field_tuple(self, field: tuple[str, str, str]) -> None:
        self.field = field
        self._labels[field[0]] = (field[1], field[2])

    def _write_points(self, force: bool = False) -> None:
        """Write the shown result's (warped) node coordinates into the grid, unless (without
        ``force``) they are what the grid holds already: a history's frames share one mesh, so
        an unwarped frame writes no points and the renderer uploads none."""
        u = self.result.point_data.get(WARP_FIELD) if self.warp_scale > 0 else None
        src = (self.result.mesh.points, self.warp_scale, u)
        old = self._points_from
        if (not force and old is not None and old[0] is src[0] and old[1] == src[1]
                and old[2] is src[2]):
            return
        self.grid.points[:] = self._display_points()
        self.grid.Modified()
        self._points_from = src

    def _unit(self) -> tuple[float, str]:
        """Factor and unit the shown field is drawn in (from its own magnitude where the table
        offers a choice, :func:`~physapp.viz.grids.field_display_unit`)."""
        return field_display_unit(self.result, self.field[0], self.field[2])

    def _title(self, shown_unit: str | None = None) -> str:
        _, label, unit = self.field
        if shown_unit is None:
            shown_unit = self._unit()[1] if self.result else unit
        return f"{label} [{shown_unit}]" if shown_unit else label

    def _values(self, out: np.ndarray | None = None
                ) -> tuple[np.ndarray, tuple[float, float], str]:
        """The shown field in display units (written into ``out`` when given), its colour
        range (the fixed one, else the data's) and the display unit."""
        factor, unit = self._unit()
        raw = self.result.scalar(self.field[0])
        values = np.multiply(raw, factor, out=out, dtype=np.float64, casting="unsafe")
        lo, hi = self.fixed_clim or (float(values.min()), float(values.max()))
        if hi <= lo:  # a constant field (e.g. zero load) still needs a valid range
            hi = lo + max(abs(lo) * 1e-6, 1e-12)
        return values, (lo, hi), unit

    def _write_field(self) -> None:
        """The shown field into the grid's (and surface's) one array, in place; the colour
        range, ticks, colour map and title are set only when they change."""
        base = self.field[0].partition("[")[0]
        if base not in self.result.point_data:  # a partial prediction without this field: the
            return  # complete one that follows is drawn with it
        array = self.grid.point_data[FIELD_ARRAY]
        _, clim, unit = self._values(out=np.asarray(array))
        array.Modified()
        self.surface.Modified()
        if clim != self._shown_range:
            self.actor.mapper.scalar_range = clim
            apply_ticks(self.plotter.scalar_bar, clim)  # round values, clear of the bar (#13)
            self._shown_range = clim
        cmap = _colormap(self.field[0], self.colormap)
        if cmap != self._cmap:
            self.actor.mapper.lookup_table.cmap = cmap
            self.actor.mapper.scalar_range = clim
            self._cmap = cmap
        title = _bar_text(self._title(unit))
        if title != self._shown_title:
            self.plotter.scalar_bar.SetTitle(title)
            self._shown_title = title

    def _outer_surface(self, mesh: MeshData) -> np.ndarray:
        """The triangles drawn of ``mesh``'s grid: extracted once per mesh (the same mesh
        object, or one sharing its cell blocks, reuses them)."""
        cached = self._surface_of
        if cached is not None and (cached[0] is mesh or _same_cells(cached[0], mesh)):
            return cached[1]
        tris = display_surface(mesh)
        self._surface_of = (mesh, tris)
        return tris

    def _rebuild(self, mesh: MeshData, *, with_field: bool) -> None:
        """New topology: new grid, surface and actor, one scalar bar, camera reset."""
        self._drop_coarse()
        if self._bar_key is not None:
            self.plotter.remove_scalar_bar(self._bar_key, render=False)
            self._bar_key = None
        self.grid = mesh_to_grid(mesh)
        self.mesh = mesh
        self.focus = _far_field_focus(mesh)
        self._points_from = None
        self._shown_range = self._shown_title = None
        self._surface_tris = self._outer_surface(mesh)
        if with_field:
            values, clim, unit = self._values()
            self.grid.point_data[FIELD_ARRAY] = values
            self._write_points()
            self.surface = shared_surface(self.grid, self._surface_tris)
            self._bar_key = self._title(unit)
            self._cmap = _colormap(self.field[0], self.colormap)
            self.actor = self.plotter.add_mesh(
                self.surface,
                scalars=FIELD_ARRAY,
                cmap=self._cmap,
                clim=clim,
                name="plate",
                show_edges=self.show_edges,
                edge_color="dimgray",
                render=False,
                scalar_bar_args=dict(
                    title=self._bar_key,
                    color="black",
                    fmt="%.3g",
                    n_labels=6,
                    # vertical at the right edge, as in FE post-processors: it does not cover the
                    # model, which the camera centres
                    vertical=True,
                    position_x=0.81,
                    position_y=0.12,
                    width=0.07,
                    height=0.76,
                    title_font_size=14,
                    label_font_size=14,
                    bold=False,
                    font_family="arial",
                ),
            )
        else:
            self.surface = shared_surface(self.grid, self._surface_tris)
            self.actor = self.plotter.add_mesh(
                # edges of a very fine mesh would paint it solid grey: show them on request only
                self.surface,
                color="lightsteelblue",
                edge_color="dimgray",
                show_edges=self.show_edges or self.grid.n_cells < PREVIEW_EDGES_MAX_CELLS,
                name="plate",
                render=False,
            )
        if with_field:  # the top label must not run into the title above the bar
            self.plotter.scalar_bar.SetVerticalTitleSeparation(10)
            apply_ticks(self.plotter.scalar_bar, clim)
            self._shown_range, self._shown_title = clim, _bar_text(self._bar_key)
            self.plotter.scalar_bar.SetTitle(self._shown_title)
        self._apply_clip()
        self.reset_camera()


def _bar_text(title: str) -> str:
    """The colour bar's title with a long one's unit on a second line: the title is centred
    over the bar at the right edge and was cut there at 1280 px ("von Mises stress (")."""
    head, sep, unit = title.rpartition(" [")
    return f"{head}\n[{unit}" if sep and len(title) > 18 else title


def _colormap(field_name: str, chosen: str = COLORMAP) -> str:
    return UNCERTAINTY_COLORMAP if "_std" in field_name else chosen


def _same_cells(a: MeshData, b: MeshData) -> bool:
    """True when two meshes share their cell blocks (one model's predictions do): no compare."""
    return len(a.cells) == len(b.cells) and all(
        x.connectivity is y.connectivity for x, y in zip(a.cells, b.cells, strict=True))

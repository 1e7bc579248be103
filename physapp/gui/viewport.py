"""The 3D viewport: one pyvistaqt ``QtInteractor`` showing the plate and its field.

All methods run on the GUI thread (VTK is not thread-safe). A result on the same mesh topology as
the one on screen is written **in place** into the existing grid (points, field array, colour
range) and rendered once; only a new topology rebuilds the actor and resets the camera.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyvista as pv
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pyvistaqt import QtInteractor

from physapp.core.mesh import MeshData
from physapp.core.results import FieldResult
from physapp.viz.grids import field_for_display, mesh_to_grid, same_topology

FIELD_ARRAY = "field"  # the single display array; switching fields rewrites it in place
PREVIEW_EDGES_MAX_CELLS = 20_000
STALE_TEXT = "Result out of date - press F5 to solve"
PREVIEW_TEXT = "Geometry preview - no result yet - press F5 to solve"
COLORMAP = "turbo"
#: uncertainty (std) fields get a colour map of their own, so they are not read as the field
UNCERTAINTY_COLORMAP = "viridis"
CAPTION_COLOR = "#1d3f5e"
_UPPER_EDGE = 7  # vtkCornerAnnotation slot of position="upper_edge"
BACKGROUND = "white"


class Viewport(QWidget):
    """Shows a mesh preview (grey, with edges) or a solved field with a colour bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plotter = QtInteractor(self, auto_update=False)
        layout.addWidget(self.plotter.interactor)
        self.plotter.set_background(BACKGROUND)
        self.plotter.enable_parallel_projection()  # a flat 2D part reads best without perspective
        self.plotter.add_axes(color="black")
        self.grid: pv.UnstructuredGrid | None = None
        self.actor = None
        self.result: FieldResult | None = None
        self.field: tuple[str, str, str] = ("", "", "")  # name, label, SI unit
        self.fixed_clim: tuple[float, float] | None = None  # None: colour range follows the data
        self.show_edges = False
        self._bar_key: str | None = None  # pyvista keys scalar bars by their first title
        self._overlay = self.plotter.add_text(
            STALE_TEXT, position="upper_edge", font_size=10, color="firebrick", name="overlay"
        )
        self._overlay.SetVisibility(False)
        # where the shown field comes from (e.g. a surrogate), lower left; hidden when empty
        self._caption = self.plotter.add_text(
            " ", position="lower_left", font_size=9, color=CAPTION_COLOR, name="caption"
        )
        self._caption.SetVisibility(False)
        self._cmap = COLORMAP
        self._frame_waiters: list[Callable[[float], None]] = []
        self.plotter.render_window.AddObserver("EndEvent", self._frame_rendered)

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
        return "" if self._bar_key is None else self.plotter.scalar_bar.GetTitle()

    @property
    def frame_pending(self) -> bool:
        """True while an :meth:`update_result` waits for the render that shows it."""
        return bool(self._frame_waiters)

    @property
    def overlay_text(self) -> str:
        """The warning shown over the viewport ('' when hidden)."""
        return self._overlay.GetText(_UPPER_EDGE) if self._overlay.GetVisibility() else ""

    # -- updates (GUI thread only) --------------------------------------------------------------
    def show_mesh(self, mesh: MeshData) -> None:
        """Show a geometry preview without a field (the old field does not fit the new mesh)."""
        self.result = None
        self._rebuild(mesh, with_field=False)
        self.set_overlay(PREVIEW_TEXT)

    def show_result(self, result: FieldResult, field: tuple[str, str, str]) -> None:
        """Show ``field`` (name, label, SI unit) of ``result``; in place when topology allows."""
        self.field = field
        in_place = self.has_field and same_topology(self.grid, result.mesh)
        self.result = result
        if in_place:
            self.grid.points[:] = result.mesh.points
            self._write_field()
            self.plotter.render()
        else:
            self._rebuild(result.mesh, with_field=True)
        self.set_overlay("")

    def update_result(
        self,
        result: FieldResult,
        field: tuple[str, str, str],
        on_frame: Callable[[float], None] | None = None,
    ) -> None:
        """Show ``result`` with a single render, for frames that follow each other quickly
        (surrogate predictions during a slider drag).

        When ``result`` shares the shown topology (the same cell blocks, as successive predictions
        of one model do, or equal connectivity) its node coordinates and the field are written
        in place into the existing grid, with the colour range and bar title, and one repaint of
        the view is scheduled (several updates before it make one frame); otherwise the actor is
        rebuilt. Any overlay is hidden. ``on_frame(t)`` is called with the ``perf_counter`` time
        at which the render that shows this update ended.
        """
        self.field = field
        shown = self.result
        in_place = self.has_field and self.grid.n_points == result.mesh.n_points and (
            _same_cells(shown.mesh, result.mesh) or same_topology(self.grid, result.mesh))
        self.result = result
        self._overlay.SetVisibility(False)
        if on_frame is not None:
            self._frame_waiters.append(on_frame)
        if not in_place:
            self._rebuild(result.mesh, with_field=True)  # renders now
            return
        self.grid.points[:] = result.mesh.points
        self._write_field()
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
            self._caption.SetText(0, text)  # slot 0: lower left
            c = color.lstrip("#")
            self._caption.GetTextProperty().SetColor(*(int(c[i:i + 2], 16) / 255 for i in (0, 2, 4)))
        self._caption.SetVisibility(bool(text))

    @property
    def caption_text(self) -> str:
        return self._caption.GetText(0) if self._caption.GetVisibility() else ""

    def set_field(self, field: tuple[str, str, str]) -> None:
        """Switch the displayed field: rewrite the array, colour range and title in place."""
        self.field = field
        if self.has_field:
            self._write_field()
            self.plotter.render()

    def set_overlay(self, text: str) -> None:
        """Show a warning over the viewport (e.g. the result is out of date); '' hides it."""
        if text:
            self._overlay.SetText(_UPPER_EDGE, text)
        self._overlay.SetVisibility(bool(text))
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

    def reset_camera(self) -> None:
        """Look at a flat part from +Z, a solid from an isometric view, fitted to the window."""
        if self.grid is not None and np.ptp(self.grid.points[:, 2]) > 0:
            self.plotter.view_isometric()
        else:
            self.plotter.view_xy()
        self.plotter.reset_camera()
        # keep the model clear of the colour bar on the right: shrink a little and shift the
        # image left (the window centre moves the projection without changing the view)
        self.plotter.camera.zoom(0.82)
        self.plotter.camera.SetWindowCenter(0.2, 0.0)
        self.plotter.render()

    def screenshot(self) -> np.ndarray:
        """The rendered image as an ``(h, w, 3)`` uint8 array."""
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)

    def close_viewport(self) -> None:
        """Release VTK resources; call before the window goes away."""
        self.plotter.close()

    # -- internals ------------------------------------------------------------------------------
    def _title(self) -> str:
        _, label, unit = self.field
        shown_unit = field_for_display(self.result, self.field[0], unit)[1] if self.result else unit
        return f"{label} [{shown_unit}]" if shown_unit else label

    def _values(self) -> tuple[np.ndarray, tuple[float, float]]:
        values, _ = field_for_display(self.result, self.field[0], self.field[2])
        lo, hi = self.fixed_clim or (float(values.min()), float(values.max()))
        if hi <= lo:  # a constant field (e.g. zero load) still needs a valid range
            hi = lo + max(abs(lo) * 1e-6, 1e-12)
        return values, (lo, hi)

    def _write_field(self) -> None:
        values, clim = self._values()
        self.grid.point_data[FIELD_ARRAY][:] = values
        self.grid.point_data[FIELD_ARRAY].Modified()
        self.grid.Modified()
        self.actor.mapper.scalar_range = clim
        cmap = _colormap(self.field[0])
        if cmap != self._cmap:
            self.actor.mapper.lookup_table.cmap = cmap
            self._cmap = cmap
        self.plotter.scalar_bar.SetTitle(self._title())

    def _rebuild(self, mesh: MeshData, *, with_field: bool) -> None:
        """New topology: new grid and actor, one scalar bar, camera reset."""
        if self._bar_key is not None:
            self.plotter.remove_scalar_bar(self._bar_key, render=False)
            self._bar_key = None
        self.grid = mesh_to_grid(mesh)
        if with_field:
            values, clim = self._values()
            self.grid.point_data[FIELD_ARRAY] = values
            self._bar_key = self._title()
            self._cmap = _colormap(self.field[0])
            self.actor = self.plotter.add_mesh(
                self.grid,
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
            self.actor = self.plotter.add_mesh(
                # edges of a very fine mesh would paint it solid grey: show them on request only
                self.grid,
                color="lightsteelblue",
                edge_color="dimgray",
                show_edges=self.show_edges or self.grid.n_cells < PREVIEW_EDGES_MAX_CELLS,
                name="plate",
                render=False,
            )
        self.reset_camera()


def _colormap(field_name: str) -> str:
    return UNCERTAINTY_COLORMAP if "_std" in field_name else COLORMAP


def _same_cells(a: MeshData, b: MeshData) -> bool:
    """True when two meshes share their cell blocks (one model's predictions do): no compare."""
    return len(a.cells) == len(b.cells) and all(
        x.connectivity is y.connectivity for x, y in zip(a.cells, b.cells, strict=True))

"""An imported part's regions in the viewport: the highlight of the selected support or load's
region, the bottom line naming it, face picking ("Pick faces": clicks select boundary facets grown
over a feature angle and become a named region) and typed geometric selectors resolved on a worker
thread. A mixin of :class:`~physapp.gui.part_controller.PartController`; every VTK call here runs
on the GUI thread."""

from __future__ import annotations

import copy
import threading

import numpy as np
import pyvista as pv

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.gui.click_pick import ClickObserver
from physapp.gui.part_tasks import (
    BoundaryFacets,
    check_name,
    parse_selector,
    with_region,
)

_FACET_POOL = None  # one worker thread finds the boundary facets of the parts opened

#: VTK cell types and corner counts of the linear cells a subdomain highlight draws
_VTK_TYPE = {"triangle": 5, "quad": 9, "tetra": 10, "hexahedron": 12, "wedge": 13, "pyramid": 14}


_CORNERS = {"triangle": 3, "quad": 4, "tetra": 4, "hexahedron": 8, "wedge": 6, "pyramid": 5}


HIGHLIGHT_COLOR = "#e0119d"  # the selected support/load region: magenta stands out on turbo


PICK_COLOR = "#ff7f0e"  # the face selection of the picking mode


HOVER_TEXT_COLOR = "#8a6d00"  # the bottom line naming the hovered region (gui.part_hover)


HIGHLIGHT = "part_highlight"


PICK = "part_pick"


LABEL = "part_label"  # one line at the bottom of the view: the pick hint or the region shown


#: the window's preview overlay says "press F5"; for a part that is not set up that misleads
NOT_SET_UP_TEXT = "Set-up incomplete (see Part set-up)"


NO_RESULT_TEXT = "No result yet - press F5 to solve"




class PartViewMixin:
    """PartController's regions in the viewport (see the module docstring)."""

    @property
    def facets(self) -> BoundaryFacets:
        """The part's boundary facets: found on a worker thread when the part opened
        (:meth:`prefetch_facets`; waited for if a pick comes first), else here."""
        if self._facets is None:
            future, self._facets_future = self._facets_future, None
            facets = future.result() if future is not None else None
            if facets is None or facets.mesh.cells is not self.mesh.cells:
                facets = BoundaryFacets(self.mesh)
            facets.mesh = self.mesh  # same nodes and cells: facets and normals still hold
            self._facets = facets
        return self._facets

    @property
    def facets_ready(self) -> bool:
        """True when :attr:`facets` returns without array work on this thread."""
        future = self._facets_future
        return self._facets is not None or (future is not None and future.done())

    def prefetch_facets(self) -> None:
        """Find the new part's boundary facets on a worker thread (plain numpy: sorts over every
        cell face, ~2.5 s for a million tets), so the first pick or hover finds them ready (#16)."""
        global _FACET_POOL
        if _FACET_POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            _FACET_POOL = ThreadPoolExecutor(1, thread_name_prefix="physapp-facets")
        self._facets = None
        self._facets_future = _FACET_POOL.submit(BoundaryFacets, self.mesh)

    def highlight(self, region: str | None) -> None:
        """Colour the faces of ``region`` (None: no highlight); edges are drawn as thick lines,
        point sets as dots and subdomains as their outer surface."""
        plotter = self.window.viewport.plotter
        if self.mesh is not None and region is not None and region not in self.mesh.boundaries \
                and region in {*self.mesh.edges, *self.mesh.point_sets, *self.mesh.subdomains}:
            self._draw_other(region)
            self.highlighted = region
            self._label()
            plotter.render()
            return
        if region is None or self.mesh is None or region not in self.mesh.boundaries:
            if self.highlighted is not None:
                plotter.remove_actor(HIGHLIGHT, render=False)
                self.highlighted = None
                self._label()
                plotter.render()
            return
        facets = self.mesh.boundaries[region]
        # over a solved field only the facet edges: the colours of the field stay readable
        self._draw(HIGHLIGHT, facets, HIGHLIGHT_COLOR, outline=self.window.viewport.has_field)
        self.highlighted = region
        self._label()
        plotter.render()

    def _draw_other(self, region: str) -> None:
        """An edge, point or subdomain region in the highlight colour (lines, dots, surface)."""
        plotter = self.window.viewport.plotter
        mesh = self.mesh
        if region in mesh.edges:
            segs = np.asarray(mesh.edges[region])[:, :2]
            pts = mesh.points[segs].reshape(-1, 3)
            lines = np.column_stack([np.full(len(segs), 2), np.arange(0, 2 * len(segs), 2),
                                     np.arange(1, 2 * len(segs), 2)]).ravel()
            plotter.add_mesh(pv.PolyData(pts, lines=lines), color=HIGHLIGHT_COLOR, line_width=6,
                             name=HIGHLIGHT, pickable=False, render=False, lighting=False)
        elif region in mesh.point_sets:
            pts = mesh.points[np.unique(np.asarray(mesh.point_sets[region]))]
            plotter.add_mesh(pv.PolyData(pts), color=HIGHLIGHT_COLOR, point_size=14,
                             render_points_as_spheres=True, name=HIGHLIGHT, pickable=False,
                             render=False)
        else:  # a subdomain: the outer surface of its cells
            from physapp.io.readers import LINEAR

            cells = np.asarray(mesh.subdomains[region])
            start, polys = 0, []
            for block in mesh.cells:
                n = len(block.connectivity)
                mine = cells[(cells >= start) & (cells < start + n)] - start
                start += n
                if len(mine):
                    base = LINEAR.get(block.type, block.type)
                    polys.append((base, block.connectivity[mine]))
            grid = pv.UnstructuredGrid({_VTK_TYPE[b]: c[:, :_CORNERS[b]] for b, c in polys
                                        if b in _VTK_TYPE}, mesh.points)
            surf = grid.extract_surface(algorithm="dataset_surface") if mesh.dim == 3 else grid
            plotter.add_mesh(surf, color=HIGHLIGHT_COLOR, opacity=0.6, name=HIGHLIGHT,
                             pickable=False, render=False, show_edges=False)

    def _label(self) -> None:
        """The line at the bottom of the view: the picking hint, else the region shown."""
        plotter = self.window.viewport.plotter
        if self.pick_mode:
            n = len(self.selection)
            text = (f"Selected {n} facets - Shift+click adds" if n else
                    "Pick faces: click a face, Shift+click adds")
            color = "#c05600"
        elif self.highlighted is not None or self.region_hover.region is not None:
            m = self.mesh
            name = self.region_hover.region or self.highlighted  # the hovered one first
            what = ("facets" if name in m.boundaries else "segments" if name in m.edges else
                    "nodes" if name in m.point_sets else "cells")
            group = (m.boundaries.get(name) if name in m.boundaries else m.edges.get(name)
                     if name in m.edges else m.point_sets.get(name) if name in m.point_sets
                     else m.subdomains.get(name, ()))
            shape = next((r.get("shape") for r in (self.panel.region_info() if self.panel
                                                   else ()) if r["name"] == name), "")
            text, color = (f"Region '{name}'{f' - {shape}' if shape else ''} "
                           f"({len(group)} {what})",
                           HIGHLIGHT_COLOR if name == self.highlighted else HOVER_TEXT_COLOR)
        else:
            plotter.remove_actor(LABEL, render=False)
            return
        actor = plotter.add_text(text, position="lower_edge", font_size=9, color=color,
                                 name=LABEL)
        if hasattr(actor, "SetMaximumFontSize"):  # a corner annotation grows with the view
            actor.SetMaximumFontSize(14)  # (#13: it ran off both sides at 1280 px)

    def _overlay(self) -> None:
        """A part that cannot be solved yet says so instead of 'press F5'."""
        vp = self.window.viewport
        if self.problem:
            vp.set_overlay(NOT_SET_UP_TEXT)
        elif not vp.has_field:
            vp.set_overlay(NO_RESULT_TEXT)

    def _after_preview(self, *_args) -> None:
        if self.active and not self.window.closing:
            self._overlay()

    def _draw(self, name: str, facets: np.ndarray, color: str, *, outline: bool = False) -> None:
        """Facets (node rows) as a separate, unpickable surface lifted slightly off the part;
        ``outline``: their edges only."""
        plotter = self.window.viewport.plotter
        poly = self._facet_polydata(np.asarray(facets))
        if self.mesh.dim == 2:
            plotter.add_mesh(poly, color=color, line_width=6, name=name, pickable=False,
                             render=False, lighting=False)
        elif outline:
            plotter.add_mesh(poly, color=color, style="wireframe", line_width=2.5, name=name,
                             pickable=False, render=False, lighting=False)
        else:  # bright whichever way the face is turned to the light
            plotter.add_mesh(poly, color=color, name=name, pickable=False, render=False,
                             show_edges=True, edge_color="#5a0040" if name == HIGHLIGHT
                             else "#7a3a00", line_width=1, ambient=0.55, diffuse=0.5,
                             specular=0.0)

    def _facet_polydata(self, facets: np.ndarray) -> pv.PolyData:
        pts = self.mesh.points
        lo, hi = self.mesh.bounds()
        lift = 2e-3 * float(np.linalg.norm(hi - lo))
        k = facets.shape[1]
        corners = pts[facets]  # (m, k, 3)
        if self.mesh.dim == 2:
            flat = corners.reshape(-1, 3) + np.array([0.0, 0.0, lift])
            lines = np.column_stack([np.full(len(facets), 2),
                                     np.arange(0, 2 * len(facets), 2),
                                     np.arange(1, 2 * len(facets), 2)]).ravel()
            return pv.PolyData(flat, lines=lines)
        idx = self.facets.index_of(facets)
        n = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-300)
        known = idx >= 0
        n[known] = self.facets.normals[idx[known]]
        flat = (corners + lift * n[:, None, :]).reshape(-1, 3)
        faces = np.column_stack([np.full(len(facets), k),
                                 np.arange(len(facets) * k).reshape(-1, k)]).ravel()
        return pv.PolyData(flat, faces=faces)

    # -- picking --------------------------------------------------------------------------------
    def set_pick_mode(self, on: bool) -> None:
        """Clicks on the part select faces (drag still rotates); off: the selection is dropped."""
        plotter = self.window.viewport.plotter
        if on and not self.pick_mode and plotter.iren is not None and self.mesh is not None:
            self._clicks = ClickObserver(
                plotter, lambda x, y, shift: self.pick_display(x, y, add=shift))
            self.pick_mode = True
            if self.panel is not None:  # one colour at a time: the picked faces in orange
                self.panel.table.clearSelection()
            self.highlight(None)
        elif not on and self.pick_mode:
            if self._clicks is not None:
                self._clicks.remove()
                self._clicks = None
            self.pick_mode = False
            self.clear_selection()
        self._label()
        if self.panel is not None:
            self.panel.show_pick_mode(self.pick_mode)
        plotter.render()

    def pick_display(self, x: int, y: int, *, add: bool = False) -> bool:
        """Pick the part at display pixel (x, y) (VTK's origin: bottom left); True if a face was
        hit."""
        from vtkmodules.vtkRenderingCore import vtkCellPicker

        picker = vtkCellPicker()
        picker.SetTolerance(1e-4)
        plotter = self.window.viewport.plotter
        if not picker.Pick(x, y, 0, plotter.renderer) or picker.GetCellId() < 0:
            return False
        return self.pick_point(picker.GetPickPosition(), add=add)

    def pick_point(self, point, *, add: bool = False) -> bool:
        """Select the face under a point on the part's surface (metres)."""
        if self.mesh is None:
            return False
        i = self.facets.facet_at(point)
        if i < 0:
            return False
        self.pick_facet(i, add=add, seed=[float(v) for v in point])
        return True

    def pick_facet(self, index: int, *, add: bool = False, seed=None) -> np.ndarray:
        """Select boundary facet ``index`` grown over the feature angle; ``add`` keeps the
        previous selection. Returns the selected facet indices."""
        grown = self.facets.grow(int(index), self.feature_angle)
        seed = seed if seed is not None else self.facets.centres[int(index)].tolist()
        if add:
            self.selection = np.union1d(self.selection, grown)
            self.seeds.append(list(seed))
        else:
            self.selection = grown
            self.seeds = [list(seed)]
        self._draw(PICK, self.facets.region_array(self.selection), PICK_COLOR)
        self._label()
        self.window.viewport.plotter.render()
        if self.panel is not None:
            self.panel.update_selection_label()
            self.panel.pick_error.clear()
        return self.selection

    def clear_selection(self) -> None:
        self.selection = np.zeros(0, dtype=np.int64)
        self.seeds = []
        self.window.viewport.plotter.remove_actor(PICK, render=False)
        self._label()
        if self.panel is not None:
            self.panel.update_selection_label()

    def create_region(self, name: str) -> str:
        """Turn the picked faces into a boundary region ``name``; '' or why it was refused."""
        if self.mesh is None:
            return "Open a part first."
        if len(self.selection) == 0:
            return "Pick at least one face first."
        problem = check_name(name, self.mesh.boundaries, "region")
        if problem:
            return problem
        facets = self.facets.region_array(self.selection)
        self.info.picked[name] = {"facets": facets, "seeds": copy.deepcopy(self.seeds),
                                  "feature_angle": self.feature_angle}
        self._set_mesh(with_region(self.mesh, name, facets))
        self.clear_selection()
        self.panel.show_summary()
        self.panel.refresh_table()
        self.window.show_message(f"Region '{name}' created ({len(facets)} facets): choose it for "
                                 "a support or load in the table.", "info", "region")
        if not self.pick_mode:  # while picking, orange is the only colour on the part
            self.highlight(name)
        return ""

    # -- typed selectors ------------------------------------------------------------------------
    def match_selector(self, text: str, create: str = "") -> int:
        """Resolve a typed selector on a worker thread (a large mesh takes a second); the match
        report (or why it failed) goes to the panel, and with ``create`` a region of that name
        is made of the match. Returns the job id (0: refused at once, the panel says why)."""
        if self.mesh is None:
            self._selector_done("Open a part first.", ok=False)
            return 0
        try:
            spec = parse_selector(text)
        except ParameterError as exc:
            self._selector_done(str(exc), ok=False)
            return 0
        self._selector_job += 1
        job = self._selector_job
        self._selector_pending = (job, create, spec, self.mesh)
        if self.panel is not None:
            self.panel.selector_report.setText("Matching \u2026")
        threading.Thread(target=_select_worker, args=(self.selector_relay, job, self.mesh, spec),
                         name="physapp-selector", daemon=True).start()
        return job

    @property
    def selector_busy(self) -> bool:
        return self._selector_pending is not None

    def _selector_done(self, message: str, *, ok: bool) -> None:
        if self.panel is not None:
            self.panel.show_selector_report(message, ok)

    def _on_selected(self, job: int, sel) -> None:
        pending = self._selector_pending
        if pending is None or pending[0] != job or self.window.closing:
            return
        self._selector_pending = None
        _, create, spec, mesh = pending
        if mesh is not self.mesh:  # the part changed meanwhile
            return
        message = sel.report[0].upper() + sel.report[1:] + "."
        self._selector_done(message, ok=True)
        if create:
            self._add_selector_region(create, spec, sel, message)
        elif sel.kind == "face" or (sel.kind == "edge" and self.mesh.dim == 2):
            self.highlight(None)  # one colour at a time: the match in orange
            self._draw(PICK, sel.entities, PICK_COLOR)  # show what it matched
            self.window.viewport.plotter.render()

    def _on_select_failed(self, job: int, message: str) -> None:
        pending = self._selector_pending
        if pending is None or pending[0] != job or self.window.closing:
            return
        self._selector_pending = None
        self.window.viewport.plotter.remove_actor(PICK, render=True)
        self._selector_done(message, ok=False)

    def clear_match(self) -> None:
        """Remove a typed selector's match from the view (not the picking mode's selection)."""
        if not self.pick_mode:
            self.window.viewport.plotter.remove_actor(PICK, render=False)

    def create_selector_region(self, name: str, text: str) -> str:
        """Make region ``name`` from a typed selector (resolved on a worker thread); '' when it
        started, else why it was refused at once."""
        if self.mesh is None:
            return "Open a part first."
        taken = {*self.mesh.boundaries, *self.mesh.edges, *self.mesh.point_sets,
                 *self.mesh.subdomains}
        problem = check_name(name, taken, "region")
        if problem:
            return problem
        try:
            parse_selector(text)
        except ParameterError as exc:
            return str(exc)
        self.match_selector(text, create=name)
        return ""

    def _add_selector_region(self, name: str, spec: dict, sel, message: str) -> None:
        from physapp.core.regions import with_region as add_region

        if name in {*self.mesh.boundaries, *self.mesh.edges, *self.mesh.point_sets,
                    *self.mesh.subdomains}:
            return
        self.info.selected[name] = dict(spec)
        self.window.viewport.plotter.remove_actor(PICK, render=False)
        self._set_mesh(add_region(self.mesh, name, sel))
        self.panel.show_summary()
        self.panel.refresh_table()
        self.panel.selector_name.clear()
        self.window.show_message(f"Region '{name}' created: {message}", "info", "region")
        if not self.pick_mode and name in self.mesh.boundaries:
            self.highlight(name)

def _select_worker(relay, job: int, mesh: MeshData, spec: dict) -> None:
    """Worker thread: resolve a selector, hand the Selection (or the reason) to the GUI."""
    from physapp.core.regions import select

    try:
        relay.send_result(job, select(mesh, spec))
    except ParameterError as exc:
        relay.send_error(job, str(exc))
    except Exception as exc:  # noqa: BLE001 - a bug: one line for the user, not a dead thread
        relay.send_error(job, f"The selector could not be resolved ({type(exc).__name__}: {exc}).")

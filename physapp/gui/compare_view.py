"""The split (compare) view: surrogate | reference | difference, with linked cameras and metrics.

:class:`CompareController` (``window.compare``) belongs to one
:class:`~physapp.gui.main_window.MainWindow`. F6 (View > Compare with solver, or the button in
the Display box) toggles between the single viewport and :class:`CompareView`, three
:class:`~physapp.gui.viewport.Viewport` panes over a :class:`~physapp.gui.metrics_panel.MetricsPanel`:

- **Surrogate**: the selected model's latest prediction, updated in place while the sliders move
  (the predictor's frames, as in the main viewport). Without a selected model the pane says so.
- **Reference**: the window's last reference solve (``window.result``). Entering the split view
  when no solve matches the sliders starts one (``window.solve()``); the pane says "Solving..."
  until it arrives, and "out of date" when the sliders have moved since.
- **Difference**: surrogate minus reference of the same field and component, **on the reference
  mesh** (the surrogate's fields are interpolated to the solver's nodes with the surrogate mesh's
  shape functions: :func:`physapp.solvers.interpolate.field_difference`), signed ``S - R`` with
  a diverging colour bar centred on zero, or ``|S - R| / max|R|`` in per cent. It is computed
  only for a prediction made at the solved parameters; otherwise the last one stays, marked out
  of date.

The first two panes share one colour range (the union of both fields' ranges, or a locked one);
all three share one ``vtkCamera`` (moving one moves all: a camera observer repaints the others).
State lives in a :class:`~physapp.gui.view_settings.ViewSettings` (``split``,
``relative_difference``, ``clim``). Interpolation of large meshes (more than
:data:`SYNC_POINTS` reference nodes) runs on a worker thread; every VTK call stays on the GUI
thread.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QMenu,
    QPushButton,
)

from physapp.compute.latest import LatestWinsWorker
from physapp.core.results import FieldResult
from physapp.gui.compare_panes import PANE_WINDOW_CENTER, CompareView, _set_overlay, _style_pane
from physapp.gui.metrics_panel import Pair, compare_pair
from physapp.gui.relay import ThreadRelay
from physapp.gui.view_settings import ViewSettings
from physapp.gui.viewport import Viewport
from physapp.viz.grids import display_unit, field_for_display

if TYPE_CHECKING:  # pragma: no cover
    from physapp.gui.prediction import Prediction
    from physapp.gui.services import WindowServices

#: reference meshes up to this many nodes are compared on the GUI thread (under ~50 ms on a busy
#: machine); larger ones on a worker thread
SYNC_POINTS = 5_000
NO_SURROGATE = "Select a surrogate in Prediction source to compare"
PREDICTING = "Waiting for the surrogate's prediction \u2026"
SOLVING = "Solving \u2026"
NO_REFERENCE = "No reference solve yet \u2013 press F5"
REF_STALE = "Out of date \u2013 F5 solves"
DIFF_STALE = "Out of date \u2013 last solved design"
DIFF_WAITING = "Waiting for a prediction at the solved design \u2026"
COMPUTING = "Interpolating \u2026"
DIFF_COLORMAP = "coolwarm"  # diverging, white at zero
REL_COLORMAP = "plasma"  # |S - R| / max|R| >= 0: sequential
DIFF_FIELD = "difference"
REL_UNIT = "% of max R"


class CompareController(QObject):
    """The split view of one main window (see the module docstring). Public: :meth:`toggle`,
    :meth:`set_split`, :attr:`is_split`, :attr:`panes`, :meth:`metrics`, :attr:`view`,
    :meth:`set_relative`, :meth:`set_locked`, :attr:`shared_clim`, :attr:`difference`."""

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        # split, relative_difference, clim (locked range): the window's view model
        self.view = window.app.view
        self.widget: CompareView | None = None
        self.action: QAction | None = None
        self.button: QPushButton | None = None
        self.prediction: Prediction | None = None  # shown in the surrogate pane
        self.pair: Pair | None = None  # the last compared prediction and solve
        self.difference = None  # physapp.solvers.interpolate.Difference shown in pane 3
        self.shared_clim: tuple[float, float] | None = None
        self.camera_syncs = 0  # repaints of the panes after a camera move (tests)
        self.pending_job = 0  # id of a comparison running on the worker (0: none)
        self._scheduled = False
        self._cam_state: tuple | None = None
        self._cam_scheduled = False
        self._shown: dict[int, tuple[object, tuple]] = {}  # pane -> what it shows (skip unchanged updates)
        self._closed = False
        self._cam_observer = None  # (the panes' shared vtkCamera, observer id)
        self._worker: LatestWinsWorker | None = None
        self._relay = ThreadRelay(self)
        self._relay.result.connect(self._on_compared, Qt.ConnectionType.QueuedConnection)
        self._relay.error.connect(self._on_compare_failed, Qt.ConnectionType.QueuedConnection)
        window.surrogates.predictor.predicted.connect(self._on_predicted)

    # -- window hooks ---------------------------------------------------------------------------
    def add_view_actions(self, menu: QMenu) -> None:
        """View > Compare with solver (F6)."""
        menu.addSeparator()
        self.action = self.window.actions.add("view.compare", menu, "&Compare with solver", None, "F6")
        self.action.setCheckable(True)
        self.action.setToolTip("Split view: surrogate | reference | difference, with metrics (F6)")
        self.action.toggled.connect(self.set_split)

    def build_button(self) -> QPushButton:
        """A checkable "Compare with solver (F6)" button for the side panel (rebuilt with it)."""
        self.button = QPushButton("Compare with solver  (F6)")
        self.button.setCheckable(True)
        self.button.setChecked(self.view.split)
        self.button.setToolTip("Show the surrogate, the reference solve and their difference "
                               "side by side, with error metrics")
        self.button.toggled.connect(self.set_split)
        return self.button

    def reference_changed(self) -> None:
        """A reference solve went on screen (``window.result`` is new)."""
        self._schedule()

    def field_changed(self) -> None:
        if self.view.clim is not None:  # a locked range belongs to the field it was locked on
            self.set_locked(False)
        if self.is_split:
            self._apply_view_options()
            self._schedule()

    def state_changed(self) -> None:
        """Sliders, solve or surrogate selection changed: refresh the panes' state."""
        if self.is_split:
            self._schedule()

    def study_closing(self) -> None:
        """The window drops its study: back to the single view, panes released."""
        self.set_split(False)
        self.prediction = self.pair = self.difference = None
        self._shown = {}
        self.shared_clim = None
        self.view.clim = None
        if self.widget is not None:
            self._drop_widget()

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._relay.closed = True
        if self._worker is not None:
            self._worker.close()
        self._unobserve_camera()
        if self.widget is not None:
            self.widget.close_panes()

    # -- public API -----------------------------------------------------------------------------
    @property
    def is_split(self) -> bool:
        return self.view.split

    @property
    def panes(self) -> list[Viewport]:
        """Surrogate, reference and difference viewports ([] before the split view is built)."""
        return list(self.widget.panes) if self.widget is not None else []

    @property
    def pane_titles(self) -> list[str]:
        return [t.text() for t in self.widget.titles] if self.widget is not None else []

    def pane_message(self, index: int) -> str:
        """The message shown instead of pane ``index`` ('' when the pane shows a field)."""
        return self.widget.message(index) if self.widget is not None else ""

    def toggle(self) -> None:
        self.set_split(not self.view.split)

    def set_split(self, on: bool) -> None:
        """Show the split view (True) or the single viewport (False)."""
        on = bool(on)
        for w in (self.action, self.button):
            if w is not None and w.isChecked() != on:
                w.blockSignals(True)
                w.setChecked(on)
                w.blockSignals(False)
        if on == self.view.split or self._closed:
            return
        self.view.split = on
        w = self.window
        if not on:
            if self.widget is not None:
                self.widget.hide()
            w.viewport.show()
            return
        self._ensure_widget()
        w.viewport.hide()
        self.widget.show()
        s = w.surrogates
        if s.current is not None:
            if self.prediction is None or self.prediction.key != s.current.key:
                self.prediction = s.last_prediction
            s.request_prediction()  # a frame of the current design (cheap)
        if (w.result is None or w.is_stale) and not w.app.solve.busy:
            w.solve()  # the reference pane says "Solving ..." until it arrives
        self._apply_view_options()
        self.refresh()
        for pane in self.widget.panes:
            if pane.has_field:
                pane.reset_camera()
                _style_pane(pane)
                pane.plotter.render()
                break

    def set_relative(self, relative: bool) -> None:
        """Difference pane: ``|S - R| / max|R|`` (True) or ``S - R`` (False)."""
        self.view.relative_difference = bool(relative)
        if self.widget is not None:
            combo = self.widget.mode_combo
            combo.blockSignals(True)
            combo.setCurrentIndex(1 if relative else 0)
            combo.blockSignals(False)
        self._show_difference()

    def set_locked(self, locked: bool, clim: tuple[float, float] | None = None) -> None:
        """Lock the shared colour range of the first two panes (display units): at ``clim``, or
        at the range shown now."""
        self.view.clim = (clim or self.shared_clim) if locked else None
        if self.widget is not None:
            check = self.widget.lock_check
            check.blockSignals(True)
            check.setChecked(self.view.clim is not None)
            check.blockSignals(False)
        self.refresh()

    def apply_view_settings(self, vs: ViewSettings) -> None:
        """Take ``split``, ``relative_difference`` and ``clim`` from ``vs`` (a session)."""
        self.view.relative_difference = vs.relative_difference
        self.view.clim = vs.clim
        self.set_split(vs.split)
        self.set_relative(vs.relative_difference)
        self.set_locked(vs.clim is not None, vs.clim)

    def metrics(self) -> dict[str, Any]:
        """The numbers of the metrics panel (SI units), with what they compare: ``fields``,
        ``key_quantities`` (see :func:`~physapp.gui.metrics_panel.compare_metrics`),
        ``surrogate`` (kind), ``params``, ``up_to_date`` and ``field``. {} before a comparison."""
        if self.pair is None:
            return {}
        out = dict(self.pair.metrics)
        out["surrogate"] = self.pair.surrogate.meta.get("model", "")
        out["params"] = dict(self.pair.reference.meta.get("params", {}))
        out["up_to_date"] = self._pair_current()
        out["field"] = self.window.field[0]
        return out

    # -- refresh --------------------------------------------------------------------------------
    def _schedule(self) -> None:
        """Refresh once after the current event (several hooks in a row make one refresh)."""
        if self.is_split and not self._scheduled and not self._closed:
            self._scheduled = True
            QTimer.singleShot(0, self._run_scheduled)

    def _run_scheduled(self) -> None:
        self._scheduled = False
        if self.is_split and not self._closed:
            self.refresh()

    def refresh(self) -> None:
        """Bring the three panes, their titles and the metrics up to date (GUI thread)."""
        if not self.is_split or self.widget is None or self._closed:
            return
        w = self.window
        s = w.surrogates
        field = w.field
        active = s.current is not None
        pred = self.prediction if active and self.prediction is not None and (
            self.prediction.key == s.current.key) else None
        ref = w.result
        solving = w.app.solve.busy
        kind = s.current.kind if active else "none selected"
        order = ref.meta.get("order", w.settings.element_order) if ref is not None else (
            w.settings.element_order)
        view = self.widget
        # shared colour range of the first two panes
        if self.view.clim is not None:
            clim = self.view.clim
        else:
            ranges = []
            for r in (pred.result if pred else None, ref):
                if r is not None:
                    try:
                        vals = field_for_display(r, field[0], field[2])[0]
                        ranges.append((float(vals.min()), float(vals.max())))
                    except (KeyError, IndexError, ValueError):
                        pass
            clim = (min(a for a, _ in ranges), max(b for _, b in ranges)) if ranges else None
        self.shared_clim = clim
        # 1: surrogate
        view.set_title(0, f"Surrogate ({kind})")
        if not active:
            view.set_message(0, NO_SURROGATE)
        elif pred is None:
            view.set_message(0, PREDICTING)
        else:
            view.set_message(0, "")
            pane = view.panes[0]
            if self._changed(0, pred.result, (field, clim)):  # a new prediction, field, range
                pane.fixed_clim = clim
                if pane.result is not pred.result or pane.field != field:
                    pane.update_result(pred.result, field)  # in place for the same topology
                else:
                    pane.set_field(field)
                _style_pane(pane)
        # 2: reference
        stale = ref is not None and w.is_stale
        view.set_title(1, f"Reference (FE, P{order})" + (" \u2013 out of date" if stale else ""),
                       stale)
        if ref is None:
            view.set_message(1, SOLVING if solving else NO_REFERENCE)
        else:
            view.set_message(1, "")
            pane = view.panes[1]
            if self._changed(1, ref, (field, clim)):
                pane.fixed_clim = clim
                if pane.result is not ref:
                    pane.show_result(ref, field)
                else:
                    pane.set_field(field)
                _style_pane(pane)
            _set_overlay(pane, SOLVING if solving and stale else REF_STALE if stale else "")
        # 3: difference (and metrics) of a prediction at the solved design
        if pred is not None and ref is not None and self._matches(pred.result, ref):
            if self.pair is None or self.pair.surrogate is not pred.result or (
                    self.pair.reference is not ref):
                self._start_compare(pred.result, ref)
        self._show_difference()

    def _show_difference(self) -> None:
        if self.widget is None or not self.is_split:
            return
        w, view = self.window, self.widget
        name, label, unit = w.field
        rel = self.view.relative_difference
        title = ("Relative difference |S \u2212 R| / max|R|" if rel else "Difference S \u2212 R")
        current = self._pair_current()
        view.set_title(2, title + ("" if current or self.pair is None else " \u2013 out of date"),
                       not current and self.pair is not None)
        if w.surrogates.current is None:
            view.set_message(2, NO_SURROGATE)
            self._show_metrics()
            return
        if self.pair is None:
            view.set_message(2, COMPUTING if self.pending_job else (
                SOLVING if w.result is None else DIFF_WAITING))
            self._show_metrics()
            return
        if not self._changed(2, self.pair, (w.field, rel, current)) and view.message(2) == "":
            return  # nothing new (e.g. another frame of the surrogate pane)
        from physapp.solvers.interpolate import field_difference  # loaded by _pair already

        try:
            d = field_difference(self.pair.surrogate, self.pair.reference, name, relative=rel,
                                 on_reference=self.pair.on_reference)
        except (KeyError, IndexError, ValueError):
            view.set_message(2, f"The surrogate has no field \u2018{label}\u2019")
            self._show_metrics()
            return
        self.difference = d
        ref = self.pair.reference
        data = {DIFF_FIELD: d.values * 100.0 if rel else d.values}
        if "displacement" in ref.point_data:  # so the pane warps like the others
            data["displacement"] = ref.point_data["displacement"]
        diff_unit = REL_UNIT if rel else unit
        result = FieldResult(ref.mesh, data, "difference", {"params": ref.meta.get("params", {})},
                             {DIFF_FIELD: diff_unit})
        # (VTK's colour-bar font has no '|': the relative title says it in words)
        field = (DIFF_FIELD, f"Relative error {label}" if rel else f"S \u2212 R {label}",
                 diff_unit)
        shown = field_for_display(result, DIFF_FIELD, diff_unit)[0]
        top = float(np.abs(shown).max()) or 1e-12
        pane = view.panes[2]
        pane.fixed_clim = (0.0, top) if rel else (-top, top)
        self._set_colormap(pane, REL_COLORMAP if rel else DIFF_COLORMAP)
        view.set_message(2, "")
        pane.update_result(result, field)
        _style_pane(pane)
        _set_overlay(pane, "" if current else DIFF_STALE)
        self._show_metrics()

    def _changed(self, index: int, obj: object, rest: tuple) -> bool:
        """Record that pane ``index`` shows ``obj`` (by identity) with ``rest``; True when that
        differs from what it showed."""
        old = self._shown.get(index)
        if old is not None and old[0] is obj and old[1] == rest:
            return False
        self._shown[index] = (obj, rest)
        return True

    def _show_metrics(self) -> None:
        panel = self.widget.metrics_panel
        w = self.window
        if w.surrogates.current is None:
            panel.clear(NO_SURROGATE + ".")
            return
        if self.pair is None:
            panel.clear("The numbers appear when a prediction and a reference solve of the same "
                        "design are available.")
            return
        m = self.pair.metrics
        current = self._pair_current()
        where = ("on the reference mesh: the surrogate interpolated to its "
                 f"{m['n_nodes']:,} nodes" if self.pair.interpolated
                 else f"at the {m['n_nodes']:,} shared nodes")
        factor, length = display_unit(self.pair.reference.mesh.length_unit)
        far = m.get("max_outside_distance", 0.0) * factor
        outside = (f"; {m['n_outside']:,} of them outside the surrogate's predicted geometry (up "
                   f"to {far:.2g} {length}; evaluated at its boundary)" if m["n_outside"] else "")
        kind = self.pair.surrogate.meta.get("model", "surrogate")
        status = f"{kind} vs reference solve, {where}{outside}."
        if not current:
            status = ("<b style='color:#a01010'>Out of date</b> \u2013 for the last design solved "
                      "with the reference. " + status)
        labels = {f.name: f.label for f in w.spec.fields}
        panel.show_metrics(m, labels, status, current)

    # -- comparing ------------------------------------------------------------------------------
    def _matches(self, sur: FieldResult, ref: FieldResult) -> bool:
        """True when the prediction was made at the reference solve's design parameters."""
        s = self.window.surrogates
        names = s.current.loaded.summary.param_names if s.current is not None else ()
        used, solved = sur.meta.get("params", {}), ref.meta.get("params", {})
        for n in names:
            a, b = used.get(n, np.nan), solved.get(n, np.nan)
            if not abs(a - b) <= 1e-9 * max(abs(b), 1e-30):
                return False
        return True

    def _pair_current(self) -> bool:
        """The compared pair is the design on the sliders, with the reference on screen."""
        if self.pair is None:
            return False
        w = self.window
        return self.pair.reference is w.result and not w.is_stale

    def _start_compare(self, sur: FieldResult, ref: FieldResult) -> None:
        study = self.window.model.study
        derived = getattr(study, "derived_quantities", None)
        keys = tuple(self.window.spec.key_quantities)
        if ref.mesh.n_points <= SYNC_POINTS:
            self.pair = compare_pair(sur, ref, keys, derived)
            return
        if self._worker is None:
            self._worker = LatestWinsWorker(lambda job: compare_pair(*job), self._relay.send_result,
                                            self._relay.send_error)
        self.pending_job = self._worker.submit((sur, ref, keys, derived))

    def _on_compared(self, job_id: int, pair: Pair) -> None:
        if job_id != self.pending_job or self._closed:
            return
        self.pending_job = 0
        self.pair = pair
        self._show_difference()

    def _on_compare_failed(self, job_id: int, message: str) -> None:
        if job_id != self.pending_job:
            return
        self.pending_job = 0
        self.window.show_message(f"Cannot compare the surrogate with the solve: {message}",
                                 "error", "compare")

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until a comparison on the worker has finished (tests)."""
        return self._worker is None or self._worker.wait_idle(timeout)

    # -- predictions ----------------------------------------------------------------------------
    def _on_predicted(self, p: Prediction) -> None:
        s = self.window.surrogates
        if s.current is None or p.key != s.current.key or (
                self.prediction is not None and self.prediction.key == p.key
                and p.request_id <= self.prediction.request_id):
            return
        self.prediction = p
        self._schedule()  # predictions arriving together make one refresh

    # -- panes ----------------------------------------------------------------------------------
    def _ensure_widget(self) -> None:
        if self.widget is not None:
            return
        w = self.window
        view = CompareView(w)
        for pane in view.panes:  # the safety factor there too (#13)
            pane.derive = w.safety.derive
        self.widget = view
        index = w.central_layout.indexOf(w.viewport)
        w.central_layout.insertWidget(index + 1 if index >= 0 else -1, view, 1)
        view.mode_combo.setCurrentIndex(1 if self.view.relative_difference else 0)
        view.mode_combo.currentIndexChanged.connect(
            lambda i: self.set_relative(bool(view.mode_combo.itemData(i))))
        view.lock_check.setChecked(self.view.clim is not None)
        view.lock_check.toggled.connect(lambda on: self.set_locked(on))
        view.single_button.clicked.connect(lambda: self.set_split(False))
        first = view.panes[0].plotter
        camera = first.camera
        for pane in view.panes[1:]:
            pane.plotter.camera = camera  # one vtkCamera: every pane looks the same way
        self._cam_observer = (camera, camera.AddObserver("ModifiedEvent", self._camera_moved))

    def _drop_widget(self) -> None:
        view, self.widget = self.widget, None
        w = self.window
        w.central_layout.removeWidget(view)
        self._unobserve_camera()
        view.close_panes()
        view.hide()
        view.deleteLater()

    def _unobserve_camera(self) -> None:
        """The panes close: their camera stops calling back here (#14)."""
        if self._cam_observer is not None:
            camera, tag = self._cam_observer
            camera.RemoveObserver(tag)
            self._cam_observer = None

    def _camera_moved(self, camera, _event) -> None:
        """VTK observer (GUI thread): the shared camera changed; repaint every pane once."""
        state = (camera.GetPosition(), camera.GetFocalPoint(), camera.GetViewUp(),
                 camera.GetParallelScale(), camera.GetViewAngle(), camera.GetWindowCenter())
        if state == self._cam_state:
            return  # e.g. only the clipping range, which every render resets
        self._cam_state = state
        if not self._cam_scheduled:
            self._cam_scheduled = True
            QTimer.singleShot(0, self._sync_cameras)

    def _sync_cameras(self) -> None:
        self._cam_scheduled = False
        if self.widget is None or self._closed:
            return
        self.camera_syncs += 1
        for pane in self.widget.panes:
            if pane.isVisible():
                pane.plotter.interactor.update()  # a paint renders the pane (coalesced)

    def view_options_changed(self) -> None:
        """The main view's colour map, edges, warp or section changed: the panes follow."""
        if self.is_split and self.widget is not None and not self._closed:
            self._apply_view_options()
            for pane in self.widget.panes:
                if pane.isVisible():
                    pane.plotter.interactor.update()

    def _apply_view_options(self) -> None:
        """The main viewport's colour map, mesh edges, warp and clip on every pane (the
        difference pane keeps its own colour map)."""
        if self.widget is None:
            return
        main = self.window.viewport
        for i, pane in enumerate(self.widget.panes):
            vs: ViewSettings = main.view_settings()
            cmap = (REL_COLORMAP if self.view.relative_difference else DIFF_COLORMAP) if (
                i == 2) else vs.colormap
            if not pane.has_field:  # taken up by its first show; no camera reset here
                pane.colormap, pane.warp_scale, pane.clip = cmap, vs.warp_scale, vs.clip
                pane.show_edges = vs.show_edges
                continue
            pane.apply_view_settings(replace(
                vs, field=pane.field[0], colormap=cmap, clim=pane.fixed_clim,
                split=self.view.split, relative_difference=self.view.relative_difference,
                camera=pane.camera_state()))
            # set_camera_state made room for a colour bar at the side; ours is at the bottom
            pane.plotter.camera.SetWindowCenter(*PANE_WINDOW_CENTER)

    @staticmethod
    def _set_colormap(pane: Viewport, cmap: str) -> None:
        if pane.colormap != cmap:
            pane.colormap = cmap  # set_colormap would render; the update below does



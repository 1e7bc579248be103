"""Imported parts in the main window: :class:`PartController` (``window.parts``) does everything
about them, so the window only needs small hooks:

* File > Open... (Ctrl+O), File > Open Recent, drag and drop and ``open_file`` read a file off
  the GUI thread (:mod:`physapp.gui.part_files`); on success the window switches to an
  :class:`~physapp.studies.imported.ImportedPartStudy` (``set_study``), on failure a dialog
  shows the reader's message and the current study stays.
* The Part set-up panel (a dock on the right, :class:`~physapp.gui.part_panel.PartPanel`) edits
  a draft :class:`~physapp.studies.imported.PartSetup`. Every valid change rebuilds the study and
  hands it to ``window.update_study`` (same view, result marked out of date, promoted values as
  sliders). While the set-up cannot be solved (no support, a value that is not a number, ...) the
  panel says why and Solve is disabled with that reason as its tooltip.
* The region of the selected support or load is coloured in the viewport. "Pick faces" selects
  boundary facets under the mouse (grown over a feature angle, :mod:`physapp.gui.part_tasks`)
  and turns them into a new named region of the mesh (:mod:`physapp.gui.part_view`).
* ``part_state`` / ``restore_part_state`` give a session file what it needs to reopen the part
  ready to solve.

All VTK calls happen on the GUI thread; reading, meshing and solving run in child processes.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QMenu,
    QMessageBox,
    QScrollArea,
)

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.gui.binding import subscribe
from physapp.gui.dock_layout import PartDockLayout
from physapp.gui.open_file import FileOpener, RecentFiles
from physapp.gui.part_files import PartFilesMixin, _report_of
from physapp.gui.part_hover import RegionHover
from physapp.gui.part_panel import PartPanel
from physapp.gui.part_tasks import (
    LOAD_KINDS,
    BoundaryFacets,
    PartInfo,
    ValueField,
    allowed_kinds,
    copy_setup,
    get_value,
    load_fields,
    make_part_study,
    material_field,
    material_values,
    parameter_for,
    regions_for,
    set_value,
    setup_file_data,
    setup_file_path,
    setup_problem,
    solve_part,
    train_problem,
)
from physapp.gui.part_view import PartViewMixin
from physapp.gui.part_widgets import PromoteDialog, ValueRow
from physapp.gui.relay import ThreadRelay
from physapp.studies.imported import ImportedPartStudy, PartSetup

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices


class PartController(PartFilesMixin, PartViewMixin, QObject):
    """Everything about imported parts in one main window (see the module docstring)."""

    part_opened = Signal(str)  # path of the part now shown
    open_failed = Signal(str)  # the message shown

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        self.recent = RecentFiles(window.settings_store)
        self.opener = FileOpener(window, parent=self)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._on_failed)
        self.opener.cancelled.connect(self._on_cancelled)
        self.opener.default_order = lambda: int(window.settings.element_order)
        self.study: ImportedPartStudy | None = None
        self.info: PartInfo | None = None
        self.mesh: MeshData | None = None
        self.setup = PartSetup()
        self.problem = ""
        self.error_dialog: QMessageBox | None = None
        self.feature_angle = 30.0
        self.selection = np.zeros(0, dtype=np.int64)
        self.seeds: list[list[float]] = []
        self.pick_mode = False
        self.highlighted: str | None = None
        self._facets: BoundaryFacets | None = None
        self._facets_future = None  # the facets being found on a worker thread
        self._stash: dict[str, tuple] = {}
        self._pending: dict | None = None
        self._viewport = None
        self._clicks = None  # ClickObserver of the picking mode
        self.region_hover = RegionHover(self)  # the region under the mouse, outlined (#13)
        self.panel: PartPanel | None = None
        self.dock: QDockWidget | None = None
        self.recent_menu: QMenu | None = None
        self._last_values: dict[str, float] = {}
        self.solver_warning = ""  # the last solve's warnings, as shown in the message bar
        # typed selectors are resolved on a worker thread (a second on a large mesh)
        self.selector_relay = ThreadRelay(self)
        self.selector_relay.result.connect(self._on_selected)
        self.selector_relay.error.connect(self._on_select_failed)
        self._selector_job = 0
        self._selector_pending: tuple | None = None
        #: set-ups of parts opened before in this window, by file: reopening brings them back
        self._memory: dict[str, dict] = {}
        # after each preview: the part's own overlay text
        window.preview_relay.result.connect(self._after_preview)
        subscribe(self, window.model.changed, self._slider_moved)  # the table shows the values
        # a solve applied (the window bumps the count after showing it)
        subscribe(self, window.app.solve.events.count, self._after_solve)

    # -- window hooks ---------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """True while the window shows an imported part."""
        return self.study is not None


    def study_opened(self, study) -> None:
        """Called by the window whenever it shows a study (new, switched or updated)."""
        w = self.window
        shown = (w.viewport, w.viewport.epoch)
        if shown != self._viewport:  # a new or emptied viewport: decorations start afresh
            self._viewport = shown
            # pyvistaqt's own drop handler would add the raw file to the scene: let the window
            # take drops and read them with physapp's readers
            w.viewport.plotter.setAcceptDrops(False)
            if self._clicks is not None:  # the picking mode's observer of the last study
                self._clicks.remove()
            self._clicks = None
            self.region_hover.watch(w.viewport.plotter)
            self.pick_mode = False
            self.highlighted = None
            if self.panel is not None:
                self.panel.show_pick_mode(False)
        if self.study is not None and study is not self.study and not (
                isinstance(study, ImportedPartStudy) and study.mesh is self.mesh):
            self._remember()  # leaving this part: its set-up comes back if it is reopened
        if not isinstance(study, ImportedPartStudy):
            self.study = self.info = self.mesh = None
            self._facets = self._facets_future = None
            self.problem = ""
            self._publish()
            if self.dock is not None:
                self.dock.hide()
            w.solve_action.setEnabled(True)
            return
        if study is not self.study:  # a part that the panel does not know yet
            self.study = study
            self.mesh = study.mesh
            self.info = getattr(study, "import_info", None) or PartInfo(
                study.spec.title, _report_of(study.mesh))  # made elsewhere (no file info)
            self.setup = copy_setup(study.part)
            self._stash = {}
            self.prefetch_facets()
            self.selection = np.zeros(0, dtype=np.int64)
            self.seeds = []
            self._ensure_panel()
            self.panel.load_part()
        self.dock.show()
        self._last_values = dict(w.model.params)
        self._check()
        sel = self.panel.selected()
        if sel is not None and self.highlighted is None:
            item = (self.setup.supports if sel[0] == "support" else self.setup.loads)[sel[1]]
            self.highlight(item.get("region"))

    def solve_job(self, params: dict, order: int) -> tuple | None:
        """The job for Run > Solve on the part, or None (with a message) when it cannot run."""
        if self.problem:
            text = f"Cannot solve yet: {self.problem}"
            if self.setup.supports or self.setup.loads:
                self.window.show_message(text, "info", "solve")
            else:  # a part just opened (the start-up solve): the panel already says it
                self.window.statusBar().showMessage(text, 10000)
            return None
        return (solve_part, self.window.model.study, params, order)


    def shutdown(self) -> None:
        self.selector_relay.closed = True  # a selector still running delivers nothing
        if self.panel is not None:
            self.panel.region_relay.closed = True
        if self.pick_mode:
            self.set_pick_mode(False)
        self.opener.shutdown()


    # -- set-up ---------------------------------------------------------------------------------
    def _ensure_panel(self) -> None:
        if self.panel is not None:
            return
        self.panel = PartPanel(self)
        scroll = QScrollArea()
        scroll.setWidget(self.panel)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(390)
        self.dock = QDockWidget("Part set-up", self.window)
        self.dock.setObjectName("part_setup_dock")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.dock.setWidget(scroll)
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # a tab beside the Study dock in a narrow window (the view keeps the width; #13)
        self.dock_layout = PartDockLayout(self.window, self.window.study_dock, self.dock)

    def default_region(self, *, support: bool, kind: str = "") -> str | None:
        """A region for a new support/load (of ``kind``): one it accepts, not used yet, other
        than the whole boundary (None: the whole part)."""
        what = "support" if support else kind
        if what and not support:
            ok = regions_for(self.mesh, self.setup.physics, what)
            if "none" in allowed_kinds(self.setup.physics, what) or not ok:
                return None
            names = [n for n in ok if n != "boundary"] or ok
            used = {i.get("region") for i in (*self.setup.supports, *self.setup.loads)}
            return next((n for n in names if n not in used), names[0])
        names = [n for n in self.mesh.boundaries if n != "boundary"] or list(self.mesh.boundaries)
        used = {i.get("region") for i in (*self.setup.supports, *self.setup.loads)}
        free = [n for n in names if n not in used]
        return (free or names)[0]

    def setup_changed(self) -> None:
        """The panel changed the draft set-up: rebuild the study when it is consistent."""
        if self.study is None:
            return
        self.window.message_bar.clear("region")
        if self.setup.as_dict() != self.study.part.as_dict():
            try:
                study = make_part_study(self.mesh, copy_setup(self.setup), self.info)
            except ParameterError:
                pass  # _check shows why
            else:
                self.study = study
                self.window.update_study(study)  # calls study_opened -> _check
                return
        self._check()

    def _check(self) -> None:
        """Work out whether Solve may run, say why not in the panel and on the button."""
        problem = (self.panel.input_error() if self.panel else "") or setup_problem(
            self.setup, self.mesh)
        if not problem and self.setup.as_dict() != self.study.part.as_dict():
            problem = "The set-up has changed but could not be applied."
        self.problem = problem
        w = self.window
        w.solve_button.setEnabled(not problem)
        w.solve_button.setToolTip(f"Cannot solve yet: {problem}" if problem else
                                  "Solve the part with the reference solver (F5)")
        w.solve_action.setEnabled(not problem)
        surrogates = getattr(w, "surrogates", None)
        if surrogates is not None:  # Train surrogate follows the set-up
            surrogates.update_trainable()
        self._overlay()
        if self.panel is not None:
            self.panel.show_status(problem)
        self._publish()

    def _publish(self) -> None:
        """The part's state and problem into the model (``app.part``): a session saves it, and
        a changed set-up marks the session dirty."""
        part = self.window.app.part
        state = self.part_state() if self.study is not None else None
        if state:
            state = {**state, "values": {}}  # the values are the design's (app.design)
        part.problem = self.problem
        part.state = state or None

    def set_physics(self, physics: str) -> None:
        """Switch elasticity <-> heat; each keeps its own supports and loads to come back to."""
        s = self.setup
        if physics == s.physics:
            return
        load_params = [p for p in s.parameters if p["target"].startswith("loads.")]
        self._stash[s.physics] = (s.supports, s.loads, load_params)
        supports, loads, params = self._stash.pop(physics, ([], [], []))
        s.physics, s.supports, s.loads = physics, supports, loads
        s.parameters = [p for p in s.parameters if not p["target"].startswith("loads.")] + params
        self.panel.input_errors.clear()
        self.panel.refresh_material()
        self.panel.refresh_table(select=None)
        try:
            study = make_part_study(self.mesh, copy_setup(s), self.info)
        except ParameterError:
            self._check()
            return
        self.study = study
        self.window.set_study(study)  # other fields: a new view

    def promote_dialog(self, row: ValueRow) -> PromoteDialog | None:
        """Ask the range of a slider for ``row``'s value (a non-blocking dialog; OK promotes)."""
        setup = self.setup
        f = row.field
        parts = row.target.split(".")
        if parts[0] == "material":
            value = float(getattr(material_values(setup), parts[1]))
            label, base = f.label, parts[1]
        else:
            i = int(parts[1])
            item = setup.loads[i]
            value = get_value(item, ".".join(parts[2:]))
            kind_label = LOAD_KINDS[setup.physics][item["kind"]][0]
            where = item.get("region")
            label = f"{kind_label} {f.label}" + (f" on {where}" if where else "")
            base = "_".join(x for x in (item["kind"], where, f.label.replace(" ", "_"))
                            if x).replace("-", "_")
        if row.target in self.panel.input_errors:
            self.window.show_message("Type a number first, then make it a slider.", "warning",
                                     "input")
            return None
        taken = {p["name"] for p in setup.parameters}
        name = base if base not in taken else next(f"{base}_{k}" for k in range(2, 999)
                                                   if f"{base}_{k}" not in taken)
        dialog = PromoteDialog(label, value * f.scale, f.shown_unit, name, taken, self.window)
        target = row.target

        def done(code: int) -> None:
            dialog.deleteLater()
            if code == QDialog.DialogCode.Accepted and dialog.result_range is not None:
                name, lo, hi = dialog.result_range
                self.promote(target, name, lo / f.scale, hi / f.scale, label=label)

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def promote(self, target: str, name: str, lower: float, upper: float, *,
                label: str = "") -> None:
        """Make a value a slider parameter (SI range); the sliders appear on the left."""
        field = _field_of(self.setup, target)
        self.setup.promote(name, target, lower, upper, label=label or name, unit=field.unit)
        self.setup.parameters[-1].update(scale=field.scale, display_unit=field.shown_unit)
        self.panel.refresh_values()
        self.setup_changed()

    def unpromote(self, target: str) -> None:
        """Remove the slider of ``target``; the value keeps the slider's current value."""
        p = parameter_for(self.setup, target)
        if p is None:
            return
        value = self.window.model.params.get(p["name"], p["default"])
        self.setup.parameters.remove(p)
        parts = target.split(".")
        if parts[0] == "material":
            self.setup.material_overrides[parts[1]] = value
            if self.setup.material != "custom":  # a library value: back to the library
                base = getattr(material_values(PartSetup(material=self.setup.material)),
                               parts[1])
                if base == value:
                    del self.setup.material_overrides[parts[1]]
        else:
            set_value(self.setup.loads[int(parts[1])], ".".join(parts[2:]), value)
        self.panel.refresh_values()
        self.setup_changed()


    def _after_solve(self, *_args) -> None:
        """A field is on screen now: the region highlight becomes an outline."""
        if self.window.closing:
            return
        if self.highlighted is not None and self.mesh is not None:
            self.highlight(self.highlighted)
        self.show_solver_warnings()

    def show_solver_warnings(self) -> str:
        """The solve's warnings in the message bar (a P1 solve on a mesh too coarse for bending
        gives its estimated error and what to do); returns the text shown ('' when none)."""
        result = getattr(self.window, "result", None)
        if not self.active or result is None:
            return ""
        meta = result.meta
        warnings = [str(w) for w in meta.get("warnings", ()) if w]
        bar = self.window.message_bar
        if not warnings:
            bar.clear("solver")
            self.solver_warning = ""
            return ""
        text = " ".join(warnings)
        err = meta.get("p1_error_estimate")
        if err is not None and "P1" in text and f"{100 * float(err):.0f} %" not in text:
            text += f" (estimated P1 error {100 * float(err):.0f} %)"
        self.solver_warning = text
        self.window.show_message(text, "warning", "solver")
        return text

    def _slider_moved(self, name: str, value: float) -> None:
        if self.active:
            self._last_values = dict(self.window.model.params)
        if self.panel is not None:
            self.panel.rewrite_rows()



    # -- surrogates of the part -----------------------------------------------------------------
    def train_problem(self) -> str:
        """Why Run > Train surrogate cannot run on this part ('' when it can)."""
        if self.study is None or self.info is None:
            return "open a part first."
        return train_problem(self.setup, self.info, self.problem)

    def model_study_id(self) -> str:
        """``part:<file>::<set-up file>``: the id surrogates of this part and set-up carry."""
        from physapp.studies.imported import PART_ID_SEP

        data = setup_file_data(self.setup, self.info)
        return f"part:{self.info.path}{PART_ID_SEP}{setup_file_path(data, self.info.path)}"

    def training_study(self) -> ImportedPartStudy:
        """The part's study under its file-based id, with the set-up saved as that file (the
        sweep's workers rebuild the study from it: :func:`physapp.studies.get_study`)."""
        import dataclasses
        import json

        data = setup_file_data(self.setup, self.info)
        path = setup_file_path(data, self.info.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))
        study = copy.copy(self.study)
        study.spec = dataclasses.replace(study.spec, id=self.model_study_id())
        return study


    def _set_mesh(self, mesh: MeshData) -> None:
        self.mesh = mesh
        if self._facets is not None:
            self._facets.mesh = mesh  # same nodes and cells: facets and normals still hold
        try:
            study = make_part_study(mesh, copy_setup(self.setup), self.info)
        except ParameterError:  # the draft is not consistent yet: applied with its next fix
            self._check()
            return
        self.study = study
        self.window.update_study(study)


def _field_of(setup: PartSetup, target: str) -> ValueField:
    parts = target.split(".")
    if parts[0] == "material":
        return material_field(parts[1])
    item = setup.loads[int(parts[1])]
    key = ".".join(parts[2:])
    return next(f for f in load_fields(setup.physics, item["kind"], 3, item) if f.key == key)

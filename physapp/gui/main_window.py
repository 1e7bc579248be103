"""The main window: parameter sliders on the left, the viewport in the centre, status below.

Threads: geometry previews run on a :class:`LatestWinsWorker` thread and come back through a Qt
signal; reference solves run in a child process polled by :class:`QtJobRunner`. Both deliver
immutable results that only this (GUI) thread applies to widgets and VTK.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from physapp.compute.latest import LatestWinsWorker
from physapp.compute.tasks import solve_study
from physapp.core.results import FieldResult
from physapp.core.study import Study
from physapp.gui.message_bar import MessageBar
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.gui.qt_parameter_panel import QtParameterPanel
from physapp.gui.study_model import StudyModel
from physapp.gui.viewport import STALE_TEXT, Viewport


class _PreviewBridge(QObject):
    """Carries LatestWinsWorker callbacks from its thread to the GUI thread (queued signals)."""

    result = Signal(int, object)
    error = Signal(int, str)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.closed = False

    # called on the worker thread: after the window closed the C++ object may be gone, and an
    # exception there would only surface as an unhandled-thread warning, so drop it quietly
    def send_result(self, lw_id: int, payload: object) -> None:
        try:
            if not self.closed:
                self.result.emit(lw_id, payload)
        except RuntimeError:
            pass

    def send_error(self, lw_id: int, message: str) -> None:
        try:
            if not self.closed:
                self.error.emit(lw_id, message)
        except RuntimeError:
            pass


class MainWindow(QMainWindow):
    """physapp's main window for one study."""

    def __init__(
        self,
        study: Study,
        *,
        auto_solve: bool = True,
        runner: QtJobRunner | None = None,
        parent: QWidget | None = None,
    ):
        """``runner``: a shared, already warm job runner (tests); the window then does not own
        it and only cancels its own job on close. By default the window makes and owns one."""
        super().__init__(parent)
        self.model = StudyModel(study, self)
        self.spec = study.spec
        self.setWindowTitle(f"physapp \u2014 {self.spec.title}")
        self.resize(1400, 900)
        self.result: FieldResult | None = None  # latest solve on screen (or cached)
        self._solved_params: dict[str, float] | None = None
        self._shown_version = -1  # model version of what the viewport shows
        self._job: tuple[int, int, dict[str, float]] | None = None  # id, version, params
        self._last_preview = 0  # latest-wins id of the preview on screen
        self._latest_request = 0  # latest-wins id of the newest preview request
        self.solve_count = 0  # finished solves (tests wait on it)
        self._closing_done = False

        self.viewport = Viewport(self)
        self.message_bar = MessageBar(self)
        central = QWidget(self)
        col = QVBoxLayout(central)
        col.setContentsMargins(4, 4, 4, 0)
        col.addWidget(self.message_bar)
        col.addWidget(self.viewport, 1)
        self.setCentralWidget(central)
        self._build_side_panel()
        self._build_status_bar()
        self._build_menus()

        self._owns_runner = runner is None
        self.runner = QtJobRunner(parent=self) if runner is None else runner
        self._runner_slots = (
            (self.runner.progress, self._on_progress),
            (self.runner.finished, self._on_solved),
            (self.runner.failed, self._on_solve_failed),
            (self.runner.cancelled, self._on_cancelled),
        )
        for signal, slot in self._runner_slots:
            signal.connect(slot)
        self._bridge = _PreviewBridge(self)
        self._bridge.result.connect(self._on_preview)
        self._bridge.error.connect(self._on_preview_error)
        self.previewer = LatestWinsWorker(
            lambda req: (req[0], study.build_mesh(req[1])),
            self._bridge.send_result,
            self._bridge.send_error,
        )
        self.model.changed.connect(self._on_param_changed)
        self._update_state()
        QTimer.singleShot(0, self._request_preview)  # a mesh on screen before the first solve
        if auto_solve:
            QTimer.singleShot(0, self.solve)

    # -- construction ---------------------------------------------------------------------------
    def _build_side_panel(self) -> None:
        side = QWidget()
        side.setMinimumWidth(360)
        col = QVBoxLayout(side)
        title = QLabel(f"<b>{self.spec.title}</b><br><small>{self.spec.description}</small>")
        title.setWordWrap(True)
        col.addWidget(title)

        params = QGroupBox("Design parameters")
        self.panel = QtParameterPanel(self.model)
        self.panel.error.connect(lambda msg: self.show_message(msg, "error", "input"))
        QVBoxLayout(params).addWidget(self.panel)
        col.addWidget(params)

        display = QGroupBox("Display")
        form = QFormLayout(display)
        self.field_combo = QComboBox()
        for f in self.spec.fields:
            self.field_combo.addItem(f"{f.label}", f.name)
        self.field_combo.setCurrentIndex(self.field_combo.findData(self.spec.default_field))
        self.field_combo.currentIndexChanged.connect(self._on_field_changed)
        self.edges_check = QCheckBox("Show mesh edges")
        self.edges_check.toggled.connect(self.viewport.set_show_edges)
        form.addRow("Field", self.field_combo)
        form.addRow("", self.edges_check)
        col.addWidget(display)

        solve_box = QGroupBox("Reference solve (finite elements, P2)")
        sb = QVBoxLayout(solve_box)
        row = QHBoxLayout()
        self.solve_button = QPushButton("Solve  (F5)")
        self.solve_button.clicked.connect(self.solve)
        self.cancel_button = QPushButton("Cancel  (Esc)")
        self.cancel_button.clicked.connect(self.cancel_solve)
        self.cancel_button.setEnabled(False)
        row.addWidget(self.solve_button)
        row.addWidget(self.cancel_button)
        sb.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        sb.addWidget(self.progress)
        self.results_label = QLabel("")
        # room for the key quantities before the first result arrives (no layout jump)
        self.results_label.setMinimumHeight(3 * self.results_label.fontMetrics().lineSpacing())
        self.results_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        sb.addWidget(self.results_label)
        col.addWidget(solve_box)
        col.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(400)
        dock = QDockWidget("Study", self)
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        dock.setWidget(scroll)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)

    def _build_status_bar(self) -> None:
        self.state_label = QLabel()
        self.info_label = QLabel("No result yet")
        self.statusBar().addPermanentWidget(self.info_label)
        self.statusBar().addPermanentWidget(self.state_label)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")
        run_menu = bar.addMenu("&Run")
        self.solve_action = self._action(run_menu, "&Solve", self.solve, "F5")
        self.cancel_action = self._action(run_menu, "&Cancel solve", self.cancel_solve, "Esc")
        view_menu = bar.addMenu("&View")
        self._action(view_menu, "&Reset camera", self.viewport.reset_camera, "Ctrl+R")
        edges = self._action(view_menu, "Show mesh &edges", None, "Ctrl+E")
        edges.setCheckable(True)
        edges.toggled.connect(self.edges_check.setChecked)
        self.edges_check.toggled.connect(edges.setChecked)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About physapp", self._about)

    def _action(self, menu, text, slot, *keys) -> QAction:
        act = QAction(text, self)
        shortcuts = [QKeySequence(k) for k in keys]
        if shortcuts:
            act.setShortcuts(shortcuts)
        act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        if slot is not None:
            act.triggered.connect(lambda _=False: slot())
        menu.addAction(act)
        return act

    # -- public actions -------------------------------------------------------------------------
    def solve(self) -> None:
        """Start a reference solve of the current design (cancels one that is running)."""
        params = self.model.params
        job_id = self.runner.submit(solve_study, self.spec.id, params)
        self._job = (job_id, self.model.version, params)
        self.progress.setValue(0)
        self.progress.setFormat("starting solver \u2026")
        self.cancel_button.setEnabled(True)
        self.statusBar().showMessage("Solving \u2026 (Esc to cancel)")
        self.message_bar.clear("solve")

    def cancel_solve(self) -> None:
        if self.runner.busy:
            self.runner.cancel()

    def show_message(self, text: str, level: str = "error", tag: str = "") -> None:
        """A non-modal message above the viewport, echoed in the status bar."""
        self.message_bar.show_message(text, level, tag)
        self.statusBar().showMessage(text.splitlines()[0], 10000)

    @property
    def field(self) -> tuple[str, str, str]:
        f = self.spec.field_spec(self.field_combo.currentData())
        return f.name, f.label, f.unit

    @property
    def is_stale(self) -> bool:
        return self._solved_params != self.model.params

    # -- slots ----------------------------------------------------------------------------------
    def _on_param_changed(self, name: str, value: float) -> None:
        if self.spec.parameter(name).geometric:
            self._request_preview()
        self._update_state()

    def _request_preview(self) -> None:
        self._latest_request = self.previewer.submit((self.model.version, self.model.params))

    def _on_preview(self, lw_id: int, payload: tuple) -> None:
        version, mesh = payload
        if lw_id < self._last_preview or version <= self._shown_version:
            return  # older than what is on screen (a solve may have overtaken it)
        self._last_preview = lw_id
        self._shown_version = version
        self.message_bar.clear("geometry")
        if (
            self.result is not None
            and self.model.geometry(self.result.meta.get("params", {})) == self.model.geometry()
        ):
            self.viewport.show_result(self.result, self.field)  # back to a solved geometry
        else:
            self.viewport.show_mesh(mesh)
        self._update_state()

    def _on_preview_error(self, lw_id: int, message: str) -> None:
        if lw_id == self._latest_request:  # errors of superseded requests no longer matter
            self.show_message(message, "error", "geometry")
            self.viewport.set_overlay("Invalid design - see the message above")
            self.state_label.setText("<b style='color:#b00'>Invalid design</b>")

    def _on_field_changed(self) -> None:
        self.viewport.set_field(self.field)

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if self._job and job_id == self._job[0]:
            self.progress.setValue(int(100 * fraction))
            self.progress.setFormat(f"{message} \u2013 %p%")

    def _on_solved(self, job_id: int, result: FieldResult) -> None:
        if not self._job or job_id != self._job[0]:
            return
        _, version, params = self._job
        self._job = None
        self._finish_progress("done")
        self.solve_count += 1
        if self.model.geometry(params) != self.model.geometry():
            self.show_message(
                "A solve finished for a geometry that has changed since; press F5 "
                "to solve the current design.",
                "warning",
                "solve",
            )
            return
        self.result, self._solved_params = result, params
        self._shown_version = max(self._shown_version, version)
        self.viewport.show_result(result, self.field)
        self.message_bar.clear("geometry")
        meta = result.meta
        self.info_label.setText(
            f"Reference solver: {meta.get('n_dofs', 0):,} DOFs, solved in "
            f"{meta.get('t_total', 0.0):.2f} s"
        )
        self.results_label.setText(self._key_quantities(meta.get("key_quantities", {}), meta.get("key_units")))
        self.statusBar().showMessage(
            f"Solve finished: {meta.get('n_dofs', 0):,} DOFs in {meta.get('t_total', 0.0):.2f} s", 8000
        )
        self._update_state()

    def _on_solve_failed(self, job_id: int, message: str, user_error: bool) -> None:
        if not self._job or job_id != self._job[0]:
            return
        self._job = None
        self._finish_progress("failed")
        if not user_error:
            print(message, file=sys.stderr)  # full traceback for the bug report
            message = "The solver failed unexpectedly: " + message.splitlines()[0]
        self.show_message(message, "error", "solve")
        self._update_state()

    def _on_cancelled(self, job_id: int, message: str) -> None:
        if not self._job or job_id != self._job[0]:
            return
        self._job = None
        self._finish_progress("cancelled")
        self.show_message(
            "Solve cancelled. The shown result is unchanged; press F5 to solve again.",
            "info",
            "solve",
        )
        self._update_state()

    # -- helpers --------------------------------------------------------------------------------
    def _finish_progress(self, state: str) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setValue(100 if state == "done" else 0)
        self.progress.setFormat(state)

    def _update_state(self) -> None:
        """Status label and viewport overlay say whether the field matches the sliders."""
        if self._solved_params is None:
            text = "<b style='color:#b36b00'>No result yet</b>"
        elif self.is_stale:
            text = "<b style='color:#b00'>Result out of date</b> (F5 to solve)"
            if self.viewport.has_field:
                self.viewport.set_overlay(STALE_TEXT)
        else:
            text = "<b style='color:#080'>Result up to date</b>"
            self.viewport.set_overlay("")
        self.state_label.setText(text)
        # the key quantities belong to the last solve: grey them when they no longer match
        self.results_label.setEnabled(not self.is_stale)

    #: unit shown for an SI unit of a key quantity, and the factor to get there
    DISPLAY_UNITS = {"Pa": ("MPa", 1e-6), "m": ("mm", 1e3)}

    def _key_quantities(self, kq: dict, units: dict | None = None) -> str:
        units = units or {}
        names = [n for n in self.spec.key_quantities if n in kq] or list(kq)
        lines = []
        for name in names:
            unit, factor = self.DISPLAY_UNITS.get(units.get(name, ""), (units.get(name, ""), 1.0))
            lines.append(f"{name.replace('_', ' ')}: {kq[name] * factor:.4g} {unit}".rstrip())
        return "Last solve:\n" + "\n".join(lines)

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About physapp",
            "<b>physapp</b><br>Interactive design "
            "exploration with a finite-element reference solver.<br>"
            f"Study: {self.spec.title} ({self.spec.unit_system})",
        )

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        # stop the child process and the preview thread before VTK goes away
        if self._closing_done:  # Qt may deliver close twice (window.close() and teardown)
            super().closeEvent(event)
            return
        self._closing_done = True
        if self._owns_runner:
            self.runner.shutdown()
        else:  # a shared runner lives on: stop our job and stop listening
            if self._job is not None:
                self.runner.cancel()
            for signal, slot in self._runner_slots:
                signal.disconnect(slot)
        self._job = None
        self._bridge.closed = True
        self.previewer.close()
        self.viewport.close_viewport()
        super().closeEvent(event)

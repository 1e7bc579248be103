"""The main window: parameter sliders on the left, the viewport in the centre, status below.

Threads: geometry previews run on a :class:`LatestWinsWorker` thread and come back through a Qt
signal; reference solves run in a child process polled by :class:`QtJobRunner`. Both deliver
immutable results that only this (GUI) thread applies to widgets and VTK.

State lives in one Qt-free :class:`~physapp.app.AppModel` (``window.app``; ``window.model`` is its
design slice): widgets subscribe to it and controllers change it. One window shows one study at a
time: :meth:`MainWindow.set_study` (File > New study...) sets the model's study (the model, its
subscribers, the preview worker, menus, status bar and warm solver process stay) and builds the
study's viewport and side panel again (:meth:`_show_study`).
"""

from __future__ import annotations

import html
import os
import platform

import PySide6
import pyvista as pv
from PySide6.QtCore import QByteArray, QRect, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QDockWidget,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from physapp import __version__
from physapp.app import AppModel
from physapp.compute.latest import LatestWinsWorker
from physapp.core.errors import PhysappError
from physapp.core.results import FieldResult
from physapp.core.study import Study
from physapp.gui.actions import ActionRegistry
from physapp.gui.axisym import AxisymmetricView
from physapp.gui.camera_fit import CameraFit
from physapp.gui.color_range import ColorRangeControl
from physapp.gui.compare_view import CompareController
from physapp.gui.export_actions import ExportController
from physapp.gui.flow_view import FlowView
from physapp.gui.gallery import GalleryDialog
from physapp.gui.history_chart import HistoryChart
from physapp.gui.history_prediction import HistoryPredictionController
from physapp.gui.message_bar import MessageBar
from physapp.gui.part_panel import PartController
from physapp.gui.playback import PlaybackController
from physapp.gui.plugin_panels import add_panels_menu
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.gui.qt_parameter_panel import QtParameterPanel
from physapp.gui.relay import ThreadRelay
from physapp.gui.safety import SafetyController
from physapp.gui.session_controller import SessionController
from physapp.gui.setup_symbols import SetupSymbols
from physapp.gui.settings import AppSettings, SettingsDialog, load_settings, open_store
from physapp.gui.side_panels import DisplayBox, SolveBox, key_quantities_text
from physapp.gui.solve_controller import SolveController
from physapp.gui.surrogate_panel import SurrogateController
from physapp.gui.view_tools import ViewTools
from physapp.gui.viewport import STALE_TEXT, Viewport
from physapp.studies import get_study

#: QSettings key of the last window's geometry (restored by the next window, kept on screen)
GEOMETRY_KEY = "window/geometry"
#: how long after a study opens its shipped surrogate is selected (the window paints first)
AUTO_SURROGATE_DELAY_MS = 200


class MainWindow(QMainWindow):
    """physapp's main window; shows one study at a time (see :meth:`set_study`)."""

    def __init__(
        self,
        study: Study,
        *,
        auto_solve: bool = True,
        runner: QtJobRunner | None = None,
        settings_store: QSettings | None = None,
        parent: QWidget | None = None,
    ):
        """``runner``: a shared, already warm job runner (tests, the start screen); the window
        then does not own it and only cancels its own job on close. By default the window makes
        and owns one. ``settings_store``: where the settings live (tests pass a temporary one);
        the user's QSettings by default."""
        super().__init__(parent)
        self.auto_solve = auto_solve
        self.settings_store = settings_store
        self.settings: AppSettings = load_settings(settings_store)
        self.app = AppModel(study)  # all state; it outlives study switches
        self.model = self.app.design
        self.closing = False  # closeEvent has run (queued events after it are dropped)
        self.gallery: GalleryDialog | None = None  # the last File > New study... dialog
        self.settings_dialog: SettingsDialog | None = None
        self.actions = ActionRegistry(self)  # every menu action, by id
        self.viewport: Viewport | None = None

        self.message_bar = MessageBar(self)
        central = QWidget(self)
        self.central_layout = QVBoxLayout(central)  # message bar, toolbars, viewport
        self.central_layout.setContentsMargins(4, 4, 4, 0)
        self.central_layout.addWidget(self.message_bar)
        self.setCentralWidget(central)
        self._dock = QDockWidget("Study", self)
        self._dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self._dock)
        # Solve, progress and key quantities below the (scrolling) study panel: always in view,
        # also at 1280x800 (#13)
        self._results_dock = QDockWidget("Solve and results", self)
        self._results_dock.setObjectName("results_dock")
        self._results_dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self._results_dock)
        self.splitDockWidget(self._dock, self._results_dock, Qt.Orientation.Vertical)
        self._build_status_bar()
        self._place_window()
        self.app.messages.connect(self._on_message)
        self.message_bar.cleared.connect(self._on_message_cleared)
        self.app.view.events.field.connect(self._on_field_changed)
        self.app.view.events.show_edges.connect(self._on_show_edges)
        self.app.solve.events.status.connect(lambda *_: self.actions.update_enabled())
        self.preview_relay = ThreadRelay(self)  # geometry previews, all studies
        self.preview_relay.result.connect(self._on_preview)
        self.preview_relay.error.connect(self._on_preview_error)
        self.previewer = LatestWinsWorker(
            lambda req: (req[0], req[2].build_mesh(req[1])),
            self.preview_relay.send_result,
            self.preview_relay.send_error,
        )
        self.safety = SafetyController(self)  # yield strength, safety factor (#13)
        self.symbols = SetupSymbols(self)  # support and load symbols in the view (#13)
        self.camera_fit = CameraFit(self)  # refit after the view changes size (#13)
        self.color_range = ColorRangeControl(self)  # automatic / fixed / locked range (#13)
        self.axisym = AxisymmetricView(self)  # r-z axes, revolved 3D view (#13)
        self.parts = PartController(self)  # imported parts: File > Open, set-up panel, picking
        self.surrogates = SurrogateController(self)  # model selector, live predictions, training
        self.compare = CompareController(self)  # split view: surrogate | reference | difference
        self.view_tools = ViewTools(self)  # probe, line plot, clip/warp/colours, camera views
        self.flow = FlowView(self)  # streamlines and velocity arrows of flow results
        self.sessions = SessionController(self)  # File > Save/Open session, autosave
        self.exports = ExportController(self)  # File > Export: figure, mesh, table, animation
        self.setAcceptDrops(True)  # a mesh or CAD file dropped on the window opens it
        self._build_menus()

        self.runner = QtJobRunner(parent=self) if runner is None else runner
        self.solves = SolveController(self.app, self, self.runner, owns_runner=runner is None)
        self.model.changed.connect(self._on_param_changed)
        self._last_preview = 0  # latest-wins id of the preview on screen
        self._latest_request = 0  # latest-wins id of the newest preview request
        self._show_study(study)
        # time slider under the viewport and curves over time of a history (#18)
        self.playback = PlaybackController(self)
        self.central_layout.addWidget(self.playback.bar)
        self.history_chart = HistoryChart(self, self.playback)
        self.playback.bar.setVisible(False)
        # a history model's predicted history plays; compared with a solve of it (#18, #22)
        self.history_predictions = HistoryPredictionController(self)
        if auto_solve:
            QTimer.singleShot(0, self.solve)

    # -- model views ----------------------------------------------------------------------------
    @property
    def solve_count(self) -> int:
        """Finished solves, all studies together (tests wait on it)."""
        return self.app.solve.count

    @property
    def spec(self):
        """The study's spec as the window shows it (with the derived safety factor)."""
        return self.safety.display_spec(self.model.spec)

    # -- construction ---------------------------------------------------------------------------
    @property
    def result(self) -> FieldResult | None:
        """The latest reference solve on screen (or cached)."""
        return self.solves.result

    def solve(self) -> None:
        """Start a reference solve of the current design (cancels one that is running)."""
        self.solves.solve()

    def cancel_solve(self) -> None:
        self.solves.cancel()

    def note_shown_version(self, version: int) -> None:
        """The viewport shows the design of ``version`` (older previews are dropped)."""
        self._shown_version = max(self._shown_version, version)

    def show_key_quantities(self, result: FieldResult) -> None:
        meta = result.meta
        kq = self.safety.key_quantities(dict(meta.get("key_quantities", {})))
        order = (*self.spec.key_quantities, *(("min_safety_factor",) if self.safety.active
                                               else ()))
        self.results_label.setText(key_quantities_text(order, kq, meta.get("key_units")))

    def _show_study(self, study: Study) -> None:
        """Build what belongs to the model's (new) study: viewport and side panel."""
        self.setWindowTitle(f"{self.spec.title} \u2014 physapp")
        if getattr(self, "playback", None) is not None:
            self.playback.clear()  # the history belonged to the previous study
        self.solves.result = None
        self.app.solve.solved_params = None
        # previews requested for an earlier design (another study) are never shown
        self._study_version = self.model.version
        self._shown_version = self._study_version - 1  # model version the viewport shows

        old = self.viewport
        self.safety.study_opened(study)
        self.axisym.study_opened(study)
        self.viewport = Viewport(self)
        self.viewport.derive = lambda r: self.axisym.derive(self.safety.derive(r))
        self.viewport.set_show_edges(self.app.view.show_edges)
        self.view_tools.viewport_created(self.viewport)
        self.flow.viewport_created(self.viewport)
        self.symbols.viewport_created(self.viewport)
        self.camera_fit.viewport_created(self.viewport)
        self.color_range.viewport_created(self.viewport)
        self.axisym.viewport_created(self.viewport)
        if old is None:
            self.central_layout.addWidget(self.viewport, 1)
        else:  # the new viewport takes the old one's place in the layout
            index = self.central_layout.indexOf(old)
            self.central_layout.removeWidget(old)
            old.close_viewport()  # VTK first, on this thread
            old.hide()
            old.deleteLater()
            self.central_layout.insertWidget(max(index, 0), self.viewport, 1)
        self._build_side_panel()
        self.info_label.setText("No result yet")
        self.update_state()
        self.parts.study_opened(study)
        QTimer.singleShot(0, self._request_preview)  # a mesh on screen before the first solve
        if self.settings.auto_surrogate and os.environ.get("PHYSAPP_AUTO_SURROGATE") != "0":
            from physapp.gui.trained_range import open_in_trained_range

            open_in_trained_range(self)  # before the first solve: a design the model knows
            # the shipped surrogate answers the sliders at once; after the first paint, since
            # loading torch takes a moment
            QTimer.singleShot(AUTO_SURROGATE_DELAY_MS, self.surrogates.select_shipped)

    def _close_study(self) -> None:
        """Stop the study's background work: its solve job and its predictions."""
        self.solves.drop_job()
        self.surrogates.study_closing()
        self.compare.study_closing()

    def _build_side_panel(self) -> None:
        side = QWidget()
        side.setMinimumWidth(360)
        col = QVBoxLayout(side)
        # escaped: a description such as "(Re <= 2000)" is text, not a tag
        title = QLabel(f"<b>{html.escape(self.spec.title)}</b><br>"
                       f"<small>{html.escape(self.spec.description)}</small>")
        title.setWordWrap(True)
        col.addWidget(title)
        col.addWidget(self.surrogates.build_panel())  # reference solver or a surrogate

        params = QGroupBox("Design parameters")
        self.panel = QtParameterPanel(self.model)
        self.panel.error.connect(lambda msg: self.app.notify(msg, "error", "input"))
        QVBoxLayout(params).addWidget(self.panel)
        col.addWidget(params)

        display = DisplayBox(self.app.view, self.spec.fields, self.spec.default_field)
        self.field_combo, self.edges_check = display.field_combo, display.edges_check
        display.form.addRow("", self.compare.build_button())  # split view (F6)
        self.view_tools.add_display_rows(display.form)  # colour map, deform, section
        self.color_range.add_display_row(display.form)  # automatic / fixed / locked
        self.axisym.add_display_row(display.form)  # r-z section or revolved (axisymmetric)
        self.safety.add_display_row(display.form)  # yield strength (safety factor)
        self.symbols.add_display_row(display.form)  # show supports and loads
        self.flow.add_display_rows(display.form)  # streamlines, arrows (flow studies)
        col.addWidget(display)

        self.solve_box = SolveBox(self.app.solve, self._solve_box_title())
        self.solve_box.solve_requested.connect(self.solve)
        self.solve_box.cancel_requested.connect(self.cancel_solve)
        for name in ("solve_button", "cancel_button", "progress", "results_label"):
            setattr(self, name, getattr(self.solve_box, name))
        self.solve_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        # room for "Last solve:" and every key quantity: the dock does not grow afterwards
        lines = 1 + max(len(self.spec.key_quantities) + self.safety.active, 2)
        self.results_label.setMinimumHeight(lines * self.results_label.fontMetrics().lineSpacing())
        old_box = self._results_dock.widget()
        self._results_dock.setWidget(self.solve_box)
        if old_box is not None:
            old_box.deleteLater()
        col.addStretch(1)

        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(400)
        old = self._dock.widget()
        self._dock.setWidget(scroll)
        if old is not None:  # the previous study's panel
            old.deleteLater()

    # -- window geometry ------------------------------------------------------------------------
    def _store(self) -> QSettings:
        return open_store() if self.settings_store is None else self.settings_store

    def _place_window(self) -> None:
        """The saved geometry of the last window, else 1400x900 or the screen if smaller; on
        screen either way."""
        saved = self._store().value(GEOMETRY_KEY)
        restored = False
        if isinstance(saved, (QByteArray, bytes)) and len(saved):
            restored = self.restoreGeometry(QByteArray(saved))
        if not restored:
            area = self._screen_area()
            self.resize(min(1400, area.width()), min(900, area.height()))
            self.move(area.topLeft())
        self.keep_on_screen()

    def _screen_area(self) -> QRect:
        screen = QGuiApplication.screenAt(self.geometry().center()) or self.screen() \
            or QGuiApplication.primaryScreen()
        return screen.availableGeometry()

    def keep_on_screen(self) -> None:
        """Shrink the window to the screen it is (mostly) on and move it fully onto it (a window
        placed at the start screen's corner, or restored from a larger monitor)."""
        area = self._screen_area()
        frame = self.frameGeometry()
        extra_w = max(frame.width() - self.width(), 0)  # the window manager's frame
        extra_h = max(frame.height() - self.height(), 0)
        w = min(self.width(), area.width() - extra_w)
        h = min(self.height(), area.height() - extra_h)
        if (w, h) != (self.width(), self.height()):
            self.resize(w, h)
        x = min(max(frame.x(), area.left()), area.left() + area.width() - (w + extra_w))
        y = min(max(frame.y(), area.top()), area.top() + area.height() - (h + extra_h))
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)

    def save_geometry(self) -> None:
        """Remember the window's size and place for the next window (on close)."""
        self._store().setValue(GEOMETRY_KEY, self.saveGeometry())

    def _solve_box_title(self) -> str:
        return f"Reference solve (finite elements, P{self.settings.element_order})"

    def _build_status_bar(self) -> None:
        self.state_label = QLabel()
        self.info_label = QLabel("No result yet")
        self.device_label = QLabel()
        self.device_label.setToolTip("Compute device for surrogates (File > Settings..., Ctrl+,)")
        # a divider: the permanent labels would otherwise run into each other
        self.device_label.setStyleSheet("padding: 0 10px; border-right: 1px solid #b4b4b4;")
        self.show_device()
        self.statusBar().addPermanentWidget(self.device_label)
        self.statusBar().addPermanentWidget(self.info_label)
        self.statusBar().addPermanentWidget(self.state_label)

    def show_device(self) -> None:
        self.device_label.setText(f"Device: {self.settings.device_label}")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = self._menu(bar, "&File")
        add = self.actions.add
        add("file.new_study", file_menu, "&New study\u2026", self.open_gallery, "Ctrl+N")
        self.parts.add_file_actions(file_menu)  # Open... (Ctrl+O), Open Recent
        self.surrogates.add_file_actions(file_menu)  # Load surrogate...
        file_menu.addSeparator()
        self.sessions.add_file_actions(file_menu)  # Open session..., Save (Ctrl+S), Save as
        self.exports.add_file_actions(file_menu)  # Export > Figure, Mesh, Table, Animation
        from physapp.gui.import_dataset import DatasetImportController

        self.dataset_import = DatasetImportController(self)  # Import data set... (#19)
        self.dataset_import.add_file_actions(file_menu)
        file_menu.addSeparator()
        settings = add("file.settings", file_menu, "&Settings\u2026", self.open_settings,
                       "Ctrl+,")
        settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        file_menu.addSeparator()
        quit_action = add("file.quit", file_menu, "&Quit", self.close, "Ctrl+Q")
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        run_menu = self._menu(bar, "&Run")
        self.solve_action = add("run.solve", run_menu, "&Solve", self.solve, "F5")
        self.cancel_action = add("run.cancel", run_menu, "&Cancel solve", self.cancel_solve,
                                 "Esc", enabled_when=lambda: self.app.solve.busy)
        self.surrogates.add_run_actions(run_menu)  # Train surrogate...
        from physapp.gui.online_dialog import add_run_action as _add_online_action

        _add_online_action(self, run_menu)  # Learn while solving...
        view_menu = self._menu(bar, "&View")
        # a lambda: the viewport is rebuilt when the study changes
        add("view.reset_camera", view_menu, "&Reset camera", lambda: self.viewport.reset_camera(),
            "Ctrl+R")
        self.edges_action = add("view.edges", view_menu, "Show mesh &edges", None, "Ctrl+E")
        self.edges_action.setCheckable(True)
        self.edges_action.setChecked(self.app.view.show_edges)
        self.edges_action.toggled.connect(lambda on: setattr(self.app.view, "show_edges", on))
        self.compare.add_view_actions(view_menu)  # View > Compare with solver (F6)
        self.view_tools.add_view_actions(view_menu)  # probe, line plot, standard views
        self.flow.add_view_actions(view_menu)  # surface Cp chart
        add_panels_menu(self, view_menu, self.app)  # View > Plugins: panels contributed by plugins
        help_menu = self._menu(bar, "&Help")
        add("help.shortcuts", help_menu, "&Keyboard shortcuts", self._show_shortcuts)
        add("help.plugins", help_menu, "&Plugins...", self.show_plugins)
        about = add("help.about", help_menu, "&About physapp", self._about)
        about.setMenuRole(QAction.MenuRole.AboutRole)

    def show_plugins(self) -> None:
        """Help > Plugins...: what was found, contributions, errors, enable/disable."""
        from physapp.gui.plugins_dialog import PluginsDialog

        self.plugins_dialog = PluginsDialog(self)
        self.plugins_dialog.show()

    def _menu(self, parent, title: str) -> QMenu:
        """A menu created from Python and added to ``parent``. (``addMenu(str)`` returns a menu
        made in C++; PySide can hand back a stale wrapper of a deleted object at the same address,
        seen as "'QOffscreenSurface' object has no attribute 'addAction'" after VTK widgets were
        destroyed in the same process.)"""
        menu = QMenu(title, self)
        parent.addMenu(menu)
        return menu

    # -- public actions -------------------------------------------------------------------------
    def set_study(self, study: Study) -> None:
        """Show ``study`` at its default design instead of the current one (whose running solve
        is cancelled); with ``auto_solve`` (the default) its first solve starts at once."""
        self._close_study()
        self.message_bar.clear()
        self.model.set_study(study)
        self.app.view.field = study.spec.default_field
        self._show_study(study)
        self.statusBar().showMessage(f"Opened the study \u2018{self.spec.title}\u2019", 5000)
        if self.auto_solve:
            self.solve()

    def update_study(self, study: Study) -> None:
        """The same part with a changed set-up (the Part set-up panel): new sliders, the view
        and the shown result stay (marked out of date); slider values are kept by name."""
        self.solves.drop_job()
        self.model.set_study(study, self.model.params)  # values kept by name when in range
        self._study_version = self.model.version
        self.safety.study_opened(study)  # the part's material may have changed
        self.symbols.refresh()  # the set-up's symbols follow
        self._build_side_panel()
        solved = self.app.solve.solved_params
        if solved is not None:  # never equal to the sliders: out of date
            self.app.solve.solved_params = {**solved, "<set-up changed>": float("nan")}
        if self.result is not None:
            self.show_key_quantities(self.result)
        self.update_state()
        self.parts.study_opened(study)

    def open_file(self, path: str) -> None:
        """Open a mesh or CAD file as an imported part (read off the GUI thread; on failure a
        dialog says why and the current study stays)."""
        self.parts.open_file(path)

    def open_gallery(self) -> GalleryDialog:
        """File > New study...: the gallery; Open switches to the chosen study, Cancel keeps
        this one. Returns the (window-modal, non-blocking) dialog."""
        if self.gallery is not None:
            self.gallery.deleteLater()
        self.gallery = GalleryDialog(current=self.spec.id, parent=self)
        self.gallery.study_chosen.connect(self._switch_to)
        self.gallery.open()
        return self.gallery

    def open_settings(self) -> SettingsDialog:
        """File > Settings...: OK saves and applies the settings. Returns the dialog."""
        if self.settings_dialog is not None:
            self.settings_dialog.deleteLater()
        self.settings_dialog = SettingsDialog(self.settings_store, parent=self)
        self.settings_dialog.applied.connect(self.apply_settings)
        self.settings_dialog.open()
        return self.settings_dialog

    def apply_settings(self, settings: AppSettings) -> None:
        """Use new settings: the device in the status bar, the element order for the next solve."""
        order_changed = settings.element_order != self.settings.element_order
        self.settings = settings
        self.show_device()
        self.surrogates.settings_changed(settings)
        self.solve_box.setTitle(self._solve_box_title())
        if order_changed:
            self.statusBar().showMessage(
                f"Element order P{settings.element_order} is used from the next solve (F5).", 8000
            )

    def show_message(self, text: str, level: str = "error", tag: str = "") -> None:
        """A non-modal message above the viewport, echoed in the status bar (through the
        model's ``messages``: plugin panels and tests hear it too)."""
        self.app.notify(text, level, tag)

    def _on_message(self, text: str, level: str, tag: str) -> None:
        self.message_bar.show_message(text, level, tag)
        self.show_status(text.splitlines()[0], 10000)
        self._status_echo = self.statusBar().currentMessage()

    def show_status(self, text: str, timeout_ms: int = 8000) -> None:
        """A status bar message that fits: shortened at a word with an ellipsis, not cut
        mid-word behind the permanent labels (#13)."""
        bar = self.statusBar()
        room = bar.width() - sum(w.sizeHint().width() for w in (
            self.device_label, self.info_label, self.state_label)) - 40
        fm = bar.fontMetrics()
        if room > 50 and fm.horizontalAdvance(text) > room:
            cut = fm.elidedText(text, Qt.TextElideMode.ElideRight, room - fm.horizontalAdvance(
                "…"))
            head = cut.rstrip("…")
            if " " in head:
                head = head[: head.rfind(" ")]
            text = head.rstrip(" ,;:-") + "…"
        bar.showMessage(text, timeout_ms)

    def _on_message_cleared(self, _tag: str) -> None:
        """The message bar's message went: its echo in the status bar goes too (it said
        'out of range' after the sliders were back in range, #13)."""
        if getattr(self, "_status_echo", None) == self.statusBar().currentMessage():
            self.statusBar().clearMessage()

    @property
    def field(self) -> tuple[str, str, str]:
        name = self.app.view.field or self.spec.default_field
        try:
            f = self.spec.field_spec(name)
        except (KeyError, ValueError):
            f = self.spec.field_spec(self.spec.default_field)
        return f.name, f.label, f.unit

    @property
    def is_stale(self) -> bool:
        return self.app.solve.solved_params != self.model.params

    def frame_latency_ms(self) -> float | None:
        """Median time from a slider change to the rendered surrogate frame (recent frames)."""
        return self.surrogates.frame_latency_ms()

    def show_reference_view(self) -> None:
        """Back from a surrogate: the solved result when it fits the sliders' geometry, else a
        fresh geometry preview."""
        if self.result is not None and (
            self.model.geometry(self.result.meta.get("params", {})) == self.model.geometry()
        ):
            self.viewport.show_result(self.result, self.field)
        else:
            # whatever was shown before, the preview replaces it
            self._shown_version = self._study_version - 1
            self._request_preview()
        self.update_state()

    # -- slots ----------------------------------------------------------------------------------
    def _on_param_changed(self, name: str, value: float) -> None:
        # with a surrogate selected the change goes to its prediction (which moves the geometry)
        if not self.surrogates.param_changed(name) and self.spec.parameter(name).geometric:
            self._request_preview()
        self.symbols.refresh()  # a load's sign or direction may have changed
        self.update_state()

    def _request_preview(self) -> None:
        self._latest_request = self.previewer.submit(
            (self.model.version, self.model.params, self.model.study))

    def _on_preview(self, lw_id: int, payload: tuple) -> None:
        version, mesh = payload
        if self.closing:  # queued before the window closed: its plotter is gone
            return
        if lw_id < self._last_preview or version <= self._shown_version:
            return  # older than what is on screen (a solve may have overtaken it)
        if self.surrogates.active:
            return  # requested before a surrogate was selected: its frames rule the view
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
        self.update_state()

    def _on_preview_error(self, lw_id: int, message: str) -> None:
        if lw_id == self._latest_request:  # errors of superseded requests no longer matter
            self.show_message(message, "error", "geometry")
            self.viewport.set_overlay("Invalid design - see the message above")
            self.state_label.setText("<b style='color:#b00'>Invalid design</b>")

    def _on_field_changed(self, name: str, _old: str = "") -> None:
        if name not in {f.name for f in self.spec.fields}:
            return  # a field of another study (a switch is under way)
        if not self.surrogates.field_changed():  # a surrogate frame may show the field's std
            self.viewport.set_field(self.field)
        self.compare.field_changed()  # the split view shows the same field

    def _on_show_edges(self, show: bool, _old: bool = False) -> None:
        self.edges_action.setChecked(show)
        self.viewport.set_show_edges(show)
        self.compare.view_options_changed()  # the split view's panes follow

    def _switch_to(self, study_id: str) -> None:
        try:
            study = get_study(study_id)
        except PhysappError as exc:  # e.g. a plugin study that went away
            self.show_message(str(exc), "error", "study")
            return
        self.set_study(study)

    # -- helpers --------------------------------------------------------------------------------
    def update_state(self, *_args) -> None:
        """Status label and viewport overlay say whether the field matches the sliders."""
        self.compare.state_changed()  # split view: out-of-date marks, solving, surrogate
        surrogate = self.surrogates.state_text(self.is_stale)
        if surrogate:  # a surrogate frame is (or is about to be) on screen: no stale overlay
            self.state_label.setText(surrogate)
            self.results_label.setEnabled(not self.is_stale)
            return
        if self.app.solve.solved_params is None:
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

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About physapp",
            f"<h3>physapp {__version__}</h3>"
            "<p>Interactive design exploration with a finite-element reference solver.</p>"
            f"<p>Study: {self.spec.title} ({self.spec.unit_system})</p>"
            f"<p><small>Python {platform.python_version()}, Qt {PySide6.__version__} "
            f"(PySide6), VTK {pv.vtk_version_info.major}.{pv.vtk_version_info.minor}"
            f".{pv.vtk_version_info.micro}, PyVista {pv.__version__}</small></p>",
        )

    def _show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts: every menu action that has one."""
        rows = []
        for menu_action in self.menuBar().actions():
            menu = menu_action.menu()
            for act in menu.actions() if menu is not None else []:
                keys = act.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                if keys:
                    name = act.text().replace("&", "").rstrip("\u2026")
                    rows.append(f"<tr><td><b>{keys}</b></td><td>&nbsp;&nbsp;{name}</td></tr>")
        QMessageBox.information(self, "Keyboard shortcuts", f"<table>{''.join(rows)}</table>")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        self.parts.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self.parts.drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        # stop the child process and the preview thread before VTK goes away
        if self.closing:  # Qt may deliver close twice (window.close() and teardown)
            super().closeEvent(event)
            return
        self.closing = True
        self.save_geometry()
        self.solves.shutdown()  # an owned runner stops; a shared one loses our job
        self.app.messages.disconnect(self._on_message)
        self.preview_relay.closed = True
        self.previewer.close()
        self.parts.shutdown()
        self.surrogates.shutdown()
        self.sessions.shutdown()  # a clean exit: the autosave goes
        self.exports.shutdown()
        if hasattr(self, "dataset_import"):
            self.dataset_import.shutdown()
        self.compare.shutdown()  # the split view's panes: VTK before the window goes
        self.view_tools.shutdown()
        self.history_predictions.shutdown()
        self.playback.shutdown()
        self.viewport.close_viewport()
        super().closeEvent(event)

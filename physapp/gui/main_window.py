"""The main window: it assembles the docks (study panel, solve and results), the menus and the
viewport, and owns no state: that lives in one Qt-free :class:`~physapp.app.AppModel`
(``window.app``; ``window.model`` is its design slice), which widgets subscribe to and
controllers change. What is built per study is :mod:`physapp.gui.study_view`, the menus
:mod:`physapp.gui.window_menus`, the status bar :mod:`physapp.gui.window_status`, previews
:mod:`physapp.gui.preview_controller`, closing :mod:`physapp.gui.close_guard`.

Threads: previews run on a worker thread, solves in a child process (:class:`QtJobRunner`); only
the GUI thread applies their results to widgets and VTK. A study switch keeps the model.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDockWidget, QMainWindow, QVBoxLayout, QWidget

from physapp.app import AppModel
from physapp.core.results import FieldResult
from physapp.core.study import Study
from physapp.gui import study_view, window_dialogs, window_geometry, window_menus
from physapp.gui.actions import ActionRegistry
from physapp.gui.axisym import AxisymmetricView
from physapp.gui.camera_fit import CameraFit
from physapp.gui.close_guard import CloseGuard
from physapp.gui.color_range import ColorRangeControl
from physapp.gui.compare_view import CompareController
from physapp.gui.export_actions import ExportController
from physapp.gui.flow_view import FlowView
from physapp.gui.gallery import GalleryDialog
from physapp.gui.history_chart import HistoryChart
from physapp.gui.history_prediction import HistoryPredictionController
from physapp.gui.message_bar import MessageBar
from physapp.gui.part_controller import PartController
from physapp.gui.playback import PlaybackController
from physapp.gui.preview_controller import PreviewController
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.gui.safety import SafetyController
from physapp.gui.session_controller import SessionController
from physapp.gui.settings import AppSettings, SettingsDialog, UserSettings, open_store
from physapp.gui.setup_symbols import SetupSymbols
from physapp.gui.solve_controller import SolveController
from physapp.gui.surrogate_panel import SurrogateController
from physapp.gui.view_tools import ViewTools
from physapp.gui.viewport import Viewport
from physapp.gui.window_geometry import GEOMETRY_KEY  # noqa: F401 - tests import it here
from physapp.gui.window_status import WindowStatus


class MainWindow(QMainWindow):
    """physapp's main window; shows one study at a time (see :meth:`set_study`)."""

    def __init__(self, study: Study, *, auto_solve: bool = True,
                 runner: QtJobRunner | None = None, settings_store: QSettings | None = None,
                 parent: QWidget | None = None):
        """``runner``: a shared, already warm job runner (tests, the start screen); the window
        then does not own it and only cancels its own job on close. By default the window makes
        and owns one. ``settings_store``: where the settings live (tests pass a temporary one);
        the user's QSettings by default."""
        super().__init__(parent)
        self.auto_solve = auto_solve
        self.settings_store = settings_store
        self.app = AppModel(study, settings=UserSettings(settings_store))  # all state (+settings)
        self.settings: AppSettings = self.app.settings.value
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
        self.study_dock = self._add_dock("Study", "study_dock")
        # Solve, progress and key quantities below the (scrolling) study panel: always in view,
        # also at 1280x800 (#13)
        self.results_dock = self._add_dock("Solve and results", "results_dock")
        self.splitDockWidget(self.study_dock, self.results_dock, Qt.Orientation.Vertical)
        self.status = WindowStatus(self)  # device, last solve, up to date or not
        self.state_label, self.info_label = self.status.state_label, self.status.info_label
        self.device_label = self.status.device_label
        self.show_device()
        window_geometry.place_window(self, self._store())
        self.app.messages.connect(self.status.on_message)
        self.message_bar.cleared.connect(self.status.on_message_cleared)
        self.app.view.events.field.connect(self._on_field_changed)
        self.app.view.events.show_edges.connect(self._on_show_edges)
        self.app.solve.events.status.connect(lambda *_: self.actions.update_enabled())
        self.app.settings.changed.connect(lambda new: window_dialogs.apply_settings(self, new))
        self.app.source.events.key_quantities.connect(
            lambda kq: study_view.show_prediction_quantities(self, kq))
        self.previews = PreviewController(self)  # geometry previews of the sliders' design
        self.preview_relay = self.previews.relay
        self.safety = SafetyController(self)  # yield strength, safety factor (#13)
        self.symbols = SetupSymbols(self)  # support and load symbols in the view (#13)
        self.camera_fit = CameraFit(self.app, self)  # refit when the view's size changes (#13)
        self.color_range = ColorRangeControl(self)  # automatic / fixed / locked range (#13)
        self.axisym = AxisymmetricView(self)  # r-z axes, revolved 3D view (#13)
        self.parts = PartController(self)  # imported parts: File > Open, set-up panel, picking
        self.surrogates = SurrogateController(self)  # model selector, live predictions, training
        self.compare = CompareController(self)  # split view: surrogate | reference | difference
        self.view_tools = ViewTools(self)  # probe, line plot, clip/warp/colours, camera views
        self.flow = FlowView(self)  # streamlines and velocity arrows of flow results
        self.sessions = SessionController(self)  # File > Save/Open session, autosave
        self.exports = ExportController(self)  # File > Export: figure, mesh, table, animation
        self.close_guard = CloseGuard(self.app, self)  # unsaved part set-up: ask (#13)
        self.setAcceptDrops(True)  # a mesh or CAD file dropped on the window opens it
        window_menus.build_menus(self)

        self.runner = QtJobRunner(parent=self) if runner is None else runner
        self.solves = SolveController(self.app, self, self.runner, owns_runner=runner is None)
        self.model.changed.connect(self._on_param_changed)
        study_view.show_study(self, study)
        # time slider under the viewport and curves over time of a history (#18)
        self.playback = PlaybackController(self)
        self.central_layout.addWidget(self.playback.bar)
        self.history_chart = HistoryChart(self, self.playback)
        self.playback.bar.setVisible(False)
        # a history model's predicted history plays; compared with a solve of it (#18, #22)
        self.history_predictions = HistoryPredictionController(self)
        if auto_solve:
            QTimer.singleShot(0, self.solve)

    def _add_dock(self, title: str, name: str) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setFeatures(QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
        return dock

    def _store(self) -> QSettings:
        return open_store() if self.settings_store is None else self.settings_store

    # -- model views ----------------------------------------------------------------------------
    @property
    def solve_count(self) -> int:
        """Finished solves, all studies together (tests wait on it)."""
        return self.app.solve.count

    @property
    def spec(self):
        """The study's spec as the window shows it (with the derived safety factor)."""
        return self.safety.display_spec(self.model.spec)

    @property
    def result(self) -> FieldResult | None:
        """The latest reference solve on screen (or cached)."""
        return self.solves.result

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

    # -- services of the controllers ------------------------------------------------------------
    def solve(self) -> None:
        """Start a reference solve of the current design (cancels one that is running)."""
        self.solves.solve()

    def cancel_solve(self) -> None:
        self.solves.cancel()

    def note_shown_version(self, version: int) -> None:
        """The viewport shows the design of ``version`` (older previews are dropped)."""
        self.previews.note_shown_version(version)

    def show_reference_view(self) -> None:
        """Back from a surrogate: the solved result if it fits the sliders, else a preview."""
        self.previews.show_reference_view()

    def show_key_quantities(self, result: FieldResult) -> None:
        study_view.show_key_quantities(self, result)

    def show_message(self, text: str, level: str = "error", tag: str = "") -> None:
        """A non-modal message above the viewport, echoed in the status bar (through the
        model's ``messages``: plugin panels and tests hear it too)."""
        self.app.notify(text, level, tag)

    def show_status(self, text: str, timeout_ms: int = 8000) -> None:
        """A status bar message shortened at a word when it does not fit (#13)."""
        self.status.show(text, timeout_ms)

    def show_device(self) -> None:
        self.status.show_device()

    def update_state(self, *_args) -> None:
        """Status label and viewport overlay say whether the field matches the sliders."""
        self.status.update_state()

    def keep_on_screen(self) -> None:
        """Fit the window to the screen it is (mostly) on."""
        window_geometry.keep_on_screen(self)

    def save_geometry(self) -> None:
        """Remember the window's size and place for the next window (on close)."""
        window_geometry.save_geometry(self, self._store())

    # -- public actions -------------------------------------------------------------------------
    def set_study(self, study: Study) -> None:
        """Show ``study`` at its default design instead of the current one (whose running solve
        is cancelled); with ``auto_solve`` (the default) its first solve starts at once."""
        self.solves.drop_job()  # the study's background work stops: solve, predictions
        self.surrogates.study_closing()
        self.compare.study_closing()
        self.message_bar.clear()
        self.model.set_study(study)
        self.app.view.field = study.spec.default_field
        study_view.show_study(self, study)
        self.statusBar().showMessage(f"Opened the study \u2018{self.spec.title}\u2019", 5000)
        if self.auto_solve:
            self.solve()

    def update_study(self, study: Study) -> None:
        """The same part with a changed set-up (the Part set-up panel): new sliders, the view
        and the shown result stay (marked out of date); slider values are kept by name."""
        self.solves.drop_job()
        self.model.set_study(study, self.model.params)  # values kept by name when in range
        self.previews.study_shown(self.model.version, keep_view=True)
        self.safety.study_opened(study)  # the part's material may have changed
        self.symbols.refresh()  # the set-up's symbols follow
        study_view.build_side_panel(self)
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
        """File > New study... (window-modal, non-blocking); Open switches to the study."""
        return window_dialogs.open_gallery(self)

    def open_settings(self) -> SettingsDialog:
        """File > Settings...: OK saves and applies the settings. Returns the dialog."""
        return window_dialogs.open_settings(self)

    def apply_settings(self, settings: AppSettings) -> None:
        """Save new settings in ``app.settings``; the window follows its ``changed`` event (the
        device in the status bar, the element order for the next solve)."""
        self.app.settings.apply(settings)

    # -- slots ----------------------------------------------------------------------------------
    def _on_param_changed(self, name: str, value: float) -> None:
        # with a surrogate selected the change goes to its prediction (which moves the geometry)
        if not self.surrogates.param_changed(name) and self.spec.parameter(name).geometric:
            self.previews.request()
        self.symbols.refresh()  # a load's sign or direction may have changed
        self.update_state()

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

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        self.parts.drag_enter(event)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        self.parts.drop(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        if not self.closing:  # Qt may deliver close twice (window.close() and teardown)
            if not self.close_guard.may_close():
                event.ignore()  # asked whether to save the set-up; the answer closes (or not)
                return
            self.closing = True
            self.close_guard.shut_down()
        super().closeEvent(event)

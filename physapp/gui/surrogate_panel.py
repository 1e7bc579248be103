"""Surrogates in the main window: the model selector, live predictions, uncertainty, training.

:class:`SurrogateController` belongs to one :class:`~physapp.gui.main_window.MainWindow` and
builds the "Prediction source" box at the top of the side panel: "Reference solver only" or one
of the models available for the current study: built-in ones shipped in the package, those saved
under the user's data folder (Run > Train surrogate...) and files opened with File > Load surrogate...
(:mod:`physapp.gui.surrogate_files`; the selector itself is :mod:`physapp.gui.surrogate_models`).
A model is loaded (torch imported) on a worker thread only when it is first selected.

With a model selected every slider change submits a prediction to the latest-wins worker of
:class:`~physapp.gui.prediction.SurrogatePredictor`; the GUI thread applies only the newest result
(older ids are dropped, results arriving together are coalesced into one frame), writes node
coordinates and the field in place into the viewport's grid and renders once. The time from the
slider change to the end of that render is kept as a rolling median (:meth:`frame_latency_ms`)
and shown in the status bar next to the prediction time and the device. F5 still runs the
reference solver: the view then shows its result, and the next slider change returns to the
surrogate.
"""

from __future__ import annotations

import os
import statistics
import time
from collections import deque
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from physapp.gui.prediction import (
    Prediction,
    SurrogatePredictor,
)
from physapp.gui.surrogate_files import (  # noqa: F401 - importable here as before
    ModelEntry,
    builtin_model_dirs,
    datasets_dir,
    peek_header,
    saved_models_dir,
    user_data_dir,
)
from physapp.gui.surrogate_models import ModelListMixin
from physapp.viz.grids import field_for_display

if TYPE_CHECKING:  # pragma: no cover
    from physapp.core.results import FieldResult
    from physapp.gui.services import WindowServices
    from physapp.gui.settings import AppSettings
    from physapp.gui.train_dialog import TrainDialog

#: frames kept for the rolling median of the slider-to-screen time
LATENCY_WINDOW = 60
#: the status bar's latency text is refreshed at most this often during a drag
LABEL_INTERVAL_MS = 250
#: while sliders move, predictions carry only the shown field (cheaper on large meshes); this
#: long after the last move a complete prediction (every field) follows
COMPLETE_AFTER_MS = 250
WARN_COLOR = "#c25e00"  # orange: predictions outside the trained range
SURROGATE_COLOR = "#1d5fa0"


class SurrogateController(ModelListMixin, QObject):
    """Surrogates in one main window (see the module docstring)."""

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        self.predictor = SurrogatePredictor(self)
        self.predictor.predicted.connect(self._on_predicted)
        self.predictor.prediction_failed.connect(self._on_prediction_failed)
        self.predictor.loaded.connect(self._on_loaded)
        self.predictor.load_failed.connect(self._on_load_failed)
        self.entries: list[ModelEntry] = []
        self.study_id: str | None = None
        self.current: ModelEntry | None = None  # the model predictions come from (loaded)
        self.applied = 0  # frames applied (tests)
        self.latest_request = 0  # id of the newest prediction request
        self.last_prediction: Prediction | None = None
        self.out_of_range: list[str] = []
        self.train_dialog: TrainDialog | None = None
        self._loading: dict[str, int] = {}  # key -> load id of a load under way
        self._pending: Prediction | None = None
        self._apply_scheduled = False
        self._last_applied_id = 0
        self._reference_at = 0.0  # perf_counter time a reference result went on screen
        self._frames: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._saved_info: str | None = None  # the status text a surrogate frame replaced
        self._notices: set[str] = set()
        self._closed = False
        self._library_ready = False
        self._info_scheduled = False
        self._uncertainty_on = False
        self.last_frame_ms = float("nan")
        self.group: QGroupBox | None = None
        self._complete = QTimer(self)
        self._complete.setSingleShot(True)
        self._complete.setInterval(COMPLETE_AFTER_MS)
        self._complete.timeout.connect(self.request_prediction)

    # -- window hooks ---------------------------------------------------------------------------
    def add_file_actions(self, menu: QMenu) -> None:
        """File > Load surrogate..."""
        self.load_action = self.window.actions.add("file.load_surrogate", menu,
                                                  "&Load surrogate\u2026", self.open_dialog)
        self.load_action.setToolTip("Load a trained surrogate model (.pt) for this study")

    def add_run_actions(self, menu: QMenu) -> None:
        """Run > Train surrogate..."""
        menu.addSeparator()
        self.train_action = self.window.actions.add("run.train", menu, "&Train surrogate\u2026",
                                                self.open_train_dialog)
        menu.setToolTipsVisible(True)  # a greyed-out Train says why (an imported part)

    @property
    def selected_key(self) -> str:
        """What the user chose ("" = reference solver only): ``app.source.surrogate``."""
        return self.window.app.source.surrogate

    @selected_key.setter
    def selected_key(self, key: str) -> None:
        self.window.app.source.surrogate = key

    @property
    def showing(self) -> bool:
        """The viewport shows a surrogate frame: ``app.source.showing``."""
        return self.window.app.source.showing

    @showing.setter
    def showing(self, on: bool) -> None:
        self.window.app.source.showing = on
        if not on:
            self.window.app.source.key_quantities = None

    @property
    def active(self) -> bool:
        """True while slider changes go to a surrogate (a model is selected and loaded)."""
        return self.current is not None

    def build_panel(self) -> QWidget:
        """The "Prediction source" box for the window's side panel (built again with the panel;
        a new study rescans the models available for it)."""
        if self.model_study_id() != self.study_id:
            self._scan(self.model_study_id())
        group = QGroupBox("Prediction source")
        self.group = group
        col = QVBoxLayout(group)
        row = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setToolTip("Where the field on screen comes from while you move the sliders")
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.load_button = QToolButton()
        self.load_button.setText("Load\u2026")
        self.load_button.setToolTip("Load a surrogate model file (.pt) for this study")
        self.load_button.clicked.connect(self.open_dialog)
        row.addWidget(self.combo, 1)
        row.addWidget(self.load_button)
        col.addLayout(row)
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("color: #505050;")
        col.addWidget(self.info_label)
        bottom = QHBoxLayout()
        self.uncertainty_check = QCheckBox("Show uncertainty (std)")
        self.uncertainty_check.setToolTip(
            "Show the model's standard deviation of the selected field instead of the field "
            "(models with uncertainty: pod-gp, pod-mlp)")
        self.uncertainty_check.setChecked(self._uncertainty_on)  # kept when the panel is rebuilt
        self.uncertainty_check.toggled.connect(self._on_uncertainty_toggled)
        self.train_button = QPushButton("Train\u2026")
        self.train_button.setToolTip("Solve a set of designs and train a surrogate on them "
                                     "(Run > Train surrogate\u2026)")
        self.train_button.clicked.connect(self.open_train_dialog)
        bottom.addWidget(self.uncertainty_check, 1)
        bottom.addWidget(self.train_button)
        col.addLayout(bottom)
        self._fill_combo()
        self.combo.currentIndexChanged.connect(self._on_combo)
        self._show_info()
        QTimer.singleShot(0, self._refresh_labels)  # once the field selector exists
        self.update_trainable()
        return group

    def model_study_id(self) -> str:
        """The study id surrogates of the window's study carry: an imported part's is
        ``part:<file>::<set-up file>`` (its sweep workers rebuild the study from the files)."""
        w = self.window
        return w.parts.model_study_id() if w.parts.active else w.spec.id

    def train_problem(self) -> str:
        """Why Run > Train surrogate cannot run for the window's study ('' when it can)."""
        return self.window.parts.train_problem() if self.window.parts.active else ""

    def update_trainable(self) -> None:
        """Enable Train (menu and button) when the study can be swept, with the reason if not."""
        problem = self.train_problem()
        tip = (f"Cannot train yet: {problem}" if problem else
               "Solve a set of designs and train a surrogate on them (Run > Train surrogate\u2026)")
        for widget in (getattr(self, "train_button", None), getattr(self, "train_action", None)):
            if widget is None:
                continue
            try:
                widget.setEnabled(not problem)
                widget.setToolTip(tip)
                widget.setStatusTip(tip)
            except RuntimeError:  # the button of a panel Qt has deleted
                pass

    def study_closing(self) -> None:
        """The window drops its study: forget its models and any frame on the way."""
        self._drop_current()
        self.selected_key = ""
        self.entries = []
        self.study_id = None
        self._loading.clear()
        if self.train_dialog is not None:
            self.train_dialog.cancel_and_close()
            self.train_dialog = None

    def param_changed(self, name: str) -> bool:
        """A slider moved: predict when a model is active. True when handled (the window then
        skips its geometry preview)."""
        if self.current is None:
            return False
        self.request_prediction(complete=False)  # a drag: the shown field only, see there
        return True

    def reference_shown(self, result: FieldResult, params: Mapping[str, float]) -> None:
        """A reference solve goes on screen (call before the viewport shows it)."""
        self._reference_at = time.perf_counter()
        self._pending = None
        if self.showing:
            self._restore_info()
        self.showing = False
        self.window.viewport.set_caption("")
        self._compare(result, params)

    def field_changed(self) -> bool:
        """The field selector changed: rewrite a surrogate frame's field. True when handled."""
        self._fill_combo()  # the errors shown are the new field's
        self._show_info()
        if not self.showing:
            return False
        self._refresh_caption()
        if not self._frame_has(self.display_field()):  # a partial frame without it: ask for it
            self.request_prediction()
            return True
        self.window.viewport.set_field(self.display_field())
        return True

    def state_text(self, stale: bool) -> str:
        """The window's state label while a surrogate is shown or about to be ('' otherwise)."""
        if self.current is None or not (self.showing or stale):
            return ""
        if self.out_of_range:
            return (f"<b style='color:{WARN_COLOR}'>Surrogate: outside the trained range</b> "
                    "(F5 to verify)")
        return f"<b style='color:{SURROGATE_COLOR}'>Surrogate prediction</b> (F5 to verify)"

    def settings_changed(self, settings: AppSettings) -> None:
        """New settings: predictions use the new device from the next one on."""
        self._notices.clear()
        if self.current is not None:
            self.request_prediction()

    def shutdown(self) -> None:
        """Stop the workers and a training run (window closing)."""
        if self._closed:
            return
        self._closed = True
        self._complete.stop()
        if self.train_dialog is not None:
            self.train_dialog.cancel_and_close(wait=True)
        self.predictor.close()

    def frame_latency_ms(self) -> float | None:
        """Median time from a slider change to the rendered frame over the recent frames."""
        return statistics.median(self._frames) if self._frames else None

    # -- user actions ---------------------------------------------------------------------------
    def open_dialog(self) -> None:
        """File > Load surrogate...: pick a .pt file."""
        start = str(saved_models_dir(self.model_study_id()))
        path, _ = QFileDialog.getOpenFileName(
            self.window, "Load surrogate model", start, "Surrogate models (*.pt);;All files (*)")
        if path:
            self.load_file(path)

    def load_file(self, path: str | os.PathLike) -> None:
        """Load a model file for the current study (on a worker thread); on success it is added
        to the selector and selected, otherwise the loader's message is shown."""
        p = Path(path).expanduser()
        key = str(p.resolve())
        entry = self._entry(key)
        if entry is not None:
            self.select(key)
            return
        if not self.ensure_library():
            return
        self._status(f"Loading surrogate \u2018{p.name}\u2019 \u2026")
        self._loading[key] = self.predictor.load(key, str(p), self.model_study_id(),
                                                 self._param_names(), self.window.settings.device)

    def add_trained(self, model: Any, path: str | os.PathLike | None) -> None:
        """A model trained in this session (an object, or None when it was trained in another
        process and saved to ``path``): add it and select it."""
        key = str(Path(path).resolve()) if path else f"session:{id(model)}"
        entry = self._entry(key)
        if entry is None:
            entry = ModelEntry(key, "new", Path(path) if path else None)
            self.entries.append(entry)
        else:
            entry.source, entry.loaded = "new", None
        if model is None:
            if not self.ensure_library():
                return
            self._loading[key] = self.predictor.load(key, str(path), self.model_study_id(),
                                                     self._param_names(),
                                                     self.window.settings.device)
        else:
            self._loading[key] = self.predictor.adopt(key, model)
        self._fill_combo()
        self.select(key)

    def select(self, key: str) -> None:
        """Use the model ``key`` for predictions ("" = reference solver only)."""
        self.selected_key = key
        self._set_combo(key)
        if not key:
            self._drop_current()
            self.window.show_reference_view()
            self._show_info()
            return
        entry = self._entry(key)
        if entry is None:
            return
        if entry.loaded is not None:
            self._activate(entry)
        elif key not in self._loading and self.ensure_library():
            self._status(f"Loading the {entry.kind} surrogate \u2026")
            self._loading[key] = self.predictor.load(
                key, str(entry.path), self.model_study_id(), self._param_names(),
                self.window.settings.device)
        self._show_info()

    def select_shipped(self) -> bool:
        """Select the study's shipped (built-in or plugin) model, if it has one and nothing else
        is selected yet (a study opening: File > Settings, "Open studies with their pre-trained
        surrogate"). True when one was selected."""
        if self._closed or self.selected_key or self.window.parts.active:
            return False
        for entry in self.entries:
            if entry.source == "built-in":
                self.select(entry.key)
                return True
        return False

    def ensure_library(self) -> bool:
        """True: torch and the surrogate modules are imported by the loader thread before the
        first model is loaded (:func:`physapp.gui.prediction.load_library`), never on this
        (GUI) thread; a missing torch comes back as that load's error message."""
        return True

    def open_train_dialog(self) -> TrainDialog | None:
        """Run > Train surrogate...: the (non-modal) training dialog."""
        from physapp.gui.train_dialog import TrainDialog

        w = self.window
        study = w.model.study
        if w.parts.active:
            problem = w.parts.train_problem()
            if problem:
                w.show_message(f"Cannot train a surrogate of this part yet: {problem}", "info",
                               "surrogate")
                return None
            study = w.parts.training_study()  # its set-up saved as a file for the workers
        if self.train_dialog is not None and self.train_dialog.running:
            self.train_dialog.show()
            self.train_dialog.raise_()
            return self.train_dialog
        if self.train_dialog is not None:
            self.train_dialog.deleteLater()
        self.train_dialog = TrainDialog(study, lambda: w.model.params, w.settings,
                                        datasets_dir(), saved_models_dir(study.spec.id),
                                        parent=w)
        self.train_dialog.trained.connect(self.add_trained)
        self.train_dialog.show()
        return self.train_dialog

    # -- predictions ----------------------------------------------------------------------------
    def request_prediction(self, complete: bool = True) -> int:
        """Submit the current design to the active model (latest wins). A slider move asks
        with ``complete=False``: then (unless a view needs every field: the split view, a
        probe, a line plot) only the shown field is predicted, and a complete prediction
        follows once the sliders rest."""
        if self.current is None or self._closed:
            return 0
        w = self.window
        full = w.model.params
        params = {n: v for n, v in full.items() if not w.spec.parameter(n).discretization}
        study = w.model.study
        fields = None if complete else self._frame_fields()
        self.latest_request = self.predictor.submit(
            self.current.key, self.current.loaded.model, params, w.settings.device,
            time.perf_counter(), check=lambda: study.check(full), fields=fields)
        if fields is None:
            self._complete.stop()
        else:
            self._complete.start()
        return self.latest_request

    def _frame_fields(self) -> list[str] | None:
        """The fields a frame needs, or None when every field is (see request_prediction)."""
        w = self.window
        if w.compare.is_split or w.view_tools.needs_all_fields():
            return None
        base = self.display_field()[0].partition("[")[0]
        base = base[:-4] if base.endswith("_std") else base
        if base == "safety_factor":  # derived from von Mises where it is shown (#13)
            base = "von_mises"
        fields = [base]
        if w.app.view.warp_scale > 0:
            fields.append("displacement")
        return fields

    def display_field(self) -> tuple[str, str, str]:
        """The window's field, or its standard deviation when the uncertainty view is on."""
        name, label, unit = self.window.field
        summary = self.current.loaded.summary if self.current is not None else None
        if self.uncertainty_check.isChecked() and summary is not None and summary.uncertainty:
            base, bracket, index = name.partition("[")
            return f"{base}_std{bracket}{index}", f"{label} uncertainty (std)", unit
        return name, label, unit

    def _on_predicted(self, p: Prediction) -> None:
        if (self.current is None or p.key != self.current.key
                or p.request_id <= self._last_applied_id or p.t_submit < self._reference_at):
            return  # another model, older than the frame on screen, or a solve overtook it
        # applied at once: the in-place update only asks for a paint, so results that arrive
        # before the paint still make one frame
        self._pending = p
        self._apply_pending()

    def _apply_pending(self) -> None:
        self._apply_scheduled = False
        p, self._pending = self._pending, None
        if (p is None or self.current is None or p.key != self.current.key
                or p.request_id <= self._last_applied_id or self._closed):
            return
        w = self.window
        field = self.display_field()
        base = field[0].partition("[")[0]
        if base not in p.result.point_data:
            w.show_message(f"The {self.current.kind} surrogate has no field "
                           f"\u2018{field[1]}\u2019; choose another field.", "warning",
                           "surrogate")
            return
        self._last_applied_id = p.request_id
        w.message_bar.clear("surrogate-design")
        if not self.showing:
            self._saved_info = w.info_label.text()
        self.showing = True
        self.last_prediction = p
        self._update_range_warning(list(p.result.meta.get("out_of_range", [])))
        vp = w.viewport
        self._refresh_caption()
        self.applied += 1
        vp.update_result(p.result, field, on_frame=lambda t, p=p: self._frame_done(p, t),
                         streaming=bool(p.result.meta.get("partial")))
        self._show_device(p.device, p.notice)
        w.update_state()
        meta = p.result.meta
        if not meta.get("partial"):  # complete: a frame while a slider moves may lack fields
            w.app.source.key_units = dict(meta.get("key_units", {}))
            w.app.source.key_quantities = dict(meta.get("key_quantities", {}))

    def _frame_done(self, p: Prediction, t_frame: float) -> None:
        """The render showing prediction ``p`` ended (called from inside the render)."""
        frame_ms = (t_frame - p.t_submit) * 1e3
        self._frames.append(frame_ms)
        self.last_frame_ms = frame_ms
        if not self._info_scheduled:  # not while VTK renders, and a few times a second only:
            self._info_scheduled = True  # each label change costs a repaint of the window
            QTimer.singleShot(LABEL_INTERVAL_MS, self._show_latency)

    def _show_latency(self) -> None:
        self._info_scheduled = False
        p = self.last_prediction
        if not self.showing or p is None or self.current is None:
            return
        predict_ms = float(p.result.meta.get("latency_ms", float("nan")))
        self.window.info_label.setText(
            f"Surrogate {self.current.kind}: {predict_ms:.1f} ms predict, "
            f"{self.last_frame_ms:.0f} ms to screen (median {self.frame_latency_ms():.0f} ms)")

    def _on_prediction_failed(self, request_id: int, message: str) -> None:
        if self.current is None or request_id < self._last_applied_id:
            return
        w = self.window
        w.show_message(message, "error", "surrogate-design")  # e.g. the hole does not fit
        if self.showing:
            w.viewport.set_caption("Invalid design - the frame shows the last valid one",
                                   WARN_COLOR)
            w.viewport.plotter.render()
        w.state_label.setText("<b style='color:#b00'>Invalid design</b>")

    def _caption(self) -> str:
        kind = self.current.kind
        if self.out_of_range:
            text = f"Surrogate prediction ({kind}) - EXTRAPOLATING outside the trained range"
        else:
            text = f"Surrogate prediction ({kind}) - F5 solves this design"
        if "_std" in self.display_field()[0]:
            text += "\nShowing its uncertainty: one standard deviation"
        return text

    def _refresh_caption(self) -> None:
        self.window.viewport.set_caption(
            self._caption(), WARN_COLOR if self.out_of_range else SURROGATE_COLOR)

    def _update_range_warning(self, names: list[str]) -> None:
        if names == self.out_of_range:
            return
        self.out_of_range = names
        w = self.window
        if not names:
            w.message_bar.clear("surrogate-range")
            return
        parts = [self._range_text(n) for n in names]
        w.show_message(
            f"This design is outside the trained range of the {self.current.kind} surrogate: "
            f"{'; '.join(parts)}. The prediction extrapolates and may be wrong: press F5 to "
            "check it with the reference solver.", "warning", "surrogate-range")

    def _range_text(self, name: str) -> str:
        spec = self.window.spec.parameter(name)
        summary = self.current.loaded.summary
        unit = spec.shown_unit
        if name in summary.param_names:
            lo, hi = summary.bounds[summary.param_names.index(name)]
            return (f"{spec.label} (trained {lo * spec.scale:.4g} \u2013 {hi * spec.scale:.4g}"
                    f" {unit})".replace(" )", ")"))
        fixed = summary.fixed.get(name)
        if fixed is None:
            return spec.label
        return f"{spec.label} (trained at {fixed * spec.scale:.4g} {unit} only)".replace(" )",
                                                                                          ")")

    def _show_device(self, device: str, notice: str) -> None:
        w = self.window
        setting = w.settings.device_label
        text = f"Device: {device}" + (f" ({setting})" if setting != device else "")
        if notice:
            w.device_label.setText(f"<span style='color:{WARN_COLOR}'>{escape(text)} "
                                   "(fallback)</span>")
            w.device_label.setToolTip(notice)
            if notice not in self._notices:
                self._notices.add(notice)
                w.statusBar().showMessage(notice, 15000)
        else:
            w.device_label.setText(text)

    def _compare(self, result: FieldResult, params: Mapping[str, float]) -> None:
        """After a solve of the design the surrogate showed: how far off was it?"""
        p = self.last_prediction
        if p is None or self.current is None or p.key != self.current.key:
            return
        names = self.current.loaded.summary.param_names
        used = p.result.meta.get("params", {})
        if any(abs(used.get(n, float("nan")) - params.get(n, float("nan")))
               > 1e-9 * max(abs(params.get(n, 0.0)), 1e-30) for n in names):
            return
        name, label, unit = self.window.field
        try:
            ref, shown = field_for_display(result, name, unit)
            pred, _ = field_for_display(p.result, name, unit)
        except (KeyError, IndexError, ValueError):
            return
        r, s = float(ref.max()), float(pred.max())
        diff = (s - r) / abs(r) * 100 if r else 0.0
        self.window.show_message(
            f"Solver check of this design: peak {label} {r:.4g} {shown} (solver) vs {s:.4g} "
            f"{shown} ({self.current.kind} surrogate), {diff:+.1f} %.", "info", "surrogate")


"""Surrogates in the main window: the model selector, live predictions, uncertainty, training.

:class:`SurrogateController` belongs to one :class:`~physapp.gui.main_window.MainWindow` and
builds the "Prediction source" box at the top of the side panel: "Reference solver only" or one
of the models available for the current study -

- built-in models, ``physapp/resources/surrogates/<study-id>/*.pt`` (shipped inside the package,
  so a pip-installed or bundled physapp has them; a missing or empty folder adds nothing),
- models saved under the user's data folder (``$XDG_DATA_HOME/physapp/surrogates/<study-id>``,
  where Run > Train surrogate... puts them),
- files opened with File > Load surrogate... (the loader refuses a model of another study or of
  other parameters, and its message is shown).

The combo box lists them with their kind and held-out error, read from the file's metadata
without torch (:func:`peek_header`); a model is loaded (torch imported) on a worker thread only
when it is first selected.

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

import json
import os
import pickle
import statistics
import time
import zipfile
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer
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
    LoadedModel,
    Prediction,
    SurrogatePredictor,
)
from physapp.gui.train_dialog import pct as _pct
from physapp.viz.grids import field_for_display

if TYPE_CHECKING:  # pragma: no cover
    from physapp.core.results import FieldResult
    from physapp.gui.services import WindowServices
    from physapp.gui.settings import AppSettings
    from physapp.gui.train_dialog import TrainDialog

REFERENCE_ONLY = "Reference solver only"
#: frames kept for the rolling median of the slider-to-screen time
LATENCY_WINDOW = 60
#: the status bar's latency text is refreshed at most this often during a drag
LABEL_INTERVAL_MS = 250
#: while sliders move, predictions carry only the shown field (cheaper on large meshes); this
#: long after the last move a complete prediction (every field) follows
COMPLETE_AFTER_MS = 250
#: where each kind of entry comes from, as shown in the combo box
SOURCES = {"built-in": "built-in", "saved": "saved", "file": "file", "new": "new"}
WARN_COLOR = "#c25e00"  # orange: predictions outside the trained range
SURROGATE_COLOR = "#1d5fa0"


# -- where models live ----------------------------------------------------------------------------
def user_data_dir() -> Path:
    """physapp's folder for the user's data (``$XDG_DATA_HOME/physapp``, as plugins use)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "physapp"


def saved_models_dir(study_id: str) -> Path:
    """Where models trained in the app are saved for ``study_id``."""
    return user_data_dir() / "surrogates" / _safe(study_id)


def datasets_dir() -> Path:
    """Where the app keeps the sweep data sets it solves for training."""
    return user_data_dir() / "datasets"


def _safe(study_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in study_id)


def builtin_model_dirs(study_id: str) -> list[Path]:
    """Folders of built-in models for ``study_id`` that exist (the package's own, then the ones
    plugins ship); empty when there are none."""
    out: list[Path] = []
    from physapp.plugins import RESOURCES

    builtin = RESOURCES / "surrogates" / study_id
    if builtin.is_dir():
        out.append(builtin)
    try:  # models shipped by plugins ([[models]] in their manifest)
        from physapp.plugins import model_files

        for f in model_files(study_id):
            if all(f.parent.resolve() != p.resolve() for p in out):
                out.append(f.parent)
    except Exception:  # noqa: BLE001 - a broken plugin never hides the built-in models
        pass
    return out


class _HeaderUnpickler(pickle.Unpickler):
    """Reads a surrogate file's pickle without torch: tensors become None, nothing else runs."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module.split(".")[0] == "torch":
            return _nothing
        raise pickle.UnpicklingError(f"unexpected object {module}.{name}")

    def persistent_load(self, pid: Any) -> None:
        return None


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def peek_header(path: str | os.PathLike) -> dict | None:
    """The decoded ``meta`` of a surrogate file (kind, metrics, info) without importing torch
    (the file is a zip holding one pickle; tensors are skipped). None when it cannot be read
    this way - loading the model then says what is wrong."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("data.pkl")]
            if not names:
                return None
            with archive.open(names[0]) as f:
                payload = _HeaderUnpickler(f).load()
        if not isinstance(payload, dict) or payload.get("format") != "physapp-surrogate":
            return None
        meta = json.loads(payload["meta"])
        return meta if isinstance(meta, dict) else None
    except Exception:  # noqa: BLE001 - any damage: the loader reports it properly
        return None


@dataclass
class ModelEntry:
    """One model in the selector."""

    key: str  # resolved file path, or "session:<id>" for a model not saved
    source: str  # built-in, saved, file, new
    path: Path | None
    header: dict | None = None  # meta read without torch (kind, metrics, info)
    loaded: LoadedModel | None = None

    @property
    def kind(self) -> str:
        if self.loaded is not None:
            return self.loaded.summary.kind
        return str((self.header or {}).get("kind") or (self.path.stem if self.path else "model"))

    @property
    def metrics(self) -> Mapping[str, Any]:
        if self.loaded is not None:
            return self.loaded.summary.metrics
        return (self.header or {}).get("metrics") or {}


class SurrogateController(QObject):
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

    # -- models ---------------------------------------------------------------------------------
    def _param_names(self) -> list[str]:
        return [p.name for p in self.window.spec.parameters]

    def _scan(self, study_id: str) -> None:
        """Collect the built-in and saved models of ``study_id`` (headers read without torch)."""
        keep = [e for e in self.entries if e.source in ("file", "new")
                and (e.loaded.summary.study_id if e.loaded else "") == study_id]
        self.entries, self.study_id = [], study_id
        seen: set[str] = set()
        for source, folders in (("built-in", builtin_model_dirs(study_id)),
                                ("saved", [saved_models_dir(study_id)])):
            files: list[Path] = []
            for folder in folders:
                if folder.is_dir():
                    files.extend(sorted(folder.glob("*.pt")))
            if source == "saved":
                files.sort(key=lambda f: f.stat().st_mtime, reverse=True)
            for f in files:
                key = str(f.resolve())
                if key in seen:
                    continue
                seen.add(key)
                header = peek_header(f)
                if header is not None and header.get("info", {}).get("study_id") not in (
                        None, study_id):
                    continue  # a stray model of another study
                self.entries.append(ModelEntry(key, source, f, header))
        self.entries.extend(e for e in keep if e.key not in seen)

    def _entry(self, key: str) -> ModelEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def _fill_combo(self) -> None:
        if self.group is None:
            return
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(REFERENCE_ONLY, "")
        self.combo.setItemData(0, "Sliders show a geometry preview; F5 solves the design with "
                               "the finite-element reference solver.", Qt.ItemDataRole.ToolTipRole)
        for e in self.entries:
            self.combo.addItem(self._label(e), e.key)
            self.combo.setItemData(self.combo.count() - 1, self._tooltip(e),
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self._set_combo(self.selected_key)

    def _refresh_labels(self) -> None:
        if self.group is not None and not self._closed:
            self._fill_combo()
            self._show_info()

    def _set_combo(self, key: str) -> None:
        if self.group is None:
            return
        index = max(self.combo.findData(key), 0)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self.combo.setToolTip(self.combo.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")

    def _field_error(self, metrics: Mapping[str, Any]) -> tuple[str, float] | None:
        """(field label, held-out relative error) of the field on screen, else the mean."""
        fields = metrics.get("fields") or {}
        name, label = self._shown_field()
        entry = fields.get(name.partition("[")[0])
        if isinstance(entry, Mapping) and isinstance(entry.get("rel_l2"), (int, float)):
            return label, float(entry["rel_l2"])
        err = metrics.get("rel_l2_mean")
        return ("mean", float(err)) if isinstance(err, (int, float)) else None

    def _shown_field(self) -> tuple[str, str]:
        """(name, label) of the window's field (``app.view.field``)."""
        name, label, _unit = self.window.field
        return name, label

    def _label(self, e: ModelEntry) -> str:
        text = f"{e.kind} ({SOURCES.get(e.source, e.source)})"
        err = self._field_error(e.metrics)
        if err is not None:
            text += f", held-out error {_pct(err[1])}"
        return text

    def _tooltip(self, e: ModelEntry) -> str:
        m = e.metrics
        lines = [f"{e.kind} surrogate ({SOURCES.get(e.source, e.source)})"]
        if e.path is not None:
            lines.append(f"File: {e.path}")
        info = e.loaded.summary if e.loaded else None
        names = info.param_names if info else tuple((e.header or {}).get("info", {}).get(
            "param_names", ()))
        bounds = info.bounds if info else tuple((e.header or {}).get("info", {}).get(
            "bounds", ()))
        spec = self.window.spec
        varied = []
        for name, b in zip(names, bounds, strict=False):
            try:
                p = spec.parameter(name)
                varied.append(f"{p.label} {b[0] * p.scale:.4g} \u2013 {b[1] * p.scale:.4g} "
                              f"{p.shown_unit}".rstrip())
            except Exception:  # noqa: BLE001 - a name this study does not know
                varied.append(name)
        if varied:
            lines.append("Trained range: " + "; ".join(varied))
        fields = m.get("fields") or {}
        if fields:
            n_test = m.get("n_test")
            head = "Held-out error (relative L2" + (f", {n_test} designs" if n_test else "") + ")"
            parts = [f"{k} {_pct(float(v.get('rel_l2', 0.0)))}" for k, v in fields.items()]
            lines.append(f"{head}: mean {_pct(float(m.get('rel_l2_mean', 0.0)))}")
            lines.append("  " + ", ".join(parts))
        if "coverage95" in m:
            lines.append(f"95 % interval coverage on held-out designs: {m['coverage95']:.2f}")
        if "n_train" in m:
            lines.append(f"Trained on {m['n_train']} designs in {m.get('train_time_s', 0):.1f} s"
                         + (f"; predicts in {m['latency_ms']:.1f} ms" if "latency_ms" in m
                            else ""))
        if not fields and not m:
            lines.append("No held-out metrics stored.")
        return "\n".join(lines)

    def _show_info(self) -> None:
        if self.group is None:
            return
        e = self._entry(self.selected_key) if self.selected_key else None
        if e is None:
            self.info_label.setText("Sliders show a geometry preview; F5 solves the design with "
                                    "finite elements.")
            self.uncertainty_check.setEnabled(False)
            return
        if e.loaded is None:
            self.info_label.setText(f"Loading the {e.kind} surrogate \u2026")
            self.uncertainty_check.setEnabled(False)
            return
        s = e.loaded.summary
        m = s.metrics
        spec = self.window.spec
        design = [p.name for p in spec.parameters if not p.discretization]
        if set(design) <= set(s.param_names):
            varies = "all design parameters"
        else:
            labels = []
            for n in s.param_names:
                try:
                    labels.append(spec.parameter(n).label)
                except Exception:  # noqa: BLE001 - a name the study does not know
                    labels.append(n)
            varies = ", ".join(labels)
        text = (f"{s.kind} varies {varies}; {s.n_points:,} nodes"
                + (", geometry predicted" if s.coords_vary else "") + ".")
        err = self._field_error(m)
        if err is not None:
            text += f" Held-out error: {err[0]} {_pct(err[1])}"
            if err[0] != "mean" and isinstance(m.get("rel_l2_mean"), (int, float)):
                text += f" (all fields {_pct(m['rel_l2_mean'])})"
            if m.get("n_test"):
                text += f", {m['n_test']} designs"
            text += "."
        self.info_label.setText(text)
        self.uncertainty_check.setEnabled(s.uncertainty)
        self.uncertainty_check.setToolTip(
            "Show the model's standard deviation of the selected field instead of the field"
            if s.uncertainty else f"A {s.kind} model gives no uncertainty (pod-gp and pod-mlp do)")

    def _activate(self, entry: ModelEntry) -> None:
        self.current = entry
        self._last_applied_id = 0
        self.out_of_range = []
        self.window.message_bar.clear("surrogate")
        s = entry.loaded.summary
        for notice in s.notices:
            if notice not in self._notices:
                self._notices.add(notice)
                self.window.statusBar().showMessage(notice, 15000)
        self._status(f"Surrogate {s.kind} selected: the sliders now update its prediction")
        self.request_prediction()

    def _drop_current(self) -> None:
        if self.showing:
            self._restore_info()
        self.current = None
        self.showing = False
        self._pending = None
        self.last_prediction = None
        w = self.window
        w.message_bar.clear("surrogate-range")
        w.message_bar.clear("surrogate")
        self.out_of_range = []
        if w.viewport is not None:
            w.viewport.set_caption("")
        w.show_device()
        w.device_label.setToolTip("Compute device for surrogates (File > Settings..., Ctrl+,)")

    def _restore_info(self) -> None:
        if self._saved_info is not None:
            self.window.info_label.setText(self._saved_info)
            self._saved_info = None

    def _on_loaded(self, load_id: int, key: str, loaded: LoadedModel) -> None:
        if self._loading.get(key) != load_id:
            return
        del self._loading[key]
        if loaded.summary.study_id != self.model_study_id():
            return  # the study changed meanwhile
        entry = self._entry(key)
        if entry is None:  # File > Load: it passed the loader's checks
            entry = ModelEntry(key, "file", Path(key))
            self.entries.append(entry)
        entry.loaded = loaded
        # a mesh-agnostic model of a topology-changing study meshes each design with the study's
        # own mesher (gmsh, on the prediction worker), so topology sliders work (#19)
        from physapp.surrogates.meshers import attach_study_mesher

        attach_study_mesher(loaded.model)
        self._fill_combo()
        if entry.source == "file" or key == self.selected_key:
            self.selected_key = key
            self._set_combo(key)
            self._show_info()
            self._activate(entry)

    def _on_load_failed(self, load_id: int, key: str, message: str) -> None:
        if self._loading.get(key) != load_id:
            return
        del self._loading[key]
        self.window.show_message(f"Cannot use this surrogate: {message}", "error", "surrogate")
        if key == self.selected_key:  # back to what was in use
            self.selected_key = self.current.key if self.current is not None else ""
            self._set_combo(self.selected_key)
            self._show_info()

    def _frame_has(self, field: tuple[str, str, str]) -> bool:
        """True when the frame on screen has ``field`` (a partial one may not)."""
        p = self.last_prediction
        return p is not None and field[0].partition("[")[0] in p.result.point_data

    def _on_combo(self, index: int) -> None:
        self.select(self.combo.itemData(index) or "")

    def _on_uncertainty_toggled(self, on: bool) -> None:
        self._uncertainty_on = on
        if self.showing and not self._frame_has(self.display_field()):
            self._refresh_caption()
            self.request_prediction()
        elif self.showing:
            self._refresh_caption()
            self.window.viewport.set_field(self.display_field())
        elif on and self.current is not None:
            self.request_prediction()  # the uncertainty belongs to a prediction: show one

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)


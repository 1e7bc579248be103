"""Run > Train surrogate...: solve a set of designs and train a field surrogate in the background.

The dialog asks for the model kind (pod-gp by default), the number of designs (32), the sampler
(Latin hypercube or Sobol) and which parameters vary (by default every design parameter; the
others, and the element size, keep the current design's values). Start runs three steps in a
child process (``physapp.compute.training_job``; the dialog polls its events from a timer):

1. plan the data set (``Dataset.create``: samples, reference mesh, morphable ranges) in a new HDF5
   file under the user's data folder (``$XDG_DATA_HOME/physapp/datasets``);
2. solve the designs (``run_sweep``: worker processes, each finished design stored at once);
3. train the model (``train_surrogate``; progress with iteration/epoch and loss, drawn as a live
   loss curve) and save it under ``$XDG_DATA_HOME/physapp/surrogates/<study-id>``.

Cancel works at any time: the job is asked to stop (the sweep stops its workers, training stops
at its next iteration) and killed with its workers if it has not stopped within a few seconds.
Solved designs stay in the data set file; Start with the same settings resumes it. When training
finishes, ``trained(None, path)`` hands the saved model file to the window, which loads and
selects it.
"""

from __future__ import annotations

import datetime
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from physapp.compute.training_job import TrainPlan, TrainProcess, run_plan  # noqa: F401
from physapp.core.errors import PhysappError
from physapp.core.study import Study
from physapp.gui.chart import LossPlot  # noqa: F401 - re-exported (its home was here)
from physapp.gui.prediction import TRAIN_MODULES, preload

#: (kind, description) in the order the dialog offers them
KINDS = (
    ("pod-gp", "POD + Gaussian process \u2013 fixed topology, small data, calibrated "
               "uncertainty (recommended)"),
    ("pod-mlp", "POD + neural-network ensemble \u2013 with uncertainty"),
    ("nearest", "Nearest solved design (baseline)"),
    ("linear", "Linear regression (baseline)"),
    ("neural-field", "Neural field (slow to train)"),
    ("transolver", "Transolver ensemble \u2013 any mesh, more data (slow to train)"),
    ("geo-field", "Geometry-aware neural field \u2013 any mesh, query anywhere"),
    ("curve-gp", "History: POD of whole histories + GP \u2013 transient or load-stepped "
                 "studies, with the curves"),
    ("pod-history", "History: space-time POD + GP on parameters and time \u2013 transient "
                    "or load-stepped studies"),
    ("field-curve", "History: field-and-curve DeepONet-Transolver ensemble, conformal band "
                    "\u2013 load-stepped studies (slow to train)"),
    ("pod-history-phase", "History, periodic: space-time POD + GP on parameters and the "
                          "shedding phase \u2013 vortex streets (needs a periodic curve)"),
    ("neural-field-history", "History: neural field of parameters, time and position "
                             "(slow to train)"),
)
SAMPLERS = (("lhs", "Latin hypercube (lhs)"), ("sobol", "Sobol sequence (sobol)"))
DEFAULT_SAMPLES = 32
STEPS = ("Planning the designs", "Solving the designs", "Training the model")
POLL_MS = 50  # how often the dialog reads the training process's events
#: what a training report's "loss" is, per kind (for the plot's axis)
LOSS_LABELS = {"pod-gp": "neg. log-likelihood per point", "pod-mlp": "loss (MSE, scaled)",
               "transolver": "loss (MSE, normalised)", "geo-field": "loss (MSE, normalised)",
               "neural-field": "loss (MSE, scaled)"}


class _JobRelay(QObject):
    """The training job's events as signals (emitted on the GUI thread by the poll timer)."""

    step = Signal(int)
    progress = Signal(float, str)
    epoch = Signal(int, float, object)
    done = Signal(object, str)
    failed = Signal(str)
    cancelled = Signal(str)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.closed = False

    def emit(self, signal: str, *args: Any) -> None:
        try:
            if not self.closed:
                getattr(self, signal).emit(*args)
        except RuntimeError:  # the dialog is gone
            pass


class TrainDialog(QDialog):
    """Run > Train surrogate... (non-modal; see the module docstring)."""

    trained = Signal(object, str)  # the model (for the window's predictor) and its saved path

    def __init__(self, study: Study, params: Mapping[str, float] | Callable[[], Mapping],
                 settings: Any, datasets_dir: Path, models_dir: Path,
                 parent: QWidget | None = None) -> None:
        """``params``: the current design, or a function giving it (read again at Start, so
        parameters that do not vary keep the values the sliders have then)."""
        super().__init__(parent)
        self.study = study
        self.spec = study.spec
        self._params = params
        self.settings = settings
        self.datasets_dir = Path(datasets_dir)
        self.models_dir = Path(models_dir)
        self.setWindowTitle(f"Train surrogate \u2013 {self.spec.title}")
        self.setMinimumWidth(620)
        self.resize(660, 780)
        self.running = False
        self.state = "idle"  # idle, running, done, cancelled, failed
        self.dataset_path: Path | None = None
        self.model_path: Path | None = None
        self.model: Any = None
        self._plan_key: tuple | None = None
        self._process: TrainProcess | None = None
        self._local_once = False  # the next start solves on this computer (scheduler down)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_events)
        #: signals of the current run (step, progress, epoch, done, failed, cancelled)
        self.job: _JobRelay | None = None
        self._step = -1
        self._t_step = 0.0

        col = QVBoxLayout(self)
        setup = QGroupBox("What to train")
        form = QFormLayout(setup)
        self.kind_combo = QComboBox()
        for kind, text in KINDS:
            self.kind_combo.addItem(f"{kind}: {text}", kind)
        self.n_spin = QSpinBox()
        self.n_spin.setRange(4, 5000)
        self.n_spin.setValue(DEFAULT_SAMPLES)
        self.n_spin.setToolTip("Designs to solve with the reference solver; about 20 % are held "
                               "out to measure the model's error")
        self.sampler_combo = QComboBox()
        for method, text in SAMPLERS:
            self.sampler_combo.addItem(text, method)
        form.addRow("Model:", self.kind_combo)
        form.addRow("Designs to solve:", self.n_spin)
        form.addRow("Sampler:", self.sampler_combo)
        vary_box = QWidget()
        grid = QGridLayout(vary_box)
        grid.setContentsMargins(0, 0, 0, 0)
        self.vary_checks: dict[str, QCheckBox] = {}
        design = [p for p in self.spec.parameters if not p.discretization]
        for i, p in enumerate(design):
            lo, hi = p.lower * p.scale, p.upper * p.scale
            box = QCheckBox(f"{p.label} ({lo:.4g} \u2013 {hi:.4g} {p.shown_unit})".replace(" )",
                                                                                          ")"))
            box.setChecked(True)
            box.setToolTip(f"Vary {p.name} over its range; unchecked it stays at the current "
                           f"value {self.params.get(p.name, p.default) * p.scale:.4g} "
                           f"{p.shown_unit}")
            box.toggled.connect(self._update_note)
            self.vary_checks[p.name] = box
            grid.addWidget(box, i // 2, i % 2)
        form.addRow("Vary:", vary_box)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #505050;")
        form.addRow("", self.note)
        col.addWidget(setup)

        run = QGroupBox("Progress")
        rc = QVBoxLayout(run)
        self.step_label = QLabel("Not started.")
        bold = QFont(self.step_label.font())
        bold.setBold(True)
        self.step_label.setFont(bold)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        self.detail_label = QLabel("")  # what the step is doing: "5/16 done, ETA 11 s"
        self.path_label = QLabel("")
        self.path_label.setWordWrap(True)
        self.path_label.setStyleSheet("color: #707070;")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.plot = LossPlot()
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.result_label.setMinimumHeight(5 * self.result_label.fontMetrics().lineSpacing())
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rc.addWidget(self.step_label)
        rc.addWidget(self.progress)
        rc.addWidget(self.detail_label)
        rc.addWidget(self.plot, 1)
        rc.addWidget(self.result_label)
        rc.addWidget(self.path_label)
        col.addWidget(run, 1)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop now; solved designs stay in the data set file")
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.setToolTip("Close this window (a run continues in the background; "
                                     "Run > Train surrogate\u2026 shows it again)")
        self.close_button.clicked.connect(self.close)
        buttons.addStretch(1)
        # shown when the Dask scheduler of the settings cannot be reached
        self.local_button = QPushButton("Solve on this computer")
        self.local_button.setToolTip("Run this sweep with worker processes here instead of the "
                                     "Dask scheduler set in File > Settings")
        self.local_button.clicked.connect(self.start_locally)
        self.local_button.hide()
        buttons.addWidget(self.local_button)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        col.addLayout(buttons)
        self._update_note()

    # -- plan -----------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        return dict(self._params() if callable(self._params) else self._params)

    @property
    def vary(self) -> tuple[str, ...]:
        return tuple(n for n, box in self.vary_checks.items() if box.isChecked())

    def _fixed(self) -> dict[str, float]:
        vary, params = set(self.vary), self.params
        return {p.name: float(params.get(p.name, p.default)) for p in self.spec.parameters
                if p.name not in vary}

    def _update_note(self) -> None:
        disc = [p for p in self.spec.parameters if p.discretization]
        parts = [f"{p.label.lower()} {self.params.get(p.name, p.default) * p.scale:.4g} "
                 f"{p.shown_unit}".rstrip() for p in disc]
        text = "Unchecked parameters keep the current design's values"
        text += f" ({', '.join(parts)})." if parts else "."
        text += (f" Reference solves: P{self.settings.element_order} elements, "
                 f"{self.settings.workers} worker process(es); model on device "
                 f"{self.settings.device_label} (File > Settings).")
        self.note.setText(text)
        self.start_button.setEnabled(bool(self.vary) and not self.running)

    def _plan(self) -> TrainPlan:
        kind = self.kind_combo.currentData()
        key = (self.spec.id, self.n_spin.value(), self.sampler_combo.currentData(), self.vary,
               tuple(sorted(self._fixed().items())), self.settings.element_order)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        resume = key == self._plan_key and self.dataset_path is not None \
            and self.dataset_path.exists()
        if not resume:
            # a part's id holds file paths: one safe file name
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.spec.id)[-120:]
            self.dataset_path = self.datasets_dir / f"{safe}-{stamp}.h5"
        self._plan_key = key
        self.model_path = self.models_dir / f"{kind}-{stamp}.pt"
        return TrainPlan(self.spec.id, kind, self.n_spin.value(),
                         self.sampler_combo.currentData(), self.vary, self._fixed(),
                         self.settings.element_order, self.settings.workers,
                         self.settings.device, self.dataset_path, self.model_path, resume,
                         scheduler="" if self._local_once else self.settings.scheduler)

    # -- run ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or resume) the run in the background."""
        if self.running or not self.vary:
            return
        # imports happen here, on the GUI thread (PySide6's import hook is not thread-safe; see
        # physapp.gui.prediction); the study's check pulls in its geometry module
        _seconds, problem = preload(TRAIN_MODULES)
        if problem:
            self._on_failed(problem)
            return
        try:
            self.study.check(self.params)
        except PhysappError:
            pass  # the current design may be invalid; the planned samples are checked anyway
        plan = self._plan()
        self.local_button.hide()
        self.running, self.state, self.model = True, "running", None
        self._set_inputs_enabled(False)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.result_label.setText("")
        self.result_label.setStyleSheet("")
        self.plot.x_label = "iteration" if plan.kind == "pod-gp" else "epoch"
        self.plot.y_label = LOSS_LABELS.get(plan.kind, "loss")
        self.plot.clear("The loss curve appears here while the model trains." if
                        plan.kind in LOSS_LABELS else
                        f"A {plan.kind} model is fitted in one step (no loss curve).")
        self.detail_label.setText("")
        self.progress.setValue(0)
        self.path_label.setText(f"Data set: {plan.dataset_path}" +
                                (" (resumed)" if plan.resume else ""))
        relay = _JobRelay(self)
        relay.step.connect(self._on_step)
        relay.progress.connect(self._on_progress)
        relay.epoch.connect(self._on_epoch)
        relay.done.connect(self._on_done)
        relay.failed.connect(self._on_failed)
        relay.cancelled.connect(self._on_cancelled)
        self.job = relay
        self._summary: dict = {}
        self._process = TrainProcess(plan)
        try:
            self._process.start()
        except OSError as exc:
            self._process = None
            self._on_failed(f"The training process could not start: {exc}")
            return
        self._poll.start()

    def _poll_events(self) -> None:
        """Timer (GUI thread): forward the job's events to the relay's signals."""
        proc, relay = self._process, self.job
        if proc is None or relay is None:
            self._poll.stop()
            return
        for ev in proc.poll():
            kind = ev[0]
            if kind == "step":
                relay.emit("step", ev[1])
            elif kind == "progress":
                relay.emit("progress", ev[1], ev[2])
            elif kind == "epoch":
                relay.emit("epoch", ev[1], ev[2], ev[3])
            elif kind == "done":
                self._summary = ev[2]
                relay.emit("done", None, ev[1])
            elif kind == "failed":
                relay.emit("failed", ev[1])
            elif kind == "cancelled":
                relay.emit("cancelled", "")
        if proc.finished:
            self._poll.stop()

    def cancel(self) -> None:
        """Stop the run (solved designs are kept in the data set file)."""
        if self.running and self._process is not None:
            self._process.cancel()
            self.cancel_button.setEnabled(False)
            self.step_label.setText(self.step_label.text() + " \u2013 cancelling \u2026")

    def cancel_and_close(self, wait: bool = False) -> None:
        """Cancel a run and close (the window closes or switches study)."""
        if self.running and self._process is not None:
            self._process.cancel()
            if wait:
                if not self._process.wait(self._process.grace + 2):
                    self._process.kill()
            else:  # the window goes away: no timer will kill a job that does not stop
                QTimer.singleShot(int(1000 * (self._process.grace + 1)), self._process.kill)
        self._poll.stop()
        if self.job is not None:
            self.job.closed = True
        self.running = False
        self.close()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the training process ends (tests); True when it did."""
        if self._process is None:
            return True
        return self._process.wait(timeout)

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        if self.running and self.parent() is not None:
            sb = getattr(self.parent(), "statusBar", None)
            if sb is not None:
                sb().showMessage("Surrogate training continues in the background; "
                                 "Run > Train surrogate\u2026 shows its progress.", 10000)
        super().closeEvent(event)

    # -- progress (GUI thread) ------------------------------------------------------------------
    def _on_step(self, index: int) -> None:
        self._step, self._t_step = index, time.perf_counter()
        self.step_label.setText(f"Step {index + 1} of {len(STEPS)}: {STEPS[index]}")
        self.progress.setValue(0)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(1000 * min(max(fraction, 0.0), 1.0)))
        if self._step == 2:
            total = re.search(r"\b\d+/(\d+)\b", message)
            if total:
                self.plot.total = int(total.group(1))
            if 0.02 < fraction < 1.0 and "ETA" not in message:
                spent = time.perf_counter() - self._t_step
                message += f", ETA {_eta(spent / fraction * (1 - fraction))}"
        self.detail_label.setText(message)

    def _on_epoch(self, epoch: int, loss: float, val: object) -> None:
        self.plot.add(epoch, loss, None if val is None else float(val))

    def _on_done(self, model: Any, path: str) -> None:
        """``model`` is None when it was trained in the child process (the usual case): the
        summary it sent gives kind and metrics, the window loads the saved file."""
        self._finish("done")
        self.model = model
        self.model_path = Path(path)
        summary = self._summary if model is None else {
            "kind": model.kind, "metrics": getattr(model, "metrics", {}) or {}}
        m = summary.get("metrics") or {}
        fields = m.get("fields") or {}
        lines = [f"<b>Trained {summary.get('kind', 'model')}</b> on {m.get('n_train', '?')} designs in "
                 f"{m.get('train_time_s', 0.0):.1f} s; it is now selected in the main window."]
        if fields:
            per = ", ".join(f"{k} {pct(v['rel_l2'])}" for k, v in fields.items())
            lines.append(f"Held-out error (relative L2 on {m.get('n_test', '?')} designs): "
                         f"{per}; mean <b>{pct(m.get('rel_l2_mean', 0.0))}</b>.")
        if "coverage95" in m:
            lines.append(f"95 % intervals hold {100 * m['coverage95']:.0f} % of the held-out "
                         "values.")
        self.result_label.setText("<br>".join(lines))
        self.path_label.setText(f"Model: {path}<br>Data set: {self.dataset_path}")
        self.step_label.setText("Done.")
        self.progress.setValue(1000)
        self.detail_label.setText("")
        self.trained.emit(model, path)

    def _on_failed(self, message: str) -> None:
        self._finish("failed")
        self.step_label.setText("Failed.")
        self.result_label.setStyleSheet("color: #7a1c1a;")
        scheduler_down = bool(self.settings.scheduler) and "Dask scheduler" in message
        if scheduler_down:
            message += " Or press \u2018Solve on this computer\u2019 to run this sweep here."
        self.local_button.setVisible(scheduler_down)
        self.result_label.setText(message + self._kept())

    def start_locally(self) -> None:
        """Start (or resume) the run with local worker processes, once."""
        self._local_once = True
        self.local_button.hide()
        try:
            self.start()
        finally:
            self._local_once = False

    def _on_cancelled(self, _message: str) -> None:
        self._finish("cancelled")
        self.step_label.setText("Cancelled.")
        self.detail_label.setText("")
        self.result_label.setText("Cancelled." + self._kept() +
                                  " Start with the same settings resumes from there.")

    def _kept(self) -> str:
        if self.dataset_path is None or not self.dataset_path.exists():
            return ""
        try:
            from physapp.surrogates.dataset import Dataset

            ds = Dataset.open(self.dataset_path)
        except PhysappError:
            return ""
        c = ds.counts()
        return (f" {c['done']} of {ds.n_samples} designs are solved and kept in "
                f"{self.dataset_path}.")

    def _finish(self, state: str) -> None:
        self.running, self.state = False, state
        self._set_inputs_enabled(True)
        self.cancel_button.setEnabled(False)
        self.start_button.setEnabled(bool(self.vary))

    def _set_inputs_enabled(self, on: bool) -> None:
        for w in (self.kind_combo, self.n_spin, self.sampler_combo, *self.vary_checks.values()):
            w.setEnabled(on)


def _eta(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def pct(x: float) -> str:
    """A relative error as a percentage with two significant digits ("0.26 %", "110 %")."""
    x = 100 * float(x)
    return f"{x:.2g} %" if x < 10 else f"{x:.0f} %"

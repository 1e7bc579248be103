"""Run > Learn while solving...: a surrogate trained as the designs are solved, until it reaches
the error asked for.

The dialog asks for the model (POD-GP: its Gaussian processes give the uncertainty that chooses
the next designs), the field and the target error, a budget of solves, the strategy (active:
where the model is least sure; Sobol: space filling) and the worker processes. Start runs
:func:`physapp.surrogates.online.run_online` in a child process
(:class:`physapp.compute.online_job.OnlineProcess`, at a lower priority, one thread per worker)
which the dialog polls from a timer: the GUI thread never waits for it.

Live: the estimated error against the number of solves (with its spread, on a log scale, and the
target), and the designs in the plane of two chosen parameters over candidates coloured by the
model's standard deviation there. Whenever the estimate has improved enough the child saves a
model of every field and the window swaps it in (the viewport's prediction improves as it
learns). Pause stops handing out designs (those being solved finish); Cancel stops at once.
Every solved design stays in the data set file, and Start with the same settings continues it
(with a new target or a larger budget) without solving a design twice.
"""

from __future__ import annotations

import datetime
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from physapp.core.study import Study
from physapp.gui.chart import Chart, ErrorChart
from physapp.gui.chart import pct as _pct

POLL_MS = 100
STRATEGIES = (("active", "Active: solve where the model is least sure"),
              ("sobol", "Space filling (Sobol sequence)"))


class DesignScatter(Chart):
    """Solved designs (black), failed ones (red crosses) over candidates coloured by the
    model's standard deviation (blue: sure, red: unsure), in the plane of two parameters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("The solved designs appear here.", parent)
        self.setMinimumSize(240, 170)
        self.view: dict | None = None
        self.ix, self.iy = 0, 1
        self.labels: list[str] = []

    def set_view(self, view: dict) -> None:
        self.view = view
        self.update()

    def set_axes(self, ix: int, iy: int) -> None:
        self.ix, self.iy = ix, iy
        self.update()

    def has_data(self) -> bool:
        return bool(self.view and self.view.get("bounds"))

    def draw(self, p: QPainter, fm: Any) -> None:
        v = self.view
        assert v is not None
        b = v["bounds"]
        d = len(b)
        ix, iy = min(self.ix, d - 1), min(self.iy, d - 1)
        fm = p.fontMetrics()
        m = fm.height() + 4
        area = QRectF(m, 6, self.width() - m - 8, self.height() - m - 10)

        def at(row: list[float]) -> QPointF:
            def u(j: int) -> float:
                lo, hi = b[j]
                return (row[j] - lo) / (hi - lo) if hi > lo else 0.5

            return QPointF(area.left() + u(ix) * area.width(),
                           area.bottom() - (u(iy) if d > 1 else 0.5) * area.height())

        std = v.get("pool_std") or []
        if std:
            top = max(std) or 1.0
            for row, s in zip(v.get("pool_X") or [], std, strict=False):
                t = min(max(s / top, 0.0), 1.0)
                c = QColor.fromHsvF(0.66 * (1 - t), 0.75, 0.95, 0.55)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(c)
                p.drawEllipse(at(row), 3.0, 3.0)
        p.setBrush(QColor("black"))
        p.setPen(Qt.PenStyle.NoPen)
        for row in v.get("X") or []:
            p.drawEllipse(at(row), 2.5, 2.5)
        p.setPen(QPen(QColor("#d62728"), 1.6))
        for row in v.get("failed_X") or []:
            c = at(row)
            p.drawLine(c + QPointF(-3, -3), c + QPointF(3, 3))
            p.drawLine(c + QPointF(-3, 3), c + QPointF(3, -3))
        p.setPen(QColor("#404040"))
        names = v.get("param_names") or self.labels
        if names:
            p.drawText(int(area.left()), self.height() - 4, names[ix])
            p.save()
            p.translate(fm.ascent(), area.bottom())
            p.rotate(-90)
            p.drawText(0, 0, names[iy] if d > 1 else "")
            p.restore()


class OnlineDialog(QDialog):
    """Run > Learn while solving... (non-modal; see the module docstring)."""

    improved = Signal(object, str)  # (None, model file): a better model to swap in
    trained = Signal(object, str)  # (None, model file): the final model

    def __init__(self, study: Study, params: Mapping[str, float] | Callable[[], Mapping],
                 settings: Any, datasets_dir: Path, models_dir: Path,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.study = study
        self.spec = study.spec
        self._params = params
        self.settings = settings
        self.datasets_dir = Path(datasets_dir)
        self.models_dir = Path(models_dir)
        self.setWindowTitle(f"Learn while solving \u2013 {self.spec.title}")
        self.resize(720, 760)
        self.running = False
        self.state = "idle"  # idle, running, done, cancelled, failed
        self.dataset_path: Path | None = None
        self.model_path: Path | None = None
        self.live_path: Path | None = None
        self._key: tuple | None = None
        self._process: Any = None
        self.steps: list[dict] = []  # every refit received (tests, the chart)
        self.swaps = 0
        self.poll_ms: list[float] = []  # GUI-thread time spent per poll (responsiveness)
        self.poll_kinds: list[tuple] = []  # the events of each poll
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_events)

        col = QVBoxLayout(self)
        setup = QGroupBox("What to learn")
        form = QFormLayout(setup)
        self.model_combo = QComboBox()
        self.model_combo.addItem("pod-gp: POD + Gaussian process \u2013 its uncertainty picks "
                                 "the next designs", "pod-gp")
        self.field_combo = QComboBox()
        names = list(dict.fromkeys(f.name.split("[")[0] for f in self.spec.fields))
        for n in names:
            self.field_combo.addItem(n, n)
        default = self.spec.default_field.split("[")[0]
        if default in names:
            self.field_combo.setCurrentIndex(names.index(default))
        self.target_spin = QDoubleSpinBox()
        self.target_spin.setRange(0.01, 50.0)
        self.target_spin.setDecimals(2)
        self.target_spin.setSingleStep(0.5)
        self.target_spin.setValue(2.0)
        self.target_spin.setSuffix(" %")
        self.target_spin.setToolTip("Stop when the estimated relative L2 error of the field "
                                    "over the design space is at most this")
        self.budget_spin = QSpinBox()
        self.budget_spin.setRange(1, 100_000)
        self.budget_spin.setValue(100)
        self.budget_spin.setToolTip("Stop after this many solves at the latest")
        self.strategy_combo = QComboBox()
        for key, text in STRATEGIES:
            self.strategy_combo.addItem(text, key)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, max(1, os.cpu_count() or 1) * 4)
        self.workers_spin.setValue(max(1, int(getattr(settings, "workers", 1))))
        self.workers_spin.setToolTip("Parallel solves (processes at a lower priority, one "
                                     "thread each: the app stays responsive)")
        form.addRow("Model:", self.model_combo)
        form.addRow("Field:", self.field_combo)
        form.addRow("Target error:", self.target_spin)
        form.addRow("Budget (solves):", self.budget_spin)
        form.addRow("Strategy:", self.strategy_combo)
        form.addRow("Workers:", self.workers_spin)
        col.addWidget(setup)

        run = QGroupBox("Progress")
        rc = QVBoxLayout(run)
        self.status_label = QLabel("Not started.")
        bold = QFont(self.status_label.font())
        bold.setBold(True)
        self.status_label.setFont(bold)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.detail_label = QLabel("")
        self.detail_label.setWordWrap(True)
        self.chart = ErrorChart()
        self.scatter = DesignScatter()
        axes = QHBoxLayout()
        self.x_combo, self.y_combo = QComboBox(), QComboBox()
        design = [p.name for p in self.spec.parameters if not p.discretization]
        for combo in (self.x_combo, self.y_combo):
            for n in design:
                combo.addItem(n, n)
            combo.currentIndexChanged.connect(self._axes_changed)
        if len(design) > 1:
            self.y_combo.setCurrentIndex(1)
        axes.addWidget(QLabel("Designs:"))
        axes.addWidget(self.x_combo)
        axes.addWidget(QLabel("vs"))
        axes.addWidget(self.y_combo)
        axes.addStretch(1)
        plots = QHBoxLayout()
        plots.addWidget(self.chart, 3)
        plots.addWidget(self.scatter, 2)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label = QLabel("")
        self.path_label.setWordWrap(True)
        self.path_label.setStyleSheet("color: #707070;")
        for wdg in (self.status_label, self.progress, self.detail_label):
            rc.addWidget(wdg)
        rc.addLayout(plots, 1)
        rc.addLayout(axes)
        rc.addWidget(self.result_label)
        rc.addWidget(self.path_label)
        col.addWidget(run, 1)

        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setEnabled(False)
        self.pause_button.setToolTip("Hand out no new design (those being solved finish)")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip("Stop now; solved designs stay in the data set file")
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close)
        buttons.addStretch(1)
        for b in (self.start_button, self.pause_button, self.cancel_button, self.close_button):
            buttons.addWidget(b)
        col.addLayout(buttons)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.cancel_and_close)

    # -- plan -----------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, float]:
        return dict(self._params() if callable(self._params) else self._params)

    def config(self) -> Any:
        from physapp.surrogates.online import OnlineConfig

        params = self.params
        design = [p.name for p in self.spec.parameters if not p.discretization]
        fixed = {p.name: float(params.get(p.name, p.default)) for p in self.spec.parameters
                 if p.discretization}
        return OnlineConfig(
            study_id=self.spec.id, target=self.target_spin.value() / 100.0,
            budget=self.budget_spin.value(), field=self.field_combo.currentData(),
            strategy=self.strategy_combo.currentData(), workers=self.workers_spin.value(),
            scheduler=getattr(self.settings, "scheduler", "") or "", vary=tuple(design),
            fixed=fixed, order=int(getattr(self.settings, "element_order", 2)))

    def _paths(self, cfg: Any) -> None:
        key = (cfg.study_id, cfg.field, cfg.strategy, tuple(sorted(cfg.fixed.items())),
               cfg.order)
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        if key != self._key or self.dataset_path is None or not self.dataset_path.exists():
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in cfg.study_id)[-120:]
            self.datasets_dir.mkdir(parents=True, exist_ok=True)
            self.dataset_path = self.datasets_dir / f"{safe}-online-{stamp}.h5"
        self._key = key
        self.models_dir.mkdir(parents=True, exist_ok=True)
        self.model_path = self.models_dir / f"pod-gp-online-{stamp}.pt"
        self.live_path = self.models_dir / f"pod-gp-online-{stamp}-live.pt"

    # -- run ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or continue, with the same settings) a run in the background."""
        if self.running:
            return
        from physapp.compute.online_job import OnlineProcess
        from physapp.core.errors import PhysappError

        cfg = self.config()
        try:
            cfg.check()
        except PhysappError as exc:
            self._fail(str(exc))
            return
        resumed = self.dataset_path is not None and self.dataset_path.exists()
        self._paths(cfg)
        self.steps, self.swaps = [], 0
        self.chart.clear()
        self.chart.target, self.chart.budget = cfg.target, cfg.budget
        self.scatter.set_view({})
        self.running, self.state = True, "running"
        self._set_inputs(False)
        self.result_label.setText("")
        self.result_label.setStyleSheet("")
        self.status_label.setText("Starting \u2026")
        self.progress.setValue(0)
        self.path_label.setText(f"Data set: {self.dataset_path}"
                                + (" (continued)" if resumed and self.dataset_path.exists()
                                   else ""))
        self._process = OnlineProcess(cfg, self.dataset_path, self.model_path, self.live_path)
        try:
            self._process.start()
        except OSError as exc:
            self._process = None
            self._fail(f"The learning process could not start: {exc}")
            return
        self._poll.start()

    def toggle_pause(self) -> None:
        if not self.running or self._process is None:
            return
        if self._process.paused:
            self._process.resume()
            self.pause_button.setText("Pause")
            self.status_label.setText("Learning \u2026")
        else:
            self._process.pause()
            self.pause_button.setText("Resume")
            self.status_label.setText("Paused: the designs being solved finish, no new one "
                                      "starts.")

    def cancel(self) -> None:
        if self.running and self._process is not None:
            self._process.cancel()
            self.cancel_button.setEnabled(False)
            self.pause_button.setEnabled(False)
            self.status_label.setText("Cancelling \u2026")

    def cancel_and_close(self, wait: bool = False) -> None:
        """Cancel a run and close (the window closes or the app quits)."""
        proc = self._process
        if self.running and proc is not None:
            proc.cancel()
            if wait or QApplication.instance() is None or QApplication.closingDown():
                if not proc.wait(proc.grace + 2):
                    proc.kill()
            else:
                QTimer.singleShot(int(1000 * (proc.grace + 1)), proc.kill)
        self._poll.stop()
        self.running = False
        try:
            self.close()
        except RuntimeError:  # already deleted
            pass

    def wait(self, timeout: float = 30.0) -> bool:
        return True if self._process is None else self._process.wait(timeout)

    # -- events (GUI thread, from the timer) ---------------------------------------------------
    def _poll_events(self) -> None:
        t0 = time.perf_counter()
        proc = self._process
        if proc is None:
            self._poll.stop()
            return
        events = proc.poll()
        for ev in events:
            kind = ev[0]
            if kind == "progress":
                self.progress.setValue(int(1000 * min(max(ev[1], 0.0), 1.0)))
                self.detail_label.setText(ev[2])
                if not proc.paused and not self._cancelling():
                    self.status_label.setText("Learning \u2026")
            elif kind == "step":
                self._on_step(ev[1], ev[2])
            elif kind == "model":  # the window loads it after this poll (its own work)
                self.swaps += 1
                QTimer.singleShot(0, lambda path=ev[1]: self.improved.emit(None, path))
            elif kind == "done":
                self._on_done(ev[1], ev[2])
            elif kind == "failed":
                self._fail(ev[1])
            elif kind == "cancelled":
                self._finish("cancelled")
                self.status_label.setText("Cancelled.")
                # the run's message counts the designs kept (no file read on this thread)
                kept = ev[1] if len(ev) > 1 and ev[1] else "Cancelled." + self._kept()
                self.result_label.setText(kept + " Start with the same settings continues "
                                          "from there.")
        if proc.finished:
            self._poll.stop()
        self.poll_ms.append((time.perf_counter() - t0) * 1e3)
        self.poll_kinds.append(tuple(ev[0] for ev in events))

    def _cancelling(self) -> bool:
        return self._process is not None and self._process._cancel_at is not None

    def _on_step(self, step: dict, view: dict) -> None:
        self.steps.append(step)
        self.chart.add(step["solves"], step["estimate"], step["estimate_std"])
        self.scatter.set_view(view)
        self.progress.setValue(int(1000 * min(1.0, step["solves"] / max(self.chart.budget, 1))))

    def _axes_changed(self) -> None:
        self.scatter.set_axes(max(self.x_combo.currentIndex(), 0),
                              max(self.y_combo.currentIndex(), 0))

    def _on_done(self, path: str, summary: dict) -> None:
        self._finish("done")
        self.model_path = Path(path)
        ok = summary.get("stopped") == "target"
        self.status_label.setText("Done: target reached." if ok else "Done: budget spent.")
        self.result_label.setStyleSheet("" if ok else "color: #8a5a00;")
        text = summary.get("message", "")
        if summary.get("measured") is not None:
            text += f" Measured on test designs: {_pct(summary['measured'])}."
        self.result_label.setText(text + " The model is now selected in the main window.")
        self.path_label.setText(f"Model: {path}<br>Data set: {self.dataset_path}")
        self.progress.setValue(1000)
        self.trained.emit(None, path)

    def _fail(self, message: str) -> None:
        self._finish("failed")
        self.status_label.setText("Failed.")
        self.result_label.setStyleSheet("color: #7a1c1a;")
        self.result_label.setText(message + self._kept())

    def _kept(self) -> str:
        if self.dataset_path is None or not self.dataset_path.exists():
            return ""
        try:  # only the status column: a quick read on the GUI thread
            import h5py

            with h5py.File(self.dataset_path, "r") as f:
                status = f["samples/status"][()]
        except Exception:  # noqa: BLE001 - only a note
            return ""
        return (f" {int((status == 1).sum())} solved and {int((status == 2).sum())} failed "
                f"designs are kept in {self.dataset_path}.")

    def _finish(self, state: str) -> None:
        self.running, self.state = False, state
        self._set_inputs(True)
        self.pause_button.setText("Pause")

    def _set_inputs(self, on: bool) -> None:
        for wdg in (self.model_combo, self.field_combo, self.target_spin, self.budget_spin,
                    self.strategy_combo, self.workers_spin, self.start_button):
            wdg.setEnabled(on)
        self.pause_button.setEnabled(not on)
        self.cancel_button.setEnabled(not on)


def open_online_dialog(window: Any) -> OnlineDialog:
    """Run > Learn while solving...: the (non-modal) dialog of ``window``'s study; a better
    model swaps into the window's surrogate selector as it learns."""
    from physapp.gui.surrogate_panel import datasets_dir, saved_models_dir

    dlg = getattr(window, "online_dialog", None)
    if dlg is not None and dlg.running:
        dlg.show()
        dlg.raise_()
        return dlg
    if dlg is not None:
        dlg.deleteLater()
    study = window.model.study
    dlg = OnlineDialog(study, lambda: window.model.params, window.settings, datasets_dir(),
                       saved_models_dir(study.spec.id), parent=window)
    dlg.improved.connect(window.surrogates.add_trained)
    dlg.trained.connect(window.surrogates.add_trained)
    window.online_dialog = dlg
    dlg.show()
    return dlg


def add_run_action(window: Any, menu: Any) -> None:
    """Run > Learn while solving... in ``menu``."""
    act = window.actions.add("run.online", menu, "&Learn while solving\u2026",
                             lambda: open_online_dialog(window))
    act.setToolTip("Train a surrogate as designs are solved, choosing them where it is least "
                   "sure, until it reaches a target error")

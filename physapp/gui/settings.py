"""The settings dialog (compute device, worker processes, element order, surrogates, Dask
scheduler) over the Qt-free settings of :mod:`physapp.app.settings`.

:class:`AppSettings`, the store (:func:`open_store`: the user's ``settings.json``) and
:func:`load_settings` / :func:`save_settings` live there, so the command line reads the same
settings; they are importable from here as before. The dialog and the main window take a store
(the user's file by default; tests pass a temporary ``QSettings`` or :class:`SettingsFile`).

The settings dialog lists CUDA devices without importing torch into the GUI process (torch costs
seconds and memory, and only ``physapp.surrogates`` may import it): a short-lived
``python -c`` child asks ``torch.cuda`` and prints JSON, read back through ``QProcess``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from physapp.app.settings import (
    ELEMENT_ORDERS,
    MAX_WORKERS,
    AppSettings,
    SettingsFile,
    UserSettings,
    cpu_count,
    load_settings,
    open_store,
    save_settings,
)

__all__ = ["CUDA_PROBE", "ELEMENT_ORDERS", "MAX_WORKERS", "AppSettings", "SettingsDialog",
           "SettingsFile", "cpu_count", "load_settings", "open_store", "parse_cuda_probe",
           "save_settings"]


#: run by ``sys.executable -c``: what torch sees, as one JSON line (no torch in the GUI process)
CUDA_PROBE = """
import json
try:
    import torch
except Exception as exc:
    print(json.dumps({"torch": None, "devices": [], "error": str(exc)}))
else:
    n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    print(json.dumps({"torch": torch.__version__,
                      "devices": [torch.cuda.get_device_name(i) for i in range(n)]}))
"""


def parse_cuda_probe(output: str) -> tuple[str | None, list[str]]:
    """(torch version or None, CUDA device names) from the probe's output."""
    for line in reversed(output.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data.get("torch"), [str(d) for d in data.get("devices", [])]
    raise ValueError("no answer from the CUDA probe")


class SettingsDialog(QDialog):
    """Edit :class:`AppSettings`; OK saves them to the store and emits ``applied``."""

    applied = Signal(object)  # the saved AppSettings

    PROBE_TIMEOUT_MS = 60_000

    def __init__(self, store: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        # the evented settings (the window's app.settings, or opened on ``store``): OK applies
        self.user = store if isinstance(store, UserSettings) else UserSettings(store)
        self.settings = self.user.value
        self.probe_done = False  # set when the CUDA check has answered (tests wait on it)

        form = QFormLayout()
        self.device_combo = QComboBox()
        self.device_combo.addItem("Automatic (CUDA when available, else CPU)", "auto")
        self.device_combo.addItem("CPU", "cpu")
        self.device_combo.setToolTip("Where neural surrogates train and predict. The reference "
                                     "finite-element solver always runs on the CPU.")
        self.device_note = QLabel("Looking for CUDA devices \u2026")
        self.device_note.setStyleSheet("color: #707070;")
        self.device_note.setWordWrap(True)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, MAX_WORKERS)
        self.workers_spin.setToolTip(
            f"Processes for parallel batch work (e.g. solving many designs for surrogate "
            f"training). Default: one per CPU core ({cpu_count()} here)."
        )
        self.order_combo = QComboBox()
        self.order_combo.addItem("P1 (linear elements, faster)", 1)
        self.order_combo.addItem("P2 (quadratic elements, more accurate)", 2)
        self.order_combo.setToolTip("Element order of the reference solver for the next solves.")
        form.addRow("Compute &device:", self.device_combo)
        form.addRow("", self.device_note)
        form.addRow("&Worker processes:", self.workers_spin)
        form.addRow("Default element &order:", self.order_combo)
        self.auto_check = QCheckBox("Open studies with their pre-trained surrogate selected")
        self.auto_check.setToolTip(
            "Built-in and plugin studies ship a surrogate: with this on, the sliders answer at "
            "once when a study opens (F5 still checks a design with the solver).")
        form.addRow("Surrogates:", self.auto_check)
        self.scheduler_edit = QLineEdit()
        self.scheduler_edit.setPlaceholderText("empty: worker processes on this computer")
        self.scheduler_edit.setToolTip(
            "Address of a Dask scheduler (tcp://host:8786) that solves the designs of surrogate "
            "training sweeps on a cluster; finished designs stream into the same data set.")
        form.addRow("Dask &scheduler:", self.scheduler_edit)

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            lambda: self._show(AppSettings())
        )
        self.buttons = buttons
        col = QVBoxLayout(self)
        col.addLayout(form)
        col.addStretch(1)
        col.addWidget(buttons)
        self._show(self.settings)
        self._start_probe()

    # -- values ---------------------------------------------------------------------------------
    def _show(self, settings: AppSettings) -> None:
        self._select_device(settings.device)
        self.workers_spin.setValue(settings.workers)
        self.order_combo.setCurrentIndex(self.order_combo.findData(settings.element_order))
        self.auto_check.setChecked(settings.auto_surrogate)
        self.scheduler_edit.setText(settings.scheduler)

    def _select_device(self, device: str) -> None:
        device = "cuda:0" if device == "cuda" else device
        index = self.device_combo.findData(device)
        if index < 0:  # a saved GPU not (yet) seen: keep it selectable rather than drop it
            self.device_combo.addItem(f"{device} (not found)", device)
            index = self.device_combo.count() - 1
        self.device_combo.setCurrentIndex(index)

    def current(self) -> AppSettings:
        """The settings as shown in the dialog."""
        return AppSettings(
            device=self.device_combo.currentData(),
            workers=self.workers_spin.value(),
            element_order=self.order_combo.currentData(),
            auto_surrogate=self.auto_check.isChecked(),
            scheduler=self.scheduler_edit.text().strip(),
        )

    def accept(self) -> None:
        try:
            self.settings = self.current()
        except ValueError as exc:  # e.g. a mistyped scheduler address: say so, stay open
            QMessageBox.warning(self, "Settings", f"{exc}.")
            return
        self.user.apply(self.settings)
        self._stop_probe()
        super().accept()
        self.applied.emit(self.settings)

    def reject(self) -> None:
        self._stop_probe()
        super().reject()

    # -- CUDA probe (a child process; torch never enters the GUI process) -----------------------
    def _start_probe(self) -> None:
        self._probe = QProcess(self)
        self._probe.setProgram(sys.executable)
        self._probe.setArguments(["-c", CUDA_PROBE])
        self._probe.finished.connect(self._probe_finished)
        self._probe.errorOccurred.connect(self._probe_error)
        self._probe.start()
        QTimer.singleShot(self.PROBE_TIMEOUT_MS, self, self._probe_timed_out)

    def _probe_timed_out(self) -> None:
        if not self.probe_done:
            self._stop_probe()
            self._probe_answer("Could not check for CUDA devices (no answer in time).")

    def _stop_probe(self) -> None:
        if self._probe.state() != QProcess.ProcessState.NotRunning:
            self._probe.finished.disconnect(self._probe_finished)
            self._probe.errorOccurred.disconnect(self._probe_error)
            self._probe.kill()
            self._probe.waitForFinished(2000)

    def _probe_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._probe_answer("Could not check for CUDA devices (Python did not start).")

    def _probe_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        out = bytes(self._probe.readAllStandardOutput().data()).decode("utf-8", "replace")
        try:
            version, devices = parse_cuda_probe(out)
        except ValueError:
            err = bytes(self._probe.readAllStandardError().data()).decode("utf-8", "replace")
            last = (err.strip().splitlines() or ["no output"])[-1]
            self._probe_answer(f"Could not check for CUDA devices ({last}).")
            return
        selected = self.device_combo.currentData()
        for i, name in enumerate(devices):
            data = f"cuda:{i}"
            index = self.device_combo.findData(data)
            if index >= 0:  # the saved device, added as "(not found)" before the probe answered
                self.device_combo.setItemText(index, f"{data} \u2013 {name}")
            else:
                self.device_combo.addItem(f"{data} \u2013 {name}", data)
        self._select_device(selected)
        if version is None:
            text = "torch is not installed: surrogates can only use the CPU."
        elif devices:
            text = f"{len(devices)} CUDA device(s) found (torch {version})."
        else:
            text = f"No CUDA device found (torch {version}): surrogates use the CPU."
        self._probe_answer(text)

    def _probe_answer(self, text: str) -> None:
        self.device_note.setText(text)
        self.device_note.setTextFormat(Qt.TextFormat.PlainText)
        self.probe_done = True

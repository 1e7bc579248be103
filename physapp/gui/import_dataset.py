"""File > Import data set...: a folder of result files made elsewhere -> a training data set (#19).

The dialog asks for the folder, the input and output point arrays, the parameters (a CSV table
or names of field-data scalars) and the data set file to write; the import itself
(:func:`physapp.surrogates.external.import_for_gui`, each file read in an isolated child) runs in
a child process of its own (:class:`~physapp.gui.qt_job_runner.QtJobRunner`) with a progress
dialog and Cancel, never on the GUI thread. Afterwards the message bar says how many files were
imported and lists every file that was left out with its problem.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QWidget,
)

from physapp.gui.dialog_parts import error_label, ok_cancel
from physapp.gui.job_progress import JobProgressDialog, failure_text

#: modules the import child loads before its job
IMPORT_PRELOAD = ("physapp.surrogates.external", "physapp.io.readers", "meshio")
UNITS = ("m", "mm", "cm", "um", "in", "ft")


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


class ImportDatasetDialog(QDialog):
    """The import's options; :meth:`options` gives them as keyword arguments."""

    def __init__(self, parent: QWidget | None = None, folder: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Import data set")
        form = QFormLayout(self)
        intro = QLabel("One result file per sample (VTU, legacy VTK, XDMF, Gmsh MSH with point "
                       "data); meshes may differ. Units may follow a name in brackets, e.g. "
                       "'T [K]'.")
        intro.setWordWrap(True)
        form.addRow(intro)
        self.folder = QLineEdit(folder)
        form.addRow("Folder", self._with_browse(self.folder, self._pick_folder))
        self.inputs = QLineEdit()
        self.inputs.setPlaceholderText("input point arrays, e.g. permeability (may be empty)")
        form.addRow("Input fields", self.inputs)
        self.outputs = QLineEdit()
        self.outputs.setPlaceholderText("point arrays to learn, e.g. pressure,velocity")
        form.addRow("Output fields", self.outputs)
        self.params = QLineEdit()
        self.params.setPlaceholderText("params.csv (a 'file' column), or field-data names; "
                                       "empty: the field-data scalars")
        form.addRow("Parameters", self._with_browse(self.params, self._pick_csv))
        self.unit = QComboBox()
        self.unit.addItems(list(UNITS))
        form.addRow("Coordinates in", self.unit)
        self.strict = QCheckBox("Refuse the import if any file has a problem")
        form.addRow("", self.strict)
        self.out = QLineEdit()
        self.out.setPlaceholderText("data set to write (.h5)")
        form.addRow("Write to", self._with_browse(self.out, self._pick_out))
        self.error = error_label()
        form.addRow(self.error)
        form.addRow(ok_cancel(self, self._accept, "Import"))
        self.resize(560, self.sizeHint().height())

    def _with_browse(self, edit: QLineEdit, pick) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit, 1)
        button = QPushButton("Browse\u2026")
        button.clicked.connect(pick)
        row.addWidget(button)
        return box

    def _pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder of result files", self.folder.text())
        if path:
            self.folder.setText(path)
            if not self.out.text():
                self.out.setText(str(Path(path).with_suffix(".h5")))
            if not self.params.text() and (Path(path) / "params.csv").is_file():
                self.params.setText(str(Path(path) / "params.csv"))

    def _pick_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Parameter table", self.folder.text(),
                                              "CSV (*.csv)")
        if path:
            self.params.setText(path)

    def _pick_out(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Data set file", self.out.text(),
                                              "HDF5 data set (*.h5)")
        if path:
            self.out.setText(path if path.endswith(".h5") else path + ".h5")

    def problem(self) -> str:
        """What is missing before the import can start ("" when nothing)."""
        if not self.folder.text().strip() or not Path(self.folder.text().strip()).is_dir():
            return "Choose the folder of result files."
        if not _names(self.outputs.text()):
            return "Name at least one output field."
        if not self.out.text().strip():
            return "Choose the data set file to write."
        return ""

    def _accept(self) -> None:
        problem = self.problem()
        self.error.setText(problem)
        if not problem:
            self.accept()

    def options(self) -> dict:
        params = self.params.text().strip()
        return {"folder": self.folder.text().strip(), "out": self.out.text().strip(),
                "inputs": _names(self.inputs.text()), "outputs": _names(self.outputs.text()),
                "params": (params if params.lower().endswith(".csv") else _names(params))
                or None,
                "length_unit": self.unit.currentText(), "strict": self.strict.isChecked()}


class DatasetImportController(QObject):
    """File > Import data set... of a main window (see the module docstring)."""

    imported = Signal(object)  # the job's summary dict
    failed = Signal(str)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.runner = None  # QtJobRunner, made at the first import
        self.progress: JobProgressDialog | None = None
        self.dialog: ImportDatasetDialog | None = None
        self.last_result: dict | None = None
        self.last_error = ""
        self._job: int | None = None
        self._closed = False

    def add_file_actions(self, menu: QMenu) -> None:
        self.action = self.window.actions.add("file.import_dataset", menu,
                                              "Import &data set\u2026", self.open_dialog)

    @property
    def busy(self) -> bool:
        return self._job is not None

    def open_dialog(self) -> None:
        if self.busy:
            self._fail("An import is still running; wait for it or cancel it.")
            return
        self.dialog = ImportDatasetDialog(self.window)
        self.dialog.accepted.connect(lambda: self.start(**self.dialog.options()))
        self.dialog.open()

    def start(self, folder: str, out: str, **options) -> int | None:
        """Run the import in the background (also the dialog's Import button)."""
        from physapp.gui.qt_job_runner import QtJobRunner
        from physapp.surrogates.external import import_for_gui

        if self._closed or self.busy:
            return None
        if self.runner is None:
            self.runner = QtJobRunner(preload=IMPORT_PRELOAD, parent=self)
            self.runner.progress.connect(self._on_progress)
            self.runner.finished.connect(self._on_finished)
            self.runner.failed.connect(self._on_failed)
            self.runner.cancelled.connect(self._on_cancelled)
        self._job = self.runner.submit(import_for_gui, folder, out, options)
        if self.progress is None:
            self.progress = JobProgressDialog("Import data set", self.cancel, self.window)
        self.progress.start(f"Importing {Path(folder).name} \u2026")
        self.window.statusBar().showMessage(f"Importing {folder} \u2026")
        return self._job

    def cancel(self) -> None:
        if self._job is not None and self.runner is not None:
            self.runner.cancel()

    def shutdown(self) -> None:
        self._closed = True
        if self.runner is not None:
            self.runner.shutdown()
        if self.progress is not None:
            self.progress.close()

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if job_id == self._job and self.progress is not None:
            self.progress.step(fraction, message)

    def _done(self) -> None:
        self._job = None
        if self.progress is not None:
            self.progress.finish()

    def _on_finished(self, job_id: int, result: object) -> None:
        if job_id != self._job:
            return
        self._done()
        self.last_result = dict(result)
        problems = self.last_result["problems"]
        text = f"Wrote {self.last_result['out']}: {self.last_result['summary']}."
        if problems:
            text += " Left out: " + "; ".join(problems[:10])
            if len(problems) > 10:
                text += f"; ... and {len(problems) - 10} more"
        self.window.show_message(text, "warning" if problems else "info", "import")
        self.window.statusBar().showMessage(f"Imported {self.last_result['out']}", 10000)
        self.imported.emit(self.last_result)

    def _on_failed(self, job_id: int, message: str, user_error: bool) -> None:
        if job_id != self._job:
            return
        self._done()
        self._fail(failure_text(message, user_error, "import"))

    def _on_cancelled(self, job_id: int, message: str) -> None:
        if job_id != self._job:
            return
        self._done()
        self.window.statusBar().showMessage("Import cancelled; nothing was written.", 8000)

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.window.show_message(message, "error", "import")
        self.failed.emit(message)

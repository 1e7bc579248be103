"""Opening a mesh or CAD file: the file filter, recent files, the import options dialog and the
reading job.

:class:`FileOpener` reads one file off the GUI thread, in a child process of a
:class:`QtJobRunner` (gmsh meshing cannot be interrupted otherwise; Cancel kills the process).
CAD and closed surfaces are first probed for their size, then a small dialog asks their length
unit, element size, element order (2: curved tetra10, proposed when the solve order is 2), local
sizes on CAD regions and curvature sizing (:class:`ImportOptionsDialog`). A CalculiX/Abaqus
``.inp`` deck is read as a complete set-up (:func:`~physapp.gui.part_tasks.read_deck`). A progress dialog with Cancel appears when
the work takes more than a moment. The outcome is one signal: ``opened`` (an :class:`OpenedPart`),
``failed`` (the reader's message) or ``cancelled``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from physapp.core.display_mesh import remember as remember_display
from physapp.core.mesh import MeshData
from physapp.gui.dialog_parts import error_label, ok_cancel
from physapp.gui.part_tasks import (
    CAD_SUFFIXES,
    LENGTH_UNITS,
    MESH_SUFFIXES,
    SELF_UNIT,
    SURFACE_SUFFIXES,
    UNIT_TO_M,
    extent_text,
    needs_options,
    parse_number,
    probe_extent,
    read_deck,
    read_part_for_display,
)
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.gui.settings import open_store
from physapp.io.readers import ImportReport

MAX_RECENT = 8
RECENT_KEY = "recent/files"
#: modules the reading process imports before its first job
READER_PRELOAD = ("physapp.io.readers", "meshio", "physapp.gui.part_tasks")


def _globs(suffixes) -> str:
    return " ".join(f"*{s}" for s in suffixes)


FILE_FILTER = ";;".join((
    f"All supported files ({_globs((*MESH_SUFFIXES, *CAD_SUFFIXES, *SURFACE_SUFFIXES))})",
    f"Meshes: Gmsh, VTU/VTK, XDMF, Abaqus, MED, Nastran, Medit, SU2 ({_globs(MESH_SUFFIXES)})",
    f"CAD: STEP, IGES, BREP ({_globs(CAD_SUFFIXES)})",
    f"Closed surfaces: STL, OBJ, PLY ({_globs(SURFACE_SUFFIXES)})",
    "physapp sessions (*.physapp)",
    "All files (*)",
))


class RecentFiles:
    """The last :data:`MAX_RECENT` opened files, newest first, kept in QSettings."""

    def __init__(self, store: QSettings | None = None) -> None:
        self._store = store

    @property
    def store(self) -> QSettings:
        return open_store() if self._store is None else self._store

    def paths(self) -> list[str]:
        raw = self.store.value(RECENT_KEY, [])
        if isinstance(raw, str):  # QSettings gives a one-element list back as a string
            raw = [raw] if raw else []
        return [str(p) for p in (raw or [])][:MAX_RECENT]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        paths = [path] + [p for p in self.paths() if p != path]
        self._write(paths[:MAX_RECENT])

    def remove(self, path: str) -> None:
        self._write([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._write([])

    def _write(self, paths: list[str]) -> None:
        store = self.store
        store.setValue(RECENT_KEY, paths)
        store.sync()


@dataclass
class ImportOptions:
    """What the import dialog asks: the file's length unit, the element size (m), the element
    order, local sizes (``{"regions": [...], "size": m, "growth": r}``) and elements per circle
    on curved surfaces (0: off)."""

    length_unit: str | None = None
    element_size: float | None = None
    order: int = 1
    refine: list = field(default_factory=list)
    curvature: float = 0.0

    def read_args(self) -> tuple:
        """The positional arguments of :func:`read_part` after the path."""
        return (self.length_unit, self.element_size, self.order, list(self.refine),
                self.curvature)


class ImportOptionsDialog(QDialog):
    """Length unit and element size of a CAD or surface file, asked before meshing.

    ``extent``: the part's bounding-box extents from :func:`probe_extent` (metres for STEP/IGES,
    file units otherwise), used to propose the element size (a twentieth of the diagonal)."""

    def __init__(self, path: str, extent: tuple[float, float, float] | None,
                 parent: QWidget | None = None, order: int = 1,
                 initial: ImportOptions | None = None) -> None:
        super().__init__(parent)
        self.path = Path(path)
        self.extent = extent
        self.self_unit = self.path.suffix.lower() in SELF_UNIT
        self.setWindowTitle(f"Import {self.path.name}")
        col = QVBoxLayout(self)
        intro = QLabel(f"<b>{self.path.name}</b> is meshed with tetrahedra before it can be "
                       "solved.")
        intro.setWordWrap(True)
        col.addWidget(intro)
        form = QFormLayout()
        self.unit_combo = QComboBox()
        for u in LENGTH_UNITS:
            self.unit_combo.addItem(u, u)
        self.unit_combo.setCurrentIndex(self.unit_combo.findData("mm"))
        if self.self_unit:
            # the file carries its unit; sizes are then shown in mm
            self.unit_combo.setEnabled(False)
            self.unit_combo.setToolTip("STEP and IGES files carry their unit; gmsh converts it.")
            form.addRow("Length unit", QLabel("from the file (sizes below in mm)"))
        else:
            self.unit_combo.setToolTip("The unit of the coordinates in the file")
            form.addRow("Length unit of the file", self.unit_combo)
        self.size_label = QLabel()
        form.addRow("Part size", self.size_label)
        self.size_edit = QLineEdit()
        self.size_edit.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.size_unit = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.size_edit, 1)
        row.addWidget(self.size_unit)
        form.addRow("Element size", row)
        self.size_hint = QLabel()
        self.size_hint.setStyleSheet("color: #707070;")
        form.addRow("", self.size_hint)
        self.cad = self.path.suffix.lower() in CAD_SUFFIXES
        self.order_combo = QComboBox()
        self.order_combo.addItem("1 (linear tetrahedra)", 1)
        self.order_combo.addItem("2 (curved tetra10 on the CAD surfaces)", 2)
        self.order_combo.setCurrentIndex(self.order_combo.findData(2 if order == 2 else 1))
        self.order_combo.setToolTip("Second-order elements follow curved surfaces; proposed when "
                                    "the solve order (File > Settings) is P2")
        form.addRow("Element order", self.order_combo)
        self.curvature_spin = QSpinBox()
        self.curvature_spin.setRange(0, 120)
        self.curvature_spin.setSpecialValueText("off")
        self.curvature_spin.setSuffix(" per circle")
        self.curvature_spin.setToolTip("Curvature-based sizing: elements per full circle on "
                                       "curved surfaces (holes, fillets); 0 = off")
        form.addRow("Curvature", self.curvature_spin)
        col.addLayout(form)
        self.refine_table = QTableWidget(0, 3)
        self.refine_table.setHorizontalHeaderLabels(["CAD regions", "Size", "Growth"])
        self.refine_table.verticalHeader().hide()
        self.refine_table.setColumnWidth(0, 190)
        self.refine_table.setColumnWidth(1, 70)
        self.refine_table.setColumnWidth(2, 60)
        self.refine_table.setMaximumHeight(110)
        self.refine_table.horizontalHeader().setStretchLastSection(True)
        self.refine_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.refine_table.setToolTip("Local sizes: CAD regions (face_3, edge_7, point_2 as "
                                     "'physapp info' lists them, comma-separated), their element "
                                     "size and the growth rate (> 1) away from them")
        refine_row = QHBoxLayout()
        refine_row.addWidget(QLabel("Local sizes"))
        refine_row.addStretch(1)
        self.add_refine_button = QPushButton("+ Local size")
        self.add_refine_button.clicked.connect(lambda: self.add_refine())
        self.remove_refine_button = QPushButton("Remove")
        self.remove_refine_button.clicked.connect(self._remove_refine)
        refine_row.addWidget(self.add_refine_button)
        refine_row.addWidget(self.remove_refine_button)
        col.addLayout(refine_row)
        col.addWidget(self.refine_table)
        for w in (self.order_combo, self.curvature_spin, self.refine_table,
                  self.add_refine_button, self.remove_refine_button):
            w.setEnabled(self.cad)
            if not self.cad:
                w.setToolTip("Closed surfaces are meshed at one size and order 1")
        self.error_label = error_label()
        col.addWidget(self.error_label)
        col.addWidget(ok_cancel(self, self._accept, "Mesh and open"))
        self.unit_combo.currentIndexChanged.connect(self._unit_changed)
        self._unit_changed()
        if self.default_size is not None:
            self.size_edit.setText(f"{self.default_size:.3g}")
        self.options: ImportOptions | None = None
        if initial is not None:
            self.set_options(initial)

    def set_options(self, opts: ImportOptions) -> None:
        """Show options chosen before (remeshing a part): unit, size, order, local sizes."""
        if opts.length_unit and not self.self_unit:
            self.unit_combo.setCurrentIndex(max(self.unit_combo.findData(opts.length_unit), 0))
        to_m = 1e-3 if self.self_unit else UNIT_TO_M[self.unit_combo.currentData()]
        if opts.element_size:
            self.size_edit.setText(f"{opts.element_size / to_m:.4g}")
        self.order_combo.setCurrentIndex(self.order_combo.findData(2 if opts.order == 2 else 1))
        self.curvature_spin.setValue(int(opts.curvature or 0))
        self.refine_table.setRowCount(0)
        for item in opts.refine or ():
            self.add_refine(", ".join(item.get("regions", ())),
                            f"{float(item['size']) / to_m:.4g}", f"{item.get('growth', 1.3):g}")

    @property
    def shown_unit(self) -> str:
        return "mm" if self.self_unit else self.unit_combo.currentData()

    @property
    def _to_shown(self) -> float:
        """Factor from the probe's numbers to the shown unit."""
        return 1e3 if self.self_unit else 1.0

    @property
    def default_size(self) -> float | None:
        if not self.extent:
            return None
        return math.hypot(*self.extent) / 20.0 * self._to_shown

    def add_refine(self, regions: str = "", size: str = "", growth: str = "1.3") -> None:
        """A row of the local sizes table (size in the shown unit)."""
        r = self.refine_table.rowCount()
        self.refine_table.insertRow(r)
        for c, text in enumerate((regions, size, growth)):
            self.refine_table.setItem(r, c, QTableWidgetItem(text))

    def _remove_refine(self) -> None:
        rows = sorted({i.row() for i in self.refine_table.selectedIndexes()}, reverse=True)
        for r in rows or [self.refine_table.rowCount() - 1]:
            if r >= 0:
                self.refine_table.removeRow(r)

    def _refine_items(self, to_m: float) -> list[dict] | str:
        """The local sizes typed (SI), or why they are wrong."""
        items = []
        for r in range(self.refine_table.rowCount()):
            cells = [(self.refine_table.item(r, c).text().strip()
                      if self.refine_table.item(r, c) else "") for c in range(3)]
            if not any(cells[:2]):
                continue
            regions = [x for x in cells[0].replace(";", ",").replace(" ", ",").split(",") if x]
            if not regions:
                return f"Local size {r + 1}: name the CAD regions (face_3, edge_7, ...)."
            try:
                size = parse_number(cells[1])
                growth = parse_number(cells[2] or "1.3")
            except ValueError:
                return f"Local size {r + 1}: size and growth must be numbers."
            if size <= 0 or growth <= 1.0:
                return f"Local size {r + 1}: the size must be positive and the growth above 1."
            items.append({"regions": regions, "size": size * to_m, "growth": growth})
        return items

    def _unit_changed(self) -> None:
        u = self.shown_unit
        if self.extent:
            self.size_label.setText(f"{extent_text(self.extent, self._to_shown)} {u}")
        else:
            self.size_label.setText("unknown")
        self.size_unit.setText(u)
        if hasattr(self, "refine_table"):
            self.refine_table.setHorizontalHeaderLabels(["CAD regions", f"Size ({u})", "Growth"])
        self.size_hint.setText("default: a 20th of the part diagonal"
                               + (f" ({self.default_size:.3g} {u})" if self.extent else ""))

    def _accept(self) -> None:
        text = self.size_edit.text().strip()
        size = None
        if text:
            try:
                size = parse_number(text)
            except ValueError:
                self.error_label.setText(f"Element size: '{text}' is not a number.")
                return
            if size <= 0:
                self.error_label.setText("The element size must be positive.")
                return
            if self.extent and math.hypot(*self.extent) * self._to_shown / size > 400:
                self.error_label.setText(
                    f"{size:g} {self.shown_unit} is too small for this part (over 400 elements "
                    "across); choose a larger size.")
                return
        unit = None if self.self_unit else self.unit_combo.currentData()
        to_m = 1e-3 if self.self_unit else UNIT_TO_M[unit]
        refine = self._refine_items(to_m) if self.cad else []
        if isinstance(refine, str):
            self.error_label.setText(refine)
            return
        order = int(self.order_combo.currentData()) if self.cad else 1
        self.options = ImportOptions(unit, None if size is None else size * to_m, order, refine,
                                     float(self.curvature_spin.value()) if self.cad else 0.0)
        self.accept()


@dataclass
class OpenedPart:
    """A file read into a mesh, with the options it was read with."""

    path: str
    mesh: MeshData
    report: ImportReport
    options: ImportOptions
    #: a CalculiX/Abaqus deck: its set-up (a PartSetup dict) and its DeckReport
    deck_setup: dict | None = None
    deck: object | None = None


class FileOpener(QObject):
    """Reads one file at a time off the GUI thread; a new :meth:`open` cancels the previous one.

    ``parent_widget``: where the dialogs appear (None: top-level, e.g. at start-up).
    ``runner``: the job runner to read in (made, and owned, on first use when None).
    """

    opened = Signal(object)  # OpenedPart
    failed = Signal(str, str)  # path, the reader's message
    cancelled = Signal(str)  # path
    #: ms before the progress dialog appears (quick reads do not flash a dialog)
    PROGRESS_DELAY_MS = 400

    def __init__(self, parent_widget: QWidget | None = None, runner: QtJobRunner | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.parent_widget = parent_widget
        self._runner = runner
        self._owns_runner = False
        self._job: tuple[int, str, str, ImportOptions] | None = None  # id, stage, path, options
        self.options_dialog: ImportOptionsDialog | None = None
        self.progress_dialog: QProgressDialog | None = None
        self._show_timer = QTimer(self)
        self._show_timer.setSingleShot(True)
        self._show_timer.timeout.connect(self._show_progress)
        #: the element order the import dialog proposes (the window's solve order)
        self.default_order = lambda: 1
        self._initial: ImportOptions | None = None

    @property
    def runner(self) -> QtJobRunner:
        if self._runner is None:
            self._runner = QtJobRunner(preload=READER_PRELOAD, parent=self)
            self._owns_runner = True
        return self._runner

    def set_runner(self, runner: QtJobRunner) -> None:
        """Read in ``runner`` from now on (tests share one warm process)."""
        self._disconnect()
        if self._owns_runner and self._runner is not None:
            self._runner.shutdown()
        self._runner, self._owns_runner = runner, False

    @property
    def busy(self) -> bool:
        return self._job is not None or self.options_dialog is not None

    def open(self, path: str | Path, options: ImportOptions | None = None,
             initial: ImportOptions | None = None) -> None:
        """Read ``path``; for CAD and surfaces without ``options`` the import dialog asks them
        (starting from ``initial`` when given: remeshing a part)."""
        self.cancel()
        self._initial = initial
        path = str(path)
        if needs_options(path) and options is None:
            self._submit("probe", path, ImportOptions(), probe_extent, path)
        else:
            options = options or ImportOptions()
            if Path(path).suffix.lower() == ".inp":
                self._submit("read", path, options, read_deck, path, options.length_unit)
            else:
                self._submit("read", path, options, read_part_for_display, path,
                             *options.read_args())

    def cancel(self) -> None:
        """Stop the running read (its process is killed) or close the import dialog."""
        if self.options_dialog is not None:
            dialog, self.options_dialog = self.options_dialog, None
            dialog.reject()
            dialog.deleteLater()
        if self._job is not None:
            path = self._job[2]
            self._end()
            if self.runner.busy:
                self.runner.cancel()
            self.cancelled.emit(path)

    def shutdown(self) -> None:
        self.cancel()
        self._disconnect()
        if self._owns_runner and self._runner is not None:
            self._runner.shutdown()

    # -- internals ------------------------------------------------------------------------------
    def _connect(self) -> None:
        r = self.runner
        r.progress.connect(self._on_progress, Qt.ConnectionType.UniqueConnection)
        r.finished.connect(self._on_finished, Qt.ConnectionType.UniqueConnection)
        r.failed.connect(self._on_failed, Qt.ConnectionType.UniqueConnection)

    def _disconnect(self) -> None:
        if self._runner is None:
            return
        for sig, slot in ((self._runner.progress, self._on_progress),
                          (self._runner.finished, self._on_finished),
                          (self._runner.failed, self._on_failed)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def _submit(self, stage: str, path: str, options: ImportOptions, fn, *args) -> None:
        self._connect()
        job_id = self.runner.submit(fn, *args)
        self._job = (job_id, stage, path, options)
        what = "Reading the geometry of" if stage == "probe" else (
            "Meshing" if needs_options(path) else "Reading")
        self._label = f"{what} {Path(path).name} \u2026"
        if self.progress_dialog is not None:
            self.progress_dialog.setLabelText(self._label)
            self.progress_dialog.setValue(0)
        else:
            self._show_timer.start(self.PROGRESS_DELAY_MS)

    def _show_progress(self) -> None:
        if self._job is None or self.progress_dialog is not None:
            return
        dlg = QProgressDialog(self._label, "Cancel", 0, 100, self.parent_widget)
        dlg.setWindowTitle("Opening a file")
        dlg.setWindowModality(Qt.WindowModality.WindowModal)
        dlg.setMinimumDuration(0)
        dlg.setAutoClose(False)
        dlg.setAutoReset(False)
        dlg.setMinimumWidth(420)
        dlg.canceled.connect(self.cancel)
        dlg.setValue(0)
        dlg.show()
        self.progress_dialog = dlg

    def _end(self) -> None:
        self._job = None
        self._show_timer.stop()
        if self.progress_dialog is not None:
            dlg, self.progress_dialog = self.progress_dialog, None
            dlg.canceled.disconnect(self.cancel)
            dlg.close()
            dlg.deleteLater()

    def _mine(self, job_id: int) -> bool:
        return self._job is not None and self._job[0] == job_id

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if self._mine(job_id) and self.progress_dialog is not None:
            self.progress_dialog.setValue(int(100 * fraction))
            if message:
                self.progress_dialog.setLabelText(f"{self._label}\n{message}")

    def _on_failed(self, job_id: int, message: str, user_error: bool) -> None:
        if not self._mine(job_id):
            return
        path = self._job[2]
        self._end()
        if not user_error:  # a bug: the first line for the user, the traceback on the terminal
            import sys

            print(message, file=sys.stderr)
            message = (f"Could not open '{Path(path).name}': unexpected error "
                       f"({message.splitlines()[0]}).")
        self.failed.emit(path, message)

    def _on_finished(self, job_id: int, result) -> None:
        if not self._mine(job_id):
            return
        _, stage, path, options = self._job
        if stage == "probe":
            self._job = None
            self._show_timer.stop()
            if self.progress_dialog is not None:
                self.progress_dialog.hide()
            self._ask_options(path, result)
            return
        self._end()
        # the viewport's arrays found in the reading process: the GUI thread only wraps them (#16)
        remember_display(result[0], result[-1])
        if len(result) == 5:  # a deck: mesh, report, set-up, deck report, display arrays
            mesh, report, setup, deck, _ = result
            self.opened.emit(OpenedPart(path, mesh, report, options, setup, deck))
            return
        mesh, report, _ = result
        self.opened.emit(OpenedPart(path, mesh, report, options))

    def _ask_options(self, path: str, extent) -> None:
        dialog = ImportOptionsDialog(path, extent, self.parent_widget, self.default_order(),
                                     initial=self._initial)
        self.options_dialog = dialog

        def done(code: int) -> None:
            if self.options_dialog is not dialog:
                return  # cancelled meanwhile
            self.options_dialog = None
            dialog.deleteLater()
            if code == QDialog.DialogCode.Accepted and dialog.options is not None:
                opts = dialog.options
                self._submit("read", path, opts, read_part_for_display, path,
                             *opts.read_args())
            else:
                if self.progress_dialog is not None:
                    self._end()
                self.cancelled.emit(path)

        dialog.finished.connect(done)
        dialog.open()

"""File > Export in the main window: figure, mesh with fields, table (CSV), animation.

:class:`ExportController` (``window.exports``) adds the Export submenu and its dialogs
(non-blocking: each is ``open()``-ed, and its OK starts the export). Rendering and writing run in
a child process of their own (:class:`~physapp.gui.qt_job_runner.QtJobRunner`, not the solver's),
so the GUI never waits and every VTK call of this process stays on the GUI thread: figures and
animations are re-created off screen from the data (:mod:`physapp.viz.figure`), with progress
in a non-modal progress dialog that can cancel. Small tables are written directly.

The programmatic entry points (:meth:`export_figure`, :meth:`export_mesh`,
:meth:`export_table`, :meth:`export_animation`) are what the dialogs call; they return the job
id (or the written path for tables) and emit :attr:`exported` / :attr:`failed` when done.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from physapp.core.errors import PhysappError
from physapp.gui.job_progress import JobProgressDialog, failure_text

if TYPE_CHECKING:  # pragma: no cover
    from physapp.gui.services import WindowServices

EXPORT_PRELOAD = ("physapp.viz.figure", "physapp.io.export", "PIL.Image")
MESH_FILTER = ("VTK unstructured grid (*.vtu);;XDMF (*.xdmf);;Legacy VTK (*.vtk);;"
               "Surface STL (*.stl);;Surface PLY with fields (*.ply);;All files (*)")


class PathRow(QWidget):
    """A file name with a Browse... button (a save dialog)."""

    def __init__(self, default: str, caption: str, filter_: str, parent=None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit(default)
        self.edit.setMinimumWidth(320)
        browse = QPushButton("Browse\u2026")
        browse.clicked.connect(self._browse)
        row.addWidget(self.edit, 1)
        row.addWidget(browse)
        self._caption, self._filter = caption, filter_

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, self._caption, self.edit.text(), self._filter)
        if path:
            self.edit.setText(path)

    @property
    def path(self) -> str:
        return self.edit.text().strip()


class ExportDialog(QDialog):
    """A small form: output file plus the options of one kind of export."""

    def __init__(self, title: str, parent: QWidget, path: str, caption: str,
                 filter_: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.form = QFormLayout()
        self.path_row = PathRow(path, caption, filter_, self)
        self.form.addRow("File", self.path_row)
        col = QVBoxLayout(self)
        col.addLayout(self.form)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #505050;")
        col.addWidget(self.note)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        col.addWidget(self.buttons)

    def size_rows(self, w: int, h: int) -> None:
        self.width_spin, self.height_spin = QSpinBox(), QSpinBox()
        for spin, v in ((self.width_spin, w), (self.height_spin, h)):
            spin.setRange(16, 8192)
            spin.setValue(v)
            spin.setSuffix(" px")
        row = QHBoxLayout()
        row.addWidget(self.width_spin)
        row.addWidget(QLabel("\u00d7"))
        row.addWidget(self.height_spin)
        self.form.addRow("Size", row)

    @property
    def image_size(self) -> tuple[int, int]:
        return self.width_spin.value(), self.height_spin.value()


class ExportController(QObject):
    """File > Export of one main window (see the module docstring)."""

    exported = Signal(str)  # path written
    failed = Signal(str)  # message shown

    def __init__(self, window: WindowServices) -> None:
        super().__init__(window)
        self.window = window
        self.runner = None  # QtJobRunner, made at the first export that needs it
        self.dialog: ExportDialog | None = None
        self.progress: JobProgressDialog | None = None
        self.last_path = ""
        self.last_error = ""
        self._job: tuple[int, str] | None = None  # job id, path
        self._folder = Path.cwd()
        self._closed = False

    # -- menu -----------------------------------------------------------------------------------
    def add_file_actions(self, menu: QMenu) -> None:
        """File > Export: Figure..., Mesh with fields..., Table (CSV)..., Animation..."""
        sub = QMenu("&Export", menu)  # Python-made: see window_menus.python_menu
        menu.addMenu(sub)
        self.menu = sub
        w = self.window
        self.figure_action = w.actions.add("file.export.figure", sub, "&Figure (PNG)\u2026", self.figure_dialog)
        self.mesh_action = w.actions.add("file.export.mesh", sub, "&Mesh with fields\u2026", self.mesh_dialog)
        self.table_action = w.actions.add("file.export.table", sub, "&Table (CSV)\u2026", self.table_dialog)
        self.animation_action = w.actions.add("file.export.animation", sub, "&Animation (GIF, MP4)\u2026",
                                          self.animation_dialog)
        from physapp.gui import history_export  # a history on screen (#18)

        history_export.add_actions(self, sub)

    @property
    def busy(self) -> bool:
        return self._job is not None

    def shutdown(self) -> None:
        self._closed = True
        if self.runner is not None:
            self.runner.shutdown()
        if self.progress is not None:
            self.progress.close()

    # -- what is on screen ----------------------------------------------------------------------
    def _shown(self):
        vp = self.window.viewport
        return vp.result if vp.has_field else None

    def _view(self, vp) -> dict[str, Any]:
        view = vp.view_settings().to_dict()
        # flow results: streamlines and arrows as on screen (seeds, the arrows' region)
        view.update(self.window.flow.figure_view())
        return view

    def panes(self) -> list:
        """What a figure shows: the split view's panes (each with its title), else the main
        viewport, each with its view settings and camera."""
        from physapp.viz.figure import Pane

        w = self.window
        compare = w.compare
        if compare.is_split:
            titles = list(compare.pane_titles)
            out = []
            for i, vp in enumerate(compare.panes):
                if vp.has_field:
                    title = titles[i] if i < len(titles) else ""
                    out.append(Pane(vp.result, vp.field, self._view(vp), title=title))
            if out:
                return out
        vp = w.viewport
        if not vp.has_field:
            return []
        source = vp.result.source
        kind = ("reference solve" if source.startswith("solver")
                else f"{vp.result.meta.get('model', '')} surrogate".strip())
        title = f"{w.spec.title} \u2014 {kind}"
        if w.is_stale and source.startswith("solver"):
            title += " (out of date)"
        return [Pane(vp.result, vp.field, self._view(vp), title=title,
                     caption=self._caption(vp.result))]

    def _caption(self, result) -> str:
        """The design parameters that differ from the study's defaults, shown units."""
        spec = self.window.spec
        params = result.meta.get("params") or self.window.model.params
        parts = []
        for p in spec.parameters:
            if p.discretization or p.name not in params:
                continue
            if params[p.name] != p.default:
                parts.append(f"{p.label} = {params[p.name] * p.scale:.4g} {p.shown_unit}"
                             .rstrip())
        return ", ".join(parts[:4])

    # -- dialogs --------------------------------------------------------------------------------
    def _default(self, suffix: str) -> str:
        return str(self._folder / f"{_safe(self.window.spec.id)}{suffix}")

    def _open(self, dialog: ExportDialog, run) -> ExportDialog:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = dialog

        def done(code: int) -> None:
            if code == QDialog.DialogCode.Accepted:
                run(dialog)

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def figure_dialog(self) -> ExportDialog | None:
        if not self._check(figure=True):
            return None
        d = ExportDialog("Export figure", self.window, self._default(".png"), "Export figure",
                         "PNG images (*.png)")
        d.size_rows(1920, 1080)
        d.transparent = QCheckBox("Transparent background")
        d.form.addRow("", d.transparent)
        split = self.window.compare.is_split
        d.note.setText("Rendered off screen at this size, independent of the window"
                       + ("; the split view's panes side by side." if split else "."))
        return self._open(d, lambda d: self.export_figure(d.path_row.path, d.image_size,
                                                          d.transparent.isChecked()))

    def mesh_dialog(self) -> ExportDialog | None:
        if not self._check():
            return None
        d = ExportDialog("Export mesh with fields", self.window, self._default(".vtu"),
                         "Export mesh", MESH_FILTER)
        d.note.setText("The format follows the extension: .vtu, .xdmf, .vtk (mesh with every "
                       "field), .stl (outer surface), .ply (surface with the fields).")
        return self._open(d, lambda d: self.export_mesh(d.path_row.path))

    def table_dialog(self) -> ExportDialog:
        d = ExportDialog("Export table (CSV)", self.window, self._default(".csv"), "Export table",
                         "CSV tables (*.csv)")
        d.design_radio = QRadioButton("This design: parameters and key quantities"
                                      + (" (and the split view's metrics)"
                                         if self._compare_metrics() else ""))
        d.dataset_radio = QRadioButton("A sweep data set's samples:")
        d.design_radio.setChecked(True)
        d.dataset_edit = QLineEdit("")
        d.dataset_edit.setPlaceholderText("data set file (.h5)")
        browse = QPushButton("Browse\u2026")

        def pick() -> None:
            path, _ = QFileDialog.getOpenFileName(d, "Data set", str(self._folder),
                                                  "Data sets (*.h5);;All files (*)")
            if path:
                d.dataset_edit.setText(path)
                d.dataset_radio.setChecked(True)

        browse.clicked.connect(pick)
        row = QHBoxLayout()
        row.addWidget(d.dataset_edit, 1)
        row.addWidget(browse)
        d.form.addRow("", d.design_radio)
        d.form.addRow(d.dataset_radio, row)
        return self._open(d, lambda d: self.export_table(
            d.path_row.path, d.dataset_edit.text().strip() if d.dataset_radio.isChecked()
            else None))

    def animation_dialog(self) -> ExportDialog | None:
        w = self.window
        from physapp.gui import history_export

        if history_export.has_history(self):  # a transient result: an animation over time
            return history_export.animation_dialog(self)
        model = self._model_path()
        if model is None:
            return None
        names = self._sweepable()
        d = ExportDialog("Export animation", w, self._default(".gif"), "Export animation",
                         "Animated GIF (*.gif);;MP4 video (*.mp4)")
        d.param_combo = QComboBox()
        for name in names:
            d.param_combo.addItem(w.spec.parameter(name).label, name)
        d.frames_spin = QSpinBox()
        d.frames_spin.setRange(2, 1000)
        d.frames_spin.setValue(30)
        d.fps_spin = QDoubleSpinBox()
        d.fps_spin.setRange(1, 60)
        d.fps_spin.setValue(10)
        d.form.addRow("Parameter", d.param_combo)
        d.form.addRow("Frames", d.frames_spin)
        d.form.addRow("Frames per second", d.fps_spin)
        d.size_rows(960, 640)
        d.note.setText("The selected surrogate predicts the parameter from the minimum to the "
                       "maximum of its trained range (other values as on the sliders), with one "
                       "colour range over all frames. .gif or .mp4.")
        return self._open(d, lambda d: self.export_animation(
            d.path_row.path, d.param_combo.currentData(), d.frames_spin.value(),
            fps=d.fps_spin.value(), size=d.image_size))

    # -- exports --------------------------------------------------------------------------------
    def export_figure(self, path: str, size: tuple[int, int] = (1920, 1080),
                      transparent: bool = False) -> int | None:
        from physapp.viz.figure import check_figure_path, check_size, figure_job

        panes = self.panes()
        if not panes:
            return self._fail("Nothing to export yet: solve (F5) or select a surrogate first.")
        try:
            check_figure_path(path)
            size = check_size(size)
        except PhysappError as exc:
            return self._fail(str(exc))
        return self._submit(path, figure_job, panes, str(path), size, bool(transparent))

    def export_mesh(self, path: str) -> int | None:
        from physapp.io.export import check_mesh_path, mesh_job

        result = self._shown()
        if result is None:
            return self._fail("Nothing to export yet: solve (F5) or select a surrogate first.")
        try:
            check_mesh_path(path)
        except PhysappError as exc:
            return self._fail(str(exc))
        return self._submit(path, mesh_job, result, str(path))

    def export_table(self, path: str, dataset: str | None = None) -> str | None:
        """A CSV of this design (parameters, key quantities, the split view's metrics) or of a
        data set's samples; small: written at once. Returns the path (None on failure)."""
        from physapp.io.export import write_results_csv
        from physapp.surrogates.dataset_table import write_dataset_csv

        w = self.window
        try:
            if dataset:
                written = write_dataset_csv(dataset, path)
            else:
                result = self._shown() or w.result
                if result is not None and result.meta.get("params") and \
                        w.model.geometry(result.meta["params"]) != w.model.geometry():
                    result = None  # the shown field belongs to another design
                units = {p.name: p.unit for p in w.spec.parameters}
                written = write_results_csv(path, w.model.params, result, study_id=w.spec.id,
                                            param_units=units, compare=self._compare_metrics(),
                                            key_units=w.spec.key_units)
        except PhysappError as exc:
            self._fail(str(exc))
            return None
        self._written(str(written))
        return str(written)

    def export_animation(self, path: str, name: str, frames: int = 30, *, fps: float = 10.0,
                         size: tuple[int, int] = (960, 640)) -> int | None:
        from physapp.viz.figure import (
            ANIMATION_EXTS,
            check_figure_path,
            check_size,
            sweep_animation_job,
        )

        w = self.window
        model = self._model_path()
        if model is None:
            return None
        try:
            check_figure_path(path, ANIMATION_EXTS)
            size = check_size(size)
            p = w.spec.parameter(name)
        except PhysappError as exc:
            return self._fail(str(exc))
        except KeyError:
            return self._fail(f"Unknown parameter '{name}'.")
        if frames < 2:
            return self._fail("An animation needs at least 2 frames.")
        vp = w.viewport
        view = self._view(vp)
        view["camera"] = None  # fitted to the sweep (the geometry changes along it)
        view["clim"] = None  # one range over all frames
        opts = {"view": view, "size": size, "fps": float(fps), "label": p.label,
                "scale": p.scale, "unit": p.shown_unit, "device": "cpu",
                "title": f"{w.spec.title}: {w.field[1]}"}
        return self._submit(path, sweep_animation_job, model, w.model.params, name, int(frames),
                            str(path), w.field, opts)

    # -- helpers --------------------------------------------------------------------------------
    def _compare_metrics(self) -> dict[str, Any]:
        try:
            return dict(self.window.compare.metrics() or {})
        except Exception:  # noqa: BLE001 - the table still has the design
            return {}

    def _model_path(self) -> str | None:
        s = self.window.surrogates
        entry = s.current
        if entry is None or entry.path is None:
            self._fail("An animation is predicted by a surrogate: select a saved model in "
                       "Prediction source first (a model trained here must be saved).")
            return None
        return str(entry.path)

    def _sweepable(self) -> list[str]:
        s = self.window.surrogates
        names = list(s.current.loaded.summary.param_names) if s.current and s.current.loaded \
            else []
        spec_names = [p.name for p in self.window.spec.parameters]
        return [n for n in spec_names if n in names]

    def _check(self, figure: bool = False) -> bool:
        if figure and self.panes():
            return True
        if not figure and self._shown() is not None:
            return True
        self._fail("Nothing to export yet: solve (F5) or select a surrogate first.")
        return False

    def _submit(self, path: str, fn, *args) -> int | None:
        from physapp.gui.qt_job_runner import QtJobRunner

        if self._closed:
            return None
        if self._job is not None:
            return self._fail("An export is still running; wait for it or cancel it.")
        if self.runner is None:
            self.runner = QtJobRunner(preload=EXPORT_PRELOAD, parent=self)
            self.runner.progress.connect(self._on_progress)
            self.runner.finished.connect(self._on_finished)
            self.runner.failed.connect(self._on_failed)
            self.runner.cancelled.connect(self._on_cancelled)
        job_id = self.runner.submit(fn, *args)
        self._job = (job_id, str(path))
        self._folder = Path(path).resolve().parent
        self._show_progress(f"Exporting {Path(path).name} \u2026")
        self.window.statusBar().showMessage(f"Exporting {Path(path).name} \u2026")
        return job_id

    def _show_progress(self, text: str) -> None:
        if self.progress is None:
            self.progress = JobProgressDialog("Export", self.cancel, self.window)
        self.progress.start(text)

    def cancel(self) -> None:
        """Stop the running export (its child process is terminated; nothing is written)."""
        if self._job is not None and self.runner is not None:
            self.runner.cancel()

    def _on_progress(self, job_id: int, fraction: float, message: str) -> None:
        if self._job and job_id == self._job[0] and self.progress is not None:
            self.progress.step(fraction, message)

    def _on_finished(self, job_id: int, result: object) -> None:
        if not self._job or job_id != self._job[0]:
            return
        self._job = None
        self._hide_progress()
        self._written(str(result))

    def _on_failed(self, job_id: int, message: str, user_error: bool) -> None:
        if not self._job or job_id != self._job[0]:
            return
        self._job = None
        self._hide_progress()
        self._fail(failure_text(message, user_error, "export"))

    def _on_cancelled(self, job_id: int, message: str) -> None:
        if not self._job or job_id != self._job[0]:
            return
        self._job = None
        self._hide_progress()
        self.window.statusBar().showMessage("Export cancelled; nothing was written.", 8000)

    def _hide_progress(self) -> None:
        if self.progress is not None:
            self.progress.finish()

    def _written(self, path: str) -> None:
        self.last_path = path
        self._folder = Path(path).resolve().parent
        self.window.statusBar().showMessage(f"Exported {path}", 10000)
        self.exported.emit(path)

    def _fail(self, message: str) -> None:
        self.last_error = message
        self.window.show_message(message, "error", "export")
        self.failed.emit(message)
        return None


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)

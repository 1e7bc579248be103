"""File > Export of a history on screen (#18): an animation over time (GIF/MP4, one colour
range) and the time series of fields (.pvd of VTU files, XDMF + HDF5, physapp's .h5, or the
curves as .csv). Both run as jobs of the export controller's child process and read the
history's file one frame at a time.

Hooked into :class:`~physapp.gui.export_actions.ExportController`: its Animation dialog asks
here first (a history on screen animates over time), and File > Export gets a Time series item.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

from physapp.core.errors import PhysappError
from physapp.gui.playback import step_text

SERIES_FILTER = ("ParaView time series, VTU per step (*.pvd);;XDMF + HDF5 time series (*.xdmf);;"
                 "physapp history (*.h5);;Curves over time (*.csv)")


def _history_path(ctrl) -> str | None:
    from physapp.io.history import history_file, write_history

    pb = getattr(ctrl.window, "playback", None)
    if pb is None or pb.history is None:
        return None
    path = history_file(pb.history)
    if path is None:  # an in-memory history (e.g. from a plugin): to a file for the job
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="physapp-export-")) / "history.h5"
        write_history(pb.history, path)
    return str(path)


def has_history(ctrl) -> bool:
    pb = getattr(ctrl.window, "playback", None)
    return pb is not None and pb.history is not None


def animation_dialog(ctrl):
    """Export > Animation with a history on screen: frames over time."""
    from physapp.gui.export_actions import ExportDialog

    w = ctrl.window
    h = w.playback.history
    d = ExportDialog("Export animation over time", w, ctrl._default(".gif"), "Export animation",
                     "Animated GIF (*.gif);;MP4 video (*.mp4)")
    d.frames_spin = QSpinBox()
    d.frames_spin.setRange(2, 1000)
    d.frames_spin.setValue(min(h.n_steps, 100))
    d.fps_spin = QDoubleSpinBox()
    d.fps_spin.setRange(1, 60)
    d.fps_spin.setValue(10)
    d.form.addRow("Frames", d.frames_spin)
    d.form.addRow("Frames per second", d.fps_spin)
    d.size_rows(960, 640)
    d.note.setText(f"The history on screen ({h.n_steps} steps to "
                   f"{step_text(h, float(h.times[-1]))}), frames spread evenly over it, with one "
                   "colour range over all of them. .gif or .mp4.")
    return ctrl._open(d, lambda d: export_animation(
        ctrl, d.path_row.path, d.frames_spin.value(), fps=d.fps_spin.value(), size=d.image_size))


def export_animation(ctrl, path: str, frames: int = 100, *, fps: float = 10.0,
                     size: tuple[int, int] = (960, 640)) -> int | None:
    from physapp.viz.figure import ANIMATION_EXTS, check_figure_path, check_size
    from physapp.viz.history_animation import history_animation_job

    w = ctrl.window
    source = _history_path(ctrl)
    if source is None:
        return ctrl._fail("No history on screen: solve a transient study first.")
    try:
        check_figure_path(path, ANIMATION_EXTS)
        size = check_size(size)
    except PhysappError as exc:
        return ctrl._fail(str(exc))
    if frames < 2:
        return ctrl._fail("An animation needs at least 2 frames.")
    view = ctrl._view(w.viewport)
    view["clim"] = w.app.view.clim  # locked by the user, else the history's whole range
    opts = {"view": view, "size": size, "fps": float(fps), "frames": int(frames),
            "title": f"{w.spec.title}: {w.field[1]}"}
    return ctrl._submit(path, history_animation_job, source, str(path), w.field, opts)


def series_dialog(ctrl):
    from physapp.gui.export_actions import ExportDialog

    w = ctrl.window
    if not has_history(ctrl):
        return ctrl._fail("No history on screen: solve a transient study first.")
    d = ExportDialog("Export time series", w, ctrl._default(".pvd"), "Export time series",
                     SERIES_FILTER)
    d.note.setText("Every step of the history on screen: .pvd (a VTU file per step in a folder "
                   "next to it; ParaView opens it as a series), .xdmf (with an .h5 beside it), "
                   "physapp's .h5, or the curves over time as .csv.")
    return ctrl._open(d, lambda d: export_series(ctrl, d.path_row.path))


def export_series(ctrl, path: str) -> int | None:
    from physapp.io.history_export import check_history_path, history_series_job

    source = _history_path(ctrl)
    if source is None:
        return ctrl._fail("No history on screen: solve a transient study first.")
    try:
        check_history_path(path)
    except PhysappError as exc:
        return ctrl._fail(str(exc))
    return ctrl._submit(path, history_series_job, source, str(path))


def add_actions(ctrl, menu) -> None:
    """File > Export > Time series (PVD, XDMF)... (enabled while a history is on screen)."""
    ctrl.series_action = ctrl.window.actions.add(
        "file.export.series", menu, "Time &series (PVD, XDMF)\u2026", lambda: series_dialog(ctrl))

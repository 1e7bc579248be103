"""An animation of a history over time (#18): GIF or MP4, one colour range for all frames.

:func:`history_animation_job` reads a history file (``io.history``; one frame at a time),
takes up to ``frames`` steps evenly over it (the first and last always), captions each with its
time and renders them off screen with :func:`physapp.viz.figure.save_animation`. The colour
range is the one the solver recorded over the whole history (``meta["field_ranges"]``) unless
the view locks another. Runs in the export job's child process in the app, directly in the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from physapp.core.errors import Cancelled, PhysappError
from physapp.core.history import FieldHistory
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.results import FieldResult
from physapp.viz.figure import ANIMATION_EXTS, check_figure_path, save_animation
from physapp.viz.grids import display_unit

MAX_FRAMES = 1000


def frame_steps(n_steps: int, frames: int) -> np.ndarray:
    """Up to ``frames`` step indices spread evenly over ``n_steps`` (first and last included)."""
    if n_steps < 2:
        raise PhysappError("An animation over time needs a history of at least 2 steps.")
    if frames < 2:
        raise PhysappError("An animation needs at least 2 frames.")
    if frames > MAX_FRAMES:
        raise PhysappError(f"At most {MAX_FRAMES} frames.")
    return np.unique(np.round(np.linspace(0, n_steps - 1, min(frames, n_steps))).astype(int))


def history_clim(history: FieldHistory, field: tuple[str, str, str]) -> tuple[float, float] | None:
    """The recorded range of ``field`` over the whole history in display units, or None."""
    r = (history.meta.get("field_ranges") or {}).get(field[0])
    if not r or not r[1] > r[0]:
        return None
    factor, _ = display_unit(field[2], max(abs(r[0]), abs(r[1])))
    return float(r[0]) * factor, float(r[1]) * factor


def history_frames(history: FieldHistory, steps, field: tuple[str, str, str],
                   cancel: CancelToken = NEVER, progress: ProgressFn = no_progress,
                   ) -> list[tuple[FieldResult, str]]:
    """(frame, caption) for ``steps``: only the field shown (and the displacement, for a
    warped view) is read."""
    base = field[0].partition("[")[0]
    if base not in history.point_data:
        raise PhysappError(f"The history has no field '{base}' (it has "
                           f"{', '.join(history.point_data)}).")
    names = [n for n in (base, "displacement") if n in history.point_data]
    out = []
    for k, i in enumerate(steps):
        if cancel.cancelled:
            raise Cancelled("Animation export cancelled.")
        data = {n: np.asarray(history.point_data[n][int(i)]) for n in names}
        t = float(history.times[int(i)])
        meta = {"time": t, "step": int(i)}
        out.append((FieldResult(history.mesh, data, history.source, meta, dict(history.units)),
                    f"{history.time_label} = {t:.4g} {history.time_unit}".rstrip()))
        progress(0.1 * (k + 1) / len(steps), f"Read step {k + 1} of {len(steps)}")
    return out


def history_animation_job(history_path: str, path: str, field: tuple[str, str, str],
                          options: Mapping[str, Any] | None = None, *,
                          progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> str:
    """Animate the history in ``history_path`` over time into ``path`` (.gif / .mp4).

    ``options``: ``frames`` (default 100, at most the steps), ``fps`` (10), ``size`` (w, h),
    ``view`` (ViewSettings dict; its ``clim`` locks the colour range), ``title``."""
    from physapp.io.history import read_history

    opts = dict(options or {})
    check_figure_path(path, ANIMATION_EXTS)
    history = read_history(history_path)
    steps = frame_steps(history.n_steps, int(opts.get("frames", 100)))
    frames = history_frames(history, steps, field, cancel, progress)
    view = dict(opts.get("view") or {})
    if not view.get("clim"):
        view["clim"] = history_clim(history, field)
    title = opts.get("title", field[1])
    out = save_animation(frames, field, path, view=view, size=tuple(opts.get("size", (960, 640))),
                         fps=float(opts.get("fps", 10)), title=title, progress=progress,
                         cancel=cancel)
    return str(out)

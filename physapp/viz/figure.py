"""Figures and animations rendered off screen, independent of the window on screen.

The scene is rebuilt from data - a :class:`~physapp.core.results.FieldResult` and the view
settings (a ``ViewSettings.to_dict()`` mapping: field colour map, colour range, edges, warp, clip,
camera) - in an off-screen :class:`pyvista.Plotter` at the requested size times a supersampling
factor, then downsampled with Pillow (anti-aliasing without MSAA, which software OpenGL lacks).
Text (title, colour bar, captions) is sized relative to the image height, so a 4K figure reads
like the window does. Works headless (EGL/OSMesa) for the CLI and in a child process for the GUI
(every VTK call of the app stays on the GUI thread or in a child process).

:func:`save_figure` writes a PNG (transparent background on request; several panes side by side
for the split view). :func:`save_animation` writes a GIF (Pillow) or MP4 (imageio-ffmpeg) of
frames with one fixed colour range; :func:`sweep_animation_job` predicts a one-parameter sweep
with a surrogate model and animates it (a job for :class:`~physapp.compute.jobs.ProcessJobRunner`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyvista as pv

from physapp.core.errors import Cancelled, PhysappError
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.results import FieldResult
from physapp.io.export import atomic_write
from physapp.viz.fonts import use_unicode_font
from physapp.viz.grids import field_for_display, mesh_to_grid

FIGURE_EXTS = (".png",)
ANIMATION_EXTS = (".gif", ".mp4")
MAX_PIXELS = 8192  # per side of the final image
BACKGROUND = "white"
TEXT_COLOR = "black"
ARRAY = "field"


@dataclass
class Pane:
    """One view of a figure: ``field`` is (name, label, SI unit) as the window's field selector
    gives it; ``view`` a ``ViewSettings.to_dict()`` mapping (missing keys take defaults)."""

    result: FieldResult
    field: tuple[str, str, str]
    view: Mapping[str, Any] = field(default_factory=dict)
    title: str = ""
    caption: str = ""


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> (1920, 1080); a clear error for anything else."""
    w, sep, h = str(text).lower().replace(" ", "").partition("x")
    try:
        size = (int(w), int(h)) if sep else None
    except ValueError:
        size = None
    if size is None:
        raise PhysappError(f"Image size '{text}' should be WIDTHxHEIGHT, e.g. 1920x1080.")
    return check_size(size)


def check_size(size: Sequence[int]) -> tuple[int, int]:
    w, h = int(size[0]), int(size[1])
    if not (16 <= w <= MAX_PIXELS and 16 <= h <= MAX_PIXELS):
        raise PhysappError(f"Image size {w}x{h} is out of range: each side must be between 16 "
                           f"and {MAX_PIXELS} pixels.")
    return w, h


# -- the scene ------------------------------------------------------------------------------------
class _Scene:
    """One pane's actors in a (sub)plot, updatable in place for animation frames."""

    def __init__(self, plotter: pv.Plotter, pane: Pane, size: tuple[int, int], index: int,
                 clim: tuple[float, float] | None) -> None:
        width, height = size
        self.plotter, self.pane, self.height = plotter, pane, height
        view = pane.view or {}
        self.view = view
        self.warp = float(view.get("warp_scale") or 0.0)
        self.clip = view.get("clip")
        self.grid = mesh_to_grid(pane.result.mesh)
        values, unit = field_for_display(pane.result, pane.field[0], pane.field[2])
        self.grid.points = self._points(pane.result)
        self.grid.point_data[ARRAY] = values
        lo, hi = clim or tuple(view.get("clim") or (float(values.min()), float(values.max())))
        if hi <= lo:
            hi = lo + max(abs(lo) * 1e-6, 1e-12)
        self.clim = (float(lo), float(hi))
        label = pane.field[1] or pane.field[0]
        # pyvista keys colour bars by title: trailing spaces keep the panes' bars apart
        self.bar_title = (f"{label} [{unit}]" if unit else label) + " " * index
        shown = self._shown()
        fs = self.font(0.028)
        # the bar title is centred over the bar near the right edge: a long one in a narrow pane
        # gets a smaller font rather than running out of the image
        title = self.bar_title
        fits = int(0.30 * width / (0.55 * fs))  # characters that fit at the label size
        if len(title.rstrip()) > fits and " " in title.strip():  # two lines, split near the middle
            words = title.rstrip().split(" ")
            cut = min(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k]))
                                                           - len(" ".join(words[k:]))))
            title = " ".join(words[:cut]) + "\n" + " ".join(words[cut:]) + " " * index
        longest = max(len(line) for line in title.split("\n"))
        title_fs = max(6, min(fs, int(0.30 * width / (0.55 * max(1, longest)))))
        self.bar_title = title
        self.actor = plotter.add_mesh(
            shown, scalars=ARRAY, cmap=view.get("colormap") or "turbo", clim=self.clim,
            show_edges=bool(view.get("show_edges", False)), edge_color="dimgray",
            name=f"pane{index}", render=False, lighting=True,
            scalar_bar_args=dict(
                title=self.bar_title, color=TEXT_COLOR, fmt="%.3g", n_labels=6, vertical=True,
                position_x=0.82, position_y=0.10, width=0.06, height=0.78,
                title_font_size=title_fs, label_font_size=fs, bold=False, font_family="arial",
                shadow=False),
        )
        bar = plotter.scalar_bars._scalar_bar_actors.get(self.bar_title)
        if bar is not None:  # σθ, °C need a font with those glyphs (VTK's Arial has none)
            use_unicode_font(bar.GetTitleTextProperty(), bar.GetLabelTextProperty())
        self.width = width
        self.flow: dict[str, pv.PolyData] = {}  # streamlines / arrows, rewritten per frame
        self._flow(pane.result, index)
        if pane.title:
            self.text(pane.title, 0.5, 0.975, 0.030, "center", "top", f"title{index}")
        self.caption_actor = None
        if pane.caption:
            self.caption_actor = self.text(pane.caption, 0.02, 0.025, 0.028, "left", "bottom",
                                           f"caption{index}")

    def font(self, fraction: float) -> int:
        """A VTK font size (points at 72 dpi ~ pixels) as a fraction of the image height."""
        return max(6, int(round(fraction * self.height)))

    def text(self, text: str, x: float, y: float, size: float, halign: str, valign: str,
             name: str):
        """Text at (x, y) (fractions of the pane), ``size`` a fraction of the image height."""
        # pyvista doubles add_text's font size: ask for half
        actor = self.plotter.add_text(text, position=(x * self.width, y * self.height),
                                      font_size=max(3, self.font(size) // 2), color=TEXT_COLOR,
                                      name=name)
        prop = actor.GetTextProperty()
        use_unicode_font(prop)
        {"left": prop.SetJustificationToLeft, "center": prop.SetJustificationToCentered,
         "right": prop.SetJustificationToRight}[halign]()
        {"top": prop.SetVerticalJustificationToTop, "bottom":
         prop.SetVerticalJustificationToBottom}[valign]()
        return actor

    def _points(self, result: FieldResult) -> np.ndarray:
        pts = np.array(result.mesh.points, dtype=np.float64)
        if pts.shape[1] == 2:
            pts = np.column_stack([pts, np.zeros(len(pts))])
        if self.warp and "displacement" in result.point_data:
            u = np.asarray(result.point_data["displacement"], dtype=np.float64)
            pts[:, : u.shape[1]] += self.warp * u
        return pts

    def _shown(self) -> pv.DataSet:
        if self.clip:
            origin, normal = self.clip
            # as in the viewport: the side the normal points to stays
            return self.grid.clip(normal=tuple(normal), origin=tuple(origin), invert=False)
        return self.grid

    def update(self, result: FieldResult) -> None:
        """Write a new result of the same topology in place (animation frames)."""
        values, _ = field_for_display(result, self.pane.field[0], self.pane.field[2])
        if result.mesh.n_points != self.grid.n_points:
            raise PhysappError("Animation frames must share one mesh topology.")
        self.grid.points = self._points(result)
        self.grid.point_data[ARRAY] = values
        if self.clip:
            self.actor.mapper.SetInputData(self._shown())
        self.actor.mapper.scalar_range = self.clim
        self._flow(result)

    def _flow(self, result: FieldResult, index: int = 0) -> None:
        """Streamlines and arrows of a flow result when the view asks for them (as on screen:
        ``streamlines``, ``glyphs``, ``seed_line`` of the view settings)."""
        from physapp.viz import flow_lines

        want = {"lines": bool(self.view.get("streamlines")), "arrows": bool(self.view.get("glyphs"))}
        if not any(want.values()) or not flow_lines.has_velocity(result):
            return
        grid = flow_lines.velocity_grid(result)
        lift = np.array([0.0, 0.0, 2e-3 * float(np.linalg.norm(
            np.subtract(grid.bounds[1::2], grid.bounds[0::2])))])
        new = {}
        if want["lines"]:
            seed = self.view.get("seed_line") or flow_lines.auto_seed_line(grid)
            new["lines"] = flow_lines.streamlines(grid, seed)
        if want["arrows"]:
            focus = self.view.get("focus")
            new["arrows"] = flow_lines.arrows(grid, focus)
        for key, poly in new.items():
            if poly.n_points:
                poly.points = np.asarray(poly.points) + lift
            if key in self.flow:
                self.flow[key].copy_from(poly)
            else:
                self.flow[key] = poly
                self.plotter.add_mesh(poly, color="#202020", name=f"{key}{index}",
                                      line_width=max(1.0, self.height / 800), lighting=False,
                                      render=False, reset_camera=False)

    def camera(self, renderer) -> None:
        cam = self.view.get("camera")
        renderer.enable_parallel_projection() if (cam or {}).get(
            "parallel_projection", True) else renderer.disable_parallel_projection()
        c = renderer.camera
        if cam:
            c.position = tuple(cam["position"])
            c.focal_point = tuple(cam["focal_point"])
            c.up = tuple(cam["view_up"])
            if "parallel_scale" in cam:
                c.parallel_scale = float(cam["parallel_scale"])
            if "view_angle" in cam:
                c.view_angle = float(cam["view_angle"])
            wc = cam.get("window_center")
            c.SetWindowCenter(*(wc if wc else (0.2, 0.0)))
            renderer.reset_camera_clipping_range()
            return
        if np.ptp(self.grid.points[:, 2]) > 0:
            renderer.view_isometric()
        else:
            renderer.view_xy()
        renderer.reset_camera()
        c.zoom(0.82)
        c.SetWindowCenter(0.2, 0.0)  # room for the colour bar on the right, as on screen


def _plotter(size: tuple[int, int], shape: tuple[int, int] = (1, 1)) -> pv.Plotter:
    p = pv.Plotter(off_screen=True, window_size=list(size), shape=shape, border=False)
    p.ren_win.SetMultiSamples(0)
    p.set_background(BACKGROUND)
    return p


def _downsample(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    if img.shape[1] == size[0] and img.shape[0] == size[1]:
        return img
    mode = "RGBA" if img.shape[2] == 4 else "RGB"
    if mode == "RGBA":  # average colours weighted by coverage: no dark fringe on transparency
        a = img[..., 3:4].astype(np.float32) / 255.0
        premult = np.concatenate([img[..., :3] * a, img[..., 3:4]], axis=2).astype(np.uint8)
        out = np.asarray(Image.fromarray(premult, mode).resize(size, Image.Resampling.BOX))
        alpha = out[..., 3:4].astype(np.float32) / 255.0
        rgb = np.where(alpha > 0, out[..., :3] / np.maximum(alpha, 1e-6), 0.0)
        return np.concatenate([np.clip(rgb, 0, 255), out[..., 3:4]], axis=2).astype(np.uint8)
    return np.asarray(Image.fromarray(img, mode).resize(size, Image.Resampling.LANCZOS))


def render_figure(panes: Sequence[Pane], size: tuple[int, int] = (1920, 1080), *,
                  transparent: bool = False, supersample: int = 2) -> np.ndarray:
    """The figure as an ``(h, w, 3)`` (or ``(h, w, 4)`` with ``transparent``) uint8 array;
    several panes are laid out side by side (the split view)."""
    if not panes:
        raise PhysappError("Nothing to draw: no result is shown.")
    w, h = check_size(size)
    ss = max(1, int(supersample))
    while ss > 1 and max(w, h) * ss > MAX_PIXELS:
        ss -= 1
    big = (w * ss, h * ss)
    p = _plotter(big, (1, len(panes)))
    try:
        for i, pane in enumerate(panes):
            p.subplot(0, i)
            p.set_background(BACKGROUND)
            scene = _Scene(p, pane, (big[0] // len(panes), big[1]), i, None)
            scene.camera(p.renderer)
        img = p.screenshot(return_img=True, transparent_background=transparent)
    finally:
        p.close()
    return _downsample(np.asarray(img), (w, h))


def _save_png(img: np.ndarray, path: str | os.PathLike) -> Path:
    from PIL import Image

    def write(tmp: str) -> None:
        Image.fromarray(img).save(tmp, format="PNG", optimize=False)

    return atomic_write(path, write)


def check_figure_path(path: str | os.PathLike, exts: Sequence[str] = FIGURE_EXTS) -> Path:
    path = Path(path)
    if path.suffix.lower() not in exts:
        raise PhysappError(f"Cannot write '{path.name}': unknown extension "
                           f"'{path.suffix or '(none)'}'. Supported: {', '.join(exts)}.")
    from physapp.io.export import check_folder

    return check_folder(path)


def save_figure(panes: Sequence[Pane] | Pane, path: str | os.PathLike,
                size: tuple[int, int] = (1920, 1080), *, transparent: bool = False,
                supersample: int = 2, progress: ProgressFn = no_progress,
                cancel: CancelToken = NEVER) -> Path:
    """Render ``panes`` and write a PNG atomically; returns the path."""
    if isinstance(panes, Pane):
        panes = [panes]
    path = check_figure_path(path)
    progress(0.1, "Rendering the figure")
    img = render_figure(panes, size, transparent=transparent, supersample=supersample)
    cancel.check()
    progress(0.9, f"Writing {path.name}")
    return _save_png(img, path)


# -- animations -----------------------------------------------------------------------------------
def global_clim(results: Iterable[FieldResult], field: tuple[str, str, str]) -> tuple[float, float]:
    """One colour range (display units) over every frame."""
    lo, hi = np.inf, -np.inf
    for r in results:
        v, _ = field_for_display(r, field[0], field[2])
        lo, hi = min(lo, float(v.min())), max(hi, float(v.max()))
    if not np.isfinite(lo):
        raise PhysappError("No frames to animate.")
    return lo, hi


def save_animation(frames: Sequence[tuple[FieldResult, str]], field: tuple[str, str, str],
                   path: str | os.PathLike, *, view: Mapping[str, Any] | None = None,
                   size: tuple[int, int] = (960, 640), fps: float = 10.0, title: str = "",
                   supersample: int = 2, progress: ProgressFn = no_progress,
                   cancel: CancelToken = NEVER) -> Path:
    """Write ``frames`` ((result, caption) pairs of one topology) as a GIF or MP4 with one
    colour range over all frames and each caption drawn in its frame; the camera is fitted
    to the first frame (or taken from ``view['camera']``) and stays for all of them."""
    path = check_figure_path(path, ANIMATION_EXTS)
    if not frames:
        raise PhysappError("No frames to animate.")
    w, h = check_size(size)
    if path.suffix.lower() == ".mp4":
        w, h = w - w % 2, h - h % 2  # H.264 with yuv420p needs even sides
    view = dict(view or {})
    clim = tuple(view["clim"]) if view.get("clim") else global_clim((r for r, _ in frames), field)
    ss = max(1, int(supersample))
    big = (w * ss, h * ss)
    p = _plotter(big)
    images: list[np.ndarray] = []
    palette: list[tuple[int, int, int]] = []
    try:
        scene = _Scene(p, Pane(frames[0][0], field, view, title, frames[0][1]), big, 0, clim)
        scene.camera(p.renderer)
        caption = scene.caption_actor
        lut = scene.actor.mapper.lookup_table
        palette = [tuple(int(round(255 * c)) for c in lut.map_value(v)[:3])
                   for v in np.linspace(clim[0], clim[1], 192)]
        for k, (result, text) in enumerate(frames):
            if cancel.cancelled:
                raise Cancelled("Animation export cancelled.")
            if k:
                scene.update(result)
            caption.SetInput(text)
            p.render()
            img = np.asarray(p.screenshot(return_img=True))
            images.append(_downsample(img, (w, h)))
            progress(0.1 + 0.8 * (k + 1) / len(frames), f"Rendered frame {k + 1} of {len(frames)}")
    finally:
        p.close()
    progress(0.92, f"Writing {path.name}")
    if path.suffix.lower() == ".gif":
        return _write_gif(images, path, fps, palette)
    return _write_mp4(images, path, fps)


def _write_gif(images: list[np.ndarray], path: Path, fps: float,
               colours: Sequence[tuple[int, int, int]] = ()) -> Path:
    """GIF with one palette made for this animation (#13): median-cut over the pixels of all
    frames plus the colour map's colours (the colour bar stays smooth), exact white, and
    Floyd-Steinberg dithering, so shaded and dark faces keep their colour instead of banding
    or turning black. One palette for all frames: no flicker between them."""
    from PIL import Image

    palette = gif_palette(images, colours)
    pal = Image.new("P", (1, 1))
    pal.putpalette(palette)
    white = len(palette) // 3 - 1  # the last entry is pure white
    pics = []
    for img in images:
        q = Image.fromarray(np.ascontiguousarray(img[..., :3])).quantize(
            palette=pal, dither=Image.Dither.FLOYDSTEINBERG)
        # keep the background exactly white (no dither noise on it)
        idx = np.array(q)
        idx[np.all(img[..., :3] == 255, axis=2)] = white
        p = Image.fromarray(idx, "P")
        p.putpalette(palette)
        pics.append(p)

    def write(tmp: str) -> None:
        pics[0].save(tmp, format="GIF", save_all=True, append_images=pics[1:],
                     duration=int(round(1000 / fps)), loop=0, optimize=False)

    return atomic_write(path, write)


def gif_palette(images: Sequence[np.ndarray], colours: Sequence[tuple[int, int, int]] = (),
                size: int = 256) -> list[int]:
    """A flat RGB palette of ``size`` entries for a whole animation: median cut over (a sample
    of) every frame's non-white pixels and the colour map's ``colours``, white last."""
    from PIL import Image

    parts = []
    budget = 400_000  # pixels sampled over all frames
    for img in images:
        rgb = img[..., :3].reshape(-1, 3)
        rgb = rgb[~np.all(rgb == 255, axis=1)]
        step = max(1, len(rgb) * len(images) // budget)
        parts.append(rgb[::step])
    if colours:  # the colour bar's colours, weighted so each survives the cut
        strip = np.asarray(colours, dtype=np.uint8)
        parts.append(np.repeat(strip, max(1, sum(len(x) for x in parts) // (8 * len(strip))),
                               axis=0))
    sample = np.concatenate(parts) if parts else np.zeros((1, 3), np.uint8)
    sample = sample.astype(np.uint8)
    side = int(np.ceil(np.sqrt(len(sample))))
    square = np.full((side * side, 3), sample[0], dtype=np.uint8)
    square[: len(sample)] = sample
    q = Image.fromarray(square.reshape(side, side, 3)).quantize(
        colors=size - 1, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    flat = list(q.getpalette()[: 3 * (size - 1)])
    flat += [0] * (3 * (size - 1) - len(flat))
    return flat + [255, 255, 255]


def _write_mp4(images: list[np.ndarray], path: Path, fps: float) -> Path:
    try:
        import imageio_ffmpeg
    except ImportError:
        raise PhysappError("Writing MP4 needs the imageio-ffmpeg package "
                           "(pip install imageio-ffmpeg); GIF works without it.") from None
    h, w = images[0].shape[:2]

    def write(tmp: str) -> None:
        gen = imageio_ffmpeg.write_frames(
            tmp, (w, h), fps=fps, codec="libx264", pix_fmt_in="rgb24", pix_fmt_out="yuv420p",
            quality=8, macro_block_size=2, output_params=["-f", "mp4"], ffmpeg_log_level="error")
        gen.send(None)
        try:
            for img in images:
                gen.send(np.ascontiguousarray(img[..., :3]))
        finally:
            gen.close()

    try:
        return atomic_write(path, write)
    except RuntimeError as exc:  # ffmpeg's own failures
        raise PhysappError(f"Cannot write '{path}': ffmpeg failed ({exc}).") from None


def sweep_values(lower: float, upper: float, n: int) -> np.ndarray:
    if n < 2:
        raise PhysappError("An animation needs at least 2 frames.")
    if n > 1000:
        raise PhysappError("At most 1000 frames.")
    return np.linspace(lower, upper, int(n))


def format_value(value: float, scale: float = 1.0, unit: str = "") -> str:
    return f"{value * scale:.4g} {unit}".rstrip()


def sweep_animation_job(model_path: str, params: Mapping[str, float], name: str,
                        n_frames: int, path: str, field: tuple[str, str, str],
                        options: Mapping[str, Any] | None = None, *,
                        progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> str:
    """Predict ``name`` from its minimum to its maximum with the surrogate saved at
    ``model_path`` (other parameters from ``params``) and write the animation to ``path``.

    ``options``: ``view`` (ViewSettings dict), ``size`` (w, h), ``fps``, ``label`` (the
    parameter's label), ``scale`` and ``unit`` (how its value is shown), ``lower``/``upper``
    (default: the model's trained range), ``title``, ``device``. Returns the written path.
    Runs in a child process in the GUI (a job of the job runner) and directly in the CLI.
    """
    from physapp.surrogates.storage import load_surrogate

    opts = dict(options or {})
    check_figure_path(path, ANIMATION_EXTS)
    progress(0.0, "Loading the surrogate")
    model = load_surrogate(model_path, device=opts.get("device", "cpu"))
    if name not in model.param_names:
        raise PhysappError(f"The {model.kind} surrogate does not vary '{name}'; it varies "
                           f"{', '.join(model.param_names)}.")
    i = list(model.param_names).index(name)
    lower = float(opts.get("lower", model.bounds[i][0]))
    upper = float(opts.get("upper", model.bounds[i][1]))
    known = set(model.param_names) | set(model.fixed)
    base = {k: float(v) for k, v in params.items() if k in known}
    label = opts.get("label") or name
    frames = []
    values = sweep_values(lower, upper, n_frames)
    for k, v in enumerate(values):
        if cancel.cancelled:
            raise Cancelled("Animation export cancelled.")
        frames.append((model.predict({**base, name: float(v)}),
                       f"{label} = {format_value(v, opts.get('scale', 1.0), opts.get('unit', ''))}"))
        progress(0.1 * (k + 1) / len(values), f"Predicted frame {k + 1} of {len(values)}")
    title = opts.get("title", f"{field[1]} \u2014 {model.kind} surrogate, sweep of {label}")
    out = save_animation(frames, field, path, view=opts.get("view"),
                         size=tuple(opts.get("size", (960, 640))), fps=float(opts.get("fps", 10)),
                         title=title, progress=progress, cancel=cancel)
    return str(out)


def figure_job(panes: Sequence[Pane], path: str, size: tuple[int, int], transparent: bool,
               *, progress: ProgressFn = no_progress, cancel: CancelToken = NEVER) -> str:
    """:func:`save_figure` as a job for the job runner (positional options)."""
    return str(save_figure(panes, path, size, transparent=transparent, progress=progress,
                           cancel=cancel))


def frame_count(path: str | os.PathLike) -> int:
    """Number of frames of a GIF (for checks)."""
    from PIL import Image

    with Image.open(path) as im:
        return int(getattr(im, "n_frames", 1))


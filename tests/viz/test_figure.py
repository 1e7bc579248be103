"""Off-screen figures and animations: size beyond the screen, content, transparency, frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from physapp.core.errors import PhysappError
from physapp.viz.figure import (
    Pane,
    frame_count,
    parse_size,
    save_animation,
    save_figure,
    sweep_animation_job,
)

MODEL = Path(__file__).resolve().parents[2] / "physapp" / "resources" / "surrogates" / "plate-with-hole" / \
    "pod-gp.pt"
VM = ("von_mises", "von Mises stress", "Pa")


@pytest.fixture(scope="module")
def plate():
    from physapp.solvers.reference import ReferenceSolver
    from physapp.studies import get_study

    study = get_study("plate-with-hole")
    return ReferenceSolver(order=2).solve(study, study.check({"mesh_size": 0.02}))


def test_png_has_the_requested_size_and_shows_the_field(tmp_path, plate):
    path = save_figure(Pane(plate, VM, {"colormap": "turbo"}, title="Plate"),
                       tmp_path / "fig.png", (2400, 1600))
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape == (1600, 2400, 3)  # larger than the 1600x1000 screen
    white = np.all(img > 245, axis=2)
    assert 0.1 < 1 - white.mean() < 0.9  # a drawing, not a blank page
    # the colour bar's red end (turbo max) and blue end are both there
    r, g, b = img[..., 0].astype(int), img[..., 1].astype(int), img[..., 2].astype(int)
    assert np.sum((r > 150) & (g < 60) & (b < 60)) > 500
    assert np.sum((b > 120) & (r < 90)) > 500
    # text is drawn dark (title, bar labels)
    assert np.sum(img.max(axis=2) < 40) > 2000


def test_transparent_png_has_alpha(tmp_path, plate):
    path = save_figure([Pane(plate, VM), Pane(plate, ("displacement", "Displacement", "m"))],
                       tmp_path / "split.png", (1200, 500), transparent=True)
    im = Image.open(path)
    assert im.mode == "RGBA" and im.size == (1200, 500)
    alpha = np.asarray(im)[..., 3]
    assert alpha.min() == 0 and alpha.max() == 255
    assert 0.05 < (alpha > 0).mean() < 0.9
    # two panes: drawn pixels in both halves
    assert (alpha[:, :600] > 0).mean() > 0.05 and (alpha[:, 600:] > 0).mean() > 0.05


def test_bad_size_and_extension(tmp_path, plate):
    assert parse_size("1920x1080") == (1920, 1080)
    for bad in ("big", "10x10", "20000x100"):
        with pytest.raises(PhysappError):
            parse_size(bad)
    with pytest.raises(PhysappError, match=".png"):
        save_figure(Pane(plate, VM), tmp_path / "fig.jpg")


def test_gif_has_the_frame_count_and_a_fixed_colour_range(tmp_path, plate):
    frames = []
    for k, s in enumerate((0.5, 1.0, 2.0)):
        from physapp.core.results import FieldResult

        frames.append((FieldResult(plate.mesh, {n: v * s for n, v in plate.point_data.items()},
                                   "scaled", units=plate.units), f"frame {k}"))
    path = save_animation(frames, VM, tmp_path / "a.gif", size=(320, 200))
    assert frame_count(path) == 3
    with Image.open(path) as im:
        im.seek(0)
        first = np.asarray(im.convert("RGB")).astype(int)
        im.seek(2)
        last = np.asarray(im.convert("RGB")).astype(int)
    # one colour range: on the plate (left part) the weak frame is dark blue (turbo's low
    # end), the strong one four times higher is turquoise/green
    plate_first, plate_last = first[:, :200], last[:, :200]
    on_part = ~np.all(plate_first == 255, axis=2)  # (the white background is the same)
    assert plate_last[..., 1][on_part].mean() > 1.4 * plate_first[..., 1][on_part].mean()
    assert not np.array_equal(first, last)


def test_surrogate_sweep_gif_and_mp4(tmp_path):
    gif = sweep_animation_job(str(MODEL), {}, "radius", 6, str(tmp_path / "s.gif"), VM,
                              {"label": "Hole radius", "scale": 1e3, "unit": "mm",
                               "size": (320, 240)})
    assert frame_count(gif) == 6
    mp4 = sweep_animation_job(str(MODEL), {}, "radius", 4, str(tmp_path / "s.mp4"), VM,
                              {"size": (321, 240)})
    data = Path(mp4).read_bytes()
    assert data[4:8] == b"ftyp" and len(data) > 1000
    with pytest.raises(PhysappError, match="does not vary"):
        sweep_animation_job(str(MODEL), {}, "mesh_size", 4, str(tmp_path / "x.gif"), VM)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.gif", "s.mp4"]


def test_view_settings_are_used_clip_keeps_the_normal_side(plate):
    from physapp.viz.figure import render_figure

    lo, hi = plate.mesh.bounds()
    mid = float((lo[0] + hi[0]) / 2)
    cam = {"position": [mid, float(hi[1]) / 2, 1.0], "focal_point": [mid, float(hi[1]) / 2, 0.0],
           "view_up": [0.0, 1.0, 0.0], "parallel_scale": float(hi[0] - lo[0]) * 0.4,
           "window_center": [0.0, 0.0]}
    full = render_figure([Pane(plate, VM, {"camera": cam})], (400, 300), supersample=1)
    clipped = render_figure([Pane(plate, VM, {"camera": cam, "clip": [[mid, 0, 0], [1, 0, 0]],
                                              "colormap": "gray"})], (400, 300), supersample=1)
    drawn_full = np.any(full < 230, axis=2)[:, :300]  # left of the colour bar
    drawn_clip = np.any(clipped < 230, axis=2)[:, :300]
    assert drawn_full[:, 20:140].mean() > 0.2  # the left half is drawn without the clip ...
    assert drawn_clip[:, 20:140].mean() < 0.02  # ... and cut away with it
    assert drawn_clip[:, 160:280].mean() > 0.2
    gray = clipped[:, 160:280][drawn_clip[:, 160:280]]
    assert np.abs(gray[:, 0].astype(int) - gray[:, 2]).max() < 40  # the gray colour map


def test_text_scales_with_the_image_height(plate):
    """The colour bar's labels and title grow with the image: the same figure at twice the
    height has about four times the dark text pixels in the bar's strip."""
    from physapp.viz.figure import render_figure

    def ink(size):
        img = render_figure([Pane(plate, VM, {"colormap": "viridis"})], size)
        strip = img[:, int(0.84 * size[0]):]  # right of the bar: labels (dark text)
        return int(np.sum(strip.max(axis=2) < 80))

    small, large = ink((800, 500)), ink((1600, 1000))
    assert small > 200
    assert 3.0 < large / small < 5.5


def test_gif_palette_keeps_dark_shades_and_smooth_gradients():
    """#13: a shaded dark blue and a smooth ramp come back close, not black or banded."""
    from physapp.viz.figure import _write_gif

    h, w = 60, 256
    ramp = np.zeros((h, w, 3), np.uint8)
    ramp[..., 0] = np.linspace(20, 230, w).astype(np.uint8)[None, :]  # a smooth red ramp
    ramp[..., 2] = 40
    ramp[:20, :40] = (10, 12, 60)  # a dark, shaded face
    ramp[:5, -5:] = 255  # background
    frames = [ramp, ramp[:, ::-1].copy()]
    import tempfile

    path = _write_gif(frames, Path(tempfile.mkdtemp()) / "g.gif", 5.0,
                      [(48, 18, 59), (122, 4, 3)])
    with Image.open(path) as im:
        im.seek(0)
        back = np.asarray(im.convert("RGB")).astype(int)
    err = np.abs(back - ramp.astype(int))
    assert err[:20, :40].max() <= 12  # the dark face keeps its colour
    assert back[:20, :40].sum(axis=2).min() > 40  # not black
    # no banding: averaged over a column the ramp is within 2 levels everywhere
    assert np.abs(back[25:, :, 0].mean(axis=0) - ramp[25:, :, 0].mean(axis=0)).max() < 3
    assert (back[:5, -5:] == 255).all()

"""A line of text pinned to a place in a VTK view (a warning at the top, a caption in a corner)
that is cheap to change (#13).

pyvista's named text positions are a ``vtkCornerAnnotation``, which works its font size out
again at every change of its text by trying sizes until the text fits: 30-50 ms of the GUI
thread per change with software GL, paid in the first paint of every study (the preview's
warning appears, then goes). :class:`ScreenText` is a ``vtkTextActor`` at a fixed font size,
made smaller only when the line would not fit the view's width (measured once per change of
text or view width, ~0.1 ms).
"""

from __future__ import annotations

import vtkmodules.vtkRenderingFreeType  # noqa: F401  (the text renderer's implementation)
from vtkmodules.vtkRenderingCore import vtkCoordinate, vtkTextActor, vtkTextRenderer

MIN_FONT = 7
MARGIN_PX = 5


class ScreenText:
    """One line of text at ``anchor`` (normalized view coordinates, e.g. (0.5, 1) the top
    centre) moved by ``offset`` pixels, justified ``halign`` ('left', 'center', 'right') and
    ``valign`` ('bottom', 'center', 'top'); ``font_size`` in points (72 dpi: pixels), the
    largest it is drawn at. The actor is :attr:`actor` (add it to a renderer)."""

    def __init__(self, anchor: tuple[float, float], offset: tuple[float, float], *,
                 halign: str, valign: str, font_size: int, color: str) -> None:
        self.actor = vtkTextActor()
        self.actor.SetPickable(False)
        ref = vtkCoordinate()
        ref.SetCoordinateSystemToNormalizedViewport()
        ref.SetValue(anchor[0], anchor[1], 0.0)
        pos = self.actor.GetPositionCoordinate()
        pos.SetCoordinateSystemToViewport()  # pixels, from the reference point
        pos.SetReferenceCoordinate(ref)
        pos.SetValue(offset[0], offset[1], 0.0)
        prop = self.actor.GetTextProperty()
        prop.SetFontFamilyToArial()
        names = {"left": "Left", "center": "Centered", "right": "Right", "bottom": "Bottom",
                 "top": "Top"}
        getattr(prop, f"SetJustificationTo{names[halign]}")()
        getattr(prop, f"SetVerticalJustificationTo{names[valign]}")()
        self.max_font_size = font_size
        prop.SetFontSize(font_size)
        self.set_color(color)
        self.actor.SetInput(" ")
        self.actor.SetVisibility(False)
        self._width = 0  # view width (px) the font size was fitted to
        self._dpi = 72

    @property
    def text(self) -> str:
        """The text shown ('' when hidden)."""
        return self.actor.GetInput() if self.actor.GetVisibility() else ""

    def set_text(self, text: str) -> None:
        """Show ``text`` ('' hides it), fitted to the last known view width."""
        if text:
            if text != self.actor.GetInput():
                self.actor.SetInput(text)
                self._fit()
        self.actor.SetVisibility(bool(text))

    def set_color(self, color: str) -> None:
        c = color.lstrip("#")
        self.actor.GetTextProperty().SetColor(*(int(c[i:i + 2], 16) / 255 for i in (0, 2, 4)))

    def set_max_font_size(self, size: int) -> None:
        self.max_font_size = int(size)
        self._fit()

    def fit_width(self, width: int, dpi: int = 72) -> None:
        """The view is ``width`` pixels wide now: the font shrinks if the line would not fit."""
        if width != self._width or dpi != self._dpi:
            self._width, self._dpi = int(width), int(dpi)
            self._fit()

    def _fit(self) -> None:
        prop = self.actor.GetTextProperty()
        size = self.max_font_size
        room = self._width - 2 * MARGIN_PX
        if room > 0:
            prop.SetFontSize(size)
            box = [0, 0, 0, 0]
            if vtkTextRenderer.GetInstance().GetBoundingBox(prop, self.actor.GetInput(), box,
                                                            self._dpi):
                width = box[1] - box[0]
                if width > room:
                    size = max(MIN_FONT, int(size * room / width))
        prop.SetFontSize(size)

"""The split view's widget: three :class:`~physapp.gui.viewport.Viewport` panes (surrogate,
reference, difference) with titles and messages over a
:class:`~physapp.gui.metrics_panel.MetricsPanel`, and the panes' styling (a horizontal colour bar
under the model, a short warning line). Controlled by
:class:`~physapp.gui.compare_view.CompareController`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from physapp.gui.metrics_panel import MetricsPanel
from physapp.gui.viewport import Viewport

if TYPE_CHECKING:  # pragma: no cover
    pass
TITLE_STYLE = "font-weight: bold; color: #1d3f5e; padding: 2px 4px;"


MESSAGE_STYLE = ("color: #505050; font-size: 15px; background: white; "
                 "border: 1px solid #d0d0d0; padding: 12px;")


STALE_STYLE = TITLE_STYLE.replace("#1d3f5e", "#a01010")


class CompareView(QWidget):
    """Three titled panes side by side (a splitter) over the metrics panel, with a bar of
    options on top. Built by :class:`CompareController` the first time it is needed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        bar = QHBoxLayout()
        head = QLabel("<b>Compare surrogate with the reference solver</b>")
        self.mode_combo = QComboBox()
        self.mode_combo.addItem("Difference S \u2212 R", False)
        self.mode_combo.addItem("Relative difference |S \u2212 R| / max|R|", True)
        self.mode_combo.setToolTip("What the third pane shows")
        self.lock_check = QCheckBox("Lock colour range")
        self.lock_check.setToolTip("Keep the colour range of the surrogate and reference panes "
                                   "while the sliders move (else it spans both fields)")
        self.single_button = QPushButton("Single view  (F6)")
        bar.addWidget(head)
        bar.addStretch(1)
        bar.addWidget(QLabel("Third pane:"))
        bar.addWidget(self.mode_combo)
        bar.addWidget(self.lock_check)
        bar.addWidget(self.single_button)
        col.addLayout(bar)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.panes: list[Viewport] = []
        self.titles: list[QLabel] = []
        self.stacks: list[QStackedWidget] = []
        self.messages: list[QLabel] = []
        for _ in range(3):
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(0)
            title = QLabel()
            title.setStyleSheet(TITLE_STYLE)
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            stack = QStackedWidget()
            pane = Viewport(stack)
            message = QLabel()
            message.setWordWrap(True)
            message.setAlignment(Qt.AlignmentFlag.AlignCenter)
            message.setStyleSheet(MESSAGE_STYLE)
            stack.addWidget(pane)
            stack.addWidget(message)
            stack.setCurrentIndex(1)
            v.addWidget(title)
            v.addWidget(stack, 1)
            self.splitter.addWidget(box)
            self.panes.append(pane)
            self.titles.append(title)
            self.stacks.append(stack)
            self.messages.append(message)
        col.addWidget(self.splitter, 1)
        self.metrics_panel = MetricsPanel()
        col.addWidget(self.metrics_panel)

    def set_message(self, index: int, text: str) -> None:
        """Show ``text`` instead of pane ``index`` ('' shows the pane)."""
        self.messages[index].setText(text)
        self.stacks[index].setCurrentIndex(1 if text else 0)

    def message(self, index: int) -> str:
        return self.messages[index].text() if self.stacks[index].currentIndex() == 1 else ""

    def set_title(self, index: int, text: str, stale: bool = False) -> None:
        self.titles[index].setText(text)
        self.titles[index].setStyleSheet(STALE_STYLE if stale else TITLE_STYLE)

    def close_panes(self) -> None:
        for pane in self.panes:
            pane.close_viewport()


#: colour bar of a pane: horizontal under the model (a vertical one leaves too little room for
#: its title in a third of the window); the camera's window centre moves the model up to match
BAR_POSITION = (0.27, 0.03)


BAR_SIZE = (0.67, 0.13)


PANE_WINDOW_CENTER = (0.0, -0.16)


PANE_ZOOM = 1.15


#: largest font of a pane's warning line: a third of the window is narrow ("ut of date - last
#: solved desig", #13); narrower still, the line shrinks to the pane's width
PANE_OVERLAY_MAX_FONT = 13


def _set_overlay(pane: Viewport, text: str) -> None:
    """The pane's warning line, rendered only when it changes."""
    if pane.overlay_text != text:
        pane.set_overlay_font(PANE_OVERLAY_MAX_FONT)
        pane.set_overlay(text)


def _style_pane(pane: Viewport) -> None:
    """Horizontal colour bar at the bottom of ``pane``, the model moved up to clear it (cheap:
    properties only, applied after every show because a new topology rebuilds the bar)."""
    if not pane.has_field or not pane.plotter.scalar_bars:
        return
    bar = pane.plotter.scalar_bar
    if bar.GetOrientation() != 0:
        bar.SetOrientationToHorizontal()
        bar.GetPositionCoordinate().SetValue(*BAR_POSITION)
        bar.SetWidth(BAR_SIZE[0])
        bar.SetHeight(BAR_SIZE[1])
        bar.SetNumberOfLabels(5)
        bar.SetTextPositionToPrecedeScalarBar()  # labels below the bar, the title above it
        bar.SetBarRatio(0.28)
    camera = pane.plotter.camera
    if tuple(camera.GetWindowCenter()) != PANE_WINDOW_CENTER:  # a reset fitted it for a bar
        camera.SetWindowCenter(*PANE_WINDOW_CENTER)  # at the side: use the room it left
        camera.Zoom(PANE_ZOOM)

"""The app's small live charts (QPainter, no plotting library): a white framed widget that
shows a note until there is data, then axes labelled with their ranges and a title.

:class:`Chart` draws the frame, the axes and the lines; :class:`LossPlot` (the training
loss of Run > Train surrogate) and :class:`ErrorChart` (the estimated error of Run > Learn while
solving) say what their points are and draw their own extras (a legend, a band, a target);
the online dialog's design scatter draws on the same frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

BLUE, RED, GREEN = QColor("#1f77b4"), QColor("#d62728"), QColor("#2ca02c")


class Chart(QWidget):
    """Base of a live line chart: :meth:`paintEvent` draws the frame and the note, then calls
    :meth:`draw` with a painter, its font metrics and the widget's size."""

    #: fewest points drawn as a chart (fewer: the note)
    MIN_POINTS = 1

    def __init__(self, note: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumSize(360, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.points: list[tuple] = []
        self.note = note

    def clear(self) -> None:
        self.points = []
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        p.setPen(QPen(QColor("#b4b4b4")))
        p.drawRect(self.rect().adjusted(0, 0, -1, -1))
        font = QFont(self.font())
        font.setPointSizeF(max(font.pointSizeF() - 1, 7))
        p.setFont(font)
        fm = p.fontMetrics()
        if not self.has_data():
            p.setPen(QColor("#707070"))
            p.drawText(self.rect().adjusted(8, 8, -8, -8),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.note)
            return
        self.draw(p, fm)

    def has_data(self) -> bool:
        """Whether to draw the chart (else the note)."""
        return len(self.points) >= self.MIN_POINTS

    def draw(self, p: QPainter, fm: QFontMetrics) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def draw_axes(self, p: QPainter, fm: QFontMetrics, *, left: int, x: tuple[float, float],
             y: tuple[float, float], log: bool, y_text: Callable[[float], str],
             x_label: str, title: str) -> Callable[[float, float], QPointF]:
        """Draw the axes (x from ``x[0]`` to ``x[1]``, y from ``y[0]`` to ``y[1]``, on a log10
        scale when ``log``), their end labels and the title; returns data -> screen."""
        f = (lambda v: math.log10(max(v, 1e-300))) if log else (lambda v: v)
        (x0, x1), (lo, hi) = x, (f(y[0]), f(y[1]))
        if hi <= lo:
            hi = lo + (abs(lo) or 1.0) * 1e-3
        top, right, bottom = fm.height() + 10, 10, fm.height() * 2 + 8
        w, h = self.width() - left - right, self.height() - top - bottom

        def at(xv: float, yv: float) -> QPointF:
            return QPointF(left + (xv - x0) / ((x1 - x0) or 1.0) * w,
                           top + (1 - (f(yv) - lo) / (hi - lo)) * h)

        p.setPen(QPen(QColor("#404040")))
        p.drawLine(left, top, left, top + h)
        p.drawLine(left, top + h, left + w, top + h)
        for value in y:
            text = y_text(value)
            p.drawText(left - 6 - fm.horizontalAdvance(text), int(at(x0, value).y()
                                                                  + fm.ascent() / 2), text)
        p.drawText(left, top + h + fm.height(), f"{x0:g}")
        p.drawText(left + w - fm.horizontalAdvance(f"{x1:g}"), top + h + fm.height(), f"{x1:g}")
        p.drawText(left + (w - fm.horizontalAdvance(x_label)) // 2, top + h + 2 * fm.height(),
                   x_label)
        p.drawText(left, top - 6, title)
        return at

    @staticmethod
    def line(p: QPainter, pts: Sequence[QPointF | None], colour: QColor, width: float) -> None:
        """A polyline through ``pts`` (``None`` entries are skipped)."""
        path = QPainterPath()
        started = False
        for pt in pts:
            if pt is None:
                continue
            if started:
                path.lineTo(pt)
            else:
                path.moveTo(pt)
                started = True
        p.setPen(QPen(colour, width))
        p.drawPath(path)


class LossPlot(Chart):
    """A small live plot of the training loss (and the held-out loss when reported)."""

    MIN_POINTS = 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("The loss curve appears here while the model trains.", parent)
        self.x_label = "iteration"
        self.y_label = "loss"
        self.total: int | None = None  # the x axis runs to here (the run's last epoch)

    def clear(self, note: str = "") -> None:
        self.total = None
        if note:
            self.note = note
        super().clear()

    def add(self, epoch: int, loss: float, val: float | None) -> None:
        if math.isfinite(loss):
            self.points.append((epoch, loss, val if val is None or math.isfinite(val) else None))
            self.update()

    def axes(self) -> tuple[int, int, bool]:
        """(first, last epoch) on the x axis and whether y is logarithmic: the axis follows
        the epochs done, and y is a log axis whenever the losses are positive (#13)."""
        xs = [pt[0] for pt in self.points] or [0]
        ys = [v for pt in self.points for v in pt[1:] if v is not None]
        x0, x1 = min(xs), max(xs)
        return x0, (x1 if x1 > x0 else x0 + 1), bool(ys) and min(ys) > 0

    def draw(self, p: QPainter, fm: QFontMetrics) -> None:
        series = [[pt[1] for pt in self.points]]
        vals = [pt[2] for pt in self.points]
        if any(v is not None for v in vals):
            series.append(vals)
        ys = [v for s in series for v in s if v is not None]
        x0, x1, log = self.axes()
        at = self.draw_axes(p, fm, left=fm.horizontalAdvance("-0.000e+00") + 10, x=(x0, x1),
                       y=(min(ys), max(ys)), log=log, y_text=lambda v: f"{v:.3g}",
                       x_label=self.x_label,
                       title=f"Training {self.y_label}" + (" (log scale)" if log else ""))
        for k, s in enumerate(series):
            colour = (BLUE, RED)[k]
            self.line(p, [None if y is None else at(pt[0], y)
                          for pt, y in zip(self.points, s, strict=True)], colour, 1.6)
            if len(series) > 1:  # legend
                lx, ly = self.width() - 100, fm.height() + 16 + k * fm.height()
                p.drawLine(lx, ly + fm.height() // 2 - 2, lx + 16, ly + fm.height() // 2 - 2)
                p.setPen(QColor("#404040"))
                p.drawText(lx + 20, ly + fm.ascent(), ("training", "held-out")[k])


class ErrorChart(Chart):
    """Estimated error (%) against solves, its +- 1 std band, and the target."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("The estimated error appears here after the first solves.", parent)
        self.target = 0.02
        self.budget = 100

    def add(self, solves: int, estimate: float, std: float) -> None:
        if math.isfinite(estimate) and estimate > 0:
            self.points.append((int(solves), float(estimate), float(max(std, 0.0))))
            self.update()

    def draw(self, p: QPainter, fm: QFontMetrics) -> None:
        ys = [e for _, e, _ in self.points] + [e + s for _, e, s in self.points] + [self.target]
        ys += [max(e - s, e * 0.2) for _, e, s in self.points]
        lo, hi = min(ys), max(ys)
        if math.log10(hi) - math.log10(lo) < 0.3:
            lo, hi = lo / 10 ** 0.15, hi * 10 ** 0.15
        x1 = max(self.budget, max(x for x, _, _ in self.points), 1)
        left = fm.horizontalAdvance("100 %") + 12
        at = self.draw_axes(p, fm, left=left, x=(0, x1), y=(lo, hi), log=True, y_text=pct,
                       x_label="solves", title="Estimated error of the field (log scale)")
        band = QPainterPath()
        upper = [at(x, e + s) for x, e, s in self.points]
        lower = [at(x, max(e - s, 1e-12)) for x, e, s in self.points]
        band.moveTo(upper[0])
        for pt in upper[1:]:
            band.lineTo(pt)
        for pt in reversed(lower):
            band.lineTo(pt)
        band.closeSubpath()
        p.fillPath(band, QColor(31, 119, 180, 50))
        self.line(p, [at(x, e) for x, e, _ in self.points], BLUE, 1.8)
        for x, e, _ in self.points:
            p.drawEllipse(at(x, e), 2.0, 2.0)
        ty = at(0, self.target).y()
        w = self.width() - left - 10
        p.setPen(QPen(GREEN, 1.2, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(left, ty), QPointF(left + w, ty))
        p.drawText(QPointF(left + w - fm.horizontalAdvance("target") - 2, ty - 3), "target")


def pct(x: float) -> str:
    """A fraction as a percentage with two significant digits below 10 %."""
    x = 100 * float(x)
    return f"{x:.2g} %" if x < 10 else f"{x:.0f} %"

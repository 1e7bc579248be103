"""The study gallery: every registered study as a card with a thumbnail, title and description.

Used as the start screen (``physapp`` without ``--study``) and by File > New study... (Ctrl+N).

Thumbnails show each study's mesh at its default parameters. They are made in two steps so the
GUI never freezes and VTK stays on the GUI thread:

1. :class:`MeshThread` (a ``QThread``) calls ``study.build_mesh(defaults)`` -- gmsh only, no VTK;
2. :func:`render_thumbnail` renders the mesh off-screen on the GUI thread (a fraction of a second).

PNGs are cached in ``<user cache>/physapp/thumbnails/<study id>-<hash>.png`` (the hash covers the
default parameters, the physapp version and the thumbnail style), so a second opening is instant.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyvista as pv
from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QObject,
    QRect,
    QSize,
    Qt,
    QThread,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from physapp import __version__
from physapp.core.mesh import MeshData
from physapp.core.study import Study
from physapp.viz.grids import mesh_to_grid

THUMB_SIZE = QSize(280, 190)  # shown size; rendered at twice that and scaled down (smooth edges)
THUMB_STYLE = "1"  # bump when the look changes: old cached PNGs are then ignored
MESH_COLOUR = "lightsteelblue"
EDGE_COLOUR = "#6f7f92"  # lighter than black: dense meshes stay readable at this size
#: item data roles
ID_ROLE = Qt.ItemDataRole.UserRole
DESCRIPTION_ROLE = Qt.ItemDataRole.UserRole + 1
IMAGE_ROLE = Qt.ItemDataRole.UserRole + 2  # QImage once ready
STATE_ROLE = Qt.ItemDataRole.UserRole + 3  # "pending", "ready" or the failure message


# -- thumbnails -----------------------------------------------------------------------------------
def default_cache_dir() -> Path:
    """``<user cache>/thumbnails`` (``~/.cache/physapp/thumbnails`` on Linux; see
    :func:`physapp.core.paths.user_cache_dir`)."""
    from physapp.core.paths import user_cache_dir

    return user_cache_dir() / "thumbnails"


def thumbnail_key(study: Study, size: QSize = THUMB_SIZE) -> str:
    """File name of a study's thumbnail: its id and a hash of what the picture depends on."""
    blob = json.dumps(
        {
            "defaults": study.spec.defaults(),
            "version": __version__,
            "style": THUMB_STYLE,
            "size": [size.width(), size.height()],
        },
        sort_keys=True,
    )
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    safe_id = "".join(c if c.isalnum() or c in "-_." else "_" for c in study.spec.id)
    return f"{safe_id}-{digest}.png"


def render_thumbnail(mesh: MeshData, size: QSize = THUMB_SIZE) -> QImage:
    """An off-screen picture of ``mesh`` (GUI thread only: VTK): 2D from +z, 3D isometric."""
    w, h = size.width(), size.height()
    plotter = pv.Plotter(off_screen=True, window_size=(2 * w, 2 * h))
    try:
        plotter.set_background("white")
        plotter.add_mesh(
            mesh_to_grid(mesh),
            color=MESH_COLOUR,
            show_edges=True,
            edge_color=EDGE_COLOUR,
            line_width=1,
            smooth_shading=False,
        )
        if mesh.dim == 3 or np.ptp(np.asarray(mesh.points)[:, 2]) > 0:
            plotter.view_isometric()
            plotter.reset_camera()
        else:
            plotter.view_xy()
            plotter.enable_parallel_projection()
            plotter.reset_camera()
            plotter.camera.zoom(1.1)  # a flat part fits tighter than reset_camera leaves it
        img = np.ascontiguousarray(plotter.screenshot(return_img=True)[:, :, :3])
    finally:
        plotter.close()
    qimg = QImage(img.data, img.shape[1], img.shape[0], 3 * img.shape[1],
                  QImage.Format.Format_RGB888).copy()
    qimg = qimg.scaled(size, Qt.AspectRatioMode.KeepAspectRatio,
                       Qt.TransformationMode.SmoothTransformation)
    return qimg.convertToFormat(QImage.Format.Format_RGB32)  # what painting and PNGs use


class ThumbnailCache:
    """PNG thumbnails on disk, keyed by :func:`thumbnail_key`."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path(self, study: Study) -> Path:
        return self.directory / thumbnail_key(study)

    def load(self, study: Study) -> QImage | None:
        path = self.path(study)
        if not path.is_file():
            return None
        img = QImage(str(path))
        return None if img.isNull() else img

    def save(self, study: Study, image: QImage) -> bool:
        """Write atomically (temporary file, then rename); False when the cache is not writable."""
        path = self.path(study)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.png")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not image.save(str(tmp), "PNG"):
                tmp.unlink(missing_ok=True)
                return False
            os.replace(tmp, path)
            return True
        except OSError:
            return False


#: meshing threads still running after their gallery closed; waited for when the app quits
_RUNNING: set[QThread] = set()
_QUIT_HOOKED: list[QCoreApplication] = []


def _wait_for_mesh_threads() -> None:
    for thread in list(_RUNNING):
        thread.requestInterruption()
        thread.wait(10_000)


class MeshThread(QThread):
    """Meshes studies at their default parameters, one after another. No VTK here."""

    meshed = Signal(str, object)  # study id, MeshData
    failed = Signal(str, str)  # study id, message

    def __init__(self, studies: Sequence[Study]) -> None:
        super().__init__()
        self._studies = list(studies)
        _RUNNING.add(self)
        self.finished.connect(self._forget)
        app = QCoreApplication.instance()
        if app is not None and not any(a is app for a in _QUIT_HOOKED):
            app.aboutToQuit.connect(_wait_for_mesh_threads)
            _QUIT_HOOKED.append(app)

    def run(self) -> None:
        for study in self._studies:
            if self.isInterruptionRequested():
                return
            try:
                # a study may offer a picture mesh (an axisymmetric wall revolved into 3D)
                build = getattr(study, "thumbnail_mesh", None) or study.build_mesh
                mesh = build(study.spec.defaults())
            except Exception as exc:  # noqa: BLE001 - shown on the card, the gallery goes on
                self.failed.emit(study.spec.id, f"{type(exc).__name__}: {exc}")
            else:
                self.meshed.emit(study.spec.id, mesh)

    def _forget(self) -> None:
        _RUNNING.discard(self)
        self.deleteLater()


class ThumbnailProvider(QObject):
    """Thumbnails from the cache at once, the others meshed off-thread and rendered here."""

    ready = Signal(str, QImage)  # study id, thumbnail
    failed = Signal(str, str)  # study id, message

    def __init__(self, cache: ThumbnailCache, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self._studies: dict[str, Study] = {}
        self._thread: MeshThread | None = None
        self.from_cache = 0  # thumbnails found in the cache (tests check the second opening)
        self.rendered = 0

    def request(self, studies: Sequence[Study]) -> None:
        """Emit ``ready`` for each study: now when cached, later when meshed and rendered."""
        missing = []
        for study in studies:
            image = self.cache.load(study)
            if image is not None:
                self.from_cache += 1
                self.ready.emit(study.spec.id, image)
            else:
                self._studies[study.spec.id] = study
                missing.append(study)
        if missing:
            self._thread = MeshThread(missing)
            self._thread.meshed.connect(self._on_meshed)
            self._thread.failed.connect(self.failed)
            self._thread.start(QThread.Priority.LowPriority)

    def stop(self) -> None:
        """Stop meshing after the current study and drop what is still on its way (no wait)."""
        if self._thread is not None:
            try:
                self._thread.meshed.disconnect(self._on_meshed)
                self._thread.failed.disconnect(self.failed)
                self._thread.requestInterruption()
            except RuntimeError:  # already finished and deleted
                pass
            self._thread = None

    def _on_meshed(self, study_id: str, mesh: MeshData) -> None:
        study = self._studies.get(study_id)
        if study is None:
            return
        try:
            image = render_thumbnail(mesh)
        except Exception as exc:  # noqa: BLE001 - a card without a picture, not a crash
            self.failed.emit(study_id, f"the preview could not be drawn ({exc})")
            return
        self.rendered += 1
        self.cache.save(study, image)  # a read-only cache only costs the next opening time
        self.ready.emit(study_id, image)


# -- the cards ------------------------------------------------------------------------------------
class StudyCardDelegate(QStyledItemDelegate):
    """Paints a card: thumbnail (or a placeholder), bold title, two lines of description."""

    PAD = 8

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        line = QFontMetrics(option.font).lineSpacing()
        return QSize(THUMB_SIZE.width() + 2 * self.PAD,
                     THUMB_SIZE.height() + 3 * self.PAD + int(1.3 * line) + 2 * line)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = option.palette
        rect = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hover = bool(option.state & QStyle.StateFlag.State_MouseOver)
        highlight = pal.color(QPalette.ColorRole.Highlight)
        border = highlight if selected else highlight.lighter(150) if hover else QColor("#c8ced6")
        painter.setPen(QPen(border, 2 if selected else 1))
        painter.setBrush(QColor("white"))  # the thumbnails are rendered on white
        painter.drawRoundedRect(rect, 6, 6)

        pad = self.PAD
        thumb = QRect(rect.left() + pad - 3, rect.top() + pad - 3,
                      THUMB_SIZE.width(), THUMB_SIZE.height())
        if selected:  # tint the text part of the card
            tint = QColor(highlight)
            tint.setAlpha(35)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tint)
            painter.drawRect(rect.left() + 2, thumb.bottom() + 2, rect.width() - 3,
                             rect.bottom() - thumb.bottom() - 3)
        image = index.data(IMAGE_ROLE)
        if isinstance(image, QImage) and not image.isNull():
            x = thumb.left() + (thumb.width() - image.width()) // 2
            y = thumb.top() + (thumb.height() - image.height()) // 2
            painter.drawImage(x, y, image)
        else:
            state = index.data(STATE_ROLE) or "pending"
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#eef1f5"))
            painter.drawRoundedRect(thumb, 4, 4)
            painter.setPen(QColor("#8a94a3"))
            text = "Rendering preview \u2026" if state == "pending" else "No preview"
            painter.drawText(thumb, Qt.AlignmentFlag.AlignCenter, text)

        text_rect = QRect(rect.left() + pad, thumb.bottom() + pad,
                          rect.width() - 2 * pad, rect.bottom() - thumb.bottom() - pad)
        title_font = QFont(option.font)
        title_font.setBold(True)
        title_font.setPointSizeF(option.font.pointSizeF() * 1.1)
        tm = QFontMetrics(title_font)
        painter.setFont(title_font)
        painter.setPen(pal.color(QPalette.ColorRole.Text))
        title = tm.elidedText(index.data(Qt.ItemDataRole.DisplayRole) or "",
                              Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)

        painter.setFont(option.font)
        painter.setPen(QColor("#5a6270"))
        fm = QFontMetrics(option.font)
        y = text_rect.top() + tm.lineSpacing() + 2
        for line in _wrap(index.data(DESCRIPTION_ROLE) or "", fm, text_rect.width(), 2):
            painter.drawText(text_rect.left(), y + fm.ascent(), line)
            y += fm.lineSpacing()
        painter.restore()


def _wrap(text: str, fm: QFontMetrics, width: int, max_lines: int) -> list[str]:
    """Word-wrap ``text`` to ``max_lines`` lines of ``width`` pixels, eliding the last one."""
    words, lines, current = text.split(), [], ""
    while words and len(lines) < max_lines - 1:
        trial = f"{current} {words[0]}".strip()
        if fm.horizontalAdvance(trial) <= width or not current:
            current = trial
            words.pop(0)
        else:
            lines.append(current)
            current = ""
    rest = " ".join([current, *words]).strip()
    if rest:
        lines.append(fm.elidedText(rest, Qt.TextElideMode.ElideRight, width))
    return lines


class GalleryDialog(QDialog):
    """Choose a study. ``start=True`` makes it the start screen (Cancel reads 'Quit').

    ``study_chosen(id)`` is emitted *before* the dialog closes, so a start screen can show the
    main window first (the app would otherwise quit when its last window disappears).
    """

    study_chosen = Signal(str)

    def __init__(
        self,
        studies: Sequence[Study] | None = None,
        *,
        current: str | None = None,
        start: bool = False,
        cache_dir: Path | str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        if studies is None:
            from physapp.studies import list_studies

            studies = list_studies()
        self.studies = list(studies)
        self.current = current
        self.setWindowTitle("physapp \u2014 choose a study" if start else "New study")
        self.setSizeGripEnabled(True)

        heading = QLabel("<b>Choose a study</b>" if start else "<b>Open a study</b>")
        heading.setStyleSheet("font-size: 15px;")
        hint = QLabel("Double-click a study to open it at its default design"
                      + ("." if start else "; the current study and its result are closed."))
        hint.setStyleSheet("color: #5a6270;")

        self.list = QListWidget()
        self.list.setViewMode(QListWidget.ViewMode.IconMode)
        self.list.setMovement(QListWidget.Movement.Static)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWrapping(True)
        self.list.setSpacing(6)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMouseTracking(True)  # hover highlight
        self.list.setItemDelegate(StudyCardDelegate(self.list))
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        for study in self.studies:
            spec = study.spec
            title = spec.title + (" (open now)" if spec.id == current else "")
            item = QListWidgetItem(title)
            item.setData(ID_ROLE, spec.id)
            item.setData(DESCRIPTION_ROLE, spec.description)
            item.setData(STATE_ROLE, "pending")
            item.setToolTip(f"<b>{spec.title}</b> ({spec.id})<br>{spec.description}")
            self.list.addItem(item)
        self.list.doubleClicked.connect(lambda _index: self.accept())
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())

        self.status = QLabel("")
        self.status.setStyleSheet("color: #5a6270;")
        self.buttons = QDialogButtonBox()
        self.open_button = self.buttons.addButton("&Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setDefault(True)
        self.cancel_button = self.buttons.addButton(
            "&Quit" if start else "Cancel", QDialogButtonBox.ButtonRole.RejectRole
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        col = QVBoxLayout(self)
        col.addWidget(heading)
        col.addWidget(hint)
        col.addWidget(self.list, 1)
        col.addWidget(self.status)
        col.addWidget(self.buttons)

        # two cards a row (more columns on a wider window), at most three rows before scrolling
        card = StudyCardDelegate().sizeHint(QStyleOptionViewItem(), QModelIndex())
        card = QSize(card.width() + 2 * self.list.spacing() + 2, card.height())
        scrollbar = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        self.list.setMinimumWidth(2 * card.width() + scrollbar + 8)
        rows = min(3, max(1, (len(self.studies) + 1) // 2))
        self.list.setMinimumHeight(card.height() + 20)
        self.resize(2 * card.width() + scrollbar + 32, rows * (card.height() + 12) + 130)

        initial = next((i for i, s in enumerate(self.studies) if s.spec.id == current), 0)
        if self.studies:
            self.list.setCurrentRow(initial)
        self._update_buttons()

        self.pending = len(self.studies)
        self.provider = ThumbnailProvider(ThumbnailCache(cache_dir), self)
        self.provider.ready.connect(self._on_thumbnail)
        self.provider.failed.connect(self._on_thumbnail_failed)
        self._update_status()
        self.provider.request(self.studies)

    # -- public ---------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """True when every card has its thumbnail (or a 'No preview' placeholder)."""
        return self.pending == 0

    def selected_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else item.data(ID_ROLE)

    def select(self, study_id: str) -> None:
        item = self._find(study_id)
        if item is None:
            raise KeyError(study_id)
        self.list.setCurrentItem(item)

    def thumbnail(self, study_id: str) -> QImage | None:
        """The card's thumbnail, None while pending or when it failed."""
        item = self._find(study_id)
        if item is None:
            raise KeyError(study_id)
        image = item.data(IMAGE_ROLE)
        return image if isinstance(image, QImage) else None

    def show_message(self, text: str, level: str = "error", tag: str = "") -> None:
        """Report a problem in the dialog (the app's exception hook uses this on the start screen)."""
        colour = {"error": "#b00", "warning": "#8a6d00"}.get(level, "#5a6270")
        self.status.setStyleSheet(f"color: {colour};")
        self.status.setText(text)

    def accept(self) -> None:
        study_id = self.selected_id()
        if study_id is None:
            return
        self.provider.stop()
        self.study_chosen.emit(study_id)
        super().accept()

    def reject(self) -> None:
        self.provider.stop()
        super().reject()

    # -- slots ----------------------------------------------------------------------------------
    def _update_buttons(self) -> None:
        self.open_button.setEnabled(self.list.currentItem() is not None)

    def _update_status(self) -> None:
        n = len(self.studies)
        if self.pending:
            self.status.setText(f"Preparing previews \u2026 ({n - self.pending} of {n})")
        else:
            self.status.setText(f"{n} stud{'y' if n == 1 else 'ies'} available")

    def _find(self, study_id: str) -> QListWidgetItem | None:
        return next((self.list.item(r) for r in range(self.list.count())
                     if self.list.item(r).data(ID_ROLE) == study_id), None)

    def _on_thumbnail(self, study_id: str, image: QImage) -> None:
        item = self._find(study_id)
        if item is None or item.data(STATE_ROLE) != "pending":
            return
        item.setData(IMAGE_ROLE, image)
        item.setData(STATE_ROLE, "ready")
        self.pending -= 1
        self._update_status()

    def _on_thumbnail_failed(self, study_id: str, message: str) -> None:
        item = self._find(study_id)
        if item is None or item.data(STATE_ROLE) != "pending":
            return
        item.setData(STATE_ROLE, message)
        item.setToolTip(item.toolTip() + f"<br><i>No preview: {message}</i>")
        self.pending -= 1
        self._update_status()

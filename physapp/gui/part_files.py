"""Opening imported parts: File > Open... and Open Recent, drag and drop, remeshing, and the
part's state in a session file (reopened ready to solve). Files are read off the GUI thread
(:class:`~physapp.gui.open_file.FileOpener`); on success the window switches to an
:class:`~physapp.studies.imported.ImportedPartStudy`, on failure a dialog says why and the current
study stays. A mixin of :class:`~physapp.gui.part_controller.PartController`."""

from __future__ import annotations

import copy
import html
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QMenu,
    QMessageBox,
)

from physapp.core.errors import ParameterError
from physapp.core.mesh import MeshData
from physapp.gui.open_file import (
    FILE_FILTER,
    ImportOptions,
    OpenedPart,
)
from physapp.gui.part_tasks import (
    BoundaryFacets,
    PartInfo,
    drop_load_parameters,
    make_part_study,
    with_region,
)
from physapp.studies.imported import PartSetup


class PartFilesMixin:
    """PartController's file opening and session state (see the module docstring)."""

    def add_file_actions(self, menu: QMenu) -> None:
        """File > Open... and File > Open Recent."""
        self.open_action = self.window.actions.add("file.open", menu, "&Open\u2026",
                                                  self.open_dialog, "Ctrl+O")
        self.open_action.setToolTip("Open a mesh or CAD file (Ctrl+O); you can also drop a file "
                                    "on the window")
        self.recent_menu = QMenu("Open &Recent", menu)  # Python-made: see window_menus.python_menu
        menu.addMenu(self.recent_menu)
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()

    def drag_enter(self, event: QDragEnterEvent) -> None:
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def drop(self, event: QDropEvent) -> None:
        files = _local_files(event.mimeData())
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        if len(files) > 1:
            self.window.show_message(f"Opening {Path(files[0]).name}: one file at a time.",
                                     "info", "open")
        # after the drop returns: the drag source is not kept waiting for the dialogs
        QTimer.singleShot(0, lambda: self.open_file(files[0]))

    def open_dialog(self) -> None:
        """File > Open...: choose a file (the dialog starts in the last file's folder)."""
        recent = self.recent.paths()
        start = str(Path(recent[0]).parent) if recent else str(Path.cwd())
        path, _ = QFileDialog.getOpenFileName(self.window, "Open a mesh or CAD file", start,
                                              FILE_FILTER)
        if path:
            self.open_file(path)

    def open_file(self, path: str | Path, options: ImportOptions | None = None) -> None:
        """Read ``path`` off the GUI thread and show it as the window's study when it is read;
        CAD and surface files first ask their unit and element size (unless ``options``).
        A session file (``.physapp``) is opened as a session."""
        if str(path).lower().endswith(".physapp"):
            self.window.sessions.ask_and_open(path)
            return
        # the file replaces the part on screen: an unsaved set-up is offered for saving (#13)
        self.window.close_guard.ask_then(lambda: self._read(path, options), "Save it as a "
                                         f"session before opening {Path(path).name}?")

    def _read(self, path: str | Path, options: ImportOptions | None) -> None:
        self.window.statusBar().showMessage(f"Opening {Path(path).name} \u2026")
        self.opener.open(path, options)

    def remesh(self) -> None:
        """Mesh the CAD part again with options asked in the import dialog (starting from the
        current ones); the set-up comes back on the new mesh (as reopening a part does)."""
        if self.info is None:
            return
        self._memory[self.info.path] = self.part_state()
        info = self.info
        self.opener.open(info.path, initial=ImportOptions(
            info.length_unit, info.element_size, info.order, list(info.refine), info.curvature))

    def set_read_runner(self, runner) -> None:
        """Read files in ``runner`` (tests share one warm reading process between windows)."""
        self.opener.set_runner(runner)

    def _on_opened(self, opened: OpenedPart) -> None:
        pending, self._pending = self._pending, None
        opts = opened.options
        info = PartInfo(str(Path(opened.path).resolve()), opened.report,
                        opts.length_unit, opts.element_size, int(opts.order or 1),
                        list(opts.refine or []), float(opts.curvature or 0.0))
        if self.study is not None:
            self._remember()
        mesh, setup, notes = opened.mesh, PartSetup(), []
        level = "info"
        if opened.deck is not None:  # a CalculiX/Abaqus deck brings its set-up
            deck = opened.deck
            if pending is None and opened.deck_setup is not None:
                try:
                    setup = PartSetup.from_dict(opened.deck_setup)
                except ParameterError as exc:
                    notes.append(f"The deck's set-up could not be used: {exc}")
            notes.append(f"Deck: {setup.physics}, {len(setup.supports)} support(s), "
                         f"{len(setup.loads)} load(s).")
            if deck.unsupported:
                level = "warning"
                notes.append("Unsupported keywords (not applied): " + ", ".join(
                    f"*{k} (line {v})" for k, v in deck.unsupported.items()) + ".")
            if deck.ignored:
                notes.append("Ignored: " + "; ".join(deck.ignored) + ".")
            notes += list(deck.notes)
        if pending is None and info.path in self._memory:  # opened before: same set-up
            pending = self._memory[info.path]
            notes.append(f"The set-up you made for {Path(info.path).name} is back (supports, "
                         "loads, picked regions and sliders).")
        if pending is not None:
            mesh, setup, notes = self._restored(pending, mesh, info, notes)
        try:
            study = make_part_study(mesh, setup, info)
        except ParameterError as exc:  # a session set-up that no longer fits: start afresh
            notes.append(f"The saved set-up could not be used: {exc}")
            study = make_part_study(mesh, PartSetup(), info)
        self.study = None  # the window's hook adopts it as a new part
        self.window.set_study(study)
        self.recent.add(opened.path)
        self._fill_recent_menu()
        self.window.statusBar().showMessage(
            f"Opened {Path(opened.path).name}: {mesh.n_points:,} nodes, "
            f"{len(mesh.boundaries)} regions", 8000)
        if notes:
            if any("could not" in n or "left out" in n for n in notes):
                level = "warning"
            self.window.show_message(" ".join(notes), level, "open")
        self.part_opened.emit(info.path)

    def _on_failed(self, path: str, message: str) -> None:
        self._pending = None
        self.window.statusBar().showMessage(f"Could not open {Path(path).name}", 8000)
        if not Path(path).exists():
            self.recent.remove(str(Path(path).resolve()))
            self._fill_recent_menu()
        if self.error_dialog is not None:
            self.error_dialog.deleteLater()
        box = QMessageBox(QMessageBox.Icon.Warning, "Could not open the file",
                          f"<b>{html.escape(Path(path).name)}</b> could not be opened.",
                          QMessageBox.StandardButton.Ok, self.window)
        box.setInformativeText(message)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()  # window-modal, does not block: the current study stays as it was
        self.error_dialog = box
        self.open_failed.emit(message)

    def _on_cancelled(self, path: str) -> None:
        self._pending = None
        self.window.statusBar().showMessage(f"Opening {Path(path).name} cancelled", 5000)

    def _fill_recent_menu(self) -> None:
        menu = self.recent_menu
        if menu is None:
            return
        menu.clear()
        paths = self.recent.paths()
        for k, p in enumerate(paths, 1):
            act = menu.addAction(f"&{k}  {Path(p).name}")
            act.setToolTip(p)
            act.setStatusTip(p)
            act.setData(p)
            act.triggered.connect(lambda _=False, p=p: self.open_file(p))
        if not paths:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear the list", lambda: (self.recent.clear(),
                                                      self._fill_recent_menu()))
        menu.setToolTipsVisible(True)

    # -- session --------------------------------------------------------------------------------
    def part_state(self) -> dict:
        """JSON-able state that reopens the part ready to solve ({} when no part is shown)."""
        if self.study is None or self.info is None:
            return {}
        return {
            "file": self.info.path,
            "length_unit": self.info.length_unit,
            "element_size": self.info.element_size,
            "order": self.info.order,
            "refine": copy.deepcopy(self.info.refine),
            "curvature": self.info.curvature,
            "selector_regions": copy.deepcopy(self.info.selected),
            "picked_regions": {
                name: {"facets": np.asarray(r["facets"]).tolist(), "seeds": r["seeds"],
                       "feature_angle": r["feature_angle"]}
                for name, r in self.info.picked.items()},
            "setup": copy.deepcopy(self.setup.as_dict()),
            "values": dict(self._last_values),
        }

    def _remember(self) -> None:
        state = self.part_state()
        if state and (state["setup"]["supports"] or state["setup"]["loads"]
                      or state["picked_regions"]):
            self._memory[state["file"]] = state

    def restore_part_state(self, state: dict) -> None:
        """Reopen a part from :meth:`part_state` (asynchronously: ``part_opened`` is emitted when
        it is on screen; a file that cannot be read shows the error as any open does)."""
        self.opener.cancel()  # a previous open (or restore) is superseded
        self._pending = copy.deepcopy(dict(state))
        self.opener.open(state["file"], ImportOptions(
            state.get("length_unit"), state.get("element_size"), int(state.get("order") or 1),
            list(state.get("refine") or []), float(state.get("curvature") or 0.0)))

    def _restored(self, state: dict, mesh: MeshData, info: PartInfo, notes: list[str]):
        picked = state.get("picked_regions", {})
        facets = BoundaryFacets(mesh) if picked else None  # array work only when needed
        for name, r in picked.items():
            rows = np.asarray(r.get("facets", []), dtype=np.int64)
            ok = len(rows) and rows.max() < mesh.n_points and np.all(facets.index_of(rows) >= 0)
            if not ok:  # the file was remeshed differently: grow the faces again from the clicks
                sel = np.zeros(0, dtype=np.int64)
                for seed in r.get("seeds", []):
                    i = facets.facet_at(seed)
                    if i >= 0:
                        sel = np.union1d(sel, facets.grow(i, r.get("feature_angle", 30.0)))
                if len(sel) == 0:
                    notes.append(f"The picked region '{name}' could not be restored.")
                    continue
                rows = facets.region_array(sel)
            if name in mesh.boundaries:
                continue
            mesh = with_region(mesh, name, rows)
            info.picked[name] = {"facets": rows, "seeds": r.get("seeds", []),
                                 "feature_angle": r.get("feature_angle", 30.0)}
        for name, spec in (state.get("selector_regions") or {}).items():
            from physapp.core.regions import select
            from physapp.core.regions import with_region as add_region

            if name in mesh.boundaries or name in mesh.edges or name in mesh.point_sets:
                continue
            try:
                mesh = add_region(mesh, name, select(mesh, spec))
            except ParameterError as exc:
                notes.append(f"The selector region '{name}' could not be restored: {exc}")
                continue
            info.selected[name] = dict(spec)
        setup = PartSetup.from_dict(state.get("setup", {}))
        missing = {i.get("region") for i in (*setup.supports, *setup.loads)
                   if i.get("region") is not None} - {*mesh.boundaries, *mesh.edges,
                                                      *mesh.point_sets, *mesh.subdomains}
        if missing:
            notes.append(f"Supports and loads on missing regions were left out: "
                         f"{', '.join(sorted(missing))}.")
            keep = [k for k, ld in enumerate(setup.loads) if ld.get("region") not in missing]
            for k in reversed(range(len(setup.loads))):
                if k not in keep:
                    del setup.loads[k]
                    drop_load_parameters(setup, k)
            setup.supports = [s for s in setup.supports if s.get("region") not in missing]
        values = state.get("values", {})
        for p in setup.parameters:  # the sliders start where the session left them
            v = values.get(p["name"])
            if v is not None and p["lower"] <= v <= p["upper"]:
                p["default"] = float(v)
        return mesh, setup, notes

def _local_files(mime) -> list[str]:
    if mime is None or not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile() and Path(u.toLocalFile())
            .is_file()]


def _report_of(mesh: MeshData):
    from physapp.io.readers import ImportReport

    lo, hi = mesh.bounds()
    return ImportReport("", "mesh", mesh.n_points, mesh.cell_counts(), mesh.dim,
                        {k: len(v) for k, v in mesh.boundaries.items()},
                        {k: len(v) for k, v in mesh.subdomains.items()},
                        (tuple(map(float, lo)), tuple(map(float, hi))), mesh.length_unit)

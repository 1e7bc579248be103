"""The 'Regions' box of the Part set-up panel: every region of the part with its kind, size,
centroid and normal (measured on a worker thread), filtered to those the selected support or load
accepts, and typed geometric selectors that make new regions. A mixin of
:class:`~physapp.gui.part_panel.PartPanel`."""

from __future__ import annotations

import html
import threading
from pathlib import Path

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QTableWidgetItem

from physapp.core.mesh import MeshData
from physapp.gui.part_tasks import (
    KIND_WORDS,
    LOAD_KINDS,
    UNIT_TO_M,
    allowed_kinds,
    quick_region_rows,
    region_rows,
    region_size_text,
)


class RegionListMixin:
    """PartPanel's region list and selector entry (see the module docstring)."""

    def display_unit(self) -> str:
        """The unit lengths are shown in (mm for STEP/IGES, else the file's unit)."""
        info = self.ctl.info
        if Path(info.path).suffix.lower() in (".step", ".stp", ".iges", ".igs"):
            return "mm"
        return info.report.length_unit if info.report.length_unit in UNIT_TO_M else "m"

    def region_info(self) -> list[dict]:
        """:func:`~physapp.gui.part_tasks.region_rows` of the current mesh (cached per mesh).

        Sizes and centroids are measured on a worker thread (a tenth of a second per 10k
        nodes); until they arrive the rows carry names and kinds only (``size`` None)."""
        mesh = self.ctl.mesh
        if self._region_cache is not None and self._region_cache[0] is mesh:
            return self._region_cache[1]
        if self._region_job is None or self._region_job[1] is not mesh:
            self._region_job = (self._region_job[0] + 1 if self._region_job else 1, mesh)
            threading.Thread(target=_describe_worker,
                             args=(self.region_relay, self._region_job[0], mesh,
                                   self.display_unit()),
                             name="physapp-regions", daemon=True).start()
        return quick_region_rows(mesh)

    @property
    def regions_ready(self) -> bool:
        """True once the region list shows sizes and centroids of the current mesh."""
        return self._region_cache is not None and self._region_cache[0] is self.ctl.mesh

    def _on_regions(self, job: int, rows) -> None:
        if self._region_job is None or self._region_job[0] != job:
            return
        mesh = self._region_job[1]
        self._region_job = None
        if mesh is not self.ctl.mesh:
            return
        self._region_cache = (mesh, rows)
        self.refresh_regions()
        combo = getattr(self, "region_combo", None)
        if combo is not None:
            try:
                kinds = {r["name"]: r for r in rows}
                unit = self.display_unit()
                for k in range(combo.count()):
                    r = kinds.get(combo.itemData(k))
                    if r is not None:
                        combo.setItemText(k, f"{r['name']}  ({r['kind']}, "
                                             f"{region_size_text(r, unit)})")
            except RuntimeError:  # the editor was rebuilt meanwhile
                pass

    def _region_hovered(self, row: int, _col: int = 0) -> None:
        if 0 <= row < len(self._region_rows):
            self.ctl.region_hover.show(self._region_rows[row]["name"])

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt API
        kind = event.type()
        if (kind == QEvent.Type.Leave and obj is self.region_table.viewport()) or (
                kind == QEvent.Type.Hide and self._is_combo_view(obj)):
            self.ctl.region_hover.show(None)  # the mouse left the list, or the list closed
        return False

    def _is_combo_view(self, obj) -> bool:
        combo = getattr(self, "region_combo", None)
        try:
            return combo is not None and obj is combo.view()
        except RuntimeError:  # the editor was rebuilt: the combo is gone
            return False

    def shown_kinds(self) -> set[str] | None:
        """Region kinds the selected support or load accepts (None: nothing selected)."""
        sel = self.selected()
        if sel is None:
            return None
        setup = self.ctl.setup
        what = "support" if sel[0] == "support" else setup.loads[sel[1]]["kind"]
        return allowed_kinds(setup.physics, what)

    def refresh_regions(self) -> None:
        """The region list: every region, or those the selected support or load accepts."""
        if self.ctl.mesh is None:
            return
        ok = self.shown_kinds()
        rows = [r for r in self.region_info()
                if not r["name"].startswith("_") and (ok is None or r["use"] in ok)]
        sel = self.selected()
        if ok is None:
            self.region_filter.setText(f"All {len(rows)} regions. Select a support or load to "
                                       "list those it accepts.")
        else:
            what = "support" if sel[0] == "support" else \
                LOAD_KINDS[self.ctl.setup.physics][self.ctl.setup.loads[sel[1]]["kind"]][0]
            words = ", ".join(sorted({KIND_WORDS[k] if not (k == "boundary" and
                                                            self.ctl.mesh.dim == 2) else "edge"
                                      for k in ok}))
            self.region_filter.setText(f"{len(rows)} region(s) a <b>{html.escape(what)}</b> "
                                       f"accepts ({words}); double-click one to use it.")
        unit = self.display_unit()
        f = 1.0 / UNIT_TO_M[unit]
        self._region_rows = rows
        t = self.region_table
        t.blockSignals(True)
        t.setRowCount(len(rows))
        dim = max(self.ctl.mesh.dim, 2)
        for i, r in enumerate(rows):
            if r["size"] is None:  # being measured
                for c, text in enumerate((r["name"], r["kind"], "\u2026", "\u2026", "")):
                    t.setItem(i, c, QTableWidgetItem(text))
                continue
            cen = ", ".join(f"{v * f:.3g}" for v in r["centroid"][:dim])
            normal = "" if r["normal"] is None else ", ".join(
                f"{v:.3g}" for v in r["normal"][:dim])
            for c, text in enumerate((r.get("label") or r["name"], r["kind"],
                                      region_size_text(r, unit), cen, normal)):
                t.setItem(i, c, QTableWidgetItem(text))
            t.item(i, 0).setToolTip(f"Region name: {r['name']}")
        t.setHorizontalHeaderLabels(["Region", "Kind", "Size", f"Centroid ({unit})", "Normal"])
        t.resizeRowsToContents()
        t.blockSignals(False)

    def _test_selector(self) -> None:
        self.ctl.match_selector(self.selector_edit.text())

    def show_selector_report(self, message: str, ok: bool) -> None:
        color = "#080" if ok else "#b00"
        self.selector_report.setText(f"<span style='color:{color}'>"
                                     f"{html.escape(message)}</span>")

    def _create_selector_region(self) -> None:
        error = self.ctl.create_selector_region(self.selector_name.text().strip(),
                                                self.selector_edit.text())
        if error:
            self.show_selector_report(error, False)

    def _region_row_selected(self) -> None:
        rows = self.region_table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self._region_rows) and not self.ctl.pick_mode:
            self.ctl.clear_match()
            self.ctl.highlight(self._region_rows[rows[0].row()]["name"])

    def _region_double_clicked(self, row: int, _col: int) -> None:
        """Use the region for the selected support or load."""
        if self.selected() is None or row >= len(self._region_rows):
            return
        name = self._region_rows[row]["name"]
        k = self.region_combo.findData(name)
        if k >= 0:
            self.region_combo.setCurrentIndex(k)

def _describe_worker(relay, job: int, mesh: MeshData, unit: str | None = None) -> None:
    """Worker thread: measure every region (kind, size, centroid, normal)."""
    try:
        relay.send_result(job, region_rows(mesh, unit))
    except Exception as exc:  # noqa: BLE001 - the list keeps names and kinds
        relay.send_error(job, str(exc))

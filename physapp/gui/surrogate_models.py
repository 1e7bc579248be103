"""The model selector of the Prediction source box: the models of the current study (built-in,
saved, opened, newly trained), their labels and tooltips (kind, held-out error), loading one on a
worker thread when it is first selected, and the uncertainty toggle. A mixin of
:class:`~physapp.gui.surrogate_panel.SurrogateController`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from physapp.gui.prediction import LoadedModel
from physapp.gui.surrogate_files import (
    ModelEntry,
    builtin_model_dirs,
    peek_header,
    saved_models_dir,
)
from physapp.gui.train_dialog import pct as _pct

REFERENCE_ONLY = "Reference solver only"
#: where each kind of entry comes from, as shown in the combo box
SOURCES = {"built-in": "built-in", "saved": "saved", "file": "file", "new": "new"}


class ModelListMixin:
    """SurrogateController's model selector (see the module docstring)."""

    def _param_names(self) -> list[str]:
        return [p.name for p in self.window.spec.parameters]

    def _scan(self, study_id: str) -> None:
        """Collect the built-in and saved models of ``study_id`` (headers read without torch)."""
        keep = [e for e in self.entries if e.source in ("file", "new")
                and (e.loaded.summary.study_id if e.loaded else "") == study_id]
        self.entries, self.study_id = [], study_id
        seen: set[str] = set()
        for source, folders in (("built-in", builtin_model_dirs(study_id)),
                                ("saved", [saved_models_dir(study_id)])):
            files: list[Path] = []
            for folder in folders:
                if folder.is_dir():
                    files.extend(sorted(folder.glob("*.pt")))
            if source == "saved":
                files.sort(key=lambda f: f.stat().st_mtime, reverse=True)
            for f in files:
                key = str(f.resolve())
                if key in seen:
                    continue
                seen.add(key)
                header = peek_header(f)
                if header is not None and header.get("info", {}).get("study_id") not in (
                        None, study_id):
                    continue  # a stray model of another study
                self.entries.append(ModelEntry(key, source, f, header))
        self.entries.extend(e for e in keep if e.key not in seen)

    def _entry(self, key: str) -> ModelEntry | None:
        return next((e for e in self.entries if e.key == key), None)

    def _fill_combo(self) -> None:
        if self.group is None:
            return
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItem(REFERENCE_ONLY, "")
        self.combo.setItemData(0, "Sliders show a geometry preview; F5 solves the design with "
                               "the finite-element reference solver.", Qt.ItemDataRole.ToolTipRole)
        for e in self.entries:
            self.combo.addItem(self._label(e), e.key)
            self.combo.setItemData(self.combo.count() - 1, self._tooltip(e),
                                   Qt.ItemDataRole.ToolTipRole)
        self.combo.blockSignals(False)
        self._set_combo(self.selected_key)

    def _refresh_labels(self) -> None:
        if self.group is not None and not self._closed:
            self._fill_combo()
            self._show_info()

    def _set_combo(self, key: str) -> None:
        if self.group is None:
            return
        index = max(self.combo.findData(key), 0)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)
        self.combo.setToolTip(self.combo.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")

    def _field_error(self, metrics: Mapping[str, Any]) -> tuple[str, float] | None:
        """(field label, held-out relative error) of the field on screen, else the mean."""
        fields = metrics.get("fields") or {}
        name, label = self._shown_field()
        entry = fields.get(name.partition("[")[0])
        if isinstance(entry, Mapping) and isinstance(entry.get("rel_l2"), (int, float)):
            return label, float(entry["rel_l2"])
        err = metrics.get("rel_l2_mean")
        return ("mean", float(err)) if isinstance(err, (int, float)) else None

    def _shown_field(self) -> tuple[str, str]:
        """(name, label) of the window's field (``app.view.field``)."""
        name, label, _unit = self.window.field
        return name, label

    def _label(self, e: ModelEntry) -> str:
        text = f"{e.kind} ({SOURCES.get(e.source, e.source)})"
        err = self._field_error(e.metrics)
        if err is not None:
            text += f", held-out error {_pct(err[1])}"
        return text

    def _tooltip(self, e: ModelEntry) -> str:
        m = e.metrics
        lines = [f"{e.kind} surrogate ({SOURCES.get(e.source, e.source)})"]
        if e.path is not None:
            lines.append(f"File: {e.path}")
        info = e.loaded.summary if e.loaded else None
        names = info.param_names if info else tuple((e.header or {}).get("info", {}).get(
            "param_names", ()))
        bounds = info.bounds if info else tuple((e.header or {}).get("info", {}).get(
            "bounds", ()))
        spec = self.window.spec
        varied = []
        for name, b in zip(names, bounds, strict=False):
            try:
                p = spec.parameter(name)
                varied.append(f"{p.label} {b[0] * p.scale:.4g} \u2013 {b[1] * p.scale:.4g} "
                              f"{p.shown_unit}".rstrip())
            except Exception:  # noqa: BLE001 - a name this study does not know
                varied.append(name)
        if varied:
            lines.append("Trained range: " + "; ".join(varied))
        fields = m.get("fields") or {}
        if fields:
            n_test = m.get("n_test")
            head = "Held-out error (relative L2" + (f", {n_test} designs" if n_test else "") + ")"
            parts = [f"{k} {_pct(float(v.get('rel_l2', 0.0)))}" for k, v in fields.items()]
            lines.append(f"{head}: mean {_pct(float(m.get('rel_l2_mean', 0.0)))}")
            lines.append("  " + ", ".join(parts))
        if "coverage95" in m:
            lines.append(f"95 % interval coverage on held-out designs: {m['coverage95']:.2f}")
        if "n_train" in m:
            lines.append(f"Trained on {m['n_train']} designs in {m.get('train_time_s', 0):.1f} s"
                         + (f"; predicts in {m['latency_ms']:.1f} ms" if "latency_ms" in m
                            else ""))
        if not fields and not m:
            lines.append("No held-out metrics stored.")
        return "\n".join(lines)

    def _show_info(self) -> None:
        if self.group is None:
            return
        e = self._entry(self.selected_key) if self.selected_key else None
        if e is None:
            self.info_label.setText("Sliders show a geometry preview; F5 solves the design with "
                                    "finite elements.")
            self.uncertainty_check.setEnabled(False)
            return
        if e.loaded is None:
            self.info_label.setText(f"Loading the {e.kind} surrogate \u2026")
            self.uncertainty_check.setEnabled(False)
            return
        s = e.loaded.summary
        m = s.metrics
        spec = self.window.spec
        design = [p.name for p in spec.parameters if not p.discretization]
        if set(design) <= set(s.param_names):
            varies = "all design parameters"
        else:
            labels = []
            for n in s.param_names:
                try:
                    labels.append(spec.parameter(n).label)
                except Exception:  # noqa: BLE001 - a name the study does not know
                    labels.append(n)
            varies = ", ".join(labels)
        text = (f"{s.kind} varies {varies}; {s.n_points:,} nodes"
                + (", geometry predicted" if s.coords_vary else "") + ".")
        err = self._field_error(m)
        if err is not None:
            text += f" Held-out error: {err[0]} {_pct(err[1])}"
            if err[0] != "mean" and isinstance(m.get("rel_l2_mean"), (int, float)):
                text += f" (all fields {_pct(m['rel_l2_mean'])})"
            if m.get("n_test"):
                text += f", {m['n_test']} designs"
            text += "."
        self.info_label.setText(text)
        self.uncertainty_check.setEnabled(s.uncertainty)
        self.uncertainty_check.setToolTip(
            "Show the model's standard deviation of the selected field instead of the field"
            if s.uncertainty else f"A {s.kind} model gives no uncertainty (pod-gp and pod-mlp do)")

    def _activate(self, entry: ModelEntry) -> None:
        self.current = entry
        self._last_applied_id = 0
        self.out_of_range = []
        self.window.message_bar.clear("surrogate")
        s = entry.loaded.summary
        for notice in s.notices:
            if notice not in self._notices:
                self._notices.add(notice)
                self.window.statusBar().showMessage(notice, 15000)
        self._status(f"Surrogate {s.kind} selected: the sliders now update its prediction")
        self.request_prediction()

    def _drop_current(self) -> None:
        if self.showing:
            self._restore_info()
        self.current = None
        self.showing = False
        self._pending = None
        self.last_prediction = None
        w = self.window
        w.message_bar.clear("surrogate-range")
        w.message_bar.clear("surrogate")
        self.out_of_range = []
        if w.viewport is not None:
            w.viewport.set_caption("")
        w.show_device()
        w.device_label.setToolTip("Compute device for surrogates (File > Settings..., Ctrl+,)")

    def _restore_info(self) -> None:
        if self._saved_info is not None:
            self.window.info_label.setText(self._saved_info)
            self._saved_info = None

    def _on_loaded(self, load_id: int, key: str, loaded: LoadedModel) -> None:
        if self._loading.get(key) != load_id:
            return
        del self._loading[key]
        if loaded.summary.study_id != self.model_study_id():
            return  # the study changed meanwhile
        entry = self._entry(key)
        if entry is None:  # File > Load: it passed the loader's checks
            entry = ModelEntry(key, "file", Path(key))
            self.entries.append(entry)
        entry.loaded = loaded
        # a mesh-agnostic model of a topology-changing study meshes each design with the study's
        # own mesher (gmsh, on the prediction worker), so topology sliders work (#19)
        from physapp.surrogates.meshers import attach_study_mesher

        attach_study_mesher(loaded.model)
        self._fill_combo()
        if entry.source == "file" or key == self.selected_key:
            self.selected_key = key
            self._set_combo(key)
            self._show_info()
            self._activate(entry)

    def _on_load_failed(self, load_id: int, key: str, message: str) -> None:
        if self._loading.get(key) != load_id:
            return
        del self._loading[key]
        self.window.show_message(f"Cannot use this surrogate: {message}", "error", "surrogate")
        if key == self.selected_key:  # back to what was in use
            self.selected_key = self.current.key if self.current is not None else ""
            self._set_combo(self.selected_key)
            self._show_info()

    def _frame_has(self, field: tuple[str, str, str]) -> bool:
        """True when the frame on screen has ``field`` (a partial one may not)."""
        p = self.last_prediction
        return p is not None and field[0].partition("[")[0] in p.result.point_data

    def _on_combo(self, index: int) -> None:
        self.select(self.combo.itemData(index) or "")

    def _on_uncertainty_toggled(self, on: bool) -> None:
        self._uncertainty_on = on
        if self.showing and not self._frame_has(self.display_field()):
            self._refresh_caption()
            self.request_prediction()
        elif self.showing:
            self._refresh_caption()
            self.window.viewport.set_field(self.display_field())
        elif on and self.current is not None:
            self.request_prediction()  # the uncertainty belongs to a prediction: show one

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 8000)

"""Surrogate-versus-reference numbers under the split (compare) view.

:func:`compare_metrics` is plain numpy (any thread): per field the relative L2 error and the largest
error over the reference solver's nodes (the surrogate interpolated there, see
:func:`physapp.solvers.interpolate.field_difference`), and the study's key quantities (peak von
Mises stress, largest displacement, peak temperature, ...) of both results with their difference
and the surrogate's standard deviation where the model gives one. :class:`MetricsPanel` shows them.

Key quantities of a prediction are computed from its own nodal fields with the reference solver's
definitions (``peak_von_mises`` = largest nodal von Mises stress, ``max_displacement`` = largest
nodal displacement magnitude, ``peak_temperature`` / ``min_temperature``, from
:mod:`physapp.core.quantities`), the study's ``field_quantities`` that the prediction computed
with it, then the study's ``derived_quantities`` (e.g. the heat sink's thermal resistance) with
the uncertainty propagated. Quantities that need solver
output a surrogate does not predict (heat rates through a boundary) are left empty for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from physapp.core.quantities import FROM_FIELDS, key_unit, magnitude
from physapp.core.results import FieldResult
from physapp.viz.grids import display_unit, key_label

DerivedFn = Callable[[Mapping[str, float], Mapping[str, float]], Mapping[str, float]]


def key_quantities_of(result: FieldResult) -> tuple[dict[str, float], dict[str, float]]:
    """Key quantities computed from ``result``'s nodal fields, and the standard deviation of each
    at its node where the result has ``<field>_std`` (a vector magnitude's std is linearised:
    ``sqrt(sum (u_i / |u|)^2 std_i^2)``)."""
    values: dict[str, float] = {}
    stds: dict[str, float] = {}
    for name, (field, how) in FROM_FIELDS.items():
        if field not in result.point_data:
            continue
        arr = np.asarray(result.point_data[field], dtype=np.float64)
        mag = magnitude(arr)
        i = int(np.argmax(mag) if how == "max" else np.argmin(mag))
        values[name] = float(mag[i])
        std = result.point_data.get(f"{field}_std")
        if std is None:
            continue
        s = np.asarray(std, dtype=np.float64)[i]
        if arr.ndim == 1:
            stds[name] = float(abs(s))
        else:
            norm = float(mag[i])
            w = arr[i] / norm if norm > 0 else np.full(arr.shape[1], 1 / np.sqrt(arr.shape[1]))
            stds[name] = float(np.sqrt(np.sum((w * s) ** 2)))
    return values, stds


def _derived(derived: DerivedFn | None, params: Mapping[str, float], kq: dict[str, float],
             stds: dict[str, float]) -> None:
    """Add the study's derived quantities to ``kq`` and propagate ``stds`` to them (first order,
    one perturbation per base quantity, combined in quadrature)."""
    if derived is None or not kq:
        return
    try:
        base = dict(derived(params, kq))
    except Exception:  # noqa: BLE001 - e.g. a derived quantity needs a value a surrogate lacks
        return
    kq.update(base)
    var = dict.fromkeys(base, 0.0)
    for name, s in list(stds.items()):
        if s <= 0 or name not in kq:
            continue
        try:
            moved = dict(derived(params, {**kq, name: kq[name] + s}))
        except Exception:  # noqa: BLE001
            continue
        for d in base:
            var[d] += (moved.get(d, base[d]) - base[d]) ** 2
    for d, v in var.items():
        if d not in stds and any(s > 0 for s in stds.values()):
            stds[d] = float(np.sqrt(v))


def compare_metrics(surrogate: FieldResult, reference: FieldResult, on_reference: FieldResult,
                    *, key_names: Sequence[str] = (), derived: DerivedFn | None = None,
                    n_outside: int = 0, interpolated: bool = True) -> dict[str, Any]:
    """Surrogate versus reference (SI units).

    ``on_reference``: the surrogate's fields at the reference nodes (same mesh as
    ``reference``). Returns ``{"fields": {name: {"rel_l2", "max_abs", "unit"}},
    "key_quantities": {name: {"surrogate", "reference", "difference", "relative", "std",
    "unit"}}, "n_nodes", "n_outside", "interpolated"}``; ``rel_l2`` is
    ``||S - R||_2 / ||R||_2`` over all reference nodes and components, ``max_abs`` the largest
    ``|S - R|`` (for vectors the length of the difference vector), ``difference`` is ``S - R``,
    ``relative`` ``(S - R) / |R|``, and ``std`` the surrogate's standard deviation (None when
    the model gives none, or the quantity comes from solver output it does not predict).
    """
    fields: dict[str, dict[str, Any]] = {}
    for name, ref in reference.point_data.items():
        if name.endswith("_std") or name not in on_reference.point_data:
            continue
        r = np.asarray(ref, dtype=np.float64)
        s = np.asarray(on_reference.point_data[name], dtype=np.float64)
        if r.shape != s.shape:
            continue
        diff = s - r
        norm = float(np.linalg.norm(r))
        fields[name] = {
            "rel_l2": float(np.linalg.norm(diff) / norm) if norm > 0 else float("nan"),
            "max_abs": float(magnitude(diff).max()) if diff.size else 0.0,
            "magnitude": float(np.nanmax(np.abs(magnitude(r)))) if r.size else 0.0,
            "unit": reference.units.get(name, ""),
        }
    ref_kq = dict(reference.meta.get("key_quantities", {}))
    ref_units = dict(reference.meta.get("key_units", {}) or {})
    sur_kq, sur_std = key_quantities_of(surrogate)
    # what the prediction computed itself (the study's field_quantities) for the rest
    sur_kq = {**dict(surrogate.meta.get("key_quantities", {})), **sur_kq}
    _derived(derived, dict(reference.meta.get("params", {})) | dict(
        surrogate.meta.get("params", {})), sur_kq, sur_std)
    names = [n for n in key_names if n in ref_kq] + [n for n in ref_kq if n not in key_names]
    kq: dict[str, dict[str, Any]] = {}
    for name in names:
        r = float(ref_kq[name])
        s = sur_kq.get(name)
        has_std = any(k.endswith("_std") for k in surrogate.point_data)
        kq[name] = {
            "surrogate": s,
            "reference": r,
            "difference": None if s is None else s - r,
            "relative": None if s is None or r == 0 else (s - r) / abs(r),
            "std": sur_std.get(name) if has_std and s is not None else None,
            "unit": key_unit(name, None, ref_units),
        }
    return {"fields": fields, "key_quantities": kq, "n_nodes": reference.mesh.n_points,
            "n_outside": int(n_outside), "interpolated": bool(interpolated)}


# -- the panel ------------------------------------------------------------------------------------
def _fmt(value: float | None, unit: str, signed: bool = False,
         magnitude: float | None = None) -> str:
    """``value`` in the display unit that ``magnitude`` (a row's reference size; else the
    value's own) picks, so a small difference reads in the unit of the quantity it belongs to."""
    if value is None or not np.isfinite(value):
        return "\u2013"
    factor, shown = display_unit(unit, value if magnitude is None else magnitude)
    text = f"{value * factor:+.4g}" if signed else f"{value * factor:.4g}"
    shown = {"m/m": ""}.get(shown, shown)  # "degC" -> "°C" came from display_unit
    return f"{text} {shown}".rstrip()


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "\u2013"
    return f"{value * 100:+.2f} %" if signed else f"{value * 100:.2f} %"


class MetricsPanel(QGroupBox):
    """Two tables: key quantities (surrogate, reference, difference, uncertainty) and per-field
    errors on the reference mesh; a line above says what is compared."""

    KQ_HEADERS = ("Key quantity", "Surrogate", "Reference", "S \u2212 R", "S \u2212 R [%]",
                  "Surrogate \u00b1 std")
    FIELD_HEADERS = ("Field", "Relative L2 error", "Max |S \u2212 R|")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Surrogate vs reference", parent)
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 4, 6, 4)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        row = QHBoxLayout()
        self.kq_table = self._table(self.KQ_HEADERS)
        self.field_table = self._table(self.FIELD_HEADERS)
        row.addWidget(self.kq_table, 3)
        row.addWidget(self.field_table, 2)
        col.addLayout(row)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.metrics: dict[str, Any] = {}

    @staticmethod
    def _table(headers: Sequence[str]) -> QTableWidget:
        t = QTableWidget(0, len(headers))
        t.setHorizontalHeaderLabels(list(headers))
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        t.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        h = t.horizontalHeader()
        # every column as wide as its text (names were cut to "peak von ..." at 1280 px, #13);
        # the last one takes what is left, a scroll bar what does not fit
        for i in range(len(headers)):
            h.setSectionResizeMode(i, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(True)
        _fit_height(t, 2)
        return t

    def show_metrics(self, metrics: Mapping[str, Any], labels: Mapping[str, str],
                     status: str, up_to_date: bool = True) -> None:
        """Fill the tables; ``labels`` maps field names to their labels (others show the name)."""
        self.metrics = dict(metrics)
        self.status.setText(status)
        kq = metrics.get("key_quantities", {})
        self.kq_table.setRowCount(len(kq))
        for row, (name, m) in enumerate(kq.items()):
            unit = m.get("unit", "")
            std = m.get("std")
            size = m["reference"]  # one unit per row, from the reference value
            cells = (key_label(name), _fmt(m["surrogate"], unit, magnitude=size),
                     _fmt(m["reference"], unit, magnitude=size),
                     _fmt(m["difference"], unit, signed=True, magnitude=size),
                     _pct(m["relative"], signed=True),
                     "\u00b1 " + _fmt(std, unit, magnitude=size) if std is not None else "\u2013")
            self._fill(self.kq_table, row, cells)
        fields = metrics.get("fields", {})
        self.field_table.setRowCount(len(fields))
        for row, (name, m) in enumerate(fields.items()):
            cells = (labels.get(name, name), _pct(m["rel_l2"]), _fmt(m["max_abs"], m["unit"],
                                                                 magnitude=m.get("magnitude")))
            self._fill(self.field_table, row, cells)
        rows = max(self.kq_table.rowCount(), self.field_table.rowCount(), 2)
        for t in (self.kq_table, self.field_table):
            _fit_height(t, min(rows, 7))
            t.setEnabled(up_to_date)  # grey: the numbers belong to an older design

    def clear(self, status: str) -> None:
        self.metrics = {}
        self.status.setText(status)
        self.kq_table.setRowCount(0)
        self.field_table.setRowCount(0)

    @staticmethod
    def _fill(table: QTableWidget, row: int, cells: Sequence[str]) -> None:
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if c > 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            table.setItem(row, c, item)

    def cell_text(self, table: str, row: int, column: int) -> str:
        """The text of a cell of ``"kq"`` or ``"fields"`` (tests, export)."""
        t = self.kq_table if table == "kq" else self.field_table
        item = t.item(row, column)
        return "" if item is None else item.text()


def _fit_height(table: QTableWidget, rows: int) -> None:
    """Room for the header and ``rows`` rows (more rows scroll)."""
    table.setFixedHeight(table.horizontalHeader().sizeHint().height()
                         + rows * table.verticalHeader().defaultSectionSize() + 4)


@dataclass(frozen=True)
class Pair:
    """A surrogate prediction and a reference solve of the same design, compared."""

    surrogate: FieldResult
    reference: FieldResult
    on_reference: FieldResult  # the surrogate's fields at the reference nodes
    n_outside: int
    interpolated: bool
    metrics: dict[str, Any]


def compare_pair(surrogate: FieldResult, reference: FieldResult, key_names=(),
                 derived=None) -> Pair:
    """Interpolate ``surrogate`` to the reference nodes (unless both share the mesh) and compute
    the metrics. Plain numpy: runs on any thread."""
    names = [n for n in surrogate.point_data if not n.endswith("_std")
             and n in reference.point_data]
    far = 0.0
    # imported here (scipy.spatial costs ~0.5 s, which start-up need not pay; #13), with
    # PySide's thread-unsafe import hook bypassed when this runs on a worker
    from physapp.gui.prediction import load_library

    load_library(("physapp.solvers.interpolate",))
    from physapp.solvers.interpolate import interpolate_result, same_mesh

    if same_mesh(surrogate.mesh, reference.mesh):
        on_ref, n_out, interpolated = surrogate, 0, False
    else:
        on_ref, loc = interpolate_result(surrogate, reference.mesh, names)
        n_out, interpolated = loc.n_outside, True
        far = float(loc.distance[loc.outside].max()) if n_out else 0.0
    metrics = compare_metrics(surrogate, reference, on_ref, key_names=key_names,
                              derived=derived, n_outside=n_out, interpolated=interpolated)
    metrics["max_outside_distance"] = far  # m: how far the farthest of those nodes was
    return Pair(surrogate, reference, on_ref, n_out, interpolated, metrics)

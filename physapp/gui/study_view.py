"""What the main window builds for each study it shows: the viewport (with its decorations:
tools, flow, symbols, colour range, axisymmetric view) and the side panel (title, prediction
source, design parameters, display options) with the Solve and results box in the dock below.
The side panel is built again at every study switch; the viewport is made once and emptied
for the next study (``Viewport.clear_for_study``: its GL context and compiled shaders stay),
and its decorations attach to it again. The model and the controllers stay."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGroupBox, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from physapp.core.study import Study
from physapp.gui.qt_parameter_panel import QtParameterPanel
from physapp.gui.side_panels import DisplayBox, SolveBox, key_quantities_text
from physapp.gui.viewport import Viewport

if TYPE_CHECKING:
    from physapp.gui.services import WindowServices

#: how long after a study opens its shipped surrogate is selected (the window paints first)
AUTO_SURROGATE_DELAY_MS = 200


def show_study(w: WindowServices, study: Study) -> None:
    """Build what belongs to the model's (new) study: viewport and side panel."""
    w.setWindowTitle(f"{w.spec.title} \u2014 physapp")
    if getattr(w, "playback", None) is not None:
        w.playback.clear()  # the history belonged to the previous study
    w.solves.result = None
    w.app.solve.solved_params = None
    # previews requested for an earlier design (another study) are never shown
    w.previews.study_shown(w.model.version)

    old = w.viewport
    w.safety.study_opened(study)
    w.axisym.study_opened(study)
    if old is None:
        w.viewport = Viewport(w)
    else:  # the same plotter, emptied: no new GL context to set up for the first paint (#13)
        old.clear_for_study()
    w.viewport.derive = lambda r: w.axisym.derive(w.safety.derive(r))
    w.viewport.set_show_edges(w.app.view.show_edges)
    for decoration in (w.view_tools, w.flow, w.symbols, w.camera_fit, w.color_range, w.axisym):
        decoration.viewport_created(w.viewport)
    if old is None:
        w.central_layout.addWidget(w.viewport, 1)
    build_side_panel(w)
    w.info_label.setText("No result yet")
    w.update_state()
    w.parts.study_opened(study)
    QTimer.singleShot(0, w.previews.request)  # a mesh on screen before the first solve
    if w.settings.auto_surrogate and os.environ.get("PHYSAPP_AUTO_SURROGATE") != "0":
        from physapp.gui.trained_range import open_in_trained_range

        open_in_trained_range(w)  # before the first solve: a design the model knows
        # the shipped surrogate answers the sliders at once; after the first paint, since
        # loading torch takes a moment
        QTimer.singleShot(AUTO_SURROGATE_DELAY_MS, w.surrogates.select_shipped)


def build_side_panel(w: WindowServices) -> None:
    """The study's panel in the left dock and its Solve box in the dock below (the previous
    study's are deleted); sets ``w.panel``, ``field_combo``, ``edges_check``, ``solve_box`` and
    its widgets."""
    side = QWidget()
    side.setMinimumWidth(360)
    col = QVBoxLayout(side)
    # escaped: a description such as "(Re <= 2000)" is text, not a tag
    title = QLabel(f"<b>{html.escape(w.spec.title)}</b><br>"
                   f"<small>{html.escape(w.spec.description)}</small>")
    title.setWordWrap(True)
    col.addWidget(title)
    col.addWidget(w.surrogates.build_panel())  # reference solver or a surrogate

    params = QGroupBox("Design parameters")
    w.panel = QtParameterPanel(w.model)
    w.panel.error.connect(lambda msg: w.app.notify(msg, "error", "input"))
    QVBoxLayout(params).addWidget(w.panel)
    col.addWidget(params)

    display = DisplayBox(w.app.view, w.spec.fields, w.spec.default_field)
    w.field_combo, w.edges_check = display.field_combo, display.edges_check
    display.form.addRow("", w.compare.build_button())  # split view (F6)
    w.view_tools.add_display_rows(display.form)  # colour map, deform, section
    w.color_range.add_display_row(display.form)  # automatic / fixed / locked
    w.axisym.add_display_row(display.form)  # r-z section or revolved (axisymmetric)
    w.safety.add_display_row(display.form)  # yield strength (safety factor)
    w.symbols.add_display_row(display.form)  # show supports and loads
    w.flow.add_display_rows(display.form)  # streamlines, arrows (flow studies)
    col.addWidget(display)

    w.solve_box = SolveBox(w.app.solve, solve_box_title(w))
    w.solve_box.solve_requested.connect(w.solve)
    w.solve_box.cancel_requested.connect(w.cancel_solve)
    for name in ("solve_button", "cancel_button", "progress", "results_label"):
        setattr(w, name, getattr(w.solve_box, name))
    w.solve_box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
    # room for "Last solve:" and every key quantity: the dock does not grow afterwards
    lines = 1 + max(len(w.spec.key_quantities) + w.safety.active, 2)
    w.results_label.setMinimumHeight(lines * w.results_label.fontMetrics().lineSpacing())
    old_box = w.results_dock.widget()
    w.results_dock.setWidget(w.solve_box)
    if old_box is not None:
        old_box.deleteLater()
    col.addStretch(1)

    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setMinimumWidth(400)
    old = w.study_dock.widget()
    w.study_dock.setWidget(scroll)
    if old is not None:  # the previous study's panel
        old.deleteLater()


def solve_box_title(w: WindowServices) -> str:
    return f"Reference solve (finite elements, P{w.settings.element_order})"


def show_key_quantities(w: WindowServices, result) -> None:
    """The last solve's key quantities (and the minimum safety factor) in the results box."""
    meta = result.meta
    _show_quantities(w, meta.get("key_quantities", {}), meta.get("key_units"), "Last solve:")


def _show_quantities(w: WindowServices, kq, units, title: str) -> None:
    kq = w.safety.key_quantities(dict(kq))
    order = (*w.spec.key_quantities, *(("min_safety_factor",) if w.safety.active else ()))
    w.results_label.setText(key_quantities_text(order, kq, units, title))


def show_prediction_quantities(w: WindowServices, kq: dict | None) -> None:
    """``app.source.key_quantities`` changed: the prediction's key quantities in the results
    box (they follow the sliders), or the last solve's again once no prediction is shown."""
    if kq is None:
        if w.result is not None:
            show_key_quantities(w, w.result)
        return
    _show_quantities(w, kq, w.app.source.key_units, "Surrogate prediction:")
    w.results_label.setEnabled(True)  # current: it is the design on the sliders

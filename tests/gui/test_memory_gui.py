"""A too-fine mesh set with the sliders is refused before meshing, as a message (#14)."""

from __future__ import annotations

import pytest

from tests.gui.conftest import SOLVE_TIMEOUT_MS

pytestmark = pytest.mark.gui


def test_sliders_to_a_too_fine_mesh_give_a_message_not_a_traceback(window, qtbot, monkeypatch):
    # the preview (this process) refuses above 1 M unknowns; the solve (the worker process)
    # keeps the default cap of 2 M unknowns, which P2 on this mesh (~5 M unknowns) is above
    monkeypatch.setenv("PHYSAPP_MAX_UNKNOWNS", "1000000")
    rows = window.panel.rows
    rows["length"].slider.setValue(1000.0)  # mm, the largest plate
    rows["width"].slider.setValue(500.0)
    rows["mesh_size"].slider.setValue(0.5)  # mm, the finest element size
    assert window.model.value("mesh_size") == pytest.approx(0.0005)
    qtbot.waitUntil(lambda: "mesh_size >= " in window.message_bar.text(), timeout=10_000)
    text = window.message_bar.text()
    # the preview's refusal: ~1.2 M elements, ~1.2 M unknowns at P1, and the size that fits
    assert "mesh_size = 0.5 mm" in text and "1.2 M elements" in text and "1.0 M unknowns" in text
    assert "Traceback" not in text and "Invalid design" in window.state_label.text()
    assert window.settings.element_order == 2  # the default
    window.solve()  # F5 anyway: the worker process refuses it before meshing, with a message
    qtbot.waitUntil(lambda: "Solving plate-with-hole at P2" in window.message_bar.text(),
                    timeout=SOLVE_TIMEOUT_MS)
    text = window.message_bar.text()
    assert "5.0 M unknowns" in text and "2.0 M unknowns one solve may have" in text
    assert "or solve at order 1" in text and "Traceback" not in text
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=SOLVE_TIMEOUT_MS)

"""Safety factor in the window (#13): yield / von Mises at a probed point, the minimum among
the key quantities, a yield strength of zero refused at its field."""

from __future__ import annotations

import numpy as np
import pytest

from physapp.core.materials import MATERIALS
from physapp.core.safety import SAFETY_CAP

pytestmark = pytest.mark.gui


def test_safety_factor_is_yield_over_von_mises_at_a_probed_point(window):
    ys = MATERIALS["structural steel"].yield_strength  # the plate's E = 200-210 GPa: steel
    assert window.safety.yield_strength == ys
    assert "safety_factor" in {f.name for f in window.spec.fields}
    window.app.view.field = "safety_factor"
    vp = window.viewport
    assert vp.field[0] == "safety_factor" and vp.colorbar_title.startswith("Safety factor")
    res = window.result
    vm = res.point_data["von_mises"].astype(float)
    node = int(np.argmax(vm))  # the most stressed node (the hole's edge): below the cap
    vt = window.view_tools
    vt.set_probe_mode(True)
    values = vt.probe_at(tuple(res.mesh.points[node]))
    assert values, "the probe is on the part"
    expected = ys / 1e6 / values["von_mises"]  # von Mises probed in MPa
    assert expected < SAFETY_CAP
    assert values["safety_factor"] == pytest.approx(expected, rel=1e-4)
    # the minimum is a key quantity: yield / peak von Mises
    kq_line = [s for s in window.results_label.text().splitlines() if "safety" in s]
    assert kq_line and float(kq_line[0].split(":")[1]) == pytest.approx(
        ys / res.meta["key_quantities"]["peak_von_mises"], rel=1e-3)
    # a typed yield strength moves the field at once
    assert window.safety.set_text("200")
    values = vt.probe_at(tuple(res.mesh.points[node]))
    assert values["safety_factor"] == pytest.approx(200 / values["von_mises"], rel=1e-4)


def test_zero_yield_strength_is_refused_at_the_field(window):
    safety = window.safety
    before = safety.yield_strength
    assert not safety.set_text("0")
    assert safety.yield_strength == before
    assert not safety.error_label.isHidden()
    assert "positive" in safety.error_label.text()
    assert not safety.set_text("abc") and "number" in safety.error_label.text()
    assert safety.set_text("300") and safety.error_label.isHidden()
    assert safety.yield_strength == pytest.approx(300e6)
    window.solve()  # still usable

"""Safety factor and yield strengths (#13)."""

from __future__ import annotations

import numpy as np
import pytest

from physapp.core.errors import ParameterError
from physapp.core.materials import MATERIALS, check_yield_strength, material
from physapp.core.safety import SAFETY_CAP, material_yield_strength, safety_factor


def test_every_library_material_has_a_yield_strength():
    for m in MATERIALS.values():
        assert 1e6 < m.yield_strength < 2e9, m.name


def test_safety_factor_is_yield_over_von_mises_capped():
    vm = np.array([0.0, 1e6, 50e6, 250e6, 500e6])
    sf = safety_factor(vm, 250e6)
    assert sf[0] == SAFETY_CAP and sf[1] == SAFETY_CAP  # 250 would be off the scale
    assert sf[2:] == pytest.approx([5.0, 1.0, 0.5])


@pytest.mark.parametrize("bad", [0.0, -5e6, float("nan"), float("inf")])
def test_a_yield_strength_must_be_positive(bad):
    with pytest.raises(ParameterError, match="yield strength"):
        check_yield_strength(bad)
    with pytest.raises(ParameterError):
        material("custom", youngs_modulus=1e9, poissons_ratio=0.3, yield_strength=bad)


def test_study_material_lookup_by_name_then_modulus():
    assert material_yield_strength("PET")[1] == "PET"
    assert material_yield_strength("", 210e9)[1] == "structural steel"
    assert material_yield_strength("", 70e9)[1] == "aluminium 6061"
    assert material_yield_strength("", 1.0)[1] == "structural steel"  # nothing close: default


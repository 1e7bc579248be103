"""Labels an engineer reads (#13): one table turns ASCII names and units into symbols."""

import re

from physapp.core.labels import pretty_label, pretty_unit
from physapp.core.params import ParameterSpec
from physapp.core.study import FieldSpec
from physapp.studies import list_studies
from physapp.viz.grids import display_unit

RAW = re.compile(r"degC|sigma|tau_|theta|\b[a-z]_[a-z0-9]+\b|\^[23]")


def test_symbols_and_units():
    assert pretty_label("Hoop stress sigma_theta") == "Hoop stress \u03c3\u03b8"
    assert pretty_label("Shear stress tau_xz") == "Shear stress \u03c4xz"
    assert pretty_label("Max. principal stress sigma_1") == "Max. principal stress \u03c3\u2081"
    assert pretty_label("Displacement u_x") == "Displacement ux"
    assert pretty_label("u_mag") == "Displacement magnitude"
    assert pretty_label("von_mises_std") == "von Mises stress (std)"
    assert pretty_label("peak_von_mises") == "Peak von mises"
    for text in ("Hoop stress sigma_theta", "u_mag", "Heat flux q_z"):
        assert pretty_label(pretty_label(text)) == pretty_label(text)  # idempotent
    assert pretty_unit("degC") == "\u00b0C" and pretty_unit("W/m^2") == "W/m\u00b2"
    assert pretty_unit("W/(m^2 K)") == "W/(m\u00b2 K)" and pretty_unit("MPa") == "MPa"
    assert display_unit("degC") == (1.0, "\u00b0C") and display_unit("Pa", 2e8)[1] == "MPa"
    # files and conversions keep the ASCII unit; the label is what a person reads
    f = FieldSpec("temperature", "Temperature", "degC")
    assert f.unit == "degC" and FieldSpec("s", "Stress sigma_xx", "Pa").label == "Stress \u03c3xx"
    p = ParameterSpec("t", "T ref", "degC", 0.0, 100.0, 20.0)
    assert p.unit == "degC" and p.shown_unit == "\u00b0C"


def test_no_raw_label_in_any_study():
    """Every built-in study's fields, parameters and key-quantity units read without ASCII
    stand-ins (degC, sigma_..., u_x, m^2)."""
    for study in list_studies():
        spec = study.spec
        for f in spec.fields:
            assert not RAW.search(f.label), (spec.id, f.label)
            assert not RAW.search(display_unit(f.unit)[1]), (spec.id, f.unit)
        for p in spec.parameters:
            assert not RAW.search(p.shown_unit), (spec.id, p.name, p.shown_unit)

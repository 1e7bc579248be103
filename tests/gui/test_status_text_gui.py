"""Status bar messages at 1280 px (#13): shortened at a word, never left stale."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_long_status_message_is_cut_at_a_word_and_goes_with_its_message(window):
    window.resize(1280, 800)
    text = ("The design is outside the surrogate's trained range: hole radius 95 mm (trained "
            "10-80 mm), plate width 480 mm (trained 100-400 mm); the prediction extrapolates "
            "and may be far off, solve with F5 to check it against the finite elements.")
    window.show_message(text, "warning", "surrogate-range")
    shown = window.statusBar().currentMessage()
    assert shown.endswith("\u2026") and len(shown) < len(text)
    head = shown[:-1]
    assert text.startswith(head) and text[len(head)] in " ,;:-"  # ends at a word
    # back in range: the warning goes, and its echo in the status bar with it
    window.message_bar.clear("surrogate-range")
    assert window.statusBar().currentMessage() == ""
    window.show_message("Short note.", "info", "x")
    assert window.statusBar().currentMessage() == "Short note."
    window.message_bar.clear("other")  # another tag's clear leaves it
    assert window.statusBar().currentMessage() == "Short note."

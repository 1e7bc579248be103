"""Every shipped model's header (its metrics, shown by `physapp models --json` and the app) is
strict JSON: no NaN or infinity (a field that is zero everywhere, such as the potential flow's
vorticity, once stored a NaN std/error ratio)."""

import json
from pathlib import Path

import pytest

from physapp.surrogates.storage import read_header

ROOT = Path(__file__).resolve().parents[2] / "physapp" / "resources"
MODELS = sorted(ROOT.rglob("*.pt"))


@pytest.mark.parametrize("path", MODELS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shipped_model_header_is_strict_json(path):
    header = read_header(path)
    json.dumps(header, allow_nan=False)  # raises ValueError on NaN or infinity
    assert header["meta"]["kind"] and isinstance(header["meta"]["metrics"], dict)

"""Hostile or careless input on the command line: exit 1 or 2 with one clear line, valid JSON with
--json, never exit 70 (#14)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def run(*args, env=None, timeout=120):
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "physapp", *map(str, args)], capture_output=True,
                          text=True, env=e, timeout=timeout)


def json_out(r):
    return json.loads(r.stdout)  # the whole of stdout is one JSON document


@pytest.mark.parametrize("args", [
    ["info", "--json"],
    ["solve", "plate-with-hole", "--json"],
    ["solve", "plate-with-hole", "--order", "3", "--out", "x.vtu", "--json"],
    ["nonsense", "--json"],
    ["sweep", "plate-with-hole", "--out", "x.h5", "--samples", "ten", "--json"],
])
def test_usage_errors_print_json(args):
    r = run(*args)
    assert r.returncode == 2
    out = json_out(r)
    assert out["exit_code"] == 2 and out["error"]


def test_native_output_of_cad_readers_stays_off_stdout(tmp_path):
    bad = tmp_path / "random.step"
    bad.write_bytes(os.urandom(3000))
    r = run("info", bad, "--json")
    assert r.returncode == 1
    assert json_out(r)["exit_code"] == 1

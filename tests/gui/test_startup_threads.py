"""Start-up must not import torch on the GUI thread (issue #13 item 1)."""

from __future__ import annotations

import builtins
import json
import os
import pathlib
import subprocess
import sys
import threading

import pytest

from physapp.gui.prediction import load_library

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_library_is_imported_on_the_worker_with_pysides_hook_bypassed(tmp_path, qapp,
                                                                           monkeypatch):
    assert hasattr(builtins, "__orig_import__")  # PySide6 installed its import hook
    hooked = builtins.__import__
    (tmp_path / "heavy_lib_probe.py").write_text(
        "import builtins, threading\n"
        "THREAD = threading.current_thread().name\n"
        "PLAIN = builtins.__import__ is builtins.__orig_import__\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=load_library(("heavy_lib_probe",))),
                              name="loader-probe")
    worker.start()
    worker.join(10)
    probe = sys.modules.pop("heavy_lib_probe")
    assert result["r"][1] == ""  # no problem reported
    assert probe.THREAD == "loader-probe" and probe.PLAIN  # imported there, hook bypassed
    assert builtins.__import__ is hooked  # and put back afterwards


def test_a_missing_library_is_a_message_not_a_crash(qapp):
    seconds, problem = load_library(("torch", "no_such_module_for_physapp_tests"))
    assert problem == ""  # optional pieces may be missing; torch is there
    assert seconds >= 0


@pytest.mark.gui
def test_opening_the_default_study_does_not_import_torch():
    """The real app in a fresh process (about 10 s on 2 busy cores): the shipped POD-GP model
    is evaluated with numpy, so torch is not imported at all."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PHYSAPP_AUTO_SURROGATE": "1"}
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "startup.py"), "--switch",
                           "", "--timeout", "60", "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["first_field_s"] > 0
    assert res["surrogate_frame_s"] > 0  # the shipped surrogate was loaded and shown
    assert res["torch_loaded_at_surrogate_frame"] is False
    assert res["torch_imported_by"] == ""  # not by any thread, until the app quit

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


DATA = ROOT / "tests" / "data" / "fuzz"


def in_process(capsys, *args):
    """``physapp ARGS`` in this process (fast): (exit status, stdout, stderr)."""
    from physapp.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("args, message", [
    (["sweep", "plate-with-hole", "--seed", "-1"], "--seed must be"),
    (["sweep", "plate-with-hole", "--seed", str(2**70)], "--seed must be"),
    (["sweep", "plate-with-hole", "--workers", "0"], "--workers must be at least 1"),
    (["sweep", "plate-with-hole", "--samples", "1000000000"], "--samples must be"),
    (["sweep", "plate-with-hole", "--test-fraction", "nan"], "--test-fraction"),
])
def test_sweep_options_are_checked_before_the_file_exists(tmp_path, capsys, args, message):
    out = tmp_path / "x.h5"
    code, stdout, err = in_process(capsys, *args, "--out", out, "--json")
    assert code == 1 and message in err
    assert json.loads(stdout)["exit_code"] == 1
    assert not out.exists()


@pytest.mark.parametrize("fps", ["0", "-1", "nan", "inf"])
def test_export_fps_is_checked(tmp_path, capsys, fps):
    code, _, err = in_process(capsys, "export", "--study", "plate-with-hole", "--animate",
                              "radius", "--fps", fps, "-o", tmp_path / "a.gif")
    assert code == 1 and "--fps must be between" in err


def test_info_size_and_train_out_are_checked_up_front(tmp_path, capsys):
    for size in ("nan", "-1", "0", "inf"):
        code, _, err = in_process(capsys, "info", DATA / "plate.h5", "--size", size)
        assert code == 1 and "--size must be a positive" in err
    code, _, err = in_process(capsys, "train", DATA / "plate.h5", "--out", tmp_path)
    assert code == 1 and "is a folder" in err


def _damage(src, dst, seed, n=300):
    import numpy as np

    raw = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    for pos in rng.integers(0, len(raw), n):
        raw[pos] = int(rng.integers(0, 256))
    dst.write_bytes(bytes(raw))


@pytest.mark.parametrize("seed", range(4))
def test_damaged_dataset_gives_a_clear_error_or_works(tmp_path, capsys, seed):
    bad = tmp_path / "bad.h5"
    _damage(DATA / "plate.h5", bad, seed)
    code, _, err = in_process(capsys, "export", "--dataset", bad, "-o", tmp_path / "t.csv", "-q")
    assert code in (0, 1), err
    code, _, err = in_process(capsys, "train", bad, "--out", tmp_path / "m.pt", "--epochs", "5",
                              "-q")
    assert code in (0, 1), err
    if code == 1:
        assert len(err.strip().splitlines()) == 1 and "internal error" not in err


def test_model_with_a_short_parameter_list_is_refused(tmp_path):
    import torch

    from physapp.core.errors import PhysappError
    from physapp.surrogates.storage import load_surrogate

    payload = torch.load(DATA / "plate-podgp.pt", map_location="cpu", weights_only=True)
    meta = json.loads(payload["meta"])
    meta["info"]["param_names"] = meta["info"]["param_names"][:1]
    payload["meta"] = json.dumps(meta)
    bad = tmp_path / "short.pt"
    torch.save(payload, bad)
    with pytest.raises(PhysappError, match="corrupt: it lists 1 parameter"):
        load_surrogate(bad)


def test_session_with_bad_camera_is_refused_before_solving(tmp_path, capsys):
    session = {"format": "physapp-session", "version": 1, "study": "plate-with-hole",
               "params": {}, "surrogate": "", "part": None,
               "view": {"camera": {"position": [1e308, 0, 0], "focal_point": [0, 0, 0],
                                   "view_up": [0, 1, 0]}}}
    path = tmp_path / "s.physapp"
    path.write_text(json.dumps(session))
    code, _, err = in_process(capsys, "export", "--session", path, "-o", tmp_path / "f.png")
    assert code == 1 and "view.camera" in err


def _model_with_study(tmp_path, study_id):
    import torch

    payload = torch.load(DATA / "plate-podgp.pt", map_location="cpu", weights_only=True)
    meta = json.loads(payload["meta"])
    meta["info"]["study_id"] = study_id
    if "study_id" in meta:
        meta["study_id"] = study_id
    payload["meta"] = json.dumps(meta)
    path = tmp_path / f"{study_id.replace('/', '_')}.pt"
    torch.save(payload, path)
    return path


def test_predict_checks_the_design_against_the_study(tmp_path, capsys):
    from physapp.surrogates.storage import load_surrogate

    model = DATA / "plate-podgp.pt"
    out = tmp_path / "p.vtu"
    code, _, err = in_process(capsys, "predict", model, "--set", "radius=-5", "--out", out)
    assert code == 1 and "outside its range" in err and not out.exists()
    code, _, err = in_process(capsys, "predict", model, "--set", "traction=6e8", "--out", out)
    assert code == 1 and "outside its range" in err
    # a model trained on a narrower traction range than the study allows
    import torch

    payload = torch.load(model, map_location="cpu", weights_only=True)
    meta = json.loads(payload["meta"])
    i = meta["info"]["param_names"].index("traction")
    meta["info"]["bounds"][i] = [0.0, 1e8]
    payload["meta"] = json.dumps(meta)
    narrow = tmp_path / "narrow.pt"
    torch.save(payload, narrow)
    assert list(load_surrogate(narrow).bounds[i]) == [0.0, 1e8]
    code, stdout, err = in_process(capsys, "predict", narrow, "--set", "traction=3e8",
                                   "--out", out, "--json")
    assert code == 0 and "outside the trained range" in err
    assert json.loads(stdout)["out_of_range"] == ["traction"]
    code, stdout, err = in_process(capsys, "predict", narrow, "--set", "traction=5e7",
                                   "--out", out, "--json")
    assert code == 0 and json.loads(stdout)["out_of_range"] == []


@pytest.mark.parametrize("study_id, message", [
    ("no-such-study", "not known here"),
    ("heat-sink", "names the wrong study"),
])
def test_predict_refuses_a_model_of_an_unknown_or_wrong_study(tmp_path, capsys, study_id,
                                                             message):
    path = _model_with_study(tmp_path, study_id)
    out = tmp_path / "p.vtu"
    code, _, err = in_process(capsys, "predict", path, "--out", out)
    assert code == 1 and message in err and "--raw" in err
    code, _, err = in_process(capsys, "predict", path, "--out", out, "--raw")
    assert code == 0 and out.exists()


def test_long_values_are_shortened_in_messages(capsys):
    """A 400-digit value is named by its first 40 characters and its length (#14)."""
    from physapp.cli import main as cli_main
    from physapp.core.errors import ParameterError
    from physapp.studies import get_study

    code = cli_main(["solve", "plate-with-hole", "--set", "radius=" + "1" * 400 + "x",
                     "--out", "never.vtu"])
    err = capsys.readouterr().err
    assert code == 1 and "1" * 40 + "... (401 characters)" in err and "1" * 41 not in err
    with pytest.raises(ParameterError, match=r"must be a finite number, got 1000.*\(401 "):
        get_study("plate-with-hole").check({"radius": 10**400})

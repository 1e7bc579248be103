"""The README's examples run: every ```python block, and every line of the ```bash readme-test
block (as ``python -m physapp ...``), in a temporary folder, in order."""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```", re.S | re.M)


def blocks(tag: str) -> list[str]:
    return [body for info, body in FENCE.findall(README.read_text(encoding="utf-8"))
            if info.strip() == tag]


def _env():
    # one thread per process: the test machine is shared
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore::RuntimeWarning"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


def test_readme_has_examples():
    assert len(blocks("python")) >= 3
    assert len(blocks("bash readme-test")) == 1


#: runs each README python block in a fresh namespace, in order, in one interpreter (one start
#: of Python and of physapp's imports instead of one per block); a failure names its block
DRIVER = """
import sys, traceback
for i, path in enumerate(sys.argv[1:]):
    code = open(path, encoding="utf-8").read()
    try:
        exec(compile(code, path, "exec"), {"__name__": "__main__"})
    except BaseException:
        print(f"README python block {i} failed:\\n{code}", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
"""


def test_python_blocks_run(folder):
    scripts = []
    for i, code in enumerate(blocks("python")):
        script = folder / f"block{i}.py"
        script.write_text(code, encoding="utf-8")
        scripts.append(str(script))
    proc = subprocess.run([sys.executable, "-c", DRIVER, *scripts], cwd=folder,
                          capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    # what the blocks say they write exists and holds what they promise
    import meshio

    plate = meshio.read(folder / "plate.vtu")
    assert "von_mises" in plate.point_data and plate.points.shape[0] > 100
    pred = meshio.read(folder / "cyl-pred.vtu")
    assert "sigma_hoop_std" in pred.point_data
    assert (folder / "cyl.pt").is_file() and (folder / "vessel.ptm").is_file()


#: the README line run as a real ``python -m physapp`` process (entry point, exit status, only
#: JSON on stdout); the others run ``physapp.cli.main`` in this process (the same code path
#: without a Python start and its imports each; tests/test_cli.py runs each command for real)
SUBPROCESS_LINE = "physapp predict "


def test_cli_block_runs(folder, capsys, monkeypatch):
    from physapp.cli import main

    folder = folder / "cli"  # the same file names as the Python examples
    folder.mkdir()
    monkeypatch.chdir(folder)
    for key, value in _env().items():
        if key not in os.environ or os.environ[key] != value:
            monkeypatch.setenv(key, value)
    lines = [ln.strip() for ln in blocks("bash readme-test")[0].splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines and all(ln.startswith("physapp ") for ln in lines)
    assert sum(ln.startswith(SUBPROCESS_LINE) for ln in lines) == 1
    for line in lines:
        args = shlex.split(line)[1:]
        if line.startswith(SUBPROCESS_LINE):
            proc = subprocess.run([sys.executable, "-m", "physapp", *args], cwd=folder,
                                  capture_output=True, text=True, timeout=180, env=_env())
            code, out, err = proc.returncode, proc.stdout, proc.stderr
        else:
            code = main(args)
            captured = capsys.readouterr()
            out, err = captured.out, captured.err
        assert code == 0, f"{line}\n{err[-3000:]}"
        if "--json" in args:
            assert isinstance(json.loads(out), dict), line
    assert (folder / "cyl.h5").is_file() and (folder / "pred.vtu").is_file()

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


def test_python_blocks_run(folder):
    for i, code in enumerate(blocks("python")):
        script = folder / f"block{i}.py"
        script.write_text(code, encoding="utf-8")
        proc = subprocess.run([sys.executable, str(script)], cwd=folder, capture_output=True,
                              text=True, timeout=180, env=_env())
        assert proc.returncode == 0, f"README python block {i}:\n{code}\n{proc.stderr[-3000:]}"
    # what the blocks say they write exists and holds what they promise
    import meshio

    plate = meshio.read(folder / "plate.vtu")
    assert "von_mises" in plate.point_data and plate.points.shape[0] > 100
    pred = meshio.read(folder / "cyl-pred.vtu")
    assert "sigma_hoop_std" in pred.point_data
    assert (folder / "cyl.pt").is_file() and (folder / "vessel.ptm").is_file()


def test_cli_block_runs(folder):
    folder = folder / "cli"  # the same file names as the Python examples
    folder.mkdir()
    lines = [ln.strip() for ln in blocks("bash readme-test")[0].splitlines()
             if ln.strip() and not ln.strip().startswith("#")]
    assert lines and all(ln.startswith("physapp ") for ln in lines)
    for line in lines:
        args = shlex.split(line)[1:]
        proc = subprocess.run([sys.executable, "-m", "physapp", *args], cwd=folder,
                              capture_output=True, text=True, timeout=180, env=_env())
        assert proc.returncode == 0, f"{line}\n{proc.stderr[-3000:]}"
        if "--json" in args:
            assert isinstance(json.loads(proc.stdout), dict), line
    assert (folder / "cyl.h5").is_file() and (folder / "pred.vtu").is_file()

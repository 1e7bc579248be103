"""Untrusted files are read in a child process: native crashes, memory and time limits (#14)."""

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from physapp.core.errors import PhysappError
from physapp.core.isolate import ChildCrashed, ChildTimeout, run_isolated
from physapp.core.memory import MemoryLimitError
from physapp.io.readers import ImportError_, read_mesh

ROOT = Path(__file__).parents[2]


def write_binary_stl_with_solid_header(path: Path, edge: float = 10.0) -> None:
    """A closed cube as a *binary* STL whose 80-byte header starts with "solid" (as many
    exporters write it), so a reader that trusts the header would parse binary as text."""
    p = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1], [1, 0, 1], [1, 1, 1],
                  [0, 1, 1]], float) * edge
    faces = [(0, 2, 1), (0, 3, 2), (4, 5, 6), (4, 6, 7), (0, 1, 5), (0, 5, 4), (1, 2, 6),
             (1, 6, 5), (2, 3, 7), (2, 7, 6), (3, 0, 4), (3, 4, 7)]
    with open(path, "wb") as fh:
        fh.write(b"solid part exported as binary".ljust(80, b" "))
        fh.write(struct.pack("<I", len(faces)))
        for f in faces:
            t = p[list(f)]
            n = np.cross(t[1] - t[0], t[2] - t[0])
            fh.write(struct.pack("<12fH", *(n / np.linalg.norm(n)), *t.ravel(), 0))


def test_binary_stl_with_solid_header_read_20_times(tmp_path):
    path = tmp_path / "cube.stl"
    write_binary_stl_with_solid_header(path)
    assert path.read_bytes()[:5] == b"solid" and path.stat().st_size == 84 + 12 * 50
    counts = set()
    for _ in range(20):
        mesh, report = read_mesh(path, size=0.005, isolate=False)
        vol = mesh.points[mesh.cells[0].connectivity[:, :4]]
        v = np.abs(np.einsum("ij,ij->i", vol[:, 1] - vol[:, 0],
                             np.cross(vol[:, 2] - vol[:, 0], vol[:, 3] - vol[:, 0]))).sum() / 6
        assert v == pytest.approx(1e-6, rel=1e-9)  # 10 mm cube in metres
        counts.add(report.cells["tetra"])
    assert len(counts) == 1  # the same mesh every time (deterministic meshing)
    _, iso = read_mesh(path, size=0.005)  # and through the isolated reader
    assert iso.cells["tetra"] in counts


def _segfault(*_args):
    import ctypes

    return ctypes.string_at(0)


def _boom(x):
    raise ImportError_(f"bad value {x}")


def _square(x, progress=None):
    if progress is not None:
        progress(0.5, "half")
    return x * x


def _sleep(t):
    import time

    time.sleep(t)


def _allocate(n):
    return len(bytearray(n))


def test_run_isolated_result_error_progress():
    seen = []
    assert run_isolated(_square, 7, progress=lambda f, m: seen.append((f, m))) == 49
    assert seen == [(0.5, "half")]
    with pytest.raises(ImportError_, match="bad value 3"):
        run_isolated(_boom, 3)


def test_run_isolated_native_crash_is_reported():
    with pytest.raises(ChildCrashed, match="SIGSEGV") as info:
        run_isolated(_segfault, what="The test reader")
    assert info.value.signal_name == "SIGSEGV" and isinstance(info.value, PhysappError)


def test_run_isolated_time_and_memory_limits():
    with pytest.raises(ChildTimeout, match="within 0.5 s"):
        run_isolated(_sleep, 30, timeout=0.5)
    with pytest.raises(MemoryLimitError, match="more than the"):
        run_isolated(_allocate, 2 * 1024**3, memory=256 * 1024**2)
    assert run_isolated(_allocate, 1024**2, memory=256 * 1024**2) == 1024**2


def _cli(*args, env=None):
    e = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "physapp", *args], capture_output=True,
                          text=True, env=e, timeout=120)


def test_cli_info_survives_a_segfaulting_reader(tmp_path):
    plugin = tmp_path / "plugins" / "crashy"
    (plugin / "crashy").mkdir(parents=True)
    (plugin / "plugin.toml").write_text(
        '[plugin]\nname = "crashy"\nversion = "1"\napi = 1\n'
        '[[readers]]\nextensions = [".crash"]\nentry = "crashy.reader:read"\n')
    (plugin / "crashy" / "__init__.py").write_text("")
    (plugin / "crashy" / "reader.py").write_text(
        "import ctypes\n\ndef read(path):\n    return ctypes.string_at(0)\n")
    data = tmp_path / "part.crash"
    data.write_text("anything")
    env = {"PHYSAPP_PLUGIN_PATH": str(tmp_path / "plugins")}
    r = _cli("info", str(data), env=env)
    assert r.returncode == 1, r.stderr
    assert "the reader crashed on this file (CRASH; SIGSEGV)" in r.stderr
    r = _cli("info", str(data), "--json", env=env)
    assert r.returncode == 1
    import json

    out = json.loads(r.stdout)
    assert out["exit_code"] == 1 and "the reader crashed on this file" in out["error"]


def test_unreadable_file_is_named(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = tmp_path / "locked.msh"
    path.write_text("$MeshFormat\n")
    path.chmod(0)
    with pytest.raises(ImportError_, match="permission denied"):
        read_mesh(path)

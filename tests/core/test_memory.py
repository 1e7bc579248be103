"""Memory needs are estimated and refused before allocating (#14)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from physapp.core.memory import (
    MemoryLimitError,
    check,
    estimate_solve_bytes,
    limit_bytes,
    parse_size,
    study_mesh_estimate,
)

ROOT = Path(__file__).parents[2]


def test_limit_and_sizes(monkeypatch):
    assert parse_size("512M") == 512 * 1024**2 and parse_size("2G") == 2 * 1024**3
    assert parse_size("1000") == 1000
    for bad in ("", "-1G", "nanG", "12Q"):
        with pytest.raises(ValueError):
            parse_size(bad)
    monkeypatch.setenv("PHYSAPP_MEMORY_LIMIT", "1G")
    assert limit_bytes() == 1024**3
    with pytest.raises(MemoryLimitError, match=r"about 2.0 GB .* 1.0 GB available on this computer; do less"):
        check(2 * 1024**3, "This job", "do less")
    check(0.5 * 1024**3, "This job", "do less")
    monkeypatch.delenv("PHYSAPP_MEMORY_LIMIT")
    assert 0 < limit_bytes() < 2**50


def test_plate_estimate_is_near_the_real_mesh():
    from physapp.studies import get_study

    study = get_study("plate-with-hole")
    params = study.check({"mesh_size": 0.002})
    dim, n = study_mesh_estimate(study, params)
    real = sum(len(b) for b in study.build_mesh(params).cells)
    assert dim == 2 and 0.7 * real < n < 1.6 * real
    # P2 needs more than P1, 3D P2 far more per cell than 2D
    assert estimate_solve_bytes(2, n, 2, 2) > estimate_solve_bytes(2, n, 1, 2)
    assert estimate_solve_bytes(3, n, 2, 3) > 2 * estimate_solve_bytes(2, n, 2, 2)


def _cli(*args, limit="1G"):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PHYSAPP_MEMORY_LIMIT": limit}
    return subprocess.run([sys.executable, "-m", "physapp", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_too_fine_a_mesh_is_refused_before_meshing(tmp_path):
    t0 = time.monotonic()
    r = _cli("solve", "plate-with-hole", "--set", "mesh_size=0.0005", "--set", "length=1",
             "--set", "width=0.5", "--out", tmp_path / "x.vtu")
    assert r.returncode == 1
    assert "mesh_size = 0.5 mm" in r.stderr and "1.2 M elements" in r.stderr
    assert "use mesh_size >= " in r.stderr
    assert time.monotonic() - t0 < 30 and not (tmp_path / "x.vtu").exists()


def test_the_unknowns_cap_holds_whatever_the_memory(monkeypatch):
    """The issue's case on a machine with plenty of memory: 1 m x 0.5 m plate at 0.5 mm is
    ~1.2 M elements (gmsh makes 1,153,019) and ~5 M P2 unknowns: refused by the cap alone, with
    the element size that fits (the cells scale as 1/h^2: 0.5 mm * sqrt(5 M / 2 M) ~ 0.8 mm)."""
    from physapp.core.memory import check_study_solve
    from physapp.studies import get_study

    monkeypatch.setenv("PHYSAPP_MEMORY_LIMIT", "1T")
    study = get_study("plate-with-hole")
    params = study.check({"mesh_size": 0.0005, "length": 1, "width": 0.5})
    with pytest.raises(MemoryLimitError) as err:
        check_study_solve(study, params, 2)
    text = str(err.value)
    assert "width = 500 mm, length = 1000 mm" in text and "unknowns one solve may have" in text
    h_min = float(text.split("use mesh_size >= ")[1].split(" mm")[0])
    assert 0.75 < h_min < 0.95
    assert "or solve at order 1 (1.2 M unknowns" in text
    check_study_solve(study, params, 1)  # P1: ~1.2 M unknowns, under the cap
    check_study_solve(study, {**params, "mesh_size": h_min * 1e-3}, 2)  # the advice fits
    monkeypatch.setenv("PHYSAPP_MAX_UNKNOWNS", "5e5")
    with pytest.raises(MemoryLimitError, match="500 k unknowns one solve may have"):
        check_study_solve(study, params, 1)
    monkeypatch.setenv("PHYSAPP_MAX_UNKNOWNS", "lots")
    with pytest.raises(MemoryLimitError, match="PHYSAPP_MAX_UNKNOWNS='lots'"):
        check_study_solve(study, params, 1)


def test_3d_estimate_scales_with_the_volume(monkeypatch):
    """The L-bracket (3D): the cells of the estimate grow as 1/h^3; a too-fine size is refused
    against the memory with a size that fits and the bracket's dimensions."""
    from physapp.core.memory import check_study_solve
    from physapp.studies import get_study

    study = get_study("l-bracket")
    dim, n_coarse = study_mesh_estimate(study, study.check({"mesh_size": 0.004}))
    dim, n_fine = study_mesh_estimate(study, study.check({"mesh_size": 0.002}))
    assert dim == 3 and 5 < n_fine / n_coarse < 11  # (0.004 / 0.002)^3 = 8
    monkeypatch.setenv("PHYSAPP_MEMORY_LIMIT", "512M")
    with pytest.raises(MemoryLimitError, match=r"512.0 MB available on this computer; use "
                                               r"mesh_size >= \d") as err:
        check_study_solve(study, study.check({"mesh_size": 0.002}), 2)
    assert "arm_x = " in str(err.value) and "elements" in str(err.value)


def test_sweep_and_read_are_checked(tmp_path):
    out = tmp_path / "s.h5"
    r = _cli("sweep", "plate-with-hole", "--samples", "8", "--set", "mesh_size=0.0005",
             "--workers", "2", "--out", out)
    assert r.returncode == 1 and "fewer workers" in r.stderr and not out.exists()
    big = tmp_path / "big.msh"
    big.write_bytes(b"$MeshFormat\n4.1 0 8\n$EndMeshFormat\n" + b" " * 2_000_000)
    r = _cli("info", big, limit="4M")
    assert r.returncode == 1 and "Reading 'big.msh' would need about" in r.stderr


def test_sparse_msh_is_refused_at_once(tmp_path):
    from physapp.io.readers import ImportError_, read_mesh

    path = tmp_path / "sparse.msh"
    with open(path, "wb") as fh:
        fh.truncate(2 * 1024**3)
    t0 = time.monotonic()
    with pytest.raises(ImportError_, match="is not a Gmsh MSH file"):
        read_mesh(path)
    assert time.monotonic() - t0 < 5

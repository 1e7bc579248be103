"""The house rules of ARCHITECTURE.md, enforced: import-linter contracts from pyproject.toml."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = pathlib.Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "broken" in proc.stdout and "0 broken" in proc.stdout


def test_core_has_no_heavy_imports_even_in_functions():
    banned = ("PySide6", "vtk", "pyvista", "pyvistaqt", "torch", "skfem", "gmsh", "superqt")
    for path in (ROOT / "physapp" / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in banned, f"{path}: imports {name}"


def test_importing_physapp_core_and_cli_stays_light():
    code = ("import sys, physapp.core, physapp.cli, physapp.studies; "
            "bad=[m for m in ('torch','PySide6','vtk','pyvista','skfem','gmsh') if m in sys.modules];"
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

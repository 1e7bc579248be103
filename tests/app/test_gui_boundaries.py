"""Controllers change the model and use the window's public API only (issue #12): counted in
the source, without Qt."""

from __future__ import annotations

import ast
import pathlib

GUI = pathlib.Path(__file__).resolve().parents[2] / "physapp" / "gui"
PLUGINS = pathlib.Path(__file__).resolve().parents[2] / "plugins"
WINDOW_NAMES = {"w", "win", "window", "window_", "main_window"}


def _is_window(node: ast.AST) -> bool:
    """``w`` / ``window`` / ``self.window`` / ``self.ctl.window`` and the like."""
    if isinstance(node, ast.Name):
        return node.id in WINDOW_NAMES
    return isinstance(node, ast.Attribute) and node.attr in WINDOW_NAMES


def _private_window_accesses(path: pathlib.Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and _is_window(node.value) and \
                node.attr.startswith("_"):
            found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    return found


def test_no_controller_touches_a_private_attribute_of_the_main_window():
    files = [p for p in GUI.glob("*.py") if p.name not in ("main_window.py", "__init__.py")]
    files += list(PLUGINS.rglob("*.py"))
    assert len(files) > 15  # the scan sees the controllers
    accesses = [a for p in files for a in _private_window_accesses(p)]
    assert accesses == []


def test_the_scan_finds_a_private_access(tmp_path):
    sample = tmp_path / "controller.py"
    sample.write_text("class C:\n    def f(self, w):\n        self.window._job = None\n"
                      "        w._action()\n        self.window.app.solve.job = 0\n")
    assert len(_private_window_accesses(sample)) == 2

"""Packaging: the wheel and sdist carry the package data a pip-installed physapp needs (#21), and
the desktop app refuses to start without a display with one clear line."""

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from physapp.cli import gui_preflight

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    # the build backend (setuptools) is installed here: build with it rather than in a fresh
    # isolated environment (which installs setuptools again for each of sdist and wheel)
    from importlib.metadata import PackageNotFoundError, version

    try:
        isolation = ["--no-isolation"] if int(version("setuptools").split(".")[0]) >= 68 else []
    except (PackageNotFoundError, ValueError):
        isolation = []
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--sdist", *isolation, "--outdir",
                    str(out), str(ROOT)], check=True, capture_output=True, text=True, timeout=600)
    wheel = next(out.glob("physapp-*.whl"))
    sdist = next(out.glob("physapp-*.tar.gz"))
    return (zipfile.ZipFile(wheel).namelist(),
            [n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n])


NEEDED = ["physapp/plugins/builtin.toml",  # the built-in studies, solvers, readers, writers
          "physapp/resources/surrogates/plate-with-hole/pod-gp.pt",  # a shipped model
          "physapp/resources/plugins/pressure_vessel/plugin.toml",  # the example plugin
          "physapp/resources/plugins/pressure_vessel/pressure_vessel/study.py",
          "physapp/resources/icons/physapp.svg"]


def test_wheel_and_sdist_carry_the_package_data_and_nothing_else(built):
    wheel, sdist = built
    shipped = [p.relative_to(ROOT).as_posix()
               for p in (ROOT / "physapp" / "resources" / "surrogates").glob("*/*.pt")]
    for names in (wheel, sdist):
        for path in NEEDED + shipped:  # every shipped model (pod-gp; the bottle's history ones)
            assert path in names, path
        assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in wheel if n.startswith(("benchmarks/", "tools/", "packaging/"))]


def test_the_app_without_a_display_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY",
                                                             "QT_QPA_PLATFORM")}
    assert "needs a display" in gui_preflight(env)
    out = subprocess.run([sys.executable, "-m", "physapp", "gui", "--study", "plate-with-hole"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a display" in lines[0] and "--help" in lines[0]


def test_a_display_is_enough():
    assert gui_preflight({"DISPLAY": ":0"}) == "" or "libGL" in gui_preflight({"DISPLAY": ":0"})
    assert gui_preflight({"QT_QPA_PLATFORM": "offscreen"}) == ""


def test_the_menu_entry_and_the_about_box_show_the_same_name_icon_and_description():
    from xml.etree import ElementTree

    import physapp
    from physapp.gui.window_menus import about_html

    entry = dict(line.split("=", 1) for line in
                 (ROOT / "packaging" / "physapp.desktop").read_text().splitlines() if "=" in line)
    assert entry["Name"] == "physapp" and entry["Icon"] == "physapp"
    assert entry["Comment"] == physapp.DESCRIPTION
    # the icon install.sh installs (and the app's window icon) is an SVG image
    root = ElementTree.parse(ROOT / "physapp" / "resources" / "icons" / "physapp.svg").getroot()
    assert root.tag.endswith("svg")
    html = about_html("Plate with a hole (SI)")
    assert f"physapp {physapp.__version__}" in html and physapp.DESCRIPTION in html
    assert "Plate with a hole (SI)" in html

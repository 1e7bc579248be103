"""Opening a solid part: the viewport's surface and grid arrays are found in the reading
process, not on the GUI thread (#16: a million-tet part stalled the GUI thread 1.3 s)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from physapp.core import display_mesh
from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.open_file import READER_PRELOAD
from physapp.gui.qt_job_runner import QtJobRunner
from physapp.studies import get_study

pytestmark = pytest.mark.gui

BOX = Path(__file__).parents[1] / "data" / "meshes" / "box.msh"  # unit cube, 1105 tets


@pytest.fixture
def win(qtbot, shared_runner, tmp_path):
    configure_pyvista()
    w = MainWindow(get_study("plate-with-hole"), auto_solve=False, runner=shared_runner,
                   settings_store=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    reader = QtJobRunner(preload=READER_PRELOAD)
    w.parts.set_read_runner(reader)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    reader.shutdown()


def test_the_surface_of_an_opened_solid_comes_from_the_reading_process(qtbot, win, monkeypatch):
    threads = []  # the threads of this (GUI) process that computed a surface: none
    original = display_mesh.outer_triangles

    def spy(mesh):
        threads.append(threading.current_thread().name)
        return original(mesh)

    monkeypatch.setattr(display_mesh, "outer_triangles", spy)
    monkeypatch.setattr("physapp.viz.surface.outer_triangles", spy)
    win.open_file(str(BOX))
    qtbot.waitUntil(lambda: win.parts.active and win.viewport.n_points > 0, timeout=30_000)
    mesh = win.viewport.mesh
    assert threads == []  # neither the GUI thread nor another of this process did it
    arrays = display_mesh.known(mesh)
    assert arrays is not None and win.viewport._surface_tris is arrays.triangles
    # the arrays handed over are the cube's outer surface: six unit faces, turned outward
    p = mesh.points[arrays.triangles]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    assert abs(0.5 * np.linalg.norm(cross, axis=1).sum() - 6.0) < 1e-9
    outward = np.einsum("ij,ij->i", cross, p.mean(axis=1) - 0.5)
    assert (outward > 0).all()
    assert np.array_equal(np.sort(arrays.triangles, axis=1),
                          np.sort(original(mesh), axis=1))  # what the GUI thread used to find
    assert win.viewport.grid.n_cells == 1105


def test_the_boundary_facets_for_picking_are_found_on_a_worker_thread(qtbot, win, monkeypatch):
    import physapp.gui.part_view as part_view

    threads = []
    original = part_view.BoundaryFacets

    def spy(mesh):
        threads.append(threading.current_thread().name)
        return original(mesh)

    monkeypatch.setattr(part_view, "BoundaryFacets", spy)
    win.open_file(str(BOX))
    qtbot.waitUntil(lambda: win.parts.active and win.viewport.n_points > 0, timeout=30_000)
    qtbot.waitUntil(lambda: win.parts.facets_ready, timeout=10_000)
    facets = win.parts.facets
    assert len(threads) == 1 and threads[0].startswith("physapp-facets")
    assert threads[0] != threading.main_thread().name
    # the cube's six faces, 104 triangles each (front, back and top are named regions of 104)
    assert len(facets) == 624 and facets.mesh is win.parts.mesh
    top = facets.index_of(win.parts.mesh.boundaries["top"])
    assert (top >= 0).all() and np.allclose(facets.normals[top], [0, 1, 0])  # top is y = 1

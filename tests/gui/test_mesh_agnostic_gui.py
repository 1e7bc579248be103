"""A mesh-agnostic surrogate of a topology-changing study in the app (#19): moving n_holes
re-meshes the design with the study's mesher (on the prediction worker) and the prediction
follows. A tiny Transolver (2 epochs) of a 5-design perforated-plate sweep; the oracle is the
number of holes of the shown mesh (boundary loops), not the accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from physapp.gui.app import configure_pyvista
from physapp.gui.main_window import MainWindow
from physapp.gui.settings import AppSettings
from physapp.studies import get_study

pytestmark = pytest.mark.gui

FRAME_MS = 30_000  # the first prediction loads torch and meshes with gmsh on a loaded machine


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    import torch

    from physapp.api import _InProcess
    from physapp.compute.cluster import run_sweep_on
    from physapp.surrogates.dataset import Dataset
    from physapp.surrogates.ensemble import train_on_samples
    from physapp.surrogates.storage import save_surrogate

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("perf")
    ds = Dataset.create(out / "perf.h5", "perforated-plate", 5, "lhs", 0, 0.4,
                        vary=["n_holes", "traction"], fixed={"mesh_size": 0.02}, order=1)
    run_sweep_on(ds, _InProcess(), poll=0.0)  # in this process: no worker start
    model = train_on_samples("transolver", ds.mesh_samples(), device="cpu", epochs=2)
    torch.set_num_threads(threads)
    return save_surrogate(model, out / "perf-transolver.pt")


def _holes(mesh) -> int:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    tri = mesh.cells[0].connectivity[:, :3]
    e = np.sort(np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), axis=1)
    uniq, counts = np.unique(e, axis=0, return_counts=True)
    b = uniq[counts == 1]
    n = mesh.n_points
    _, labels = connected_components(coo_matrix((np.ones(len(b)), (b[:, 0], b[:, 1])),
                                                shape=(n, n)), directed=False)
    return len(np.unique(labels[np.unique(b)])) - 1


def test_moving_n_holes_remeshes_and_the_prediction_follows(qtbot, shared_runner, model_path):
    configure_pyvista()
    win = MainWindow(get_study("perforated-plate"), auto_solve=False, runner=shared_runner)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.apply_settings(AppSettings(device="cpu", workers=1, element_order=1))
    win.panel.rows["mesh_size"].slider.setValue(20.0)  # mm: the model's fixed element size
    qtbot.waitUntil(lambda: win.viewport.grid is not None, timeout=10_000)
    c = win.surrogates
    c.load_file(model_path)
    qtbot.waitUntil(lambda: c.showing and c.last_prediction is not None, timeout=FRAME_MS)
    assert c.current.loaded.model.mesher is not None
    for n in (1, 3):
        win.panel.rows["n_holes"].slider.setValue(float(n))
        qtbot.waitUntil(lambda: c.last_prediction is not None
                        and c.last_prediction.request_id >= c.latest_request
                        and not win.viewport.frame_pending, timeout=FRAME_MS)
        res = c.last_prediction.result
        assert _holes(res.mesh) == n
        assert win.viewport.n_points == res.mesh.n_points
    win.close()

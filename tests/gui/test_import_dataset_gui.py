"""File > Import data set... (#19): the dialog, the background import and its problem report."""

from __future__ import annotations

import meshio
import numpy as np
from PySide6.QtWidgets import QDialogButtonBox

from physapp.surrogates.dataset import Dataset

IMPORT_TIMEOUT_MS = 60_000


def _folder(path, n_good=4):
    """Small square meshes (different sizes), an input and an output array, a params table and
    one file whose output has a NaN."""
    path.mkdir()
    rows = ["file,scale [1]"]
    for i in range(n_good + 1):
        m = 3 + i
        x, y = np.meshgrid(np.linspace(0, 1, m), np.linspace(0, 1, m))
        pts = np.column_stack([x.ravel(), y.ravel(), np.zeros(m * m)])
        idx = np.arange(m * m).reshape(m, m)
        a, b, c, d = (idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, 1:].ravel(),
                      idx[1:, :-1].ravel())
        tri = np.vstack([np.column_stack([a, b, c]), np.column_stack([a, c, d])])
        u = (i + 1.0) * pts[:, 0] * (1 - pts[:, 0])
        if i == n_good:
            u[0] = np.nan
        meshio.write(path / f"s{i}.vtu", meshio.Mesh(pts, [("triangle", tri)], point_data={
            "k": 1 + pts[:, 1], "u [K]": u}))
        rows.append(f"s{i}.vtu,{i + 1.0}")
    (path / "params.csv").write_text("\n".join(rows) + "\n")


def test_import_data_set_runs_in_the_background_and_lists_problems(qtbot, window, tmp_path):
    _folder(tmp_path / "runs")
    ctl = window.dataset_import
    assert "file.import_dataset" in window.actions
    window.actions["file.import_dataset"].trigger()
    dialog = ctl.dialog
    assert dialog is not None and dialog.isVisible()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    ok.click()  # nothing filled in: refused in the dialog, which stays open
    assert dialog.isVisible() and "folder" in dialog.error.text()
    dialog.folder.setText(str(tmp_path / "runs"))
    dialog.inputs.setText("k")
    dialog.outputs.setText("u")
    dialog.params.setText(str(tmp_path / "runs" / "params.csv"))
    dialog.out.setText(str(tmp_path / "runs.h5"))
    with qtbot.waitSignal(ctl.imported, timeout=IMPORT_TIMEOUT_MS):
        ok.click()
        assert ctl.busy  # the import runs in a child process; the GUI thread is free
    result = ctl.last_result
    assert result["files"] == [f"s{i}.vtu" for i in range(4)]
    assert result["problems"] == ["s4.vtu: 'u' has 1 NaN or infinite value(s)"]
    text = window.message_bar.text()
    assert "imported 4 file(s)" in text and "s4.vtu: 'u' has 1 NaN" in text
    data = Dataset.open(tmp_path / "runs.h5").mesh_samples()
    assert [s.params["scale"] for s in data.samples] == [1.0, 2.0, 3.0, 4.0]
    assert data.units["u"] == "K" and data.input_names == ("k",)
    # a refused import is an error message, nothing written
    with qtbot.waitSignal(ctl.failed, timeout=IMPORT_TIMEOUT_MS):
        ctl.start(str(tmp_path / "runs"), str(tmp_path / "strict.h5"), inputs=["k"],
                  outputs=["u"], params=str(tmp_path / "runs" / "params.csv"), strict=True)
    assert "Import refused" in ctl.last_error and "s4.vtu" in ctl.last_error
    assert not (tmp_path / "strict.h5").exists()

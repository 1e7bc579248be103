"""POD-GP prediction without torch (issue #13): the numpy evaluator against the torch path.

Oracles: torch's own ``torch.load`` (the torch-free reader must give the same arrays, bit for
bit) and the torch POD-GP model, in float64, on the shipped models and on fresh models of every
kernel and trend: the predicted fields, node coordinates and GP means agree to 1e-10 of their
magnitude, the variances (the GP's and the std fields' squares) to 1e-10 of the prior variance.
A variance is ``k** - k*' K^-1 k*``, a difference of nearly equal numbers (kernel matrices of
condition number up to 5e9 in the flow models), so its rounding is on the scale of the prior
``k**``: measured against a small posterior variance the two LAPACK builds differ by ~1e-8.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from physapp.core.errors import PhysappError
from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.data import TrainingData
from physapp.surrogates.ptzip import UnsupportedPayload, read_payload

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "physapp" / "resources").rglob("pod-gp.pt"))
TOL = 1e-10


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _close(a: np.ndarray, b: np.ndarray, what: str, scale: float | np.ndarray | None = None
           ) -> None:
    """|a - b| <= TOL * scale (default: the largest |b|)."""
    if scale is None:
        scale = max(float(np.abs(b).max()), 1e-300) if b.size else 1.0
    err = np.abs(a - b) / np.maximum(scale, 1e-300)
    worst = float(err.max()) if err.size else 0.0
    assert worst <= TOL, f"{what}: max difference {worst:.3g} of its scale"


def _compare(npm, ft: dict, fn: dict) -> None:
    """Fields and coordinates by their magnitude; std fields as variances, by the prior
    variance of each node (the scale their rounding has, see the module docstring)."""
    assert set(fn) == set(ft)
    prior = (npm.gp.h["signal_var"] + npm.gp.h["noise_var"]) * npm.gp.y_scale**2
    for k in ft:
        assert ft[k].dtype == torch_float64()
        if not k.endswith("_std"):
            _close(fn[k], ft[k].numpy(), k)
            continue
        b, sl = npm.bases[k[:-4]], npm._slices[k[:-4]]
        field_prior = b.residual_var + prior[sl] @ b.modes_sq_t
        _close(fn[k] ** 2, ft[k].numpy() ** 2, f"{k} squared", field_prior.max())


def torch_float64():
    import torch

    return torch.float64


def _design_points(model, n: int, seed: int) -> np.ndarray:
    """Normalised designs inside the trained range and 20 % beyond it on each side."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.2, 1.2, size=(n, len(model.param_names)))


def test_shipped_models_are_there():
    assert len(SHIPPED) >= 5


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.parent.name if p.parent.name !=
                         "surrogates" else p.parent.parent.name)
def test_the_reader_gives_torchs_arrays_and_the_same_fields(path):
    import torch

    from physapp.surrogates.storage import load_surrogate

    ours = read_payload(path)
    ref = torch.load(path, map_location="cpu", weights_only=True)
    assert {k: v for k, v in ours.items() if k != "tensors"} == \
        {k: v for k, v in ref.items() if k != "tensors"}
    assert set(ours["tensors"]) == set(ref["tensors"])
    for k, t in ref["tensors"].items():
        a = ours["tensors"][k]
        assert a.dtype == t.numpy().dtype and a.shape == tuple(t.shape), k
        assert np.array_equal(a, t.numpy()), k

    npm = load_surrogate(path, numpy=True)
    tm = load_surrogate(path, device="cpu")
    assert type(npm).__name__ == "NumpyPodGPSurrogate" and npm.id == tm.id
    xn = _design_points(tm, 5, seed=len(path.parent.name))
    # the GP posterior (means and variances of every POD coefficient)
    if tm.gp is not None:
        x64 = torch.as_tensor(xn, dtype=torch.float64)
        mean_t, var_t = tm.gp.predict(x64)
        mean_n, var_n = npm.gp.predict(xn)
        _close(mean_n, mean_t.numpy(), "GP means")  # POD coefficients, in the field units
        g = npm.gp
        prior = (g.h["signal_var"] + g.h["noise_var"]) * g.y_scale**2
        _close(var_n, var_t.numpy(), "GP variances", prior)
    # the fields, their std and the node coordinates before the cast to float32
    with torch.inference_mode():
        ft = tm._forward(torch.as_tensor(xn, dtype=torch.float32), with_coords=True)
    fn = npm.forward64(xn, with_coords=True)
    _compare(npm, ft, fn)
    # the public prediction (float32, physical scaling undone): the same to float32 rounding
    params = dict(zip(tm.param_names, tm.info.denormalise(xn[0]).tolist(), strict=True))
    rt, rn = tm.predict(params), npm.predict(params)
    assert rn.meta["out_of_range"] == rt.meta["out_of_range"]
    assert set(rn.point_data) == set(rt.point_data)
    for k, v in rt.point_data.items():
        np.testing.assert_allclose(rn.point_data[k], v, rtol=0,
                                   atol=3e-7 * max(float(np.abs(v).max()), 1e-30), err_msg=k)
    np.testing.assert_allclose(rn.mesh.points, rt.mesh.points, rtol=0, atol=1e-6 * float(
        np.abs(rt.mesh.points).max()))


def _synthetic(coords_vary: bool) -> TrainingData:
    """A smooth nonlinear response of 3 parameters on a small 2D mesh."""
    rng = np.random.default_rng(4)
    gx, gy = np.meshgrid(np.linspace(0, 1, 6), np.linspace(0, 1, 5))
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    tri = np.array([[i, i + 1, i + 6] for i in range(20) if (i + 1) % 6])
    mesh = MeshData(pts, (CellBlock("triangle", tri),), dim=2)
    X = rng.uniform([1.0, 0.5, -1.0], [4.0, 2.0, 1.0], size=(20, 3))
    x, y = pts[:, 0], pts[:, 1]
    temp = np.stack([np.sin(a * x) * np.exp(-b * y) + c * x * y for a, b, c in X])
    vec = np.stack([np.column_stack([a * x**2, np.cos(b * y + c)]) for a, b, c in X])
    coords = np.stack([pts * (1 + (0.1 * a if coords_vary else 0.0)) for a, _, _ in X])
    return TrainingData("synthetic", ("a", "b", "c"), np.array([[1, 4], [0.5, 2], [-1, 1.0]]),
                        {"k": 2.0}, mesh, X, coords.astype(np.float32),
                        {"temp": temp.astype(np.float32), "vec": vec.astype(np.float32)},
                        {"temp": "K", "vec": "m"})


@pytest.mark.parametrize("kernel,trend,coords_vary", [("matern52", "constant", False),
                                                      ("rbf", "linear", True)])
def test_fresh_models_of_every_kernel_and_trend(tmp_path, kernel, trend, coords_vary):
    import torch

    from physapp.surrogates.models.pod import PodGPSurrogate
    from physapp.surrogates.storage import load_surrogate, save_surrogate

    data = _synthetic(coords_vary)
    model = PodGPSurrogate.fit(data, device="cpu", kernel=kernel, trend=trend, epochs=40,
                               restarts=2)
    model.field_scaling = {"temp": {"powers": {"a": 1}, "offset": "k"}}
    path = save_surrogate(model, tmp_path / "m.pt")
    npm = load_surrogate(path, numpy=True)
    tm = load_surrogate(path, device="cpu")
    assert npm.gp.trend == trend and npm.info.coords_vary == coords_vary
    xn = _design_points(tm, 7, seed=3)
    with torch.inference_mode():
        ft = tm._forward(torch.as_tensor(xn, dtype=torch.float32), with_coords=True)
    fn = npm.forward64(xn, with_coords=True)
    assert set(fn) == {"temp", "vec", "temp_std", "vec_std", *(["coords"] if coords_vary else [])}
    _compare(npm, ft, fn)
    # a subset of the fields, and the batch entry point with the scaling undone
    sub = npm.forward64(xn, with_coords=False, fields=["vec"])
    assert set(sub) == {"vec", "vec_std"}
    _close(sub["vec"], fn["vec"], "subset")
    X = data.X[:4]
    an, at = npm.predict_arrays(X), tm.predict_arrays(X)
    for k in at:
        np.testing.assert_allclose(an[k], at[k], rtol=0,
                                   atol=3e-7 * float(np.abs(at[k]).max()), err_msg=k)


def test_other_kinds_still_load_with_torch(tmp_path):
    from physapp.surrogates.models.pod import LinearSurrogate
    from physapp.surrogates.storage import load_surrogate, numpy_capable, save_surrogate

    path = save_surrogate(LinearSurrogate.fit(_synthetic(False), device="cpu"),
                          tmp_path / "lin.pt")
    assert not numpy_capable(path)
    assert type(load_surrogate(path, numpy=True)) is LinearSurrogate
    assert numpy_capable(SHIPPED[0])


def test_damaged_and_foreign_files_are_refused(tmp_path):
    from physapp.surrogates.storage import load_surrogate, numpy_capable

    good = SHIPPED[0].read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(PhysappError, match="truncated or corrupt"):
        load_surrogate(cut, numpy=True)
    assert not numpy_capable(cut)
    # a pickle that would call something: refused before anything runs
    evil = tmp_path / "evil.pt"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps({"format": os.system}))
    with pytest.raises(UnsupportedPayload, match="posix.system|os.system"):
        read_payload(evil)
    with pytest.raises(PhysappError, match="truncated or corrupt"):
        load_surrogate(evil, numpy=True)
    with pytest.raises(PhysappError, match="not a physapp surrogate"):
        z = tmp_path / "other.pt"
        with zipfile.ZipFile(z, "w") as f:
            f.writestr("x/data.pkl", pickle.dumps({"format": "something else"}))
        load_surrogate(z, numpy=True)


def test_loading_and_predicting_a_shipped_model_does_not_import_torch():
    code = ("import sys, json\n"
            "from physapp.surrogates.storage import load_surrogate\n"
            f"m = load_surrogate({str(SHIPPED[0])!r}, numpy=True, study_id=None)\n"
            "r = m.predict({})\n"
            "print(json.dumps({'torch': 'torch' in sys.modules, 'fields': len(r.point_data),\n"
            "                  'device': r.meta['device']}))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert res == {"torch": False, "fields": res["fields"], "device": "cpu"}
    assert res["fields"] >= 2

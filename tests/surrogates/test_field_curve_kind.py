"""The field-and-curve hybrid as an app model kind (#22 item: both surrogates in the comparison
table, a calibrated band): ``physapp train DATA --model curve-gp,field-curve`` trains both on a
sweep's histories and prints one table; the saved field-curve model predicts the same history
after loading; its band is a split-conformal quantile of held-out residuals.

Data: the synthetic histories of history_synth (closed form, 8 designs). The network is tiny and
trains for a few epochs (fast); the oracle for the band is the conformal quantile itself.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from history_synth import make_dataset

from physapp.cli import main
from physapp.surrogates.models.field_curve_model import LEVEL, _quantile
from physapp.surrogates.models.history_model import train_history
from physapp.surrogates.storage import load_surrogate, save_surrogate

TINY = {"width": 16, "layers": 1, "heads": 2, "slices": 4, "rank": 4, "latent": 16,
        "epochs": 10, "nodes": 32, "batch": 8, "ensemble": 2, "iters": 30}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("fc") / "h.h5")


def test_conformal_quantile_covers_its_level():
    rng = np.random.default_rng(0)
    scores = np.abs(rng.standard_normal(999))
    q = _quantile(scores)
    assert np.mean(scores <= q) >= LEVEL
    assert q == pytest.approx(1.96, rel=0.1)  # |N(0, 1)|: its 95 % point


def test_field_curve_trains_on_histories_saves_and_loads(dataset, tmp_path):
    model = train_history("field-curve", dataset.history_data(), **TINY)
    m = model.metrics
    assert m["n_test"] == 2 and m["n_frames"] == 12
    assert model.options["calibration_designs"] == 1  # 6 training histories: 1 calibrates
    cal = model.arrays["cal_curve"]
    assert cal.shape == (1,) and np.isfinite(cal).all() and (cal > 0).all()
    # the first frame is the designs' initial state (25 degC), learned as an offset
    h = model.predict_history({"power": 20.0, "h": 25.0})
    np.testing.assert_allclose(h.point_data["temperature"][0], 25.0, atol=1e-4)
    assert h.curves["peak_temperature"][0] == pytest.approx(25.0, rel=1e-6)
    std = h.meta["curve_std"]["peak_temperature"]
    assert std.shape == (12,) and (std[1:] > 0).all()
    loaded = load_surrogate(save_surrogate(model, tmp_path / "fc.pt"))
    g = loaded.predict_history({"power": 20.0, "h": 25.0})
    np.testing.assert_allclose(g.point_data["temperature"], h.point_data["temperature"],
                               rtol=1e-5)
    np.testing.assert_allclose(g.meta["curve_std"]["peak_temperature"], std, rtol=1e-5)
    last = loaded.predict({"power": 20.0, "h": 25.0})  # the single-state answer: last frame
    np.testing.assert_allclose(last.point_data["temperature"], g.point_data["temperature"][-1],
                               rtol=1e-5)


def test_cli_compares_curve_gp_and_field_curve(dataset, tmp_path, capsys):
    out = tmp_path / "m.pt"
    # --epochs: the network's epochs of field-curve, the GP iterations of curve-gp
    assert main(["train", str(dataset.path), "--model", "curve-gp,field-curve", "--epochs",
                 "4", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "curve-gp" in text and "field-curve" in text and "curve peak_temperature" in text
    assert (tmp_path / "m-curve-gp.pt").is_file() and (tmp_path / "m-field-curve.pt").is_file()
    assert main(["predict", str(tmp_path / "m-field-curve.pt"), "--set", "power=20", "--out",
                 str(tmp_path / "p.pvd"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["model"] == "field-curve" and len(s["curves_std"]["peak_temperature"]) == 12


def test_thinned_history_keeps_every_kth_frame_and_the_last(dataset):
    hd = dataset.history_data()
    thin = hd.thinned(4)  # 12 frames: 0, 4, 8 and the last
    np.testing.assert_allclose(thin.times, hd.times[[0, 4, 8, 11]])
    np.testing.assert_allclose(thin.fields["temperature"], hd.fields["temperature"][:, [0, 4, 8,
                                                                                         11]])
    assert thin.curves["peak_temperature"].shape == (hd.n_samples, 4)
    assert hd.thinned(12) is hd

"""The phase-aware and neural-field history kinds and the calibrated bands (#18).

Oracles: a travelling wave whose frequency depends on the parameter (the phase-aware kind must
predict a held-out history closely, time as a plain input smears it), held-out error bounds of
the neural field with time as an input on the synthetic transient heat-sink histories (closed
form, see history_synth) against the trivial prediction, and the share of held-out values inside
the calibrated +-1.96 std bands near 95 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from physapp.core.errors import PhysappError
from physapp.core.mesh import CellBlock, MeshData
from physapp.surrogates.history_data import HistoryData
from physapp.surrogates.models.history_model import train_history
from physapp.surrogates.storage import load_surrogate, save_surrogate

NX = 30
TIMES = np.linspace(0.0, 4.0, 41)


def _strip() -> MeshData:
    x = np.linspace(0.0, 1.0, NX)
    pts = np.column_stack([np.r_[x, x], np.r_[np.zeros(NX), np.full(NX, 0.1)], np.zeros(2 * NX)])
    tri = [[i, i + 1, NX + i] for i in range(NX - 1)] + \
          [[i + 1, NX + i + 1, NX + i] for i in range(NX - 1)]
    return MeshData(pts, (CellBlock("triangle", np.array(tri)),), {}, {}, 2)


def _wave(p: float) -> tuple[np.ndarray, np.ndarray]:
    """Field (F, n) travelling at frequency 1 + 0.6 p, amplitude 1 + p / 2; its 'lift'."""
    f = 1.0 + 0.6 * p
    x = _strip().points[:, 0]
    u = (1 + 0.5 * p) * np.sin(2 * np.pi * (x[None] - f * TIMES[:, None]) + 0.5)
    # the lift: a start-up swing (a common event to count cycles from), then periodic
    return u, -np.cos(2 * np.pi * f * TIMES) * (1 + np.exp(-TIMES / 0.3))


def wave_data(train=np.linspace(0.0, 1.0, 7), test=np.array([0.25, 0.58, 0.83])) -> HistoryData:
    ps = np.r_[train, test]
    mesh = _strip()
    u, cl = zip(*(_wave(p) for p in ps), strict=True)
    return HistoryData("wave", ("p",), np.array([[0.0, 1.0]]), {}, mesh, ps[:, None], TIMES,
                       np.broadcast_to(mesh.points[:, :2], (len(ps), 2 * NX, 2)).copy(),
                       {"u": np.array(u, np.float32)}, {"cl": np.array(cl)},
                       is_test=np.r_[np.zeros(len(train), bool), np.ones(len(test), bool)])


@pytest.fixture(scope="module")
def waves():
    data = wave_data()
    opts = {"iters": 20, "restarts": 1, "max_points": 150}
    return data, {k: train_history(k, data, **opts) for k in ("pod-history-phase", "pod-history")}


def test_phase_aware_kind_predicts_a_shifted_frequency(waves, tmp_path):
    data, models = waves
    phase, plain = models["pod-history-phase"].metrics, models["pod-history"].metrics
    assert phase["fields"]["u"]["rel_l2"] < 0.05 and phase["curves"]["cl"]["rel_l2"] < 0.05
    # time as a plain input averages opposite phases of the neighbouring designs
    assert plain["fields"]["u"]["rel_l2"] > 5 * phase["fields"]["u"]["rel_l2"]
    model = load_surrogate(save_surrogate(models["pod-history-phase"], tmp_path / "m.pt"))
    assert model.kind == "pod-history-phase"
    assert model.predicted_frequency({"p": 0.58}) == pytest.approx(1.348, rel=0.01)
    h = model.predict_history({"p": 0.58})
    np.testing.assert_allclose(h.point_data["u"], _wave(0.58)[0], atol=0.1)


def test_calibrated_bands_hold_about_95_percent(waves):
    _, models = waves
    m = models["pod-history-phase"]
    scales = m.metrics["std_scale"]
    assert set(scales) == {"u", "curve cl"} and all(s > 0 for s in scales.values())
    # held-out designs never entered the calibration (left-out training histories did)
    assert 0.85 <= m.metrics["fields"]["u"]["coverage95"] <= 1.0
    assert 0.85 <= m.metrics["curves"]["cl"]["coverage95"] <= 1.0


def test_phase_kind_refuses_histories_without_a_periodic_curve():
    data = wave_data()
    data.curves = {"cl": np.tile(np.linspace(0, 1, len(TIMES)), (data.n_samples, 1))}
    with pytest.raises(PhysappError, match="periodic curve"):
        train_history("pod-history-phase", data, iters=5, restarts=1)


def conduction_data(n_train: int = 8, n_test: int = 3) -> HistoryData:
    """Transient conduction into a semi-infinite solid whose surface is held at Ts from t = 0:
    T(x, t) = 20 + (Ts - 20) erfc(x / (2 sqrt(alpha t))) (x from 0 to 0.1 m, 40 to 400 s), for
    diffusivity alpha and surface temperature Ts; the curve is T at x = 10 mm."""
    from scipy.special import erfc

    rng = np.random.default_rng(1)
    X = np.column_stack([rng.uniform(2e-6, 1e-5, n_train + n_test),
                         rng.uniform(60.0, 200.0, n_train + n_test)])
    mesh = _strip()
    x = 0.1 * mesh.points[:, 0]
    mesh = MeshData(np.column_stack([x, 0.1 * mesh.points[:, 1:]]), mesh.cells, {}, {}, 2)
    t = np.linspace(40.0, 400.0, 12)

    def T(alpha, ts, xs):
        arg = xs[None] / (2 * np.sqrt(alpha * np.maximum(t, 1e-9)[:, None]))
        return 20.0 + (ts - 20.0) * erfc(arg)

    fields = np.array([T(a, ts, x) for a, ts in X], np.float32)
    probe = np.array([T(a, ts, np.array([0.01]))[:, 0] for a, ts in X])
    return HistoryData("conduction", ("alpha", "ts"), np.array([[2e-6, 1e-5], [60.0, 200.0]]),
                       {}, mesh, X, t, np.broadcast_to(mesh.points[:, :2], (len(X), 2 * NX, 2))
                       .copy(), {"temperature": fields}, {"T_probe": probe},
                       is_test=np.r_[np.zeros(n_train, bool), np.ones(n_test, bool)])


def test_neural_field_with_time_as_an_input(tmp_path):
    hd = conduction_data()
    model = train_history("neural-field-history", hd, epochs=300, width=32, depth=2, rank=16,
                          fourier=4, fourier_scale=1.0, lr=0.02, points=512,
                          samples_per_step=8, iters=20, restarts=1)
    test = hd.test()
    T = test.fields["temperature"].astype(np.float64)
    # the trivial direct answer: the training histories' mean history
    mean = hd.train().fields["temperature"].mean(axis=0)
    trivial = np.linalg.norm(T - mean) / np.linalg.norm(T)
    err = model.metrics["fields"]["temperature"]["rel_l2"]
    assert err < 0.06 and err < 0.35 * trivial  # measured 3.6 % against 18.8 %
    assert "coverage95" not in model.metrics["fields"]["temperature"]  # no field band
    assert model.metrics["curves"]["T_probe"]["rel_l2"] < 0.05
    loaded = load_surrogate(save_surrogate(model, tmp_path / "nf.pt"))
    design = {"alpha": 5e-6, "ts": 100.0}
    a, b = model.predict_history(design), loaded.predict_history(design)
    np.testing.assert_allclose(b.point_data["temperature"], a.point_data["temperature"],
                               rtol=1e-5)
    assert b.n_steps == 12 and b.point_data["temperature"].shape == (12, 2 * NX)


def test_sweeps_keep_enough_frames_to_time_the_shedding():
    from physapp.studies import get_study
    from physapp.surrogates.history_data import DEFAULT_FRAMES, default_frames

    karman = get_study("karman-street")
    assert default_frames(karman, {"t_end": 3.0}) == 121  # 40 per second
    assert default_frames(get_study("heat-sink-transient"), {"t_end": 600.0}) == DEFAULT_FRAMES

"""POD-GP baseline of a curve + field history (#22) on a smooth synthetic family with a known
answer: held-out errors are small and the curve's uncertainty band is honest."""

import numpy as np

from physapp.surrogates.doe import sample
from physapp.surrogates.models.curve_gp import CurveHistoryPodGP, relative_l2


def _family(X):
    """Curve a t / (1 + b t) (a softening force curve) and a field history t sin(a s + b)."""
    t = np.linspace(0.0, 1.0, 11)
    s = np.linspace(0.0, 1.0, 30)
    a, b = X[:, :1], X[:, 1:2]
    curves = a * t / (1.0 + b * t)
    fields = (t[None, :, None] * np.sin(a[:, :, None] * s[None, None, :] + b[:, :, None]))
    return curves, fields[..., None]  # (n, n_t), (n, n_t, n_points, 1)


def test_pod_gp_learns_a_smooth_curve_and_history_family():
    bounds = np.array([[1.0, 2.0], [0.0, 1.0]])
    X = sample(bounds, 24, "lhs", seed=1)
    Xt = sample(bounds, 8, "lhs", seed=2)
    c, f = _family(X)
    ct, ft = _family(Xt)
    model = CurveHistoryPodGP(max_modes=6, restarts=1, iters=80, warmup=20).fit(X, c, f, bounds)
    pred = model.predict(Xt)
    assert pred.curve.shape == ct.shape and pred.fields.shape == ft.shape
    e_c = max(relative_l2(pred.curve[i], ct[i]) for i in range(len(Xt)))
    e_f = max(relative_l2(pred.fields[i], ft[i]) for i in range(len(Xt)))
    print(f"held-out max relative L2: curve {e_c:.2e}, field history {e_f:.2e}")
    assert e_c < 0.01 and e_f < 0.03
    # at a training design the band is narrow, between them it is wider
    at_train = model.predict(X[:1])
    assert at_train.curve_std.max() <= pred.curve_std.max()
    assert relative_l2(at_train.curve[0], c[0]) < 1e-3

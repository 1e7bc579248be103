"""History surrogates (#18) on a travelling wave whose frequency depends on the parameter: the
phase-aligned direct model predicts a held-out history, the unaligned one (time as an input)
smears it. The step-by-step rollout is compared on the Karman street in benchmarks/karman.py."""

import numpy as np
import pytest

from physapp.surrogates.models.pod_history import PodTimeGP, crossing_phase, relative_error

X = np.linspace(0.0, 1.0, 40)
T_ALL = np.linspace(0.0, 4.0, 401)


def _frequency(p):
    return 1.0 + 0.6 * p


def _history(p):
    """A wave travelling at the frequency f(p) (amplitude 1 + p / 2) and its 'lift' signal."""
    f = _frequency(p)
    field = (1 + 0.5 * p) * np.sin(2 * np.pi * (X[None] - f * T_ALL[:, None] + 0.25))
    lift = -np.cos(2 * np.pi * f * T_ALL)  # starts at its minimum: a clear first crossing
    return field, lift


def test_crossing_phase_counts_cycles():
    t = np.linspace(0.0, 3.0, 3001)
    phase, f = crossing_phase(t, np.sin(2 * np.pi * 2.0 * t - 0.5), t_count=0.0)
    assert f == pytest.approx(2.0, rel=1e-4)
    # first upward crossing at t = 0.5 / (2 pi 2): phase 0 there, +1 per period
    t_first = 0.5 / (4 * np.pi)
    assert np.interp(t_first + 1.25, t, phase) == pytest.approx(2.5, abs=1e-3)


def test_phase_alignment_beats_time_as_an_input():
    train = np.linspace(0.0, 1.0, 7)
    test = np.array([0.25, 0.58])
    window = T_ALL >= 2.0
    times = T_ALL[window][::16]

    def data(ps):
        fields, phases, freqs = [], [], []
        for p in ps:
            field, lift = _history(p)
            phase, f = crossing_phase(T_ALL, lift, t_count=0.0)
            fields.append(field[window][::16])
            phases.append(phase[window][::16])
            freqs.append(f)
        return np.array(fields), np.array(phases), np.array(freqs)

    snaps, phase, freq = data(train)
    truth, _, _ = data(test)
    params = train[:, None]
    aligned = PodTimeGP(align=True, iters=25, restarts=1).fit(params, times, snaps, phase, freq)
    direct = PodTimeGP(align=False, iters=25, restarts=1).fit(params, times, snaps)
    e_aligned = relative_error(aligned.predict(test[:, None], times), truth)
    e_direct = relative_error(direct.predict(test[:, None], times), truth)
    assert e_aligned < 0.05
    assert e_direct > 0.15 and e_direct > 5 * e_aligned

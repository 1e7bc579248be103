"""Karman vortex street: the DFG 2D-2 benchmark (Schaefer & Turek 1996) with the transient
Navier-Stokes solver, from rest to developed periodic shedding.

Run: .venv/bin/python benchmarks/karman.py [--mesh-size 0.04] [--dt 0.005] [--t-end 3.5]
     .venv/bin/python benchmarks/karman.py --surrogate   (history surrogates, coarse designs)

Prints DOFs, steps, wall time from rest to three periods of developed shedding (target <= 5 min
on this 2-core machine), peak memory, and c_D,max, c_L,max and the Strouhal number over the last
three lift periods against the published intervals. "Developed" = the first lift period from
which every period's lift and drag maxima stay within 1 % of the last period's.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np

from physapp.solvers.flow_transient import periodic_stats, solve_transient_navier_stokes
from physapp.studies import get_study

#: Schaefer & Turek (1996), DFG 2D-2 (Re = 100): intervals of the participants' best results
PUBLISHED = {"cd_max": (3.22, 3.24), "cl_max": (0.99, 1.01), "strouhal": (0.295, 0.305)}


def _period_starts(t: np.ndarray, cl: np.ndarray, t_from: float) -> np.ndarray:
    sel = t >= t_from
    tt, s = t[sel], cl[sel] - 0.5 * (cl[sel].max() + cl[sel].min())
    up = np.flatnonzero((s[:-1] < 0) & (s[1:] >= 0))
    return tt[up] - s[up] * (tt[up + 1] - tt[up]) / (s[up + 1] - s[up])


def developed_time(t, cd, cl, t_from, tol=0.01) -> float:
    """Start of the first lift period from which every period's cl and cd maxima are within
    ``tol`` of the last full period's (NaN when fewer than two periods)."""
    starts = _period_starts(t, cl, t_from)
    if len(starts) < 3:
        return math.nan
    peaks = []
    for a, b in zip(starts[:-1], starts[1:], strict=True):
        w = (t >= a) & (t < b)
        peaks.append((cl[w].max(), cd[w].max()))
    peaks = np.array(peaks)
    ok = np.all(np.abs(peaks - peaks[-1]) <= tol * np.abs(peaks[-1]), axis=1)
    first = len(ok) - 1
    while first > 0 and ok[first - 1]:
        first -= 1
    return float(starts[first])


def run(mesh_size: float, dt: float, t_end: float, sink=None) -> dict:
    """Solve DFG 2D-2 and print the table; ``sink`` (e.g. an HDF5 ``HistoryWriter``) keeps the
    history. Returns the measured numbers."""
    study = get_study("karman-street")
    params = study.check({"mesh_size": mesh_size, "time_step": dt, "t_end": t_end})
    t0 = time.perf_counter()
    mesh = study.build_mesh(params)
    t_mesh = time.perf_counter() - t0
    setup = study.setup(params)
    log: list[tuple[float, float, float, float]] = []

    def on_step(t, fields, curves):
        log.append((t, curves["cd"], curves["cl"], time.perf_counter() - t0))

    h = solve_transient_navier_stokes(mesh, setup, order=1, on_step=on_step, sink=sink)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, cd, cl, clock = (np.array(c) for c in zip(*log, strict=True))
    m = h.meta
    t_from = setup.periodic_from
    kq = periodic_stats(t, cd, cl, setup.flow.l_ref, setup.flow.u_ref, t_from)
    t_dev = developed_time(t, cd, cl, t_from)
    period = 1.0 / kq["frequency"] if kq["frequency"] > 0 else math.nan
    t_three = t_dev + 3 * period
    wall_three = float(np.interp(t_three, t, clock)) if t_three <= t[-1] else math.nan
    print(f"DFG 2D-2 (Re = {setup.flow.reynolds:.0f}), element size {mesh_size:g} m "
          f"(cylinder {mesh_size / 5:g} m), dt = {m['dt']:g} s, {m['scheme']}")
    rows = [
        ("unknowns (DOFs)", f"{m['n_dofs']}"),
        ("steps", f"{m['n_steps']} to t = {t[-1]:.3g} s"),
        ("LU factorisations / GMRES its", f"{m['factorisations']} / {m['gmres_iterations']} "
                                          f"({m['gmres_iterations'] / max(m['n_steps'], 1):.1f}"
                                          " per step)"),
        ("mesh + assembly", f"{t_mesh + m['t_assembly']:.1f} s"),
        ("time per step", f"{1e3 * m['time_per_step']:.0f} ms"),
        ("developed shedding from", f"t = {t_dev:.3g} s (lift period {period:.4g} s)"),
        ("wall time to 3 developed periods", f"{wall_three:.1f} s (t = {t_three:.3g} s; "
                                             "target <= 300 s)"),
        ("wall time, whole run", f"{wall:.1f} s"),
        ("peak memory (RSS)", f"{peak_mb:.0f} MB"),
        ("frames stored", f"{h.n_steps} ({h.mesh.n_points} nodes)"),
    ]
    for k, v in rows:
        print(f"  {k:<34} {v}")
    print(f"  {'quantity':<12} {'computed':>9} {'published':>15} {'mid':>6} {'error':>7}")
    for name, (lo, hi) in PUBLISHED.items():
        mid = 0.5 * (lo + hi)
        val = kq[name]
        inside = "inside" if lo <= val <= hi else "outside"
        print(f"  {name:<12} {val:>9.4f} {f'[{lo}, {hi}]':>15} {mid:>6.3f} "
              f"{100 * (val - mid) / mid:>+6.2f}%  {inside}")
    return {"n_dofs": m["n_dofs"], "steps": m["n_steps"], "wall_three": wall_three,
            "peak_mb": peak_mb, "nodes": h.mesh.n_points, "frames": h.n_steps}


# -- history surrogates ------------------------------------------------------------------------
SURROGATE_RUN = {"mesh_size": 0.08, "time_step": 0.01, "t_end": 2.5}
WINDOW_FROM = 1.5  # s: the developed part of each run the surrogates learn
TRAIN_SPEEDS = np.linspace(0.8, 1.2, 7)
TEST_SPEEDS = np.array([0.87, 1.03, 1.13])


def _solve_design(speed: float) -> dict:
    study = get_study("karman-street")
    params = study.check({**SURROGATE_RUN, "mean_speed": speed})
    setup = study.setup(params)
    h = solve_transient_navier_stokes(study.build_mesh(params), setup, order=1)
    return {"t": np.asarray(h.times), "u": np.asarray(h.point_data["velocity"])[:, :, :2],
            "cl": np.asarray(h.curves["cl"])}


def surrogates(cache: str | None, stride: int = 3) -> None:
    """Train the three history models on coarse Karman runs (mean speed 0.8-1.2 m/s, Re 80-120,
    so the shedding frequency changes by half) and compare held-out histories."""
    from pathlib import Path

    from physapp.surrogates.models.pod_history import (
        PodRollout,
        PodTimeGP,
        crossing_phase,
        relative_error,
        stack_snapshots,
    )

    speeds = np.concatenate([TRAIN_SPEEDS, TEST_SPEEDS])
    t0 = time.perf_counter()
    if cache and Path(cache).exists():
        z = np.load(cache)
        runs = [{k: z[f"{k}{i}"] for k in ("t", "u", "cl")} for i in range(len(speeds))]
    else:
        runs = [_solve_design(float(s)) for s in speeds]
        if cache:
            np.savez(cache, **{f"{k}{i}": r[k] for i, r in enumerate(runs) for k in r})
    t_data = time.perf_counter() - t0
    t = runs[0]["t"]
    win = np.flatnonzero(t >= WINDOW_FROM)[::stride]
    times = t[win]
    n_nodes = runs[0]["u"].shape[1]
    fields = np.array([r["u"][win].reshape(len(win), -1) for r in runs])
    lift = np.array([r["cl"][win] for r in runs])
    phases, freqs = [], []
    for r, speed in zip(runs, speeds, strict=True):
        # count lift cycles from the middle of the start-up kick (3 D / U long), where the lift
        # is far below its mean in every run: the same event starts every count
        ph, f = crossing_phase(r["t"], r["cl"], 0.5 * 3.0 * 0.1 / float(speed))
        phases.append(ph[win])
        freqs.append(f)
    phases, freqs = np.array(phases), np.array(freqs)
    snaps, w = stack_snapshots(fields, lift)
    ntr = len(TRAIN_SPEEDS)
    p_tr, p_te = TRAIN_SPEEDS[:, None], TEST_SPEEDS[:, None]
    truth = snaps[ntr:]
    results = {}
    aligned: dict = {}
    rollout_model: dict = {}

    def fit_aligned():
        aligned["model"] = PodTimeGP(align=True).fit(p_tr, times, snaps[:ntr], phases[:ntr],
                                                     freqs[:ntr])
        return aligned["model"].predict(p_te, times)

    for name, make in (
        ("direct, phase-aligned", fit_aligned),
        ("direct, time as input", lambda: PodTimeGP(align=False).fit(
            p_tr, times, snaps[:ntr]).predict(p_te, times)),
        ("step-by-step rollout", lambda: rollout_model.setdefault(
            "model", PodRollout().fit(p_tr, snaps[:ntr])).predict(p_te, truth[:, 0], len(times))),
    ):
        ts = time.perf_counter()
        pred = make()
        results[name] = (pred, time.perf_counter() - ts)
        if name == "step-by-step rollout":  # the same, started from a predicted state
            ts = time.perf_counter()
            rollout = rollout_model["model"]
            start = results["direct, phase-aligned"][0][:, 0]
            results["rollout from predicted start"] = (
                rollout.predict(p_te, start, len(times)), time.perf_counter() - ts)
    print(f"\nHistory surrogates: {ntr} training / {len(TEST_SPEEDS)} held-out designs, mean "
          f"speed {TRAIN_SPEEDS[0]:g}-{TRAIN_SPEEDS[-1]:g} m/s (Re {100 * TRAIN_SPEEDS[0]:.0f}-"
          f"{100 * TRAIN_SPEEDS[-1]:.0f}; shedding frequency {freqs[:ntr].min():.2f}-"
          f"{freqs[:ntr].max():.2f} Hz), coarse runs ({SURROGATE_RUN}), {n_nodes} nodes, "
          f"{len(times)} frames from t = {times[0]:.2f} to {times[-1]:.2f} s "
          f"(data {t_data:.0f} s)")
    print(f"  {'model':<24} {'velocity':>9} {'vel. fluct.':>11} {'lift':>7} "
          f"{'lift 1st/last third':>20} {'fit+predict':>11}")
    third = len(times) // 3
    for name, (pred, secs) in results.items():
        u_p, u_t = pred[..., :-1], truth[..., :-1]
        l_p, l_t = pred[..., -1:] / w, truth[..., -1:] / w
        e_first = relative_error(l_p[:, :third], l_t[:, :third], fluctuation=True)
        e_last = relative_error(l_p[:, -third:], l_t[:, -third:], fluctuation=True)
        print(f"  {name:<24} {100 * relative_error(u_p, u_t):>8.2f}% "
              f"{100 * relative_error(u_p, u_t, fluctuation=True):>10.1f}% "
              f"{100 * relative_error(l_p, l_t, fluctuation=True):>6.1f}% "
              f"{100 * e_first:>9.1f}% /{100 * e_last:>6.1f}% {secs:>10.1f} s")
    print("  velocity: relative L2 over space and time; vel. fluct. and lift: relative to the "
          "variation about the time mean (predicting the mean flow scores 100 %); the rollout "
          "starts from the solved state at the window start (or the aligned model's prediction)")
    app_kinds(runs, speeds, ntr)
    ph = aligned["model"].predict_phase(p_te, times)
    for i, s in enumerate(TEST_SPEEDS):
        print(f"  U = {s:.2f} m/s: frequency {freqs[ntr + i]:.3f} Hz, predicted "
              f"{(ph[i, -1] - ph[i, 0]) / (times[-1] - times[0]):.3f}; start phase "
              f"{phases[ntr + i, 0]:.3f}, predicted {ph[i, 0]:.3f} cycles")


#: the GP options of the app kinds here and in the shipped model (tools/train_builtin.py)
APP_OPTIONS = {"max_points": 300, "iters": 80, "restarts": 1, "max_modes": 12}


def app_kinds(runs: list[dict], speeds: np.ndarray, ntr: int,
              kinds=("pod-history-phase", "pod-history", "neural-field-history")) -> None:
    """The app's history kinds (``physapp train --model ...``) on the same designs, trained on
    the whole runs (every second step, 0 to 2.5 s, as a sweep keeps them): held-out velocity and
    lift errors over the whole run and over the window the models above learn, the share of
    held-out values inside the calibrated +-1.96 std bands (coverage, nominal 0.95), training
    time."""
    from physapp.core.mesh import MeshData
    from physapp.surrogates.history_data import HistoryData
    from physapp.surrogates.models.history_model import train_history
    from physapp.surrogates.models.pod_history import relative_error

    study = get_study("karman-street")
    mesh = study.build_mesh(study.check({**SURROGATE_RUN, "mean_speed": 1.0}))
    win = np.arange(0, len(runs[0]["t"]), 2)
    t = runs[0]["t"][win]
    late = t >= WINDOW_FROM
    n = len(runs)
    pts = np.asarray(mesh.points)
    if len(pts) != runs[0]["u"].shape[1]:  # the runs keep the vertices (order 1)
        pts = pts[: runs[0]["u"].shape[1]]
        mesh = MeshData(pts, mesh.cells, dict(mesh.boundaries), dict(mesh.subdomains), 2)
    data = HistoryData(
        "karman-street", ("mean_speed",), np.array([[TRAIN_SPEEDS[0], TRAIN_SPEEDS[-1]]]), {},
        mesh, speeds[:, None], t, np.broadcast_to(pts[:, :2], (n, len(pts), 2)).copy(),
        {"velocity": np.array([r["u"][win] for r in runs], np.float32)},
        {"cl": np.array([r["cl"][win] for r in runs])},
        is_test=np.r_[np.zeros(ntr, bool), np.ones(n - ntr, bool)])
    test = data.test()
    print(f"  app kinds (physapp train --model KIND) on the same {ntr} / {n - ntr} designs:")
    print(f"  {'kind':<22} {'velocity':>9} {'vel. fluct.':>11} {'lift':>7} {'window: u':>10} "
          f"{'lift':>6} {'cov95 u':>8} {'cov95 cl':>8} {'train':>7}")
    for kind in kinds:
        opts = dict(APP_OPTIONS)
        if kind == "neural-field-history":
            opts.update(epochs=1500)
        ts = time.perf_counter()
        model = train_history(kind, data, **opts)
        secs = time.perf_counter() - ts
        pred = model.predict_history_arrays(test.X)
        u_p, u_t = pred["fields"]["velocity"], test.fields["velocity"].astype(np.float64)
        l_p, l_t = pred["curves"]["cl"], test.curves["cl"]
        m = model.metrics
        cov_u = m["fields"]["velocity"].get("coverage95", float("nan"))
        lp, lt = l_p[..., None], l_t[..., None]
        print(f"  {kind:<22} {100 * relative_error(u_p, u_t):>8.2f}% "
              f"{100 * relative_error(u_p, u_t, fluctuation=True):>10.1f}% "
              f"{100 * relative_error(lp, lt, fluctuation=True):>6.1f}% "
              f"{100 * relative_error(u_p[:, late], u_t[:, late]):>9.2f}% "
              f"{100 * relative_error(lp[:, late], lt[:, late], fluctuation=True):>5.1f}% "
              f"{cov_u:>8.2f} {m['curves']['cl']['coverage95']:>8.2f} {secs:>6.0f} s")
    print(f"  whole run: 0 to {t[-1]:.2f} s, {len(t)} frames; window: t >= {WINDOW_FROM} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mesh-size", type=float, default=0.04)
    ap.add_argument("--dt", type=float, default=0.005)
    ap.add_argument("--t-end", type=float, default=3.5)
    ap.add_argument("--surrogate", action="store_true",
                    help="only the history surrogates (10 coarse solves, then three models)")
    ap.add_argument("--cache", default=None, help="npz file keeping the surrogate's solves")
    ap.add_argument("--app-kinds", action="store_true",
                    help="with --surrogate and a filled --cache: only the app kinds")
    a = ap.parse_args()
    if a.surrogate and a.app_kinds and a.cache:
        z = np.load(a.cache)
        speeds = np.concatenate([TRAIN_SPEEDS, TEST_SPEEDS])
        app_kinds([{k: z[f"{k}{i}"] for k in ("t", "u", "cl")} for i in range(len(speeds))],
                  speeds, len(TRAIN_SPEEDS))
    elif a.surrogate:
        surrogates(a.cache)
    else:
        run(a.mesh_size, a.dt, a.t_end)

"""A data set of synthetic histories with a closed form (tests of history surrogates, #18/#22).

The heat sink switched on (``heat-sink-transient``, coarse reference mesh, power and h varied)
with, per sample, T(x, t) = 25 + (P / h) (1 - exp(-t / tau)) (1 + 20 z) at every node and the
curve peak_temperature(t) = max_x T: separable in space and time and smooth in the parameters,
so a POD-GP must reproduce it closely. Written through ``Dataset.write_sample(history=...)``,
the path a sweep takes.
"""

from __future__ import annotations

import numpy as np

from physapp.surrogates.dataset import Dataset

TAU = 20.0
COARSE = {"mesh_size": 0.006, "fin_thickness": 0.004, "t_end": 60.0, "conductivity": 400.0}


def synthetic_history(points: np.ndarray, power: float, h: float, times: np.ndarray):
    shape = 1.0 + 20.0 * points[:, 2]
    amp = (power / h) * (1.0 - np.exp(-times / TAU))
    T = 25.0 + amp[:, None] * shape[None, :]
    return T, T.max(axis=1)


def make_dataset(path, n: int = 8, frames: int = 12, seed: int = 0) -> Dataset:
    ds = Dataset.create(path, "heat-sink-transient", n, seed=seed, vary=["power", "h"],
                        fixed=COARSE, bounds={"power": (10.0, 30.0), "h": (15.0, 40.0)},
                        order=1, history_frames=frames, check_morph=False)
    mesh = ds.reference_mesh
    times = np.linspace(0.0, COARSE["t_end"], frames)
    for i in range(n):
        v = ds.values(i)
        T, peak = synthetic_history(mesh.points, v["power"], v["h"], times)
        hist = {"times": times, "fields": {"temperature": T.astype(np.float32)},
                "curves": {"peak_temperature": peak}, "complete": True,
                "units": {"temperature": "°C"}, "curve_units": {"peak_temperature": "°C"}}
        ds.write_sample(i, mesh.points[:, :3], {"temperature": T[-1]}, {"temperature": "°C"},
                        {"peak_temperature": float(peak[-1])}, mesh.cells[0],
                        dict(mesh.boundaries), 1.0, history=hist)
    return ds

"""A surrogate architecture contributed by the plugin (``[[surrogates]]``): a quadratic response
surface, least squares from (1, x_i, x_i x_j) of the normalised parameters to every nodal field.

It subclasses physapp's linear baseline, so prediction, saving and loading come for free; the
model file records the kind ``vessel-quadratic`` and physapp finds this class again through the
plugin manifest when the file is loaded.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.surrogates.models.base import ModelInfo, check_options
from physapp.surrogates.models.pod import LinearSurrogate, _normalise, output_names, snapshots


def features(xn):
    """(m, p) normalised parameters -> (m, 1 + p + p (p + 1) / 2) quadratic features."""
    lib = torch if isinstance(xn, torch.Tensor) else np
    p = xn.shape[1]
    cols = [lib.ones_like(xn[:, :1]), xn]
    cols += [xn[:, i:i + 1] * xn[:, j:j + 1] for i in range(p) for j in range(i, p)]
    return lib.concatenate(cols, 1) if lib is np else torch.cat(cols, 1)


class QuadraticSurrogate(LinearSurrogate):
    kind = "vessel-quadratic"
    MIN_SAMPLES = 3
    OPTIONS: dict[str, Any] = {"rcond": 1e-10}

    @classmethod
    def fit(cls, data, *, device: str, seed: int = 0, progress: ProgressFn = no_progress,
            cancel: CancelToken = NEVER, val=None, **options: Any) -> QuadraticSurrogate:
        opts = check_options(cls, options)
        info = ModelInfo.from_data(data)
        A = features(_normalise(info, data.X))
        pinv = torch.as_tensor(np.linalg.pinv(A, rcond=opts["rcond"]), dtype=torch.float64,
                               device=device)
        weights = {}
        for name in output_names(info):
            cancel.check()
            y = torch.as_tensor(snapshots(data, info, name), dtype=torch.float64, device=device)
            weights[name] = (pinv @ y).float()
        progress(1.0, f"quadratic least squares on {A.shape[1]} features")
        return cls(info, device, opts, weights)

    def _forward(self, xn: torch.Tensor, *, with_coords: bool) -> dict[str, torch.Tensor]:
        from physapp.surrogates.models.pod import _wanted

        a = features(xn.float())
        return {k: a @ self.weights[k] for k in _wanted(self.info, with_coords)}

"""Adam (Kingma & Ba, 2015) over a few tensors, without ``torch.optim``.

The first ``torch.optim`` optimizer a process builds imports ``torch._dynamo`` (the optimizer's
methods are wrapped to disable compilation), about 2 s of CPU on top of ``import torch``. The small
fits of this package (a GP's hyper-parameters, the field-curve networks) run in fresh processes
(the CLI, learning-while-solving, training jobs), so they use this plain update instead: the same
arithmetic as ``torch.optim.Adam`` without weight decay or AMSGrad.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any


class Adam:
    """``torch.optim.Adam(params, lr, betas, eps)``'s update; ``param_groups[0]["lr"]`` may be
    changed between steps (a learning-rate schedule), as with torch's optimizers."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        import torch

        self.params = list(params)
        self.param_groups = [{"lr": float(lr)}]
        self.betas, self.eps, self.steps = betas, float(eps), 0
        self._m = [torch.zeros_like(p) for p in self.params]
        self._v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        b1, b2 = self.betas
        self.steps += 1
        lr = self.param_groups[0]["lr"]
        c1, c2 = 1.0 - b1 ** self.steps, 1.0 - b2 ** self.steps
        with torch.no_grad():
            for p, m, v in zip(self.params, self._m, self._v, strict=True):
                if p.grad is None:
                    continue
                g = p.grad
                m.lerp_(g, 1.0 - b1)
                v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
                denom = (v.sqrt() / math.sqrt(c2)).add_(self.eps)
                p.addcdiv_(m, denom, value=-lr / c1)

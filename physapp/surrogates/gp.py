"""Exact Gaussian processes, many at once: one GP per output column, batched in torch.

Used by the POD-GP surrogate (one GP per retained POD coefficient, MMGP-style). All outputs share
the training inputs; every output has its own ARD kernel (length scale per input), signal variance
and noise variance, fitted by maximising the log marginal likelihood with Adam from a few starts.
Computations are float64 (the training sets are small; float32 Cholesky factors are fragile).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from physapp.core.progress import NEVER, CancelToken

if TYPE_CHECKING:  # pragma: no cover
    import torch

KERNELS = ("matern52", "rbf")
#: mean functions: "constant" (zero mean of the standardised outputs) or "linear" (universal
#: kriging: an affine trend in the inputs, estimated by generalised least squares)
TRENDS = ("constant", "linear")
#: bounds of the hyperparameters (inputs are scaled to [0, 1], outputs to unit variance)
LOG_LS_RANGE = (math.log(1e-2), math.log(1e2))
LOG_SF2_RANGE = (math.log(1e-3), math.log(1e2))
_SQRT5 = math.sqrt(5.0)



def store_gp(gp: BatchedGP | None, meta: dict[str, Any], key: str,
             tensors: dict[str, Any], prefix: str) -> None:
    """Put ``gp``'s state into a model file: its settings in ``meta[key]``, its tensors in
    ``tensors`` under ``prefix`` (nothing when ``gp`` is None). :func:`load_gp` reads it back."""
    if gp is None:
        return
    gmeta, gt = gp.state()
    meta[key] = gmeta
    tensors.update({f"{prefix}{k}": v for k, v in gt.items()})


def load_gp(gmeta: dict[str, Any] | None, tensors: Mapping[str, Any], prefix: str,
            device: str) -> BatchedGP | None:
    """The GP that :func:`store_gp` stored under ``prefix`` (None when ``gmeta`` is None)."""
    if gmeta is None:
        return None
    return BatchedGP.from_state(gmeta, {k[len(prefix):]: v for k, v in tensors.items()
                                        if k.startswith(prefix)}, device)

def _bounded(raw: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    import torch

    return lo + (hi - lo) * torch.sigmoid(raw)


def _unbounded(value: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    import torch

    u = ((value - lo) / (hi - lo)).clamp(1e-6, 1 - 1e-6)
    return torch.log(u) - torch.log1p(-u)


def kernel_matrix(
    kind: str, xa: torch.Tensor, xb: torch.Tensor, ls: torch.Tensor, sf2: torch.Tensor
) -> torch.Tensor:
    """Batched ARD kernel.

    Parameters
    ----------
    kind : ``"matern52"`` or ``"rbf"``.
    xa : (na, d) inputs; xb : (nb, d) inputs.
    ls : (B, d) length scales; sf2 : (B,) signal variances.

    Returns
    -------
    (B, na, nb) kernel matrices.
    """
    import torch

    a = xa.unsqueeze(0) / ls.unsqueeze(1)
    b = xb.unsqueeze(0) / ls.unsqueeze(1)
    d2 = (a.pow(2).sum(-1, keepdim=True) + b.pow(2).sum(-1).unsqueeze(1)
          - 2.0 * a @ b.transpose(1, 2)).clamp_min(0.0)
    if kind == "rbf":
        k = torch.exp(-0.5 * d2)
    else:
        r = torch.sqrt(d2.clamp_min(1e-30))
        k = (1.0 + _SQRT5 * r + (5.0 / 3.0) * d2) * torch.exp(-_SQRT5 * r)
    return sf2.view(-1, 1, 1) * k


class BatchedGP:
    """``m`` independent exact GPs on the same inputs (float64).

    Use :meth:`fit` to train; :meth:`predict` returns means and variances in the output units.

    Parameters
    ----------
    x : (n, d) training inputs (scaled to about [0, 1]).
    y : (n, m) training outputs.
    raw : raw (unconstrained) hyperparameters: ``log_ls`` (m, d), ``log_sf2`` (m,), ``log_sn2`` (m,).
    kernel : ``"matern52"`` or ``"rbf"``.
    noise_floor : lower bound of the noise variance (relative to the output variance).
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, raw: dict[str, torch.Tensor], *,
                 kernel: str = "matern52", noise_floor: float = 1e-6,
                 trend: str = "linear") -> None:
        import torch

        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}")
        if trend not in TRENDS:
            raise ValueError(f"unknown trend {trend!r}")
        self.kernel = kernel
        self.trend = trend
        self.noise_floor = float(noise_floor)
        self.x = x.to(torch.float64)
        self.y = y.to(torch.float64)
        self.y_mean = self.y.mean(0)
        std = self.y.std(0, unbiased=False) if len(self.y) > 1 else torch.ones_like(self.y_mean)
        self.y_scale = torch.where(std > 1e-30, std, torch.ones_like(std))
        self.raw = {k: v.detach().to(self.x.device, torch.float64) for k, v in raw.items()}
        self._factor()

    # -- hyperparameters ------------------------------------------------------------------------
    @property
    def n_outputs(self) -> int:
        return self.y.shape[1]

    def hyper(self) -> dict[str, torch.Tensor]:
        """Constrained hyperparameters: ``lengthscale`` (m, d), ``signal_var`` (m,), ``noise_var``
        (m,), in the standardised output scale."""
        return _constrain(self.raw, self.noise_floor)

    def _factor(self) -> None:
        import torch

        h = self.hyper()
        ys = ((self.y - self.y_mean) / self.y_scale).T.contiguous()  # (m, n)
        self.L = _cholesky(self.kernel, self.x, h)
        if self.trend == "linear":
            H = _basis(self.x).expand(self.L.shape[0], -1, -1)
            A = torch.linalg.solve_triangular(self.L, H, upper=False)  # (m, n, q)
            a = torch.linalg.solve_triangular(self.L, ys.unsqueeze(-1), upper=False)
            self.LG = torch.linalg.cholesky(A.transpose(1, 2) @ A)  # (m, q, q)
            self.beta = torch.cholesky_solve(A.transpose(1, 2) @ a, self.LG).squeeze(-1)  # (m, q)
            self.A = A
            ys = ys - (H @ self.beta.unsqueeze(-1)).squeeze(-1)
        self.alpha = torch.cholesky_solve(ys.unsqueeze(-1), self.L).squeeze(-1)  # (m, n)
        self._h = h

    # -- prediction -----------------------------------------------------------------------------
    def predict(self, xs: torch.Tensor, *, include_noise: bool = True
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and variance at ``xs`` (q, d): two (q, m) tensors in the output units."""
        import torch

        xs = xs.to(self.x.device, torch.float64)
        h = self._h
        ks = kernel_matrix(self.kernel, xs, self.x, h["lengthscale"], h["signal_var"])  # (m,q,n)
        mean = (ks @ self.alpha.unsqueeze(-1)).squeeze(-1)  # (m, q)
        v = torch.linalg.solve_triangular(self.L, ks.transpose(1, 2), upper=False)  # (m, n, q)
        var = (h["signal_var"].unsqueeze(1) - v.pow(2).sum(1)).clamp_min(0.0)
        if self.trend == "linear":
            hs = _basis(xs)  # (q_pts, nb)
            mean = mean + (hs @ self.beta.T).T
            # variance of the estimated trend: R^T (H^T K^-1 H)^-1 R, R = h* - A^T v
            R = hs.T.unsqueeze(0) - self.A.transpose(1, 2) @ v  # (m, nb, q_pts)
            w = torch.linalg.solve_triangular(self.LG, R, upper=False)
            var = var + w.pow(2).sum(1)
        if include_noise:
            var = var + h["noise_var"].unsqueeze(1)
        mean = mean.T * self.y_scale + self.y_mean
        var = var.T * self.y_scale.pow(2)
        return mean, var

    # -- persistence ----------------------------------------------------------------------------
    def state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """JSON-able settings and tensors (float64; small: training inputs and outputs)."""
        meta = {"kernel": self.kernel, "noise_floor": self.noise_floor, "trend": self.trend}
        tensors = {"x": self.x, "y": self.y, **{f"raw_{k}": v for k, v in self.raw.items()}}
        return meta, {k: v.detach().cpu() for k, v in tensors.items()}

    @classmethod
    def from_state(cls, meta: dict[str, Any], tensors: dict[str, torch.Tensor], device: str
                   ) -> BatchedGP:
        raw = {k[4:]: v.to(device) for k, v in tensors.items() if k.startswith("raw_")}
        return cls(tensors["x"].to(device), tensors["y"].to(device), raw,
                   kernel=meta["kernel"], noise_floor=meta["noise_floor"],
                   trend=meta.get("trend", "constant"))

    def to(self, device: str) -> BatchedGP:
        return BatchedGP(self.x.to(device), self.y.to(device), self.raw, kernel=self.kernel,
                         noise_floor=self.noise_floor, trend=self.trend)

    # -- training -------------------------------------------------------------------------------
    @classmethod
    def fit(
        cls,
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        kernel: str = "matern52",
        trend: str = "linear",
        restarts: int = 3,
        iters: int = 200,
        warmup: int = 60,
        lr: float = 0.05,
        noise_floor: float = 1e-6,
        seed: int = 0,
        report: Callable[[int, int, float], None] | None = None,
        cancel: CancelToken = NEVER,
        init: dict[str, torch.Tensor] | None = None,
    ) -> BatchedGP:
        """Fit one GP per column of ``y`` by maximising the log marginal likelihood.

        All ``restarts`` starting points of every output are optimised together for ``warmup``
        Adam steps; the best start of each output is then optimised to ``iters`` steps.

        Parameters
        ----------
        x : (n, d) inputs; y : (n, m) outputs.
        report : called as ``report(iteration, iters, mean negative log likelihood per point)``.
        cancel : polled every iteration.
        init : raw hyperparameters of a previous fit (``log_ls`` (m, d), ``log_sf2`` (m,),
            ``log_sn2`` (m,), as in :attr:`raw`): the first start of every output (a warm start
            when samples were added, see :mod:`physapp.surrogates.online`).
        """
        import torch

        from physapp.surrogates.adam import Adam

        x = x.to(torch.float64)
        y = y.to(torch.float64)
        n, d = x.shape
        if trend == "linear" and n <= d + 2:
            trend = "constant"  # too few samples to estimate a trend
        m = y.shape[1]
        dev = x.device
        mean = y.mean(0)
        std = y.std(0, unbiased=False) if n > 1 else torch.ones_like(mean)
        ys = (y - mean) / torch.where(std > 1e-30, std, torch.ones_like(std))
        gen = torch.Generator().manual_seed(seed)
        r = max(1, int(restarts))
        # starting points: (r, m, ...) ; the first one is a sensible default
        log_ls = torch.empty(r, m, d, dtype=torch.float64).uniform_(
            math.log(0.1), math.log(2.0), generator=gen)
        log_ls[0] = math.log(0.5)
        log_sf2 = torch.zeros(r, m, dtype=torch.float64)
        log_sn2 = torch.empty(r, m, dtype=torch.float64).uniform_(
            math.log(1e-5), math.log(1e-2), generator=gen)
        log_sn2[0] = math.log(1e-3)
        sn2_range = _sn2_range(noise_floor)
        raw = {
            "log_ls": _unbounded(log_ls, *LOG_LS_RANGE).reshape(r * m, d),
            "log_sf2": _unbounded(log_sf2, *LOG_SF2_RANGE).reshape(r * m),
            "log_sn2": _unbounded(log_sn2.clamp_min(sn2_range[0] + 1e-3), *sn2_range)
            .reshape(r * m),
        }
        if init is not None:  # warm start: the previous optimum is the first starting point
            for k, v in init.items():
                raw[k].view(r, m, -1)[0] = v.detach().to(torch.float64).reshape(m, -1).cpu()
        targets = ys.T.repeat(r, 1)  # (r*m, n)
        warmup = min(warmup, iters) if r > 1 else 0
        total = max(int(iters), 1)

        def run(params: dict[str, torch.Tensor], tgt: torch.Tensor, start: int, stop: int
                ) -> torch.Tensor:
            params = {k: v.to(dev).clone().requires_grad_(True) for k, v in params.items()}
            opt = Adam(list(params.values()), lr=lr)
            nll = None
            for it in range(start, stop):
                cancel.check()
                opt.zero_grad()
                nll = _nll(kernel, x, tgt, _constrain(params, noise_floor), trend)
                nll.sum().backward()
                opt.step()
                if report is not None:
                    report(it + 1, total, float(nll.detach().mean()) / n)
            for k, v in params.items():
                raw_out[k] = v.detach()
            with torch.no_grad():
                return _nll(kernel, x, tgt, _constrain(raw_out, noise_floor), trend)

        raw_out: dict[str, torch.Tensor] = {}
        if warmup > 0:
            nll = run(raw, targets, 0, warmup).reshape(r, m)
            best = nll.nan_to_num(float("inf")).argmin(0)  # (m,)
            idx = best * m + torch.arange(m, device=best.device)
            raw = {k: v[idx.to(v.device)] for k, v in raw_out.items()}
        else:
            raw = {k: v[:m] for k, v in raw.items()}
        run(raw, ys.T.contiguous(), warmup, total)
        return cls(x, y, raw_out, kernel=kernel, noise_floor=noise_floor, trend=trend)


def _sn2_range(noise_floor: float) -> tuple[float, float]:
    return math.log(max(noise_floor, 1e-12)), math.log(1.0)


def _constrain(raw: dict[str, torch.Tensor], noise_floor: float) -> dict[str, torch.Tensor]:
    import torch

    return {
        "lengthscale": torch.exp(_bounded(raw["log_ls"], *LOG_LS_RANGE)),
        "signal_var": torch.exp(_bounded(raw["log_sf2"], *LOG_SF2_RANGE)),
        "noise_var": torch.exp(_bounded(raw["log_sn2"], *_sn2_range(noise_floor))),
    }


def _cholesky(kernel: str, x: torch.Tensor, h: dict[str, torch.Tensor]) -> torch.Tensor:
    import torch

    n = x.shape[0]
    eye = torch.eye(n, dtype=x.dtype, device=x.device)
    k = kernel_matrix(kernel, x, x, h["lengthscale"], h["signal_var"])
    k = k + (h["noise_var"].view(-1, 1, 1) + 1e-10) * eye
    jitter = 0.0
    for _ in range(6):
        L, info = torch.linalg.cholesky_ex(k + jitter * eye)
        if not bool((info > 0).any()):
            return L
        jitter = 1e-8 if jitter == 0.0 else jitter * 10.0
    raise RuntimeError("GP kernel matrix is not positive definite")


def _basis(x: torch.Tensor) -> torch.Tensor:
    """Trend basis [1, x] of the inputs: (n, d) -> (n, d + 1)."""
    import torch

    return torch.cat([torch.ones_like(x[:, :1]), x], 1)


def _nll(kernel: str, x: torch.Tensor, y: torch.Tensor, h: dict[str, torch.Tensor],
         trend: str = "constant") -> torch.Tensor:
    """Negative log (restricted, with a trend) marginal likelihood of every GP in the batch:
    y (B, n) -> (B,)."""
    import torch

    L = _cholesky(kernel, x, h)
    a = torch.linalg.solve_triangular(L, y.unsqueeze(-1), upper=False)  # (B, n, 1)
    n = x.shape[0]
    logdet = torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    if trend == "linear":
        H = _basis(x).expand(L.shape[0], -1, -1)
        A = torch.linalg.solve_triangular(L, H, upper=False)
        LG = torch.linalg.cholesky(A.transpose(1, 2) @ A)
        beta = torch.cholesky_solve(A.transpose(1, 2) @ a, LG)
        a = a - A @ beta
        logdet = logdet + torch.log(torch.diagonal(LG, dim1=-2, dim2=-1)).sum(-1)
        n = n - H.shape[-1]
    return 0.5 * a.squeeze(-1).pow(2).sum(-1) + logdet + 0.5 * n * math.log(2 * math.pi)

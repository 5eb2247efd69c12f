"""Monte Carlo kernels behind the :class:`~symresp.kernels.base.Kernel` interface.

K⁽ⁿ⁾_k(t; s_1..s_n) is the mixed derivative ∂ⁿ/∂α_1⋯∂α_n E[f(h_t)] at α = 0 of the
unperturbed network kicked by h ↦ h + α_j γ_{k_j}(h) at each s_j.  The estimator
(:func:`symresp.montecarlo.engine.kernel_mc`) takes the central mixed difference over the
2ⁿ sign patterns of copies that share their noise,

    K ≈ E[ Σ_σ (Π_j σ_j) f(h^σ_t) ] / (2α)ⁿ,

or, at order 1, the pathwise tangent form E[∇f(h_t) J_{s→t} γ_k(h_s)] with dJ = Dφ J dt.
Its error is statistical (the standard error sd/√paths reported per lag) plus the
Euler–Maruyama bias O(dt) and the difference bias O(α²); lags are rounded to multiples of dt.
"""

from __future__ import annotations

import numpy as np

from symresp.errors import ArgumentError
from symresp.kernels.base import Kernel

__all__ = ["MonteCarloKernel", "MC_OPTIONS"]

#: keyword options forwarded to kernel_mc ("estimator" is kernel_mc's ``method``)
MC_OPTIONS = (
    "paths",
    "dt",
    "seed",
    "estimator",
    "alpha",
    "richardson",
    "burn_in",
    "bound",
    "on_divergence",
    "threads",
    "block",
    "quiet",
    "h0",
    "scheduler",
)


class MonteCarloKernel(Kernel):
    """A Monte Carlo kernel: each new lag array runs :func:`~symresp.montecarlo.engine.kernel_mc`
    once (all lags in one call, so lag tuples sharing (τ_2..) share paths) and caches the result;
    :meth:`stderr` and :meth:`trusted` read the same run.

    ``trusted`` is True where the estimate's standard error is finite (at least two paths
    survived); the values then carry the statistical error :meth:`stderr` plus the biases
    O(dt) (time step) and O(α²) (kick size), which the estimator does not include.
    """

    method = "mc"

    def __init__(self, net, order: int, index, start: str, **options):
        unknown = sorted(set(options) - set(MC_OPTIONS))
        if unknown:
            raise ArgumentError(
                f"{unknown[0]}: not an option of the Monte Carlo route; it accepts "
                f"{', '.join(MC_OPTIONS)}"
            )
        if order not in (1, 2, 3) or isinstance(order, bool):
            raise ArgumentError(
                f"order: the kicked-copies estimator supports orders 1–3, got {order!r}"
            )
        self.net, self.order, self.index, self.start = net, int(order), tuple(index), start
        self.options = {"paths": 20000, "dt": 0.01, "seed": 0, "estimator": "kicked", **options}
        if self.options["estimator"] not in ("kicked", "tangent"):
            raise ArgumentError(
                f"estimator: expected 'kicked' or 'tangent', got {self.options['estimator']!r}"
            )
        # the engine loads numba: import it here, on the Monte Carlo route only
        from symresp.montecarlo.estimators import (
            _check_common,
        )  # numba: only for Monte Carlo kernels

        _check_common(self.options["dt"], self.options["paths"])
        self._cache: dict = {}

    def result(self, lags):
        """The :class:`~symresp.montecarlo.engine.KernelMC` of one run at ``lags`` (cached)."""
        return self._run(self._check_lags(lags))

    def _run(self, lags: np.ndarray):
        flat = np.ascontiguousarray(lags.reshape(-1, self.nlags))
        key = (flat.shape, flat.tobytes())
        if key not in self._cache:
            # the engine loads numba: import it here, on the Monte Carlo route only
            from symresp.montecarlo.estimators import kernel_mc  # numba, as above

            opts = dict(self.options)
            est = opts.pop("estimator")
            self._cache[key] = kernel_mc(
                self.net, self.order, self.index, flat, method=est, start=self.start, **opts
            )
        return self._cache[key]

    def _batch(self, lags, field):
        p = self.net.p
        if lags.size == 0:
            return np.zeros(lags.shape[:-1] + (p,))
        return np.asarray(getattr(self._run(lags), field)).reshape(lags.shape[:-1] + (p,))

    def _evaluate(self, lags) -> np.ndarray:
        return self._batch(lags, "values")

    def _stderr(self, lags) -> np.ndarray:
        return self._batch(lags, "stderr")

    def _trusted(self, lags) -> np.ndarray:
        return np.all(np.isfinite(self._batch(lags, "stderr")), axis=-1)

    def _metadata(self) -> dict:
        o = self.options
        runs = list(self._cache.values())
        meta = {
            "estimator": o["estimator"],
            "paths": int(o["paths"]),
            "dt": float(o["dt"]),
            "seed": int(o["seed"]),
            "lags_rounded_to": float(o["dt"]),
            "runs": len(runs),
        }
        if runs:
            last = runs[-1]
            meta.update(
                sampling=last.start,
                alpha=last.alpha,
                diverged=int(sum(r.diverged.get("count", 0) for r in runs)),
            )
        elif o.get("alpha") is not None:
            meta["alpha"] = float(o["alpha"])
        return meta

    def _repr_fields(self) -> dict:
        return {
            "paths": int(self.options["paths"]),
            "dt": float(self.options["dt"]),
            "estimator": self.options["estimator"],
        }

"""Series versus simulation, inside a computed error budget (THEORY §8).

The compared quantity is the response ``R_ε(t) = E[f(h^ε_t)] − E[f(h^0_t)]``:
Monte Carlo estimates it with common random numbers (variance O(ε²)), the
series predicts ``Σ_{n≤N} εⁿ V_n[u](t)``.  At every output time

    budget = z·stderr                          (statistical; z from a 1 % family-wise level)
           + |Y_dt − Y_{dt/2}|                 (time step: the O(dt) bias of Y_{dt/2})
           + 2|ε^{N+1} V_{N+1}|                (amplitude truncation, next order computed)
           + |series_P − series_{P−1}|          (lag truncation of Taylor kernels)

and the verdict is ``|Y_{dt/2} − series| ≤ budget``.  With several amplitudes the
log–log slope of the discrepancy against ε must be ≈ N + 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

__all__ = ["check", "CheckResult", "eps_sweep"]


@dataclass
class CheckResult:
    """Outcome of :func:`check`: arrays over output times (p readouts in the last axis)."""

    verdict: str
    t: np.ndarray
    series: np.ndarray
    mc: np.ndarray
    stderr: np.ndarray
    discrepancy: np.ndarray
    budget: np.ndarray
    parts: dict
    passed: np.ndarray
    meta: dict = field(default_factory=dict)
    sweep: dict | None = None

    def to_json(self) -> dict:
        out = {"verdict": self.verdict, "t": self.t.tolist(),
               "discrepancy": self.discrepancy.tolist(), "budget": self.budget.tolist(),
               "series": self.series.tolist(), "mc": self.mc.tolist(),
               "stderr": self.stderr.tolist(), "pass": self.passed.tolist(),
               "budget_parts": {k: v.tolist() for k, v in self.parts.items()}, **self.meta}
        if self.sweep is not None:
            out.update({k: (v.tolist() if isinstance(v, np.ndarray) else v)
                        for k, v in self.sweep.items()})
        return out

    def plot(self, path):
        """MC response with its ±budget band against the series (or the ε sweep)."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ncols = 2 if self.sweep is not None else 1
        fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
        ax = axes[0, 0]
        for q in range(self.mc.shape[1]):
            ax.fill_between(self.t, self.mc[:, q] - self.budget[:, q], self.mc[:, q] + self.budget[:, q],
                            alpha=0.25, label=f"MC ± budget (y{q + 1})")
            ax.plot(self.t, self.mc[:, q], ".", ms=3)
            ax.plot(self.t, self.series[:, q], "-", lw=1.5, label=f"series order {self.meta['order']} (y{q + 1})")
        ax.set_xlabel("t")
        ax.set_ylabel("response E[f(h^ε)] − E[f(h^0)]")
        ax.set_title(f"check: {self.verdict} (ε = {self.meta['eps']})")
        ax.legend(fontsize=8)
        if self.sweep is not None:
            ax = axes[0, 1]
            e, d = np.asarray(self.sweep["eps_sweep"]), np.asarray(self.sweep["sweep_discrepancy"])
            ax.loglog(e, d, "o-", label=f"discrepancy (slope {self.sweep['slope']:.2f})")
            ref = d[-1] * (e / e[-1]) ** (self.meta["order"] + 1)
            ax.loglog(e, ref, "--", label=f"slope {self.meta['order'] + 1}")
            ax.set_xlabel("ε")
            ax.set_ylabel("max |MC − series|")
            ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return path


def _series(net, u, eps, t, order, method, taylor, samples, q):
    from .volterra import predict
    out = predict(net, u, eps, t, order + 1, method=method, taylor=taylor, samples=samples, q=q)
    terms = out["terms"]
    powers = float(eps) ** np.arange(1, order + 2)
    main = np.tensordot(powers[:order], terms[:order], axes=(0, 0))
    nxt = powers[order] * terms[order]
    lag_err = np.zeros_like(main)
    if method == "taylor" and taylor > 0:
        lower = predict(net, u, eps, t, order, method=method, taylor=taylor - 1, samples=samples, q=q)
        lag_err = np.abs(main - np.tensordot(powers[:order], lower["terms"], axes=(0, 0)))
    return main, np.abs(nxt), lag_err, terms


def check(net, u, eps: float, T: float, order: int, *, method: str = "taylor", taylor: int = 6,
          paths: int = 20000, seed: int = 0, dt: float = 0.01, n_times: int = 21,
          samples=None, level: float = 0.01, q: int = 16, quiet: bool = True) -> CheckResult:
    """Compare the order-``order`` Volterra series with Monte Carlo (THEORY §8).

    ``u`` is anything :func:`symresp.inputs.parse_input` accepts; the comparison is made at
    ``n_times`` equally spaced times in (0, T].  Monte Carlo runs at ``dt`` and ``dt/2``
    (seeds ``seed`` and ``seed + 1``) with common random numbers for driven and undriven
    copies.  ``level`` is the family-wise false-alarm rate of the statistical part.
    """
    from .inputs import parse_input
    from .simulate import simulate

    if not (isinstance(order, (int, np.integer)) and order >= 1):
        raise ValueError(f"order: expected an integer ≥ 1, got {order!r}")
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"T: expected a positive horizon, got {T!r}")
    sig = parse_input(u, net.m)
    steps = max(1, int(round(T / dt)))
    dt = T / steps
    every = max(1, steps // max(1, n_times - 1))
    coarse = simulate(net, sig, eps=eps, T=T, dt=dt, paths=paths, seed=seed, response=True,
                      out_every=every, quiet=quiet)
    fine = simulate(net, sig, eps=eps, T=T, dt=dt / 2, paths=paths, seed=seed + 1, response=True,
                    out_every=2 * every, quiet=quiet)
    t = fine.t
    keep = t > 0
    t = t[keep]
    y_fine, se = fine.mean[keep], fine.stderr[keep]
    y_coarse = coarse.mean[keep]
    series, nxt, lag_err, _ = _series(net, sig, eps, t, order, method, taylor, samples, q)
    z = norm.isf(level / (2 * max(1, y_fine.size)))
    parts = {"statistical": z * se, "time_step": np.abs(y_coarse - y_fine),
             "truncation": 2 * nxt + lag_err}
    budget = sum(parts.values())
    disc = np.abs(y_fine - series)
    passed = disc <= budget
    meta = {"order": int(order), "eps": float(eps), "method": method, "taylor": int(taylor),
            "paths": int(paths), "seed": int(seed), "dt": [dt, dt / 2], "z": float(z),
            "diverged": fine.diverged}
    return CheckResult("pass" if passed.all() else "fail", t, series, y_fine, se, disc, budget,
                       parts, passed, meta)


def eps_sweep(net, u, eps_values, T: float, order: int, *, method: str = "taylor", taylor: int = 6,
              paths: int = 20000, seed: int = 0, dt: float = 0.01, n_times: int = 11,
              samples=None, q: int = 16, quiet: bool = True) -> dict:
    """Discrepancy max_t |MC − series_N| for each ε, and its fitted log–log slope (≈ N+1).

    Monte Carlo uses Richardson extrapolation in dt (weak order 2) and common random
    numbers, so that neither the O(ε·dt) bias nor the O(ε) noise hides the ε^{N+1} law.
    """
    from .inputs import parse_input
    from .simulate import simulate

    eps_values = np.asarray(sorted(float(e) for e in eps_values))
    if eps_values.size < 2 or np.any(eps_values <= 0):
        raise ValueError(f"eps_sweep: expected at least two positive amplitudes, got {eps_values.tolist()}")
    sig = parse_input(u, net.m)
    steps = max(1, int(round(T / dt)))
    dt = T / steps
    every = max(1, steps // max(1, n_times - 1))
    disc, noise = [], []
    for e in eps_values:
        mc = simulate(net, sig, eps=e, T=T, dt=dt, paths=paths, seed=seed, response=True,
                      richardson=True, out_every=every, quiet=quiet)
        keep = mc.t > 0
        series, _, _, _ = _series(net, sig, e, mc.t[keep], order, method, taylor, samples, q)
        d = np.abs(mc.mean[keep] - series)
        i = np.unravel_index(np.argmax(d), d.shape)
        disc.append(d[i])
        noise.append(mc.stderr[keep][i])
    disc, noise = np.array(disc), np.array(noise)
    slope = float(np.polyfit(np.log(eps_values), np.log(disc), 1)[0])
    return {"eps_sweep": eps_values, "sweep_discrepancy": disc, "sweep_stderr": noise,
            "slope": slope, "expected_slope": order + 1}

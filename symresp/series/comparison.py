"""Series versus simulation, inside a computed error budget.

The compared quantity is the response ``R_ε(t) = E[f(h^ε_t)] − E[f(h^0_t)]``:
Monte Carlo estimates it with common random numbers (variance O(ε²)), the
series predicts ``Σ_{n≤N} εⁿ V_n[u](t)``.  Monte Carlo is Richardson-extrapolated in the
time step: ``R_h = 2Y_{h/2} − Y_h`` (both levels on one Brownian path) at h = dt and
h = dt/2, and ``R_{dt/2}`` is compared.  At every output time

    budget = z·stderr(R_{dt/2})                (statistical; z from a 1 % family-wise level)
           + |R_dt − R_{dt/2}|                 (time step: three times the leading O(dt²)
                                                 bias of R_{dt/2}, see :func:`check`)
           + 2|ε^{N+1} V_{N+1}|                (amplitude truncation, next order computed)
           + |series_P − series_{P−1}|          (lag truncation of Taylor kernels)
           + |series_h − series_{2h}|           (the series' own grid: recursion step or
                                                 quadrature nodes, the coarser one halved)

(a discrepancy passes up to a rounding allowance 1e-12·(1 + max_t |series|) above it), and
three verdicts (:data:`VERDICTS`):

* ``"fail"``: ``|R_{dt/2} − series| > budget`` at some time;
* ``"inconclusive"`` (otherwise): a part of the budget is itself unresolved — a Taylor kernel
  needed beyond its trusted lags (the horizon T exceeds half its radius), a Galerkin basis
  that did not converge — or at some checked time t > 0 the budget exceeds ``resolve`` (default
  0.5) times the largest response max_t |series| it must resolve; ``reason`` says which;
* ``"pass"``: neither.

A check never passes because its budget grew.  With several amplitudes the log–log slope of
the discrepancy against ε must be ≈ N + 1 (an unresolved sweep makes the verdict inconclusive).

The Monte Carlo engine (numba) is imported inside :func:`check` and :func:`eps_sweep`, so
that ``import symresp.series`` stays numba-free for the predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from symresp.errors import ArgumentError
from symresp.files import figure_bytes, output_path, write_atomic
from symresp.model.inputs import parse_input
from symresp.series.volterra import _real, output_grid, predict
from symresp.validation import check_float, check_int

__all__ = ["check", "CheckResult", "eps_sweep", "VERDICTS"]

#: the verdicts of :func:`check` and the exit status of ``symresp check`` for each
VERDICTS = {"pass": 0, "fail": 4, "inconclusive": 3}


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
    reason: str = ""

    def set_sweep(self, sweep: dict) -> None:
        """Attach an ε sweep; an unresolved one (discrepancies at noise level) makes a
        passing verdict inconclusive."""
        self.sweep = sweep
        if self.verdict == "pass" and not sweep.get("resolved", True):
            self.verdict = "inconclusive"
            self.reason = (
                "the ε sweep is unresolved: its discrepancies lie within 3 standard errors "
                "plus the Monte Carlo time-step part, so its slope says nothing; the floor "
                f"is {sweep.get('floor') or 'the noise'}"
            )

    def to_dict(self) -> dict:
        """Plain lists and numbers; ``pass`` per time and readout, the budget's parts under
        ``budget_parts``, the ε sweep's entries (if any) at the top level."""
        out = {
            "verdict": self.verdict,
            "reason": self.reason,
            "t": self.t.tolist(),
            "discrepancy": self.discrepancy.tolist(),
            "budget": self.budget.tolist(),
            "series": self.series.tolist(),
            "mc": self.mc.tolist(),
            "stderr": self.stderr.tolist(),
            "pass": self.passed.tolist(),
            "budget_parts": {k: v.tolist() for k, v in self.parts.items()},
            **self.meta,
        }
        if self.sweep is not None:
            out.update(
                {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.sweep.items()}
            )
        return out

    def plot(self, path, *, overwrite: bool = False):
        """MC response with its ±budget band against the series (or the ε sweep), written
        to ``path`` (PNG); an existing file is refused unless ``overwrite``."""
        output_path(path, "plot", make_parents=True, overwrite=overwrite)  # before drawing
        import matplotlib  # optional dependency: only for plots

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ncols = 2 if self.sweep is not None else 1
        fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), squeeze=False)
        ax = axes[0, 0]
        for q in range(self.mc.shape[1]):
            ax.fill_between(
                self.t,
                self.mc[:, q] - self.budget[:, q],
                self.mc[:, q] + self.budget[:, q],
                alpha=0.25,
                color=f"C{2 * q}",
                label=f"MC ± budget (y{q})",
            )
            ax.plot(
                self.t, self.mc[:, q], "o", ms=4, color=f"C{2 * q}", label=f"Monte Carlo (y{q})"
            )
            ax.plot(
                self.t,
                self.series[:, q],
                "-",
                lw=1.5,
                color=f"C{2 * q + 1}",
                label=f"series order {self.meta['order']} (y{q})",
            )
        ax.set_xlabel("t")
        ax.set_ylabel("response E[f(h^ε)] − E[f(h^0)]")
        ax.set_title(f"check: {self.verdict} (ε = {self.meta['eps']})")
        ax.legend(fontsize=8)
        if self.sweep is not None:
            ax = axes[0, 1]
            e, d = np.asarray(self.sweep["eps_sweep"]), np.asarray(self.sweep["sweep_discrepancy"])
            ax.loglog(e, d, "o-", label=f"discrepancy (fitted slope {self.sweep['slope']:.2f})")
            ref = d[-1] * (e / e[-1]) ** (self.meta["order"] + 1)
            ax.loglog(e, ref, "--", label=f"slope {self.meta['order'] + 1} (expected)")
            se = np.asarray(self.sweep.get("sweep_stderr", []), float)
            ts = np.asarray(self.sweep.get("sweep_time_step", np.zeros_like(se)), float)
            if se.size == e.size == ts.size and np.all(3 * se + ts > 0):
                ax.loglog(
                    e, 3 * se + ts, ":", color="gray", label="floor: 3 × stderr + time-step part"
                )
            ax.set_xlabel("ε")
            ax.set_ylabel("max_t |MC − series|")
            ax.set_title(
                "ε sweep"
                + (
                    ""
                    if self.sweep.get("resolved", True)
                    else ": discrepancy at its floor, slope not meaningful"
                ),
                fontsize=10,
            )
            ax.legend(fontsize=8)
        fig.tight_layout()
        try:
            data = figure_bytes(fig, path, dpi=120)
        finally:
            plt.close(fig)
        write_atomic(path, data, what="plot", make_parents=True, overwrite=overwrite)
        return path


#: relative rounding allowance of the compared responses (far below any other part)
_ROUNDING = 1e-12


def _validate(*, paths, out_every=None, eps=None):
    """Reject bad numeric arguments before any work (two paths at least: a standard error)."""
    check_int(paths, "paths", minimum=2)
    if out_every is not None:
        check_int(out_every, "out_every", minimum=1)
    if eps is not None:
        check_float(eps, "eps")


def _two_levels(net, sig, *, eps, T, dt, every, paths, seed, quiet, scheduler):
    """Monte Carlo responses R_dt and R_{dt/2} (each Richardson-extrapolated in its own step,
    seeds ``seed`` and ``seed + 1``) on the grid of ``dt`` and ``every``.

    From Y_h = Y + c₁h + c₂h² + …, R_h = 2Y_{h/2} − Y_h = Y − c₂h²/2 + …, so R_{dt/2} is the
    value compared and |R_dt − R_{dt/2}| ≈ 3·|c₂|dt²/8 is three times its leading bias: the
    time-step part of a budget (a floor that scales like ε)."""
    from symresp.montecarlo.estimators import simulate  # numba: kept out of import symresp.series

    return tuple(
        simulate(
            net,
            sig,
            eps=eps,
            T=T,
            dt=dt / k,
            paths=paths,
            seed=seed + k - 1,
            response=True,
            richardson=True,
            out_every=k * every,
            quiet=quiet,
            scheduler=scheduler,
        )
        for k in (1, 2)
    )


def _comparison_grid(T, dt, out_every, default_intervals):
    """The grid of :func:`output_grid`; ``out_every=None`` picks about ``default_intervals``
    comparison intervals."""
    _, step, nsteps = output_grid(T, dt)
    every = max(1, nsteps // default_intervals) if out_every is None else int(out_every)
    t, _, _ = output_grid(T, step, every)
    return t, step, every


def check(
    net,
    u,
    *,
    order: int,
    eps: float = 1.0,
    T: float = 1.0,
    dt: float = 0.01,
    out_every: int | None = None,
    method: str = "auto",
    taylor: int = 6,
    paths: int = 20000,
    seed: int = 0,
    samples=None,
    level: float = 0.01,
    q: int = 16,
    precision: int | None = None,
    resolve: float = 0.5,
    quiet: bool = True,
    scheduler=None,
) -> CheckResult:
    """Compare the order-N Volterra series with Monte Carlo inside a computed budget.

    At every output time ``t_i`` (the grid of :func:`symresp.montecarlo.simulate`:
    ``t_i = i·out_every·Δ``, ``Δ = T/⌈T/dt⌉``; ``out_every=None`` gives about 20 intervals)

        |R_{Δ/2}(t) − Σ_{n≤N} εⁿ V_n(t)| ≤ z·se + |R_Δ − R_{Δ/2}| + 2|ε^{N+1} V_{N+1}|
                                           + |series_P − series_{P−1}| + |series_h − series_{2h}|,

    where ``Y_h`` is the Monte Carlo response ``E[f(h^ε_t)] − E[f(h^0_t)]`` at step h with
    common random numbers, ``R_h = 2Y_{h/2} − Y_h`` its Richardson extrapolation (the two
    levels on one Brownian path, seeds ``seed`` for h = Δ and ``seed + 1`` for h = Δ/2),
    ``se`` the standard error of the per-path combination behind ``R_{Δ/2}``, and
    ``z = Φ⁻¹(1 − level/(2·#comparisons))`` (Bonferroni over the times t > 0 and readouts;
    at t = 0 the response vanishes in both).  The lag-truncation term is present for Taylor
    kernels; the last term is the series' own discretisation error (the recursion on a grid of
    half the steps, or the quadrature with half the nodes, against the one used).

    Why the time-step part is ``|R_Δ − R_{Δ/2}|``: Euler–Maruyama has the weak expansion
    ``Y_h = Y + c₁h + c₂h² + c₃h³ + …`` (Talay–Tubaro), so

        R_h = Y − c₂h²/2 − (3/4)c₃h³ + …,
        R_{Δ/2} − Y = −c₂Δ²/8 − (3/32)c₃Δ³ + …,
        R_Δ − R_{Δ/2} = −(3/8)c₂Δ² − (21/32)c₃Δ³ + …,

    i.e. the bias of the compared value is ``(R_Δ − R_{Δ/2})/3`` to leading order, and the
    part is three times that: its margin covers the third-order terms (also where c₂(t)
    vanishes: then the part is 7 times the bias).  Both R are unbiased to first order, so
    unlike ``|Y_Δ − Y_{Δ/2}|`` against ``Y_{Δ/2}`` (exact only to first order: its O(Δ²)
    remainder ``−c₂Δ²/2`` is not budgeted and decides the verdict where the Euler bias
    dominates, e.g. at the first output times) the leading error term is budgeted.  The
    noise of the two estimates enters the part as well (it only enlarges it).  The cost is
    Euler runs at Δ, Δ/2 (twice) and Δ/4, three times the plain pair at Δ and Δ/2.

    The verdict is ``"fail"`` where the discrepancy exceeds the budget somewhere, else
    ``"inconclusive"`` when a part of the budget is unresolved (a Taylor kernel needed at lags
    up to T beyond its trusted range, a Galerkin kernel whose basis did not converge) or when,
    at some checked time, the budget exceeds ``resolve`` × max_t |series| (the response it
    must resolve), else ``"pass"``.  ``reason`` says why it is not a pass.

    Parameters
    ----------
    u : anything :func:`symresp.model.inputs.parse_input` accepts.
    order : int ≥ 1
        The truncation order N.
    eps : float
        The input amplitude ε.
    T, dt, out_every : the time arguments of :func:`symresp.montecarlo.simulate`.
    method, taylor, samples, q : as in :func:`symresp.series.predict`.
    level : the family-wise false-alarm rate of the statistical part.
    resolve : float in (0, 1]
        The largest budget, as a fraction of max_t |series|, that still resolves the response.
    precision : int ≥ 16, optional
        Digits for the expectations of the series (see :func:`symresp.series.predict`).
    scheduler : optional
        Where the Monte Carlo blocks run (see :mod:`symresp.montecarlo.scheduler`); the
        numbers do not depend on it.

    Returns
    -------
    CheckResult
    """

    if isinstance(order, bool) or not (isinstance(order, (int, np.integer)) and order >= 1):
        raise ArgumentError(f"order: expected an integer ≥ 1, got {order!r}")
    _validate(paths=paths, out_every=out_every, eps=eps)
    if not (_real(resolve) and 0 < resolve <= 1):
        raise ArgumentError(f"resolve: expected a fraction in (0, 1], got {resolve!r}")
    t, dt, every = _comparison_grid(T, dt, out_every, 20)
    sig = parse_input(u, net.m)
    coarse, fine = _two_levels(
        net, sig, eps=eps, T=T, dt=dt, every=every, paths=paths, seed=seed, quiet=quiet,
        scheduler=scheduler,
    )  # fmt: skip
    y_fine, se, y_coarse = fine.mean, fine.stderr, coarse.mean
    kw = dict(eps=eps, t=t, method=method, taylor=taylor, samples=samples, q=q, precision=precision)
    pred = predict(net, sig, order=order + 1, **kw)
    full = pred.scaled_terms
    series = full[1 : order + 1].sum(axis=0)
    nxt = np.abs(full[order + 1])
    lag_err = np.zeros_like(series)
    if pred.method == "taylor" and taylor > 0:
        lower = predict(net, sig, order=order, **dict(kw, taylor=taylor - 1)).scaled_terms
        lag_err = np.abs(series - lower[1:].sum(axis=0))
    # the series' own grid: the recursion with half the steps, or the quadrature with half
    # the nodes, against the one used
    coarse_kw = dict(kw, q=max(2, q // 2), min_steps=1000)
    coarse_series = predict(net, sig, order=order, **coarse_kw).scaled_terms[1:].sum(axis=0)
    grid_err = np.abs(series - coarse_series)
    z = norm.isf(level / (2 * max(1, y_fine[t > 0].size)))
    parts = {
        "statistical": z * se,
        "time_step": np.abs(y_coarse - y_fine),
        "truncation": 2 * nxt + lag_err,
        "series_grid": grid_err,
    }
    budget = sum(parts.values())
    disc = np.abs(y_fine - series)
    # rounding of E[f(h^ε)] − E[f(h^0)] and of the series' sum: at t = 0 both vanish up to
    # it and every part of the budget is exactly 0
    passed = disc <= budget + _ROUNDING * (1 + np.abs(series).max(axis=0))
    reasons = list(pred.unresolved)
    scale = np.abs(series).max(axis=0)  # the response to resolve, per readout
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(scale > 0, budget / scale, np.inf)[t > 0]
    if frac.size and np.max(frac) > resolve:
        i, o = np.unravel_index(np.argmax(frac), frac.shape)
        reasons.append(
            f"the budget exceeds {resolve:g} of the response it must resolve: "
            f"{budget[t > 0][i, o]:.3g} at t = {t[t > 0][i]:.4g} (readout {o}) against "
            f"max_t |series| = {scale[o]:.3g}"
        )
    if not passed.all():
        verdict = "fail"
        i, o = np.argwhere(~passed)[0]
        reason = (
            f"the discrepancy {disc[i, o]:.3g} exceeds the budget {budget[i, o]:.3g} at "
            f"t = {t[i]:.4g} (readout {o})"
        )
        if reasons:
            reason += "; also: " + "; ".join(reasons)
    elif reasons:
        verdict, reason = "inconclusive", "; ".join(reasons)
    else:
        verdict, reason = "pass", ""
    meta = {
        "order": int(order),
        "eps": float(eps),
        "method": pred.method,
        "taylor": int(taylor),
        "paths": int(paths),
        "seed": int(seed),
        "dt": [dt, dt / 2, dt / 4],
        "z": float(z),
        "out_every": int(every),
        "resolve": float(resolve),
        "diverged": fine.diverged,
    }
    return CheckResult(
        verdict, t, series, y_fine, se, disc, budget, parts, passed, meta, reason=reason
    )


def eps_sweep(
    net,
    u,
    *,
    eps_values,
    order: int,
    T: float = 1.0,
    dt: float = 0.01,
    out_every: int | None = None,
    method: str = "auto",
    taylor: int = 6,
    paths: int = 20000,
    seed: int = 0,
    samples=None,
    q: int = 16,
    antithetic: bool = False,
    precision: int | None = None,
    quiet: bool = True,
    scheduler=None,
) -> dict:
    """Discrepancy max_t |MC − series_N| for each ε, and its fitted log–log slope (≈ N+1).

    Monte Carlo uses Richardson extrapolation in dt (weak order 2) and common random
    numbers, so that neither the O(ε·dt) bias nor the O(ε) noise hides the ε^{N+1} law.
    Every amplitude uses the same seeds (the same noise), so the sweep's noise is coherent
    across ε.  As in :func:`check`, the compared value is R_{dt/2} and |R_dt − R_{dt/2}|
    (``sweep_time_step``) bounds its time-step bias: that bias is O(ε·dt²), a floor that
    flattens the slope towards 1 at small ε (on a 2-D tanh network at T = 0.5, dt = 0.01,
    it was the whole discrepancy: slope 1.04, halving dt divided it by 7).  ``resolved``
    says whether every discrepancy exceeds 3 standard errors plus that time-step part; when
    it does not, ``floor`` names what hides the law (the time step or the noise, with the
    remedy) and the slope says nothing about the series (it also happens at an order where
    the series is exact).

    ``antithetic=True`` also runs −ε on the same noise and splits the response into its
    even and odd parts in ε,

        R_±(ε) = (R(ε) ± R(−ε))/2 = Σ_{n even/odd} εⁿ V_n,

    each compared with the series terms of its own parity (n ≤ N); the discrepancy is
    ``max(|D_+|, |D_−|)``.  Why this is valid: the CRN response is pathwise a smooth function
    of ε, so the split is exact term by term; an error in any series term of order ≤ N
    still shows in the part of its parity; and with a correct series the part of parity
    N+1 is ε^{N+1}V_{N+1} + O(ε^{N+3}) while the other part is O(ε^{N+2}), so the law is
    cleaner (the relative correction is O(ε²), not O(ε)).  On the same noise the odd
    orders cancel pathwise in R_+, whose noise is O(ε²) instead of O(ε).  The reported
    standard error of a part is the bound (se(ε) + se(−ε))/2, since the two runs are
    correlated and only their separate errors are known.
    """

    _validate(paths=paths, out_every=out_every)
    try:
        eps_values = np.asarray(sorted(float(e) for e in eps_values))
    except (TypeError, ValueError):
        raise ArgumentError(
            f"eps_values: expected a sequence of amplitudes, got {eps_values!r}"
        ) from None
    if eps_values.size < 2 or np.any(eps_values <= 0) or not np.all(np.isfinite(eps_values)):
        raise ArgumentError(
            f"eps_values: expected at least two positive finite amplitudes, got {eps_values.tolist()}"
        )
    sig = parse_input(u, net.m)
    t, dt, every = _comparison_grid(T, dt, out_every, 10)

    def run(e):
        return _two_levels(
            net, sig, eps=e, T=T, dt=dt, every=every, paths=paths, seed=seed, quiet=quiet,
            scheduler=scheduler,
        )  # fmt: skip

    disc, noise, step = [], [], []
    terms = None
    keep = t > 0
    for e in eps_values:
        if terms is None:  # V_n[u](t) do not depend on ε: one prediction (ε = 1) serves all
            terms = predict(
                net,
                sig,
                order=order,
                eps=1.0,
                t=t[keep],
                method=method,
                taylor=taylor,
                samples=samples,
                q=q,
                precision=precision,
            ).scaled_terms[1:]
        powers = e ** np.arange(1, order + 1)
        levels = run(e)  # (R_dt, R_{dt/2}); the finer one is compared
        if antithetic:
            neg = run(-e)
            se = 0.5 * (levels[1].stderr[keep] + neg[1].stderr[keep])
            d, ts = np.zeros_like(se), np.zeros_like(se)
            for parity, sign in ((0, 1.0), (1, -1.0)):  # parity of n: even part uses +, odd part −
                sel = (np.arange(1, order + 1) % 2) == parity
                pred = np.tensordot(powers[sel], terms[:order][sel], axes=(0, 0))
                part = [0.5 * (lv.mean[keep] + sign * ng.mean[keep]) for lv, ng in zip(levels, neg)]
                d = np.maximum(d, np.abs(part[1] - pred))
                ts = np.maximum(ts, np.abs(part[0] - part[1]))
        else:
            se = levels[1].stderr[keep]
            d = np.abs(levels[1].mean[keep] - np.tensordot(powers, terms[:order], axes=(0, 0)))
            ts = np.abs(levels[0].mean[keep] - levels[1].mean[keep])
        i = np.unravel_index(np.argmax(d), d.shape)
        disc.append(d[i])
        noise.append(se[i])
        step.append(ts[i])
    disc, noise, step = np.array(disc), np.array(noise), np.array(step)
    slope = float(np.polyfit(np.log(eps_values), np.log(disc), 1)[0])
    floors = []
    if not np.all(disc > 3 * noise + step):
        low = disc <= 3 * noise + step
        if np.any(low & (step >= 3 * noise)):
            floors.append("the Monte Carlo time step (use a smaller dt)")
        if np.any(low & (step < 3 * noise)):
            floors.append("the noise (use more paths, antithetic=True, or larger ε)")
    return {
        "eps_sweep": eps_values,
        "sweep_discrepancy": disc,
        "sweep_stderr": noise,
        "slope": slope,
        "expected_slope": order + 1,
        "sweep_time_step": step,
        "antithetic": bool(antithetic),
        "resolved": not floors,
        "floor": " and ".join(floors),
    }

"""Monte Carlo estimators of the SRNN: the mean, the response with common random numbers, the
kicked-copies and tangent kernel estimators, and stationary samples.

The network is the Itô SDE

    dh_t = [ −Γ h_t + M a(W h_t + b + ε C u_t·[site = activation]) + ε γ(h_t) u_t·[site = additive] ] dt
           + σ dW_t,        y_t = f(h_t),

discretised by Euler–Maruyama (weak order 1 in dt)

    h_{k+1} = h_k + φ(h_k, u(t_k)) dt + σ √dt ξ_k,     ξ_k ~ N(0, I_r),  t_k = k dt,

and run by the block engine (:mod:`symresp.montecarlo.engine`): a seed gives bit-identical
results for any number of threads.  Results are dataclasses with ``to_dict()``.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from symresp.errors import ArgumentError, DivergenceError, DivergenceWarning
from symresp.model.inputs import parse_input
from symresp.montecarlo.engine import Kick, Plan, execute
from symresp.montecarlo.simnet import sim_network
from symresp.montecarlo.start import start_law
from symresp.validation import check_budget, check_choice, check_float, check_int

__all__ = [
    "simulate",
    "response",
    "kernel_mc",
    "stationary_samples",
    "MCResult",
    "KernelMC",
]


#: Most Euler steps one run may take unless ``max_steps`` says otherwise (the input grid and
#: the recorded statistics grow with it: 10⁸ steps hold about 0.8 GB per input channel).
MAX_STEPS = 10**8
#: Most stationary samples one call may draw unless ``max_samples`` says otherwise.
MAX_SAMPLES = 10**7


def _divergence_report(ds, dt, paths, on_divergence, bound):
    info = {"count": int(ds.size), "first_time": None, "times": []}
    if ds.size == 0:
        return info
    times = ds.astype(float) * dt  # negative: during burn-in
    info.update(first_time=float(times.min()), times=times[:1000].tolist())
    if times.min() < 0:
        # excluding paths that left during the burn-in would bias the "stationary" start
        # towards the paths that happened to survive: never a result, always an error
        raise DivergenceError(
            f"{int(np.sum(times < 0))} of {paths} path(s) diverged during the burn-in (first at "
            f"{-times.min():.6g} into it; |h_i| > {bound:g} or non-finite): the network "
            "appears to have no stationary law. Check network.Gamma, network.W, the "
            "activation and network.sigma, or use a point start ([start] kind = \"point\")."
        )
    msg = (
        f"{ds.size} of {paths} path(s) diverged (non-finite state or |h_i| > {bound:g}); "
        f"first at t = {times.min():.6g}"
        f"{' (during burn-in)' if times.min() < 0 else ''}. They were excluded from the "
        "statistics from the time they diverged; reduce dt, check that the network is stable, "
        "or raise `bound`."
    )
    if on_divergence == "raise":
        raise DivergenceError(msg)
    if on_divergence == "warn":
        warnings.warn(msg, DivergenceWarning, stacklevel=3)
    return info


@dataclass
class MCResult:
    """Monte Carlo estimate on a time grid.

    ``mean[i, q]`` estimates the weighted copy combination of ``E[f_q(h_{t_i})]`` (the mean,
    the CRN response or Richardson's ``2Y_{dt/2} − Y_dt``), ``stderr`` is its standard error
    ``sd/√count``, ``count[i]`` the number of paths alive at ``t_i``."""

    t: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    count: np.ndarray
    dt: float
    paths: int
    seed: int
    diverged: dict
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "t": self.t.tolist(),
            "mean": self.mean.tolist(),
            "stderr": self.stderr.tolist(),
            "count": self.count.tolist(),
            "dt": self.dt,
            "paths": self.paths,
            "seed": self.seed,
            "diverged": self.diverged,
            **self.meta,
        }


def _check_common(dt, paths, T=None):
    """The time step (a finite number > 0), the path count (an integer ≥ 1) and the final time
    (a finite number ≥ 0) shared by every estimator."""
    check_float(dt, "dt", positive=True)
    check_int(paths, "paths", minimum=1)
    if T is not None:
        check_float(T, "T", nonnegative=True)


def simulate(
    net,
    u=None,
    *,
    eps: float = 1.0,
    T: float = 1.0,
    dt: float = 0.01,
    paths: int = 10000,
    seed: int = 0,
    response: bool = False,
    richardson: bool = False,
    start: str | None = None,
    h0=None,
    burn_in: float | None = None,
    out_every: int = 1,
    u_dt: float | None = None,
    bound: float = 1e6,
    on_divergence: str = "warn",
    threads: int | None = None,
    scheduler=None,
    block: int = 512,
    quiet: bool = False,
    max_steps: int = MAX_STEPS,
) -> MCResult:
    """Mean (and standard error) of the readout on a time grid by Euler–Maruyama.

        dh = [−Γh + M a(Wh + b (+ εCu)) + ε γ(h) u] dt + σ dW,   estimate  E[f(h_{t_i})],
        t_i = i·out_every·dt,  i = 0..⌊N/out_every⌋,  N dt = T.

    ``response=True`` estimates ``E[f(h^ε_t)] − E[f(h^0_t)]`` with common random numbers:
    both networks see the same noise, so the variance is O(ε²) instead of O(1).
    ``richardson=True`` returns ``2Y_{dt/2} − Y_dt`` (weak order 2, Talay–Tubaro): the
    fine run uses the same Brownian path (each coarse increment is the sum of two fine
    ones), and the standard error is that of the per-path combination, so the correlation
    of the two runs is accounted for.  ``dt`` is shortened so that an integer number of
    steps ends at ``T``.  ``start``: "stationary" (exact for the linear network, else
    burn-in of ``burn_in`` time, default :func:`burn_in_time`), "exact", "burn-in" or
    "point" (``h0`` or the spec's).  ``u``: anything :func:`symresp.model.inputs.parse_input`
    accepts (``u_dt`` marks tabulated inputs as sampled at step ``u_dt``); the Itô
    (left-point) value ``u(t_k)`` drives step k.  ``on_divergence``: "warn", "raise" or
    "ignore" (see :mod:`symresp.montecarlo.engine`); paths that diverge during a burn-in
    always raise :class:`~symresp.errors.DivergenceError` (the stationary law would be biased
    towards the survivors).  Results are identical for any ``threads``, and for any
    ``scheduler``: None (local threads), "threads"/"processes" (Dask's local schedulers), a
    ``distributed.Client`` or a scheduler address (see :mod:`symresp.montecarlo.scheduler`).  A request of more
    than ``max_steps`` time steps (default :data:`MAX_STEPS`) is refused before anything is
    allocated.
    """
    _check_common(dt, paths, T)
    eps = check_float(eps, "eps")
    seed = check_int(seed, "seed", minimum=0)
    check_choice(on_divergence, "on_divergence", ("warn", "raise", "ignore"))
    out_every = check_int(out_every, "out_every", minimum=1)
    block = check_int(block, "block", minimum=1)
    bound = check_float(bound, "bound", positive=True)
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    mod = sim_network(net)
    nsteps = max(1, int(math.ceil(T / dt - 1e-9))) if T > 0 else 0
    fine = nsteps * (2 if richardson else 1)
    check_budget(
        fine,
        "simulate: T/dt time steps",
        limit=max_steps,
        option="max_steps=",
        unit="steps",
        nbytes=8.0 * (fine + 1) * (mod.m + 3 * mod.p),
    )
    dt_eff = T / nsteps if nsteps else float(dt)
    fmax = 2 if richardson else 1
    sig = parse_input(u, mod.m, dt=u_dt)
    ugrid = sig(np.arange(nsteps * fmax + 1) * dt_eff / fmax)
    out_rows = np.full(nsteps + 1, -1, np.int64)
    steps = np.arange(0, nsteps + 1, out_every)
    out_rows[steps] = np.arange(steps.size)
    startt, meta = start_law(net, start, h0, burn_in, dt_eff, 10.0)
    eps_arr = np.array([eps, 0.0]) if response else np.array([float(eps)])
    wts = np.array([1.0, -1.0]) if response else np.array([1.0])
    plan = Plan(
        mod,
        nsteps,
        dt_eff,
        ugrid,
        out_rows,
        steps.size,
        eps_arr,
        wts,
        [],
        None,
        startt,
        float(bound),
        ((1, -1.0), (2, 2.0)) if richardson else ((1, 1.0),),
        int(seed),
        int(block),
    )
    t0 = time.perf_counter()
    st = execute(plan, paths, threads, quiet, "simulate", scheduler)
    cnt, mean, m2, ds = st.count, st.mean, st.m2, st.div_steps
    info = _divergence_report(ds, dt_eff, paths, on_divergence, bound)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(m2 / np.maximum(cnt - 1, 1)[:, None] / np.maximum(cnt, 1)[:, None])
    se[cnt < 2] = np.nan
    mean = mean.copy()
    mean[cnt == 0] = np.nan
    meta.update(
        method="mc",
        response=bool(response),
        richardson=bool(richardson),
        eps=float(eps),
        seconds=time.perf_counter() - t0,
    )
    return MCResult(steps * dt_eff, mean, se, cnt, dt_eff, int(paths), int(seed), info, meta)


def response(net, u, **kw) -> MCResult:
    """CRN response ``E[f(h^ε_t)] − E[f(h^0_t)]`` (= ``simulate(..., response=True)``)."""
    return simulate(net, u, response=True, **kw)


@dataclass
class KernelMC:
    """Monte Carlo kernel values ``values[l, q] ≈ K⁽ⁿ⁾_{index}(lags[l])`` for output q."""

    order: int
    index: tuple
    lags: np.ndarray
    values: np.ndarray
    stderr: np.ndarray
    method: str
    start: str
    alpha: float | None
    dt: float
    paths: int
    diverged: dict

    def to_dict(self) -> dict:
        return {
            "order": self.order,
            "index": [int(k) for k in self.index],
            "method": "mc",
            "estimator": self.method,
            "start": self.start,
            "lags": self.lags.tolist(),
            "values": self.values.tolist(),
            "stderr": self.stderr.tolist(),
            "alpha": self.alpha,
            "dt": self.dt,
            "paths": self.paths,
            "diverged": self.diverged,
        }


def kernel_mc(
    net,
    order: int,
    index,
    lags,
    *,
    method: str = "kicked",
    start: str | None = None,
    h0=None,
    dt: float = 0.01,
    paths: int = 20000,
    seed: int = 0,
    alpha: float | None = None,
    richardson: bool = False,
    burn_in: float | None = None,
    bound: float = 1e6,
    on_divergence: str = "warn",
    threads: int | None = None,
    scheduler=None,
    block: int = 512,
    quiet: bool = False,
    max_steps: int = MAX_STEPS,
) -> KernelMC:
    """Monte Carlo estimate of the kernel ``K⁽ⁿ⁾_{k_1…k_n}`` at the given lags.

    The kernel is the impulse response of the expected output: an input pulse
    ``ε_j δ(t − s_j)`` on channel k_j moves the state by ``ε_j γ_{k_j}(h)``, and
    ``K⁽ⁿ⁾ = ∂ⁿ E[f(h_t)] / ∂ε_1…∂ε_n`` at ε = 0.

    **Kicked copies** (``method="kicked"``, orders 1–3): 2ⁿ copies of the unperturbed
    network (ε = 0) share the noise; copy σ ∈ {±1}ⁿ receives the kick
    ``h ↦ h + σ_j α γ_{k_j}(h)`` at time s_j, and

        K ≈ E[ Σ_σ (Π_j σ_j) f(h^σ_t) ] / (2ⁿ αⁿ)

    (central mixed difference, bias O(α²) for smooth networks, no variance blow-up as
    α → 0 thanks to common noise).  Default ``α = 10⁻³·max(1, scale)`` with ``scale`` the
    RMS stationary/initial spread; the value used is reported.
    **Tangent** (``method="tangent"``, order 1): ``K = E[∇f(h_t) J_{s→t} γ_k(h_s)]`` with
    the Euler tangent ``J ← J + dt Dφ(h) J`` (the exact derivative of the Euler map, so it
    equals the α → 0 limit of the kicked estimator on the same noise).

    ``lags``: shape (L, n) for the stationary start (τ_1..τ_n; s_n = 0 after burn-in or
    exact sampling, s_{j−1} = s_j + τ_j, t = s_1 + τ_1) or (L, n + 1) for the point start
    (τ_1..τ_n, s_n), 1-D for order 1.  Lags are rounded to multiples of ``dt`` (the
    rounded lags are returned).  ``index``: n channels, 0-based (k_j belongs to s_j).
    With ``input_site = "activation"`` (nonlinear activation) ``index`` holds monomials of
    the input operators (input inside the activation) numbered as :attr:`symresp.symbolic.recursion.Derivation.monomials` (0..m−1 are the
    channels, then u_1², u_1u_2, … by weight) and the kick direction of monomial ν = (q, m)
    is ``γ_ν = M (a⁽q⁾(Wh + b) ⊙ Π_c C_c^{m_c}/m_c!)``: every monomial is a first-order
    operator, so kicked copies estimate the kernel of any word; the series at order n sums
    the words of weight n (:func:`symresp.predict`).
    Lag tuples sharing (τ_2, …) are estimated in one run with outputs at every τ_1.
    """
    if order not in (1, 2, 3):
        raise ArgumentError(
            f"order: the kicked-copies estimator supports orders 1–3, got {order!r}."
        )
    if method not in ("kicked", "tangent"):
        raise ArgumentError(f"method: expected 'kicked' or 'tangent', got {method!r}.")
    if method == "tangent" and order != 1:
        raise ArgumentError("method='tangent' estimates order 1 only; use 'kicked' for orders 2–3.")
    _check_common(dt, paths)
    seed = check_int(seed, "seed", minimum=0)
    check_choice(on_divergence, "on_divergence", ("warn", "raise", "ignore"))
    block = check_int(block, "block", minimum=1)
    bound = check_float(bound, "bound", positive=True)
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    if alpha is not None:
        alpha = check_float(alpha, "alpha", positive=True)
    mod = sim_network(net)
    index = tuple(int(k) for k in (index if np.ndim(index) else [index]))
    monomials = net.input_monomials
    if len(index) != order or any(k < 0 or (k >= mod.m and not monomials) for k in index):
        raise ArgumentError(
            f"index: expected {order} channel(s), each 0-based in 0..{mod.m - 1}, "
            f"got {list(index)}."
        )
    start_kind = start or net.start
    point = start_kind == "point"
    width = order + 1 if point else order
    lg = np.asarray(lags, dtype=float)
    if lg.ndim == 1 and width == 1:
        lg = lg[:, None]
    if lg.ndim == 1 and lg.size == width:
        lg = lg[None, :]
    if lg.ndim != 2 or lg.shape[1] != width:
        raise ArgumentError(
            f"lags: expected shape (L, {width}) ({'τ_1..τ_n, s_n' if point else 'τ_1..τ_n'}"
            f" for the {'point' if point else 'stationary'} start), got {lg.shape}."
        )
    if np.any(lg < 0) or not np.all(np.isfinite(lg)):
        raise ArgumentError("lags: must be finite and non-negative.")
    total = float(np.max(lg.sum(axis=1))) / dt if lg.size else 0.0
    check_budget(
        total * (2 if richardson else 1),
        "kernel_mc: the longest lag tuple",
        limit=max_steps,
        option="max_steps=",
        unit="time steps",
    )
    steps = np.rint(lg / dt).astype(np.int64)
    startt, meta = start_law(net, start_kind, h0, burn_in, dt, 10.0)
    if alpha is None:
        if startt.kind == "exact":
            scale = float(np.sqrt(np.mean(np.sum(startt.L**2, axis=1))))
        else:
            scale = float(
                np.sqrt(
                    np.mean(np.diag(mod.sig @ mod.sig.T))
                    / (2 * np.linalg.eigvals(mod.Gam).real.min())
                )
            )
        alpha = 1e-3 * max(1.0, scale)
    alpha = float(alpha)
    if not alpha > 0:
        raise ArgumentError(f"alpha: expected a positive kick size, got {alpha!r}.")
    p = mod.p
    values = np.full((lg.shape[0], p), np.nan)
    stderr = np.full((lg.shape[0], p), np.nan)
    div_all = {"count": 0, "first_time": None, "times": []}
    if method == "kicked":
        ncop = 2**order
        signs = np.array([[1.0 - 2.0 * ((c >> j) & 1) for j in range(order)] for c in range(ncop)])
        wts = np.prod(signs, axis=1) / (2.0 * alpha) ** order
    else:
        ncop, signs, wts = 1, None, np.array([1.0])
    groups: dict = {}
    for l in range(lg.shape[0]):
        groups.setdefault(tuple(steps[l, 1:]), []).append(l)
    for gi, (key, ls) in enumerate(sorted(groups.items())):
        # kick times (coarse steps): s_n first.  key = (τ_2..τ_n[, s_n]) in steps.
        tail = list(key)
        s_n = tail.pop() if point else 0
        kick_steps = [0] * order
        kick_steps[order - 1] = s_n
        for j in range(order - 1, 0, -1):  # s_{j-1} = s_j + τ_j  (0-based: index j-1)
            kick_steps[j - 1] = kick_steps[j] + tail[j - 1]
        t_steps = kick_steps[0] + steps[ls, 0]
        nsteps = int(t_steps.max())
        out_rows = np.full(nsteps + 1, -1, np.int64)
        uniq = np.unique(t_steps)
        out_rows[uniq] = np.arange(uniq.size)
        if method == "kicked":
            kicks = [Kick(kick_steps[j], index[j], signs[:, j] * alpha) for j in range(order)]
            kicks.sort(key=lambda x: x.step)
            tangent = None
        else:
            kicks, tangent = [], (kick_steps[0], index[0])
        fmax = 2 if richardson else 1
        plan = Plan(
            mod,
            nsteps,
            float(dt),
            np.zeros((nsteps * fmax + 1, mod.m)),
            out_rows,
            uniq.size,
            np.zeros(ncop),
            wts,
            kicks,
            tangent,
            startt,
            float(bound),
            ((1, -1.0), (2, 2.0)) if richardson else ((1, 1.0),),
            int(seed) + 7919 * gi,
            int(block),
        )
        st = execute(plan, paths, threads, quiet, f"kernel {gi + 1}/{len(groups)}", scheduler)
        cnt, mean, m2, ds = st.count, st.mean, st.m2, st.div_steps
        info = _divergence_report(ds, dt, paths, on_divergence, bound)
        if info["count"]:
            div_all["count"] += info["count"]
            ft = info["first_time"]
            div_all["first_time"] = (
                ft if div_all["first_time"] is None else min(ft, div_all["first_time"])
            )
            div_all["times"] = (div_all["times"] + info["times"])[:1000]
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(m2 / np.maximum(cnt - 1, 1)[:, None] / np.maximum(cnt, 1)[:, None])
        rows = np.searchsorted(uniq, t_steps)
        values[ls] = np.where(cnt[rows, None] > 0, mean[rows], np.nan)
        stderr[ls] = np.where(cnt[rows, None] > 1, se[rows], np.nan)
    return KernelMC(
        order,
        index,
        steps * float(dt),
        values,
        stderr,
        method,
        meta["start"],
        alpha if method == "kicked" else None,
        float(dt),
        int(paths),
        div_all,
    )


def stationary_samples(
    net,
    n_samples: int,
    seed: int = 0,
    *,
    method: str = "auto",
    dt: float = 0.01,
    burn_in: float | None = None,
    h0=None,
    threads: int | None = None,
    scheduler=None,
    block: int = 512,
    quiet: bool = True,
    bound: float = 1e6,
    max_samples: int = MAX_SAMPLES,
) -> np.ndarray:
    """``n_samples`` independent draws from the invariant law ρ∞ of the unperturbed network,
    an ``(n_samples, n)`` array.

    ``method="exact"`` (linear network only): ``N(m∞, S)`` with ``A m∞ = M b`` and
    ``A S + S Aᵀ = Σ``.  ``method="burn-in"``: Euler–Maruyama paths from h0
    (default 0) run for ``burn_in`` (default :func:`burn_in_time`); their final states
    sample the stationary law of the Euler chain, which differs from ρ∞ by O(dt).
    ``"auto"``: exact when linear, else burn-in.  Diverged paths raise DivergenceError (the
    network then has no stationary law to sample).  More than ``max_samples`` draws
    (default :data:`MAX_SAMPLES`) are refused before any work.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    _check_common(dt, n_samples)
    check_choice(method, "method", ("auto", "exact", "burn-in"))
    max_samples = check_int(max_samples, "max_samples", minimum=1)
    mod = sim_network(net)
    check_budget(
        n_samples,
        "stationary_samples",
        limit=max_samples,
        option="max_samples=",
        unit="samples",
        nbytes=8.0 * n_samples * mod.n,
    )
    kind = {"auto": "stationary", "exact": "exact", "burn-in": "burn-in"}[method]
    startt, _ = start_law(net, kind, h0, burn_in, float(dt), 10.0)
    plan = Plan(
        mod,
        0,
        float(dt),
        np.zeros((1, mod.m)),
        np.full(1, -1, np.int64),
        1,
        np.zeros(1),
        np.ones(1),
        [],
        None,
        startt,
        float(bound),
        ((1, 1.0),),
        int(seed),
        int(block),
        keep_state=True,
    )
    st = execute(plan, int(n_samples), threads, quiet, "stationary samples", scheduler)
    ds, finals = st.div_steps, st.finals
    if ds.size:
        raise DivergenceError(
            f"stationary_samples: {ds.size} of {n_samples} burn-in path(s) "
            f"diverged (first at t = {ds.min() * dt:.6g} into the burn-in): the network "
            "appears to have no stationary law. Check network.Gamma, network.W, the "
            "activation and network.sigma."
        )
    return np.concatenate(finals, axis=0)

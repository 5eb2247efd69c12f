#!/usr/bin/env python
"""Demonstrated: readout-only training of an SRNN is a kernel machine on the
response feature R_T.

A fixed random SRNN (tanh, point start at its own fixed point) is driven by a family of random
smooth inputs (random Fourier series on [0, T]).  For every input u_i the Monte Carlo engine
(:func:`symresp.simulate`) gives the mean hidden state E[h_T | u_i]; the targets are the
network's own output for a target readout V*,

    y_i = E[V* h_T | u_i] = V* E[h_T | u_i],

so they lie, by construction, in the class "this SRNN with a trained linear readout".  We fit

(a) a ridge readout on the simulated mean states E[h_T | u_i] (the readout-only trained SRNN:
    it must reproduce the targets up to the ridge bias);
(b) :class:`symresp.ResponseFeatureRegressor` on the *inputs alone* (no access to the network)
    for levels N = 1..4 and degrees Q = 0..3.  The theory says (a) lives inside the RKHS of
    ⟨R(u), R(v)⟩, so the held-out error of (b) must fall as N (amplitude order) and Q
    (polynomial degree of the kernels in the lags) grow.

Finally the exact map: for a small amplitude ε, ⟨ℓ(net), R_T(u)⟩ from
:func:`symresp.response_functional` (kernels derived symbolically, no training at all) predicts
the same targets; its error is reported together with the size of the last term kept in each
expansion (the truncation estimate).

Choices (and why):
* σ = 0 by default: the point start at the fixed point h* is then the deterministic limit of
  E[h_T | u] is computed exactly by one Euler path (Richardson-extrapolated, weak
  order 2), and the table measures approximation error only, with no Monte Carlo noise floor.
  The claim itself holds for σ > 0 (the kernels then carry Σ); ``--sigma 0.1 --paths 400``
  runs that case, with the same seed (common random numbers) for every input so that the
  Monte Carlo error is a smooth function of u rather than independent noise per target.
* point start at the fixed point h* of φ (not at 0): V_0 is then a constant and the bias b ≠ 0
  breaks the odd symmetry of tanh, so all amplitude orders (levels) contribute.
* T = 0.5 with Γ = 1: long enough for the recurrence to matter, short enough that the Taylor
  kernels of the exact map (degree ≤ 4 in the lags) are accurate.
* ε = 1 with unit-RMS inputs.  The input enters additively, so h_T is dominated by its linear
  part whatever ε (larger ε saturates tanh and makes the map *more* linear); the level-1 row
  of the table measures the nonlinear share of the targets, and levels ≥ 2 remove it.

Usage::

    python examples/kernel_machine_claim.py                  # full table (~3 min)
    python examples/kernel_machine_claim.py --quick          # smaller instance (~1 min)
    python examples/kernel_machine_claim.py --plot claim.png
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from scipy.optimize import fsolve
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import symresp
from symresp.features.estimators import ResponseFeatureRegressor
from symresp.features.response_features import response_feature
from symresp.files import figure_bytes, write_atomic
from symresp.montecarlo.estimators import simulate
from symresp.series.response_map import response_functional

# --------------------------------------------------------------------------- network, inputs


def make_network(
    n: int = 8,
    m: int = 1,
    *,
    sigma: float = 0.0,
    rho: float = 0.9,
    bias: float = 0.5,
    seed: int = 0,
):
    """A fixed random tanh SRNN started at its fixed point, read out through V = I (all hidden
    states), plus a random unit-norm target readout V* (1 × n).

    Returns (net_states, net_target, info): the same network with V = I_n and with V = V*.
    """
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= rho / max(abs(np.linalg.eigvals(W)))
    b = bias * rng.normal(size=n)
    C = rng.normal(size=(n, m))
    Vs = rng.normal(size=(1, n))
    Vs /= np.linalg.norm(Vs)
    # round so that the symbolic and the numeric network are literally the same numbers
    W, b, C, Vs = (np.round(x, 8) for x in (W, b, C, Vs))
    h_star = fsolve(lambda h: -h + np.tanh(W @ h + b), np.zeros(n), xtol=1e-13)
    common = dict(
        n=n,
        m=m,
        activation="tanh",
        Gamma=1,
        W=W.tolist(),
        b=b.tolist(),
        C=C.tolist(),
        sigma=float(sigma),
        start="point",
        h0=h_star.tolist(),
    )
    net_states = symresp.SRNN.create(V=np.eye(n).tolist(), **common)
    net_target = symresp.SRNN.create(V=Vs.tolist(), **common)
    return net_states, net_target, dict(W=W, b=b, C=C, V_star=Vs[0], h_star=h_star)


class FourierInput:
    """u(t) = Σ_{k=0..K} (a_k cos(2πkt/T) + b_k sin(2πkt/T)) / (1 + k), channel-wise, scaled to
    unit mean square on [0, T].  Vectorised callable t ↦ (len(t), m)."""

    def __init__(self, a, b, T):
        self.a, self.b, self.T = np.asarray(a, float), np.asarray(b, float), float(T)
        grid = np.linspace(0.0, T, 2001)
        self.scale = 1.0
        self.scale = 1.0 / np.sqrt(np.mean(self(grid) ** 2))

    def __call__(self, t):
        t = np.atleast_1d(np.asarray(t, float))
        K = self.a.shape[0]
        w = 2 * np.pi * np.arange(K)[:, None] / self.T * t[None, :]  # (K, len)
        damp = 1.0 / (1.0 + np.arange(K))[:, None, None]
        val = (
            damp
            * (
                self.a[:, :, None] * np.cos(w)[:, None, :]
                + self.b[:, :, None] * np.sin(w)[:, None, :]
            )
        ).sum(axis=0)
        return self.scale * val.T  # (len, m)


def random_inputs(count: int, m: int, T: float, *, K: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    return [FourierInput(rng.normal(size=(K, m)), rng.normal(size=(K, m)), T) for _ in range(count)]


# --------------------------------------------------------------------------- Monte Carlo targets


def mean_final_states(net, inputs, *, eps, T, dt, paths=1, seed=0, richardson=True, progress=None):
    """E[h_T | u_i] (count, n) and its standard error, one simulate() call per input.  The same
    seed for every input: common random numbers across inputs when σ > 0."""
    H = np.empty((len(inputs), net.n))
    S = np.zeros_like(H)
    for i, u in enumerate(inputs):
        r = simulate(
            net,
            u,
            eps=eps,
            T=T,
            dt=dt,
            paths=paths,
            seed=seed,
            quiet=True,
            richardson=richardson,
            out_every=int(round(T / dt)),
        )
        H[i] = r.mean[-1]
        if paths > 1:
            S[i] = r.stderr[-1]
        if progress and (i + 1) % max(1, len(inputs) // 10) == 0:
            progress(f"  simulated {i + 1}/{len(inputs)} inputs")
    return H, S


def tabulate(inputs, t):
    """(count, m, len(t)) array of input samples: the layout of the kernel machine."""
    return np.stack([u(t).T for u in inputs])


# --------------------------------------------------------------------------- models


def relative_rmse(y, yhat, scale=None):
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    s = np.std(y) if scale is None else scale
    return float(np.sqrt(np.mean((y - yhat) ** 2)) / s)


def ridge_states(Htr, ytr, Hte, alphas=(1e-10, 1e-8, 1e-6, 1e-4, 1e-2), k=5, seed=0):
    """Readout-only SRNN: ridge of y on the standardised mean states, α by k-fold CV
    (scikit-learn's StandardScaler, Ridge, KFold and GridSearchCV)."""
    search = GridSearchCV(
        make_pipeline(StandardScaler(), Ridge()),
        {"ridge__alpha": list(alphas)},
        cv=KFold(k, shuffle=True, random_state=seed),
        scoring="neg_mean_squared_error",
    ).fit(Htr, ytr)
    return search.predict(Hte), search.best_params_["ridge__alpha"]


def feature_model(
    Xtr,
    ytr,
    Xte,
    *,
    level,
    degree,
    alphas=(1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1.0),
    k=5,
    seed=0,
):
    """ResponseFeatureRegressor (Legendre basis, time on [0, 1]) with α by k-fold CV on the
    training inputs only (GridSearchCV).  The inputs are sampled on a uniform grid, which
    ``normalize_time`` maps to [0, 1] like the default grid, so no grid is passed.  The claim
    is that the target is a *linear* functional of the feature, so features are not clipped
    to their training range (``clip=False``): the default clipping guards real data against
    far-out test cases, and would make the model nonlinear here."""
    search = GridSearchCV(
        ResponseFeatureRegressor(level=level, degree=degree, clip=False),
        {"alpha": list(alphas)},
        cv=KFold(k, shuffle=True, random_state=seed),
        scoring="neg_mean_squared_error",
    ).fit(Xtr, ytr)
    return search.predict(Xte), search.best_params_["alpha"]


def exact_map(net_target, u_vals, t, *, order, taylor, eps):
    """⟨ℓ(net), R_T(u)⟩ with no training: (count,) predictions for every amplitude order
    n ≤ order (row n = Σ_{j ≤ n} ε^j ⟨ℓ_j, R_T⟩) and the functional itself."""
    F = response_functional(net_target, order, taylor, basis="legendre", T=float(t[-1]))
    # u_vals (count, len(t), m) → series (count, m, len(t))
    R = response_feature(
        np.swapaxes(u_vals, 1, 2), t, order, F.degree, basis="legendre", all_times=False
    ).features  # (count, nfeat)
    R = R.reshape(u_vals.shape[0], -1)
    terms = np.stack([eps**j * (R @ F.by_order[j][:, 0]) for j in range(order + 1)])
    return np.cumsum(terms, axis=0), terms, F


# --------------------------------------------------------------------------- driver


def run(args, log=print):
    t_start = time.perf_counter()
    T, dt = args.T, args.dt
    paths = args.paths if args.sigma > 0 else 1
    net, net_star, info = make_network(
        args.n, args.m, sigma=args.sigma, rho=args.rho, bias=args.bias, seed=args.seed
    )
    Vs = info["V_star"]
    log(
        f"network: n = {args.n} tanh, m = {args.m}, Γ = I, spectral radius of W = {args.rho}, "
        f"σ = {args.sigma}, point start at the fixed point; T = {T}, dt = {dt}, "
        f"paths = {paths}, ε = {args.eps}"
    )
    inputs = random_inputs(args.inputs, args.m, T, seed=args.seed + 1)
    ntr = int(round(args.train_fraction * len(inputs)))
    log(f"inputs: {len(inputs)} random Fourier series ({ntr} train / {len(inputs) - ntr} test)")
    H, Hse = mean_final_states(
        net, inputs, eps=args.eps, T=T, dt=dt, paths=paths, seed=args.seed, progress=log
    )
    y = H @ Vs
    y_se = np.sqrt((Hse**2) @ (Vs**2))  # (upper bound ignores correlations; σ = 0: zero)
    t_grid = np.linspace(0.0, T, int(round(T / args.grid_dt)) + 1)
    X = tabulate(inputs, t_grid)
    Xtr, Xte, ytr, yte = X[:ntr], X[ntr:], y[:ntr], y[ntr:]
    scale = float(np.std(yte))
    log(f"targets y = V* E[h_T|u]: std {np.std(y):.4f}, max MC stderr {y_se.max():.2e}")

    pred, a_states = ridge_states(H[:ntr], ytr, H[ntr:], seed=args.seed)
    err_states = relative_rmse(yte, pred, scale)
    log(
        f"(a) ridge readout on E[h_T|u] (readout-only SRNN): rel. RMSE {err_states:.2e} "
        f"(α = {a_states:g})"
    )

    levels, degrees = list(range(1, args.max_level + 1)), list(range(0, args.max_degree + 1))
    table = np.full((len(levels), len(degrees)), np.nan)
    alphas = np.full_like(table, np.nan)
    for i, N in enumerate(levels):
        for j, Q in enumerate(degrees):
            p, a = feature_model(Xtr, ytr, Xte, level=N, degree=Q, seed=args.seed)
            table[i, j], alphas[i, j] = relative_rmse(yte, p, scale), a
            log(
                f"(b) response features level {N}, degree {Q}: rel. RMSE {table[i, j]:.3e} "
                f"(α = {a:g})"
            )

    exact = None
    if args.exact_order > 0:
        eps_s = args.exact_eps
        ntest = len(inputs) - ntr
        log(
            f"exact map: deriving ℓ(net) at order {args.exact_order}, Taylor degree "
            f"{args.exact_taylor} (symbolic; n = {args.n} takes a while) ..."
        )
        t0 = time.perf_counter()
        u_fine = np.stack([u(t_grid) for u in inputs[ntr:]])  # (count, len, m)
        cum, terms, _ = exact_map(
            net_star, u_fine, t_grid, order=args.exact_order, taylor=args.exact_taylor, eps=eps_s
        )
        # Taylor truncation estimate: the same map one lag degree lower (its change is the size
        # of the highest degree kept)
        cum_lo, _, _ = exact_map(
            net_star,
            u_fine,
            t_grid,
            order=args.exact_order,
            taylor=args.exact_taylor - 1,
            eps=eps_s,
        )
        t_derive = time.perf_counter() - t0
        Hs, Hs_se = mean_final_states(
            net, inputs[ntr:], eps=eps_s, T=T, dt=dt, paths=paths, seed=args.seed
        )
        H0, _ = mean_final_states(net, inputs[:1], eps=0.0, T=T, dt=dt, paths=paths, seed=args.seed)
        ys = Hs @ Vs
        resp = ys - H0[0] @ Vs  # the response E[y^ε_T] − E[y^0_T]
        sc = float(np.std(resp)) if ntest > 1 else float(np.abs(resp).max())
        rows = []
        size = [float(np.sqrt(np.mean(terms[j] ** 2)) / sc) for j in range(len(terms))]
        for nn in range(1, args.exact_order + 1):
            e = relative_rmse(resp, cum[nn] - cum[0], sc)
            # first neglected term ≈ last kept × (ratio of the last two kept), from order 2 on
            nxt = size[nn] ** 2 / size[nn - 1] if nn >= 2 and size[nn - 1] > 0 else np.nan
            tay = relative_rmse(cum[nn], cum_lo[nn], sc)
            rows.append((nn, e, size[nn], nxt, tay))
            log(
                f"exact map, ε = {eps_s}, order ≤ {nn}: rel. RMSE {e:.3e} "
                f"(last term kept {size[nn]:.2e}, estimated next term {nxt:.1e}, "
                f"Taylor degree {args.exact_taylor} vs {args.exact_taylor - 1}: {tay:.1e})"
            )
        drift = float(np.abs(cum[0].mean() - H0[0] @ Vs))
        exact = dict(eps=eps_s, rows=rows, seconds=t_derive, v0_error=drift, n_test=ntest)

    res = dict(
        levels=levels,
        degrees=degrees,
        table=table,
        alphas=alphas,
        err_states=err_states,
        alpha_states=a_states,
        exact=exact,
        seconds=time.perf_counter() - t_start,
        y_std=float(np.std(y)),
        y_se_max=float(y_se.max()),
        ntr=ntr,
        nte=len(inputs) - ntr,
        paths=paths,
    )
    return res


def markdown(res, args, command):
    lines = [
        f"Command: `{command}`",
        "",
        f"SRNN n = {args.n} (tanh, Γ = I, spectral radius {args.rho}, σ = {args.sigma}, "
        f"point start at the fixed point), m = {args.m}, T = {args.T}, ε = {args.eps}, "
        f"{res['ntr']} train / {res['nte']} test random Fourier inputs; targets "
        f"y = V* E[h_T | u] (Monte Carlo engine, paths = {res['paths']}, dt = {args.dt}, "
        f"Richardson). Held-out relative RMSE (RMSE / std of test targets):",
        "",
        f"* (a) ridge readout on the simulated E[h_T | u] (readout-only SRNN): "
        f"**{res['err_states']:.2e}**",
        "",
        "(b) `ResponseFeatureRegressor` on the inputs alone (α by 5-fold CV on the training "
        "inputs):",
        "",
        "| level \\ degree | " + " | ".join(f"Q = {q}" for q in res["degrees"]) + " |",
        "|---|" + "---|" * len(res["degrees"]),
    ]
    for i, N in enumerate(res["levels"]):
        lines.append(f"| N = {N} | " + " | ".join(f"{v:.2e}" for v in res["table"][i]) + " |")
    ex = res["exact"]
    if ex:
        lines += [
            "",
            f"Exact map, no training: ⟨ℓ(net), R_T(u)⟩ (`response_functional`, "
            f"Legendre basis, Taylor degree {args.exact_taylor}) against the simulated "
            f"response E[y^ε_T] − E[y^0_T] at ε = {ex['eps']} on the {ex['n_test']} "
            f"test inputs (derivation {ex['seconds']:.0f} s):",
            "",
            f"| amplitude order | rel. RMSE | last amplitude term kept | estimated first "
            f"neglected amplitude term | Taylor degree {args.exact_taylor} vs "
            f"{args.exact_taylor - 1} |",
            "|---|---|---|---|---|",
        ]
        for nn, e, last, nxt, tay in ex["rows"]:
            est = "–" if not np.isfinite(nxt) else f"{nxt:.1e}"
            lines.append(f"| ≤ {nn} | {e:.2e} | {last:.2e} | {est} | {tay:.1e} |")
        lines.append(
            "\nAll sizes relative to the std of the simulated response.  The residual "
            "error is the expected truncation: the last amplitude term is "
            "resolved, and what is left has the size of the Taylor (lag-degree) "
            "truncation of the kernels."
        )
        lines.append(
            f"\nV_0 (constant at the fixed point) vs simulated rest output: {ex['v0_error']:.1e}."
        )
    lines.append(f"\nWall time {res['seconds']:.0f} s.")
    return "\n".join(lines)


def plot(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    im = ax[0].imshow(np.log10(res["table"]), origin="lower", cmap="viridis", aspect="auto")
    ax[0].set_xticks(range(len(res["degrees"])), [str(q) for q in res["degrees"]])
    ax[0].set_yticks(range(len(res["levels"])), [str(n) for n in res["levels"]])
    ax[0].set_xlabel("degree Q"), ax[0].set_ylabel("level N")
    ax[0].set_title("log10 held-out rel. RMSE, response features")
    for i in range(len(res["levels"])):
        for j in range(len(res["degrees"])):
            ax[0].text(
                j, i, f"{res['table'][i, j]:.1e}", ha="center", va="center", color="w", fontsize=8
            )
    fig.colorbar(im, ax=ax[0])
    for j, Q in enumerate(res["degrees"]):
        ax[1].semilogy(res["levels"], res["table"][:, j], "o-", label=f"features, Q = {Q}")
    ax[1].axhline(res["err_states"], color="k", ls="--", label="ridge on E[h_T] (SRNN)")
    ax[1].set_xlabel("level N"), ax[1].set_ylabel("held-out rel. RMSE")
    ax[1].set_xticks(res["levels"]), ax[1].legend(fontsize=8)
    fig.tight_layout()
    write_atomic(path, figure_bytes(fig, path, dpi=120), what="--plot")


def parser():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smaller instance (fewer inputs, levels ≤ 3, exact map at amplitude order ≤ 2)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="OUT.png")
    p.add_argument("--n", type=int, default=8, help="hidden units (default 8)")
    p.add_argument("--m", type=int, default=1, help="input channels (default 1)")
    p.add_argument("--sigma", type=float, default=0.0, help="noise level (default 0)")
    p.add_argument("--paths", type=int, default=400, help="Monte Carlo paths when σ > 0")
    p.add_argument("--rho", type=float, default=0.9, help="spectral radius of W")
    p.add_argument("--bias", type=float, default=0.5, help="scale of the random bias b")
    p.add_argument("--eps", type=float, default=1.0, help="input amplitude ε for the table")
    p.add_argument("--T", type=float, default=0.5, help="horizon")
    p.add_argument("--dt", type=float, default=0.005, help="Euler–Maruyama step")
    p.add_argument(
        "--grid-dt", type=float, default=0.005, help="input sampling step for the features"
    )
    p.add_argument("--inputs", type=int, default=400)
    p.add_argument("--train-fraction", type=float, default=0.7)
    p.add_argument("--max-level", type=int, default=4)
    p.add_argument("--max-degree", type=int, default=3)
    p.add_argument(
        "--exact-order", type=int, default=3, help="amplitude order of the exact map (0: skip)"
    )
    p.add_argument("--exact-taylor", type=int, default=4, help="Taylor degree of the kernels")
    p.add_argument("--exact-eps", type=float, default=0.2, help="small amplitude for the exact map")
    p.add_argument("--results", metavar="OUT.md", help="write the markdown table here")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    # At a fixed point many generator observables vanish exactly (𝓛₀ f(h*) = 0, …); the
    # derivation's cancellation diagnostic Σ|terms|/|value| is then infinite although the value
    # is right (the exact-map error below is the real check), so that warning is silenced here.
    warnings.filterwarnings("ignore", message="symresp: severe cancellation")
    if args.quick:
        args.inputs = min(args.inputs, 160)
        args.max_level = min(args.max_level, 3)
        args.exact_order = min(args.exact_order, 2)
    command = "python examples/kernel_machine_claim.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    res = run(args, log=lambda s: print(s, flush=True))
    md = markdown(res, args, command.strip())
    print("\n" + md)
    if args.results:
        write_atomic(args.results, md + "\n", what="--results")
    if args.plot:
        plot(res, args.plot)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""The kernel machine on real data: response features, the SRNN's own kernel, an echo-state
SRNN and MiniRocket on six UCR/UEA sets, shipped splits, one run.

Data (bundled in aeon's wheel, loaded offline with ``aeon.datasets``): GunPoint (1 channel,
length 150), BasicMotions (6 channels, 100), JapaneseVowels (12 channels, lengths 7–29),
ACSF1 (1 channel, 1460), PickupGestureWiimoteZ (1 channel, lengths 29–361) — classification —
and Covid3Month (1 channel, 84) — regression.  Every series is z-scored per channel with the
training mean and standard deviation (over all training series and times); unequal lengths
stay unequal (lists of (n_channels, n_timepoints_i) arrays, never padded).

Methods (every hyperparameter chosen on the training split only):

* ``ResponseFeature…CV``: :class:`symresp.ResponseFeatureClassifierCV` /
  :class:`symresp.ResponseFeatureRegressorCV` with their default search (the response at the
  final time or pooled over time, basis, rate scale, time axis, level, degree, augmentations,
  windows, per-case z-normalisation, α and the size of an ensemble of the best settings of
  one pooling, all by exact leave-one-out ridge on the training split; features clipped to
  their training range at predict time).
* ``k_net``: a fixed random tanh SRNN (n = ``--knet-units``, 8, for one channel,
  ``--knet-units-multichannel``, 4, for several; Γ = I, spectral radius 0.9,
  additive input, point start at its fixed point, σ = 0) and its own kernel: the weights
  of ``response_functional`` (amplitude order 2, Taylor degree ``--knet-taylor``) give
  φ(u) = ℓ(ε)ᵀ R_T(u) ≈ E[h_T | u]; ridge on φ (scikit-learn pipeline: NetworkFeatures,
  StandardScaler, RidgeClassifier/Ridge), ε and α by 5-fold CV.  Series on [0, 1].  Its
  "chosen" column also compares it, prediction by prediction, with the simulated network
  whose readout is trained at the same ε and α.
* ``same SRNN simulated``: that network simulated with :func:`symresp.simulate` on every series
  (tabulated input, u_dt = 1/(L − 1), one Euler step per sample), ridge on E[h_T | u] with the
  same pipeline and CV — the classifier k_net stands for, reported beside it.
* ``ESN SRNN``: an echo-state random SRNN (n = 100, tanh, input inside the activation,
  point start at 0), simulated with :func:`symresp.simulate`, ridge readout on the final
  state and four window averages; ρ, input scale ε, step Δ and α by 5-fold CV.
* ``MiniRocket``: aeon's ``MiniRocketClassifier`` / ``MiniRocketRegressor`` (random_state =
  seed).  It refuses unequal-length series (JapaneseVowels, PickupGestureWiimoteZ): "n/a".

Usage::

    python examples/kernel_machine_results.py                 # everything (8–16 min, 2 cores)
    python examples/kernel_machine_results.py --quick         # smaller grids (fewer ESN runs)
    python examples/kernel_machine_results.py --datasets GunPoint --results out.md --plot p.png

Needs aeon (``pip install symresp[data]``; aeon pins numba < 0.64 — where numba is newer,
``pip install --no-deps aeon`` plus pandas and deprecated works for the loaders and MiniRocket).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from scipy.optimize import fsolve
from sklearn.linear_model import Ridge, RidgeClassifier
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import symresp
from symresp.features.model_selection import (
    ResponseFeatureClassifierCV,
    ResponseFeatureRegressorCV,
)
from symresp.features.network_kernel import NetworkFeatures
from symresp.files import figure_bytes, write_atomic
from symresp.montecarlo.estimators import simulate
from symresp.series.response_map import response_functional

DATASETS = {
    "GunPoint": "classification",
    "BasicMotions": "classification",
    "JapaneseVowels": "classification",
    "ACSF1": "classification",
    "PickupGestureWiimoteZ": "classification",
    "Covid3Month": "regression",
}

# --------------------------------------------------------------------------- data


def load(name, task):
    """(Xtr, ytr, Xte, yte): X a float array (n_cases, n_channels, n_timepoints) or a list of
    (n_channels, n_timepoints_i) arrays, z-scored per channel with training statistics."""
    try:
        from aeon.datasets import load_classification, load_regression
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit(
            "this example needs aeon: pip install 'symresp[data]' (or "
            "pip install --no-deps aeon pandas deprecated)"
        ) from exc
    loader = load_classification if task == "classification" else load_regression
    out = []
    for split in ("train", "test"):
        X, y = loader(name, split=split)
        X = [np.asarray(x, dtype=np.float64) for x in X]
        out += [X, np.asarray(y) if task == "classification" else np.asarray(y, float)]
    Xtr, ytr, Xte, yte = out
    cat = np.concatenate(Xtr, axis=1)
    mu, sd = cat.mean(axis=1, keepdims=True), cat.std(axis=1, keepdims=True)
    sd[sd == 0] = 1.0

    def norm(X):
        Z = [(x - mu) / sd for x in X]
        return np.stack(Z) if len({z.shape[1] for z in Z}) == 1 else Z

    return norm(Xtr), ytr, norm(Xte), yte


def folds(task, seed):
    if task == "classification":
        return StratifiedKFold(5, shuffle=True, random_state=seed)
    return KFold(5, shuffle=True, random_state=seed)


def score(task, y, pred):
    if task == "classification":
        return float(np.mean(pred == y))
    return float(np.sqrt(np.mean((pred - y) ** 2)))


def ridge_search(task, alphas, cv, *steps):
    ridge = RidgeClassifier() if task == "classification" else Ridge()
    name = type(ridge).__name__.lower()
    pipe = make_pipeline(*steps, StandardScaler(), ridge)
    scoring = None if task == "classification" else "neg_root_mean_squared_error"
    return GridSearchCV(pipe, {f"{name}__alpha": list(alphas)}, cv=cv, scoring=scoring), name


# --------------------------------------------------------------------------- methods


def run_features(task, Xtr, ytr, Xte, args):
    kw = {} if not args.quick else dict(levels=(1, 2, 3), degrees=(1, 2), rate_scales=(1.0, 4.0))
    Est = ResponseFeatureClassifierCV if task == "classification" else ResponseFeatureRegressorCV
    t0 = time.perf_counter()
    est = Est(**kw).fit(Xtr, ytr)
    t1 = time.perf_counter()
    pred = est.predict(Xte)
    p = est.best_params_
    pooled = "pooled over time (ppv), " if p["pooling"] else ""
    chosen = (
        f"{pooled}{p['basis']}, N = {p['level']}, Q = {p['degree']}, "
        f"aug = {'+'.join(p['augmentations']) or '–'}, windows = {p['windows']}, "
        f"per-case z = {'yes' if p['normalize_series'] else 'no'}, "
        f"time = {'[0, 1]' if p['normalize_time'] else 'samples'}, α = {p['alpha']:g}"
    )
    if est.ensemble_size_ > 1:
        chosen += f"; mean of the {est.ensemble_size_} best settings (this one first)"
    return pred, t1 - t0, time.perf_counter() - t1, chosen


def make_knet(n, m, seed):
    """A fixed random tanh SRNN (Γ = I, spectral radius 0.9, bias 0.5·N(0, 1), C ~ N(0, 1/m),
    additive input) at its own fixed point, read out through V = I, σ = 0."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= 0.9 / max(abs(np.linalg.eigvals(W)))
    b = 0.5 * rng.normal(size=n)
    C = rng.normal(size=(n, m)) / np.sqrt(m)
    W, b, C = (np.round(x, 8) for x in (W, b, C))
    h_star = fsolve(lambda h: -h + np.tanh(W @ h + b), np.zeros(n), xtol=1e-13)
    return symresp.SRNN.create(
        n=n,
        m=m,
        activation="tanh",
        Gamma=1,
        W=W.tolist(),
        b=b.tolist(),
        C=C.tolist(),
        sigma=0.0,
        V=np.eye(n).tolist(),
        start="point",
        h0=h_star.tolist(),
    )


def simulated_states(net, X, eps, *, delta=None, windows=0):
    """E[h_T | u] of every series (T = 1, u_dt = 1/(L − 1); or, with ``delta``, the ESN time
    axis T = (L − 1)Δ), plus ``windows`` window averages of the state path."""
    out = []
    for x in X:
        L = x.shape[1]
        step = 1.0 / (L - 1) if delta is None else delta
        r = simulate(
            net,
            np.ascontiguousarray(x.T),
            u_dt=step,
            eps=eps,
            T=(L - 1) * step,
            dt=step,
            paths=1,
            seed=0,
            quiet=True,
            on_divergence="ignore",
        )
        H = r.mean
        parts = [H[-1]] + (
            [w.mean(axis=0) for w in np.array_split(H[1:], windows)] if windows else []
        )
        out.append(np.concatenate(parts))
    return np.array(out)


def run_knet(task, Xtr, ytr, Xte, args, cache, log):
    m = Xtr[0].shape[0]
    if m > args.knet_max_channels:
        return None
    # the derivation grows quickly with the channels: fewer units for multichannel sets
    n = args.knet_units if m == 1 else args.knet_units_multichannel
    if m not in cache:
        net = make_knet(n, m, args.seed)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="symresp: severe cancellation")
            F = response_functional(net, 2, args.knet_taylor, basis="legendre", T=1.0)
        cache[m] = (net, F, time.perf_counter() - t0)
        log(f"    k_net: derived ℓ for n = {n}, m = {m} in {cache[m][2]:.1f} s")
    net, F, t_derive = cache[m]
    cv = folds(task, args.seed)
    rows = []
    # the kernel machine: ε and α by CV (one GridSearchCV over both)
    t0 = time.perf_counter()
    search, name = ridge_search(task, args.alphas, cv, NetworkFeatures(functional=F, horizon=1.0))
    search.param_grid["networkfeatures__eps"] = list(args.knet_eps)
    search.fit(Xtr, ytr)
    t1 = time.perf_counter()
    pred = search.predict(Xte)
    t_pred = time.perf_counter() - t1
    bp = search.best_params_
    # the same SRNN simulated, same readout training (its own CV over ε and α)
    t0s = time.perf_counter()
    states, best = {}, None
    for eps in args.knet_eps:
        states[eps] = simulated_states(net, Xtr, eps)
        if not np.all(np.isfinite(states[eps])):
            continue
        s, _ = ridge_search(task, args.alphas, cv)
        s.fit(states[eps], ytr)
        if best is None or s.best_score_ > best[0].best_score_:
            best = (s, eps)
    t1s = time.perf_counter()
    s, eps = best
    pred_sim = s.predict(simulated_states(net, Xte, eps))
    t_pred_sim = time.perf_counter() - t1s
    # the claim on this data: the simulated network with the readout trained at k_net's own
    # (ε, α) against the k_net model, prediction by prediction on the test split
    e_k, a_k = bp["networkfeatures__eps"], bp[name + "__alpha"]
    same, _ = ridge_search(task, [a_k], cv)
    same = same.estimator.set_params(**{name + "__alpha": a_k}).fit(states[e_k], ytr)
    pred_same = same.predict(simulated_states(net, Xte, e_k))
    if task == "classification":
        agree = f"same prediction as the simulated SRNN at this ε, α on {np.mean(pred == pred_same):.0%}"
    else:
        rel = np.sqrt(np.mean((pred - pred_same) ** 2)) / np.std(pred_same)
        agree = f"differs from the simulated SRNN at this ε, α by {rel:.2f} std"
    rows.append(
        (
            f"k_net (n = {n}, order 2, P = {args.knet_taylor})",
            pred,
            t1 - t0,
            t_pred,
            f"ε = {e_k}, α = {a_k:g}; ℓ derived once in {t_derive:.1f} s; {agree}",
        )
    )
    rows.append(
        (
            f"same SRNN simulated (n = {n})",
            pred_sim,
            t1s - t0s,
            t_pred_sim,
            f"ε = {eps}, α = {s.best_params_[name + '__alpha']:g}",
        )
    )
    return rows


def make_esn(n, m, rho, seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    W *= rho / max(abs(np.linalg.eigvals(W)))
    return symresp.SRNN.create(
        n=n,
        m=m,
        activation="tanh",
        Gamma=1,
        W=W.tolist(),
        b=(0.1 * rng.normal(size=n)).tolist(),
        C=(rng.normal(size=(n, m)) / np.sqrt(m)).tolist(),
        sigma=0.0,
        V=np.eye(n).tolist(),
        start="point",
        h0=[0.0] * n,
        input_site="activation",
    )


def run_esn(task, Xtr, ytr, Xte, args):
    m = Xtr[0].shape[0]
    cv = folds(task, args.seed)
    t0 = time.perf_counter()
    best = None
    for rho in args.rhos:
        net = make_esn(args.esn_units, m, rho, args.seed)
        for eps in args.input_scales:
            for delta in args.deltas:
                S = simulated_states(net, Xtr, eps, delta=delta, windows=4)
                if not np.all(np.isfinite(S)):
                    continue
                s, name = ridge_search(task, args.alphas, cv)
                s.fit(S, ytr)
                if best is None or s.best_score_ > best[0].best_score_:
                    best = (s, net, rho, eps, delta, name)
    t1 = time.perf_counter()
    s, net, rho, eps, delta, name = best
    pred = s.predict(simulated_states(net, Xte, eps, delta=delta, windows=4))
    chosen = f"ρ = {rho}, ε = {eps}, Δ = {delta}, α = {s.best_params_[name + '__alpha']:g}"
    return pred, t1 - t0, time.perf_counter() - t1, chosen


def run_minirocket(task, Xtr, ytr, Xte, args):
    if isinstance(Xtr, list) or isinstance(Xte, list):
        return None
    if task == "classification":
        from aeon.classification.convolution_based import MiniRocketClassifier as MR
    else:
        from aeon.regression.convolution_based import MiniRocketRegressor as MR
    t0 = time.perf_counter()
    est = MR(random_state=args.seed).fit(Xtr, ytr)
    t1 = time.perf_counter()
    pred = est.predict(Xte)
    return pred, t1 - t0, time.perf_counter() - t1, "defaults (10 000 kernels)"


# --------------------------------------------------------------------------- driver


def run_dataset(name, args, log, cache):
    task = DATASETS[name]
    Xtr, ytr, Xte, yte = load(name, task)
    lengths = sorted({x.shape[-1] for x in list(Xtr) + list(Xte)})
    log(
        f"{name} ({task}): {len(Xtr)} train / {len(Xte)} test, {Xtr[0].shape[0]} channel(s), "
        f"lengths {lengths[0]}–{lengths[-1]}"
    )
    rows = []

    def add(method, res):
        if res is None:
            rows.append((method, None, None, None, "refuses unequal lengths"))
            log(f"    {method}: n/a")
            return
        pred, fit_s, pred_s, chosen = res
        rows.append((method, score(task, yte, pred), fit_s, pred_s, chosen))
        log(f"    {method}: {rows[-1][1]:.4f} (fit {fit_s:.1f} s, predict {pred_s:.1f} s) {chosen}")

    add("ResponseFeature…CV", run_features(task, Xtr, ytr, Xte, args))
    knet = run_knet(task, Xtr, ytr, Xte, args, cache, log)
    if knet is None:
        rows.append(
            ("k_net", None, None, None, f"skipped: more than {args.knet_max_channels} channels")
        )
    else:
        for method, pred, fit_s, pred_s, chosen in knet:
            add(method, (pred, fit_s, pred_s, chosen))
    add(f"ESN SRNN (n = {args.esn_units})", run_esn(task, Xtr, ytr, Xte, args))
    try:
        add("MiniRocket (aeon)", run_minirocket(task, Xtr, ytr, Xte, args))
    except Exception as exc:  # an aeon/numba mismatch is reported, not hidden
        rows.append(("MiniRocket (aeon)", None, None, None, f"failed: {type(exc).__name__}"))
    return task, rows


def markdown(results, command, seconds):
    lines = [
        f"Command: `{command}` (total {seconds:.0f} s, 2 shared cores).",
        "",
        "| dataset | method | accuracy / RMSE | fit (s) | predict (s) | chosen |",
        "|---|---|---|---|---|---|",
    ]
    for name, (task, rows) in results.items():
        # an RMSE to four decimals: the methods on Covid3Month differ in the fourth
        metric, digits = ("acc.", 3) if task == "classification" else ("RMSE", 4)
        for meth, val, fit_s, pred_s, chosen in rows:
            v = "n/a" if val is None else f"{val:.{digits}f} {metric}"
            f = "–" if fit_s is None else f"{fit_s:.1f}"
            p = "–" if pred_s is None else f"{pred_s:.2f}"
            lines.append(f"| {name} | {meth} | {v} | {f} | {p} | {chosen} |")
    return "\n".join(lines)


def plot(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cls = [(n, r) for n, (task, r) in results.items() if task == "classification"]
    reg = [(n, r) for n, (task, r) in results.items() if task == "regression"]
    fig, axes = plt.subplots(
        1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [max(1, len(cls)), 1]}
    )
    for ax, group, label in ((axes[0], cls, "test accuracy"), (axes[1], reg, "test RMSE")):
        if not group:
            ax.axis("off")
            continue
        # one bar per method across sets: names differ only in their "(n = …)" part
        # (k_net has fewer units on multichannel sets)
        kind = lambda m: m.split(" (")[0]
        methods = [kind(m) for m, *_ in group[0][1]]
        width = 0.8 / len(methods)
        for j, meth in enumerate(methods):
            vals = [next((v for m, v, *_ in rows if kind(m) == meth), None) for _, rows in group]
            xs = [i + j * width for i, v in enumerate(vals) if v is not None]
            ax.bar(xs, [v for v in vals if v is not None], width, label=meth)
        ax.set_xticks([i + 0.4 - width / 2 for i in range(len(group))], [n for n, _ in group])
        ax.set_ylabel(label)
        if label == "test accuracy":
            ax.set_ylim(0.0, 1.15)
            ax.legend(fontsize=7, loc="upper center", ncol=3)
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    write_atomic(path, figure_bytes(fig, path, dpi=110), what="--plot")


def parser():
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smaller grids")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--esn-units", type=int, default=100)
    p.add_argument("--knet-units", type=int, default=8, help="k_net units, one channel")
    p.add_argument(
        "--knet-units-multichannel", type=int, default=4, help="k_net units, several channels"
    )
    p.add_argument("--knet-taylor", type=int, default=3)
    p.add_argument(
        "--knet-max-channels",
        type=int,
        default=12,
        help="skip k_net above this many channels (the derivation grows like m^order)",
    )
    p.add_argument("--results", metavar="OUT.md", help="write the markdown table here")
    p.add_argument("--plot", metavar="OUT.png", help="bar chart of the scores")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    args.alphas = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3]
    args.knet_eps = [0.3, 1.0]
    if args.quick:
        args.rhos, args.input_scales, args.deltas = [0.9], [0.3, 1.0], [1.0]
    else:
        args.rhos, args.input_scales, args.deltas = [0.5, 0.9], [0.3, 1.0], [0.25, 1.0]
    command = "python examples/kernel_machine_results.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    log = lambda s: print(s, flush=True)
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    t0 = time.perf_counter()
    cache = {}
    results = {name: run_dataset(name, args, log, cache) for name in args.datasets}
    md = markdown(results, command.strip(), time.perf_counter() - t0)
    print("\n" + md)
    if args.results:
        write_atomic(args.results, md + "\n", what="--results")
    if args.plot:
        plot(results, args.plot)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()

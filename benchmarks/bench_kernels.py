"""Benchmark: the first-order kernel K⁽¹⁾ at 100 lags in [0, 10], stationary start, by the
Galerkin route (and the PDE route in 2-D) against Monte Carlo at equal error.

* 2-D tanh network of ``derivations/tanh_2d.toml`` (no closed stationary law).  Reference: the
  PDE route (backward Kolmogorov equation on a tensor Chebyshev grid, ``--points``), its
  refinement estimate printed.  Galerkin: ``symresp.kernel(net, 1, [0], method="galerkin")``,
  which projects under the grid density of ρ_∞ (forward equation on the Chebyshev grid): no
  samples.  Its time includes solving for that density.
* 4-D tanh network (unless ``--no-4d``) built with ``SRNN.create`` from seeded random weights
  rounded to two decimals: no grid route, so the Galerkin route projects under a mean over
  ``--samples`` stationary samples (their drawing timed); the reference is pathwise-tangent
  Monte Carlo with ``--paths-ref`` paths, Richardson in dt.
* Monte Carlo baselines, kicked copies and pathwise tangent (Richardson, dt and dt/2): a pilot
  at ``--paths-pilot`` paths gives the standard error; the paths needed for a max standard
  error equal to the Galerkin kernel's max error vs the reference (2-D: never below the
  reference's own estimate) are pilot · (max stderr / target)².  That count is run and timed
  when at most ``--mc-cap`` paths, else its time is extrapolated linearly in paths from the
  pilot (the table says which).  The Monte Carlo time-step remainder is not charged to it.
* 2-D, measured at equal error (both sides timed): Monte Carlo at ``--measured-paths`` paths
  (10⁶, about 2 minutes) with the more efficient of the two estimators, then the Galerkin
  route with that run's max standard error as its tolerance (converged: two successive
  bases agree within it), the median of three runs on fresh copies of the network; its
  error vs the PDE is checked to be at most that standard error, so the ratio of times is
  a lower bound at equal error.

The Galerkin route's timed runs use one BLAS thread (threadpoolctl; the stationary samples
it projects under in 4-D are drawn on every core) while Monte Carlo uses every core: on a
machine shared with other work, two BLAS threads oversubscribe and slowed its dense solves
3–6×; on an idle machine one thread is about as fast as two.  Every route runs once untimed
first (imports, numba compilation; on a separate copy of the 2-D network); the timed runs
have no profiler or tracemalloc active (refused when tracing).  Wall seconds, one process.

    python benchmarks/bench_kernels.py [--quick] [--paths-ref 100000] [--measured-paths 1000000] [--seed 0]
        [--no-4d]

The last line is exactly ``speedup vs monte carlo: X.Xx`` for the 2-D network: the measured
ratio (both sides timed, Galerkin at least as accurate).  The two lines before it give the
measured and the extrapolated speedups, labelled; the extrapolation asks Monte Carlo for the
Galerkin kernel's own (much smaller) error, and is far larger.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402 - installed with scikit-learn

import symresp  # noqa: E402

# multiples of dt and dt/2: the Monte Carlo rounds lags to its time grid, and a lag moved by
# 0.005 moves K by ≈ 5e-3 near τ = 0
LAGS = np.linspace(0.1, 10.0, 100)


def net_2d():
    return symresp.load_spec(str(ROOT / "derivations" / "tanh_2d.toml"))


def net_4d(seed):
    rng = np.random.default_rng(seed)
    n = 4
    W = rng.normal(0.0, 1.0, (n, n))
    W *= 0.8 / max(abs(np.linalg.eigvals(W)))  # spectral radius 0.8 (Γ = 1: stable)
    W = np.round(W, 2)
    b = np.round(rng.normal(0.0, 0.2, n), 2)
    C = np.round(rng.normal(0.0, 1.0, (n, 1)), 2)
    V = np.round(rng.normal(0.0, 1.0, (1, n)), 2)
    return symresp.SRNN.create(
        n=n, m=1, activation="tanh", Gamma=1, W=W.tolist(), b=b.tolist(), C=C.tolist(),
        sigma=0.5, V=V.tolist(),
    )  # fmt: skip


def galerkin(net, n_samples, seed, dt, tol):
    t0 = time.perf_counter()
    X = symresp.stationary_samples(net, n_samples, seed=seed, dt=dt)  # every core
    t1 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):
        K = symresp.kernel(net, 1, [0], method="galerkin", samples=X, tol=tol)
        L = LAGS[:, None]
        vals, err, se = K(L)[:, 0], K.error(L)[:, 0], K.stderr(L)[:, 0]
    t2 = time.perf_counter()
    return vals, err, se, t2 - t0, t1 - t0, K


def mc(net, estimator, paths, seed, dt):
    t0 = time.perf_counter()
    r = symresp.kernel_mc(
        net, 1, [0], LAGS, method=estimator, paths=int(paths), dt=dt, seed=seed,
        richardson=True, quiet=True,
    )  # fmt: skip
    return r.values[:, 0], r.stderr[:, 0], time.perf_counter() - t0


def mc_at_equal_error(net, args, sizes, ref, target, rows):
    """Pilot runs of both estimators; the paths that reach ``target`` (max stderr), run and
    timed when at most ``--mc-cap``, else extrapolated linearly in paths.  Best time."""
    best = float("inf")
    for est in ("kicked", "tangent"):
        pilot = sizes["paths_pilot"]
        v, se, t = mc(net, est, pilot, args.seed + 3, args.dt)
        rows.append((f"{est} pilot, {pilot} paths", t, np.abs(v - ref).max(), se.max(), "measured"))
        need = int(np.ceil(pilot * (se.max() / target) ** 2))
        if need <= args.mc_cap:
            v2, se2, t2 = mc(net, est, need, args.seed + 4, args.dt)
            rows.append((f"{est}, {need} paths", t2, np.abs(v2 - ref).max(), se2.max(), "measured"))
        else:
            t2 = t * need / pilot
            rows.append(
                (f"{est}, {need:.3g} paths", t2, float("nan"), se.max() * np.sqrt(pilot / need),
                 "extrapolated (linear in paths)")
            )  # fmt: skip
        best = min(best, t2)
    return best


def table(rows):
    print("\n| route | seconds | max error vs reference | max stderr | time |")
    print("|---|---|---|---|---|")
    for r, t, e, s, how in rows:
        print(f"| {r} | {t:.3g} | {e:.2e} | {s:.2e} | {how} |")


def bench_2d(name, net, args, sizes):
    """2-D: the grid routes need no samples.  Reference: the PDE route (its refinement
    estimate reported); Galerkin under the grid density; Monte Carlo to the same error."""
    print(f"\n== {name}: n = {net.n}, K⁽¹⁾ at {len(LAGS)} lags in [0, 10], stationary start")
    L = LAGS[:, None]
    # untimed warm-up on a separate copy of the network (imports, numba compilation)
    warm = net_2d()
    symresp.kernel(warm, 1, [0], method="galerkin", tol=args.tol)(L[:2])
    symresp.kernel(warm, 1, [0], method="pde", points=24)(L[:2])
    mc(warm, "tangent", 64, args.seed, args.dt)
    mc(warm, "kicked", 64, args.seed, args.dt)

    t0 = time.perf_counter()
    P = symresp.kernel(net, 1, [0], method="pde", points=args.points)
    ref, ref_err = P(L)[:, 0], P.error(L)[:, 0]
    t_pde = time.perf_counter() - t0
    print(
        f"reference: PDE, ({args.points} + 1)² Chebyshev points, box {np.round(P.box, 2).tolist()}"
        f", {t_pde:.1f} s, max refinement estimate {ref_err.max():.2e}"
    )
    with threadpool_limits(limits=1, user_api="blas"):
        t0 = time.perf_counter()
        G = symresp.kernel(net, 1, [0], method="galerkin", tol=args.tol)
        g, g_err = G(L)[:, 0], G.error(L)[:, 0]
        t_g = time.perf_counter() - t0
    err = np.abs(g - ref).max()
    # equal error: the Galerkin error, but never below what the reference can resolve
    target = max(err, ref_err.max())
    print(
        f"galerkin: projection measure {G.expectation}, degree {G.degree}, converged "
        f"{G.converged}, max error estimate {g_err.max():.2e}, max error vs PDE {err:.2e}; "
        f"Monte Carlo target (max stderr) {target:.2e}"
    )
    rows = [
        ("galerkin (grid density)", t_g, err, 0.0, "measured"),
        ("PDE (reference)", t_pde, float("nan"), 0.0, f"measured, estimate {ref_err.max():.1e}"),
    ]
    best = mc_at_equal_error(net, args, sizes, ref, target, rows)
    table(rows)
    pilot = [r for r in rows if r[0].startswith("tangent pilot")][0]
    print(
        f"consistency: tangent pilot vs PDE max |Δ| {pilot[2]:.2e} with max stderr "
        f"{pilot[3]:.2e} (Richardson dt = {args.dt}, {args.dt / 2}); the Monte Carlo time-step "
        "remainder at equal error is not charged to it (its true cost is higher)"
    )
    print(f"{name}: monte carlo at equal error / galerkin = {best / t_g:.1f}x")
    print(f"{name}: monte carlo at equal error / PDE = {best / t_pde:.1f}x")
    measured = measured_equal_error(args, sizes, ref, ref_err.max(), L)
    return best / t_g, measured


def measured_equal_error(args, sizes, ref, ref_est, L):
    """Both sides timed.  Monte Carlo at ``--measured-paths`` paths with the more efficient
    estimator (smaller time × stderr² in a pilot of each; the other would need longer for
    the same error), then the Galerkin route asked for that run's max standard error as its
    tolerance (the convergence rule: two successive bases agreeing within tol), timed on
    three fresh copies of the network (the median; each solves for its grid density
    again).  The Galerkin error vs the PDE is checked to be at most the Monte Carlo's, so the
    ratio of times is a lower bound on the speedup at equal error."""
    M = sizes["paths_measured"]
    pilot = sizes["paths_pilot"]
    eff = {}
    for est in ("kicked", "tangent"):
        _, se, t = mc(net_2d(), est, pilot, args.seed + 6, args.dt)
        eff[est] = t * se.max() ** 2
    est = min(eff, key=eff.get)
    v, se, t_mc = mc(net_2d(), est, M, args.seed + 5, args.dt)
    rows = [(f"{est}, {M} paths", t_mc, np.abs(v - ref).max(), se.max(), "measured")]
    tol = float(se.max())
    times = []
    for _ in range(3):
        net = net_2d()  # nothing cached from an earlier run is reused
        with threadpool_limits(limits=1, user_api="blas"):
            t0 = time.perf_counter()
            G = symresp.kernel(net, 1, [0], method="galerkin", tol=tol)
            g = G(L)[:, 0]
            times.append(time.perf_counter() - t0)
    t_g = float(np.median(times))
    err = np.abs(g - ref).max()
    rows.insert(
        0, (f"galerkin, tol {tol:.2e}, degree {G.degree} (median of 3)", t_g, err, 0.0, "measured")
    )
    table(rows)
    print(
        f"measured: {est} chosen (time × stderr² in the pilots: "
        + ", ".join(f"{k} {v:.3g}" for k, v in eff.items())
        + f"); galerkin converged {G.converged}, runs {', '.join(f'{x:.3g}' for x in times)} s, "
        f"error vs PDE {err:.2e} {'≤' if err <= max(tol, ref_est) else '>'} Monte Carlo max "
        f"stderr {tol:.2e} (reference estimate {ref_est:.1e}); Monte Carlo {t_mc:.3g} s / "
        f"galerkin {t_g:.3g} s = {t_mc / t_g:.1f}x"
    )
    return t_mc / t_g


def bench(name, net, args, sizes):
    """n > 2: the Galerkin route projects under stationary samples; Monte Carlo reference."""
    print(f"\n== {name}: n = {net.n}, K⁽¹⁾ at {len(LAGS)} lags in [0, 10], stationary start")
    # untimed warm-up of every route (numba compilation)
    galerkin(net, 200, args.seed, args.dt, args.tol)
    mc(net, "tangent", 64, args.seed, args.dt)
    mc(net, "kicked", 64, args.seed, args.dt)

    ref, ref_se, t_ref = mc(net, "tangent", sizes["paths_ref"], args.seed + 1, args.dt)
    print(
        f"reference: tangent, {sizes['paths_ref']} paths, dt = {args.dt} Richardson, "
        f"{t_ref:.1f} s, max stderr {ref_se.max():.2e}"
    )
    g, g_err, g_se, t_g, t_samp, K = galerkin(
        net, sizes["samples"], args.seed + 2, args.dt, args.tol
    )
    target = np.abs(g - ref).max()
    print(
        f"galerkin: {sizes['samples']} samples ({t_samp:.2f} s of {t_g:.2f} s), degree "
        f"{K.degree}, converged {K.converged}, max error estimate {g_err.max():.2e}"
    )
    rows = [
        ("galerkin (samples)", t_g, target, g_se.max() if g_se is not None else 0.0, "measured"),
        ("reference (tangent)", t_ref, float("nan"), ref_se.max(), "measured"),
    ]
    best = mc_at_equal_error(net, args, sizes, ref, target, rows)
    table(rows)
    print(f"{name}: monte carlo at equal error / galerkin = {best / t_g:.1f}x")
    return best / t_g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    ap.add_argument("--paths-ref", type=int, default=None, help="reference paths (100000)")
    ap.add_argument("--paths-pilot", type=int, default=None, help="pilot MC paths (5000)")
    ap.add_argument("--samples", type=int, default=None, help="Galerkin samples (40000)")
    ap.add_argument("--mc-cap", type=int, default=200000, help="largest MC run actually timed")
    ap.add_argument("--dt", type=float, default=0.01)
    ap.add_argument("--tol", type=float, default=1e-5, help="Galerkin tolerance")
    ap.add_argument("--points", type=int, default=36, help="2-D PDE grid: (N + 1)² points")
    ap.add_argument(
        "--measured-paths", type=int, default=None, help="MC paths of the measured comparison"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-4d", action="store_true", help="skip the 4-D network")
    args = ap.parse_args(argv)
    if tracemalloc.is_tracing():  # e.g. PYTHONTRACEMALLOC=1: it would slow every timed route
        ap.error(
            "tracemalloc is tracing; run without PYTHONTRACEMALLOC (the timings would be skewed)"
        )
    q = args.quick
    sizes = {
        "paths_ref": args.paths_ref or (10000 if q else 100000),
        "paths_pilot": args.paths_pilot or (1000 if q else 5000),
        "samples": args.samples or (10000 if q else 40000),
        "paths_measured": args.measured_paths or (5000 if q else 1000000),
    }
    if q:
        args.mc_cap = min(args.mc_cap, 20000)
        args.points = min(args.points, 28)
    speedup, measured = bench_2d("2-D tanh (derivations/tanh_2d.toml)", net_2d(), args, sizes)
    if not (args.no_4d or q):
        bench(f"4-D tanh (random, seed {args.seed})", net_4d(args.seed), args, sizes)
    print(
        f"2-D speedup at equal error, measured (both timed, galerkin at least as accurate): {measured:.1f}x"
    )
    print(f"2-D speedup at equal error, extrapolated to the reference's resolution: {speedup:.1f}x")
    print(f"speedup vs monte carlo: {measured:.1f}x")


if __name__ == "__main__":
    main()

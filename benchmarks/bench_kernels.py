"""Benchmark: the first-order kernel K⁽¹⁾ at 100 lags in [0, 10], stationary start, by the
Galerkin route against Monte Carlo at equal error.

Networks: the 2-D tanh network of ``derivations/tanh_2d.toml`` and (unless ``--no-4d``) a
4-D tanh network built with ``SRNN.create`` from seeded random weights rounded to two
decimals.  Neither has a closed stationary law, so the Galerkin route projects under a mean
over stationary samples (``symresp.stationary_samples``, burn-in Euler–Maruyama); its time
includes drawing them.

* Reference ("truth"): pathwise-tangent Monte Carlo with ``--paths-ref`` paths and
  Richardson extrapolation in dt (dt and dt/2), so that the Euler bias (≈ 3e-3 at dt = 0.01
  on the 2-D network) does not dominate; it is exact within its standard error.
* Galerkin: ``symresp.kernel(net, 1, [0], method="galerkin", samples=X)`` (basis degree grown
  until successive degrees agree within ``tol``), with its estimates ``K.error`` (successive
  degrees) and ``K.stderr`` (jackknife over sample batches).
* Monte Carlo baselines, kicked copies and pathwise tangent (Richardson as the reference):
  a pilot run at ``--paths-pilot`` paths gives the standard error; the paths needed to reach
  the Galerkin kernel's max error vs the reference are pilot · (max stderr / target)².  That
  count is run and timed when it is at most ``--mc-cap`` paths, else the time is extrapolated
  linearly in paths from the pilot (the table says which).

Every route runs once untimed first (numba compilation); the timed runs have no profiler or
tracemalloc active.  Wall seconds, in one process.

    python benchmarks/bench_kernels.py [--quick] [--paths-ref 100000] [--seed 0] [--no-4d]

The last line is exactly ``speedup vs monte carlo: X.Xx`` for the 2-D network (Monte Carlo
time at equal error, the faster estimator, over the Galerkin time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

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
    X = symresp.stationary_samples(net, n_samples, seed=seed, dt=dt)
    t1 = time.perf_counter()
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


def bench(name, net, args, sizes):
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
        ("galerkin", t_g, target, g_se.max() if g_se is not None else 0.0, "measured"),
        ("reference (tangent)", t_ref, float("nan"), ref_se.max(), "measured"),
    ]
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
                (f"{est}, {need} paths", t2, float("nan"), se.max() * np.sqrt(pilot / need),
                 "extrapolated (linear in paths)")
            )  # fmt: skip
        best = min(best, t2)
    print("\n| route | seconds | max error vs reference | max stderr | time |")
    print("|---|---|---|---|---|")
    for r, t, e, s, how in rows:
        print(f"| {r} | {t:.3g} | {e:.2e} | {s:.2e} | {how} |")
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
    ap.add_argument("--tol", type=float, default=1e-4, help="Galerkin tolerance")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-4d", action="store_true", help="skip the 4-D network")
    args = ap.parse_args(argv)
    q = args.quick
    sizes = {
        "paths_ref": args.paths_ref or (10000 if q else 100000),
        "paths_pilot": args.paths_pilot or (1000 if q else 5000),
        "samples": args.samples or (10000 if q else 40000),
    }
    if q:
        args.mc_cap = min(args.mc_cap, 20000)
    speedup = bench("2-D tanh (derivations/tanh_2d.toml)", net_2d(), args, sizes)
    if not (args.no_4d or q):
        bench(f"4-D tanh (random, seed {args.seed})", net_4d(args.seed), args, sizes)
    print(f"speedup vs monte carlo: {speedup:.1f}x")


if __name__ == "__main__":
    main()

"""Benchmark: Euler–Maruyama path-steps per second, symresp.simulate vs vectorised numpy.

Network: n = 8 hidden units, m = 2 inputs, tanh, Γ = I, σ = 0.5 I, random W (spectral
radius 0.9), C, and a 2×8 readout V; point start h0 = 0; input u = (sin t, cos t).
Work: ``--paths`` paths × ``--steps`` steps (default 10⁴ × 10³, dt = 0.01), the mean and
standard error of V h at every grid point (streamed, never stored per path).

Baseline (same run): numpy vectorised over paths with ``np.random.Generator`` normals,
the same statistics at every step.  torchsde is timed only if it is already importable
(it is not installed by this script).

Peak memory: ``tracemalloc`` peak of Python/numpy allocations during each run; the
simulator's peak is also shown for twice the number of steps (it must not grow).

    python benchmarks/bench_mc.py [--paths 10000] [--steps 1000] [--threads 1]

The last line is exactly ``speedup vs numpy: X.Xx`` (symresp vs numpy, same thread count).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from symresp import SRNN  # noqa: E402
from symresp.montecarlo.estimators import simulate  # noqa: E402

N, M, P = 8, 2, 2


def network():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((N, N)) / np.sqrt(N)
    W *= 0.9 / max(abs(np.linalg.eigvals(W)))
    C = rng.standard_normal((N, M))
    V = rng.standard_normal((P, N))
    net = SRNN.create(
        n=N,
        m=M,
        activation="tanh",
        Gamma=1.0,
        W=np.round(W, 6).tolist(),
        b=[0.0] * N,
        C=np.round(C, 6).tolist(),
        sigma=0.5,
        V=np.round(V, 6).tolist(),
        start="point",
        h0=[0.0] * N,
    )
    return net


def numpy_em(net, paths, steps, dt, seed=0):
    """Reference implementation: h ← h + dt(−Γh + tanh(Wh + b) + C u) + σ√dt ξ, paths vectorised."""
    num = net.numeric()
    G, W, b, C, sig, V = num["Gamma"], num["W"], num["b"], num["C"], num["sigma"], num["V"]
    rng = np.random.Generator(np.random.PCG64(seed))
    H = np.zeros((N, paths))
    mean = np.empty((steps + 1, P))
    se = np.empty((steps + 1, P))
    sq = np.sqrt(dt)
    xi = np.empty((N, paths))
    for k in range(steps + 1):
        Y = V @ H
        mean[k] = Y.mean(axis=1)
        se[k] = Y.std(axis=1, ddof=1) / np.sqrt(paths)
        if k == steps:
            break
        t = k * dt
        u = np.array([np.sin(t), np.cos(t)])
        rng.standard_normal(out=xi)
        H += dt * (-G @ H + np.tanh(W @ H + b[:, None]) + (C @ u)[:, None]) + sq * (sig @ xi)
    return mean, se


def timed(fn):
    """(result, wall seconds, CPU seconds of this process, tracemalloc peak bytes)."""
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, dt, cpu, peak


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--dt", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=2, help="best of this many timed runs")
    a = ap.parse_args(argv)
    net = network()
    T = a.steps * a.dt
    u = "sin(t); cos(t)"
    kw = dict(eps=1.0, dt=a.dt, paths=a.paths, seed=1, quiet=True, threads=a.threads)
    # warm-up: numba compile / cache load, not timed
    simulate(net, u, T=10 * a.dt, **dict(kw, paths=min(a.paths, 1024)))
    # timing key: CPU seconds with one thread (robust on a shared, oversubscribed machine),
    # wall seconds with several threads
    key = 2 if a.threads == 1 else 1
    best_s = best_n = None
    for _ in range(a.repeat):
        res_s = timed(lambda: simulate(net, u, T=T, **kw))
        best_s = res_s if best_s is None or res_s[key] < best_s[key] else best_s
        res_n = timed(lambda: numpy_em(net, a.paths, a.steps, a.dt))
        best_n = res_n if best_n is None or res_n[key] < best_n[key] else best_n
    r, (m_np, se_np) = best_s[0], best_n[0]
    mem_s2 = timed(lambda: simulate(net, u, T=2 * T, **kw))[3]
    ps = a.paths * a.steps
    # the two estimates must agree statistically (different random numbers)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(r.mean - m_np) / np.hypot(r.stderr, se_np)
    zmax = float(np.nanmax(z[1:]))
    rows = [
        ("symresp.simulate (numba)",) + tuple(best_s[1:]),
        ("numpy vectorised + Generator",) + tuple(best_n[1:]),
    ]
    print(
        f"n = {N}, m = {M}, tanh, {a.paths} paths × {a.steps} steps, dt = {a.dt}, "
        f"threads = {a.threads}, stats of V h (p = {P}) at all {a.steps + 1} grid points"
    )
    print(
        f"{'route':30s} {'wall s':>8s} {'CPU s':>8s} {'path-steps/s':>13s} "
        f"{'ns/path-step':>13s} {'peak MiB':>9s}"
    )
    for name, t, cpu, mem in rows:
        tk = cpu if key == 2 else t
        print(
            f"{name:30s} {t:8.2f} {cpu:8.2f} {ps / tk:13.3e} {tk / ps * 1e9:13.1f} "
            f"{mem / 2**20:9.1f}"
        )
    try:  # pragma: no cover - only when already installed; never installed here
        import torchsde  # noqa: F401

        print("torchsde is importable but not timed here.")
    except Exception:
        print("torchsde: not installed (not timed).")
    print(
        f"path-steps/s from {'CPU' if key == 2 else 'wall'} seconds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"symresp peak memory at {2 * a.steps} steps: {mem_s2 / 2**20:.1f} MiB "
        f"(at {a.steps} steps: {best_s[3] / 2**20:.1f} MiB)"
    )
    print(f"max |symresp − numpy| / combined stderr over the grid: {zmax:.2f}")
    print(f"speedup vs numpy: {best_n[key] / best_s[key]:.1f}x")


if __name__ == "__main__":
    main()

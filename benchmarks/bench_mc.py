"""Benchmark: Euler–Maruyama path-steps per second, symresp.simulate vs vectorised numpy
(and diffrax when it is importable).

Network: n = 8 hidden units, m = 2 inputs, tanh, Γ = I, σ = 0.5 I, random W (spectral
radius 0.9), C, and a 2×8 readout V; point start h0 = 0; input u = (sin t, cos t).
Work: ``--paths`` paths × ``--steps`` steps (default 10⁴ × 10³, dt = 0.01), the mean and
standard error of V h at every grid point (streamed, never stored per path).

Fairness: every route runs in its own fresh process, pinned to ``--threads`` cores and with
that thread count for numba, BLAS and OpenMP (JAX's XLA runtime starts its own threads); its timing runs have no profiler and no tracemalloc (the
peak memory is measured in a separate run of the same process kind); the best of
``--repeat`` timed runs after one untimed warm-up (compilation, caches) is reported, with the
spread (slowest/fastest − 1) of those runs.  ``--diffrax-python`` runs the diffrax route in
another interpreter (e.g. a virtual environment with jax and diffrax); by default it runs
when diffrax is importable here.

    python benchmarks/bench_mc.py [--paths 10000] [--steps 1000] [--threads 1] [--repeat 3]
                                  [--diffrax-python PATH]

The last line is exactly ``speedup vs numpy: X.Xx`` (symresp vs numpy, same thread count,
wall seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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


_DIFFRAX: dict = {}


def diffrax_em(net, paths, steps, dt, seed=0):  # pragma: no cover - needs jax and diffrax
    """Batched Euler with diffrax (x64, an UnsafeBrownianPath per path via vmap), compiled
    once per (paths, steps, dt) with jax.jit, so a warm-up run of the same size leaves only
    execution in the timed runs."""
    import jax

    jax.config.update("jax_enable_x64", True)
    key = (paths, steps, dt)
    if key not in _DIFFRAX:
        _DIFFRAX[key] = _diffrax_solver(net, steps, dt)
    keys = jax.random.split(jax.random.PRNGKey(seed), paths)
    Y = np.asarray(_DIFFRAX[key](keys))  # (paths, steps + 1, P)
    return Y.mean(axis=0), Y.std(axis=0, ddof=1) / np.sqrt(paths)


def _diffrax_solver(net, steps, dt):  # pragma: no cover - needs jax and diffrax
    import diffrax
    import jax
    import jax.numpy as jnp

    num = net.numeric()
    G, W, b, C, sig, V = (jnp.asarray(num[k]) for k in ("Gamma", "W", "b", "C", "sigma", "V"))
    T = steps * dt

    def drift(t, h, args):
        u = jnp.array([jnp.sin(t), jnp.cos(t)])
        return -G @ h + jnp.tanh(W @ h + b) + C @ u

    def one(key):
        bm = diffrax.UnsafeBrownianPath(shape=(N,), key=key)
        terms = diffrax.MultiTerm(
            diffrax.ODETerm(drift), diffrax.ControlTerm(lambda t, h, a: sig, bm)
        )
        sol = diffrax.diffeqsolve(
            terms,
            diffrax.Euler(),
            0.0,
            T,
            dt,
            jnp.zeros(N),
            saveat=diffrax.SaveAt(ts=jnp.linspace(0.0, T, steps + 1)),
            adjoint=diffrax.ForwardMode(),
            max_steps=steps + 1,
        )
        return sol.ys @ V.T

    return jax.jit(jax.vmap(one))


ROUTES = {
    "symresp": "symresp.simulate (numba)",
    "numpy": "numpy vectorised + Generator",
    "diffrax": "diffrax Euler (JAX, x64)",
}


def _run_route(route, a, phase):
    """Inside a child process: time (or measure the memory of) one route."""
    if hasattr(os, "sched_setaffinity"):  # XLA ignores the thread-count variables: pin cores
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: a.threads])
    net = network()
    u = "sin(t); cos(t)"
    kw = dict(eps=1.0, dt=a.dt, paths=a.paths, seed=1, quiet=True, threads=a.threads)
    if route == "symresp":
        run = lambda steps: simulate(net, u, T=steps * a.dt, **kw)  # noqa: E731
        warm = lambda: simulate(net, u, T=10 * a.dt, **dict(kw, paths=min(a.paths, 1024)))  # noqa: E731
        stats = lambda r: (r.mean, r.stderr)  # noqa: E731
    elif route == "numpy":
        run = lambda steps: numpy_em(net, a.paths, steps, a.dt)  # noqa: E731
        warm = lambda: numpy_em(net, min(a.paths, 1024), 10, a.dt)  # noqa: E731
        stats = lambda r: r  # noqa: E731
    else:
        run = lambda steps: diffrax_em(net, a.paths, steps, a.dt)  # noqa: E731
        warm = lambda: diffrax_em(net, a.paths, a.steps, a.dt)  # noqa: E731  (same shapes)
        stats = lambda r: r  # noqa: E731
    warm()
    if phase == "memory":
        tracemalloc.start()
        run(a.steps)
        peak1 = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        tracemalloc.start()
        run(2 * a.steps)
        peak2 = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"peak": peak1, "peak_2x": peak2}
    assert not tracemalloc.is_tracing(), "timed runs must not trace allocations"
    best, walls = None, []
    for _ in range(a.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        r = run(a.steps)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        walls.append(wall)
        if best is None or wall < best[0]:
            best = (wall, cpu, r)
    mean, se = stats(best[2])
    out = Path(a.out) / f"{route}.npz"
    np.savez(out, mean=mean, se=se)
    return {"wall": best[0], "cpu": best[1], "spread": max(walls) / min(walls) - 1.0}


def _child(route, a, phase):
    env = dict(os.environ)
    for var in (
        "NUMBA_NUM_THREADS",
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "XLA_FLAGS",
    ):
        env.pop(var, None)
    env.update(
        NUMBA_NUM_THREADS=str(a.threads),
        OMP_NUM_THREADS=str(a.threads),
        OPENBLAS_NUM_THREADS=str(a.threads),
        MKL_NUM_THREADS=str(a.threads),
    )
    python = a.diffrax_python if route == "diffrax" and a.diffrax_python else sys.executable
    cmd = [
        python,
        __file__,
        "--route",
        route,
        "--phase",
        phase,
        "--out",
        a.out,
        "--paths",
        str(a.paths),
        "--steps",
        str(a.steps),
        "--dt",
        str(a.dt),
        "--threads",
        str(a.threads),
        "--repeat",
        str(a.repeat),
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        return {"error": (res.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(res.stdout.strip().splitlines()[-1])


def _importable(name):
    try:
        __import__(name)
        return True
    except Exception:
        return False


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--dt", type=float, default=0.01)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="best of this many timed runs")
    ap.add_argument(
        "--diffrax-python",
        help="interpreter with jax and diffrax for the diffrax route (default: this one, "
        "when diffrax is importable)",
    )
    ap.add_argument("--route", choices=sorted(ROUTES), help=argparse.SUPPRESS)
    ap.add_argument("--phase", choices=["time", "memory"], help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.route:  # a child process: one route, one phase, JSON on the last line
        print(json.dumps(_run_route(a.route, a, a.phase)))
        return
    with_diffrax = bool(a.diffrax_python) or _importable("diffrax")
    routes = ["symresp", "numpy"] + (["diffrax"] if with_diffrax else [])
    with tempfile.TemporaryDirectory() as tmp:
        a.out = tmp
        timing = {r: _child(r, a, "time") for r in routes}
        memory = {r: _child(r, a, "memory") for r in routes}
        arrays = {r: np.load(Path(tmp) / f"{r}.npz") for r in routes if "error" not in timing[r]}
        ref = arrays["symresp"]
        zmax = {}
        for r, z in arrays.items():
            if r == "symresp":
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                zz = np.abs(ref["mean"] - z["mean"]) / np.hypot(ref["se"], z["se"])
            zmax[r] = float(np.nanmax(zz[1:]))
    ps = a.paths * a.steps
    print(
        f"n = {N}, m = {M}, tanh, {a.paths} paths × {a.steps} steps, dt = {a.dt}, "
        f"threads = {a.threads}, stats of V h (p = {P}) at all {a.steps + 1} grid points; "
        "each route in its own process, timed without tracemalloc"
    )
    print(
        f"{'route':30s} {'wall s':>8s} {'CPU s':>8s} {'path-steps/s':>13s} "
        f"{'ns/path-step':>13s} {'spread':>7s} {'peak MiB':>9s} {'peak 2x MiB':>11s}"
    )
    for r in routes:
        tm, mem = timing[r], memory[r]
        if "error" in tm:
            print(f"{ROUTES[r]:30s} failed: {tm['error']}")
            continue
        pk = mem.get("peak", float("nan")) / 2**20
        pk2 = mem.get("peak_2x", float("nan")) / 2**20
        print(
            f"{ROUTES[r]:30s} {tm['wall']:8.2f} {tm['cpu']:8.2f} {ps / tm['wall']:13.3e} "
            f"{tm['wall'] / ps * 1e9:13.1f} {tm['spread']:7.0%} {pk:9.1f} {pk2:11.1f}"
        )
    if "diffrax" not in routes:
        print("diffrax: not importable here (not timed).")
    print(
        f"path-steps/s from wall seconds; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    for r, z in zmax.items():
        print(f"max |symresp − {r}| / combined stderr over the grid: {z:.2f}")
    for r in routes[2:]:
        if "error" not in timing[r]:
            print(f"speedup vs {r}: {timing[r]['wall'] / timing['symresp']['wall']:.1f}x")
    print(f"speedup vs numpy: {timing['numpy']['wall'] / timing['symresp']['wall']:.1f}x")


if __name__ == "__main__":
    main()

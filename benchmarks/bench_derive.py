#!/usr/bin/env python
"""Benchmark: ring algebra vs naive SymPy for iterated generators.

Times and sizes of

* 𝓛₀ᵖ f for f = h1, p = 1..pmax (cumulative time to reach 𝓛₀ᵖ f from f), and
* the order-2, P = 6 coefficient set ``derive(net, 2, 6)`` (row ``p = D2,6``),

for tanh networks of n = 2, 4, 8 units (seeded random W scaled to spectral
radius ≈ 1, small b, C = ones/√n, σ = 0.3, Γ = 1; every number rounded to two
decimals so the network is exact rational).

Routes
------
ring   symresp: ``Generators(net).L0`` on the polynomial ring Q[h, T], T_i = tanh(z_i);
       size = number of polynomial terms (``len`` of the ring element; for the
       derivation ``Derivation.n_terms()``).
float  (the ``D2,6`` set only) ``derive(net, 2, 6, coefficients="float")``: the same ring with
       fixed-point coefficients (``--float-bits`` fractional bits, default 48) instead of exact
       rationals; its rigorous bound on the coefficient errors is printed with it.
naive  plain SymPy expressions with nested tanh, no auxiliary variables:
       𝓛₀ g = Σ_i φ_i ∂g/∂h_i + ½ Σ_ij Σ_ij ∂²g/∂h_i∂h_j with ``sympy.diff`` on
       ``net.drift`` (no expand/simplify), 𝓛₁ g = Σ_i C_i ∂g/∂h_i, and the same
       operator-word tree as ``symresp.derive`` (total truncation).
       size = ``sympy.count_ops(expr)`` (operation count of the unexpanded tree),
       itself run under a time cap (``--ops-cap``); "?" when it did not finish.

Each (route, n) chain runs in its own process, killed when its derivation time
reaches the cap, so a slow case cannot hang the benchmark; cases that did not
finish print "> cap".  Ring cases that finish quickly are repeated (``--reps``)
and the median is reported.  The last line is

    speedup vs naive sympy: X.Xx

the geometric mean of naive/ring time ratios over the cases where both finished; before it,
the ``D2,6`` sets of both coefficient modes (wall and CPU seconds: on a shared machine the
wall time depends on the load) and the line ``n=8 order-2 P=6: X.X s`` (float mode, wall).

Usage:  python benchmarks/bench_derive.py [--quick] [--cap 60] [--ring-cap 120]
                                          [--sizes 2,4,8] [--pmax 8]
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import queue
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

DERIVE_ORDER, DERIVE_P = 2, 6
DERIVE_KEY = f"D{DERIVE_ORDER},{DERIVE_P}"


# --------------------------------------------------------------------------- network
def make_net(n: int, seed: int = 0):
    """Seeded tanh network with exact two-decimal parameters."""
    from symresp.model.network import SRNN

    rng = np.random.default_rng(seed + 1000 * n)
    W = rng.normal(size=(n, n))
    W /= np.max(np.abs(np.linalg.eigvals(W)))  # spectral radius ≈ 1
    b = 0.1 * rng.normal(size=n)
    c = 1.0 / math.sqrt(n)
    fmt = lambda x: f"{x:.2f}"
    return SRNN.create(
        n=n,
        m=1,
        activation="tanh",
        Gamma=1,
        W=[[fmt(x) for x in row] for row in W],
        b=[fmt(x) for x in b],
        C=[[fmt(c)] for _ in range(n)],
        sigma="0.3",
        V=[1] + [0] * (n - 1),
    )


# --------------------------------------------------------------------------- naive route
class NaiveOps:
    """𝓛₀ and 𝓛₁ on plain SymPy expressions (nested tanh, sympy.diff, no auxiliaries)."""

    def __init__(self, net):
        import sympy as sp

        self.sp = sp
        self.h = list(net.h)
        self.phi = list(net.drift)
        S = net.Sigma
        self.pairs = [(i, j, S[i, j] / 2) for i in range(net.n) for j in range(net.n) if S[i, j]]
        self.C = [net.coupling[i, 0] for i in range(net.n)]

    def L0(self, g):
        sp, h = self.sp, self.h
        d1 = [sp.diff(g, hi) for hi in h]
        terms = [p * d for p, d in zip(self.phi, d1) if d != 0]
        terms += [c * sp.diff(d1[j], h[i]) for i, j, c in self.pairs if d1[j] != 0]
        return sp.Add(*terms)

    def L1(self, g):
        sp = self.sp
        return sp.Add(*[c * sp.diff(g, hi) for c, hi in zip(self.C, self.h) if c != 0])


def _count_ops_child(expr, q):
    import sympy as sp

    q.put(int(sp.count_ops(expr)))


def _capped_count_ops(expr, cap: float):
    """sympy.count_ops in a forked child, killed after ``cap`` seconds (None then)."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    pr = ctx.Process(target=_count_ops_child, args=(expr, q))
    pr.start()
    try:
        return q.get(timeout=cap)
    except queue.Empty:
        return None
    finally:
        if pr.is_alive():
            pr.kill()
        pr.join()


# --------------------------------------------------------------------------- ring route
def _ring_size(g):
    return len(g)


# --------------------------------------------------------------------------- worker
def _worker(route: str, n: int, pmax: int, task: str, ops_cap: float, q, float_bits: int = 48):
    """Runs one chain; reports ('start', key, elapsed) before each step and
    ('done', key, elapsed, size) after it.  Elapsed = derivation seconds only."""
    net = make_net(n)
    if task == "L0":
        if route == "ring":
            from symresp.symbolic.generators import Generators

            G = Generators(net)
            g = G.algebra.lift(net.readout[0])
            step, size = G.L0, _ring_size
        else:
            ops = NaiveOps(net)
            g = net.readout[0]
            step, size = ops.L0, None
        el = 0.0
        for p in range(1, pmax + 1):
            q.put(("start", p, el))
            t0 = time.perf_counter()
            g = step(g)
            el += time.perf_counter() - t0
            s = size(g) if size else _capped_count_ops(g, ops_cap)
            q.put(("done", p, el, s))
    else:  # order-2, P = 6 coefficient set
        q.put(("start", DERIVE_KEY, 0.0))
        if route in ("ring", "float"):
            from symresp.symbolic.recursion import derive

            mode = "exact" if route == "ring" else "float"
            c0, t0 = time.process_time(), time.perf_counter()
            der = derive(net, DERIVE_ORDER, DERIVE_P, coefficients=mode, float_bits=float_bits)
            el, cpu = time.perf_counter() - t0, time.process_time() - c0
            q.put(("done", DERIVE_KEY, el, (der.n_terms(), cpu, der.max_coefficient_error)))
        else:
            t0 = time.perf_counter()
            obs = naive_derive(NaiveOps(net), net.readout[0], DERIVE_ORDER, DERIVE_P)
            el = time.perf_counter() - t0
            import sympy as sp

            s = _capped_count_ops(sp.Tuple(*obs.values()), ops_cap)
            q.put(("done", DERIVE_KEY, el, s))
    q.put(("end",))


def naive_derive(ops: NaiveOps, f, order: int, P: int) -> dict:
    """Same operator-word tree as symresp.derive (stationary start, total truncation,
    m = 1), on plain SymPy expressions; returns {(k, p): G_{k,p}}."""
    observables = {}
    frontier = {((), ()): f}
    for lvl in range(order + 1):
        new_frontier = {}
        for (k, p), g in frontier.items():
            observables[(k, p)] = g
            if lvl == order:
                continue  # the L0 chain is only needed below the last order
            chain = [g]
            for _ in range(P - sum(p)):
                chain.append(ops.L0(chain[-1]))
            for qd, gq in enumerate(chain):
                new_frontier[(k + (0,), p + (qd,))] = ops.L1(gq)
        frontier = new_frontier
    return observables


def run_chain(
    route: str, n: int, pmax: int, task: str, cap: float, ops_cap: float, float_bits: int = 48
) -> dict:
    """Run a chain in a subprocess; returns {key: (seconds, size)} for the steps that finished
    within ``cap`` seconds of derivation time."""
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    pr = ctx.Process(target=_worker, args=(route, n, pmax, task, ops_cap, q, float_bits))
    pr.start()
    out = {}
    deadline = None
    slack = ops_cap + 30.0  # time allowed between 'done' and the next message
    try:
        while True:
            wait = slack if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                msg = q.get(timeout=wait + 0.5)
            except queue.Empty:
                break  # over the cap: kill
            if msg[0] == "start":
                deadline = time.monotonic() + (cap - msg[2])
                if msg[2] >= cap:
                    break
            elif msg[0] == "done":
                deadline = None
                if msg[2] <= cap:
                    out[msg[1]] = (msg[2], msg[3])
            else:
                break
    finally:
        if pr.is_alive():
            pr.kill()
        pr.join()
    return out


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small run: sizes 2,4, pmax 4, caps 10 s, one repetition",
    )
    ap.add_argument(
        "--cap",
        type=float,
        default=60.0,
        help="seconds of derivation time allowed to each naive chain (default 60)",
    )
    ap.add_argument(
        "--ring-cap",
        type=float,
        default=120.0,
        help="seconds allowed to each ring chain (default 120)",
    )
    ap.add_argument(
        "--ops-cap",
        type=float,
        default=20.0,
        help="seconds allowed to each sympy.count_ops call (default 20)",
    )
    ap.add_argument("--sizes", default="2,4,8", help="network sizes n (default 2,4,8)")
    ap.add_argument("--pmax", type=int, default=8, help="highest power of 𝓛₀ (default 8)")
    ap.add_argument(
        "--reps",
        type=int,
        default=3,
        help="repetitions of ring chains taking under 10 s (median reported)",
    )
    ap.add_argument(
        "--no-derive", action="store_true", help=f"skip the {DERIVE_KEY} coefficient set"
    )
    ap.add_argument("--no-naive", action="store_true", help="skip the naive SymPy route")
    ap.add_argument(
        "--float-bits",
        type=int,
        default=48,
        help="fractional bits of the float coefficient mode (default 48)",
    )
    ap.add_argument(
        "--no-float", action="store_true", help=f"skip the float coefficient mode of {DERIVE_KEY}"
    )
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.pmax, args.cap, args.ring_cap, args.ops_cap, args.reps = (
            "2,4",
            4,
            10.0,
            10.0,
            5.0,
            1,
        )
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(
        f"# bench_derive: sizes {sizes}, pmax {args.pmax}, naive cap {args.cap:g} s, "
        f"ring cap {args.ring_cap:g} s, count_ops cap {args.ops_cap:g} s, "
        f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    floats = {}
    for n in sizes:
        tasks = [("L0", args.pmax)] + ([] if args.no_derive else [("D", 0)])
        for task, pmax in tasks:
            keys = list(range(1, pmax + 1)) if task == "L0" else [DERIVE_KEY]
            runs = [run_chain("ring", n, pmax, task, args.ring_cap, args.ops_cap)]
            total = max((v[0] for v in runs[0].values()), default=0.0)
            for _ in range(args.reps - 1):
                if total >= 10.0 or len(runs[0]) < len(keys):
                    break
                runs.append(run_chain("ring", n, pmax, task, args.ring_cap, args.ops_cap))
            naive = (
                {} if args.no_naive else run_chain("naive", n, pmax, task, args.cap, args.ops_cap)
            )
            if task == "D" and not args.no_float:
                fl = run_chain("float", n, pmax, task, args.ring_cap, args.ops_cap, args.float_bits)
                floats[n] = fl.get(DERIVE_KEY)
                print(f"#   n={n} p={DERIVE_KEY}: float {floats[n]}", flush=True)
            for key in keys:
                rt = [r[key][0] for r in runs if key in r]
                ring = (statistics.median(rt), runs[0][key][1]) if rt else None
                if ring and isinstance(ring[1], tuple):  # D2,6: (terms, cpu s, error bound)
                    ring = (ring[0], ring[1][0], ring[1][1])
                rows.append((n, key, ring, naive.get(key)))
                print(f"#   n={n} p={key}: ring {ring}, naive {naive.get(key)}", flush=True)

    def fmt_t(x):
        return f"{x:.3g}" if x >= 1e-3 else f"{x:.1e}"

    print()
    print("| n | p | ring s | ring terms | naive s | naive ops | ratio |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for n, key, ring, nv in rows:
        rs = fmt_t(ring[0]) if ring else f"> {args.ring_cap:g}"
        rtm = str(ring[1]) if ring else "–"
        ns = fmt_t(nv[0]) if nv else ("–" if args.no_naive else f"> {args.cap:g}")
        nops = ("?" if nv[1] is None else str(nv[1])) if nv else "–"
        if ring and nv and ring[0] > 0:
            r = nv[0] / ring[0]
            ratios.append(r)
            ratio = f"{r:.1f}"
        else:
            ratio = "–"
        print(f"| {n} | {key} | {rs} | {rtm} | {ns} | {nops} | {ratio} |")
    print()
    d = [(n, ring) for n, key, ring, _ in rows if key == DERIVE_KEY]
    for n, ring in d:
        print(
            f"derive(n={n}, order {DERIVE_ORDER}, P={DERIVE_P}) exact: "
            + (
                f"{ring[0]:.3g} s (CPU {ring[2]:.3g} s), {ring[1]} terms"
                if ring
                else f"did not finish in {args.ring_cap:g} s"
            )
        )
        if n in floats:
            fl = floats[n]
            print(
                f"derive(n={n}, order {DERIVE_ORDER}, P={DERIVE_P}) float ({args.float_bits} bits): "
                + (
                    f"{fl[0]:.3g} s (CPU {fl[1][1]:.3g} s), {fl[1][0]} terms, coefficient "
                    f"error bound {fl[1][2]:.2e}"
                    + (f", exact/float wall time {ring[0] / fl[0]:.1f}x" if ring else "")
                    if fl
                    else f"did not finish in {args.ring_cap:g} s"
                )
            )
    if 8 in floats and floats[8]:
        print(f"n=8 order-2 P=6: {floats[8][0]:.1f} s")
    if ratios:
        g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"speedup vs naive sympy: {g:.1f}x")
    else:
        print("speedup vs naive sympy: n/a")


if __name__ == "__main__":
    main()

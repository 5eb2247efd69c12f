#!/usr/bin/env python
"""Benchmark: compiled evaluation of the Taylor coefficient observables.

Evaluation of the order-2, lag-degree-P coefficient set ``derive(net, 2, P)`` (all
observables G_{k,p}, orders 0..2) of a seeded 4-D tanh network (the network of
``bench_derive.py``) at random states h ~ N(0, 0.6²), in the ring variables (h, T):

symresp     ``symresp.codegen.PolynomialSet`` (monomial trie, one numba kernel, prange
            over chunks of points; what ``Evaluator``, ``codegen.points_function`` for
            large polynomial sets and ``symresp codegen`` use): tables from the ring,
            first call with an empty numba cache (compile), evaluation on ``--points``
            points (best of 2), and the same tables from SymPy expressions
            (``codegen.points_function``);
warm start  a fresh Python process that imports the module written by ``symresp codegen``
            for this set (numba cache warm) and evaluates the observables at 1 000 states
            (wall time of the whole process, and of import + call inside it);
straight    straight-line generated numba (``points_function(method="straight")``, tree
            CSE); only with ``--straight`` (at P = 6 it did not compile in 10 minutes);
lambdify    ``sympy.lambdify(vars, exprs, "numpy")`` on ``--slow-points`` points; CPython's
            compiler recurses once per term of a sum, so this runs in a thread with a
            1 GiB stack and ``sys.setrecursionlimit(10**6)`` (without: RecursionError);
math+njit   ``sympy.lambdify(vars, exprs, "math")`` wrapped in ``numba.njit`` and called
            from an njit ``prange`` loop (compile capped at ``--njit-cap`` seconds);

plus the Volterra evaluation of the 2-D tanh network (derivations/tanh_2d.toml, order 2,
P = 4, coefficients from stationary samples): ``symresp.predict`` with
``via="recursion"`` on a 10⁴-point grid vs ``via="quadrature"`` on fewer output times
(per-time cost reported; the kernel setup, shared by both, is timed separately).

Every slow phase runs in its own process under a time cap.  The last line is

    speedup vs lambdify: X.Xx

(lambdify-numpy ns/point ÷ symresp ns/point, same machine, same run).

Usage:  python benchmarks/bench_codegen.py [--P 6] [--points 1000000] [--slow-points 2000]
                                           [--cap 1800] [--njit-cap 420] [--skip-njit]
                                           [--straight]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, os.pardir)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)


def setup(P: int, npoints: int, seed: int = 0):
    from bench_derive import make_net

    from symresp.expectation.evaluator import Evaluator, element_expr
    from symresp.symbolic.recursion import derive

    net = make_net(4)
    t0 = time.perf_counter()
    der = derive(net, 2, P)
    t_derive = time.perf_counter() - t0
    els = [g for gs in der.observables.values() for g in gs]
    alg = der.algebra
    t0 = time.perf_counter()
    exprs = [element_expr(alg, g) for g in els]
    t_expr = time.perf_counter() - t0
    H = np.random.default_rng(seed).normal(scale=0.6, size=(npoints, net.n))
    X = Evaluator(alg).state_variables(H)
    return dict(
        net=net,
        der=der,
        els=els,
        alg=alg,
        exprs=exprs,
        X=X,
        t_derive=t_derive,
        t_expr=t_expr,
        n_terms=der.n_terms(),
    )


def _best(fn, reps=2):
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


# --------------------------------------------------------------------------- phases
def _max_rel_vs_numpy(s, values, npts=200):
    """Largest difference from the numpy route on the first points, relative to each
    observable's largest value there (float64 both: summation order only)."""
    from symresp.expectation.evaluator import Evaluator

    ref = Evaluator(s["alg"], codegen=False)._call_numpy(s["els"], s["X"][:npts], 2_000_000)
    scale = np.abs(ref).max(axis=0)
    scale[scale == 0] = 1
    return float(np.max(np.abs(values[:npts] - ref) / scale))


def phase_trie(a):
    """symresp's route; run with an empty NUMBA_CACHE_DIR so the first call compiles."""
    from symresp import codegen
    from symresp.codegen.polyset import PolynomialSet

    s = setup(a.P, a.points)
    t0 = time.perf_counter()
    ps = PolynomialSet.from_ring(s["alg"], s["els"])
    t_tables = time.perf_counter() - t0
    ps(s["X"][:4])
    t_first = time.perf_counter() - t0
    X = s["X"]
    out = np.empty((X.shape[0], ps.nout))
    t_eval = _best(lambda: ps(X, out))
    t0 = time.perf_counter()
    fn = codegen.points_function(s["exprs"], s["alg"].variables, name="bench_obs")
    t_sympy = time.perf_counter() - t0
    same = bool(np.array_equal(fn(X[:1000]), out[:1000]))
    return dict(
        t_derive=s["t_derive"],
        t_expr=s["t_expr"],
        n_terms=s["n_terms"],
        n_exprs=len(s["exprs"]),
        n_nodes=ps.n_nodes,
        t_tables=t_tables,
        t_first=t_first,
        t_eval=t_eval,
        npoints=int(X.shape[0]),
        t_from_sympy=t_sympy,
        sympy_method=fn.method,
        sympy_same=same,
        max_rel_vs_numpy=_max_rel_vs_numpy(s, out),
    )


def phase_straight(a):
    from symresp import codegen

    s = setup(a.P, a.points)
    cache = a.cache_dir or tempfile.mkdtemp(prefix="bench_codegen_")
    t0 = time.perf_counter()
    fn = codegen.points_function(
        s["exprs"],
        s["alg"].variables,
        name="bench_obs",
        cse="tree",
        cache_dir=cache,
        method="straight",
    )
    t_gen = time.perf_counter() - t0
    fn(s["X"][:4])
    t_first = time.perf_counter() - t0
    X = s["X"]
    out = np.empty((X.shape[0], len(s["exprs"])))
    t_eval = _best(lambda: fn(X, out))
    return dict(
        t_codegen=t_gen,
        t_first=t_first,
        t_eval=t_eval,
        npoints=int(X.shape[0]),
        source_bytes=os.path.getsize(fn.cache_path),
        max_rel_vs_numpy=_max_rel_vs_numpy(s, out),
    )


def phase_export(a):
    """``symresp codegen`` for the 4-D network (the CLI's export), into a.module_dir."""
    from bench_derive import make_net

    from symresp.report.export import export_module

    t0 = time.perf_counter()
    path = export_module(make_net(4), 2, a.P, a.module_dir, name="bench_kernels")
    return dict(t_export=time.perf_counter() - t0, path=str(path))


def phase_warm(a):
    """Fresh process: import the exported module (numba cache warm from a first run) and
    evaluate the observables at 1 000 states."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "import sys, numpy as np\n"
        f"sys.path.insert(0, {a.module_dir!r})\n"
        "import bench_kernels as m\n"
        "G = m.observables_at(np.random.default_rng(0).normal(scale=0.6, size=(1000, 4)))\n"
        "print(time.perf_counter() - t0)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    walls = []
    for _ in range(3):  # the first run fills numba's cache next to the module
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env
        )
        walls.append(time.perf_counter() - t0)
        if res.returncode:
            raise RuntimeError(res.stderr[-2000:])
    return dict(
        t_cold_process=walls[0],
        t_warm_process=min(walls[1:]),
        t_warm_inside=float(res.stdout.strip().splitlines()[-1]),
    )


def _deep(work):
    """Run ``work()`` in a thread with a 1 GiB stack and recursion limit 10⁶: CPython's
    compiler recurses once per term of the sums lambdify prints."""
    err = []

    def run():
        sys.setrecursionlimit(10**6)
        try:
            work()
        except BaseException as exc:  # re-raised in the calling thread
            err.append(exc)

    threading.stack_size(1 << 30)
    th = threading.Thread(target=run)
    th.start()
    th.join()
    if err:
        raise err[0]


def phase_lambdify(a):
    import sympy as sp

    s = setup(a.P, a.slow_points)
    X = s["X"]
    res = {}

    def work():
        t0 = time.perf_counter()
        f = sp.lambdify(s["alg"].variables, s["exprs"], "numpy")
        res["t_lambdify_make"] = time.perf_counter() - t0
        cols = [X[:, j] for j in range(X.shape[1])]
        res["t_lambdify_eval"] = _best(lambda: f(*cols), reps=1)

    _deep(work)
    return dict(res, lambdify_points=int(X.shape[0]))


def phase_njit(a):
    import numba
    import sympy as sp

    s = setup(a.P, a.slow_points)
    X = np.ascontiguousarray(s["X"])
    nv, ne = X.shape[1], len(s["exprs"])
    res = {}

    def work():
        t0 = time.perf_counter()
        f = sp.lambdify(s["alg"].variables, s["exprs"], "math")
        g = numba.njit(error_model="numpy")(f)
        args = ", ".join(f"X[i, {k}]" for k in range(nv))
        src = [
            "def loop(X, out):",
            "    for i in numba.prange(X.shape[0]):",
            f"        r = g({args})",
        ]
        src += [f"        out[i, {j}] = r[{j}]" for j in range(ne)]
        ns = {"g": g, "numba": numba}
        exec("\n".join(src), ns)
        loop = numba.njit(parallel=True)(ns["loop"])
        out = np.empty((X.shape[0], ne))
        loop(X[:2], out[:2])
        res["t_njit_compile"] = time.perf_counter() - t0
        res["t_njit_eval"] = _best(lambda: loop(X, out))

    _deep(work)
    return dict(res, njit_points=int(X.shape[0]))


def phase_volterra(a):
    from symresp import load_spec, stationary_samples
    from symresp.kernels.taylor import taylor_kernel
    from symresp.series.volterra import _quiet, predict, volterra_quadrature, volterra_recursion
    from symresp.symbolic.recursion import derive

    net = load_spec(os.path.join(ROOT, "derivations", "tanh_2d.toml"))
    samples = stationary_samples(net, 20000, seed=1, quiet=True)

    def u(t):
        return np.sin(2.0 * np.asarray(t, float))[:, None]

    T, order, P = 2.0, 2, 4
    t0 = time.perf_counter()
    der = derive(net, order, P)
    kernels = {
        (n, idx): _quiet(taylor_kernel(der, n, idx, samples=samples))
        for n in range(1, order + 1)
        for idx in der.indices(n)
    }
    t_setup = time.perf_counter() - t0
    grid = np.linspace(0.0, T, 10001)
    uvals = u(grid)
    t_rec = _best(lambda: volterra_recursion(kernels, uvals, grid, order, net.start))
    qgrid = np.linspace(0.0, T, a.quad_times + 1)[1:]
    t_quad = _best(lambda: volterra_quadrature(kernels, u, qgrid, order, net.m, net.start), reps=1)
    rec = volterra_recursion(kernels, uvals, grid, order, net.start)
    check = grid[::1000][1:]
    quad = volterra_quadrature(kernels, u, check, order, net.m, net.start)
    diff = float(np.max(np.abs(rec[:, ::1000][:, 1:] - quad)))
    t0 = time.perf_counter()
    predict(
        net,
        u,
        order=order,
        eps=0.1,
        t=grid,
        taylor=P,
        samples=samples,
        via="recursion",
        min_steps=len(grid) - 1,
    )
    t_predict = time.perf_counter() - t0
    return dict(
        t_setup=t_setup,
        t_rec=t_rec,
        rec_times=len(grid),
        t_quad=t_quad,
        quad_times=len(qgrid),
        rec_vs_quad=diff,
        t_predict=t_predict,
    )


def phase_expectation(a):
    """Item 2: the stationary expectation of the order-2, P = 4 coefficient set of the 2-D
    tanh network over 10⁶ samples, numpy route vs generated code (Evaluator 'auto')."""
    from symresp import load_spec, stationary_samples
    from symresp.expectation.evaluator import Evaluator
    from symresp.symbolic.recursion import derive

    net = load_spec(os.path.join(ROOT, "derivations", "tanh_2d.toml"))
    der = derive(net, 2, 4)
    els = [g for gs in der.observables.values() for g in gs]
    base = stationary_samples(net, 100_000, seed=3, quiet=True)
    X = np.tile(base, (10, 1))  # 10⁶ rows (the cost does not depend on repeats)
    ev = Evaluator(der.algebra)
    t0 = time.perf_counter()
    ev(els, X).mean(axis=0)
    t_auto = time.perf_counter() - t0
    route = ev.route
    t_warm = _best(lambda: ev(els, X).mean(axis=0), reps=1)
    nsub = a.numpy_points
    t0 = time.perf_counter()
    mean_np = Evaluator(der.algebra, codegen=False)(els, X[:nsub]).mean(axis=0)
    t_np = time.perf_counter() - t0
    diff = float(np.max(np.abs(mean_np - ev(els, X[:nsub]).mean(axis=0))))
    return dict(
        route=route,
        t_first=t_auto,
        t_warm=t_warm,
        t_numpy=t_np,
        numpy_points=nsub,
        n_terms=der.n_terms(),
        n_obs=len(els),
        max_abs_diff_means=diff,
    )


def phase_accuracy(a):
    """Item 5: float64 vs the 50-digit route on random points for derive(4-D tanh, 2, P)."""
    import warnings

    from bench_derive import make_net

    from symresp.expectation.evaluator import Evaluator
    from symresp.symbolic.recursion import derive

    net = make_net(4)
    t0 = time.perf_counter()
    der = derive(net, 2, a.P)
    t_derive = time.perf_counter() - t0
    els = [g for gs in der.observables.values() for g in gs]
    out = dict(P=a.P, t_derive=t_derive, n_terms=der.n_terms())
    from symresp.codegen.polyset import PolynomialSet

    trie = PolynomialSet.from_ring(der.algebra, els)
    for scale in (0.6, 3.0):
        H = np.random.default_rng(5).normal(scale=scale, size=(a.acc_points, net.n))
        t0 = time.perf_counter()
        exact = Evaluator(der.algebra, precision=50)(els, H)
        t_exact = time.perf_counter() - t0
        ev = Evaluator(der.algebra, codegen=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            f64 = ev(els, H)
        routes = {"numpy": f64, "trie": trie(ev.state_variables(H))}
        colscale = np.abs(exact).max(axis=0)
        colscale[colscale == 0] = 1.0
        nz = np.abs(exact) > 1e-300
        for name, vals in routes.items():
            err = np.abs(vals - exact)
            out[f"{name}@{scale}:max_rel_pointwise"] = float(np.max(err[nz] / np.abs(exact[nz])))
            out[f"{name}@{scale}:max_rel_to_column_max"] = float(np.max(err / colscale))
        out[f"kappa@{scale}"] = float(np.nanmax(ev.cancellation))
        out[f"t_exact@{scale}"] = t_exact
    return out


PHASES = {
    "trie": phase_trie,
    "straight": phase_straight,
    "export": phase_export,
    "warm": phase_warm,
    "lambdify": phase_lambdify,
    "njit": phase_njit,
    "volterra": phase_volterra,
    "expectation": phase_expectation,
    "accuracy": phase_accuracy,
}


def run_phase(name, a, extra=(), cap=None, env=None):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--phase",
        name,
        "--P",
        str(a.P),
        "--points",
        str(a.points),
        "--slow-points",
        str(a.slow_points),
        "--quad-times",
        str(a.quad_times),
        "--module-dir",
        a.module_dir,
        *extra,
    ]
    t0 = time.perf_counter()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=cap or a.cap, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"> cap ({cap or a.cap:.0f} s)"}
    if res.returncode:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["?"]
        return {"error": f"failed after {time.perf_counter() - t0:.0f} s: {tail[0][:120]}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--P", type=int, default=6)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--slow-points", type=int, default=2_000)
    ap.add_argument("--quad-times", type=int, default=50)
    ap.add_argument("--cap", type=float, default=1800.0)
    ap.add_argument("--njit-cap", type=float, default=420.0)
    ap.add_argument("--skip-njit", action="store_true")
    ap.add_argument(
        "--straight",
        action="store_true",
        help="also time straight-line generated code (minutes to compile)",
    )
    ap.add_argument("--phase", choices=sorted(PHASES))
    ap.add_argument("--module-dir")
    ap.add_argument("--cache-dir")
    ap.add_argument("--numpy-points", type=int, default=200_000)
    ap.add_argument("--acc-points", type=int, default=40)
    a = ap.parse_args()
    if a.phase:
        print(json.dumps(PHASES[a.phase](a)))
        return

    print(
        f"# bench_codegen: 4-D tanh network, derive(net, 2, {a.P}), {a.points} points; "
        f"{os.cpu_count()} cores",
        flush=True,
    )
    work = tempfile.mkdtemp(prefix="bench_codegen_")
    a.module_dir = os.path.join(work, "export")
    # an empty numba cache for the symresp phase: its first call includes the compile
    cold = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(work, "numba"))
    tri = run_phase("trie", a, env=cold)
    print("trie:", json.dumps(tri), flush=True)
    exp = run_phase("export", a)
    print("export:", json.dumps(exp), flush=True)
    warm = run_phase("warm", a) if "path" in exp else {"error": "no export"}
    print("warm:", json.dumps(warm), flush=True)
    st = run_phase("straight", a) if a.straight else {"error": "skipped (--straight)"}
    print("straight:", json.dumps(st), flush=True)
    lam = run_phase("lambdify", a)
    print("lambdify:", json.dumps(lam), flush=True)
    nj = {"error": "skipped"} if a.skip_njit else run_phase("njit", a, cap=a.njit_cap)
    print("njit:", json.dumps(nj), flush=True)
    vol = run_phase("volterra", a)
    print("volterra:", json.dumps(vol), flush=True)

    def ns(t, n):
        return t / n * 1e9

    rows = []
    if "t_eval" in tri:
        g_ns = ns(tri["t_eval"], tri["npoints"])
        rows.append(
            (
                "derive(net, 2, P)",
                f"{tri['t_derive']:.2f} s",
                f"{tri['n_terms']} terms in {tri['n_exprs']} observables",
            )
        )
        rows.append(
            (
                "symresp: ring → trie tables",
                f"{tri['t_tables']:.2f} s",
                f"{tri['n_nodes']} trie nodes",
            )
        )
        rows.append(
            (
                "symresp: tables + compile + first call (empty numba cache)",
                f"{tri['t_first']:.1f} s",
                "",
            )
        )
        rows.append(
            (
                f"symresp: evaluate {tri['npoints']} points",
                f"{tri['t_eval']:.3f} s",
                f"{g_ns:.0f} ns/point; max rel. diff vs numpy route {tri['max_rel_vs_numpy']:.1e}",
            )
        )
        rows.append(
            (
                "ring → SymPy expressions (for the baselines)",
                f"{tri['t_expr']:.2f} s",
                "element_expr",
            )
        )
        rows.append(
            (
                "codegen.points_function(SymPy expressions)",
                f"{tri['t_from_sympy']:.1f} s",
                f"method={tri['sympy_method']}, identical values: {tri['sympy_same']}",
            )
        )
    else:
        g_ns = None
        rows.append(("symresp", "—", tri.get("error", "?")))
    if "t_export" in exp:
        rows.append(("symresp codegen (export module + tables)", f"{exp['t_export']:.2f} s", ""))
    if "t_warm_process" in warm:
        rows.append(
            (
                "warm-cache start (fresh process, import + 1 000 states)",
                f"{warm['t_warm_process']:.2f} s",
                f"{warm['t_warm_inside']:.2f} s inside the process; first (cold) run "
                f"{warm['t_cold_process']:.1f} s",
            )
        )
    else:
        rows.append(("warm-cache start", "—", warm.get("error", "?")))
    if "t_eval" in st:
        rows.append(
            (
                "straight-line codegen: generate / + compile + first call",
                f"{st['t_codegen']:.1f} s / {st['t_first']:.1f} s",
                f"{st['source_bytes'] / 1e6:.1f} MB source",
            )
        )
        rows.append(
            (
                f"straight-line codegen: evaluate {st['npoints']} points",
                f"{st['t_eval']:.3f} s",
                f"{ns(st['t_eval'], st['npoints']):.0f} ns/point",
            )
        )
    else:
        rows.append(("straight-line codegen", "—", st.get("error", "?")))
    if "t_lambdify_eval" in lam:
        l_ns = ns(lam["t_lambdify_eval"], lam["lambdify_points"])
        rows.append(
            (
                f"lambdify numpy: make / evaluate {lam['lambdify_points']} points",
                f"{lam['t_lambdify_make']:.1f} s / {lam['t_lambdify_eval']:.2f} s",
                f"{l_ns:.0f} ns/point",
            )
        )
    else:
        l_ns = None
        rows.append(("lambdify numpy", "—", lam.get("error", "?")))
    if "t_njit_eval" in nj:
        rows.append(
            (
                f"lambdify math + njit loop: compile / {nj['njit_points']} points",
                f"{nj['t_njit_compile']:.1f} s / {nj['t_njit_eval']:.3f} s",
                f"{ns(nj['t_njit_eval'], nj['njit_points']):.0f} ns/point",
            )
        )
    else:
        rows.append(("lambdify math + njit loop", "—", nj.get("error", "?")))
    if "t_rec" in vol:
        rows.append(
            (
                "Volterra setup (derive 2-D tanh, P=4 + coefficients, 2e4 samples)",
                f"{vol['t_setup']:.2f} s",
                "shared by both routes",
            )
        )
        rows.append(
            (
                f"volterra_recursion (predict via=recursion), {vol['rec_times']} times",
                f"{vol['t_rec']:.3f} s",
                f"{vol['t_rec'] / vol['rec_times'] * 1e6:.1f} µs/time",
            )
        )
        rows.append(
            (
                f"volterra_quadrature (predict via=quadrature, q=16), {vol['quad_times']} times",
                f"{vol['t_quad']:.3f} s",
                f"{vol['t_quad'] / vol['quad_times'] * 1e6:.0f} µs/time; max |recursion − "
                f"quadrature| {vol['rec_vs_quad']:.1e}",
            )
        )
        rows.append(
            (
                "predict(..., via='recursion') end to end, 10⁴ times",
                f"{vol['t_predict']:.2f} s",
                "incl. derive + coefficients",
            )
        )
    else:
        rows.append(("Volterra", "—", vol.get("error", "?")))
    w = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print()
    for r in rows:
        print(f"{r[0]:<{w}}  {r[1]:>{w2}}  {r[2]}")
    speed = (l_ns / g_ns) if (l_ns and g_ns) else float("nan")
    print(f"speedup vs lambdify: {speed:.1f}x")


if __name__ == "__main__":
    main()

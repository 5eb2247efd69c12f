"""Benchmark: symresp.signature vs iisignature (and pysiglib if importable),
plus a 200 × 200 Gram matrix of response features.

    python benchmarks/bench_signature.py [--repeats R] [--threads T]

Signatures of 100 paths × 1000 points for (d = 6, level 4) and (d = 3,
level 6).  Every library is timed in the same process, the repetitions of
the libraries interleaved (so a burst of load on a shared machine hits all of
them alike), and the minimum over repetitions is reported (the least
disturbed run).  Numba compilation is done (or loaded from cache) before
timing.  The last line is ``speedup vs iisignature: X.Xx``, the geometric
mean over the two signature cases of t_iisignature / t_symresp.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--repeats", type=int, default=7, help="timed repetitions per case (min is kept)"
    )
    ap.add_argument("--threads", type=int, default=None, help="numba threads (default: all)")
    args = ap.parse_args(argv)

    import numba

    from symresp.features.estimators import gram_matrix
    from symresp.features.signatures import signature

    if args.threads:
        numba.set_num_threads(args.threads)
    libs = {"symresp": lambda p, n: signature(p, n)}
    try:
        import iisignature

        libs["iisignature"] = lambda p, n: iisignature.sig(p, n)
    except ImportError:
        sys.exit(
            "iisignature is needed for the comparison: pip install --no-build-isolation iisignature"
        )
    try:  # optional, never installed by this script (it needs torch)
        import pysiglib

        libs["pysiglib"] = lambda p, n: pysiglib.signature(p, n)
    except Exception:
        pass

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"numba threads {numba.get_num_threads()}, numpy {np.__version__}, "
        f"numba {numba.__version__}, repeats {args.repeats}"
    )
    rng = np.random.default_rng(0)
    cases = [(6, 4), (3, 6)]
    rows, speedups = [], []
    for d, level in cases:
        paths = rng.standard_normal((100, 1000, d)).cumsum(axis=1) / np.sqrt(1000)
        # symresp takes series (n_cases, n_channels, n_timepoints), iisignature and pysiglib
        # points (batch, length, d): each library gets its own layout, prepared untimed
        series = np.ascontiguousarray(paths.transpose(0, 2, 1))
        layout = {"symresp": series}
        ref = None
        for name, fn in list(libs.items()):  # warm-up / compile
            try:
                out = np.asarray(fn(layout.get(name, paths), level))
            except Exception as exc:  # optional library, unknown API
                if name != "pysiglib":
                    raise
                print(f"# pysiglib skipped: {exc}")
                del libs[name]
                continue
            if name == "iisignature":
                ref = out
        times = {name: [] for name in libs}
        for _ in range(args.repeats):
            for name, fn in libs.items():
                times[name].append(timed(fn, layout.get(name, paths), level)[0])
        best = {name: min(v) for name, v in times.items()}
        err = np.max(np.abs(signature(series, level) - ref)) / np.max(np.abs(ref))
        speedups.append(best["iisignature"] / best["symresp"])
        for name in libs:
            rows.append(
                (
                    f"sig 100x1000 d={d} N={level}",
                    name,
                    best[name],
                    float(np.median(times[name])),
                    best["iisignature"] / best[name],
                )
            )
        rows.append(
            (
                f"sig 100x1000 d={d} N={level}",
                "max |diff|/max|S| vs iisignature",
                err,
                float("nan"),
                float("nan"),
            )
        )

    # Gram matrix of response features: 200 series, 3 channels, 500 points,
    # level 3, degree 2 (9 letters, 820 features)
    X = rng.standard_normal((200, 3, 500)).cumsum(axis=-1) / np.sqrt(500)
    gram_matrix(X[:4], level=3, degree=2)  # warm-up
    gt = min(timed(lambda: gram_matrix(X, level=3, degree=2))[0] for _ in range(args.repeats))
    rows.append(("gram 200x200, m=3, 500 pts, N=3, Q=2", "symresp", gt, float("nan"), float("nan")))

    print(f"{'case':40s} {'library':34s} {'best [s]':>10s} {'median [s]':>11s} {'speedup':>8s}")
    for case, name, best, med, sp in rows:
        print(
            f"{case:40s} {name:34s} {best:10.4g} {med:11.4g} "
            f"{'' if np.isnan(sp) else f'{sp:7.2f}x':>8s}"
        )
    geo = float(np.exp(np.mean(np.log(speedups))))
    print(f"speedup vs iisignature: {geo:.1f}x")


if __name__ == "__main__":
    main()

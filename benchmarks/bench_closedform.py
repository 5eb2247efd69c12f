"""Time to a closed-form kernel (Kernel.as_expr) of linear networks.

For n = 1…4 hidden units, orders 1–3 and a quadratic readout, the closed form is computed
with symbolic parameters (Γ = diag(g_i), an upper-triangular W of parameter w, σ = s: A is
triangular, so e^{−Aτ} is exact in the parameters) and with the same network in numbers
(a modal form where the eigenvalues are not rational).  The baseline, timed in the same run,
is the numeric route: the expm kernel evaluated on a grid of 100 lag points.  Target: n ≤ 3,
order 2, symbolic parameters in under 5 s.

    python benchmarks/bench_closedform.py [--max-n 4] [--max-order 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from symresp.kernels.exact import exact_kernel
from symresp.model.spec import spec_from_dict


def spec(n: int, symbolic: bool) -> dict:
    g = [f"g{i + 1}" for i in range(n)] if symbolic else [1 + i / 2 for i in range(n)]
    w = "w" if symbolic else 0.4
    W = [[(w if j == i + 1 else 0) for j in range(n)] for i in range(n)]
    if not symbolic:  # a full matrix of numbers: generic (irrational) eigenvalues
        W = [
            [(0.4 if j == i + 1 else 0.1 * ((i + 2 * j) % 3 - 1)) for j in range(n)]
            for i in range(n)
        ]
    d = {
        "network": {
            "n": n,
            "activation": "identity",
            "Gamma": g,
            "W": W,
            "b": [0.1 * (i + 1) for i in range(n)],
            "C": [[1]] + [[0.5]] * (n - 1),
            "sigma": "s" if symbolic else 0.5,
        },
        "readout": {"expression": " + ".join(["h1**2"] + [f"h1*h{i + 1}/2" for i in range(1, n)])},
    }
    if symbolic:
        d["parameters"] = {**{x: 1 + i / 2 for i, x in enumerate(g)}, "w": 0.4, "s": 0.5}
    return d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-n", type=int, default=4)
    ap.add_argument("--max-order", type=int, default=3)
    args = ap.parse_args()
    ratios, target = [], None
    print(f"{'n':>2} {'order':>5} {'params':>9} {'closed form':>12} {'expm grid':>10} exact")
    for n in range(1, args.max_n + 1):
        for order in range(1, args.max_order + 1):
            for symbolic in (True, False):
                net = spec_from_dict(spec(n, symbolic))
                K = exact_kernel(net, order)
                t0 = time.perf_counter()
                K.as_expr()
                t_cf = time.perf_counter() - t0
                lags = np.random.default_rng(0).uniform(0, 2, (100, K.nlags))
                t0 = time.perf_counter()
                exact_kernel(net, order)(lags)
                t_num = time.perf_counter() - t0
                ratios.append(t_num / t_cf)
                if n == 3 and order == 2 and symbolic:
                    target = t_cf
                kind = "symbolic" if symbolic else "numbers"
                print(
                    f"{n:>2} {order:>5} {kind:>9} {t_cf:>10.3f} s {t_num:>8.3f} s "
                    f"{K.expr_info['exact']}"
                )
    if target is not None:
        print(
            f"target n = 3, order 2, symbolic: {target:.2f} s ({'met' if target < 5 else 'missed'}: < 5 s)"
        )
    g = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"speedup vs numeric expm route (100 lags): {g:.1f}x")


if __name__ == "__main__":
    main()

"""Command line: argument parsing and JSON output only; the mathematics lives elsewhere.

Exit codes: 0 success, 2 bad input (message on stderr, no traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

__all__ = ["main"]


class UsageError(Exception):
    """A user mistake: reported on stderr with exit code 2."""


def _parse_index(text: str, order: int, m: int) -> tuple[int, ...]:
    try:
        idx = tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise UsageError(f"--index: expected comma-separated channel numbers such as 1,2, got {text!r}") from None
    if len(idx) != order:
        raise UsageError(f"--index: order {order} needs {order} channel(s), got {len(idx)} ({text!r})")
    bad = [k for k in idx if not 1 <= k <= m]
    if bad:
        raise UsageError(f"--index: channels are numbered 1..{m} for this network, got {bad}")
    return tuple(k - 1 for k in idx)


def _parse_lags(text: str, nlags: int, start: str) -> np.ndarray:
    rows = [r for r in text.replace(" ", "").split(";") if r]
    try:
        lags = np.array([[float(x) for x in r.split(",")] for r in rows], dtype=float)
    except ValueError:
        raise UsageError(f"--lags: expected numbers like \"0.1,0.2;0.3,0.1\", got {text!r}") from None
    what = "τ_1..τ_n" if start == "stationary" else "τ_1..τ_n, s_n"
    if lags.ndim != 2 or lags.shape[1] != nlags or not rows:
        raise UsageError(f"--lags: each lag tuple needs {nlags} entries ({what}) at a {start} start; "
                         f"got {text!r}")
    if np.any(lags < 0) or not np.all(np.isfinite(lags)):
        raise UsageError("--lags: lags are non-negative finite times")
    return lags


def _load(spec: str, args=None):
    from .model import load_spec
    kw = {}
    if args is not None and getattr(args, "start", None):
        kw["start"] = args.start
    return load_spec(spec, **kw)


def _positive_int(name):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer, got {text!r}") from None
        if v < 0:
            raise argparse.ArgumentTypeError(f"{name}: expected a non-negative integer, got {v}")
        return v
    return conv


# ---------------------------------------------------------------------- derive
def cmd_derive(args) -> dict:
    from .kernels import derive, taylor_kernel, stationary_mean
    from .expectation import conjugate_observable

    net = _load(args.spec, args)
    t0 = time.perf_counter()
    der = derive(net, args.order, args.taylor, truncation=args.truncation)
    elapsed = time.perf_counter() - t0
    alg = der.algebra
    samples = _samples_for(net, der.start, args)
    coeffs, note = [], None
    for n in range(1, args.order + 1):
        for index in der.indices(n):
            terms = der.terms(n, index)
            try:
                K = taylor_kernel(der, n, index, samples=samples)
                vals = {tuple(p): (K.coeffs[i].tolist(), None if K.stderr is None else K.stderr[i].tolist())
                        for i, p in enumerate(map(tuple, K.powers))}
            except ValueError as exc:
                vals, note = {}, str(exc)
            for p in sorted(terms):
                v, se = vals.get(tuple(p), (None, None))
                entry = {"order": n, "index": [k + 1 for k in index], "powers": list(p),
                         "observable": [str(alg.to_expr(g)) for g in terms[p]],
                         "terms": [alg.n_terms(g) for g in terms[p]], "value": v}
                if se is not None:
                    entry["stderr"] = se
                coeffs.append(entry)
    out = {"spec": str(args.spec), "network": net.summary(), "order": args.order, "taylor": args.taylor,
           "truncation": args.truncation, "start": der.start, "seconds": round(elapsed, 4),
           "n_terms": der.n_terms(),
           "auxiliaries": {str(k): str(v) for k, v in alg.aux_values().items()},
           "coefficients": coeffs}
    if der.start == "stationary":
        try:
            v0, se0 = stationary_mean(der, samples)
            out["V0"] = v0.tolist()
        except ValueError:
            out["V0"] = None
        out["conjugate_observable"] = [None if (a := conjugate_observable(net, k)) is None else str(a)
                                       for k in range(net.m)]
    if note:
        out["note"] = note
    if args.latex:
        from .latex import write_latex
        path = write_latex(der, args.latex)
        out["latex"] = str(path)
    return out


def _samples_for(net, start, args):
    """Stationary samples from the Monte Carlo engine when no closed-form route exists."""
    from .expectation import expectation_method
    if start != "stationary":
        return None
    try:
        expectation_method(net, start, None)
        return None
    except ValueError:
        pass
    n_samples = getattr(args, "samples", None)
    if not n_samples:
        return None
    from .simulate import stationary_samples
    return stationary_samples(net, n_samples, seed=args.seed, quiet=getattr(args, "quiet", False))


def _derive_text(out: dict) -> str:
    lines = [f"{out['network']}", f"derived orders ≤ {out['order']}, lag degree ≤ {out['taylor']} "
             f"({out['truncation']}), {out['n_terms']} polynomial terms in {out['seconds']} s"]
    for c in out["coefficients"][:40]:
        v = "?" if c["value"] is None else ", ".join(f"{x:.6g}" for x in c["value"])
        lines.append(f"  c[k={c['index']}, p={c['powers']}] = {v}   ({sum(c['terms'])} terms)")
    if len(out["coefficients"]) > 40:
        lines.append(f"  … {len(out['coefficients']) - 40} more (use --json)")
    if out.get("note"):
        lines.append(f"note: {out['note']}")
    if out.get("latex"):
        lines.append(f"LaTeX written to {out['latex']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- kernel
def cmd_kernel(args) -> dict:
    net = _load(args.spec, args)
    start = net.start
    index = _parse_index(args.index, args.order, net.m)
    nlags = args.order + (1 if start == "point" else 0)
    lags = _parse_lags(args.lags, nlags, start)
    out = {"order": args.order, "index": [k + 1 for k in index], "method": args.method,
           "lags": lags.tolist()}
    if args.method == "taylor":
        from .kernels import derive, taylor_kernel
        der = derive(net, args.order, args.taylor)
        samples = _samples_for(net, start, args)
        try:
            K = taylor_kernel(der, args.order, index, samples=samples)
        except ValueError as exc:
            raise UsageError(f"{exc} (with the CLI: --samples N --seed S draws them by simulation)") from None
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vals = K(lags)
        out["values"] = vals.tolist()
        out["radius"] = K.radius.tolist()
        if K.cov is not None:
            out["stderr"] = K.stderr_at(lags).tolist()
        for w in caught:
            print(f"warning: {w.message}", file=sys.stderr)
    elif args.method == "exact":
        from .exact import exact_kernel, has_exact
        ok, reason = has_exact(net)
        if not ok:
            raise UsageError(f"--method exact does not apply to this network: {reason}.")
        K = exact_kernel(net, args.order, index)
        out["values"] = np.asarray(K(lags)).tolist()
    elif args.method == "mc":
        from .simulate import kernel_json
        out = kernel_json(net, args.order, index, lags, paths=args.paths, seed=args.seed,
                          dt=args.dt, quiet=args.quiet)
    return out


def _kernel_text(out: dict) -> str:
    lines = [f"K^({out['order']})_{out['index']} by {out['method']}:"]
    for i, (lag, val) in enumerate(zip(out["lags"], out["values"])):
        se = out.get("stderr")
        extra = "" if not se else "  ± " + ", ".join(f"{x:.3g}" for x in se[i])
        lines.append(f"  lags {lag}: " + ", ".join(f"{x:.10g}" for x in val) + extra)
    return "\n".join(lines)


# ------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="symresp", description="Response theory of stochastic RNNs: "
                                "symbolic kernels, Monte Carlo checks, response features.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("derive", help="derive generators, Taylor coefficients and LaTeX for a spec")
    d.add_argument("spec", help="TOML network spec")
    d.add_argument("--order", type=_positive_int("--order"), default=2, help="highest Volterra order N")
    d.add_argument("--taylor", type=_positive_int("--taylor"), default=4, help="highest lag degree P")
    d.add_argument("--truncation", choices=["total", "box"], default="total",
                   help="lag degrees with Σp ≤ P (total) or every p_j ≤ P (box)")
    d.add_argument("--latex", metavar="OUT.tex", help="write the LaTeX derivation document")
    d.add_argument("--start", choices=["stationary", "point"], help="override the spec's start")
    d.add_argument("--samples", type=_positive_int("--samples"), default=0,
                   help="stationary samples drawn by simulation when no closed route exists")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--json", action="store_true", help="print JSON")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_derive, text=_derive_text)

    k = sub.add_parser("kernel", help="evaluate a response kernel at given lags")
    k.add_argument("spec")
    k.add_argument("--order", type=_positive_int("--order"), required=True)
    k.add_argument("--index", required=True, help="channels k1,...,kn (1-based)")
    k.add_argument("--lags", required=True,
                   help="lag tuples 'a1,...;b1,...': τ_1..τ_n (stationary) or τ_1..τ_n,s_n (point)")
    k.add_argument("--method", choices=["exact", "taylor", "mc"], default="taylor")
    k.add_argument("--taylor", type=_positive_int("--taylor"), default=6)
    k.add_argument("--start", choices=["stationary", "point"], help="override the spec's start")
    k.add_argument("--paths", type=_positive_int("--paths"), default=20000)
    k.add_argument("--samples", type=_positive_int("--samples"), default=0,
                   help="stationary samples for --method taylor when no closed route exists")
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--dt", type=float, default=0.01)
    k.add_argument("--json", action="store_true")
    k.add_argument("--quiet", action="store_true")
    k.set_defaults(func=cmd_kernel, text=_kernel_text)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


# other modules add subcommands here (simulate, predict, check, features, codegen)
_EXTRA_COMMANDS: list = []


def main(argv=None) -> int:
    from .model import SpecError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out = args.func(args)
    except (UsageError, SpecError) as exc:
        print(f"symresp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, FileNotFoundError) as exc:
        # validation errors raised by the library carry their own explanation
        print(f"symresp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    try:
        if getattr(args, "json", False):
            json.dump(out, sys.stdout, indent=None, default=_json_default)
            sys.stdout.write("\n")
        else:
            print(args.text(out))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    return 0


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

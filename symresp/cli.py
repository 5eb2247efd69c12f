"""Command line: argument parsing and JSON output only; the mathematics lives elsewhere.

Exit codes: 0 success; 2 a mistake in the input (one line on stderr, no traceback); 1 a bug
(traceback and a request to report it); ``check`` also 3 (inconclusive) and 4 (fail).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from symresp import __version__, strict_json
from symresp.errors import ArgumentError, SymrespError
from symresp.expectation.conjugate import conjugate_observable
from symresp.expectation.evaluator import MAX_PRECISION, evaluation_precision
from symresp.files import output_path
from symresp.kernels.entry import kernel, route_applies, samples_if_needed
from symresp.kernels.taylor import stationary_mean, taylor_kernel
from symresp.model.inputs import _load_table, parse_input
from symresp.model.spec import load_spec
from symresp.report.export import export_module, tables_name
from symresp.report.latex import latex_output_path, require_pdflatex, write_latex
from symresp.series.comparison import VERDICTS, check, eps_sweep
from symresp.series.response_map import predict_via_features
from symresp.series.volterra import output_grid, predict
from symresp.symbolic.generators import monomials_through
from symresp.symbolic.recursion import MAX_TERMS, derive
from symresp.validation import check_budget

__all__ = ["main"]

#: Most grid points a command builds from --T/--dt (the simulator has its own limit).
MAX_GRID_POINTS = 10**8


class UsageError(SymrespError):
    """A mistake on the command line: reported on stderr with exit code 2."""


def _parse_index(text: str, order: int, m: int) -> tuple[int, ...]:
    try:
        idx = tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise UsageError(
            f"--index: expected comma-separated channel numbers such as 1,2, got {text!r}"
        ) from None
    if len(idx) != order:
        raise UsageError(
            f"--index: order {order} needs {order} channel(s), got {len(idx)} ({text!r})"
        )
    bad = [k for k in idx if not 1 <= k <= m]
    if bad:
        raise UsageError(f"--index: channels are numbered 1..{m} for this network, got {bad}")
    return tuple(k - 1 for k in idx)


def _parse_lags(text: str, nlags: int, start: str) -> np.ndarray:
    rows = [r for r in text.replace(" ", "").split(";") if r]
    try:
        lags = np.array([[float(x) for x in r.split(",")] for r in rows], dtype=float)
    except ValueError:
        raise UsageError(
            f"--lags: expected numbers like \"0.1,0.2;0.3,0.1\", got {text!r}"
        ) from None
    what = "τ_1..τ_n" if start == "stationary" else "τ_1..τ_n, s_n"
    if lags.ndim != 2 or lags.shape[1] != nlags or not rows:
        raise UsageError(
            f"--lags: each lag tuple needs {nlags} entries ({what}) at a {start} start; "
            f"got {text!r}"
        )
    if np.any(lags < 0) or not np.all(np.isfinite(lags)):
        raise UsageError("--lags: lags are non-negative finite times")
    return lags


def _load(spec: str, args=None, **kw):
    if args is not None and getattr(args, "start", None):
        kw["start"] = args.start
    return load_spec(spec, **kw)


def _positive_int(name, minimum: int = 0):
    def conv(text):
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer ≥ {minimum}, got {v}")
        return v

    return conv


def _positive_float(name):
    def conv(text):
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected a number, got {text!r}") from None
        if not (np.isfinite(v) and v > 0):
            raise argparse.ArgumentTypeError(f"{name}: expected a finite number > 0, got {v}")
        return v

    return conv


# ---------------------------------------------------------------------- derive
def cmd_derive(args) -> dict:
    if args.pdf and not args.latex:
        raise UsageError("--pdf compiles the LaTeX document: give --latex OUT.tex as well.")
    if args.pdf:
        require_pdflatex()  # before the work: the message names what to install
    if args.latex:  # refuse unusable or existing targets before deriving
        latex_output_path(args.latex, compile=args.pdf, overwrite=args.overwrite)
    net = _load(args.spec, args)
    t0 = time.perf_counter()
    der = derive(
        net,
        args.order,
        args.taylor,
        truncation=args.truncation,
        coefficients=args.coefficients,
        max_terms=args.max_terms,
    )
    elapsed = time.perf_counter() - t0
    alg = der.algebra
    samples = _samples_for(net, der.start, args)
    coeffs, note, kernels = [], None, {}
    for n in range(1, args.order + 1):
        for index in der.indices(n):
            terms = der.terms(n, index)
            try:
                K = taylor_kernel(der, n, index, samples=samples)
                kernels[(n, tuple(index))] = K
                vals = {
                    tuple(p): (
                        K.coeffs[i].tolist(),
                        None if K.coeff_stderr is None else K.coeff_stderr[i].tolist(),
                    )
                    for i, p in enumerate(map(tuple, K.powers))
                }
            except ValueError as exc:
                vals = {}
                note = f"{exc} On the command line: --samples N --seed S draws them by simulation."
            for p in sorted(terms):
                v, se = vals.get(tuple(p), (None, None))
                entry = {
                    "order": n,
                    "index": [k + 1 for k in index],
                    "powers": list(p),
                    "observable": [str(alg.to_expr(g)) for g in terms[p]],
                    "terms": [alg.n_terms(g) for g in terms[p]],
                    "value": v,
                }
                if der.local_terms:  # index holds monomials; their weight is the power of ε
                    entry["weight"] = der.weight(index)
                if se is not None:
                    entry["stderr"] = se
                coeffs.append(entry)
    out = {
        "spec": str(args.spec),
        "network": net.summary(),
        "order": args.order,
        "taylor": args.taylor,
        "truncation": args.truncation,
        "start": der.start,
        "seconds": round(elapsed, 4),
        "n_terms": der.n_terms(),
        "coefficient_mode": der.coefficients,
        "coefficient_error_bound": der.max_coefficient_error,
        "auxiliaries": {str(k): str(v) for k, v in alg.aux_values().items()},
        "coefficients": coeffs,
    }
    if der.local_terms:
        # input inside a nonlinear activation: "index" numbers these monomials
        out["monomials"] = [{"weight": q, "channel_powers": list(c)} for q, c in der.monomials]
    if der.start == "stationary":
        try:
            v0, se0 = stationary_mean(der, samples)
            out["V0"] = v0.tolist()
        except ValueError:
            out["V0"] = None
        out["conjugate_observable"] = [
            None if (a := conjugate_observable(net, k)) is None else str(a) for k in range(net.m)
        ]
    if note:
        out["note"] = note
    if args.latex:
        path = write_latex(
            der,
            args.latex,
            compile=args.pdf,
            kernels=kernels or None,
            samples=samples,
            overwrite=args.overwrite,
        )
        out["pdf" if args.pdf else "latex"] = str(path)
        if args.pdf:
            out["latex"] = str(path.with_suffix(".tex"))
    return out


def _samples_for(net, start, args, default=0):
    """Stationary samples from the Monte Carlo engine when no closed-form route exists."""
    n_samples = getattr(args, "samples", None) or default
    return samples_if_needed(
        net, start, n_samples, seed=args.seed, quiet=getattr(args, "quiet", False)
    )


def _derive_text(out: dict) -> str:
    lines = [
        f"{out['network']}",
        f"derived orders ≤ {out['order']}, lag degree ≤ {out['taylor']} "
        f"({out['truncation']}), {out['n_terms']} polynomial terms in {out['seconds']} s",
    ]
    if out["coefficient_mode"] == "float":
        lines.append(
            f"float coefficients: each within {out['coefficient_error_bound']:.3g} of the exact one"
        )
    for c in out["coefficients"][:40]:
        v = "?" if c["value"] is None else ", ".join(f"{x:.6g}" for x in c["value"])
        lines.append(f"  c[k={c['index']}, p={c['powers']}] = {v}   ({sum(c['terms'])} terms)")
    if len(out["coefficients"]) > 40:
        lines.append(f"  … {len(out['coefficients']) - 40} more (use --json)")
    if out.get("note"):
        lines.append(f"note: {out['note']}")
    if out.get("latex"):
        lines.append(f"LaTeX written to {out['latex']}")
    if out.get("pdf"):
        lines.append(f"PDF written to {out['pdf']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- kernel
def _monomial_index(net, text: str, order: int):
    """--index for a network with the input inside a nonlinear activation: monomials
    numbered as in ``symresp derive --json`` (weight 1 = the channels, then
    u_1², u_1u_2, … by weight; the list for a higher weight extends the one for a lower)."""
    idx = _parse_index(text, order, 10**6)
    monomials = monomials_through(net.m, max(idx))
    return idx, monomials, sum(monomials[k][0] for k in idx)


def _grid_options(args, options) -> None:
    """--basis/--tol/--max-degree (galerkin, auto) and --points/--tol (pde) into options;
    refused with the methods they do not apply to, rather than ignored."""
    given = {
        name: getattr(args, name)
        for name in ("basis", "tol", "max_degree", "points")
        if getattr(args, name, None) is not None
    }
    allowed = {
        "galerkin": ("basis", "tol", "max_degree"),
        "auto": ("basis", "tol", "max_degree"),
        "pde": ("points", "tol"),
    }.get(args.method, ())
    wrong = sorted(set(given) - set(allowed))
    if wrong:
        flags = " and ".join("--" + w.replace("_", "-") for w in wrong)
        raise UsageError(
            f"{flags} {'does' if len(wrong) == 1 else 'do'} not apply to --method "
            f"{args.method}: --basis, --tol and --max-degree are options of galerkin (and "
            "auto), --points and --tol of pde."
        )
    options.update(given)


def cmd_kernel(args) -> dict:
    """A thin layer over :func:`symresp.kernel`: 1-based --index in, Kernel.to_dict() out."""
    net = _load(args.spec, args)
    # with the input inside a nonlinear activation the index holds monomials u^ν
    local = net.input_monomials
    if local:
        index, monomials, weight = _monomial_index(net, args.index, args.order)
    else:
        index, weight = _parse_index(args.index, args.order, net.m), args.order
    start = net.start
    if getattr(args, "symbolic", False):
        return _kernel_symbolic(net, args, index)
    if args.lags is None:
        raise UsageError("--lags is required unless --symbolic asks for the closed form.")
    lags = _parse_lags(args.lags, args.order + (1 if start == "point" else 0), start)
    if args.method != "auto":
        ok, reason = route_applies(args.method, net, args.order)
        if not ok:
            raise UsageError(f"--method {args.method} does not apply to this network: {reason}.")
    options = {}
    if args.method in ("auto", "taylor"):
        options.update(
            taylor=args.taylor, samples=args.samples or None, seed=args.seed, quiet=args.quiet
        )
    elif args.method == "mc":
        options.update(paths=args.paths, seed=args.seed, dt=args.dt, quiet=args.quiet)
    _grid_options(args, options)
    if args.dask and args.method != "mc":
        raise UsageError(
            f"--dask runs Monte Carlo blocks and applies to --method mc only (got --method "
            f"{args.method})."
        )
    with _dask_scheduler(args.dask) as scheduler, warnings.catch_warnings(record=True) as caught:
        if scheduler is not None:
            options["scheduler"] = scheduler
        warnings.simplefilter("always")
        try:
            K = kernel(net, args.order, index, method=args.method, start=start, **options)
        except ArgumentError as exc:
            if "stationary samples" not in str(exc):
                raise
            raise UsageError(
                f"{exc} (with the CLI: --samples N --seed S draws them by simulation)"
            ) from None
        assert K.nlags == lags.shape[1], (K.nlags, lags.shape)
        values = K(lags)
        stderr = K.stderr(lags)
    out = K.to_dict()
    out.pop("ignored_options", None)  # the CLI passes the taylor options under auto anyway
    out.update(index=[k + 1 for k in index], lags=lags.tolist(), values=np.asarray(values).tolist())
    if stderr is not None:
        out["stderr"] = np.asarray(stderr).tolist()
    if local:  # the index holds monomials, numbered 1-based as in derive --json
        out.update(
            weight=weight,
            monomials=[{"weight": q, "channel_powers": list(c)} for q, c in monomials],
        )
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return out


def _kernel_symbolic(net, args, index) -> dict:
    """--symbolic: the kernel's closed form (Kernel.as_expr) as text, LaTeX and metadata."""
    method = "exact" if args.method == "auto" else args.method
    if method == "mc":
        raise UsageError(
            "--symbolic: the Monte Carlo route has no closed form; use --method "
            "exact, deterministic or taylor."
        )
    ok, reason = route_applies(method, net, args.order)
    if not ok:
        raise UsageError(f"--method {method} does not apply to this network: {reason}.")
    options = {}
    if method == "taylor":
        options.update(
            taylor=args.taylor, samples=args.samples or None, seed=args.seed, quiet=args.quiet
        )
    K = kernel(net, args.order, index, method=method, start=net.start, **options)
    expr = K.as_expr()
    info = K.expr_info
    out = {
        "order": int(args.order),
        "index": [k + 1 for k in index],
        "method": method,
        "start": net.start,
        "expr": str(expr),
        "latex": K.latex(),
        "lags": [str(s) for s in K.lag_symbols()],
        "parameters": {str(s): float(v) for s, v in net.parameters},
        "exact": bool(info.get("exact", False)),
        "form": info.get("form"),
    }
    for key in ("coefficient_stderr", "note"):
        if key in info:
            out[key] = info[key]
    return out


def _kernel_text(out: dict) -> str:
    if "expr" in out:
        lags = ", ".join(out["lags"])
        what = "exact" if out["exact"] else out.get("form") or "not exact"
        params = ", ".join(f"{k} = {v:g}" for k, v in out["parameters"].items())
        return "\n".join(
            [
                f"K^({out['order']})_{out['index']}({lags}) by {out['method']} ({what}):",
                f"  {out['expr']}",
            ]
            + ([f"  parameters: {params}"] if params else [])
        )
    lines = [f"K^({out['order']})_{out['index']} by {out['method']}:"]
    for i, (lag, val) in enumerate(zip(out["lags"], out["values"])):
        se = out.get("stderr")
        extra = "" if not se else "  ± " + ", ".join(f"{x:.3g}" for x in se[i])
        lines.append(f"  lags {lag}: " + ", ".join(f"{x:.10g}" for x in val) + extra)
    return "\n".join(lines)


# ------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="symresp",
        description="Response theory of stochastic RNNs: "
        "symbolic kernels, Monte Carlo checks, response features.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("derive", help="derive generators, Taylor coefficients and LaTeX for a spec")
    d.add_argument("spec", help="TOML network spec")
    d.add_argument(
        "--order", type=_positive_int("--order"), default=2, help="highest Volterra order N"
    )
    d.add_argument(
        "--taylor", type=_positive_int("--taylor"), default=4, help="highest lag degree P"
    )
    d.add_argument(
        "--truncation",
        choices=["total", "box"],
        default="total",
        help="lag degrees with Σp ≤ P (total) or every p_j ≤ P (box)",
    )
    d.add_argument(
        "--coefficients",
        choices=["exact", "float"],
        default="exact",
        help="exact rationals, or fixed point with a rigorous error bound (faster when large)",
    )
    d.add_argument(
        "--max-terms",
        type=_positive_int("--max-terms"),
        default=MAX_TERMS,
        help=f"refuse derivations whose bound on the term count exceeds this (default {MAX_TERMS:.0e})",
    )
    d.add_argument("--latex", metavar="OUT.tex", help="write the LaTeX derivation document")
    d.add_argument(
        "--pdf", action="store_true", help="also compile the LaTeX document with pdflatex"
    )
    _overwrite_arg(d)
    d.add_argument("--start", choices=["stationary", "point"], help="override the spec's start")
    d.add_argument(
        "--samples",
        type=_positive_int("--samples"),
        default=0,
        help="stationary samples drawn by simulation when no closed route exists",
    )
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--json", action="store_true", help="print JSON")
    d.add_argument("--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=cmd_derive, text=_derive_text)

    k = sub.add_parser("kernel", help="evaluate a response kernel at given lags")
    k.add_argument("spec")
    k.add_argument("--order", type=_positive_int("--order"), required=True)
    k.add_argument(
        "--index",
        required=True,
        help="channels k1,...,kn (1-based); with the input inside a nonlinear "
        "activation: monomials (see derive --json)",
    )
    k.add_argument(
        "--lags",
        help="lag tuples 'a1,...;b1,...': τ_1..τ_n (stationary) or τ_1..τ_n,s_n (point); "
        "required unless --symbolic",
    )
    k.add_argument(
        "--symbolic",
        action="store_true",
        help="print the closed form in the lags tau1..taun (and tau(n+1) = s_n at a point "
        "start) and the parameters, instead of values (methods exact, deterministic, taylor)",
    )
    k.add_argument(
        "--method",
        choices=["auto", "exact", "taylor", "galerkin", "pde", "mc", "deterministic"],
        default="auto",
        help="auto (exact where it applies, else galerkin where converged, else taylor), "
        "exact (linear networks), taylor (short-time series), galerkin (projection of the "
        "generator, every lag), pde (1-D Kolmogorov equation), mc (Monte Carlo), "
        "deterministic (σ = 0 limit at a fixed point, orders 1-2)",
    )
    k.add_argument("--taylor", type=_positive_int("--taylor"), default=6)
    k.add_argument("--start", choices=["stationary", "point"], help="override the spec's start")
    k.add_argument("--paths", type=_positive_int("--paths", 2), default=20000)
    k.add_argument(
        "--samples",
        type=_positive_int("--samples"),
        default=0,
        help="stationary samples for --method taylor when no closed route exists",
    )
    k.add_argument(
        "--basis",
        choices=["monomial", "krylov", "both"],
        help="galerkin (and auto): the observables projected on; monomials in h and the "
        "auxiliaries (default), the Krylov set f, L0 f, ..., or both",
    )
    k.add_argument(
        "--tol",
        type=_positive_float("--tol"),
        help="galerkin (and auto): tolerance on the change between successive bases "
        "(default 1e-4); pde: on the refinement estimate",
    )
    k.add_argument(
        "--max-degree",
        type=_positive_int("--max-degree"),
        help="galerkin (and auto): the largest basis level tried (default 6; 12 for krylov)",
    )
    k.add_argument(
        "--points",
        type=_positive_int("--points"),
        help="pde: Chebyshev points per dimension (the error grid is coarser)",
    )
    k.add_argument("--seed", type=int, default=0)
    k.add_argument("--dt", type=float, default=0.01)
    k.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="with --method mc: run the Monte Carlo blocks on Dask, a scheduler address or "
        "local:N worker processes (same numbers as a local run)",
    )
    k.add_argument("--json", action="store_true")
    k.add_argument("--quiet", action="store_true")
    k.set_defaults(func=cmd_kernel, text=_kernel_text)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return p


def _overwrite_arg(p):
    p.add_argument(
        "--overwrite", action="store_true", help="replace output files that already exist"
    )


def _input_args(p, *, T_default=None):
    p.add_argument(
        "--input",
        required=True,
        help="u(t): expressions in t per channel separated by ';' (\"sin(2*t); cos(t)\"), "
        "or a .npy/.csv file (first column time)",
    )
    p.add_argument("--T", type=float, required=T_default is None, default=T_default, help="horizon")


def _grid(T: float, dt: float) -> None:
    """Check --T and --dt (the grid itself is built by the library, which also refuses
    grids above its size limit before allocating them)."""
    if not (np.isfinite(T) and T > 0):
        raise UsageError(f"--T: expected a positive horizon, got {T}")
    if not (np.isfinite(dt) and dt > 0):
        raise UsageError(f"--dt: expected a positive time step, got {dt}")


@contextlib.contextmanager
def _dask_scheduler(text):
    """--dask: None (local threads), ``local:N`` (a LocalCluster of N worker processes on
    loopback, started here and shut down after the command) or a scheduler address."""
    if not text:
        yield None
        return
    from symresp.montecarlo.scheduler import local_cluster  # dask: only with --dask

    if text.startswith("local:"):
        try:
            n = int(text.split(":", 1)[1])
        except ValueError:
            n = 0
        if n < 1:
            raise UsageError(f"--dask: expected local:N with N ≥ 1 workers, got {text!r}")
        with local_cluster(n) as client:
            yield client
        return
    yield text


def cmd_simulate(args) -> dict:
    from symresp.montecarlo.estimators import simulate  # numba: only when simulating

    net = _load(args.spec, args, derivable=False)
    if args.paths < 1:
        raise UsageError(f"--paths: expected a positive integer, got {args.paths}")
    _grid(args.T, args.dt)
    with _dask_scheduler(args.dask) as scheduler:
        res = simulate(
            net,
            args.input,
            eps=args.eps,
            T=args.T,
            dt=args.dt,
            paths=args.paths,
            seed=args.seed,
            response=args.response,
            richardson=args.richardson,
            out_every=args.every,
            quiet=args.quiet,
            scheduler=scheduler,
        )
    return res.to_dict()


def _simulate_text(out: dict) -> str:
    lines = [
        f"{'response' if out.get('response') else 'mean'} over {out['paths']} paths, dt = {out['dt']:g}"
    ]
    step = max(1, len(out["t"]) // 20)
    for t, m, se in list(zip(out["t"], out["mean"], out["stderr"]))[::step]:
        lines.append(f"  t = {t:8.4f}: " + ", ".join(f"{a:.6g} ± {b:.2g}" for a, b in zip(m, se)))
    return "\n".join(lines)


def cmd_predict(args) -> dict:
    net = _load(args.spec, args)
    _grid(args.T, args.dt)
    u = parse_input(args.input, net.m)
    samples = _samples_for(net, net.start, args) if args.method != "exact" else None
    kw = dict(
        order=args.order,
        eps=args.eps,
        T=args.T,
        dt=args.dt,
        taylor=args.taylor,
        samples=samples,
        precision=args.precision,
    )
    if args.via == "features":
        pred = predict_via_features(net, u, **kw)
    else:
        pred = predict(net, u, method=args.method, via=args.via, quiet=args.quiet, **kw)
    out = pred.to_dict()
    del out["scaled_terms"]  # the CLI reports the total (JSON contract: t, mean, settings)
    if args.via == "features":
        out["method"] = "taylor"
    return out


def _series_text(out: dict) -> str:
    step = max(1, len(out["t"]) // 20)
    return "\n".join(
        f"t = {t:8.4f}: " + ", ".join(f"{x:.8g}" for x in m)
        for t, m in list(zip(out["t"], out["mean"]))[::step]
    )


def cmd_check(args) -> dict:
    if args.plot:  # refuse an unusable plot path before the run, not after it
        output_path(args.plot, "--plot", make_parents=True, overwrite=args.overwrite)
    with _dask_scheduler(args.dask) as scheduler:
        return _check_with(args, scheduler)


def _check_with(args, scheduler) -> dict:
    net = _load(args.spec, args)
    samples = _samples_for(net, net.start, args, default=20000) if args.method != "exact" else None
    _grid(args.T, args.dt)
    if args.times < 2:
        raise UsageError(
            f"--times: expected at least 2 (t = 0 and one comparison time), got {args.times}"
        )
    res = check(
        net,
        args.input,
        order=args.order,
        eps=args.eps,
        T=args.T,
        dt=args.dt,
        out_every=_out_every(args.T, args.dt, args.times),
        method=args.method,
        taylor=args.taylor,
        paths=args.paths,
        seed=args.seed,
        samples=samples,
        precision=args.precision,
        quiet=args.quiet,
        scheduler=scheduler,
    )
    if args.eps_sweep:
        try:
            values = [float(x) for x in args.eps_sweep.split(",") if x.strip()]
        except ValueError:
            raise UsageError(
                f"--eps-sweep: expected comma-separated amplitudes, got {args.eps_sweep!r}"
            ) from None
        res.set_sweep(
            eps_sweep(
                net,
                args.input,
                eps_values=values,
                order=args.order,
                T=args.T,
                dt=args.dt,
                method=args.method,
                taylor=args.taylor,
                paths=args.paths,
                seed=args.seed,
                samples=samples,
                antithetic=args.antithetic,
                precision=args.precision,
                quiet=args.quiet,
                scheduler=scheduler,
            )
        )
    out = res.to_dict()
    if args.plot:
        res.plot(args.plot, overwrite=args.overwrite)
        out["plot"] = args.plot
    return out


def _out_every(T: float, dt: float, times: int) -> int:
    """--times (number of output times, t = 0 included) as the step stride of the grid."""
    _, _, nsteps = output_grid(T, dt)
    return max(1, nsteps // max(1, times - 1))


def _check_text(out: dict) -> str:
    lines = [
        f"verdict: {out['verdict']} (order {out['order']}, ε = {out['eps']}, {out['method']} kernels, "
        f"{out['paths']} paths)"
    ]
    if out.get("reason"):
        lines.append(f"  reason: {out['reason']}")
    for t, d, b in zip(out["t"], out["discrepancy"], out["budget"]):
        flag = "ok " if all(x <= y for x, y in zip(d, b)) else "FAIL"
        lines.append(
            f"  t = {t:7.3f}: |MC − series| = "
            + ", ".join(f"{x:.3g}" for x in d)
            + "  budget "
            + ", ".join(f"{y:.3g}" for y in b)
            + f"  {flag}"
        )
    if "slope" in out:
        lines.append(
            f"ε-sweep slope {out['slope']:.3f} (expected {out['expected_slope']})"
            + (
                ""
                if out.get("resolved", True)
                else " — not resolved: discrepancies within 3 standard errors plus the "
                f"time-step part; the floor is {out.get('floor') or 'the noise'}"
            )
        )
    if out.get("plot"):
        lines.append(f"plot written to {out['plot']}")
    return "\n".join(lines)


def cmd_features(args) -> dict:

    from symresp.features.response_features import (
        features_json,
    )  # numba (signature kernels): only this command

    _grid(args.T, args.dt)
    check_budget(
        args.T / args.dt,
        "features: --T/--dt grid points",
        limit=MAX_GRID_POINTS,
        option="a larger --dt (or the Python API)",
        unit="points",
    )
    t = output_grid(args.T, args.dt)[0]
    if args.input.strip().lower().endswith((".npy", ".csv")):
        # a table's first column is time, every other column a channel
        table = _load_table(Path(args.input).expanduser())
        m = max(1, table.shape[1] - 1) if table.ndim == 2 else 1
        u = parse_input(table, m)(t)
    else:
        u = parse_input(args.input, len([e for e in args.input.split(";") if e.strip()]))(t)
    # u(t) is (n_timepoints, m); the features take a series (n_channels, n_timepoints)
    return features_json(
        np.asarray(u, float).T,
        t,
        args.level,
        args.degree,
        basis=args.basis,
        all_times=args.all_times,
    )


def cmd_codegen(args) -> dict:
    net = _load(args.spec, args)
    if args.order < 1:
        raise UsageError("--order: expected at least 1")
    path = export_module(
        net,
        args.order,
        args.taylor,
        args.output,
        name=args.name,
        truncation=args.truncation,
        overwrite=args.overwrite,
    )
    tables = path.with_name(tables_name(path.stem))
    return {
        "module": str(path),
        "tables": str(tables) if tables.exists() else None,
        "order": args.order,
        "taylor": args.taylor,
        "start": net.start,
        "network": net.summary(),
    }


def _precision_option(p):
    """--precision for predict and check: forwarded as ``precision=`` to the series."""
    p.add_argument(
        "--precision",
        type=_precision_arg,
        default=None,
        metavar="DIGITS",
        help="evaluate the series' expectations with exact rational coefficients at "
        "DIGITS digits (mpmath; slow; for severe cancellation)",
    )


def _register_numeric(sub):
    s = sub.add_parser("simulate", help="Monte Carlo mean (or CRN response) of the readout")
    s.add_argument("spec")
    _input_args(s)
    s.add_argument("--eps", type=float, default=1.0)
    s.add_argument("--dt", type=float, default=0.01)
    s.add_argument("--paths", type=_positive_int("--paths", 1), default=10000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--every", type=int, default=1, help="record every k-th step")
    s.add_argument("--response", action="store_true", help="driven minus undriven, common noise")
    s.add_argument("--richardson", action="store_true", help="2·Y(dt/2) − Y(dt)")
    s.add_argument("--start", choices=["stationary", "point"])
    s.add_argument(
        "--dask",
        metavar="ADDRESS|local:N",
        help="run the blocks on Dask: a scheduler address, or local:N worker processes",
    )
    s.add_argument("--json", action="store_true")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_simulate, text=_simulate_text)

    p = sub.add_parser("predict", help="the truncated Volterra series for an input")
    p.add_argument("spec")
    _input_args(p)
    p.add_argument("--eps", type=float, required=True)
    p.add_argument("--dt", type=float, default=0.01)
    p.add_argument("--order", type=_positive_int("--order"), default=2)
    p.add_argument("--method", choices=["auto", "exact", "galerkin", "taylor"], default="auto")
    p.add_argument("--taylor", type=_positive_int("--taylor"), default=6)
    p.add_argument(
        "--via",
        choices=["recursion", "quadrature", "features"],
        default="recursion",
        help="linear-time recursion of iterated integrals, simplex quadrature, or ⟨ℓ, R_t⟩",
    )
    p.add_argument(
        "--samples",
        type=_positive_int("--samples"),
        default=20000,
        help="stationary samples when no closed route exists",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--start", choices=["stationary", "point"])
    _precision_option(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_predict, text=_series_text)

    c = sub.add_parser("check", help="series versus Monte Carlo inside a computed error budget")
    c.add_argument("spec")
    _input_args(c)
    c.add_argument("--eps", type=float, required=True)
    c.add_argument("--order", type=_positive_int("--order"), default=2)
    c.add_argument("--method", choices=["auto", "exact", "galerkin", "taylor"], default="auto")
    c.add_argument("--taylor", type=_positive_int("--taylor"), default=6)
    c.add_argument("--paths", type=_positive_int("--paths", 2), default=20000)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--dt", type=float, default=0.01)
    c.add_argument(
        "--times",
        type=int,
        default=21,
        help="number of output times, t = 0 included (the grid of simulate)",
    )
    c.add_argument("--samples", type=_positive_int("--samples"), default=20000)
    c.add_argument("--eps-sweep", help="comma-separated amplitudes for the ε^(N+1) slope")
    c.add_argument(
        "--antithetic",
        action="store_true",
        help="sweep with ±ε on common noise, comparing even and odd parts separately",
    )
    c.add_argument("--plot", metavar="OUT.png")
    c.add_argument("--start", choices=["stationary", "point"])
    _precision_option(c)
    c.add_argument(
        "--dask",
        metavar="ADDRESS|local:N",
        help="run the Monte Carlo blocks on Dask: a scheduler address, or local:N",
    )
    c.add_argument("--json", action="store_true")
    c.add_argument("--quiet", action="store_true")
    _overwrite_arg(c)
    c.set_defaults(func=cmd_check, text=_check_text, status=lambda out: VERDICTS[out["verdict"]])

    f = sub.add_parser("features", help="response feature R_t = {t^q0 S(X)^w} of an input")
    _input_args(f)
    f.add_argument("--dt", type=float, default=0.01)
    f.add_argument("--level", type=_positive_int("--level"), default=2)
    f.add_argument("--degree", type=_positive_int("--degree"), default=1)
    f.add_argument("--basis", choices=["monomial", "legendre"], default="monomial")
    f.add_argument("--all-times", action="store_true")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_features, text=lambda out: strict_json.dumps(out))


_EXTRA_COMMANDS: list = [_register_numeric]


# ----------------------------------------------------------------- codegen / --precision
def _precision_arg(text):
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--precision: expected a number of digits, got {text!r}"
        ) from None
    if not 16 <= v <= MAX_PRECISION:
        raise argparse.ArgumentTypeError(
            f"--precision: expected 16..{MAX_PRECISION} digits, got {v}"
        )
    return v


def _with_precision(func):
    """Run a command with Evaluators at ``--precision`` digits (exact rationals, mpmath)."""

    def run(args):
        with evaluation_precision(getattr(args, "precision", None)):
            return func(args)

    return run


def _register_codegen(sub):
    g = sub.add_parser("codegen", help="write a standalone numba module of the Taylor kernels")
    g.add_argument("spec", help="TOML network spec")
    g.add_argument(
        "--order", type=_positive_int("--order"), default=2, help="highest Volterra order N"
    )
    g.add_argument(
        "--taylor", type=_positive_int("--taylor"), default=4, help="highest lag degree P"
    )
    g.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the module")
    g.add_argument("--name", help="module name (default: <spec name>_kernels)")
    g.add_argument("--truncation", choices=["total", "box"], default="total")
    g.add_argument("--start", choices=["stationary", "point"], help="override the spec's start")
    g.add_argument("--json", action="store_true")
    _overwrite_arg(g)
    g.set_defaults(
        func=cmd_codegen,
        text=lambda out: (
            f"wrote {out['module']}" + (f" and its tables {out['tables']}" if out["tables"] else "")
        ),
    )
    for name in (
        "kernel",
        "derive",
        "codegen",
    ):  # evaluation precision for the float-sensitive routes
        p = sub.choices.get(name)
        if p is not None and "--precision" not in p._option_string_actions:
            p.add_argument(
                "--precision",
                type=_precision_arg,
                default=None,
                metavar="DIGITS",
                help="evaluate observables with exact rational coefficients at "
                "DIGITS digits (mpmath; slow; for severe cancellation)",
            )
            p.set_defaults(func=_with_precision(p.get_default("func")))


_EXTRA_COMMANDS.append(_register_codegen)


def main(argv=None) -> int:
    """Run the command line; returns the exit status.

    0: success.  ``symresp check``: 0 pass, 3 inconclusive, 4 fail
    (:data:`symresp.series.comparison.VERDICTS`).  2: a mistake in the input (every :class:`symresp.SymrespError`, plus a
    missing or unreadable file), reported on stderr in one line.  1: anything else, which
    is a bug in symresp: the traceback is printed with a request to report it.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        out = args.func(args)
    except (SymrespError, OSError) as exc:
        print(f"symresp {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print(
            f"symresp {args.command}: internal error (a bug in symresp {__version__}); "
            "please report it with the command line and the traceback above.",
            file=sys.stderr,
        )
        return 1
    try:
        if getattr(args, "json", False):
            sys.stdout.write(strict_json.dumps(out) + "\n")
        else:
            print(args.text(out))
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into head
        sys.stderr.close()
    status = getattr(args, "status", None)
    return 0 if status is None else int(status(out))

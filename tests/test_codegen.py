"""Tests of symresp.codegen: SymPy → numba modules, bounded statements, on-disk cache.

numba compiles are the expensive part (seconds each on a shared machine), so every
compiled function is built once per session in a module-scoped fixture and the
checks share it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from symresp import codegen as cg
from symresp.codegen import cache

REPO = Path(__file__).resolve().parents[1]
x, y, z = sp.symbols("x y z")
h = sp.symbols("h1:4")


# --------------------------------------------------------------------------- helpers


def _random_polynomial(nterms: int, seed: int, maxdeg: int = 14):
    """Random polynomial in h1..h3 with ``nterms`` distinct monomials and rational
    coefficients of both signs; also returns its exact (Fraction) term list."""
    rng = np.random.default_rng(seed)
    monos = set()
    while len(monos) < nterms:
        monos.add(tuple(int(v) for v in rng.integers(0, maxdeg + 1, 3)))
    terms = []
    for k, m in enumerate(sorted(monos)):
        c = Fraction(int(rng.integers(1, 99)) * (-1) ** k, int(rng.integers(1, 30)))
        terms.append((c, m))
    poly = sp.Add(
        *[
            sp.Rational(c.numerator, c.denominator) * h[0] ** a * h[1] ** b * h[2] ** e
            for c, (a, b, e) in terms
        ]
    )
    return poly, terms


def _exact(terms, point):
    """Exact value and Σ|c m(x)| of the polynomial at a float point (Fractions)."""
    px = [Fraction(float(v)) for v in point]
    val = Fraction(0)
    absval = Fraction(0)
    for c, (a, b, e) in terms:
        t = c * px[0] ** a * px[1] ** b * px[2] ** e
        val += t
        absval += abs(t)
    return val, absval


def _assert_polynomial_close(computed, terms, points, rtol):
    """|computed − exact| ≤ rtol · Σ_k |c_k m_k(x)|.  Floating evaluation of a polynomial
    obeys exactly this kind of bound (γ_n Σ|c_k m_k| with γ_n ≈ n·2^-53 for n operations
    on a term's path: degree ≤ 42 multiplications plus ≤ ~150 chunked additions here), so a
    pointwise *relative* test would fail wrongly wherever the sum cancels."""
    for val, pt in zip(computed, points):
        exact, scale = _exact(terms, pt)
        err = abs(Fraction(float(val)) - exact)
        assert err <= Fraction(rtol) * scale, (pt, float(val), float(exact), float(scale))


def _run_script(code: str, env_extra: dict, *, wait=True, **kw):
    env = dict(os.environ)
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- fixtures

# expressions over x ∈ (0.5, 2), y ∈ (−1, 1), z ∈ (0.1, 3): all are defined and well
# conditioned there (no cancellation between large terms, no poles)
ELEMENTARY = [
    x + 2 * y - z / 7,
    x**3 * y**2 - sp.Rational(5, 3) * x**-2 + z ** sp.Rational(3, 2) - 1 / sp.sqrt(x),
    sp.exp(-y) * sp.log(x + z) + sp.tanh(x * y),
    sp.sinh(y) + sp.cosh(y / 2) + sp.sin(3 * x) * sp.cos(z) + sp.tan(y),
    sp.atan(y + z) + sp.sqrt(x * z) + sp.Abs(y) + sp.erf(y - x / 3),
    sp.Max(0, y) + sp.Min(x, z, 1) + sp.Max(y, -y / 2),
    sp.Piecewise((sp.log(x), y > 0), (x**2, y < -sp.Rational(1, 2)), (sp.pi, True)),
    sp.pi * x + sp.E**y + sp.Rational(1, 3) - sp.Rational(10**20 + 1, 3 * 10**19),
    (1 - sp.tanh(x + y) ** 2) * sp.tanh(x + y) ** 3 - sp.exp(2 * sp.tanh(x + y)),
]
MEDIUM_POLY, MEDIUM_TERMS = _random_polynomial(70, seed=3, maxdeg=8)


@pytest.fixture(scope="module")
def cachedir(tmp_path_factory):
    return tmp_path_factory.mktemp("codegen-cache")


@pytest.fixture(scope="module")
def points_fn(cachedir):
    """One parallel points function for all value checks (one numba compile).  The
    medium polynomial (70 terms) is a sum chunked into 5 statements inside prange."""
    args = [x, y, z] + list(h)
    return cg.points_function(ELEMENTARY + [MEDIUM_POLY], args, name="elem", cache_dir=cachedir)


@pytest.fixture(scope="module")
def points_data(points_fn):
    rng = np.random.default_rng(0)
    n = 64
    X = np.column_stack(
        [
            rng.uniform(0.5, 2, n),
            rng.uniform(-1, 1, n),
            rng.uniform(0.1, 3, n),
            rng.uniform(-1.1, 1.1, (n, 3)),
        ]
    )
    return X, points_fn(X)


# --------------------------------------------------------------------------- values


def test_points_function_matches_mpmath(points_data):
    """Each elementary expression to 1e-12 relative error vs 50-digit mpmath.  They are a
    handful of well-conditioned operations on the sampled domain, each correctly rounded
    or within ~1 ulp (libm), so the float64 error is a few 1e-16; 1e-12 leaves room for
    error amplification by condition numbers up to ~1e3 without hiding real bugs (a wrong
    constant or function is off by far more)."""
    X, out = points_data
    ref = sp.lambdify([x, y, z], ELEMENTARY, "mpmath")
    with mpmath.workdps(50):
        for row, got in zip(X, out):
            want = ref(*[mpmath.mpf(float(v)) for v in row[:3]])
            for j, w in enumerate(want):
                w = mpmath.mpf(w)
                assert abs(got[j] - w) <= 1e-12 * max(abs(w), mpmath.mpf(1e-300)), (j, row)


def test_chunked_polynomial_in_prange(points_data):
    X, out = points_data
    _assert_polynomial_close(out[:, len(ELEMENTARY)], MEDIUM_TERMS, X[:, 3:], 1e-13)


def test_points_wrapper_and_memo(points_fn, points_data, cachedir):
    X, out = points_data
    again = cg.points_function(
        ELEMENTARY + [MEDIUM_POLY], [x, y, z] + list(h), name="elem", cache_dir=cachedir
    )
    assert again is points_fn  # in-process memo: same request, same compiled function
    buf = np.full(out.shape, np.nan)
    assert points_fn(X, buf) is buf
    np.testing.assert_array_equal(buf, out)
    serial = np.empty_like(out)
    points_fn.kernel(np.ascontiguousarray(X), serial)  # the njit kernel directly
    np.testing.assert_array_equal(serial, out)
    with pytest.raises(ValueError, match="shape"):
        points_fn(X[:, :3])
    assert points_fn(np.empty((0, 6))).shape == (0, len(ELEMENTARY) + 1)


def test_auto_method_routes_large_polynomials_to_the_trie(points_fn, cachedir):
    # a 1 200-term polynomial (≥ TRIE_MIN_TERMS) goes to the monomial trie: no module,
    # same a-priori rounding bound as straight-line code; mixed or small sets stay
    # straight-line (points_fn above holds a 70-term polynomial and elementary functions)
    assert points_fn.method == "straight" and points_fn.cache_path
    big, terms = _random_polynomial(1200, seed=11, maxdeg=14)
    assert len(terms) >= cg.TRIE_MIN_TERMS
    fn = cg.points_function([big, h[0] * h[1] - 1], list(h), name="big", cache_dir=cachedir)
    assert fn.method == "trie" and fn.cache_path is None and fn.kernel is None
    assert fn.polynomial_set.n_terms == len(terms) + 2
    assert cg.points_function([big, h[0] * h[1] - 1], list(h), name="big") is fn  # memo
    pts = np.random.default_rng(2).uniform(-1.1, 1.1, (40, 3))
    out = fn(pts)
    np.testing.assert_array_equal(out[:, 1], pts[:, 0] * pts[:, 1] - 1)
    # degree ≤ 42 multiplications plus ≤ 1 202 table-order additions: (42 + 1202)·2⁻⁵³
    _assert_polynomial_close(out[:, 0], terms, pts, 1.5e-13)
    with pytest.raises(cg.CodegenError, match="method='trie': expression 0 is not a polynomial"):
        cg.points_function([sp.tanh(h[0])], list(h), method="trie")
    with pytest.raises(cg.CodegenError, match="method must be"):
        cg.points_function([h[0]], list(h), method="fast")


# --------------------------------------------------------------------------- printing


def test_source_prints_max_and_exact_rational_literals():
    src = cg.function_source(
        [
            sp.Max(0, x) + sp.Rational(1, 3) * y,
            sp.Rational(-2, 7) * x**-3,
            x ** sp.Rational(1, 3),
            sp.Float("0.1", 40) * x,
        ],
        [x, y],
        name="g",
    )
    assert "max(0.0, a0)" in src
    code = src.split("import math")[1]
    assert repr(1 / 3) in code and repr(2 / 7) in code
    assert "1/3" not in code and "2/7" not in code  # constants are float literals
    assert "a0**(0.3333333333333333)" in src
    assert "0.1*a0" in src or "(0.1)*a0" in src
    assert "(0.2857142857142857)/a0**3" in code


def test_module_is_self_contained_with_header():
    src = cg.function_source([sp.tanh(x) * y], [x, y], name="hdr")
    tree = ast.parse(src)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"math", "numba", "numpy"}
    from symresp import __version__

    assert f"symresp {__version__}" in src and "tanh(x)" in src
    # user symbol names appear only in comments / the docstring, never in code
    code_names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not code_names & {"x", "y"}


def test_hostile_symbol_names_never_reach_code():
    evil = sp.Symbol('a"""\nimport os; os.system("echo pwned")#\x00')
    src = cg.function_source([evil + 1], [evil], name="ev")
    tree = ast.parse(src)  # still valid Python: the name is escaped in comments
    assert "os.system" not in "".join(ast.unparse(n) for n in tree.body[1:])


def test_long_sum_becomes_bounded_statements(tmp_path):
    """numba's parallel analysis died with RecursionError on one
    31 883-character sum.  A 1 500-term polynomial (> 31 883 characters) must become
    statements of at most CHUNK terms and bounded depth, and still be correct.  Checked
    on the generated Python (numba's pure-Python ``py_func``) to keep the test fast; the
    numba path of chunked sums is exercised by the 70-term polynomial in prange."""
    poly, terms = _random_polynomial(1500, seed=7)
    assert len(str(poly)) > 31883
    fn = cg.points_function(
        [poly, 2 * poly + h[0]],
        list(h),
        name="big",
        cse="tree",
        cache_dir=tmp_path,
        method="straight",
    )
    tree = ast.parse(Path(fn.cache_path).read_text())
    point = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "big_point")

    def depth(node):
        return 1 + max((depth(c) for c in ast.iter_child_nodes(node)), default=0)

    def spine_terms(node):  # terms of a left-nested a + b - c ... chain
        n = 1
        while isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            n += 1
            node = node.left
        return n

    stmts = [s for s in point.body if isinstance(s, (ast.Assign, ast.AugAssign))]
    assert any(isinstance(s, ast.AugAssign) for s in stmts)
    assert max(spine_terms(s.value) for s in stmts) <= cg.CHUNK
    assert max(depth(s.value) for s in stmts) <= 40
    assert max(len(ast.unparse(s)) for s in stmts) < 3000

    rng = np.random.default_rng(1)
    X = rng.uniform(-1.1, 1.1, (4, 3))
    out = np.empty((4, 2))
    for i in range(4):
        fn.codegen_module.big_point.py_func(X, out, i)  # CPython runs the generated code
    _assert_polynomial_close(out[:, 0], terms, X, 1e-13)
    np.testing.assert_allclose(
        out[:, 1], 2 * out[:, 0] + X[:, 0], rtol=1e-12, atol=1e-12 * np.abs(out[:, 0]).max()
    )


def test_deeply_nested_expression_is_hoisted(tmp_path):
    """A 600-level nested expression (deeper than Python's default recursion limit allows
    for SymPy's recursive tree walks) becomes statements of bounded depth and evaluates exactly as the
    same float recurrence does in Python (identical operations, so equality to 1e-15)."""
    e = x
    for _ in range(600):  # unevaluated: SymPy's evaluation of nested sin is slow
        e = sp.Add(sp.Mul(sp.S.Half, sp.sin(e, evaluate=False), evaluate=False), y, evaluate=False)
    fn = cg.points_function([e], [x, y], name="deep", cse=False, cache_dir=tmp_path)
    tree = ast.parse(Path(fn.cache_path).read_text())
    point = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "deep_point")

    def depth(node):
        return 1 + max((depth(c) for c in ast.iter_child_nodes(node)), default=0)

    assert max(depth(s.value) for s in point.body if isinstance(s, ast.Assign)) <= 40
    X = np.array([[0.3, -0.2]])
    out = np.empty((1, 1))
    fn.codegen_module.deep_point.py_func(X, out, 0)
    v = 0.3
    for _ in range(600):
        v = np.sin(v) * 0.5 + -0.2
    assert out[0, 0] == pytest.approx(v, rel=1e-15)


def test_matrix_inputs_and_piecewise_without_default():
    src = cg.function_source(
        sp.Matrix([[x, y], [x * y, sp.Piecewise((x, x > 0))]]), sp.Matrix([x, y]), name="mat"
    )
    assert "out[i, 3] = ((a0 if (a0 > 0.0) else math.nan))" in src


# --------------------------------------------------------------------------- errors


def test_symbol_not_in_args_is_named():
    with pytest.raises(cg.CodegenError, match=r"\['w'\]"):
        cg.function_source([x + sp.Symbol("w")], [x])


@pytest.mark.parametrize(
    "expr, pattern",
    [
        (sp.gamma(x), "gamma"),
        (sp.Function("a")(x), "a"),
        (sp.I * x, "complex"),
        (sp.Integral(x, x), "Integral"),
        (sp.zeta(x), "zeta"),
        (sp.Integer(10) ** 400 * x, "float64 range"),
        ("x + 1", "string"),
        (sp.Eq(x, 1), "scalar expression"),
    ],
)
def test_unsupported_inputs_raise_clear_errors(expr, pattern):
    with pytest.raises(cg.CodegenError, match=pattern):
        cg.function_source([expr], [x])


def test_bad_arguments_and_names():
    with pytest.raises(cg.CodegenError, match="Symbol"):
        cg.function_source([x], [x + 1])
    with pytest.raises(cg.CodegenError, match="repeated"):
        cg.function_source([x], [x, x])
    for bad in ("math", "class", "1f", "_f", "f-g"):
        with pytest.raises(cg.CodegenError, match="name"):
            cg.function_source([x], [x], name=bad)


# --------------------------------------------------------------------------- cache


def test_default_cache_dir_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("SYMRESP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cg.default_cache_dir() == tmp_path / "xdg" / "symresp" / "codegen"
    monkeypatch.setenv("SYMRESP_CACHE_DIR", str(tmp_path / "mine"))
    assert cg.default_cache_dir() == tmp_path / "mine" / "codegen"


def test_corrupt_cache_entries_are_rebuilt(tmp_path):
    expr, args = sp.tanh(x) * sp.Rational(3, 4) + y**2, [x, y]
    fn = cg.points_function(expr, args, name="corr", cache_dir=tmp_path, method="straight")
    path = Path(fn.cache_path)
    good = path.read_text()
    key = good.splitlines()[0].split(": ")[1]
    broken_body = good.split("\n", 2)[2].replace("def corr_point(", "def corr_point((")
    variants = {
        "truncated": good[: len(good) // 2],
        "wrong key": good.replace(key, "0" * 64, 1),
        "not utf-8": b"\xff\xfe\x00garbage",
        "syntax error, valid hash": cache._assemble(key, broken_body, cache._secret(tmp_path)),
        "empty": "",
    }
    for what, content in variants.items():
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        cg.clear_memo()
        before = cg.cache_stats()["rebuilt"]
        if what.startswith("syntax"):
            with pytest.warns(RuntimeWarning, match="rebuilding"):
                again = cg.points_function(
                    expr, args, name="corr", cache_dir=tmp_path, method="straight"
                )
        else:
            again = cg.points_function(
                expr, args, name="corr", cache_dir=tmp_path, method="straight"
            )
        assert cg.cache_stats()["rebuilt"] == before + 1, what
        assert path.read_text() == good, what  # generation is deterministic
    assert again(np.array([[0.5, 2.0]]))[0, 0] == pytest.approx(
        0.75 * np.tanh(0.5) + 4.0, rel=1e-15
    )
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


_CACHE_SCRIPT = """
    import json, os, sys, time
    import sympy as sp
    from symresp import codegen as cg
    go = os.environ.get("GO_FILE")
    if go:  # start generating at the same moment as the sibling process
        print("ready", flush=True)
        while not os.path.exists(go):
            time.sleep(0.005)
    x = sp.Symbol("x")
    import numpy as np
    f = cg.points_function(sp.tanh(x)**3 + sp.Rational(1, 7) * x + sp.Max(0, x - 1), [x],
                           name=os.environ["FN_NAME"], method="straight")
    v = float(f(np.array([[1.3]]))[0, 0])
    print(json.dumps({"v": v, "stats": cg.cache_stats(), "path": f.cache_path,
                      "mtime": os.stat(f.cache_path).st_mtime_ns,
                      "numba_hits": sum(f.kernel.stats.cache_hits.values())}))
"""
_CACHE_VALUE = np.tanh(1.3) ** 3 + 1.3 / 7 + 0.3


def test_cache_reused_by_a_fresh_process(tmp_path):
    env = {"SYMRESP_CACHE_DIR": str(tmp_path), "FN_NAME": "reuse"}
    first = _run_script(_CACHE_SCRIPT, env)
    second = _run_script(_CACHE_SCRIPT, env)
    assert first["stats"]["generated"] == 1 and first["stats"]["loaded"] == 0
    assert second["stats"]["generated"] == 0 and second["stats"]["loaded"] == 1
    assert second["path"] == first["path"] and second["mtime"] == first["mtime"]
    assert second["numba_hits"] >= 1  # numba's machine code came from its cache too
    assert Path(first["path"]).parent == tmp_path / "codegen"
    assert first["v"] == second["v"] == pytest.approx(_CACHE_VALUE, rel=1e-15)


def test_cache_secret_created_concurrently_is_one_whole_secret(tmp_path):
    """Four threads create a fresh directory's MAC secret at the same moment, 40 times: each
    gets the same 32 bytes and none reads a partly written file.  (When the secret was
    created with O_EXCL and then written, a reader between the two saw an empty file and
    refused the cache in about 60 % of such races; two processes generating one entry
    hit it in CI.)"""
    import threading

    def create(d, out, barrier):
        barrier.wait()
        try:
            out.append(cache._secret(d))
        except OSError as exc:
            out.append(exc)

    for trial in range(40):
        d = tmp_path / f"d{trial}"
        d.mkdir(mode=0o700)
        out, barrier = [], threading.Barrier(4)
        threads = [threading.Thread(target=create, args=(d, out, barrier)) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert all(isinstance(v, bytes) for v in out), out
        assert len(set(out)) == 1 and len(out[0]) == 32


def test_concurrent_generation_of_one_entry(tmp_path):
    """Two processes generate, write and import the same entry at the same moment."""
    go = tmp_path / "go"
    env = {"SYMRESP_CACHE_DIR": str(tmp_path / "c"), "FN_NAME": "conc", "GO_FILE": str(go)}
    procs = [_run_script(_CACHE_SCRIPT, env, wait=False) for _ in range(2)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    for r in results:
        assert r["v"] == pytest.approx(_CACHE_VALUE, rel=1e-15)
    path = Path(results[0]["path"])
    text = path.read_text()
    assert cache._check_text(text, text.splitlines()[0].split(": ")[1], cache._secret(path.parent))
    assert not list(path.parent.glob(".*.tmp"))

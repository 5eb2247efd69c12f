"""PolynomialSet: sparse polynomial sets evaluated along a monomial trie.

Reference: exact rational evaluation (python-flint) at the same float64 inputs, which
are exact dyadic rationals.  Tolerance: the a-priori rounding bound of the module
docstring, (|α|_max + nterms(e) + 1) · 2⁻⁵³ · Σ_t |c_t x^{α_t}| (the +1 is the rounding
of the exact coefficient to a double), times 1.01 for second-order terms.  A wrong
table (a lost term, a wrong parent, a wrong variable) errs by a whole term, far above it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction

import flint
import numpy as np
import pytest
import sympy as sp

from symresp import load_spec
from symresp.codegen.polyset import PolynomialSet
from symresp.expectation.evaluator import Evaluator
from symresp.symbolic.recursion import derive

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
U = 2.0**-53


def _exact(polys, X):
    """Exact values (Fractions) of dict-polynomials at the rows of X."""
    out = []
    for row in X:
        xs = [Fraction(float(x)) for x in row]
        vals = []
        for d in polys:
            s = Fraction(0)
            for m, c in d.items():
                t = Fraction(c)
                for x, k in zip(xs, m):
                    t *= x ** int(k)
                s += t
            vals.append(s)
        out.append(vals)
    return out


def _check_bound(ps, polys, X, got):
    absval = ps.abs()(np.abs(X))
    nterms = np.array([len(d) for d in polys])
    bound = 1.01 * (ps.maxdepth + nterms + 1) * U * absval
    exact = _exact(polys, X)
    for i in range(X.shape[0]):
        for e in range(len(polys)):
            err = abs(Fraction(float(got[i, e])) - exact[i][e])
            assert err <= Fraction(float(bound[i, e])), (i, e, float(err), bound[i, e])


def _random_polys(rng, nvars, npolys, nterms, maxexp):
    polys = []
    for _ in range(npolys):
        d = {}
        for _ in range(rng.integers(0, nterms + 1)):
            m = tuple(
                int(k) for k in rng.integers(0, maxexp + 1, nvars) * (rng.random(nvars) < 0.5)
            )
            d[m] = Fraction(int(rng.integers(-999, 1000)), int(rng.integers(1, 60)))
        polys.append(d)
    return polys


@pytest.mark.parametrize("nvars,maxexp", [(3, 4), (6, 2), (40, 7)])
def test_random_sets_within_rounding_bound(nvars, maxexp):
    # nvars = 40 with exponents ≤ 7 needs 120 bits per monomial key: the row fallback
    rng = np.random.default_rng(nvars)
    polys = _random_polys(rng, nvars, 7, 25, maxexp) + [{}, {(0,) * nvars: Fraction(3, 7)}]
    ps = PolynomialSet.from_terms(polys, nvars)
    X = rng.normal(size=(300, nvars))  # 300 points: two full chunks and a partial one
    got = ps(X)
    assert got.shape == (300, len(polys))
    np.testing.assert_array_equal(got[:, -2], 0.0)
    _check_bound(ps, polys, X[::37], got[::37])


def test_prefixes_are_added_and_repeats_merged():
    # x0^5 alone needs the chain x0, x0², …, x0⁴; a repeated (polynomial, monomial)
    # pair is summed, not overwritten
    ps = PolynomialSet.from_arrays([[5, 0], [0, 3], [0, 3]], [0, 1, 1], [2.0, 1.0, 0.5], 2, 2)
    assert ps.n_nodes == 1 + 5 + 3 and ps.n_terms == 2
    X = np.array([[1.5, -2.0], [0.0, 3.0]])
    np.testing.assert_array_equal(ps(X), [[2 * 1.5**5, 1.5 * -8.0], [0.0, 1.5 * 27.0]])


def test_ring_observables_within_rounding_bound():
    # the objects it is built for: G_{k,p} of the 2-D tanh network, order 2, P = 3, in
    # the ring variables (h, T) at stationary-like states (T = tanh(z) computed in float64
    # and then taken as exact inputs)
    net = load_spec(os.path.join(ROOT, "derivations", "tanh_2d.toml"))
    der = derive(net, 2, 3)
    els = [g for gs in der.observables.values() for g in gs]
    ps = PolynomialSet.from_ring(der.algebra, els)
    assert ps.nout == len(els) and ps.n_terms == sum(len(g.to_dict()) for g in els)
    ev = Evaluator(der.algebra, codegen=False)
    X = ev.state_variables(np.random.default_rng(2).normal(scale=0.8, size=(6, 2)))
    polys = [
        {tuple(int(k) for k in m): Fraction(int(c.p), int(c.q)) for m, c in g.to_dict().items()}
        for g in els
    ]
    _check_bound(ps, polys, X, ps(X))
    # and flint's own exact evaluation agrees with the Fraction reference used above
    g = els[-1]
    xs = [flint.fmpq(Fraction(float(x)).numerator, Fraction(float(x)).denominator) for x in X[0]]
    assert Fraction(int(g(*xs).p), int(g(*xs).q)) == _exact([polys[-1]], X[:1])[0][0]


def test_points_do_not_depend_on_chunking_or_threads(tmp_path, monkeypatch):
    rng = np.random.default_rng(5)
    polys = _random_polys(rng, 4, 5, 40, 5)
    ps = PolynomialSet.from_terms(polys, 4)
    X = rng.normal(size=(1000, 4))
    full = ps(X)
    # a point's arithmetic is the same whichever chunk it lands in
    np.testing.assert_array_equal(ps(X[3:517]), full[3:517])
    # long calls run in blocks behind a progress bar: same bits
    import symresp.codegen.polyset as polyset

    monkeypatch.setattr(polyset, "_PROGRESS_WORK", 1e4)
    np.testing.assert_array_equal(ps(X), full)
    path = ps.save(tmp_path / "set.npz")
    np.save(tmp_path / "X.npy", X)
    code = (
        "import sys, numpy as np; sys.path.insert(0, sys.argv[1]);"
        "from symresp.codegen.polyset import PolynomialSet;"
        "ps = PolynomialSet.load(sys.argv[2]);"
        "np.save(sys.argv[3], ps(np.load(sys.argv[4])))"
    )
    for threads in (1, 2):
        out = tmp_path / f"out{threads}.npy"
        env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
        subprocess.run(
            [sys.executable, "-c", code, ROOT, str(path), str(out), str(tmp_path / "X.npy")],
            check=True,
            env=env,
            timeout=600,
        )
        np.testing.assert_array_equal(np.load(out), full)


def test_from_exprs_matches_sympy():
    x, y, z = sp.symbols("x y z")
    exprs = [x**3 * y - sp.Rational(1, 3) * z + 2, sp.Float(0.25) * (x + y) ** 4, sp.S(0), y * z**2]
    ps = PolynomialSet.from_exprs(exprs, [x, y, z])
    X = np.random.default_rng(7).normal(size=(200, 3))
    ref = sp.lambdify([x, y, z], exprs, "numpy")(*X.T)
    ref = np.column_stack([np.broadcast_to(r, (200,)) for r in ref])
    # a few terms of size O(10): agreement to a few ulps of Σ|terms| (< 10³)
    np.testing.assert_allclose(ps(X), ref, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="expression 1 is not a polynomial"):
        PolynomialSet.from_exprs([x, sp.tanh(y)], [x, y])


def test_errors_name_the_problem(tmp_path):
    ps = PolynomialSet.from_terms([{(1, 0): 1.0}], 2)
    with pytest.raises(ValueError, match=r"X: expected shape \(npoints, 2\)"):
        ps(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="out: expected"):
        ps(np.zeros((3, 2)), out=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="exponent .* expected nvars = 2"):
        PolynomialSet.from_terms([{(1,): 1.0}], 2)
    with pytest.raises(ValueError, match="nonnegative"):
        PolynomialSet.from_arrays([[-1, 0]], [0], [1.0], 2, 1)
    with pytest.raises(ValueError, match="does not fit a double"):
        PolynomialSet.from_terms([{(1, 0): Fraction(10**400)}], 2)
    # tables that do not describe a trie are refused, not evaluated
    with pytest.raises(ValueError, match="inconsistent"):
        PolynomialSet(2, 1, ps.var, ps.depth + 1, ps.ptr, ps.out_index, ps.coeff)
    # save/load round trip keeps every table
    again = PolynomialSet.load(ps.save(tmp_path / "p"))
    assert again.digest() == ps.digest()
    assert ps(np.zeros((0, 2))).shape == (0, 1)

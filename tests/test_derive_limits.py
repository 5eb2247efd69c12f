"""The derivation-size bound and the refusal of derivations above ``max_terms``.

Oracle: the term counts of the derivations themselves (``Derivation.n_terms()``).  The
bound of :func:`symresp.symbolic.sizing.estimate_terms` must never be below the count (it
counts every monomial the degree boxes allow), and it must not be vacuous: within 12× of
the count for the built-in activations on these 1- to 3-unit networks (measured 1.0–11.6×)
and within 150× for an activation given as an expression, whose derivative chain adds
auxiliaries the box cannot tell apart (measured 109×).
"""

from __future__ import annotations

import time

import pytest

from symresp.cli import main
from symresp.errors import ArgumentError
from symresp.model.network import SRNN
from symresp.symbolic.recursion import MAX_TERMS, derive

W3 = [["0.37", "-0.52", "0.2"], ["0.81", "0.13", "-0.4"], ["-0.3", "0.25", "0.5"]]


def small_net(activation="tanh", n=2, start="stationary", **kw):
    spec = dict(
        n=n,
        m=1,
        activation=activation,
        Gamma=1,
        W=[row[:n] for row in W3[:n]],
        b=["0.11", "-0.07", "0.05"][:n],
        C=[["0.35"], ["0.71"], ["0.5"]][:n],
        sigma="0.3",
        V=[1] + [0] * (n - 1),
    )
    if start == "point":
        spec.update(start="point", h0=["0.2"] * n)
    spec.update(kw)
    return SRNN.create(**spec)


@pytest.mark.parametrize(
    "activation, n, start, order, P, truncation, factor",
    [
        ("tanh", 1, "stationary", 2, 6, "total", 12),
        ("tanh", 2, "stationary", 2, 5, "total", 12),
        ("tanh", 3, "stationary", 1, 5, "total", 12),
        ("tanh", 3, "stationary", 2, 4, "total", 12),
        ("tanh", 2, "point", 2, 3, "total", 12),
        ("tanh", 2, "stationary", 1, 3, "box", 12),
        ("sigmoid", 2, "stationary", 2, 3, "total", 12),
        ("softplus", 2, "stationary", 2, 4, "total", 12),
        ("cubic", 2, "point", 1, 4, "total", 12),
        ("sin(z)", 2, "stationary", 2, 3, "total", 150),
    ],
)
def test_estimate_bounds_the_term_count(activation, n, start, order, P, truncation, factor):
    der = derive(small_net(activation, n, start), order, P, truncation=truncation)
    actual = der.n_terms()
    assert actual <= der.estimated_terms <= factor * actual, (actual, der.estimated_terms)


def test_large_request_refused_before_work():
    """A 4-D tanh network at order 6, P = 12 (it grew past 3 GB before this check): the bound
    is about 1.8e11 terms; the refusal names the estimate, the memory and the option."""
    net = SRNN.create(
        n=4,
        activation="tanh",
        W=[["0.3", "-0.2", "0.1", "0.4"]] * 4,
        b=["0.1"] * 4,
        C=[["0.5"]] * 4,
        sigma="0.3",
        V=[1, 0, 0, 0],
    )
    t0 = time.perf_counter()
    with pytest.raises(ArgumentError) as err:
        derive(net, 6, 12)
    assert time.perf_counter() - t0 < 5  # refused from the boxes, not after deriving
    msg = str(err.value)
    assert "max_terms=" in msg and "--max-terms" in msg and "GiB" in msg, msg
    assert f"{MAX_TERMS:.4g}" in msg and "terms" in msg


def test_max_terms_moves_the_limit():
    net = small_net("tanh", 2)
    est = derive(net, 2, 3).estimated_terms
    with pytest.raises(ArgumentError, match=f"needs {est:.4g} terms"):
        derive(net, 2, 3, max_terms=est - 1)
    assert derive(net, 2, 3, max_terms=est).estimated_terms == est


def test_cli_refuses_with_the_option(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(
        '[network]\nn = 2\nm = 1\nactivation = "tanh"\nGamma = 1\n'
        "W = [[0.5, -0.3], [0.2, 0.4]]\nb = [0.1, 0.0]\nC = [[0.7], [0.7]]\nsigma = 0.3\n"
        '[readout]\nV = [[1.0, 0.0]]\n[start]\nkind = "stationary"\n'
    )
    rc = main(["derive", str(spec), "--order", "2", "--taylor", "3", "--max-terms", "10"])
    err = capsys.readouterr().err
    assert rc == 2 and "--max-terms" in err and "above the limit of 10" in err, err

"""Spec loading and validation: shapes, numbers, expressions and the messages that name them."""

from pathlib import Path

import pytest
import sympy as sp

from symresp import SRNN, load_spec

SPECS = sorted((Path(__file__).parent.parent / "derivations").glob("*.toml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_committed_specs_load(path):
    net = load_spec(path)
    assert net.drift.shape == (net.n, 1)
    assert net.readout.shape == (net.p, 1)


def test_at_least_five_specs():
    assert len(SPECS) >= 5


def test_numbers_kept_exact():
    net = SRNN.create(n=1, W=[["3/2"]], b=[0.1], Gamma=2, sigma="1/3", activation="tanh")
    assert net.W[0, 0] == sp.Rational(3, 2)
    assert net.b[0] == sp.Rational(1, 10)
    assert net.sigma[0, 0] == sp.Rational(1, 3)

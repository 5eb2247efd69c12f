"""Every number of a spec is a finite real, or it is refused at load with the field named.

Regression cases from probing the loader: a weight "3/0" (traceback), "1e400" (accepted, then
an IndexError deep in the numerics), "sqrt(2)" (loaded, then crashed derive), V = [] (an
IndexError), assume_stationary = "no" (read as true), "9**9**9" (hung), a directory given as
the spec (IsADirectoryError), a weight so large its coefficients leave double precision.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symresp
from symresp.errors import ArgumentError, SpecError

BASE = dict(n=1, activation="tanh", W=[["0.5"]], C=[["1"]], sigma="0.3", V=[["1"]])


def _net(**kw):
    return symresp.SRNN.create(**{**BASE, **kw})


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(W=[["3/0"]]), r"network.W\[1,1\]: '3/0' divides by zero"),
        (dict(W=[["1e400"]]), r"network.W\[1,1\]: '1e400' is not a finite real number"),
        (dict(W=[["exp(1000)"]]), r"network.W\[1,1\]: 'exp\(1000\)' (is not a finite|overflows)"),
        (dict(W=[["9**9**9"]]), r"network.W\[1,1\]: chained powers"),
        (dict(b=["2**-2000"]), r"network.b\[1\]: the exponent 2000"),
        (dict(V=[]), r"readout.V: expected a p×n matrix"),
        (dict(V=[[]]), r"readout.V: expected a p×n matrix"),
        (dict(assume_stationary="no"), r"network.assume_stationary: expected true or false"),
    ],
)
def test_refused_at_load_with_the_field(kw, match):
    with pytest.raises(SpecError, match=match):
        _net(**kw)


def test_irrational_constants_work_through_derive_and_kernels():
    net = _net(W=[["sqrt(2)/2"]])
    der = symresp.derive(net, 1, 3)
    K = symresp.taylor_kernel(der, 1, [0])  # 1-D gradient network: Gibbs quadrature
    ref = symresp.taylor_kernel(symresp.derive(_net(W=[[float(np.sqrt(2) / 2)]]), 1, 3), 1, [0])
    np.testing.assert_allclose(K(np.array([[0.2]])), ref(np.array([[0.2]])), rtol=1e-12)


def test_coefficients_beyond_double_precision_are_a_clear_error():
    net = _net(W=[[1e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ArgumentError, match="beyond double precision"):
            symresp.kernel(net, 1, [0], method="taylor", samples=100, seed=1)


def test_directory_or_binary_spec(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        symresp.load_spec(tmp_path)
    f = tmp_path / "x.toml"
    f.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(SpecError, match="not a text file"):
        symresp.load_spec(f)


@pytest.mark.parametrize(
    "act, w, stationary",
    [
        ("5*z", "0.5", False),  # Lip 5: 5·0.5 = 2.5 > 1 = λ_min(Γ): no guarantee
        ("0.3*z", "0.5", True),  # Lip 0.3
        ("Max(0, 10*z)", "0.5", False),  # Lip 10, not 1
        ("Max(0, 10*z)", "0.05", True),  # 10·0.05 = 0.5 < 1
    ],
)
def test_user_activation_lipschitz_is_measured_not_assumed(act, w, stationary):
    kw = dict(BASE, activation=act, W=[[w]], derivable=not act.startswith("Max"))
    if not stationary:
        with pytest.raises(SpecError, match=r"Lip\(a\)|does not point inwards"):
            symresp.SRNN.create(**kw)
    else:
        net = symresp.SRNN.create(**kw)
        assert net.start == "stationary"

"""Trusted ranges of Taylor kernels: the per-lag error estimate, the warning that names the
untrusted lags, and the exported module's refusal beyond the range."""

from __future__ import annotations

import importlib
import sys
import warnings

import numpy as np
import pytest

import symresp
from symresp.report.export import export_module

LAGS = np.array([[0.5], [1.0], [2.0], [3.0], [5.0]])


@pytest.fixture(scope="module")
def net():
    return symresp.load_spec("derivations/tanh_1d.toml")


@pytest.fixture(scope="module")
def reference(net):
    # the Kolmogorov PDE (spectral, its refinement error < 1e-8 here) as the truth
    K = symresp.kernel(net, 1, method="pde")
    assert K.error(LAGS).max() < 1e-8
    return K(LAGS)


@pytest.mark.parametrize("P", [8, 16])
def test_error_estimate_covers_the_actual_error(net, reference, P):
    K = symresp.kernel(net, 1, method="taylor", taylor=P)
    actual = np.abs(K(LAGS, warn=False) - reference)
    est = K.error(LAGS)
    # an estimate, checked where it claims to hold: inside the radius it is at least the
    # actual error (up to the reference's 1e-8), and at τ = 5 (outside) it is unbounded
    inside = np.isfinite(est[:, 0])
    assert np.all(actual[inside] <= est[inside] + 1e-8), (actual.ravel(), est.ravel())
    assert not inside[-1] and not K.trusted(LAGS)[-1]
    # the trusted lags are accurate to 1e-3 (τ ≤ 2 at these P)
    tr = K.trusted(LAGS)
    assert tr[0] and tr[1] and np.all(actual[tr] < 1e-3)


def test_warning_names_the_untrusted_lags_and_the_error(net):
    K = symresp.kernel(net, 1, method="taylor", taylor=8)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        K(LAGS)
    msg = str(w[0].message)
    assert "2 of 5 lag point(s) outside its trusted range" in msg
    assert "τ_1 up to 5" in msg and "estimated error" in msg


def test_exported_module_refuses_beyond_the_trusted_range(net, tmp_path):
    path = export_module(net, 1, 8, tmp_path, name="tanh_trusted")
    sys.path.insert(0, str(tmp_path))
    try:
        mod = importlib.import_module("tanh_trusted")
    finally:
        sys.path.remove(str(tmp_path))
    f = next(iter(mod.KERNELS.values()))
    K = symresp.kernel(net, 1, method="taylor", taylor=8)
    with pytest.warns(RuntimeWarning, match="2 lag point"):
        vals = f(LAGS)
    ok = K.trusted(LAGS)
    assert np.all(np.isnan(vals[~ok])) and np.allclose(vals[ok], K(LAGS[ok]), rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="trusted range"):
        f(LAGS, untrusted="raise")
    np.testing.assert_allclose(f(LAGS, untrusted="allow"), K(LAGS, warn=False), atol=1e-15)
    assert path.exists()

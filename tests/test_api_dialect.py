"""One API dialect for the series and the features.

* ``eps`` (and ``order``) keyword-only in simulate, predict, check, eps_sweep;
* the same time arguments (T, dt, out_every) give the same grid in simulate, predict, check;
* features take series (n_cases, n_channels, n_timepoints), one series (n_channels,
  n_timepoints), or lists of unequal lengths (computed per path, never padded);
* results are dataclasses with to_dict() that survive strict JSON.
"""

import inspect
import json

import numpy as np
import pytest

import symresp
from symresp import strict_json
from symresp.errors import ArgumentError
from symresp.features.estimators import gram_matrix, response_feature_matrix
from symresp.features.logsignatures import logsignature
from symresp.features.response_features import response_feature, support_path
from symresp.features.signatures import signature
from symresp.montecarlo.estimators import simulate
from symresp.series.comparison import CheckResult, check, eps_sweep
from symresp.series.response_map import predict_via_features
from symresp.series.volterra import Prediction, predict


@pytest.fixture(scope="module")
def tiny():
    """A 1-D linear network (identity activation), stationary start."""
    return symresp.SRNN.create(
        n=1, m=1, activation="identity", W=[[0.0]], b=[0.0], C=[[1.0]], sigma=0.5
    )


@pytest.mark.parametrize("func", [simulate, predict, check, eps_sweep, predict_via_features])
def test_eps_is_keyword_only(func):
    params = inspect.signature(func).parameters
    name = "eps_values" if func is eps_sweep else "eps"
    assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    for time_arg in ("T", "dt"):
        assert params[time_arg].kind is inspect.Parameter.KEYWORD_ONLY
    if func is not simulate:
        assert params["order"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize("T,dt,every", [(0.3, 0.05, 1), (0.3, 0.07, 2), (1.0, 0.1, 3)])
def test_same_time_arguments_same_grid(tiny, T, dt, every):
    mc = simulate(tiny, "1", eps=0.1, T=T, dt=dt, paths=8, out_every=every, quiet=True)
    pr = predict(tiny, "1", order=1, eps=0.1, T=T, dt=dt, out_every=every, method="exact")
    ck = check(tiny, "1", order=1, eps=0.1, T=T, dt=dt, out_every=every, method="exact", paths=8)
    np.testing.assert_array_equal(pr.t, mc.t)
    np.testing.assert_array_equal(ck.t, mc.t)
    assert pr.mean.shape == (mc.t.size, 1) and pr.scaled_terms.shape == (2, mc.t.size, 1)


def test_predict_time_arguments_are_exclusive(tiny):
    with pytest.raises(ArgumentError, match="not both"):
        predict(tiny, "1", order=1, T=1.0, t=np.linspace(0, 1, 5))
    with pytest.raises(TypeError):
        predict(tiny, "1", 0.1, np.linspace(0, 1, 5), 1)  # the old positional form


def test_prediction_scaled_terms_and_to_dict(tiny):
    eps = 0.3
    p = predict(tiny, "sin(t)", order=2, eps=eps, T=0.5, dt=0.05, method="exact")
    one = predict(tiny, "sin(t)", order=2, eps=1.0, T=0.5, dt=0.05, method="exact")
    assert isinstance(p, Prediction)
    np.testing.assert_allclose(p.mean, p.scaled_terms.sum(axis=0), rtol=1e-15)
    np.testing.assert_allclose(
        p.scaled_terms,
        eps ** np.arange(3)[:, None, None] * one.scaled_terms,
        rtol=1e-13,
        atol=1e-16,
    )
    d = json.loads(strict_json.dumps(p.to_dict()))
    assert d["t"] == p.t.tolist() and np.asarray(d["scaled_terms"]).shape == (3, 11, 1)
    assert d["eps"] == eps and d["order"] == 2


def test_check_result_to_dict(tiny):
    r = check(tiny, "1", order=1, eps=0.2, T=0.2, dt=0.05, method="exact", paths=16)
    assert isinstance(r, CheckResult)
    d = json.loads(strict_json.dumps(r.to_dict()))
    assert d["verdict"] in ("pass", "fail", "inconclusive") and len(d["t"]) == r.t.size
    assert isinstance(d["reason"], str)
    assert set(d["budget_parts"]) == {"statistical", "time_step", "truncation", "series_grid"}


def test_precision_is_forwarded(tiny):
    a = predict(tiny, "1", order=1, eps=0.5, T=0.2, dt=0.05, taylor=3)
    b = predict(tiny, "1", order=1, eps=0.5, T=0.2, dt=0.05, taylor=3, precision=30)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)
    with pytest.raises(ArgumentError, match="precision"):
        predict(tiny, "1", order=1, T=0.2, dt=0.05, precision=5)


# ------------------------------------------------------------------------------ features
@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(3)
    return (
        rng.standard_normal((5, 2, 30)).cumsum(axis=-1) * 0.3
    )  # (n_cases, n_channels, n_timepoints)


def test_batch_equals_per_case(batch):
    t = np.linspace(0.0, 1.0, batch.shape[2])
    S = signature(batch, 3)
    L = logsignature(batch, 3)
    R = response_feature(batch, t, 2, 1).features
    X = support_path(batch, t, 1)
    assert S.shape[0] == L.shape[0] == R.shape[0] == 5 and X.shape == (5, 4, 30)
    for i in range(5):
        np.testing.assert_array_equal(S[i], signature(batch[i], 3))
        np.testing.assert_allclose(L[i], logsignature(batch[i], 3), rtol=0, atol=1e-15)
        np.testing.assert_array_equal(R[i], response_feature(batch[i], t, 2, 1).features)
        np.testing.assert_array_equal(X[i], support_path(batch[i], t, 1))
    F = response_feature_matrix(batch, level=2, degree=1)
    for i in range(5):
        np.testing.assert_array_equal(
            F[i], response_feature_matrix(batch[i : i + 1], level=2, degree=1)[0]
        )


def test_unequal_lengths_equal_per_path(batch):
    cases = [batch[i, :, : 12 + 4 * i] for i in range(5)]
    cases.append(batch[0, :, :12])  # a repeated length
    S = signature(cases, 3)
    L = logsignature(cases, 2)
    F = response_feature_matrix(cases, level=2, degree=1)
    G = gram_matrix(cases, level=2, degree=1)
    grids = [np.linspace(0.0, 1.0, c.shape[1]) for c in cases]
    R = response_feature(cases, grids, 2, 1)
    allt = signature(cases, 2, all_times=True)
    for i, c in enumerate(cases):
        np.testing.assert_array_equal(S[i], signature(c, 3))
        np.testing.assert_allclose(L[i], logsignature(c, 2), rtol=0, atol=1e-15)
        np.testing.assert_array_equal(F[i], response_feature_matrix(c[None], level=2, degree=1)[0])
        np.testing.assert_array_equal(R.features[i], response_feature(c, grids[i], 2, 1).features)
        np.testing.assert_array_equal(allt[i], signature(c, 2, all_times=True))
    np.testing.assert_allclose(G, F @ F.T, rtol=1e-13)


def test_feature_input_errors_name_the_axes():
    with pytest.raises(ValueError, match="Complex data not supported"):
        signature(np.ones((2, 3, 4), dtype=complex), 2)
    with pytest.raises(
        ValueError, match=r"finite values, got inf at case 1, channel 0, timepoint 2"
    ):
        x = np.zeros((2, 1, 4))
        x[1, 0, 2] = np.inf
        signature(x, 2)
    with pytest.raises(ValueError, match=r"X\[1\]: expected finite"):
        signature([np.zeros((1, 3)), np.array([[0.0, np.nan]])], 2)
    with pytest.raises(ValueError, match=r"n_cases, n_channels, n_timepoints"):
        signature(np.zeros((1, 2, 3, 4)), 2)

"""The time-step part of check's budget where the Euler–Maruyama bias dominates it.

The case: an order-2 check of the 2-D tanh network (derivations/tanh_2d.toml, σ = 0.5) at
ε = 0.5 with u = sin(2t), at the first output times (t = 0.01 … 0.1, dt = 0.01).  There the
response is small (5e-5 … 5e-3), its standard error with common random
numbers tinier still (≤ 1e-8), and the Monte Carlo error is the O(dt) Euler bias, about 10 %
of the response (the left-point input sum: Σ_k s_k dt for ∫ s ds).  Comparing Y_{dt/2} with
its first-order bias estimate |Y_dt − Y_{dt/2}| leaves the O(dt²) remainder −c₂dt²/2 out of
the budget, and it decides the verdict: the discrepancy sat at 99 % of that budget.

check now compares the Richardson value R_{dt/2} = 2Y_{dt/4} − Y_{dt/2} and budgets
|R_dt − R_{dt/2}|, three times its leading bias (derivation in check's docstring).  So where
the time step dominates the budget the discrepancy must sit near a third of it, and the
budget is small enough to reject a series that is 1 % wrong (the old one, ≈ 10 % of the
response, could not).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import symresp
from symresp.series.comparison import check

pytestmark = pytest.mark.usefixtures("warm_engine")


@pytest.fixture(scope="module")
def early():
    net = symresp.load_spec("derivations/tanh_2d.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check(
            net, "sin(2*t)", order=2, eps=0.5, T=0.1, dt=0.01, out_every=1, paths=2000, seed=0
        )


def test_tanh2d_order2_first_times_pass_with_margin(early):
    """Verdict pass, and where the time-step part exceeds 10× the statistical one (the bias
    dominates: every time here) the discrepancy is at most 0.45 of the budget — the leading
    bias is a third of the part; 0.45 leaves room for the O(dt³) terms and the noise."""
    r = early
    assert r.verdict == "pass", r.reason
    assert r.meta["dt"] == [0.01, 0.005, 0.0025]
    bias_dominated = r.parts["time_step"][1:] > 10 * r.parts["statistical"][1:]
    assert bias_dominated.all(), (r.parts["time_step"], r.parts["statistical"])
    ratio = r.discrepancy[1:] / r.budget[1:]
    assert np.all(ratio <= 0.45), ratio.ravel()


def test_tanh2d_order2_budget_rejects_a_one_percent_error(early):
    """The budget at the first times is far below 1 % of the response: the series scaled by
    1.01 lies outside it at every time t > 0 (the first-order budget, ≈ 10 % of the
    response there, would have passed it)."""
    r = early
    wrong = 1.01 * r.series
    assert np.all(np.abs(r.mc[1:] - wrong[1:]) > r.budget[1:]), (r.budget, r.series)

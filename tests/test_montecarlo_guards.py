"""Monte Carlo refuses what it cannot do honestly, before doing any work.

* requests above a documented size (time steps, stationary samples) are refused with the
  estimate and the option that raises the limit — nothing allocates gigabytes and dies;
* non-finite or mistyped scalars (eps, seed, alpha, bound) are refused by name;
* a stationary start of a network with no stationary law is an error: the linear network
  with A = Γ − MW not positive stable is refused before sampling, and paths that diverge
  during a burn-in raise DivergenceError instead of being averaged over the survivors.
"""

from __future__ import annotations

import time

import pytest

from symresp import SRNN
from symresp.cli import main
from symresp.errors import ArgumentError, ArgumentTypeError, DivergenceError, SymrespError
from symresp.montecarlo import kernel_mc, simulate, stationary_samples

pytestmark = pytest.mark.usefixtures("warm_engine")


@pytest.fixture(scope="module")
def lin():
    return SRNN.create(n=1, activation="identity", W=[["0.5"]], C=[["1"]], sigma="0.3", V=[["1"]])


def test_too_many_steps_is_refused_before_allocating(lin):
    t0 = time.perf_counter()
    with pytest.raises(ArgumentError, match=r"1e\+09 steps.*max_steps="):
        simulate(lin, "sin(t)", T=1.0, dt=1e-9, paths=10, quiet=True)
    assert time.perf_counter() - t0 < 2.0  # refused up front, not after allocating
    with pytest.raises(ArgumentError, match="max_steps="):
        kernel_mc(lin, 1, [0], [[1e308]], paths=10, quiet=True)


def test_too_many_samples_is_refused(lin):
    with pytest.raises(ArgumentError, match=r"max_samples="):
        stationary_samples(lin, 10**9)
    assert stationary_samples(lin, 10, max_samples=10).shape == (10, 1)


@pytest.mark.parametrize(
    "kw, kind, match",
    [
        (dict(eps=float("nan")), ArgumentError, "eps: expected a finite number"),
        (dict(eps=float("inf")), ArgumentError, "eps: expected a finite number"),
        (dict(seed=1.7), ArgumentTypeError, "seed: expected an integer"),
        (dict(seed=-1), ArgumentError, "seed: expected an integer ≥ 0"),
        (dict(dt=float("nan")), ArgumentError, "dt: expected a finite number"),
        (dict(T=float("inf")), ArgumentError, "T: expected a finite number"),
        (dict(bound=0.0), ArgumentError, "bound: expected a number > 0"),
        (dict(paths=2.0), ArgumentTypeError, "paths: expected an integer"),
    ],
)
def test_bad_scalars_are_refused_by_name(lin, kw, kind, match):
    args = dict(T=0.1, dt=0.01, paths=8, quiet=True)
    args.update(kw)
    with pytest.raises(kind, match=match):
        simulate(lin, "sin(t)", **args)


def test_unstable_linear_network_has_no_stationary_start():
    net = SRNN.create(
        n=1,
        activation="identity",
        Gamma=1,
        W=[["2"]],
        C=[["1"]],
        sigma="0.3",
        V=[["1"]],
        assume_stationary=True,
    )
    with pytest.raises(ArgumentError, match="no stationary law"):
        simulate(net, "sin(t)", T=0.1, dt=0.01, paths=8, quiet=True)


def test_divergent_burn_in_is_an_error_not_a_survivor_average():
    # a(z) = 5z makes φ(h) = 4h: every path leaves; the burn-in must not report survivors
    net = SRNN.create(
        n=1, activation="5*z", W=[["1"]], C=[["1"]], sigma="0.3", V=[["1"]], assume_stationary=True
    )
    with pytest.raises(DivergenceError, match="during the burn-in.*no stationary law"):
        simulate(net, "sin(t)", T=0.1, dt=0.01, paths=8, quiet=True, burn_in=20.0)
    with pytest.raises(DivergenceError, match="no stationary law"):
        stationary_samples(net, 8, burn_in=20.0)
    assert issubclass(DivergenceError, SymrespError)


def test_cli_refuses_with_exit_2(tmp_path, capsys):
    spec = tmp_path / "lin.toml"
    spec.write_text(
        '[network]\nn = 1\nactivation = "identity"\nW = [[0.5]]\nC = [[1.0]]\n'
        'sigma = 0.3\n[readout]\nV = [[1.0]]\n'
    )
    for argv in (["--dt", "1e-9"], ["--eps", "nan"]):
        rc = main(
            [
                "simulate",
                str(spec),
                "--input",
                "sin(t)",
                "--T",
                "1",
                "--paths",
                "8",
                "--eps",
                "0.5",
                *argv,
            ]
        )
        err = capsys.readouterr().err
        assert rc == 2 and "Traceback" not in err, err

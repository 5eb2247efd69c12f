"""Monte Carlo on Dask gives the numbers of a local run, bit for bit.

Blocks are tasks, each drawing from the stream of (seed, block), and their statistics are
merged in block order on the client; so the result cannot depend on the number of workers,
on which worker ran a block, or on a block being run twice after a worker was lost.
A two-process LocalCluster on loopback stands in for a cluster.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from symresp import load_spec  # noqa: E402
from symresp.errors import ArgumentError  # noqa: E402
from symresp.montecarlo import kernel_mc, scheduler, simulate, stationary_samples  # noqa: E402

pytestmark = pytest.mark.usefixtures("warm_engine")


@pytest.fixture(scope="module")
def client():
    with scheduler.local_cluster(2) as c:
        yield c


@pytest.fixture(scope="module")
def net():
    return load_spec("derivations/tanh_2d.toml")


KW = dict(eps=0.5, T=0.3, dt=0.01, paths=2048, seed=7, quiet=True, block=256)


def _same(a, b):
    return np.array_equal(a, b, equal_nan=True)


def test_simulate_kernel_and_samples_are_bit_identical(client, net):
    local = simulate(net, "sin(t)", response=True, **KW)
    remote = simulate(net, "sin(t)", response=True, scheduler=client, **KW)
    assert _same(local.mean, remote.mean) and _same(local.stderr, remote.stderr)
    assert _same(local.count, remote.count)
    lags = [[0.1], [0.2]]
    k1 = kernel_mc(net, 1, [0], lags, paths=1024, seed=3, quiet=True, block=256)
    k2 = kernel_mc(net, 1, [0], lags, paths=1024, seed=3, quiet=True, block=256, scheduler=client)
    assert _same(k1.values, k2.values) and _same(k1.stderr, k2.stderr)
    s1 = stationary_samples(net, 500, seed=2, block=128)
    s2 = stationary_samples(net, 500, seed=2, block=128, scheduler=client)
    assert _same(s1, s2)


def test_dask_local_schedulers(net):
    local = simulate(net, "sin(t)", **KW)
    assert _same(local.mean, simulate(net, "sin(t)", scheduler="threads", **KW).mean)


def test_a_worker_lost_mid_run_changes_nothing(client, net):
    kw = dict(KW, T=1.0, paths=64 * 128, block=128)  # 64 blocks: long enough to lose a worker
    want = simulate(net, "sin(t)", **kw)
    by_address = client.run(os.getpid)
    pids = list(by_address.values())
    box = {}
    run = threading.Thread(
        target=lambda: box.update(r=simulate(net, "sin(t)", scheduler=client, **kw))
    )
    run.start()
    time.sleep(1.0)
    # Kill the worker that holds the shared plan, the hardest case: the plan itself must be
    # recomputed, not only the blocks that were running there.
    holders = [
        w for k, ws in client.who_has().items() if str(k).startswith("_identity") for w in ws
    ]
    victim = by_address[holders[0]] if holders else pids[0]
    os.kill(victim, signal.SIGKILL)  # the nanny restarts it; its blocks are rerun
    run.join(timeout=300)
    assert not run.is_alive() and "r" in box
    assert _same(want.mean, box["r"].mean) and _same(want.stderr, box["r"].stderr)
    deadline = time.time() + 60  # the nanny restarts the worker; wait until it is back
    while time.time() < deadline:
        now = client.run(os.getpid, on_error="ignore")
        if len(now) == 2 and victim not in now.values():
            break
        time.sleep(0.5)
    assert victim not in now.values() and len(now) == 2  # the kill really happened


def test_unreachable_scheduler_is_a_clear_error(net, monkeypatch):
    monkeypatch.setattr(scheduler, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(ArgumentError, match="cannot reach a Dask scheduler"):
        simulate(net, "sin(t)", scheduler="tcp://127.0.0.1:9", **KW)
    with pytest.raises(ArgumentError, match="scheduler: expected"):
        simulate(net, "sin(t)", scheduler=3.5, **KW)
    with pytest.raises(ArgumentError, match="is not a Dask scheduler address"):
        simulate(net, "sin(t)", scheduler="nonsense", **KW)  # no port: refused, no traceback


def test_cli_dask_local_cluster_matches_the_local_run(capsys):
    import json

    from symresp.cli import main

    argv = [
        "simulate",
        "derivations/tanh_2d.toml",
        "--input",
        "sin(t)",
        "--eps",
        "0.5",
        "--T",
        "0.2",
        "--paths",
        "512",
        "--seed",
        "4",
        "--json",
        "--quiet",
    ]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(argv + ["--dask", "local:2"]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert local["mean"] == remote["mean"] and local["stderr"] == remote["stderr"]
    assert main(argv + ["--dask", "local:0"]) == 2


def test_check_on_dask_gives_the_local_verdict_and_numbers(client):
    from symresp import check

    lin = load_spec("derivations/linear_2d_quadratic.toml")
    kw = dict(order=2, eps=0.2, T=0.3, method="exact", paths=512, seed=5)
    a = check(lin, "sin(t)", **kw)
    b = check(lin, "sin(t)", scheduler=client, **kw)
    assert a.verdict == b.verdict and _same(a.mc, b.mc)


def test_cli_kernel_mc_on_dask_matches_the_local_run(client, capsys):
    """``symresp kernel --method mc --dask ADDRESS`` gives the local run's values and
    standard errors bit for bit (the same blocks, merged in the same order); --dask with a
    route that runs no Monte Carlo is a usage error (exit 2), not silently ignored."""
    import json

    from symresp.cli import main

    argv = [
        "kernel",
        "derivations/tanh_2d.toml",
        "--order",
        "1",
        "--index",
        "1",
        "--lags",
        "0.1;0.3",
        "--method",
        "mc",
        "--paths",
        "512",
        "--seed",
        "2",
        "--json",
        "--quiet",
    ]
    assert main(argv) == 0
    local = json.loads(capsys.readouterr().out)
    assert main(argv + ["--dask", client.scheduler.address]) == 0
    remote = json.loads(capsys.readouterr().out)
    assert local["values"] == remote["values"] and local["stderr"] == remote["stderr"]
    assert np.all(np.isfinite(local["stderr"]))
    taylor = [a if a != "mc" else "taylor" for a in argv]
    assert main(taylor + ["--dask", client.scheduler.address]) == 2
    assert "--method mc only" in capsys.readouterr().err

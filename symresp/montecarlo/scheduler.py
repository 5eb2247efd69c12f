"""Where the blocks of a Monte Carlo run execute: local threads, or Dask.

A run is a fixed list of blocks (block ``j`` draws from the stream of ``(seed, j)``) whose
statistics are merged in block order, so the numbers depend on the seed only — not on the
number of threads, processes or machines, nor on which worker ran a block or whether it ran
twice because a worker was lost.  This module turns a ``scheduler`` argument into an
iterator over block results **in block order**:

* ``None``: a local thread pool (numba's kernels release the GIL);
* ``"threads"``, ``"processes"``, ``"synchronous"``: Dask's local schedulers;
* a ``distributed.Client``, or a scheduler address (``"tcp://host:8786"``): the blocks become
  Dask tasks on that cluster, the plan is one task whose result the block tasks share, and blocks are
  submitted in waves so that the client holds O(workers) block results at a time (each
  O(grid), never paths).  A worker lost mid-run makes Dask rerun its blocks.

Dask is an optional dependency (``pip install "symresp[dask]"``), imported only here and only
when a Dask scheduler is asked for.
"""

from __future__ import annotations

import contextlib
import socket
from concurrent.futures import ThreadPoolExecutor

from symresp.errors import ArgumentError

__all__ = ["block_results", "local_cluster"]

LOCAL = ("threads", "processes", "synchronous")
#: How long to wait for a scheduler given by its address before giving up with a clear error.
CONNECT_TIMEOUT = "10s"


def _dask():
    try:
        import dask  # optional dependency: only for scheduler=...
        import distributed
    except ImportError:  # pragma: no cover - depends on the installation
        raise ArgumentError(
            "scheduler: Dask is not installed; pip install \"symresp[dask]\" (dask and "
            "distributed), or leave scheduler=None for local threads."
        ) from None
    return dask, distributed


@contextlib.contextmanager
def _client(scheduler):
    """A distributed.Client for ``scheduler`` (a Client, or an address we connect to and
    close again)."""
    _, distributed = _dask()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    _probe(scheduler)
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ArgumentError(_unreachable(scheduler, exc)) from None
    try:
        yield client
    finally:
        client.close()


def _unreachable(address, why) -> str:
    return (
        f"scheduler: cannot reach a Dask scheduler at {address!r} ({why}); start one "
        "(dask scheduler / dask-jobqueue) or pass a distributed.Client."
    )


def _probe(address: str) -> None:
    """Refuse a malformed address, and a TCP address nobody listens on, before a Client is
    made: a Client that failed to connect still tries to close itself when it is collected,
    which prints a second, confusing error 20 s later."""
    from dask.utils import parse_timedelta
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        protocol, location = parse_address(address)
        if protocol != "tcp":
            return  # tls, ucx, inproc: left to Dask's own connection
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise ArgumentError(
            f"scheduler: {address!r} is not a Dask scheduler address ({exc}); expected "
            "'tcp://HOST:PORT' (or, on the command line, local:N)."
        ) from None
    timeout = parse_timedelta(CONNECT_TIMEOUT)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise ArgumentError(_unreachable(address, exc.strerror or exc)) from None


def block_results(run_block, plan, sizes, *, threads: int, scheduler=None):
    """Yield ``(j, run_block(plan, j, sizes[j]))`` for every block j, in block order."""
    n = len(sizes)
    if scheduler is None:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            wave = max(1, 2 * threads)  # bounded number of finished-but-unmerged blocks
            for w0 in range(0, n, wave):
                js = range(w0, min(n, w0 + wave))
                if threads == 1:
                    results = (run_block(plan, j, sizes[j]) for j in js)
                else:
                    results = pool.map(lambda j: run_block(plan, j, sizes[j]), js)
                yield from zip(js, results)
        return
    if isinstance(scheduler, str) and scheduler in LOCAL:
        dask, _ = _dask()
        wave = max(1, 4 * threads)
        for w0 in range(0, n, wave):
            js = list(range(w0, min(n, w0 + wave)))
            tasks = [dask.delayed(run_block, pure=False)(plan, j, sizes[j]) for j in js]
            yield from zip(js, dask.compute(*tasks, scheduler=scheduler))
        return
    if not (isinstance(scheduler, str) or hasattr(scheduler, "submit")):
        raise ArgumentError(
            f"scheduler: expected None, one of {LOCAL}, a scheduler address or a "
            f"distributed.Client, got {scheduler!r}."
        )
    with _client(scheduler) as client:
        nworkers = max(1, len(client.scheduler_info().get("workers", {})))
        # A task, not scattered data: Dask cannot recover scattered data lost with a worker,
        # but it recomputes a lost task result from the task (which holds the plan).
        remote_plan = client.submit(_identity, plan, pure=False)
        wave = 4 * nworkers
        pending = {}
        nxt = 0
        for j in range(n):
            while nxt < n and nxt < j + wave:  # keep a bounded window of blocks in flight
                pending[nxt] = client.submit(
                    run_block,
                    remote_plan,
                    nxt,
                    sizes[nxt],
                    pure=False,
                )
                nxt += 1
            fut = pending.pop(j)
            yield j, fut.result()
            fut.release()


def _identity(x):
    return x


@contextlib.contextmanager
def local_cluster(n_workers: int):
    """A ``distributed.Client`` on a LocalCluster of ``n_workers`` single-threaded worker
    processes on loopback, shut down on exit (what the CLI's ``--dask local:N`` starts)."""
    _, distributed = _dask()
    cluster = distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()

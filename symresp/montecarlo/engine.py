"""The block engine: a plan of one Monte Carlo run, executed block by block on threads.

* Paths are split into **blocks** of a fixed size (``block``, default 512, independent of
  the thread count).  Block ``j`` draws from its own random stream
  (:func:`symresp.montecarlo.rng.stream_state`), blocks run on a thread pool (the numba
  kernels release the GIL) and their statistics are merged **in block order** (Chan's
  parallel mean/variance update), so a seed gives bit-identical numbers for any number
  of threads.
* State is stored ``(copies, n, paths)`` with paths innermost, so every inner loop runs
  over paths and vectorises.
* Statistics are streamed: at each output time a block reduces its paths to a mean and a
  sum of squared deviations; memory is O(block · (n + chunk) + grid), never paths × steps.
* **Copies** share the noise (common random numbers); the recorded value is a weighted sum
  ``Σ_c w_c f(h^{(c)}_t)``.  One copy gives the mean, two the response (driven − undriven),
  2ⁿ sign patterns the kicked-copies kernel estimator.
* **Levels**: one time step, or for Richardson extrapolation ``2 Y_{dt/2} − Y_dt`` a coarse
  and a fine level on the same Brownian path (each coarse increment is the sum of two fine
  ones); a path's recorded value is the weighted sum over levels.
* **Divergence**: after every step a path whose state is non-finite or has a component
  beyond ``bound`` is marked with the step at which it diverged, reset (no inf/NaN
  arithmetic follows) and excluded from every statistic at and after that time.

Two routes share the step kernels: :func:`symresp.montecarlo.steps.advance`, one compiled
loop over a chunk of steps (registry activation, constant coupling, linear readout) that
draws each step's normals itself, and a per-step Python loop calling compiled hooks for
everything else, fed the same normals drawn step by step (so both routes see the same noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import NamedTuple

import numba
import numpy as np
from tqdm.auto import tqdm

from symresp.errors import ArgumentError
from symresp.montecarlo.rng import fill_flat, fill_normals, stream_state
from symresp.montecarlo.scheduler import block_results
from symresp.montecarlo.simnet import SimNetwork
from symresp.montecarlo.start import StartLaw
from symresp.montecarlo.steps import (
    LevelArrays,
    Scratch,
    accumulate,
    advance,
    drive_state,
    drives,
    noise,
    preact,
    record_linear,
    refine_pairs,
    settle_divergence,
    tangent_step,
    update,
)

__all__ = ["Plan", "Kick", "BlockStats", "execute", "NEVER"]

NEVER = np.int64(2) ** 62  # "never diverged" marker of a path's divergence step
_CHUNK = 64  # steps advanced per compiled call (and records buffered per block)


class Kick(NamedTuple):
    """At coarse step ``step`` copy c is moved by ``alphas[c] γ_channel(h)``."""

    step: int
    channel: int
    alphas: np.ndarray


@dataclass
class Plan:
    """Everything one run needs; the same plan runs every block."""

    mod: SimNetwork
    nsteps: int  # coarse steps of the main phase
    dt: float  # coarse step
    u: np.ndarray  # (nsteps · finest factor + 1, m) input on the finest grid
    out_rows: np.ndarray  # (nsteps + 1,) int64, output row of each coarse step or −1
    n_out: int
    eps: np.ndarray  # (ncop,) input amplitude of each copy
    wts: np.ndarray  # (ncop,) weight of each copy in the recorded value
    kicks: list  # [Kick], sorted by step
    tangent: tuple | None  # (coarse step, channel) where the tangent starts
    start: StartLaw
    bound: float
    levels: tuple  # ((factor, weight), ...): ((1, 1.),) or ((1, −1.), (2, 2.))
    seed: int
    block: int
    keep_state: bool = False


@dataclass
class BlockStats:
    """Streamed statistics of all paths (of one block, or merged): ``count[i]`` paths alive
    at output row i, their ``mean`` and sum of squared deviations ``m2`` (n_out, p), the
    sorted divergence steps, and the final states (keep_state only)."""

    count: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    div_steps: np.ndarray
    finals: list


@dataclass
class _Level:
    """One time-step level of a block: factor f (dt/f), weight w, and its arrays."""

    f: int
    w: float
    dt: float
    arrays: LevelArrays

    @property
    def H(self):
        return self.arrays.H


def _run_block(plan: Plan, bidx: int, B: int):
    mod = plan.mod
    n, r, p = mod.n, mod.sig.shape[1], mod.p
    ncop = plan.eps.size
    state = stream_state(plan.seed, bidx)
    nlev = len(plan.levels)
    fmax = max(f for f, _ in plan.levels)
    levs = []
    for f, w in plan.levels:
        out = np.full(plan.nsteps * f + 1, -1, np.int64)
        out[::f] = plan.out_rows
        levs.append(
            _Level(
                f,
                w,
                plan.dt / f,
                LevelArrays(
                    H=np.empty((ncop, n, B)),
                    T=np.zeros((n if plan.tangent is not None else 0, B)),
                    div=np.full(B, NEVER, np.int64),
                    Y=np.empty((_CHUNK + 1, p, B)),
                    rr=np.empty(_CHUNK + 1, np.int64),
                    rs=np.empty(_CHUNK + 1, np.int64),
                    u=np.ascontiguousarray(plan.u[:: fmax // f]),
                    out=out,
                ),
            )
        )
    scr = Scratch(
        Z=np.empty((n, B)),
        A=np.empty((n, B)),
        dA=np.empty((n, B)),
        D=np.empty((n, B)),
        E=np.empty((n, B)),
        N=np.empty((n, B)),
        flag=np.zeros(B, np.int64),
        du=np.empty((ncop, n)),
        zero=np.zeros(n),
        X=np.empty((r, B)),
        words=np.empty(512, np.uint64),
    )
    # the fast route draws each step's normals inside its compiled loop; every other route
    # draws the same numbers here, step by step, for a chunk at a time
    inline = mod.fast and nlev == 1
    xif = np.empty((0 if inline else _CHUNK * fmax, r, B))
    xic = np.empty((_CHUNK, r, B)) if nlev > 1 else None

    def normals(kc):
        """Normals for kc coarse steps for every level (refined consistently)."""
        if inline:
            return {1: xif}
        x = xif[: kc * fmax]
        for s in range(kc * fmax):
            fill_flat(state, x[s].reshape(-1), scr.words)
        if nlev == 1:
            return {fmax: x}
        refine_pairs(x, xic[:kc])
        return {fmax: x, 1: xic[:kc]}

    # ---- start
    st = plan.start
    h_init = np.empty((n, B))
    if st.kind == "point":
        h_init[:] = st.h0[:, None]
    elif st.kind == "exact":
        xs = np.empty((n, B))
        fill_normals(state, xs)
        h_init[:] = st.mean[:, None] + st.L @ xs
    else:
        h_init[:] = st.h0[:, None]
    for L in levs:
        L.H[:] = h_init[None]
    if st.kind == "burn":
        nburn = st.nburn
        burn_lev = [
            replace(L, arrays=L.arrays._replace(H=L.H[:1], T=np.zeros((0, B)))) for L in levs
        ]
        k = 0
        eps0 = np.zeros(1)
        while k < nburn:
            kc = min(_CHUNK, nburn - k)
            xs = normals(kc)
            for L in burn_lev:
                _step_level(
                    mod, plan, L, xs[L.f], state, (k - nburn) * L.f, kc * L.f, eps0, False, scr
                )
            k += kc
        for L in levs:
            L.H[1:] = L.H[:1]

    # ---- main phase
    cnt = np.zeros(plan.n_out, np.int64)
    mean = np.zeros((plan.n_out, p))
    m2 = np.zeros((plan.n_out, p))
    events = sorted(
        {kk.step for kk in plan.kicks} | ({plan.tangent[0]} if plan.tangent is not None else set())
    )
    k = 0
    while True:
        for kick in plan.kicks:
            if kick.step == k:
                for L in levs:
                    for c in range(ncop):
                        if kick.alphas[c] != 0.0:
                            Hc = L.H[c]
                            Hc += kick.alphas[c] * mod.gamma(Hc, kick.channel, scr.Z, scr.D)
        if plan.tangent is not None and plan.tangent[0] == k:
            for L in levs:
                L.arrays.T[:] = mod.gamma(L.H[0], plan.tangent[1], scr.Z, scr.D)
        nxt = [e for e in events if e > k]
        kend = min([plan.nsteps, k + _CHUNK] + nxt[:1])
        kc = kend - k
        if kc > 0:
            xs = normals(kc)
        nrecs = []
        for L in levs:
            f = L.f
            nrec = _step_level(
                mod, plan, L, xs[f] if kc > 0 else None, state, k * f, kc * f, plan.eps, True, scr
            )
            if kend == plan.nsteps and L.arrays.out[kend * f] >= 0:  # the final time
                _record_py(mod, plan, L, kend * f, nrec)
                nrec += 1
            nrecs.append(nrec)
        nrec = nrecs[0]
        if nrec:
            a0 = levs[0].arrays
            if nlev == 1:
                Y, div = a0.Y, a0.div
            else:  # Richardson: 2 Y_fine − Y_coarse per path; a path is alive on both levels
                # only the first nrec rows are filled; the rest of the buffers is uninitialised
                a1 = levs[1].arrays
                Y = a0.Y[:nrec] * levs[0].w + a1.Y[:nrec] * levs[1].w
                div = _merge_div(a0.div, a1.div)
            accumulate(Y, nrec, a0.rr, a0.rs, div, cnt, mean, m2)
        k = kend
        if k >= plan.nsteps:
            break
    div = levs[0].arrays.div if nlev == 1 else _merge_div(levs[0].arrays.div, levs[1].arrays.div)
    dsteps = div[div < NEVER]
    final = levs[0].H[0].T.copy() if plan.keep_state else None
    return cnt, mean, m2, dsteps, final


def _merge_div(dc, dfine):
    """Divergence step of a path on either level, in coarse steps (fine step d ↦ ⌈d/2⌉)."""
    df = np.where(dfine < NEVER, -(-dfine // 2), NEVER)
    return np.minimum(dc, df)


def _record_py(mod, plan, L, kstep, nrec):
    a = L.arrays
    H, T, Y = a.H, a.T, a.Y[nrec]
    if mod.linear_readout:
        record_linear(H, T, plan.tangent is not None, mod.V, mod.cv, plan.wts, Y, 0, H.shape[2])
    elif plan.tangent is not None:
        B = H.shape[2]
        G = np.empty((B, mod.p * mod.n))
        mod.hook("readout_grad")(np.ascontiguousarray(H[0].T), G)
        Y[:] = np.einsum("bqj,jb->qb", G.reshape(B, mod.p, mod.n), T)
    else:
        B = H.shape[2]
        Y[:] = 0.0
        G = np.empty((B, mod.p))
        for c in range(H.shape[0]):
            if plan.wts[c] != 0.0:
                mod.hook("readout")(np.ascontiguousarray(H[c].T), G)
                Y += plan.wts[c] * G.T
    a.rr[nrec] = a.out[kstep]
    a.rs[nrec] = kstep // L.f


def _step_level(mod, plan, L, xi, state, k0, nsteps, eps, record, scr):
    """Advance one level ``nsteps`` (level) steps from level step ``k0``; returns records.
    Record steps are stored in coarse units so that levels line up.  ``xi`` holds the
    normals of each step, or no rows: then the fast route draws them from ``state``."""
    if nsteps == 0:
        return 0
    a = L.arrays
    H, T = a.H, a.T
    tangent = T.shape[0] > 0
    dt = L.dt
    f = L.f
    if mod.fast:
        nrec = advance(
            mod.arrays,
            a,
            scr,
            xi,
            state,
            k0,
            nsteps,
            dt,
            eps,
            tangent,
            record,
            plan.wts,
            plan.bound,
        )
        if f > 1:
            a.rs[:nrec] //= f
        return nrec
    # general route: the same building blocks driven from Python, step by step
    ncop, n, B = H.shape
    sq = math.sqrt(dt)
    Z, A, dA, D, E, N, du, zero = scr.Z, scr.A, scr.dA, scr.D, scr.E, scr.N, scr.du, scr.zero
    flag, bound = scr.flag, plan.bound
    Nc = np.empty_like(N)
    G = np.empty((B, n * mod.m)) if not mod.const_coupling else None
    nrec = 0
    for s in range(nsteps):
        k = k0 + s
        if record and a.out[k] >= 0:
            _record_py(mod, plan, L, k, nrec)
            nrec += 1
        noise(mod.sig, xi[s], sq, N, 0, B)
        drives(mod.C, a.u, k, eps, du)  # zero unless the coupling is constant
        for c in range(ncop):
            e = eps[c]
            Hc = H[c]
            preact(Hc, mod.W, mod.bv, du[c] if mod.site_act else zero, Z, 0, B)
            mod.act(Z, A)
            if tangent and c == 0:
                mod.dact(Z, dA)
                tangent_step(
                    T, dA, mod.W, mod.Gam, mod.gdiag, mod.Mm, mod.mid, dt, D, E, flag, bound, 0, B
                )
            Ninc = N
            if e != 0.0 and not mod.const_coupling:
                mod.hook("coupling")(np.ascontiguousarray(Hc.T), G)
                drive_state(G, np.ascontiguousarray(a.u[k]), e, dt, N, Nc)
                Ninc = Nc
            update(
                Hc,
                A,
                mod.Gam,
                mod.gdiag,
                mod.Mm,
                mod.mid,
                zero if mod.site_act else du[c],
                dt,
                Ninc,
                D,
                flag,
                bound,
                0,
                B,
            )
        settle_divergence(H, T, a.div, k + 1, flag, 0, B)
    return nrec


def _threads(threads):
    if threads is None:
        return max(1, numba.get_num_threads())
    if int(threads) < 1:
        raise ArgumentError(f"threads: expected a positive integer, got {threads!r}.")
    return int(threads)


def execute(plan: Plan, paths: int, threads, quiet: bool, desc: str, scheduler=None) -> BlockStats:
    """Run all blocks (local threads, or Dask: :mod:`symresp.montecarlo.scheduler`) and merge
    their statistics in block order (Chan et al.): the result depends on the seed only."""
    nblocks = -(-paths // plan.block)
    sizes = [min(plan.block, paths - j * plan.block) for j in range(nblocks)]
    p = plan.mod.p
    cnt = np.zeros(plan.n_out, np.int64)
    mean = np.zeros((plan.n_out, p))
    m2 = np.zeros((plan.n_out, p))
    dsteps, finals = [], []
    bar = tqdm(total=paths, desc=desc, unit="path", disable=quiet, delay=2.0, leave=False)
    nthreads = min(_threads(threads), nblocks)
    try:
        for j, (cb, mb, m2b, db, fb) in block_results(
            _run_block, plan, sizes, threads=nthreads, scheduler=scheduler
        ):
            nn = cnt + cb
            with np.errstate(invalid="ignore", divide="ignore"):
                delta = mb - mean
                frac = np.where(nn > 0, cb / np.maximum(nn, 1), 0.0)[:, None]
                mean = mean + delta * frac
                m2 = m2 + m2b + delta**2 * (cnt * frac[:, 0])[:, None]
            cnt = nn
            dsteps.append(db)
            if fb is not None:
                finals.append(fb)
            bar.update(sizes[j])
    finally:
        bar.close()
    ds = np.sort(np.concatenate(dsteps)) if dsteps else np.zeros(0, np.int64)
    return BlockStats(cnt, mean, m2, ds, finals)

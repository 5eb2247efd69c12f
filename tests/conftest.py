"""Shared fixtures: numba warm-up, so a compile is paid once per session and not inside the
first test that happens to need it (``pytest --durations`` then shows the compile as a
fixture's setup, and per-test times stay comparable).

numba keeps compiled machine code in ``__pycache__`` next to the package sources, so on a
warm machine these fixtures only load it.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def warm_engine():
    """The Monte Carlo engine (Euler–Maruyama step kernels and the block engine) on a tiny
    network: one tanh unit, a few paths, two steps."""
    from symresp import SRNN
    from symresp.montecarlo.estimators import simulate

    net = SRNN.create(
        n=1,
        activation="tanh",
        W=[["0.5"]],
        C=[["1"]],
        sigma="0.3",
        V=[["1"]],
        start="point",
        h0=["0"],
    )
    simulate(net, "sin(t)", eps=0.1, T=0.02, dt=0.01, paths=8, seed=0, quiet=True)
    return True


@pytest.fixture(scope="session")
def warm_signature():
    """The signature kernels (batched and single-path) at a small size."""
    from symresp.features.signatures import signature

    x = np.linspace(0.0, 1.0, 6)
    one = np.stack([x, x**2])  # (n_channels, n_timepoints)
    signature(one, 2)
    signature(np.stack([one] * 9), 3)
    return True

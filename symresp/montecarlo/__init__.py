"""Monte Carlo: reproducible Euler–Maruyama paths (numba), the response with common random
numbers, kicked-copies and tangent kernel estimators, stationary samples.

Modules: :mod:`~symresp.montecarlo.rng` (random streams), :mod:`~symresp.montecarlo.steps`
(numba step kernels), :mod:`~symresp.montecarlo.simnet` (the simulator's view of a network),
:mod:`~symresp.montecarlo.start` (start laws), :mod:`~symresp.montecarlo.engine` (the block
engine), :mod:`~symresp.montecarlo.estimators` (the public estimators).
"""

from symresp.errors import DivergenceError, DivergenceWarning
from symresp.montecarlo.estimators import (
    KernelMC,
    MCResult,
    kernel_mc,
    response,
    simulate,
    stationary_samples,
)
from symresp.montecarlo.rng import standard_normals
from symresp.montecarlo.start import burn_in_time, linear_stationary
from symresp.montecarlo.steps import tanh_array

__all__ = [
    "simulate",
    "response",
    "kernel_mc",
    "stationary_samples",
    "MCResult",
    "KernelMC",
    "DivergenceError",
    "DivergenceWarning",
    "burn_in_time",
    "linear_stationary",
    "standard_normals",
    "tanh_array",
]

"""Volterra kernels K⁽ⁿ⁾ of the network by several routes (exact, deterministic, Taylor,
Galerkin, Kolmogorov PDE, Monte Carlo), all behind one interface (:class:`Kernel`) and one entry point (:func:`kernel`).
"""

from symresp.kernels.base import Kernel
from symresp.kernels.deterministic import (
    DeterministicKernel,
    deterministic_kernel,
    find_fixed_point,
)
from symresp.kernels.entry import kernel
from symresp.kernels.exact import ExactKernel, exact_kernel, has_exact
from symresp.kernels.galerkin import GalerkinKernel, galerkin_kernel
from symresp.kernels.montecarlo import MonteCarloKernel
from symresp.kernels.pde import PDEKernel, pde_kernel
from symresp.kernels.taylor import (
    TaylorKernel,
    fdt_kernel,
    stationary_mean,
    taylor_kernel,
)

__all__ = [
    "Kernel",
    "kernel",
    "TaylorKernel",
    "taylor_kernel",
    "stationary_mean",
    "fdt_kernel",
    "ExactKernel",
    "exact_kernel",
    "has_exact",
    "DeterministicKernel",
    "deterministic_kernel",
    "find_fixed_point",
    "MonteCarloKernel",
    "GalerkinKernel",
    "galerkin_kernel",
    "PDEKernel",
    "pde_kernel",
]

"""Volterra kernels K⁽ⁿ⁾ of the network by several routes (exact, deterministic, Taylor,
Monte Carlo), all behind one interface.
"""
from symresp.kernels.taylor import TaylorKernel, taylor_kernel, stationary_mean, fdt_kernel
from symresp.kernels.exact import ExactKernel, exact_kernel, has_exact
from symresp.kernels.deterministic import DeterministicKernel, deterministic_kernel, find_fixed_point

__all__ = ["TaylorKernel", "taylor_kernel", "stationary_mean", "fdt_kernel", "ExactKernel", "exact_kernel", "has_exact", "DeterministicKernel", "deterministic_kernel", "find_fixed_point"]

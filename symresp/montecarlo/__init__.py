"""Monte Carlo: reproducible Euler–Maruyama paths (numba), the response with common random
numbers, kicked-copies and tangent kernel estimators, stationary samples.
"""
from symresp.montecarlo.engine import simulate, response, kernel_mc, stationary_samples, MCResult, KernelMC

__all__ = ["simulate", "response", "kernel_mc", "stationary_samples", "MCResult", "KernelMC"]

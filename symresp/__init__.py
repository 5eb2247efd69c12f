"""symresp: symbolic-numeric response theory of stochastic recurrent neural networks.

The mathematics and notation follow THEORY.md (shipped alongside the project).
"""
from .model import SRNN, SpecError, load_spec, h_symbols
from .activations import KNOWN_ACTIVATIONS, get_activation
from .generators import Generators
from .kernels import Derivation, TaylorKernel, derive, stationary_mean, taylor_kernel
from .expectation import conjugate_observable, gaussian_stationary

__version__ = "0.1.0"

__all__ = ["SRNN", "SpecError", "load_spec", "h_symbols", "KNOWN_ACTIVATIONS", "get_activation",
           "Generators", "Derivation", "TaylorKernel", "derive", "taylor_kernel", "stationary_mean",
           "conjugate_observable", "gaussian_stationary", "__version__"]

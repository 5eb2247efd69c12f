"""symresp: symbolic-numeric response theory of stochastic recurrent neural networks.

The mathematics and notation follow THEORY.md (shipped alongside the project).
"""
from .model import SRNN, SpecError, load_spec, h_symbols
from .activations import KNOWN_ACTIVATIONS, get_activation

__version__ = "0.1.0"

__all__ = ["SRNN", "SpecError", "load_spec", "h_symbols", "KNOWN_ACTIVATIONS", "get_activation",
           "__version__"]

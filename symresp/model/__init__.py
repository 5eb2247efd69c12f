"""The network: validated plain data (exact numbers or symbols), specs, activations, inputs."""

from symresp.model.activations import KNOWN_ACTIVATIONS, get_activation, parse_expression
from symresp.model.inputs import parse_input, sample_input
from symresp.model.network import SRNN, h_symbols
from symresp.model.spec import load_spec, spec_from_dict

__all__ = [
    "SRNN",
    "h_symbols",
    "load_spec",
    "spec_from_dict",
    "KNOWN_ACTIVATIONS",
    "get_activation",
    "parse_expression",
    "parse_input",
    "sample_input",
]

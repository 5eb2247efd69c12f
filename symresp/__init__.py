"""symresp: symbolic-numeric response theory of stochastic recurrent neural networks.

The mathematics and notation follow THEORY.md.  Submodules are imported on first
use (numba and scipy are slow to import), so ``import symresp`` stays cheap.
"""
from importlib import import_module

from .model import SRNN, SpecError, load_spec, h_symbols
from .activations import KNOWN_ACTIVATIONS, get_activation
from .simulate import kernel_mc, response, stationary_samples
from .signature import sig_dim
from .check import CheckResult, eps_sweep
from . import check, signature, simulate


def _callable_module(module, function: str):
    """Let ``symresp.simulate(...)`` call the function while ``symresp.simulate`` stays the module.

    A function and its module share a name here (simulate, check, signature); whichever the
    package attribute held, one import style would break (``import symresp.simulate as m``
    resolves the package attribute).  A module whose class has ``__call__`` serves both.
    """
    target = getattr(module, function)

    class CallableModule(type(module)):
        def __call__(self, *args, **kwargs):
            return target(*args, **kwargs)

    CallableModule.__name__ = CallableModule.__qualname__ = f"{function}_module"
    CallableModule.__doc__ = target.__doc__
    module.__class__ = CallableModule


_callable_module(simulate, "simulate")
_callable_module(check, "check")
_callable_module(signature, "signature")

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "Generators": "generators",
    "Derivation": "kernels", "TaylorKernel": "kernels", "derive": "kernels",
    "taylor_kernel": "kernels", "stationary_mean": "kernels", "fdt_kernel": "kernels",
    "conjugate_observable": "expectation", "gaussian_stationary": "expectation",
    "exact_kernel": "exact", "has_exact": "exact", "deterministic_kernel": "exact",
    "find_fixed_point": "exact",
    "latex_document": "latex", "write_latex": "latex",
    "parse_input": "inputs", "sample_input": "inputs",
    "predict": "volterra", "volterra_quadrature": "volterra", "volterra_recursion": "volterra",
    "volterra_linear_exact": "volterra", "iterated_integral_form": "volterra",
    "response_functional": "response_map", "predict_via_features": "response_map",
    "ResponseFunctional": "response_map",
    "response_feature": "features", "ResponseFeature": "features", "feature_index": "features",
    "integral_feature_index": "features", "feature_words": "features",
    "response_letters": "features", "basis_matrix": "features", "support_path": "features",
    "features_json": "features",
    "ResponseFeatureRegressor": "kernel_machine", "ResponseFeatureClassifier": "kernel_machine",
    "gram_matrix": "kernel_machine", "response_feature_matrix": "kernel_machine",
    "component_weights": "kernel_machine",
    "points_function": "codegen", "scalar_function": "codegen", "vector_function": "codegen",
    "function_source": "codegen", "CodegenError": "codegen",
    "PolynomialSet": "polyset", "export_module": "export",
    "logsignature": "logsig", "logsig_dim": "logsig", "lyndon_words": "logsig",
}

__all__ = ["SRNN", "SpecError", "load_spec", "h_symbols", "KNOWN_ACTIVATIONS", "get_activation",
           "simulate", "response", "kernel_mc", "stationary_samples", "signature", "sig_dim", "check", "eps_sweep", "CheckResult", "__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symresp' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

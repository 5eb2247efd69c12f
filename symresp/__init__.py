"""symresp: symbolic-numeric response theory of stochastic recurrent neural networks.

The package is layered along the data flow; each subpackage imports only those
before it::

    model ─► symbolic ─► expectation ─► kernels ─► series
    (SRNN,    (ring,      (start laws)   (one Kernel   (Volterra terms,
     specs,    generators,              interface,    predict, check,
     inputs)   recursion)               routes)       response map)

    codegen (printer, cache, polynomial sets) · montecarlo (engine, estimators)
    features (signatures, response features, estimators) · report (LaTeX, export)
    cli (argument parsing and printing only)

The public names below are loaded on first use: ``import symresp`` imports
neither numba nor scipy, and the symbolic path (specs, derivation, exact and
Taylor kernels, LaTeX) never loads numba.
"""

from importlib import import_module

__version__ = "0.1.0"

# public name -> module that defines it (one place; `help(symresp.name)` shows the real object)
_PUBLIC = {
    # model
    "SRNN": "symresp.model.network",
    "h_symbols": "symresp.model.network",
    "load_spec": "symresp.model.spec",
    "spec_from_dict": "symresp.model.spec",
    "KNOWN_ACTIVATIONS": "symresp.model.activations",
    "get_activation": "symresp.model.activations",
    "parse_input": "symresp.model.inputs",
    "sample_input": "symresp.model.inputs",
    # errors
    "SymrespError": "symresp.errors",
    "SpecError": "symresp.errors",
    "ArgumentError": "symresp.errors",
    "InputError": "symresp.errors",
    "UnsupportedError": "symresp.errors",
    "DivergenceError": "symresp.errors",
    "CodegenError": "symresp.errors",
    "LatexError": "symresp.errors",
    "OutputError": "symresp.errors",
    # derivation
    "Generators": "symresp.symbolic.generators",
    "Derivation": "symresp.symbolic.recursion",
    "derive": "symresp.symbolic.recursion",
    # expectation
    "conjugate_observable": "symresp.expectation.conjugate",
    "gaussian_stationary": "symresp.expectation.gaussian",
    # kernels
    "kernel": "symresp.kernels.entry",
    "Kernel": "symresp.kernels.base",
    "ExactKernel": "symresp.kernels.exact",
    "DeterministicKernel": "symresp.kernels.deterministic",
    "MonteCarloKernel": "symresp.kernels.montecarlo",
    "TaylorKernel": "symresp.kernels.taylor",
    "taylor_kernel": "symresp.kernels.taylor",
    "stationary_mean": "symresp.kernels.taylor",
    "fdt_kernel": "symresp.kernels.taylor",
    "exact_kernel": "symresp.kernels.exact",
    "has_exact": "symresp.kernels.exact",
    "deterministic_kernel": "symresp.kernels.deterministic",
    "find_fixed_point": "symresp.kernels.deterministic",
    # Monte Carlo
    "simulate": "symresp.montecarlo.estimators",
    "response": "symresp.montecarlo.estimators",
    "kernel_mc": "symresp.montecarlo.estimators",
    "stationary_samples": "symresp.montecarlo.estimators",
    # series and checks
    "predict": "symresp.series.volterra",
    "Prediction": "symresp.series.volterra",
    "volterra_quadrature": "symresp.series.volterra",
    "volterra_recursion": "symresp.series.volterra",
    "volterra_linear_exact": "symresp.series.volterra",
    "iterated_integral_form": "symresp.series.volterra",
    "response_functional": "symresp.series.response_map",
    "predict_via_features": "symresp.series.response_map",
    "ResponseFunctional": "symresp.series.response_map",
    "check": "symresp.series.comparison",
    "eps_sweep": "symresp.series.comparison",
    "CheckResult": "symresp.series.comparison",
    # features and estimators
    "signature": "symresp.features.signatures",
    "sig_dim": "symresp.features.signatures",
    "logsignature": "symresp.features.logsignatures",
    "logsig_dim": "symresp.features.logsignatures",
    "lyndon_words": "symresp.features.logsignatures",
    "response_feature": "symresp.features.response_features",
    "ResponseFeature": "symresp.features.response_features",
    "feature_index": "symresp.features.response_features",
    "integral_feature_index": "symresp.features.response_features",
    "feature_words": "symresp.features.response_features",
    "response_letters": "symresp.features.response_features",
    "basis_matrix": "symresp.features.response_features",
    "support_path": "symresp.features.response_features",
    "running_response": "symresp.features.time_pooling",
    "ResponseFeatureRegressor": "symresp.features.estimators",
    "ResponseFeatureClassifier": "symresp.features.estimators",
    "gram_matrix": "symresp.features.estimators",
    "ResponseFeatures": "symresp.features.estimators",
    "ResponseFeatureClassifierCV": "symresp.features.model_selection",
    "ResponseFeatureRegressorCV": "symresp.features.model_selection",
    "NetworkFeatures": "symresp.features.network_kernel",
    "NetworkKernelClassifier": "symresp.features.network_kernel",
    "network_gram": "symresp.features.network_kernel",
    "response_feature_matrix": "symresp.features.estimators",
    "component_weights": "symresp.features.estimators",
    # code generation and report
    "points_function": "symresp.codegen.points",
    "function_source": "symresp.codegen.points",
    "PolynomialSet": "symresp.codegen.polyset",
    "export_module": "symresp.report.export",
    "latex_document": "symresp.report.latex",
    "write_latex": "symresp.report.latex",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symresp' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))

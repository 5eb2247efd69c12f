"""The truncated Volterra series on a time grid, its map onto the response feature, and the
check of the series against Monte Carlo inside a computed error budget.
"""

from symresp.series.comparison import CheckResult, check, eps_sweep
from symresp.series.response_map import (
    ResponseFunctional,
    predict_via_features,
    response_functional,
)
from symresp.series.volterra import (
    Prediction,
    output_grid,
    predict,
    volterra_linear_exact,
    volterra_quadrature,
    volterra_recursion,
)

__all__ = [
    "predict",
    "Prediction",
    "output_grid",
    "volterra_quadrature",
    "volterra_recursion",
    "volterra_linear_exact",
    "response_functional",
    "predict_via_features",
    "ResponseFunctional",
    "check",
    "eps_sweep",
    "CheckResult",
]

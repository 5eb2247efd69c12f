"""The truncated Volterra series on a time grid, its map onto the response feature, and the
check of the series against Monte Carlo inside a computed error budget.
"""
from symresp.series.volterra import (predict, Prediction, output_grid, volterra_quadrature, volterra_recursion,
                                     volterra_linear_exact)
from symresp.series.response_map import response_functional, predict_via_features, ResponseFunctional
from symresp.series.comparison import check, eps_sweep, CheckResult

__all__ = ["predict", "Prediction", "output_grid", "volterra_quadrature", "volterra_recursion", "volterra_linear_exact", "response_functional", "predict_via_features", "ResponseFunctional", "check", "eps_sweep", "CheckResult"]

"""Applying the start law μ₀ to observables: a point, the Gaussian law of a linear network,
Gibbs quadrature for gradient networks, or stationary samples.
"""

from symresp.expectation.conjugate import conjugate_observable
from symresp.expectation.evaluator import Evaluator, evaluation_precision
from symresp.expectation.gaussian import gaussian_stationary
from symresp.expectation.gibbs import GibbsQuadrature
from symresp.expectation.start_law import expect, expectation_method

__all__ = [
    "Evaluator",
    "evaluation_precision",
    "gaussian_stationary",
    "conjugate_observable",
    "GibbsQuadrature",
    "expect",
    "expectation_method",
]

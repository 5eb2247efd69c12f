"""Code generation: SymPy expressions to numba code (printer, lowering, cache) and monomial-trie
evaluation of polynomial sets.  numba is imported only when code is compiled.
"""
from symresp.codegen.modules import points_function, function_source
from symresp.codegen.polyset import PolynomialSet

__all__ = ["points_function", "function_source", "PolynomialSet"]

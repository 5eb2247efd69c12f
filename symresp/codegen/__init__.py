"""Code generation: SymPy expressions to numba code and monomial-trie evaluation.

``printer`` prints expression trees as numba-compatible Python, ``lowering`` validates
them and cuts them into statements of bounded size, ``writer`` assembles the module
text, ``cache`` stores and imports the modules, ``points`` is the entry point
(:func:`points_function`), and ``polyset`` evaluates large polynomial sets along a
monomial trie.  numba is imported only when code is compiled.
"""

from symresp.codegen.cache import cache_stats, clear_memo, default_cache_dir
from symresp.codegen.lowering import CHUNK, MAX_DEPTH
from symresp.codegen.points import TRIE_MIN_TERMS, function_source, points_function
from symresp.codegen.polyset import PolynomialSet
from symresp.errors import CodegenError

__all__ = [
    "points_function",
    "function_source",
    "PolynomialSet",
    "default_cache_dir",
    "cache_stats",
    "clear_memo",
    "CHUNK",
    "MAX_DEPTH",
    "TRIE_MIN_TERMS",
    "CodegenError",
]

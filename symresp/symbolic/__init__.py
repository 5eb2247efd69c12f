"""Exact symbolic derivation: the ring of observables, the generators 𝓛₀ and 𝓛₁ᵏ, and the
coefficient recursion G_{k,p} = 𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ 𝓛₁^{k_1} 𝓛₀^{p_1} f.
"""

from symresp.symbolic.generators import Generators
from symresp.symbolic.recursion import Derivation, derive

__all__ = ["Generators", "Derivation", "derive"]

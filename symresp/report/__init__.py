"""Documents and exports: the LaTeX derivation and the standalone numba module."""

from symresp.report.export import export_module
from symresp.report.latex import latex_document, latex_documents, write_latex

__all__ = ["latex_document", "latex_documents", "write_latex", "export_module"]

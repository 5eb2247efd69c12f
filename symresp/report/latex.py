"""A standalone LaTeX report of a derivation, fit for a paper's appendix.

:func:`latex_document` turns a :class:`~symresp.symbolic.recursion.Derivation` into a
self-contained LaTeX document (``article`` with ``amsmath``, ``amssymb`` and ``geometry``
only, all in ``texlive-latex-base``):

* the notation, the model with its numbers (and declared parameters), its stationary law;
* the auxiliary variables and their derivative rules, the generators, the conjugate
  observable where it is known, the kernel recursion and its short-time form;
* the kernels in closed form where a route has one (linear network: exponentials of the
  lags, exact in the parameters; noiseless network at a fixed point: modal form);
* the Volterra series with the kernels as Taylor polynomials in the lags, V₀ and each
  kernel's trusted lag range;
* every coefficient observable ``G_{k;p}`` with its value ``c_{k;p}``.

Values known exactly (Gaussian moments, evaluation at a rational h₀, constants) print as
fractions; values from stationary samples print with ± one standard error, and the
document says how many samples were used.  Polynomials longer than ``max_terms`` show
their leading terms and the count; :func:`latex_documents` also returns a supplementary
document with everything in full, which :func:`write_latex` writes next to the main one
(``NAME-supplement.tex``).  :func:`compile_latex` runs ``pdflatex``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from symresp.errors import LatexError
from symresp.files import output_path, write_atomic
from symresp.report import model_sections as ms
from symresp.report.closed_forms import closed_form_section, kernel_closed_forms
from symresp.report.coefficients import (
    INF,
    Budget,
    observables_section,
    provenance_text,
    volterra_section,
)
from symresp.report.labels import _Names
from symresp.report.printing import _text
from symresp.report.values import coefficient_values

__all__ = [
    "latex_document",
    "latex_documents",
    "write_latex",
    "compile_latex",
    "require_pdflatex",
    "LatexError",
]

MAX_TERMS = 12  # leading terms of a long polynomial in the main document
MAX_OBSERVABLES = 400  # G_{k;p} entries printed as polynomials (the rest: values only)


def latex_documents(
    der,
    *,
    kernels=None,
    samples=None,
    title=None,
    max_terms: int = MAX_TERMS,
    max_observables: int = MAX_OBSERVABLES,
    supplement: str | None = None,
) -> tuple[str, str | None]:
    """The main document and the supplementary one (None when nothing was shortened).

    Parameters
    ----------
    der : :class:`~symresp.symbolic.recursion.Derivation` from :func:`~symresp.symbolic.recursion.derive`.
    kernels : optional dict ``{(order, index): TaylorKernel}`` (0-based channel tuples)
        whose coefficients are printed where no exact value exists (their standard errors
        and sample counts are stated).
    samples : optional stationary states (N × n) for the coefficients (and V₀) that have no
        exact or quadrature route; the document states N.
    title : document title (default: the network's name).
    max_terms : polynomials (observables, closed forms) with more terms show their leading
        terms and the count in the main document.
    max_observables : observables printed as polynomials (the rest only by value).
    supplement : the file name the main document cites for the full expressions
        (:func:`write_latex` passes ``NAME-supplement.tex``); None cites none.
    """
    net = der.net
    names = _Names(net, der.algebra, rounded=der.coefficients == "float")
    if title is None:
        title = rf"Response theory of the SRNN \texttt{{{_text(net.name)}}}"
    values = coefficient_values(der, kernels, samples)
    forms, route = kernel_closed_forms(der)

    def body(budget: Budget, supplementary: bool) -> str:
        parts = [ms._preamble(title if not supplementary else title + r" \\ (supplement)")]
        if supplementary:
            parts.append(
                r"This supplement lists in full the expressions that the main document "
                r"shortens; the notation is that of the main document." + "\n"
            )
        parts.append(ms._notation_section(der, names))
        if not supplementary:
            parts.append(ms._model_section(net, names, der.algebra))
            parts.append(ms._aux_section(net, names, der.algebra, der.generators))
            parts.append(ms._generator_section(net, names, der.generators))
            parts.append(ms._conjugate_section(net, names, der.algebra))
            parts.append(ms._recursion_section(der))
        if forms:
            parts.append(closed_form_section(der, forms, route, budget))
        parts.append(volterra_section(der, values, budget, bool(forms)))
        text = provenance_text(der, values)
        obs = observables_section(der, names, values, budget)
        parts.append(obs.replace("\n", "\n" + text + "\n", 1) if text else obs)
        parts.append("\\end{document}\n")
        return "\n".join(parts)

    main_budget = Budget(max_terms, max_observables, supplement)
    main = body(main_budget, False)
    if not main_budget.cut:
        return main, None
    return main, body(Budget(INF, INF, None), True)


def latex_document(der, **kwargs) -> str:
    """The main LaTeX document of :func:`latex_documents` (same keyword arguments)."""
    return latex_documents(der, **kwargs)[0]


def require_pdflatex() -> str:
    """The path of ``pdflatex``; :class:`LatexError` naming what to install when it is missing."""
    exe = shutil.which("pdflatex")
    if exe is None:
        raise LatexError(
            "pdflatex was not found on PATH, so the PDF cannot be made; install a TeX "
            "distribution with pdflatex (Debian/Ubuntu: apt-get install texlive-latex-base; "
            "macOS: MacTeX; Windows: MiKTeX or TeX Live), or write only the .tex file "
            "(compile=False; on the command line leave out --pdf)."
        )
    return exe


def compile_latex(
    tex: str, pdf_path, *, runs: int = 1, timeout: float = 300, overwrite: bool = False
) -> Path:
    """Compile LaTeX source with pdflatex in a temporary directory; the PDF goes to ``pdf_path``
    (an existing file there is refused unless ``overwrite``).

    Raises :class:`LatexError` (with the last lines of the log) when pdflatex is missing or fails.
    """
    exe = require_pdflatex()
    pdf_path = output_path(pdf_path, "PDF", make_parents=True, overwrite=overwrite)
    with tempfile.TemporaryDirectory(prefix="symresp-latex-") as tmp:
        src = Path(tmp) / "document.tex"
        src.write_text(tex, encoding="utf-8")
        for _ in range(max(1, runs)):
            try:
                proc = subprocess.run(
                    [exe, "-interaction=nonstopmode", "-halt-on-error", "document.tex"],
                    cwd=tmp,
                    capture_output=True,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex did not finish within {timeout} s.") from None
            if proc.returncode != 0 or not (Path(tmp) / "document.pdf").exists():
                log = Path(tmp) / "document.log"
                text = (
                    log.read_text(errors="replace")
                    if log.exists()
                    else proc.stdout.decode(errors="replace")
                )
                tail = "\n".join(text.splitlines()[-30:])
                raise LatexError(
                    f"pdflatex failed (exit status {proc.returncode}); last lines "
                    f"of the log:\n{tail}"
                )
        write_atomic(
            pdf_path,
            (Path(tmp) / "document.pdf").read_bytes(),
            what="PDF",
            make_parents=True,
            overwrite=overwrite,
        )
    return pdf_path


def write_latex(der, path, compile: bool = False, *, overwrite: bool = False, **kwargs) -> Path:
    """Write :func:`latex_documents` to ``path`` (and ``NAME-supplement.tex`` next to it when
    the main document shortens something), atomically; with ``compile`` also run pdflatex.

    Returns the path of the ``.tex`` file, or of the PDF (next to it, same stem) when
    ``compile`` is true (the supplement is compiled too).  Extra keyword arguments go to
    :func:`latex_documents`.  Without pdflatex, ``compile=True`` raises
    :class:`LatexError` before anything is written.  Files that already exist under these
    names (the document, its supplement, their PDFs) are refused before any work unless
    ``overwrite``.
    """
    path = latex_output_path(path, compile=compile, overwrite=overwrite)  # before the work
    if compile:
        require_pdflatex()  # before the work: the message names what to install
    sup_path = _supplement_path(path)
    main, sup = latex_documents(der, supplement=sup_path.name, **kwargs)
    write_atomic(path, main, what="LaTeX document", overwrite=overwrite)
    if sup is not None:
        write_atomic(sup_path, sup, what="LaTeX supplement", overwrite=overwrite)
    if not compile:
        return path
    pdf = compile_latex(main, path.with_suffix(".pdf"), overwrite=overwrite)
    if sup is not None:
        compile_latex(sup, sup_path.with_suffix(".pdf"), overwrite=overwrite)
    return pdf


def latex_output_path(path, *, compile: bool = False, overwrite: bool = False) -> Path:
    """The checks :func:`write_latex` makes on its targets, for callers that want them before
    other work: ``path`` usable and, unless ``overwrite``, no file yet under the names it
    would write (the document, ``NAME-supplement.tex``, and with ``compile`` their PDFs)."""
    path = output_path(path, "LaTeX document", make_parents=True, overwrite=overwrite)
    sup = _supplement_path(path)
    names = [(sup, "LaTeX supplement")]
    if compile:
        names += [(path.with_suffix(".pdf"), "PDF"), (sup.with_suffix(".pdf"), "PDF")]
    for p, what in names:
        output_path(p, what, overwrite=overwrite)
    return path


def _supplement_path(path: Path) -> Path:
    return path.with_name(path.stem + "-supplement.tex")

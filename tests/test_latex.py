"""LaTeX report of a derivation: content, line splitting, pdflatex."""

import re
import shutil
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from symresp import SRNN, TaylorKernel, derive, load_spec
from symresp.report.latex import (
    MAX_TERMS,
    LatexError,
    compile_latex,
    latex_document,
    latex_documents,
    write_latex,
)

SPECS = Path(__file__).parent.parent / "derivations"
HAVE_PDFLATEX = shutil.which("pdflatex") is not None
needs_pdflatex = pytest.mark.skipif(
    not HAVE_PDFLATEX, reason="pdflatex is not installed (CI installs texlive-latex-base)"
)

# (spec, order, taylor degree): small enough for a quick test, big enough for long expressions
CASES = {
    "linear_2d_quadratic": (2, 3),
    "tanh_1d": (2, 3),
    "sigmoid_3d": (2, 2),
    "hopfield_2d": (2, 3),
}


@cache
def _der(name):
    order, P = CASES.get(name, (2, 2))
    return derive(load_spec(SPECS / f"{name}.toml"), order, P)


@cache
def _doc(name):
    return latex_document(_der(name))


def _align_rows(tex):
    """The rows of every align* environment."""
    rows = []
    for body in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, flags=re.S):
        rows.extend(r for r in re.split(r"\\\\(?:\[[^\]]*\])?", body) if r.strip())
    return rows


def _n_terms(row):
    """Summands in one row: top-level ' + ' / ' - ' separators (outside braces and parens) + 1."""
    depth, count, i = 0, 1, 0
    while i < len(row):
        c = row[i]
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
        elif (
            depth == 0
            and row.startswith((" + ", " - "), i)
            and i > 0
            and row[:i].strip() not in ("&", r"&\quad", r"&\qquad")
        ):
            count += 1
        i += 1
    return count


def _section(tex, title):
    start = tex.index(rf"\section{{{title}}}")
    nxt = tex.find(r"\section{", start + 1)
    return tex[start:] if nxt < 0 else tex[start:nxt]


@needs_pdflatex
@pytest.mark.parametrize("name", list(CASES))
def test_document_compiles(name, tmp_path):
    """The main document and (where something is shortened) its supplement compile."""
    pdf = write_latex(_der(name), tmp_path / f"{name}.tex", compile=True)
    assert pdf == tmp_path / f"{name}.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    sup = tmp_path / f"{name}-supplement.tex"
    main, full = latex_documents(_der(name), supplement=sup.name)
    assert (tmp_path / f"{name}.tex").read_text() == main
    assert (full is None) == (not sup.exists())
    if full is not None:
        assert sup.read_text() == full
        assert sup.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize("name", list(CASES))
def test_common_pieces(name):
    tex, der = _doc(name), _der(name)
    net = der.net
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    used = set(re.findall(r"\\usepackage(?:\[[^\]]*\])?\{([^}]*)\}", tex))
    assert used <= {"amsmath", "amssymb", "geometry"}  # all in texlive-latex-base
    for title in (
        "The model",
        "Auxiliary variables",
        "Generators",
        "Conjugate observable",
        "Kernel recursion and short-time form",
        "Taylor coefficient observables",
        "Volterra series",
    ):
        assert rf"\section{{{title}}}" in tex
    # model, generators and recursion in the document's notation
    assert r"\Gamma = \begin{pmatrix}" in tex and r"W = \begin{pmatrix}" in tex
    assert r"\Sigma = \begin{pmatrix}" in tex
    assert r"\mathcal{L}_0\, g &=" in tex
    for k in range(net.m):
        assert rf"\mathcal{{L}}_1^{{{k + 1}}}\, g &=" in tex
    assert r"g_j = P_{s_j - s_{j+1}}\,\mathcal{L}_1^{k_j} g_{j-1}" in tex
    assert r"s_1$ is the latest input time" in tex
    # one G row per observable and readout component, one value row each when values exist
    obs = _section(tex, "Taylor coefficient observables")
    n_obs = len(der.observables) * net.p
    assert (
        len(re.findall(r"G_\{[^}]*\} = (?:\\mathcal|f)", obs))
        + len(re.findall(r"\\bigl\[G_\{[^}]*\}\\bigr\]_\{\d\} = (?:\\mathcal|f)", obs))
        == n_obs
    )
    assert len(re.findall(r"c_\{[^}]*\}(?:\\bigr\]_\{\d\})? = ", obs)) == n_obs
    # Volterra series up to the derived order, with every kernel of every order
    vol = _section(tex, "Volterra series")
    assert rf"O(\varepsilon^{{{der.order + 1}}})" in vol
    for order in range(1, der.order + 1):
        for idx in der.indices(order):
            chans = r"\,".join(str(k + 1) for k in idx)
            assert rf"K^{{({order})}}_{{{chans}}}(" in vol


def test_linear_quadratic_exact():
    tex = _doc("linear_2d_quadratic")
    # exact Gaussian law and exact rational coefficients
    assert r"\rho_\infty = \mathcal{N}(m_\infty, S)" in tex
    assert r"m_\infty = \begin{pmatrix}\tfrac{7}{64} \\ -\tfrac{23}{192}\end{pmatrix}" in tex
    assert r"V_0 &= -\tfrac{6979}{221184}" in tex
    # second-order kernel at zero lag: 2 Cᵀ Q C = 5/2
    assert r"K^{(2)}_{1\,1}(\tau_{1}, \tau_{2}) &\approx \tfrac{5}{2}" in tex
    conj = _section(tex, "Conjugate observable")
    assert r"A_{1}(h) &= -\tfrac{1431}{1945} + \tfrac{23463}{1945}\,h_{1}" in conj
    assert "no auxiliary variable is needed" in tex
    assert "converges for every lag" in tex


def test_tanh_1d_conjugate_and_auxiliaries():
    tex = _doc("tanh_1d")
    assert r"T_i &= \tanh{\left(z_{i} \right)}, & \frac{dT_i}{dz_i} &= 1 - T_i^{2}" in tex
    assert r"\partial_{1} T_{1} &= \tfrac{4}{5}\,\bigl(1 - T_{1}^{2}\bigr)" in tex
    assert r"\varphi_{1} &= -h_{1} + T_{1}" in tex
    # A = −(2C/σ²) φ = 8 h − 8 T, written in the auxiliary
    assert r"A_{1}(h) &= 8\,h_{1} - 8\,T_{1}" in _section(tex, "Conjugate observable")
    assert (
        r"\mathcal{L}_0\, g &= \bigl(-h_{1} + T_{1}\bigr)\,\partial_{1} g + \tfrac{1}{8}\,\partial_{1}^{2} g"
        in tex
    )
    assert r"\paragraph{Trusted lags.}" in tex
    assert r"$K^{(1)}_{1}(\tau_{1})$: $|\tau_{1}| \le" in tex


def test_hopfield_has_M_and_conjugate():
    tex = _doc("hopfield_2d")
    assert r"M = W^{\top} = \begin{pmatrix}" in tex
    conj = _section(tex, "Conjugate observable")
    assert r"A_{1}(h) &=" in conj and "T_{1}" in conj and "T_{2}" in conj
    assert r"\rho_\infty \propto" in tex
    # values from the Gibbs quadrature, not symbolic expectations
    assert r"\Einf[G_{1;\,0}] &= 1" in tex


def test_point_start_two_inputs_two_outputs():
    tex, der = _doc("sigmoid_3d"), _der("sigmoid_3d")
    assert r"$h_0 = (\tfrac{1}{10}, 0, -\tfrac{1}{5})^{\top}$" in tex
    assert "and neither is $A_k$" in _section(tex, "Conjugate observable")
    assert r"\frac{dS_i}{dz_i} &= S_i - S_i^{2}" in tex
    # point-start words carry the outer L0 power; values are evaluations at h0
    assert r"\bigl[G_{1;\,1\,0}\bigr]_{1} = \mathcal{L}_1^{1}\mathcal{L}_0 f_{1}" in tex
    # G_{1;00} = γ·∇f_2 is the constant 1/4: exact, not 0.25
    assert r"\bigl[c_{1;\,0\,0}\bigr]_{2} = G_{1;\,0\,0}(h_0) &= \tfrac{1}{4}" in tex
    assert r"\bigl[V_0(t)\bigr]_{1} &\approx 0.1 +" in tex
    assert r"\bigl[K^{(2)}_{2\,1}(\tau_{1}, \tau_{2}, s_{2})\bigr]_{2} &\approx" in tex
    assert len(der.indices(2)) == 4


def test_long_expressions_summarised_and_in_full_in_the_supplement():
    """A polynomial longer than max_terms shows its leading terms and its count in the main
    document; the supplement holds it in full (every term, in rows of at most four)."""
    der = _der("hopfield_2d")
    longest = max(der.algebra.n_terms(g) for gs in der.observables.values() for g in gs)
    assert longest > 60
    main, full = latex_documents(der, supplement="doc-supplement.tex")
    notes = re.findall(r"\((\d+) terms in all, (\d+) not shown; in full in", main)
    assert notes and all(int(a) - int(b) == MAX_TERMS for a, b in notes)
    assert max(int(a) for a, _ in notes) == longest
    assert r"\texttt{doc-supplement.tex}" in main
    assert full is not None and "not shown" not in full
    for tex in (main, full):
        assert max(_n_terms(r) for r in _align_rows(tex)) <= 4
    # the longest polynomial spans longest/4 rows or more in the supplement
    cont = sum(1 for r in _align_rows(full) if r.lstrip().startswith((r"&\quad +", r"&\quad -")))
    assert cont >= longest // 4
    short = latex_document(der, max_terms=25)
    counts = re.findall(r"\((\d+) terms in all, (\d+) not shown\)", short)
    assert counts and max(int(b) for _, b in counts) == longest - 25
    assert "supplement" not in short  # none was named, none is cited


def test_samples_needed_and_given_kernels(tmp_path):
    der = derive(load_spec(SPECS / "tanh_2d.toml"), 1, 2)
    tex = latex_document(der)
    assert "no stationary samples were supplied to this run" in tex
    assert "not available" not in tex
    assert r"\tfrac{1}{2}\Einf[G_{1;\,2}]\,\tau_{1}^{2}" in _section(tex, "Volterra series")
    tk = TaylorKernel(
        1,
        (0,),
        [(0,), (1,), (2,)],
        np.array([[0.123456], [-0.5], [0.25]]),
        cov=np.diag([0.001, 0.002, 0.003]) ** 2,
        expectation="samples[400]",
    )
    tex2 = latex_document(der, kernels={(1, (0,)): tk}, title="Given kernels")
    assert r"\title{Given kernels}" in tex2
    # G_{1;0} = C·∇h_1 = 1 and G_{1;1} = C·∇φ_1 = -1 + (W_11 + W_12/2)(1 - T_1²) = -1 are
    # constants: exact, the supplied 0.123456 and -0.5 are not used; G_{1;2} is sampled
    assert r"c_{1;\,0} = \Einf[G_{1;\,0}] &= 1 \\" in tex2
    assert r"c_{1;\,1} = \Einf[G_{1;\,1}] &= -1 \\" in tex2
    assert r"c_{1;\,2} = \Einf[G_{1;\,2}] &= 0.25 \pm 0.003" in tex2
    assert r"K^{(1)}_{1}(\tau_{1}) &\approx 1 - \tau_{1} + 0.125\,\tau_{1}^{2}" in tex2
    assert r"The coefficients of $V_0$ are left as expectations" in tex2
    assert "means over $N = 400$ stationary samples" in tex2
    if HAVE_PDFLATEX:
        compile_latex(tex2, tmp_path / "given.pdf")


def test_expression_algebra_and_user_activation(tmp_path):
    net = SRNN.create(
        n=2,
        activation="z/(1+z**2)",
        W=[[0.5, 0.1], [0.2, 0.3]],
        coupling=[["1+h2**2/2"], ["h1"]],
        sigma=0.5,
        name="user_act",
    )
    tex = latex_document(derive(net, 1, 1))
    assert "derivative chain" in tex
    assert (
        r"\mathcal{L}_1^{1}\, g &= \bigl(1 + \tfrac{1}{2}\,h_{2}^{2}\bigr)\,\partial_{1} g + h_{1}\,\partial_{2} g"
        in tex
    )
    assert max(_n_terms(r) for r in _align_rows(tex)) <= 4
    if HAVE_PDFLATEX:
        compile_latex(tex, tmp_path / "user_act.pdf")


def test_write_without_compile(tmp_path):
    out = write_latex(_der("tanh_1d"), tmp_path / "sub" / "doc.tex")
    assert out == tmp_path / "sub" / "doc.tex" and out.read_text() == _doc("tanh_1d")
    assert not (tmp_path / "sub" / "doc.pdf").exists()


@needs_pdflatex
def test_compile_error_reports_log(tmp_path):
    bad = "\\documentclass{article}\n\\begin{document}\n\\undefinedcommandxyz\n\\end{document}\n"
    with pytest.raises(LatexError, match="Undefined control sequence"):
        compile_latex(bad, tmp_path / "bad.pdf")
    assert not (tmp_path / "bad.pdf").exists()

"""The LaTeX document as a paper would use it: closed forms of the kernels, exact fractions,
statements that say how each value was obtained, trusted lag ranges, and --pdf."""

import json
import re
import shutil
from functools import cache

import numpy as np
import pytest
import sympy as sp

from symresp import SRNN, derive
from symresp.cli import main
from symresp.report import latex as latex_module
from symresp.report.closed_forms import kernel_closed_forms
from symresp.report.latex import compile_latex, latex_document, latex_documents, write_latex

HAVE_PDFLATEX = shutil.which("pdflatex") is not None
needs_pdflatex = pytest.mark.skipif(
    not HAVE_PDFLATEX, reason="pdflatex is not installed (CI installs texlive-latex-base)"
)
t1, t2, t3 = sp.symbols("tau1 tau2 tau3")

OU_SPEC = """
[network]
n = 1
activation = "identity"
Gamma = 1
W = [[0]]
C = [[1]]
sigma = 1
[readout]
expression = "h1**2"
[start]
kind = "stationary"
"""


def _ou(start="stationary", **kw):
    args = dict(n=1, activation="identity", Gamma=1, W=[[0]], C=[[1]], sigma=1, readout="h1**2")
    args.update(kw)
    if start == "point":
        args.update(start="point", h0=[sp.Rational(1, 2)])
    return SRNN.create(name="ou", **args)


@cache
def _ou_doc(start="stationary"):
    der = derive(_ou(start), 2, 4)
    return der, latex_documents(der, supplement="ou-supplement.tex")


def _section(tex, title):
    start = tex.index(rf"\section{{{title}}}")
    nxt = tex.find(r"\section{", start + 1)
    return tex[start:] if nxt < 0 else tex[start:nxt]


def test_ou_closed_forms_stationary():
    """1-D Ornstein–Uhlenbeck network dh = (−h + εu) dt + dW, readout f = h².

    ρ_∞ = N(0, 1/2), so V_0 = E_∞[h²] = 1/2.  P_τ h² = e^{−2τ} h² + (1 − e^{−2τ})/2 and
    𝓛₁ = ∂_h, so 𝓛₁P_{τ1} f = 2e^{−2τ1} h, whose stationary mean is 0: K⁽¹⁾ = 0.  Then
    P_{τ2} (2e^{−2τ1} h) = 2e^{−2τ1 − τ2} h and 𝓛₁ of it is the constant
    K⁽²⁾(τ1, τ2) = 2 e^{−2τ1 − τ2} (= 2(e^{−τ1})(e^{−(τ1+τ2)}), the quadratic-readout formula).
    The document must print these formulas exactly (SymPy's LaTeX of them)."""
    _, (tex, _) = _ou_doc()
    sec = _section(tex, "Kernels in closed form")
    assert r"V_0 &= \tfrac{1}{2}" in sec
    assert r"K^{(1)}_{1}(\tau_{1}) &= 0" in sec
    assert r"K^{(2)}_{1\,1}(\tau_{1}, \tau_{2}) &= 2\,e^{- 2 \tau_{1} - \tau_{2}}" in sec
    assert "hold at every lag" in sec and "All of them are exact" in sec
    # the Taylor polynomial of the same kernel: 2 − 4τ1 − 2τ2 + … − (1/3)τ2³ (exact fractions)
    vol = _section(tex, "Volterra series")
    assert r"K^{(2)}_{1\,1}(\tau_{1}, \tau_{2}) &\approx 2 - 4\,\tau_{1} - 2\,\tau_{2}" in vol
    assert r"- \tfrac{1}{3}\,\tau_{2}^{3}" in vol
    assert "0.333" not in tex and "0.666" not in tex


def test_ou_closed_forms_point_start():
    """Point start h_0 = 1/2 of the same network (lags τ1, s1 for order 1).

    V_0(t) = E[h_t²] = h_0² e^{−2t} + (1 − e^{−2t})/2 = 1/2 − e^{−2t}/4;
    K⁽¹⁾(τ1, s1) = P_{s1}(2e^{−2τ1} h)(h_0) = 2e^{−2τ1} e^{−s1} h_0 = e^{−2τ1 − s1};
    K⁽²⁾ = 2e^{−2τ1 − τ2} (a constant in h, so P_{s2} leaves it)."""
    der, (tex, _) = _ou_doc("point")
    forms = {(cf.order, cf.index): cf.exprs[0] for cf in kernel_closed_forms(der)[0]}
    t = sp.Symbol("tau1")
    assert sp.simplify(forms[(0, ())] - (sp.Rational(1, 2) - sp.exp(-2 * t) / 4)) == 0
    assert sp.simplify(forms[(1, (0,))] - sp.exp(-2 * t1 - t2)) == 0
    assert sp.simplify(forms[(2, (0, 0))] - 2 * sp.exp(-2 * t1 - t2)) == 0
    sec = _section(tex, "Kernels in closed form")
    k1 = sp.latex(forms[(1, (0,))], symbol_names={t1: r"\tau_{1}", t2: "s_{1}"})
    assert rf"K^{{(1)}}_{{1}}(\tau_{{1}}, s_{{1}}) &= {k1}" in sec and "s_{1}" in k1
    # V_0(t) at a point start: exact fractions, and its trusted range in t is stated
    assert re.search(r"\$V_0\(t\)\$: \$\|t\| \\le [0-9.]+\$", tex)


def test_parameters_closed_form_and_notation():
    """Γ = k, σ = s (declared k = 3/2, s = 2/5): S = s²/(2k), V_0 = s²/(2k) and
    K⁽²⁾ = 2e^{−2kτ1 − kτ2} (the derivation above with e^{−τ} → e^{−kτ}); the document keeps
    k and s as symbols in the closed forms and lists their declared values."""
    k, s = sp.symbols("k s")
    net = _ou(Gamma="k", sigma="s", parameters={"k": 1.5, "s": 0.4})
    der = derive(net, 2, 2)
    tex = latex_document(der)
    forms = {(cf.order, cf.index): cf for cf in kernel_closed_forms(der)[0]}
    K2 = forms[(2, (0, 0))]
    assert sp.simplify(K2.exprs[0] - 2 * sp.exp(-2 * k * t1 - k * t2)) == 0
    assert sp.simplify(forms[(0, ())].exprs[0] - s**2 / (2 * k)) == 0
    assert K2.info["exact"] is True
    sec = _section(tex, "Kernels in closed form")
    assert r"K^{(2)}_{1\,1}(\tau_{1}, \tau_{2}) &= 2\,e^{- 2 k \tau_{1} - k \tau_{2}}" in sec
    assert "keep the parameters as symbols" in sec
    notation = _section(tex, "Notation")
    assert r"$k = \tfrac{3}{2}$" in notation and r"$s = \tfrac{2}{5}$" in notation
    # numbers elsewhere are at the declared values: V_0 = (2/5)²/3 = 4/75
    assert r"V_0 &= \tfrac{4}{75}" in _section(tex, "Volterra series")


def test_deterministic_closed_form_at_a_fixed_point():
    """Noiseless 1-D network dh = (−h + tanh(h/2) + εu) dt, h_0 = 0 = h*, readout h.

    J = −1 + 1/2 = −1/2, so K⁽¹⁾(τ1) = e^{−τ1/2} (the modal form); the document prints the
    closed form and says it is modal with floating-point coefficients."""
    net = SRNN.create(
        n=1, activation="tanh", W=[[0.5]], C=[[1]], sigma=0, V=[[1]], start="point", h0=[0]
    )
    der = derive(net, 1, 3)
    forms, route = kernel_closed_forms(der)
    assert route == "deterministic"
    K1 = forms[0].exprs[0]
    for lag in (0.0, 0.7, 3.1):
        val = float(K1.subs({t1: lag, t2: 1.3}))
        assert abs(val - np.exp(-lag / 2)) < 1e-12  # modal form: double-precision rounding
    tex = latex_document(der)
    sec = _section(tex, "Kernels in closed form")
    assert "modal form" in sec and sp.latex(K1, symbol_names=forms[0].symbol_names) in sec


def test_no_float_for_exact_coefficients():
    """The linear network's values are exact (Gaussian moments): no decimal number appears
    outside the trusted-lag estimates, which are estimates and say so."""
    _, (tex, sup) = _ou_doc()
    body = re.sub(r"\\paragraph\{Trusted lags\.\}.*?\n", "", tex)
    assert not re.findall(r"\d\.\d", body)
    # V_0 and the five order-1 observables 2·(−2)^p h need the moments; order 2 is constant
    assert (
        r"21 values exact, in rational arithmetic (6 from the exact Gaussian moments of "
        r"$\rho_\infty$, 15 from constant observables)" in tex
    )


def _samples_doc(n=300):
    net = SRNN.create(
        n=2,
        activation="tanh",
        W=[[0.5, -1.0], [1.0, 0.2]],
        b=[0.1, 0],
        C=[[1.0], [0.5]],
        sigma=0.5,
        V=[[1, 0]],
    )
    X = np.random.default_rng(3).normal(0.1, 0.4, size=(n, 2))
    der = derive(net, 1, 2)
    return der, X, latex_document(der, samples=X)


def test_sample_statements_name_the_count():
    """With N samples, V_0 = E_∞[h_1] is their mean ± std/√N (computed here from X directly),
    the document says N, and exact constants (G_{1;0} = 1, G_{1;1} = −1) are not given ±."""
    der, X, tex = _samples_doc()
    mean, se = X[:, 0].mean(), X[:, 0].std(ddof=1) / np.sqrt(len(X))
    assert f"V_0 &= {mean:.6g} \\pm {se:.2g}" in tex
    assert "means over $N = 300$ stationary samples" in tex
    assert "a mean over $N = 300$ stationary samples" in tex
    assert r"c_{1;\,0} = \Einf[G_{1;\,0}] &= 1 \\" in tex
    assert r"\pm 0" + "\n" not in tex and r"\pm 0 " not in tex
    assert "left as expectations" not in tex and "not available" not in tex


@needs_pdflatex
def test_ou_document_compiles_with_supplement(tmp_path):
    """The OU document shortens the 15-term Taylor polynomial of K⁽²⁾: both compile."""
    der, _ = _ou_doc()
    pdf = write_latex(der, tmp_path / "ou.tex", compile=True)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "ou-supplement.pdf").read_bytes()[:5] == b"%PDF-"
    assert "(15 terms in all, 3 not shown; in full in" in (tmp_path / "ou.tex").read_text()


def test_cli_pdf(tmp_path, capsys):
    """`derive --latex --pdf` writes the PDF; the document holds exact values although the
    command line computes float Taylor kernels."""
    spec = tmp_path / "ou.toml"
    spec.write_text(OU_SPEC)
    out = tmp_path / "doc.tex"
    argv = ["derive", str(spec), "--order", "2", "--taylor", "3", "--latex", str(out), "--json"]
    if HAVE_PDFLATEX:
        assert main([*argv, "--pdf"]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res["pdf"] == str(out.with_suffix(".pdf")) and res["latex"] == str(out)
        assert out.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    else:
        assert main(argv) == 0
    tex = out.read_text()
    assert r"- \tfrac{1}{3}\,\tau_{2}^{3}" in tex and "0.333" not in tex


def test_cli_pdf_without_pdflatex(tmp_path, capsys, monkeypatch):
    """Without pdflatex, --pdf exits 2 before any work and names what to install."""
    monkeypatch.setattr(latex_module.shutil, "which", lambda name: None)
    spec = tmp_path / "ou.toml"
    spec.write_text(OU_SPEC)
    out = tmp_path / "doc.tex"
    assert main(["derive", str(spec), "--latex", str(out), "--pdf"]) == 2
    err = capsys.readouterr().err
    assert "pdflatex was not found" in err and "texlive-latex-base" in err
    assert not out.exists()
    assert main(["derive", str(spec), "--pdf"]) == 2
    assert "--latex" in capsys.readouterr().err
    with pytest.raises(latex_module.LatexError, match="install"):
        compile_latex("x", tmp_path / "x.pdf")


def test_symbolic_derivation_values_in_the_parameters():
    """derive(symbolic=True) of dh = (−k h + c + εu) dt + s dW, f = h²: the document's values
    are expressions in the parameters.  ρ_∞ = N(c/k, s²/(2k)), so
    V_0 = c²/k² + s²/(2k) = (2c² + k s²)/(2k²) and c_{1;1} = E_∞[𝓛₁𝓛₀ h²] = E_∞[2c − 4k h] = −2c;
    the observables print their coefficients as parameters (no ring-internal names)."""
    net = _ou(Gamma="k", b=["c"], sigma="s", parameters={"k": 1.5, "s": 0.4, "c": 0.3})
    tex = latex_document(derive(net, 1, 2, symbolic=True))
    k, s, c = sp.symbols("k s c")
    v0 = sp.latex(sp.factor(c**2 / k**2 + s**2 / (2 * k)))
    assert rf"V_0 &= {v0}" in tex
    assert r"G_{1;\,1} = \mathcal{L}_1^{1}\mathcal{L}_0 f &= 2 c - 4 k\,h_{1}" in tex
    assert r"c_{1;\,1} = \Einf[G_{1;\,1}] &= - 2 c" in tex
    assert "_c0" not in tex and "exact, as expressions in the parameters" in tex

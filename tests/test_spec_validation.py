"""Spec validation: every refusal names the parameter, the
expected and the given shape or value, and what to do; accepted forms are read exactly.

Checked both through ``SRNN.create`` and through TOML files written to ``tmp_path``.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symresp import SRNN, SpecError, load_spec
from symresp.model.activations import KNOWN_ACTIVATIONS, Z, get_activation, parse_expression
from symresp.model.spec import spec_from_dict

W2 = [[0.5, -1.0], [1.0, 0.2]]
h1, h2 = sp.symbols("h1 h2", real=True)
ROOT = Path(__file__).resolve().parent.parent


def make(**kw):
    args = dict(
        n=2,
        m=1,
        activation="tanh",
        Gamma=1,
        W=W2,
        b=[0.1, 0],
        C=[[1], [0.5]],
        sigma=0.5,
        V=[[1, 0]],
    )
    args.update(kw)
    return SRNN.create(**args)


def refused(fragments, **kw):
    """SRNN.create(**kw) raises SpecError whose message contains every fragment."""
    with pytest.raises(SpecError) as info:
        make(**kw)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in message: {msg}"
    return msg


BASE_TOML = """\
[network]
n = 2
m = 1
activation = "tanh"
Gamma = 1.0
W = [[0.5, -1.0], [1.0, 0.2]]
b = [0.1, 0.0]
C = [[1.0], [0.5]]
sigma = 0.5
[readout]
V = [[1.0, 0.0]]
[start]
kind = "stationary"
"""


def toml(tmp_path, text, name="spec"):
    p = tmp_path / f"{name}.toml"
    p.write_text(textwrap.dedent(text))
    return p


def edit(text=BASE_TOML, drop=(), **replace):
    """BASE_TOML with lines starting 'key =' replaced (value given as TOML text) or dropped."""
    out = []
    for line in text.splitlines():
        key = line.split("=")[0].strip() if "=" in line else None
        if key in drop:
            continue
        if key in replace:
            line = f"{key} = {replace.pop(key)}"
        out.append(line)
    assert not replace, f"keys not in template: {list(replace)}"
    return "\n".join(out) + "\n"


def toml_refused(tmp_path, text, fragments):
    with pytest.raises(SpecError) as info:
        load_spec(toml(tmp_path, text))
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{frag!r} not in message: {msg}"
    return msg


# --------------------------------------------------------------------- shapes
SHAPE_CASES = {
    "W 2x3": (dict(W=[[1, 2, 3], [4, 5, 6]]), ["network.W", "2×2", "lengths [3, 3]", "n = 2"]),
    "W 3 rows": (dict(W=[[1, 2], [3, 4], [5, 6]]), ["network.W", "2×2", "3 rows"]),
    "W flat": (dict(W=[1, 2, 3, 4]), ["network.W", "2×2", "flat list of length 4"]),
    "W scalar": (dict(W=3), ["network.W", "2×2", "got 3"]),
    "W missing": (dict(W=None), ["network.W", "required", "2×2"]),
    "b length": (dict(b=[1, 2, 3]), ["network.b", "list of 2 numbers", "length 3", "n = 2"]),
    "C cols": (dict(C=[[1, 2], [3, 4]]), ["network.C", "2×1", "lengths [2, 2]", "m = 1 columns"]),
    "C rows m=2": (dict(m=2, C=[[1, 0]]), ["network.C", "2×2", "1 rows"]),
    "Gamma list": (
        dict(Gamma=[1, 2, 3]),
        ["network.Gamma", "list of 2 diagonal entries", "length 3", "scalar"],
    ),
    "Gamma matrix": (dict(Gamma=[[1, 2, 3]]), ["network.Gamma", "2×2", "1 rows of lengths [3]"]),
    "Gamma unstable": (dict(Gamma=-1), ["network.Gamma", "positive stable", "eigenvalues", "-1.0"]),
    "Gamma rotation": (dict(Gamma=[[0, 1], [-1, 0]]), ["network.Gamma", "positive stable"]),
    "sigma rows": (dict(sigma=[[1], [2], [3]]), ["network.sigma", "2×1", "3 rows", "n×r matrix"]),
    "sigma diag": (dict(sigma=[1, 2, 3]), ["network.sigma", "2 diagonal entries", "length 3"]),
    "sigma ragged": (dict(sigma=[[1, 2], [3]]), ["network.sigma", "2×2", "lengths [2, 1]"]),
    "V cols": (dict(V=[[1, 0, 0]]), ["readout.V", "1×2", "lengths [3]", "n = 2 columns"]),
    "V ragged p=2": (dict(V=[[1, 0], [1]]), ["readout.V", "2×2", "lengths [2, 1]"]),
    "c length": (dict(c=[1, 2]), ["readout.c", "list of 1 numbers", "length 2", "p = 1"]),
    "h0 length": (
        dict(start="point", h0=[1]),
        ["start.h0", "list of 2 numbers", "length 1", "n = 2"],
    ),
    "point without h0": (dict(start="point"), ["start.h0", "point start needs h0", "n = 2"]),
    "start kind": (
        dict(start="equilibrium"),
        ["start.kind", "'stationary' or 'point'", "'equilibrium'"],
    ),
    "n zero": (dict(n=0), ["network.n", "positive integer", "got 0"]),
    "n string": (dict(n="2"), ["network.n", "positive integer", "'2'"]),
    "n bool": (dict(n=True), ["network.n", "positive integer"]),
    "m zero": (dict(m=0), ["network.m", "positive integer", "got 0"]),
    "form": (dict(form="gradient"), ["network.form", "'standard' or 'hopfield'", "'gradient'"]),
    "input_site": (dict(input_site="inside"), ["network.input_site", "'additive' or 'activation'"]),
    "C and coupling": (dict(coupling=[["1"], ["1"]]), ["C", "coupling", "not both"]),
    "V and expression": (dict(readout="h1"), ["readout", "V", "expression", "not both"]),
    "empty readout list": (dict(V=None, readout=[]), ["readout.expression", "at least one"]),
    "number text": (dict(W=[["a", 0], [0, 0]]), ["network.W[1,1]", "'a'", "\"3/2\""]),
    "number syntax": (dict(b=["1+*", 0]), ["network.b[1]", "'1+*'", "\"3/2\""]),
    "number bool": (dict(W=[[True, 0], [0, 0]]), ["network.W[1,1]", "boolean"]),
    "number nan": (dict(b=[float("nan"), 0]), ["network.b[1]", "finite", "nan"]),
    "number complex": (dict(b=["I", 0]), ["network.b[1]", "'I'"]),
    "coupling shape": (
        dict(C=None, coupling=[["1 + h1**2"]]),
        ["network.coupling", "2×1", "expressions in h1..h2"],
    ),
    "coupling symbol": (
        dict(C=None, coupling=[["1 + h3"], ["h2"]]),
        ["network.coupling[1,1]", "unknown name(s) ['h3']", "['h1', 'h2']"],
    ),
    "readout symbol": (
        dict(V=None, readout="x*h1"),
        ["readout.expression[1]", "['x']", "['h1', 'h2']"],
    ),
    "readout syntax": (
        dict(V=None, readout="h1 +* 2"),
        ["readout.expression[1]", "could not parse", "h1**2"],
    ),
    "readout function": (
        dict(V=None, readout=["h1", "foo(h2)"]),
        ["readout.expression[2]", "unknown function(s) ['foo']", "tanh"],
    ),
}


@pytest.mark.parametrize("case", list(SHAPE_CASES), ids=list(SHAPE_CASES))
def test_refusals_name_parameter_expected_and_given(case):
    kw, fragments = SHAPE_CASES[case]
    refused(fragments, **kw)


def test_spec_error_is_value_error():
    assert issubclass(SpecError, ValueError)


# ----------------------------------------------------------------- activations
@pytest.mark.parametrize("name", ["tanhh", "ReLu6", "gelu"])
def test_unknown_activation_lists_known(name):
    msg = refused(["network.activation", repr(name), "expression in z"], activation=name)
    for known in KNOWN_ACTIVATIONS:
        assert known in msg
    assert set(KNOWN_ACTIVATIONS) == {"identity", "tanh", "sigmoid", "softplus", "sin", "cubic"}


@pytest.mark.parametrize("act", ["relu", "ReLU", "abs", "Abs(z)", "Max(0, z)", "z*Abs(z)"])
def test_nonsmooth_activation_refused_for_derivation(act):
    msg = refused(
        ["network.activation", "not smooth", "Taylor", "derivable=False", "simulate"],
        activation=act,
    )
    for known in KNOWN_ACTIVATIONS:
        assert known in msg
    net = make(activation=act, derivable=False, start="point", h0=[0, 0])  # simulation only
    assert net.derivable is False and net.activation.smooth is False


@pytest.mark.parametrize("name", sorted(KNOWN_ACTIVATIONS))
def test_known_activations_accepted(name):
    kw = dict(activation=name)
    if name in ("identity", "cubic", "softplus"):
        kw.update(start="point", h0=[0, 0])  # unbounded: no stationary guarantee with this W
    net = make(**kw)
    assert net.activation is KNOWN_ACTIVATIONS[name]
    assert net.drift.shape == (2, 1)


def test_user_activation_expression_works():
    from symresp import derive
    from symresp.kernels.taylor import taylor_kernel

    net = SRNN.create(
        n=1,
        W=[[0.5]],
        b=[0.1],
        C=[[1]],
        sigma=0.5,
        activation="z/(1+z**2)",
        V=[[1]],
        start="point",
        h0=[0.2],
    )
    assert sp.simplify(net.activation.expr - Z / (1 + Z**2)) == 0
    assert net.activation.smooth and net.derivable
    h = net.h[0]
    z = h / 2 + sp.Rational(1, 10)
    assert sp.simplify(net.drift[0] - (-h + z / (1 + z**2))) == 0
    # c_{(1,0)} = (L1 L0 f)(h0) = φ'(h0) = −1 + W a'(W h0 + b)
    K = taylor_kernel(derive(net, 1, 1), 1, (0,))
    row = [i for i, p in enumerate(K.powers.tolist()) if p == [1, 0]][0]
    z0 = 0.5 * 0.2 + 0.1
    assert K.coeffs[row][0] == pytest.approx(-1 + 0.5 * (1 - z0**2) / (1 + z0**2) ** 2, rel=1e-12)
    # bounded user activation: a stationary start is accepted
    assert make(activation="z/(1+z**2)").start == "stationary"


@pytest.mark.parametrize(
    "act, fragments",
    [
        ("z*y", ["network.activation", "unknown name(s) ['y']", "['z']"]),
        ("tanh(x)", ["network.activation", "unknown name(s) ['x']", "['z']"]),
        ("foo(z)", ["network.activation", "unknown function(s) ['foo']"]),
        ("z +* 2", ["network.activation", "could not parse"]),
        ("", ["network.activation", "non-empty"]),
        ("z; z", ["network.activation", "';' is not allowed"]),
        ("[z]", ["network.activation", "'[' is not allowed"]),
    ],
)
def test_bad_activation_expression_refused(act, fragments):
    msg = refused(fragments, activation=act)
    assert "Known activations" in msg


def test_activation_of_wrong_type():
    refused(["network.activation", "expected a name", "tanh"], activation=3)


def test_get_activation_sympy_expression():
    act = get_activation(sp.Symbol("z") ** 3 / 3 + sp.Float(0.5) * sp.Symbol("z"))
    assert act.expr == Z**3 / 3 + Z / 2 and act.is_polynomial


# --------------------------------------------------------------- injection
def _escape_payloads(marker: Path) -> list[str]:
    cmd = f"touch {marker}"
    idx = [i for i, c in enumerate(object.__subclasses__()) if c.__name__ == "_wrap_close"]
    payloads = [
        f"__import__('os').system('{cmd}')",
        "__import__('os').system('echo hi')",
        f"eval(\"__import__('os').system('{cmd}')\")",
        f"exec(\"import os; os.system('{cmd}')\")",
        f"getattr(__builtins__, 'eval')(\"__import__('os').system('{cmd}')\")",
        "(lambda: 1)()",
        "h1.__class__",
        "open('/etc/passwd')",
    ]
    if idx:  # a classic escape through attribute access that SymPy's parser would evaluate
        payloads.append(
            f"().__class__.__base__.__subclasses__()[{idx[0]}]"
            f".__init__.__globals__['system']('{cmd}')"
        )
    return payloads


def test_code_in_expressions_is_refused_and_never_executed(tmp_path, monkeypatch):
    marker = tmp_path / "executed"
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    for text in _escape_payloads(marker):
        sites = {
            "activation": dict(activation=text),
            "readout": dict(V=None, readout=text),
            "readout list": dict(V=None, readout=["h1", text]),
            "coupling": dict(C=None, coupling=[[text], ["1"]]),
            "number": dict(W=[[text, 0], [0, 0]]),
        }
        for site, kw in sites.items():
            with pytest.raises(SpecError) as info:
                make(**kw)
            assert "not allowed" in str(info.value) or "could not" in str(info.value), (site, text)
        for syms in ({"t": sp.Symbol("t")}, {"z": Z}, {}):
            with pytest.raises(ValueError):
                parse_expression(text, syms, "x")
    assert not marker.exists(), "an expression was executed"
    assert calls == [], "os.system was called"


def test_code_in_toml_refused(tmp_path, monkeypatch):
    marker = tmp_path / "executed"
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a) or 0)
    payload = f"__import__('os').system('touch {marker}')"
    text = edit(drop=("V",)).replace("[readout]\n", f"[readout]\nexpression = \"{payload}\"\n")
    msg = toml_refused(tmp_path, text, ["readout.expression[1]", "'__import__' is not allowed"])
    assert "h1" in msg
    assert not marker.exists() and calls == []


def test_allowed_expression_vocabulary():
    t = sp.Symbol("t")
    e = parse_expression(
        "2^3*sin(t) + exp(-t)/2 + sqrt(2)*pi + 1e-3 + .5 + sigmoid(t)", {"t": t}, "u"
    )
    assert e.has(sp.sin(t)) and e.has(sp.exp(-t))
    assert sp.Rational(501, 1000) in e.atoms(sp.Rational)  # 1e-3 + .5, exact
    assert e.has(8 * sp.sin(t)) and e.has(sp.sqrt(2) * sp.pi) and not e.has(sp.Float)


# ------------------------------------------------------------ exact numbers
def test_numbers_kept_exact():
    net = make(
        W=[["3/2", 0.1], [-2, "-1/3"]],
        b=[0.1, "2/7"],
        Gamma="3/2",
        sigma=[0.25, "1/3"],
        V=[[0.1, "1/2"]],
        c=[1e-3],
        start="point",
        h0=[0.3, "-5/4"],
    )
    R = sp.Rational
    assert net.W == sp.Matrix([[R(3, 2), R(1, 10)], [-2, R(-1, 3)]])
    assert net.b == sp.Matrix([R(1, 10), R(2, 7)])
    assert net.Gamma == R(3, 2) * sp.eye(2)
    assert net.sigma == sp.diag(R(1, 4), R(1, 3))
    assert net.h0 == sp.Matrix([R(3, 10), R(-5, 4)])
    assert net.readout[0] == h1 / 10 + h2 / 2 + R(1, 1000)
    for x in list(net.W) + list(net.b) + list(net.sigma) + list(net.h0):
        assert not x.has(sp.Float)


def test_numbers_exact_in_expressions():
    net = make(C=None, coupling=[["0.25*h2 + 1"], ["3/2"]], V=None, readout="0.1*h1**2 + h2/3")
    assert net.coupling == sp.Matrix([[h2 / 4 + 1], [sp.Rational(3, 2)]])
    assert net.readout[0] == h1**2 / 10 + h2 / 3
    assert not net.readout[0].has(sp.Float)
    assert make(W=[["sqrt(2)", 0], [0, 0]]).W[0, 0] == sp.sqrt(2)


def test_numbers_exact_from_toml(tmp_path):
    text = edit(W='[[0.1, "3/2"], [-1, "-1/3"]]', b='[0.1, "2/7"]', Gamma='"3/2"', sigma='"1/3"')
    net = load_spec(toml(tmp_path, text))
    R = sp.Rational
    assert net.W == sp.Matrix([[R(1, 10), R(3, 2)], [-1, R(-1, 3)]])
    assert net.b == sp.Matrix([R(1, 10), R(2, 7)])
    assert net.Gamma == R(3, 2) * sp.eye(2)
    assert net.sigma == R(1, 3) * sp.eye(2)


# ------------------------------------------------------------------ forms
def test_gamma_forms():
    R = sp.Rational
    assert make(Gamma=2).Gamma == 2 * sp.eye(2)
    assert make(Gamma="1/2").Gamma == R(1, 2) * sp.eye(2)
    assert make(Gamma=[1, "3/2"]).Gamma == sp.diag(1, R(3, 2))
    G = make(Gamma=[[1, "1/2"], [0, 2]]).Gamma
    assert G == sp.Matrix([[1, R(1, 2)], [0, 2]])
    # non-symmetric but positive stable: accepted
    assert make(Gamma=[[1, 5], [-5, 1]]).Gamma[0, 1] == 5


def test_sigma_forms():
    net = make(sigma=[[1, 0, "1/2"], [0, 1, 0]])
    assert net.r == 3 and net.sigma.shape == (2, 3)
    assert net.Sigma == sp.Matrix([[sp.Rational(5, 4), 0], [0, 1]])
    net = make(sigma=[[1], ["1/2"]])
    assert net.r == 1 and net.Sigma == sp.Matrix(
        [[1, sp.Rational(1, 2)], [sp.Rational(1, 2), sp.Rational(1, 4)]]
    )
    assert make(sigma=[0.5, 2]).sigma == sp.diag(sp.Rational(1, 2), 2)
    assert make(sigma=0.5).sigma == sp.eye(2) / 2
    assert make(sigma=[[1, 0], [0.5, 1]]).sigma == sp.Matrix([[1, 0], [sp.Rational(1, 2), 1]])


def test_readout_forms():
    net = make(V=[[1, 0], [0.5, -1]], c=[0, "1/4"])
    assert net.p == 2
    assert list(net.readout) == [h1, h1 / 2 - h2 + sp.Rational(1, 4)]
    assert make(V=[1, 2]).readout[0] == h1 + 2 * h2  # flat list: p = 1
    assert make(V=None).readout[0] == h1  # API default: first unit
    net = make(V=None, readout="h1**2 + h2")
    assert net.p == 1 and net.readout[0] == h1**2 + h2
    net = make(V=None, readout=["h1**2 + h2", "tanh(h2)", "3"])
    assert net.p == 3 and net.readout[1] == sp.tanh(h2) and net.readout[2] == 3
    assert make(V=None, readout=h1 * h2).readout[0] == h1 * h2  # SymPy expression
    refused(["readout.expression", "unknown symbols", "['y']"], V=None, readout=sp.Symbol("y"))


def test_readout_forms_toml(tmp_path):
    text = BASE_TOML.replace('V = [[1.0, 0.0]]', 'V = [[1.0, 0.0], [0, 2]]\nc = [1, "1/2"]')
    net = load_spec(toml(tmp_path, text, "v"))
    assert list(net.readout) == [h1 + 1, 2 * h2 + sp.Rational(1, 2)]
    text = BASE_TOML.replace('V = [[1.0, 0.0]]', 'expression = ["h1**2 + h2", "h1*h2"]')
    net = load_spec(toml(tmp_path, text, "e"))
    assert list(net.readout) == [h1**2 + h2, h1 * h2]
    text = BASE_TOML.replace('V = [[1.0, 0.0]]', 'expression = "h1**2"\nV = [[1, 0]]')
    toml_refused(tmp_path, text, ["readout", "not both"])
    text = BASE_TOML.replace('V = [[1.0, 0.0]]', 'V = [[1.0, 0.0]]\nc = [1, 2]')
    toml_refused(tmp_path, text, ["readout.c", "list of 1 numbers", "length 2"])


def test_coupling_expressions():
    net = make(C=None, coupling=[["1 + h1**2"], ["h2"]])
    assert net.coupling == sp.Matrix([[1 + h1**2], [h2]])
    assert not net.constant_coupling
    net = make(C=None, m=2, coupling=[["1", "tanh(h1)"], ["h2", "0"]])
    assert net.coupling.shape == (2, 2) and net.coupling[0, 1] == sp.tanh(h1)
    net = make(C=None, coupling=["1 + h1", "2"])  # m = 1: a flat list is a column
    assert net.coupling == sp.Matrix([[1 + h1], [2]])
    assert make(C=[1, 0.5]).coupling == sp.Matrix([[1], [sp.Rational(1, 2)]])
    assert make().constant_coupling


def test_coupling_expressions_toml(tmp_path):
    text = BASE_TOML.replace("C = [[1.0], [0.5]]", 'coupling = [["1 + h1**2"], ["h2/2"]]')
    net = load_spec(toml(tmp_path, text))
    assert net.coupling == sp.Matrix([[1 + h1**2], [h2 / 2]])
    text = BASE_TOML.replace("C = [[1.0], [0.5]]", 'coupling = [["1 + h4"], ["h2"]]')
    toml_refused(tmp_path, text, ["network.coupling[1,1]", "['h4']", "['h1', 'h2']"])


def test_state_dependent_coupling_refused_inside_activation(tmp_path):
    refused(
        ["network.coupling", "input_site", "'additive'", "constant C"],
        C=None,
        coupling=[["1 + h1**2"], ["h2"]],
        input_site="activation",
    )
    net = make(input_site="activation")  # constant C inside the activation is fine
    assert net.input_site == "activation"
    text = BASE_TOML.replace(
        "C = [[1.0], [0.5]]", 'coupling = [["h1"], ["1"]]\ninput_site = "activation"'
    )
    toml_refused(tmp_path, text, ["network.coupling", "input_site", "constant C"])


def test_hopfield_form(tmp_path):
    net = make(form="hopfield")
    W = sp.Matrix(W2).applyfunc(sp.nsimplify)
    assert net.M == W.T
    z = W * sp.Matrix([h1, h2]) + sp.Matrix([sp.Rational(1, 10), 0])
    expect = -sp.Matrix([h1, h2]) + W.T * z.applyfunc(sp.tanh)
    assert (net.drift - expect).applyfunc(sp.simplify) == sp.zeros(2, 1)
    net = load_spec(ROOT / "derivations" / "hopfield_2d.toml")
    assert net.form == "hopfield" and net.M == net.W.T
    # linear Hopfield network: A = Γ − WᵀW must be positive stable for a stationary start
    msg = refused(
        ["start.kind = 'stationary'", "Γ − WᵀW", "positive stable", "kind = 'point'"],
        form="hopfield",
        activation="identity",
        W=[[2, 0], [0, "1/2"]],
    )
    assert "-3.0" in msg
    assert make(form="hopfield", activation="identity", W=[["1/2", 0], [0, "1/2"]]).A == sp.eye(
        2
    ) * sp.Rational(3, 4)
    text = BASE_TOML.replace('activation = "tanh"', 'activation = "tanh"\nform = "hopfield"')
    assert load_spec(toml(tmp_path, text)).form == "hopfield"


# ------------------------------------------------------- stationary start
def test_stationary_refused_for_unstable_linear_network(tmp_path):
    kw = dict(activation="identity", W=[[2, 0], [0, 0]])
    msg = refused(
        [
            "start.kind = 'stationary'",
            "identity",
            "Γ − W",
            "positive stable",
            "eigenvalues",
            "kind = 'point'",
            "assume_stationary",
        ],
        **kw,
    )
    assert "-1.0" in msg
    assert make(start="point", h0=[0, 0], **kw).start == "point"
    assert make(assume_stationary=True, **kw).start == "stationary"
    net = make(**kw, start="point", h0=[0, 0])
    assert "positive stable" in net.stationary_obstruction()
    assert (
        make(activation="identity", W=[[-0.5, 0.3], [-0.4, -0.2]]).stationary_obstruction() is None
    )
    text = edit(activation='"identity"', W="[[2, 0], [0, 0]]")
    toml_refused(tmp_path, text, ["Γ − W", "positive stable", "assume_stationary"])
    net = load_spec(
        toml(tmp_path, text.replace("[readout]", "assume_stationary = true\n[readout]"))
    )
    assert net.start == "stationary"
    net = load_spec(
        toml(tmp_path, text.replace('kind = "stationary"', 'kind = "point"\nh0 = [0, 0]'))
    )
    assert net.start == "point" and net.h0 == sp.zeros(2, 1)


@pytest.mark.parametrize(
    "kw, fragments",
    [
        (dict(activation="cubic"), ["'cubic'", "not globally Lipschitz", "kind = 'point'"]),
        (dict(activation="softplus", W=[[3, 0], [0, 3]]), ["'softplus'", "Lip(a)·‖W‖₂", "(3)"]),
        (
            dict(n=1, activation="z**3", W=[[1]], b=[0], C=[[1]], V=[[1]]),
            ["1-D drift", "inwards", "kind = 'point'"],
        ),
    ],
)
def test_stationary_refused_without_guarantee(kw, fragments):
    refused(["start.kind = 'stationary'", "assume_stationary"] + fragments, **kw)


def test_stationary_accepted_with_guarantee():
    assert make(activation="softplus", W=[["1/2", 0], [0, "1/2"]]).start == "stationary"
    assert make(n=1, activation="cubic", W=[[1]], b=[0], C=[[1]], V=[[1]]).start == "stationary"
    assert make(activation="sigmoid", W=[[10, 0], [0, 10]]).start == "stationary"  # bounded


# --------------------------------------------------------- TOML structure
def test_contract_example_loads(tmp_path):
    net = load_spec(toml(tmp_path, BASE_TOML, "reference"))
    assert (net.n, net.m, net.p, net.r) == (2, 1, 1, 2)
    assert net.name == "reference" and net.activation.name == "tanh"
    assert net.W == sp.Matrix([[sp.Rational(1, 2), -1], [1, sp.Rational(1, 5)]])
    assert net.coupling == sp.Matrix([[1], [sp.Rational(1, 2)]])
    assert net.readout[0] == h1 and net.start == "stationary"


@pytest.mark.parametrize(
    "path", sorted((ROOT / "derivations").glob("*.toml")), ids=lambda p: p.stem
)
def test_committed_specs_validate(path):
    net = load_spec(path)
    assert net.derivable


TOML_CASES = [
    (
        BASE_TOML.replace("sigma = 0.5", "sigma = 0.5\nnoise = 1"),
        ["network", "unknown key(s) ['noise']", "known keys", "'sigma'", "'W'"],
    ),
    (
        BASE_TOML.replace("V = [[1.0, 0.0]]", "V = [[1.0, 0.0]]\nQ = 1"),
        ["readout", "unknown key(s) ['Q']", "V (and c) or expression"],
    ),
    (
        BASE_TOML.replace('kind = "stationary"', 'kind = "stationary"\nx0 = [0, 0]'),
        ["start", "unknown key(s) ['x0']", "kind and h0"],
    ),
    (BASE_TOML + "[inputs]\nu = 1\n", ["unknown table(s) ['inputs']", "[network]", "[readout]"]),
    (BASE_TOML.replace("[network]", "[netwrk]"), ["unknown table(s) ['netwrk']"]),
    ("[readout]\nV = [[1.0]]\n", ["missing the [network] table"]),
    (edit(drop=("n",)), ["network.n", "required", "hidden units"]),
    (edit(drop=("W",)), ["network.W", "required", "n×n"]),
    (edit(drop=("activation",)), ["network.activation", "required", "tanh", "cubic"]),
    (edit(drop=("sigma",)), ["network.sigma", "required", "n×r"]),
    (edit(drop=("C",)), ["network.C", "required", "n×m", "coupling"]),
    (
        BASE_TOML.split("[readout]")[0] + "[start]\nkind = \"stationary\"\n",
        ["missing the [readout] table", "V", "expression"],
    ),
    (BASE_TOML.replace("V = [[1.0, 0.0]]", "c = [1.0]"), ["readout", "give V", "expression"]),
    (edit(kind='"point"'), ["start.h0", "point start needs h0"]),
    (edit(kind='"steady"'), ["start.kind", "'steady'"]),
    (edit(n="3"), ["network.W", "3×3", "2 rows"]),
    (edit(n="2.0"), ["network.n", "positive integer", "2.0"]),
    (edit(activation='"relu"'), ["network.activation", "not smooth"]),
    (edit(activation='"swish"'), ["unknown activation 'swish'", "identity, tanh, sigmoid"]),
    (edit(C="[[1.0, 2.0], [0.5, 1]]"), ["network.C", "2×1", "lengths [2, 2]"]),
    (edit(m="2"), ["network.C", "2×2", "lengths [1, 1]"]),
    (edit(Gamma="[1, 2, 3]"), ["network.Gamma", "2 diagonal entries", "length 3"]),
    (edit(b="[0.1]"), ["network.b", "list of 2 numbers", "length 1"]),
    (edit(sigma="[[0.5], [0.5], [1]]"), ["network.sigma", "2×1", "3 rows"]),
    (edit(V="[[1.0, 0.0, 0.0]]"), ["readout.V", "1×2", "lengths [3]"]),
    (edit(W='[[0.5, "half"], [1.0, 0.2]]'), ["network.W[1,2]", "'half'"]),
    (BASE_TOML.replace("m = 1", 'm = 1\nform = "gradient"'), ["network.form", "'gradient'"]),
]


@pytest.mark.parametrize("text, fragments", TOML_CASES, ids=[f[0] for _, f in TOML_CASES])
def test_toml_refusals(tmp_path, text, fragments):
    toml_refused(tmp_path, text, fragments)


def test_toml_file_errors(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    bad = toml(tmp_path, "[network\nn = 2\n", "bad")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)


def test_spec_from_dict_and_overrides():
    data = {
        "network": dict(n=1, activation="tanh", W=[[0.8]], b=[0.1], C=[[1]], sigma=0.5),
        "readout": {"V": [[1]]},
    }
    net = spec_from_dict(data, name="d")
    assert net.name == "d" and net.start == "stationary"
    net = spec_from_dict(data, start="point", h0=[0.5])
    assert net.start == "point" and net.h0[0] == sp.Rational(1, 2)
    assert spec_from_dict({**data, "meta": {"note": "x"}}).n == 1


def test_numeric_view_matches_exact():
    net = make(sigma=[[1, 0, 0.5], [0, 1, 0]], V=[[1, 0], [0, 2]], c=[0, 1])
    num = net.numeric()
    assert np.allclose(num["Sigma"], [[1.25, 0], [0, 1]])
    assert np.allclose(num["V"], [[1, 0], [0, 2]]) and np.allclose(num["c"], [0, 1])
    assert np.allclose(num["C"], [[1], [0.5]]) and np.allclose(num["b"], [0.1, 0])

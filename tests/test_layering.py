"""The package's layering: a subpackage imports only the layers below it (imports inside
functions included), and ``import symresp`` plus the symbolic path load no numba.

Layers, bottom to top (one rank may hold several independent subpackages):

    errors, validation, strict_json, files  <  model  <  codegen  <  symbolic  <  expectation
    <  montecarlo  <  kernels, features  <  series  <  report  <  cli
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "symresp"
RANK = {
    "errors": 0,
    "files": 0,
    "validation": 0,
    "strict_json": 0,
    "model": 1,
    "codegen": 2,
    "symbolic": 3,
    "expectation": 4,
    "montecarlo": 5,
    "kernels": 6,
    "features": 6,
    "series": 7,
    "report": 8,
    "cli": 9,
}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "symresp" else None


def _imports(path: Path):
    """(line, imported symresp module) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    here = ".".join(rel.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here.split(".")[: -node.level]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "symresp":  # from symresp import a, b: each name is a layer or an API name
                for alias in node.names:
                    yield node.lineno, f"symresp.{alias.name}"
            else:
                yield node.lineno, mod
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_a_layer_above_it(path):
    rel = path.relative_to(PACKAGE)
    if rel.name == "__init__.py" and len(rel.parts) == 1:
        return  # the package root re-exports every layer, lazily
    own = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    assert own in RANK, f"{rel}: not in the layer table; add its subpackage to RANK"
    bad = []
    for line, mod in _imports(path):
        layer = _layer(mod)
        if layer is None or layer not in RANK:
            continue  # third-party, or a public name of the package root (__version__)
        if RANK[layer] > RANK[own]:
            bad.append(f"line {line}: {mod} (layer {layer!r} is above {own!r})")
    assert not bad, f"{rel} imports upwards:\n" + "\n".join(bad)


def test_symbolic_path_loads_no_numba():
    code = (
        "import sys, symresp\n"
        "assert 'numba' not in sys.modules, 'import symresp loaded numba'\n"
        "net = symresp.load_spec('derivations/linear_2d_quadratic.toml')\n"
        "der = symresp.derive(net, 2, 3)\n"
        "symresp.latex_document(der)\n"
        "symresp.kernel(net, 2, [0, 0])([[0.1, 0.2]])\n"
        "tanh = symresp.load_spec('derivations/tanh_1d.toml')\n"
        "symresp.kernel(tanh, 1, [0], method='taylor')([[0.3]])\n"
        "print('numba' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PACKAGE.parent, check=True
    )
    assert out.stdout.strip() == "False", out.stderr

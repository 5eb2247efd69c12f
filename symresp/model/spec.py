"""Network specifications: TOML files and dictionaries read into an SRNN."""

from __future__ import annotations

import sys
from pathlib import Path

from symresp.errors import SpecError
from symresp.model.activations import KNOWN_ACTIVATIONS
from symresp.model.network import SRNN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["load_spec", "spec_from_dict"]


_NETWORK_KEYS = {
    "n",
    "m",
    "activation",
    "Gamma",
    "W",
    "b",
    "C",
    "coupling",
    "sigma",
    "form",
    "input_site",
    "assume_stationary",
}


def load_spec(path, **overrides) -> SRNN:
    """Read a TOML network specification into an :class:`~symresp.model.network.SRNN`.

    The tables are ``[network]`` (n, m, activation, Gamma, W, b, C or coupling, sigma,
    form, input_site, assume_stationary), ``[readout]`` (V and c, or expression) and
    ``[start]`` (kind and h0); a ``[parameters]`` table declares symbolic parameters with
    their values (``k = 1.5``), which any number of the other tables may then use (``Gamma =
    "k"``, ``W = [["w", "-w/2"], ...]``); a ``[meta]`` table holds free-form notes and is not
    read.
    Keyword ``overrides`` replace entries of the file.
    """
    path = Path(path)
    if not path.exists():
        raise SpecError(f"spec file {str(path)!r} does not exist.")
    if path.is_dir():
        raise SpecError(f"spec {str(path)!r} is a directory; give the path of a .toml file.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML ({exc}).") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file (expected UTF-8 TOML).") from None
    except OSError as exc:
        raise SpecError(f"spec {str(path)!r} cannot be read ({exc.strerror}).") from None
    return spec_from_dict(data, name=path.stem, **overrides)


def spec_from_dict(data: dict, name: str = "srnn", **overrides) -> SRNN:
    """Build an SRNN from the parsed TOML tables ``network``, ``readout``, ``start``."""
    unknown_tables = set(data) - {"network", "readout", "start", "meta", "parameters"}
    if unknown_tables:
        raise SpecError(
            f"spec: unknown table(s) {sorted(unknown_tables)}; expected [network], "
            "[readout], [start] (and optionally [parameters], [meta])."
        )
    params = data.get("parameters")
    if params is not None and not isinstance(params, dict):
        raise SpecError("parameters: expected a table of name = value, e.g. [parameters] k = 1.5.")
    net = dict(data.get("network", {}))
    if not net:
        raise SpecError("spec: missing the [network] table.")
    unknown = set(net) - _NETWORK_KEYS
    if unknown:
        raise SpecError(
            f"network: unknown key(s) {sorted(unknown)}; known keys are {sorted(_NETWORK_KEYS)}."
        )
    for key, what in (
        ("n", "the number of hidden units, e.g. n = 2"),
        ("activation", f"one of {', '.join(KNOWN_ACTIVATIONS)} or an expression in z"),
        ("W", "the n×n recurrent weights, e.g. W = [[0.5, -1.0], [1.0, 0.2]]"),
        ("sigma", "the noise: a scalar, a list of n diagonal entries or an n×r matrix"),
    ):
        if key not in net and key not in overrides:
            raise SpecError(f"network.{key}: required ({what}).")
    if not {"C", "coupling"} & (set(net) | set(overrides)):
        raise SpecError(
            "network.C: required, the n×m input coupling, e.g. C = [[1.0], [0.5]]; or "
            "coupling = [[\"1 + h1**2\"], ...] (expressions in h1..hn)."
        )
    if "readout" not in data and not {"V", "readout"} & set(overrides):
        raise SpecError(
            "spec: missing the [readout] table; give V = [[...]] (p×n, optional c) or "
            "expression = \"h1**2 + h2\"."
        )
    ro = dict(data.get("readout", {}))
    unknown = set(ro) - {"V", "c", "expression"}
    if unknown:
        raise SpecError(f"readout: unknown key(s) {sorted(unknown)}; use V (and c) or expression.")
    if "V" not in ro and "expression" not in ro and not {"V", "readout"} & set(overrides):
        raise SpecError(
            "readout: give V = [[...]] (p×n matrix, optional c) or expression = "
            "\"h1**2 + h2\" (a list of strings for several outputs)."
        )
    st = dict(data.get("start", {}))
    unknown = set(st) - {"kind", "h0"}
    if unknown:
        raise SpecError(f"start: unknown key(s) {sorted(unknown)}; use kind and h0.")
    kwargs = dict(net)
    kwargs.update(
        V=ro.get("V"),
        c=ro.get("c"),
        readout=ro.get("expression"),
        start=st.get("kind", "stationary"),
        h0=st.get("h0"),
        name=name,
        parameters=params or None,
    )
    kwargs.update(overrides)
    return SRNN.create(**kwargs)

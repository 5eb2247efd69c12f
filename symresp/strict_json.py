"""The one JSON writer of symresp: strict JSON, never ``NaN`` or ``Infinity``.

Python's :mod:`json` writes the non-standard tokens ``NaN``, ``Infinity`` and
``-Infinity``, which strict readers reject.  :func:`dumps` writes ``null`` in their
place and, for every object that held such a number, adds a field
``"<key>_nonfinite"`` naming what the nulls stood for (``"nan"``, ``"inf"``,
``"-inf"`` with their positions), so nothing is lost silently.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

__all__ = ["dumps", "to_jsonable"]


def _tag(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def to_jsonable(obj):
    """Plain Python data for ``obj``: numpy scalars and arrays become numbers and lists,
    paths strings, objects with ``to_dict()`` their dictionaries; non-finite floats become
    ``None`` with a sibling ``"<key>_nonfinite"`` entry in the enclosing dictionary."""
    clean, _ = _walk(obj)
    return clean


def _walk(obj):
    """(clean value, record of non-finite entries or None)."""
    if hasattr(obj, "to_dict") and callable(obj.to_dict):
        obj = obj.to_dict()
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            key = str(k)
            cv, bad = _walk(v)
            out[key] = cv
            if bad is not None:
                out[f"{key}_nonfinite"] = bad
        return out, None
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    if isinstance(obj, (list, tuple)):
        items, bad = [], {}
        for i, v in enumerate(obj):
            cv, b = _walk(v)
            items.append(cv)
            if b is not None:
                bad[str(i)] = b
        return items, (bad or None)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj), None
    if isinstance(obj, (int, np.integer)):
        return int(obj), None
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return (x, None) if math.isfinite(x) else (None, _tag(x))
    if isinstance(obj, (complex, np.complexfloating)):
        return str(obj), None
    if obj is None or isinstance(obj, str):
        return obj, None
    if isinstance(obj, Path):
        return str(obj), None
    return str(obj), None


def dumps(obj, **kwargs) -> str:
    """Strict JSON text of ``obj`` (see the module docstring); ``allow_nan`` is always off."""
    kwargs.pop("allow_nan", None)
    return json.dumps(to_jsonable(obj), allow_nan=False, **kwargs)

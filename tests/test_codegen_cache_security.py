"""The code cache runs only what this user's symresp wrote for the request.

Threats checked: a module planted or edited in the cache (with or without a matching plain
hash), a cache directory owned by someone else, writable by others or replaced by a
symbolic link, and a corrupt numba index (which would make numba fail on every run).
Every case must end in generated code that computes the right value, and a planted
module must never execute (it would create a marker file).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from symresp import codegen as cg
from symresp.codegen import cache

x = sp.Symbol("x")
EXPR = sp.tanh(x) ** 2 + sp.Rational(1, 3) * x
WANT = np.tanh(0.7) ** 2 + 0.7 / 3


def _value(fn):
    return float(fn(np.array([[0.7]]))[0, 0])


def _build(name, cache_dir):
    cg.clear_memo()
    return cg.points_function(EXPR, [x], name=name, cache_dir=cache_dir, method="straight")


def _planted_body(marker: Path, name: str) -> str:
    return (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        f"def {name}(X, out=None):\n    return X\n"
        "# end of symresp generated module\n"
    )


def test_directory_and_secret_are_private(tmp_path):
    fn = _build("priv", tmp_path / "c")
    assert _value(fn) == pytest.approx(WANT, rel=1e-15)
    d = Path(fn.cache_path).parent
    assert oct(os.stat(d).st_mode & 0o777) == oct(0o700)
    assert oct(os.stat(d / "__pycache__").st_mode & 0o777) == oct(0o700)
    assert oct(os.stat(d / cache._SECRET_NAME).st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("how", ["plain sha256 header", "edited body, old MAC", "no header"])
def test_planted_or_edited_module_is_rebuilt_never_run(tmp_path, how):
    fn = _build("plant", tmp_path)
    path = Path(fn.cache_path)
    good = path.read_text()
    key_line, mac_line, _ = good.split("\n", 2)
    marker = tmp_path / "marker"
    evil = _planted_body(marker, "plant")
    if how == "plain sha256 header":
        text = f"{key_line}\n# symresp-codegen-body-sha256: {hashlib.sha256(evil.encode()).hexdigest()}\n{evil}"
    elif how == "edited body, old MAC":
        text = f"{key_line}\n{mac_line}\n{evil}"
    else:
        text = evil
    path.write_text(text)
    before = cg.cache_stats()["rebuilt"]
    again = _build("plant", tmp_path)
    assert not marker.exists(), "a planted module was executed"
    assert cg.cache_stats()["rebuilt"] == before + 1
    assert path.read_text() == good
    assert _value(again) == pytest.approx(WANT, rel=1e-15)


def test_foreign_owner_means_memory_for_the_default_and_an_error_when_given(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMRESP_CACHE_DIR", str(tmp_path / "root"))
    _build("owned", None)  # creates the default directory, owned by this user
    real_uid = os.getuid()
    monkeypatch.setattr(cache, "_uid", lambda: real_uid + 12345)
    cache._WARNED.clear()
    with pytest.warns(RuntimeWarning, match="compiling in memory"):
        fn = _build("owned2", None)
    assert fn.cache_path is None and _value(fn) == pytest.approx(WANT, rel=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # one warning per directory and process, not per call
        _build("owned3", None)
    with pytest.raises(cg.CodegenError, match="owned by uid"):
        _build("owned4", tmp_path / "root" / "codegen")


def test_directory_writable_by_others_is_refused(tmp_path):
    d = tmp_path / "open"
    d.mkdir()
    os.chmod(d, 0o777)
    with pytest.raises(cg.CodegenError, match="writable by other users"):
        _build("open", d)


def test_symlinked_directory_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(cg.CodegenError, match="symbolic link"):
        _build("link", link)


def test_secret_readable_by_others_is_refused(tmp_path):
    _build("sec", tmp_path)
    os.chmod(tmp_path / cache._SECRET_NAME, 0o644)
    with pytest.raises(cg.CodegenError, match="not a private file"):
        _build("sec2", tmp_path)


def test_corrupt_numba_index_is_replaced_once(tmp_path):
    fn = _build("nbi", tmp_path)
    _value(fn)  # numba writes its cache files
    files = cache._numba_files(Path(fn.cache_path))
    assert any(f.suffix == ".nbi" for f in files)
    for f in files:
        if f.suffix == ".nbi":
            f.write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="removed corrupt numba cache files"):
        again = _build("nbi", tmp_path)
    assert _value(again) == pytest.approx(WANT, rel=1e-15)
    assert cache._numba_cache_is_sound(cache._numba_files(Path(fn.cache_path)))

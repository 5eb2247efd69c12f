"""The on-disk cache of generated modules: keys, atomic writes, validated imports.

A module is stored under a name derived from a hash of the request (expressions,
arguments, options, the symresp and numba versions) and imported under a fixed module
name, so numba's ``cache=True`` finds its machine code again in a later process.

Cache location: the ``cache_dir`` argument if given (used as is), else
``$SYMRESP_CACHE_DIR/codegen``, else ``$XDG_CACHE_HOME/symresp/codegen``, else
``~/.cache/symresp/codegen``.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import types
import warnings
from pathlib import Path

import sympy as sp

from symresp.codegen.lowering import CHUNK, MAX_DEPTH, _cse_mode, _deep_recursion
from symresp.codegen.writer import FORMAT_VERSION, _END_LINE, _body, _numba_version, _version
from symresp.errors import CodegenError

__all__ = ["default_cache_dir", "cache_stats", "clear_memo"]

_KEY_PREFIX = "# symresp-codegen-key: "
_SHA_PREFIX = "# symresp-codegen-body-sha256: "


def _request_key(exprs, args, name, parallel, use_cse) -> str:
    with _deep_recursion():
        options = (bool(parallel), _cse_mode(use_cse), CHUNK, MAX_DEPTH)
        parts = [FORMAT_VERSION, "points", name, repr(options),
                 sp.srepr(list(args), order="none"), sp.srepr(list(exprs), order="none"),
                 _version(), _numba_version()]
    return hashlib.sha256("\n\x00".join(parts).encode("utf-8")).hexdigest()


def _assemble(key: str, body: str) -> str:
    sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{_KEY_PREFIX}{key}\n{_SHA_PREFIX}{sha}\n{body}"


def _check_text(text: str, key: str) -> bool:
    """True when ``text`` is a complete module for ``key`` (header key and body hash)."""
    first, _, rest = text.partition("\n")
    second, _, body = rest.partition("\n")
    if first != _KEY_PREFIX + key or not second.startswith(_SHA_PREFIX):
        return False
    if not body.endswith(_END_LINE):
        return False
    return hashlib.sha256(body.encode("utf-8")).hexdigest() == second[len(_SHA_PREFIX):]



# --------------------------------------------------------------------------- cache

def default_cache_dir() -> Path:
    """``$SYMRESP_CACHE_DIR/codegen``, else ``$XDG_CACHE_HOME/symresp/codegen``, else
    ``~/.cache/symresp/codegen`` (created on first use)."""
    root = os.environ.get("SYMRESP_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "codegen"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "symresp" / "codegen"


_LOCK = threading.RLock()
_MEMO: dict = {}
_STATS = {"generated": 0, "loaded": 0, "rebuilt": 0, "memo_hits": 0}


def cache_stats() -> dict:
    """Counters of this process: modules ``generated`` (CSE + printing ran), ``loaded``
    from an existing cache file, ``rebuilt`` (a stale or corrupt file was replaced) and
    in-process ``memo_hits``."""
    return dict(_STATS)


def clear_memo() -> None:
    """Forget the compiled functions of this process (the next request reads the cache
    directory again).  Mainly for tests and after deleting a cache directory."""
    with _LOCK:
        _MEMO.clear()


def _resolve_dir(cache_dir) -> Path:
    d = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        if not os.access(d, os.W_OK):
            raise PermissionError(f"{d} is not writable")
    except OSError as exc:
        if cache_dir is not None:
            raise CodegenError(f"cache directory {d} is not usable: {exc}") from None
        user = os.getuid() if hasattr(os, "getuid") else "user"
        fallback = Path(tempfile.gettempdir()) / f"symresp-codegen-{user}"
        warnings.warn(f"symresp.codegen: cache directory {d} is not usable ({exc}); "
                      f"using {fallback}", RuntimeWarning, stacklevel=3)
        fallback.mkdir(parents=True, exist_ok=True)
        d = fallback
    return d


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory, then ``os.replace``: readers in
    other processes see the old complete file or the new complete file, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _import(path: Path, text: str, key: str) -> types.ModuleType:
    """Execute the validated ``text`` as a real module whose ``__file__`` is ``path`` (so
    numba's ``cache=True`` finds its source and stores machine code next to it)."""
    # One fixed name per cache entry, registered in sys.modules: numba's cache stores the
    # module name of each function and imports it again when a later process loads the
    # machine code, so the name must not depend on the process.
    modname = f"_symresp_codegen_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    # compile the text already checked, not the file again: no race with a writer, no
    # stale .pyc (CPython's pyc check has one-second resolution)
    code = compile(text, str(path), "exec", dont_inherit=True)
    sys.modules[modname] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module


def _get_module(exprs, args, name, parallel, use_cse, cache_dir):
    key = _request_key(exprs, args, name, parallel, use_cse)
    d = _resolve_dir(cache_dir)
    path = d / f"{name}_{key[:24]}.py"
    text = None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError):
        text = ""
    if text is not None and _check_text(text, key):
        try:
            module = _import(path, text, key)
            _STATS["loaded"] += 1
            return module, path
        except Exception as exc:  # valid hash but not importable: rebuild below
            warnings.warn(f"symresp.codegen: rebuilding unusable cache entry {path} "
                          f"({type(exc).__name__}: {exc})", RuntimeWarning, stacklevel=3)
    if text is not None:
        _STATS["rebuilt"] += 1
    body = _body(exprs, args, name, parallel, use_cse)
    _STATS["generated"] += 1
    text = _assemble(key, body)
    _write_atomic(path, text)
    return _import(path, text, key), path
